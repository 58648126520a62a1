#!/usr/bin/env python3
"""The GPU run (docs/gpu.md): one script, on the lent H200 machine, over the artifacts bench/gpu/prepare.sh made here.

Parts, in this order, each with its own time cap inside one overall budget (--budget, default 540 s); a part that
fails or runs out of time writes its rows with the reason and the next part runs:
  env       GPU, torch, measured bf16/fp32 matmul rates
  shim      (background, from the start) cmake build of TorchSharp's LibTorchSharp against this torch
  interop   bench/gpu/interop.py: parquet in pyarrow/pandas, tokenizer.json in tokenizers, HF export in transformers
  abi       does TorchSharp's prebuilt shim (LibTorch 2.10) resolve every symbol against this torch?
  actorlab  the single-file actorlab on cuda:0: logits vs the CPU's, then the training step (fp32, bf16) per size
  eager     PyTorch reference step (bench/reference/train_step.py), eager, fp32 and bf16, per size
  slots     1, 2, 4, 8 concurrent reference trainers on the one GPU (and actorlab's, via --actorlab-slots-cmd)
  compiled  the reference step under torch.compile, fp32 and bf16, per size
Writes under OUT: results.md (the tables), results.json, run.log, shim-build.log, interop.json, abi.txt; every file
is rewritten after each part, so a run cut short still returns what it measured.
--local runs the same parts on this CPU machine at toy sizes (a test of the script, not a measurement)."""
import argparse, glob, json, os, re, shlex, shutil, signal, subprocess, sys, time, traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# NVIDIA H200 SXM datasheet: dense BF16 tensor-core peak 989.4 TFLOP/s (1979 with 2:4 sparsity), the same as the
# H100 SXM; FP32 (no tensor cores) 67 TFLOP/s. MFU below is model FLOPs / step time / this peak, for every precision.
H200_BF16_PEAK = 989.4e12
H200_FP32_PEAK = 67e12

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--artifacts", default=os.path.join(HERE, "artifacts"))
ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu-out"))
ap.add_argument("--budget", type=float, default=560, help="seconds for the whole run")
ap.add_argument("--parts", default="env,shim,interop,abi,actorlab,eager,slots,compiled")
ap.add_argument("--python", default=sys.executable)
ap.add_argument("--local", action="store_true", help="toy sizes on the CPU: tests the script here")
ap.add_argument("--torch-lib", default="", help="folder with libtorch*.so (default: the python's torch/lib)")
ap.add_argument("--slots", default="1,2,4,8")
ap.add_argument("--slots-amp", default="bf16", choices=["none", "bf16"])
ap.add_argument("--slot-seconds", type=float, default=6)
ap.add_argument("--actorlab-seconds", type=float, default=10, help="timed window per actorlab training row")
ap.add_argument("--actorlab-slots-cmd", default=os.environ.get("ACTORLAB_SLOTS_CMD", ""),
                help="hook: shell command running an actorlab sweep with {n} slots per device; placeholders {actorlab} "
                     "(the executable), {n}, {out} (a fresh folder), {artifacts}. See docs/gpu.md")
ap.add_argument("--actorlab-slots-work", type=float, default=float(os.environ.get("ACTORLAB_SLOTS_WORK", "0")),
                help="runs x steps the hook's sweep trains (throughput = this / wall seconds)")
args = ap.parse_args()

A = os.path.abspath(args.artifacts)
OUT = os.path.abspath(args.out)
os.makedirs(OUT, exist_ok=True)
T0 = time.time()
DEADLINE = T0 + args.budget
RESERVE = 8  # seconds kept for the last report
PARTS = args.parts.split(",")
DEVICE = "cpu" if args.local else "cuda:0"
LOG = open(os.path.join(OUT, "run.log"), "a", buffering=1)
R = dict(started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), budget_s=args.budget, local=args.local,
         device=DEVICE, env={}, parts=[], interop=[], step=[], slots=[], actorlab={}, peak_bf16=H200_BF16_PEAK)


def log(msg):
    line = f"[{time.time() - T0:6.1f}s] {msg}"
    print(line, flush=True)
    LOG.write(line + "\n")


def remaining():
    return DEADLINE - time.time()


def cap(seconds):
    """A part's or command's time: its own cap, never past the overall deadline less the report's reserve."""
    return max(0.0, min(seconds, remaining() - RESERVE))


def run_cmd(cmd, timeout, env=None, name="", cwd=ROOT, stdin=None):
    """Runs cmd (list) in its own process group; kills the group on timeout. Returns (rc, out, err, timed_out)."""
    e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    log(f"$ {' '.join(shlex.quote(c) for c in cmd)}  (timeout {timeout:.0f} s)")
    if timeout < 1:
        return None, "", "no time left in the budget", True
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, cwd=cwd, text=True,
                         start_new_session=True, stdin=subprocess.DEVNULL if stdin is None else stdin)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    LOG.write(f"  rc={p.returncode} timed_out={timed_out}\n  stdout: {out[-3000:]}\n  stderr: {err[-3000:]}\n")
    return p.returncode, out, err, timed_out


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def reason(rc, err, timed_out):
    if timed_out:
        return "timed out" if rc is not None else err
    tail = [l for l in err.strip().splitlines() if l.strip()]
    return f"exit {rc}: {tail[-1][:300] if tail else 'no message'}"


def sizes():
    rows = [json.loads(l) for l in open(os.path.join(A, "sizes.jsonl"))]
    if args.local:  # toy shapes of the same three rows
        for r in rows:
            r.update(width=32, layers=1, base_width=16, batch=2, seq=64)
    return rows


def data_dir(size):
    return os.path.join(A, "quick" if size["name"] == "quickstart" else "ref")


# ---------------------------------------------------------------------------------------------------------- report

def fmt(x, spec):
    return "" if x is None else format(x, spec)


def write_report():
    R["elapsed_s"] = round(time.time() - T0, 1)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(R, f, indent=1)
    env = R["env"]
    md = [f"# ActorLab on a GPU: bench/gpu/run.py, {R['started']}", "",
          f"{env.get('gpu', '?')}, torch {env.get('torch', '?')} (CUDA {env.get('cuda', '?')}), "
          f"{env.get('cpus', '?')} CPU cores; measured matmul: bf16 {fmt(env.get('bf16_tflops'), '.0f')} TFLOP/s, "
          f"fp32 {fmt(env.get('fp32_tflops'), '.1f')} TFLOP/s (8192^3, mean of 10 after 3 warm-ups). "
          f"MFU = (6 N + 12 L d T) FLOPs per token (N without embeddings) / step time / {H200_BF16_PEAK / 1e12:.1f} TFLOP/s "
          f"(H200 SXM dense bf16 peak, NVIDIA datasheet), for fp32 rows too (fp32 without tensor cores peaks at "
          f"{H200_FP32_PEAK / 1e12:.0f}). PyTorch fp32 runs with TF32 off (torch's default), bf16 is autocast with fp32 "
          f"master weights, optimizer and loss; ActorLab's bf16 (`--amp bf16`) casts the matmuls likewise. "
          f"ActorLab rows time `actorlab train` on the real Q&A stream (data wait shown); PyTorch rows time random tokens."
          + (" **--local: toy sizes on a CPU, a test of the script, not a measurement.**" if R["local"] else ""), "",
          "## Training step", "",
          "| size | params | batch x seq | precision | implementation | step ms | tokens/s | MFU | note |",
          "|---|---:|---|---|---|---:|---:|---:|---|"]
    order = {"PyTorch eager": 0, "PyTorch compiled": 1, "ActorLab": 2}
    for s in sorted(R["step"], key=lambda s: (s["size_index"], s["precision"], order.get(s["impl"], 9))):
        md.append(f"| {s['size']} | {s['params']:,} | {s['batch']} x {s['seq']} | {s['precision']} | {s['impl']} | "
                  f"{fmt(s.get('step_ms'), '.2f')} | {fmt(s.get('tokens_per_s'), ',.0f')} | "
                  f"{fmt(s.get('mfu') and 100 * s['mfu'], '.2f')}{'%' if s.get('mfu') else ''} | {s.get('note', '')} |")
    md += ["", "## Interop with the Python ecosystem", "", "| check | result | detail |", "|---|---|---|"]
    md += [f"| {r['check']} | {r['status']} | {r['detail']} |" for r in R["interop"]]
    if any("tolerance" in r for r in R["interop"]):
        md += ["", "Logits tolerance: " + next(r["tolerance"] for r in R["interop"] if "tolerance" in r) + "."]
    md += ["", "## Several trainers on one GPU", "",
           "| slots | implementation | size | steps/s per slot | total steps/s (runs x steps / s) | vs 1 slot | note |",
           "|---:|---|---|---:|---:|---:|---|"]
    for s in R["slots"]:
        md.append(f"| {s['slots']} | {s['impl']} | {s['size']} | {fmt(s.get('per_slot'), '.1f')} | "
                  f"{fmt(s.get('total'), '.1f')} | {fmt(s.get('speedup'), '.2f')} | {s.get('note', '')} |")
    al = R["actorlab"]
    md += ["", "## ActorLab's native binding on this torch", ""]
    for k in ("abi", "shim_build", "shim_used", "load", "logits_vs_cpu"):
        if k in al:
            md.append(f"- {k}: {al[k]}")
    md += ["", "## Parts", "", "| part | status | seconds | note |", "|---|---|---:|---|"]
    md += [f"| {p['part']} | {p['status']} | {p['seconds']:.0f} | {p.get('note', '')} |" for p in R["parts"]]
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")


PLAN = []


def part(name, limit):
    """Registers a part (run in the order registered, at the end of this file) with its time cap."""
    def wrap(fn):
        PLAN.append((name, limit, fn))
        return fn
    return wrap


def run_part(name, limit, fn):
    """Runs the part if selected and time allows; any exception becomes its row; the report is rewritten after it."""
    if name not in PARTS:
        return
    t = time.time()
    status, note = "ok", ""
    if cap(limit) < 5:
        status, note = "skipped", "out of time budget"
    else:
        log(f"== {name} (cap {cap(limit):.0f} s, {remaining():.0f} s left)")
        try:
            note = fn(time.time() + cap(limit)) or ""
        except Exception as e:  # noqa: BLE001 - a failing part must not stop the others
            status, note = "fail", f"{type(e).__name__}: {e}"
            LOG.write(traceback.format_exc())
    R["parts"].append(dict(part=name, status=status, seconds=time.time() - t, note=note))
    write_report()


def left(until):
    return max(0.0, min(until, DEADLINE - RESERVE) - time.time())


# -------------------------------------------------------------------------------------------------------- the parts

torch_lib = args.torch_lib
SHIM_DIR = "/tmp/actorlab-shim-build"
SHIM_T0 = 0.0
shim_proc = None


@part("env", 40)
def _(until):
    global torch_lib
    code = r"""
import json, os, time, torch
d = dict(torch=torch.__version__, cuda=torch.version.cuda, cpus=os.cpu_count(), torch_lib=os.path.join(os.path.dirname(torch.__file__), "lib"),
         cxx11_abi=int(torch._C._GLIBCXX_USE_CXX11_ABI), cuda_available=torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    d.update(gpu=p.name, sms=p.multi_processor_count, mem_gib=round(p.total_memory / 2**30, 1), cc=f"{p.major}.{p.minor}")
    for dt, n, key in ((torch.bfloat16, 8192, "bf16_tflops"), (torch.float32, 8192, "fp32_tflops")):
        a = torch.randn(n, n, device="cuda", dtype=dt); b = torch.randn(n, n, device="cuda", dtype=dt)
        for _ in range(3): a @ b
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(10): a @ b
        e.record(); torch.cuda.synchronize()
        d[key] = 2 * n**3 * 10 / (s.elapsed_time(e) / 1000) / 1e12
print(json.dumps(d))
"""
    rc, out, err, to = run_cmd([args.python, "-c", code], left(until))
    env = last_json(out) if rc == 0 else None
    if env is None:
        raise RuntimeError(reason(rc, err, to))
    R["env"].update(env)
    torch_lib = torch_lib or env["torch_lib"]
    if not args.local:
        smi = run_cmd(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm", "--format=csv,noheader"], 10)
        R["env"]["nvidia_smi"] = smi[1].strip()
    return f"{env.get('gpu', 'no GPU')}, torch {env['torch']}"


def nvidia_lib_dirs():
    """The pip CUDA libraries (nvidia-*): libtorch_cuda finds them by RUNPATH; listed too for a process without Python."""
    site = os.path.dirname(os.path.dirname(torch_lib)) if torch_lib else ""
    return sorted(set(glob.glob(os.path.join(site, "nvidia", "*", "lib"))))


@part("shim", 15)
def _(until):
    """Starts the cmake build of LibTorchSharp in the background; the actorlab part waits for it."""
    global shim_proc
    native = os.path.join(A, "torchsharp", "src", "Native")
    if not os.path.isdir(native):
        R["actorlab"]["shim_build"] = "not tried: no TorchSharp sources in the artifacts (prepare.sh without a TorchSharp checkout)"
        return "no sources"
    if not torch_lib or not shutil.which("cmake"):
        R["actorlab"]["shim_build"] = "not tried: no torch lib folder or no cmake"
        return "no torch/cmake"
    torch_dir = os.path.dirname(torch_lib)
    shutil.rmtree(SHIM_DIR, ignore_errors=True)
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    keep_going = ["--", "-k", "0"] if gen else ["--", "-k"]
    script = (f"set -x; cmake -S {shlex.quote(os.path.join(HERE, 'shim'))} -B {SHIM_DIR} {' '.join(gen)} "
              f"-DCMAKE_BUILD_TYPE=Release -DTORCHSHARP_NATIVE={shlex.quote(native)} -DTORCH_DIR={shlex.quote(torch_dir)} "
              f"-DCXX11_ABI={R['env'].get('cxx11_abi', 1)} && cmake --build {SHIM_DIR} -j {os.cpu_count()} {' '.join(keep_going)}")
    log(f"shim build in the background: {script}")
    global SHIM_T0
    SHIM_T0 = time.time()
    shim_proc = subprocess.Popen(["nice", "-n", "10", "bash", "-c", script], stdout=open(os.path.join(OUT, "shim-build.log"), "w"),
                                 stderr=subprocess.STDOUT, start_new_session=True)
    R["actorlab"]["shim_build"] = "started"
    return "started"


@part("interop", 75)
def _(until):
    out = os.path.join(OUT, "interop.json")
    offline = dict(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")  # no network there
    rc, o, err, to = run_cmd([args.python, os.path.join(HERE, "interop.py"), A, out], left(until), env=offline)
    if os.path.exists(out):
        R["interop"] = json.load(open(out))
    if rc != 0 or to:
        R["interop"].append(dict(check="interop.py", status="fail", detail=reason(rc, err, to)))
    return o.strip().splitlines()[-1] if o.strip() else reason(rc, err, to)


PREBUILT = os.path.join(A, "actorlab", "libLibTorchSharp.prebuilt-2.10.so")


def abi_of(shim):
    """(loads with RTLD_NOW, loads with RTLD_LAZY, first error, missing C++ symbols demangled) against torch_lib.
    .NET's NativeLibrary dlopens with RTLD_LAZY: then only data symbols (vtables, typeinfo, variables) must resolve at
    load, and a missing function fails when first called; RTLD_NOW resolves everything, so it names what is missing."""
    env = dict(LD_LIBRARY_PATH=":".join([torch_lib] + nvidia_lib_dirs()))
    result = {}
    for mode in ("RTLD_NOW", "RTLD_LAZY"):
        code = f"import ctypes, os; ctypes.CDLL({shim!r}, mode=os.{mode} | os.RTLD_GLOBAL); print('loaded')"
        rc, out, err, to = run_cmd([args.python, "-c", code], 60, env=env)
        result[mode] = (rc == 0 and "loaded" in out, "" if rc == 0 else (err.strip().splitlines() or ["?"])[-1][:400])
    missing = []
    if shutil.which("nm"):
        und = subprocess.run(["nm", "-D", "--undefined-only", shim], capture_output=True, text=True).stdout.splitlines()
        need = {l.split()[1] for l in und if len(l.split()) == 2 and l.split()[0] == "U" and l.split()[1].startswith("_Z")}
        have = set()
        for lib in glob.glob(os.path.join(torch_lib, "*.so*")):
            r = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True)
            have.update(l.split()[-1] for l in r.stdout.splitlines() if l.strip())
        for lib in ("libstdc++.so.6", "libgcc_s.so.1"):
            path = next((p for p in ("/usr/lib/x86_64-linux-gnu/" + lib, "/lib/x86_64-linux-gnu/" + lib) if os.path.exists(p)), None)
            if path:
                r = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True)
                have.update(l.split()[-1].split("@")[0] for l in r.stdout.splitlines() if l.strip())
        missing = sorted(s for s in need if s.split("@")[0] not in have)
        if missing and shutil.which("c++filt"):
            missing = subprocess.run(["c++filt"], input="\n".join(missing), capture_output=True, text=True).stdout.splitlines()
    return result["RTLD_NOW"][0], result["RTLD_LAZY"][0], result["RTLD_NOW"][1] or result["RTLD_LAZY"][1], missing


@part("abi", 20)
def _(until):
    if not torch_lib:
        raise RuntimeError("no torch lib folder (env part failed)")
    now, lazy, first, missing = abi_of(PREBUILT)
    ops = sum("at::_ops::" in m for m in missing)
    data = sum(m.startswith(("vtable for", "typeinfo for", "VTT for")) for m in missing)
    with open(os.path.join(OUT, "abi.txt"), "w") as f:
        f.write(f"TorchSharp 0.107.0's prebuilt libLibTorchSharp.so (LibTorch 2.10) against {torch_lib}\n"
                f"dlopen RTLD_NOW: {'loads' if now else 'fails'}; RTLD_LAZY (what .NET uses): {'loads' if lazy else 'fails'}; {first}\n"
                f"{len(missing)} C++ symbols it needs that this torch does not define ({ops} at::_ops entry points, {data} vtables/typeinfo):\n")
        f.write("\n".join(missing) + "\n")
    R["actorlab"]["abi"] = (f"prebuilt shim (LibTorch 2.10) against torch {R['env'].get('torch')}: RTLD_NOW {'loads' if now else 'fails'}, "
                            f"RTLD_LAZY {'loads' if lazy else 'fails'}; {len(missing)} missing C++ symbols ({ops} at::_ops, {data} vtables/typeinfo; abi.txt)"
                            + (f"; {first}" if first else ""))
    R["actorlab"]["prebuilt_now"], R["actorlab"]["prebuilt_lazy"] = now, lazy
    return R["actorlab"]["abi"]


def wait_for_shim(until):
    """The built shim's path, or None; waits for the background build at most until `until`."""
    if shim_proc is None:
        return None
    try:
        rc = shim_proc.wait(timeout=left(until))
    except subprocess.TimeoutExpired:
        os.killpg(shim_proc.pid, signal.SIGKILL)
        R["actorlab"]["shim_build"] = "timed out (shim-build.log)"
        return None
    trim_log(os.path.join(OUT, "shim-build.log"))
    built = os.path.join(SHIM_DIR, "libLibTorchSharp.so")
    if rc == 0 and os.path.exists(built):
        now, lazy, first, missing = abi_of(built)
        R["actorlab"]["shim_build"] = (f"built against torch {R['env'].get('torch')} in {time.time() - SHIM_T0:.0f} s; "
                                       f"RTLD_NOW {'loads' if now else 'fails'}, {len(missing)} missing symbols {first}").strip()
        return built if now else None
    log_text = open(os.path.join(OUT, "shim-build.log"), errors="replace").read()
    errors = [l for l in log_text.splitlines() if " error:" in l or "error:" in l[:12]]
    R["actorlab"]["shim_build"] = f"failed (exit {rc}), {len(errors)} error lines; first: {errors[0][:300] if errors else 'see shim-build.log'}"
    return None


def trim_log(path, keep=1 << 20):
    """Keeps a build log under the 16 MiB a returned file may have: its first and last MiB."""
    if os.path.getsize(path) > 4 * keep:
        data = open(path, "rb").read()
        open(path, "wb").write(data[:keep] + b"\n[... cut by run.py ...]\n" + data[-keep:])


PROGRESS = re.compile(r"step (\d+)/\d+\s+([\d.]+) steps/s\s+(\d+) tok/s.*data wait ([\d.]+)%")


def steady_rate(stderr):
    """Steps/s after warm-up from `actorlab train --progress-every` lines: each line has step S and the mean rate r
    since the start, so it was printed at S / r seconds; the rate between the first line past 3 s and the last is
    (S_last - S_first) / (t_last - t_first)."""
    pts = [(int(m[1]), float(m[2]), float(m[4])) for m in PROGRESS.finditer(stderr) if float(m[2]) > 0]
    pts = [(s, s / r, w) for s, r, w in pts]
    late = [p for p in pts if p[1] >= 3.0]
    if len(late) < 2 or late[-1][0] == late[0][0]:
        return None, None, len(pts)
    (s0, t0, _), (s1, t1, w1) = late[0], late[-1]
    return (s1 - s0) / (t1 - t0), w1, s1 - s0


def step_row(size, i, precision, impl, **kw):
    return dict(dict(size=size["name"], size_index=i, params=size["params"], batch=size["batch"], seq=size["seq"],
                     precision=precision, impl=impl), **kw)


@part("actorlab", 210)
def _(until):
    exe = os.path.join(A, "actorlab", "actorlab")
    if not os.path.exists(exe):
        raise RuntimeError("no actorlab in the artifacts")
    shim = wait_for_shim(time.time() + max(0.0, left(until) - 130))
    lazy_only = False
    if shim is None and R["actorlab"].get("prebuilt_now"):
        shim = PREBUILT
    elif shim is None and R["actorlab"].get("prebuilt_lazy"):
        shim, lazy_only = PREBUILT, True  # some functions missing: works unless ActorLab calls one of them
    if shim is None:
        R["actorlab"]["shim_used"] = "none: neither a built shim nor the prebuilt one loads against this torch"
        for i, s in enumerate(sizes()):
            for prec in ("fp32", "bf16"):
                R["step"].append(step_row(s, i, prec, "ActorLab", note="not run: no LibTorchSharp for this torch"))
        return "no usable shim"
    R["actorlab"]["shim_used"] = ("built here with cmake" if shim != PREBUILT else "TorchSharp's prebuilt (LibTorch 2.10)"
                                  + (", loaded lazily with missing functions (abi.txt)" if lazy_only else ""))
    app = "/tmp/actorlab-app"
    shutil.rmtree(app, ignore_errors=True)
    os.makedirs(app)
    for f in ("actorlab", "libe_sqlite3.so"):
        shutil.copy2(os.path.join(A, "actorlab", f), app)
    shutil.copy2(shim, os.path.join(app, "libLibTorchSharp.so"))
    env = dict(LD_LIBRARY_PATH=":".join([app, torch_lib] + nvidia_lib_dirs()), DOTNET_BUNDLE_EXTRACT_BASE_DIR="/tmp/dotnet-bundle",
               DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1", DOTNET_CLI_TELEMETRY_OPTOUT="1")
    al = os.path.join(app, "actorlab")
    q = os.path.join(A, "quick")
    ckpt = glob.glob(os.path.join(q, "runs", "*", "checkpoints", "step_300"))[0]
    gpu_logits = "/tmp/actorlab-gpu-logits.safetensors"
    rc, out, err, to = run_cmd([al, "logits", "--checkpoint", ckpt, "--tokenizer", os.path.join(q, "tokenizer"),
                                "--prompts", os.path.join(q, "prompts.txt"), "--out", gpu_logits, "--device", DEVICE],
                               min(90, left(until)), env=env)
    if rc != 0:
        R["actorlab"]["load"] = f"actorlab logits --device {DEVICE} failed: {reason(rc, err, to)}"
        LOG.write(f"actorlab stderr (full):\n{err[-20000:]}\n")
        for i, s in enumerate(sizes()):
            for prec in ("fp32", "bf16"):
                R["step"].append(step_row(s, i, prec, "ActorLab", note="not run: actorlab did not start on the device"))
        return "actorlab did not run on the device"
    R["actorlab"]["load"] = f"actorlab runs on {DEVICE} with the {R['actorlab']['shim_used']} shim"
    code = f"""
import json, sys
sys.path.insert(0, {HERE!r})
import numpy as np
from st_read import read_safetensors
a, _, _ = read_safetensors({os.path.join(q, 'actorlab_logits.safetensors')!r}); b, _, _ = read_safetensors({gpu_logits!r})
print(json.dumps(dict(max_abs_diff=max(float(np.abs(a[k] - b[k]).max()) for k in a if k.startswith('logits')),
                      ids_equal=bool(all((a[k] == b[k]).all() for k in a if k.startswith('input_ids'))))))
"""
    rc2, out2, err2, to2 = run_cmd([args.python, "-c", code], 60)
    cmp = last_json(out2) if rc2 == 0 else None
    R["actorlab"]["logits_vs_cpu"] = (f"ActorLab's logits on {DEVICE} vs on the CPU here (fp32): max |diff| {cmp['max_abs_diff']:.3g}, "
                                      f"token ids equal: {cmp['ids_equal']}" if cmp else f"comparison failed: {reason(rc2, err2, to2)}")
    # The training step: `actorlab train` on the real Q&A stream, timed off its progress lines.
    order = sorted(enumerate(sizes()), key=lambda x: x[1]["name"] == "quickstart")  # the reference sizes first
    rows = [(i, s, prec) for i, s in order for prec in ("fp32", "bf16")]
    for i, s, prec in rows:
        window = args.actorlab_seconds
        if left(until) < window + 15:
            R["step"].append(step_row(s, i, prec, "ActorLab", note="not run: out of time budget"))
            continue
        d = data_dir(s)
        cmd = [al, "train", "--profiles", os.path.join(d, "profiles.parquet"), "--tokenizer", os.path.join(d, "tokenizer"),
               "--num-params", str(s["budget"]), "--layers", str(s["layers"] if not args.local else 1),
               "--batch-size", str(s["batch"]), "--seq-len", str(s["seq"] if not args.local else 64),
               "--max-steps", "10000000", "--checkpoint-steps", "10000000", "--warmup-steps", "1000", "--eval-questions", "1",
               "--device", DEVICE, "--progress-every", "1", "--out", f"/tmp/actorlab-runs/{s['name']}-{prec}"]
        if args.local:
            cmd[cmd.index("--num-params") + 1] = str(320000 + 12 * 32 * 32 + 1)
        if prec == "bf16":
            if args.local:
                R["step"].append(step_row(s, i, prec, "ActorLab", note="bf16 needs CUDA"))
                continue
            cmd += ["--amp", "bf16"]
        shutil.rmtree(f"/tmp/actorlab-runs/{s['name']}-{prec}", ignore_errors=True)
        log(f"$ {' '.join(cmd)}  (SIGINT after {window:.0f} s of steps)")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, **env),
                             start_new_session=True)
        err_lines = []
        import threading
        t_err = threading.Thread(target=lambda: err_lines.extend(p.stderr), daemon=True)
        t_err.start()
        t_first = None
        t_stop = time.time() + window + 45  # startup allowance
        while p.poll() is None and time.time() < min(t_stop, DEADLINE - RESERVE):
            if t_first is None and any(l.startswith("step ") for l in err_lines):
                t_first = time.time()
                t_stop = t_first + window
            time.sleep(0.2)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)  # graceful: actorlab checkpoints and exits
            try:
                p.wait(timeout=min(20, max(1, left(until))))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        t_err.join(timeout=5)
        stderr = "".join(err_lines)
        out_text = p.stdout.read() if p.stdout else ""
        LOG.write(f"  rc={p.returncode}\n  stdout: {out_text[-2000:]}\n  stderr: {stderr[-3000:]}\n")
        sps, wait, steps = steady_rate(stderr)
        model = re.search(r"params=([\d,]+)", out_text)
        params = int(model[1].replace(",", "")) if model else s["params"]
        if sps is None:
            R["step"].append(step_row(s, i, prec, "ActorLab", note=f"no steady rate ({steps} progress lines): {reason(p.returncode, stderr, False)}"))
            continue
        flops = flops_per_step(s, params)
        R["step"].append(step_row(s, i, prec, "ActorLab", params=params, step_ms=1000 / sps, tokens_per_s=sps * s["batch"] * s["seq"],
                                  mfu=flops * sps / H200_BF16_PEAK, note=f"{steps} steps timed; data wait {wait:.1f}%"))
        write_report()
    return R["actorlab"]["load"]


def flops_per_step(s, params):
    """(6 N + 12 L d T) per token, N without the embedding: the count of TrainBench.StepFlops and train_step.py."""
    d, L, T = s["width"], s["layers"], s["seq"]
    return (6 * (params - s["vocab"] * d) + 12 * L * d * T) * s["batch"] * T


def reference(size, i, amp, compiled, timeout):
    cmd = [args.python, os.path.join(ROOT, "bench", "reference", "train_step.py"), "--device", DEVICE,
           "--width", str(size["width"]), "--layers", str(size["layers"]), "--base-width", str(size["base_width"]),
           "--vocab", str(size["vocab"]), "--batch", str(size["batch"]), "--seq", str(size["seq"]),
           "--steps", "20" if not args.local else "3", "--warmup", "5" if not args.local else "1", "--amp", amp]
    if compiled:
        cmd.append("--compile")
    env = dict(TORCHINDUCTOR_CACHE_DIR="/tmp/inductor-cache")
    rc, out, err, to = run_cmd(cmd, timeout, env=env)
    impl = "PyTorch compiled" if compiled else "PyTorch eager"
    prec = "bf16" if amp == "bf16" else "fp32"
    j = last_json(out) if rc == 0 else None
    if j is None:
        R["step"].append(step_row(size, i, prec, impl, note=f"failed: {reason(rc, err, to)}"))
        return
    sps = 1000 / j["step_ms"]
    R["step"].append(step_row(size, i, prec, impl, step_ms=j["step_ms"], tokens_per_s=sps * size["batch"] * size["seq"],
                              mfu=j["flops_per_step"] * sps / H200_BF16_PEAK, params=j["params"],
                              note=f"median of {j['steps']}; fwd {j['fwd_ms']:.1f} / bwd {j['bwd_ms']:.1f} / opt {j['opt_ms']:.1f} ms"
                                   + (f"; compile+warm-up {j['warmup_s']:.0f} s" if compiled else "")))
    write_report()


@part("eager", 60)
def _(until):
    for i, s in enumerate(sizes()):
        for amp in ("none", "bf16"):
            if args.local and amp == "bf16":
                continue
            reference(s, i, amp, False, min(60, left(until)))
    return f"{sum(r['impl'] == 'PyTorch eager' and r.get('step_ms') is not None for r in R['step'])} rows"


@part("slots", 110)
def _(until):
    s = next(x for x in sizes() if x["name"] == "reference-1M")
    amp = "none" if args.local else args.slots_amp
    base = None
    for n in [int(x) for x in args.slots.split(",")]:
        if left(until) < args.slot_seconds + 20:
            R["slots"].append(dict(slots=n, impl="PyTorch eager (processes)", size=s["name"], note="not run: out of time budget"))
            continue
        barrier = f"/tmp/slots-barrier-{n}"
        shutil.rmtree(barrier, ignore_errors=True)
        os.makedirs(barrier)
        cmd = [args.python, os.path.join(ROOT, "bench", "reference", "train_step.py"), "--device", DEVICE,
               "--width", str(s["width"]), "--layers", str(s["layers"]), "--base-width", str(s["base_width"]),
               "--vocab", str(s["vocab"]), "--batch", str(s["batch"]), "--seq", str(s["seq"]), "--warmup", "3",
               "--amp", amp, "--duration", str(args.slot_seconds), "--barrier", barrier, "--slots", str(n)]
        if args.local:
            cmd += ["--threads", "1"]
        log(f"$ {n} x {' '.join(cmd)}")
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                  env=dict(os.environ, PYTHONUNBUFFERED="1")) for _ in range(n)]
        results, errors = [], []
        t_end = time.time() + min(args.slot_seconds + 90, left(until))
        for p in procs:
            try:
                out, err = p.communicate(timeout=max(1, t_end - time.time()))
                j = last_json(out) if p.returncode == 0 else None
                (results.append(j) if j else errors.append(reason(p.returncode, err, False)))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()
                errors.append("timed out")
        if errors:
            R["slots"].append(dict(slots=n, impl="PyTorch eager (processes)", size=s["name"], note=f"{len(errors)} failed: {errors[0]}"))
            continue
        total = sum(r["steps_per_s"] for r in results)
        base = base or (total if n == 1 else None)
        R["slots"].append(dict(slots=n, impl="PyTorch eager (processes)", size=s["name"], per_slot=total / n, total=total,
                               speedup=total / base if base else None,
                               note=f"{'bf16' if amp == 'bf16' else 'fp32'}, {args.slot_seconds:.0f} s window after a barrier; "
                                    f"max GPU memory/slot {max(r['max_mem_gib'] or 0 for r in results):.2f} GiB"))
        write_report()
    actorlab_slots(until)
    return f"{len(R['slots'])} rows"


def actorlab_slots(until):
    """Hook for actorlab.node.slots-per-device: --actorlab-slots-cmd runs an actorlab sweep with {n} slots on the device;
    throughput = --actorlab-slots-work (runs x steps of that sweep) / its wall time, startup included."""
    exe = "/tmp/actorlab-app/actorlab"
    if not args.actorlab_slots_cmd:
        R["slots"].append(dict(slots="-", impl="ActorLab", size="-", note="not wired: pass --actorlab-slots-cmd (docs/gpu.md)"))
        return
    if not os.path.exists(exe):
        R["slots"].append(dict(slots="-", impl="ActorLab", size="-", note="not run: actorlab did not start on the device"))
        return
    env = dict(LD_LIBRARY_PATH=":".join(["/tmp/actorlab-app", torch_lib] + nvidia_lib_dirs()),
               DOTNET_BUNDLE_EXTRACT_BASE_DIR="/tmp/dotnet-bundle")
    base = None
    for n in [int(x) for x in args.slots.split(",")]:
        out = f"/tmp/actorlab-slots-{n}"
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        cmd = args.actorlab_slots_cmd.format(actorlab=exe, n=n, out=out, artifacts=A)
        t = time.time()
        rc, o, err, to = run_cmd(["bash", "-c", cmd], left(until), env=env)
        wall = time.time() - t
        if rc != 0:
            R["slots"].append(dict(slots=n, impl="ActorLab", size="hook", note=f"failed: {reason(rc, err, to)}"))
            continue
        total = args.actorlab_slots_work / wall if args.actorlab_slots_work else None
        base = base or (total if n == 1 else None)
        R["slots"].append(dict(slots=n, impl="ActorLab", size="hook", per_slot=total / n if total else None, total=total,
                               speedup=total / base if base and total else None, note=f"wall {wall:.1f} s, startup included"))
        write_report()


@part("compiled", 600)
def _(until):
    for amp in ("bf16", "none"):
        for i, s in sorted(enumerate(sizes()), key=lambda x: x[1]["name"] == "quickstart"):  # the reference sizes first
            if args.local and amp == "bf16":
                continue
            if left(until) < 30:
                R["step"].append(step_row(s, i, "bf16" if amp == "bf16" else "fp32", "PyTorch compiled", note="not run: out of time budget"))
                continue
            reference(s, i, amp, True, min(150, left(until)))
    return f"{sum(r['impl'] == 'PyTorch compiled' and r.get('step_ms') is not None for r in R['step'])} rows"


for name, limit, fn in PLAN:
    run_part(name, limit, fn)
if shim_proc is not None and shim_proc.poll() is None:
    os.killpg(shim_proc.pid, signal.SIGKILL)
write_report()
log(f"done in {time.time() - T0:.0f} s; results in {OUT}/results.md")
print(open(os.path.join(OUT, "results.md")).read())
