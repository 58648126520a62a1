#!/usr/bin/env python3
"""Interop checks of files ActorLab made (bench/gpu/prepare.sh) against the Python ecosystem:
- profiles parquet: pyarrow reads it with the hub schema of SPEC 1, pandas reads the same values ActorLab exported;
- tokenizer.json: HF `tokenizers` (and transformers' fast tokenizer) encode the prompts and Q&A sequences to ActorLab's ids;
- HF export: `transformers.LlamaForCausalLM.from_pretrained` loads it and its logits equal ActorLab's (`actorlab logits`)
  on the same token ids, within TOLERANCE, on the CPU and on CUDA when there is one.
Each check is one JSON row {check, status: pass|fail|skipped, detail, ...}; a check that cannot run says why.
Usage: interop.py ARTIFACTS OUT.json"""
import json, os, sys, time, traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_read import read_safetensors  # noqa: E402

# fp32 everywhere; the two implementations differ in kernel order (fused SDPA vs our explicit attention, other
# matmul blocking), so allow float32 rounding: |ours - theirs| <= ATOL + RTOL * |ours| for every logit.
ATOL, RTOL = 1e-4, 1e-4
TOLERANCE = f"|actorlab - transformers| <= {ATOL:g} + {RTOL:g} * |actorlab| for every logit (fp32; TF32 off)"

A = sys.argv[1]
OUT = sys.argv[2]
Q = os.path.join(A, "quick")
rows = []


def row(check, status, detail, **extra):
    r = dict(check=check, status=status, detail=detail, **extra)
    rows.append(r)
    print(json.dumps(r), flush=True)
    with open(OUT, "w") as f:
        json.dump(rows, f, indent=1)


def guarded(check):
    """Runs one check; a missing package is 'skipped', any other exception 'fail', both with the reason."""
    def wrap(fn):
        t0 = time.time()
        try:
            fn()
        except ImportError as e:
            row(check, "skipped", f"{e.name or str(e).splitlines()[0]} not installed here")
        except Exception as e:  # noqa: BLE001 - every failure becomes a row
            row(check, "fail", f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=3)[-1500:])
        finally:
            rows[-1]["seconds"] = round(time.time() - t0, 2) if rows else None
        return fn
    return wrap


ours, meta, reader = read_safetensors(os.path.join(Q, "actorlab_logits.safetensors"))
prompts = json.loads(meta["prompts"])
prompt_ids = [ours[f"input_ids.{i}"].tolist() for i in range(len(prompts))]
prompt_logits = [ours[f"logits.{i}"] for i in range(len(prompts))]
print(f"{len(prompts)} prompts, {sum(map(len, prompt_ids))} tokens, vocab {meta['vocab_size']} (read with {reader})", flush=True)


@guarded("parquet: pyarrow schema (SPEC 1 hub schema)")
def _():
    import pyarrow as pa, pyarrow.parquet as pq
    schema = pq.read_schema(os.path.join(Q, "profiles.parquet"))
    relations = ["parent", "child", "best_friend", "worst_enemy", "sibling", "spouse", "cousin", "grandparent",
                 "grandchild", "business_partner", "protege", "mentor", "betrayer", "debtor", "blackmailer", "hero",
                 "evil_twin"]
    problems = []
    want = {"name": pa.string(), "index": pa.int32(), "birth_city": pa.string(), "university": pa.string(), "employer": pa.string()}
    for name, t in want.items():
        if schema.field(name).type != t:
            problems.append(f"{name}: {schema.field(name).type}, want {t}")
    bd = schema.field("birth_date").type
    if not pa.types.is_timestamp(bd) or bd.tz is not None:
        problems.append(f"birth_date: {bd}, want a timestamp without time zone")
    rel_cols = [f.name for f in schema if pa.types.is_struct(f.type)]
    if rel_cols != relations[:len(rel_cols)] or not rel_cols:
        problems.append(f"relation columns {rel_cols} are not the first R of SPEC 1")
    for c in rel_cols:
        t = schema.field(c).type
        if [(t.field(i).name, t.field(i).type) for i in range(t.num_fields)] != [("name", pa.string()), ("index", pa.int32())]:
            problems.append(f"{c}: {t}, want struct<name: string, index: int32>")
    row("parquet: pyarrow schema (SPEC 1 hub schema)", "fail" if problems else "pass",
        "; ".join(problems) or f"{len(schema)} columns, r{len(rel_cols)}, birth_date {bd} (the hub's timestamp[s] is stored as ms in parquet too)",
        schema=str(schema).split("-- schema metadata --")[0].strip())


@guarded("parquet: pandas values == actorlab profiles export")
def _():
    import pandas as pd
    df = pd.read_parquet(os.path.join(Q, "profiles.parquet"))
    exported = [json.loads(l) for l in open(os.path.join(Q, "profiles.jsonl"), encoding="utf-8")]
    problems = []
    if len(df) != len(exported):
        problems.append(f"{len(df)} rows, actorlab exported {len(exported)}")
    rel_cols = [c for c in df.columns if isinstance(df[c].iloc[0], dict)]
    for i, e in enumerate(exported[:len(df)]):
        r = df.iloc[i]
        got = dict(name=r["name"], index=int(r["index"]), birth_date=pd.Timestamp(r["birth_date"]).strftime("%Y-%m-%d"),
                   birth_city=r["birth_city"], university=r["university"], employer=r["employer"])
        for k, v in got.items():
            if str(e.get(k)) != str(v):
                problems.append(f"row {i} {k}: pandas {v!r}, actorlab {e.get(k)!r}")
        for c in rel_cols:
            ev = e.get(c)
            ev_index = ev.get("index") if isinstance(ev, dict) else ev
            if int(r[c]["index"]) != int(ev_index):
                problems.append(f"row {i} {c}.index: pandas {r[c]['index']}, actorlab {ev_index}")
        if len(problems) > 10:
            break
    row("parquet: pandas values == actorlab profiles export", "fail" if problems else "pass",
        "; ".join(problems[:10]) or f"{len(df)} profiles x {len(df.columns)} columns equal")


def eos_cut(text, ids, eos):
    """A Q&A sequence up to its last <|endoftext|>, where truncation cannot have split a pre-token (as hf_tokenizer_check.js)."""
    if eos not in ids:
        return None, None
    cut = len(ids) - 1 - ids[::-1].index(eos)
    end = text.rfind("<|endoftext|>") + len("<|endoftext|>")
    return text[:end], ids[:cut + 1]


def encode_cases():
    cases = [(t, ids) for t, ids in zip(prompts, prompt_ids)]
    return cases


@guarded("tokenizers: tokenizer.json encodes as ActorLab")
def _():
    from tokenizers import Tokenizer
    import tokenizers
    tok = Tokenizer.from_file(os.path.join(Q, "tokenizer", "tokenizer.json"))
    eos = tok.token_to_id("<|endoftext|>")
    cases = encode_cases()
    for line in open(os.path.join(Q, "qa_samples.jsonl"), encoding="utf-8"):
        c = json.loads(line)
        t, ids = eos_cut(c["text"], c["input_ids"], eos)
        if t is not None:
            cases.append((t, ids))
    bad = [t for t, ids in cases if tok.encode(t, add_special_tokens=False).ids != ids]
    row("tokenizers: tokenizer.json encodes as ActorLab", "fail" if bad else "pass",
        f"{len(cases) - len(bad)} of {len(cases)} texts ({len(prompts)} prompts, the rest Q&A sequences) equal; tokenizers {tokenizers.__version__}"
        + (f"; first differing: {bad[0][:80]!r}" if bad else ""))


@guarded("transformers: fast tokenizer from the export folder")
def _():
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.join(Q, "hf"))
    bad = [t for t, ids in encode_cases() if tok(t, add_special_tokens=False)["input_ids"] != ids]
    row("transformers: fast tokenizer from the export folder", "fail" if bad else "pass",
        f"{type(tok).__name__}: {len(prompts) - len(bad)} of {len(prompts)} prompts equal; eos {tok.eos_token!r}")


def hf_logits(device):
    import torch, transformers
    from transformers import LlamaForCausalLM
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = LlamaForCausalLM.from_pretrained(os.path.join(Q, "hf"), dtype=torch.float32).to(device).eval()
    worst, worst_rel, agree, total, bad = 0.0, 0.0, 0, 0, 0
    with torch.no_grad():
        for ids, want in zip(prompt_ids, prompt_logits):
            got = model(torch.tensor([ids], device=device)).logits[0].float().cpu()
            w = torch.from_numpy(want.copy())
            diff = (got - w).abs()
            worst = max(worst, diff.max().item())
            worst_rel = max(worst_rel, (diff / w.abs().clamp_min(1e-3)).max().item())
            bad += int((diff > ATOL + RTOL * w.abs()).sum().item())
            agree += int((got.argmax(-1) == w.argmax(-1)).sum().item())
            total += len(ids)
    name = f"transformers {transformers.__version__}: LlamaForCausalLM logits == ActorLab's ({device})"
    row(name, "pass" if bad == 0 else "fail",
        f"max |diff| {worst:.3g} over {total} positions x {want.shape[1]} logits; {bad} logits outside tolerance; "
        f"argmax equal at {agree}/{total}; attention {model.config._attn_implementation}",
        max_abs_diff=worst, max_rel_diff=worst_rel, tolerance=TOLERANCE, device=device)


@guarded("transformers: LlamaForCausalLM logits (cpu)")
def _():
    hf_logits("cpu")


@guarded("transformers: LlamaForCausalLM logits (cuda)")
def _():
    import torch
    if not torch.cuda.is_available():
        row("transformers: LlamaForCausalLM logits (cuda)", "skipped", "no CUDA device")
        return
    hf_logits("cuda:0")

print(f"{sum(r['status'] == 'pass' for r in rows)} passed, {sum(r['status'] == 'fail' for r in rows)} failed, "
      f"{sum(r['status'] == 'skipped' for r in rows)} skipped", flush=True)
