#!/usr/bin/env bash
# Builds, on this (CPU) machine, everything bench/gpu/run.sh needs on the GPU machine, into bench/gpu/artifacts/
# (git-ignored; the device run carries it): data and a tiny trained model made by ActorLab, ActorLab's logits and
# token ids on them, the HF export, the model sizes ActorLab plans, a self-contained single-file `actorlab` for
# linux-x64 without libtorch, TorchSharp's prebuilt native shim, and (if given) TorchSharp's native sources.
#
#   bench/gpu/prepare.sh [TORCHSHARP_CHECKOUT]
#
# TORCHSHARP_CHECKOUT: a git checkout (or bare mirror) of github.com/dotnet/TorchSharp at the 0.107.0 release
# (the TorchSharp version in Directory.Packages.props). Only its src/Native is copied, into artifacts/torchsharp/,
# so run.sh can build LibTorchSharp there against the machine's torch. Without it the run uses the prebuilt shim only.
# Checks that the carried folder fits the device's 64 MiB working-tree limit. Takes ~3-5 minutes here.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
A=bench/gpu/artifacts
TS_SRC=${1:-${TORCHSHARP_CHECKOUT:-}}
LIMIT_MIB=64

rm -rf "$A"
mkdir -p "$A"
log() { echo "[prepare $(date +%H:%M:%S)] $*" >&2; }

log "building actorlab (Release)"
dotnet build src/Host/ActorLab.Host.csproj -c Release -v q -nologo >/dev/null
AL=(dotnet "$ROOT/src/Host/bin/Release/net10.0/actorlab.dll")

# --- quickstart-sized data and a tiny trained model (hocon/sweeps/quickstart.conf: r2, vocab 600, 16 x 128) ---------
Q=$A/quick
mkdir -p "$Q"
"${AL[@]}" profiles generate --n 150 --relations 2 --seed 0 --out "$Q/profiles.parquet" >&2
"${AL[@]}" profiles export "$Q/profiles.parquet" --format jsonl --out "$Q/profiles.jsonl" >&2
"${AL[@]}" tokenizer train --profiles "$Q/profiles.parquet" --out "$Q/tokenizer" --vocab-size 600 >&2
log "training the tiny quickstart model (300 steps)"
"${AL[@]}" train --profiles "$Q/profiles.parquet" --tokenizer "$Q/tokenizer" --num-params 450000 --layers 1 \
  --orders 1,2 --batch-size 16 --seq-len 128 --lr 0.01 --warmup-steps 30 --max-steps 300 --checkpoint-steps 300 \
  --eval-questions 50 --threads 2 --out "$Q/runs" > "$Q/train.log" 2>&1
RUN=$(ls -d "$Q"/runs/*/)
CKPT=${RUN%/}/checkpoints/step_300
test -d "$CKPT"
"${AL[@]}" export --checkpoint "$CKPT" --out "$Q/hf" >&2
"${AL[@]}" qa sample --profiles "$Q/profiles.parquet" --tokenizer "$Q/tokenizer" --count 40 --seq-len 128 --json > "$Q/qa_samples.jsonl"

# Prompts: questions with their answers from the stream, plus a few lines of other text (digits, accents, spacing).
python3 - "$Q/qa_samples.jsonl" > "$Q/prompts.txt" <<'EOF'
import json, sys
seen = []
for line in open(sys.argv[1], encoding="utf-8"):
    for q in json.loads(line)["questions"]:
        text = f'{q["question"]} {q["answer"]}'
        if text not in seen:
            seen.append(text)
for text in seen[:8]:
    print(text)
print("Zoë Müller-Łukasz was born on 2001-02-03 in São Paulo, and   works at AT&T Inc.")
print("What is 12345 + 67890? It is 80235.<|endoftext|>Who is the parent of the above?")
EOF
"${AL[@]}" logits --checkpoint "$CKPT" --prompts "$Q/prompts.txt" --out "$Q/actorlab_logits.safetensors" >&2

# --- reference-sized data (r4, vocab 3000, 32 x 512) for ActorLab's own training step on the GPU -------------------
R=$A/ref
mkdir -p "$R"
"${AL[@]}" profiles generate --n 2000 --relations 4 --seed 0 --out "$R/profiles.parquet" >&2
"${AL[@]}" tokenizer train --profiles "$R/profiles.parquet" --out "$R/tokenizer" --vocab-size 3000 >&2

# --- the sizes, as ActorLab plans them (width from the budget, muP base width) -----------------------------------
plan() {  # NAME DATA BUDGET LAYERS BATCH SEQ
  local out
  out=$("${AL[@]}" train --profiles "$2/profiles.parquet" --tokenizer "$2/tokenizer" --num-params "$3" --layers "$4" \
    --orders 1 --batch-size 1 --seq-len 64 --max-steps 1 --checkpoint-steps 1 --eval-questions 1 --threads 2 \
    --out "$(mktemp -d)" 2>"$A/plan.err" | grep '^model:')
  python3 - "$1" "$3" "$5" "$6" "$out" <<'EOF'
import json, re, sys
name, budget, batch, seq, line = sys.argv[1:]
m = re.search(r"d=(\d+) L=(\d+) heads=\d+ width_mult=([\d.eE+-]+) params=([\d,]+) vocab=(\d+)", line)
d, L, wm, params, vocab = int(m[1]), int(m[2]), float(m[3]), int(m[4].replace(",", "")), int(m[5])
print(json.dumps(dict(name=name, budget=int(budget), width=d, layers=L, base_width=round(d / wm), params=params,
                      vocab=vocab, batch=int(batch), seq=int(seq))))
EOF
}
{
  plan quickstart "$Q" 450000 1 16 128
  plan reference-1M "$R" 1000000 4 32 512
  plan 10M "$R" 10000000 4 32 512
} > "$A/sizes.jsonl"
cat "$A/sizes.jsonl" >&2

# --- actorlab: self-contained, single-file, compressed; libtorch left out (the GPU machine's torch is used) ---------
log "publishing actorlab for linux-x64 (single file, compressed)"
PUB=$(mktemp -d)
dotnet publish src/Host/ActorLab.Host.csproj -c Release -r linux-x64 --self-contained true -p:PublishSingleFile=true \
  -p:EnableCompressionInSingleFile=true -p:DebugType=none --artifacts-path "$PUB/artifacts" -o "$PUB/out" -v q -nologo >/dev/null
mkdir -p "$A/actorlab"
cp "$PUB/out/actorlab" "$A/actorlab/"
# Native libraries other than libtorch that ActorLab loads: SQLite (sweep journal). The plots' SkiaSharp stays
# behind (9 MB; `train` draws nothing).
cp "$PUB/out/libe_sqlite3.so" "$A/actorlab/"
# TorchSharp's prebuilt shim (built against LibTorch 2.10): run.sh checks whether torch 2.11 satisfies its symbols.
cp "$PUB/out/libLibTorchSharp.so" "$A/actorlab/libLibTorchSharp.prebuilt-2.10.so"
rm -rf "$PUB"

# --- TorchSharp's native sources (another project's code: carried, never committed) -------------------------------
if [ -n "$TS_SRC" ]; then
  mkdir -p "$A/torchsharp"
  if git -C "$TS_SRC" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$TS_SRC" archive HEAD src/Native build/BranchInfo.props | tar -x -C "$A/torchsharp"
    git -C "$TS_SRC" log -1 --format='%H %s' > "$A/torchsharp/COMMIT"
  else
    cp -r "$TS_SRC/src/Native" "$A/torchsharp/"
  fi
  grep -q '<MinorVersion>107</MinorVersion>' "$A/torchsharp/build/BranchInfo.props" 2>/dev/null \
    || log "warning: $TS_SRC is not TorchSharp 0.107 (build/BranchInfo.props); the shim may not match TorchSharp.dll"
else
  log "no TorchSharp checkout given: run.sh will only try the prebuilt shim"
fi

# --- size check: tracked files + the carried folder must stay under the device's 64 MiB --------------------------
carried=$(du -sb "$A" | cut -f1)
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
total=$((carried + tracked))
log "carried $A: $((carried / 1048576)) MiB; tracked files: $((tracked / 1048576)) MiB; together $((total / 1048576)) of $LIMIT_MIB MiB"
if [ "$total" -ge $((LIMIT_MIB * 1048576)) ]; then
  echo "error: $A plus the tracked files is $((total / 1048576)) MiB, over the device's $LIMIT_MIB MiB" >&2
  exit 1
fi
du -sh "$A"/* >&2
echo "ready: carry [\"$A\"] (see docs/gpu.md)"
