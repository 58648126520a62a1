#!/usr/bin/env python3
"""PyTorch eager reference for `ActorLab.Bench train`: the same Llama-muP (RMSNorm, RoPE in the HF rotate_half
layout, causal attention with muP scale 1/head_dim, SwiGLU 4d, untied readout lm_head(h/m)) and the same
schedule-free AdamW step (foreach ops, as the `schedulefree` package), timed per training step on random tokens.
Prints one JSON object. Uses F.scaled_dot_product_attention where torch has it (>= 2.0), else explicit attention.
On a GPU (bench/gpu/run.sh): --device cuda:0, --amp bf16 (autocast; master weights, optimizer and loss in fp32, as
ActorLab's --amp bf16), --compile (torch.compile of the model), and --duration/--barrier to run as one of several
concurrent trainer slots on one device."""
import argparse, contextlib, glob, json, math, os, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--width", type=int, default=128)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--base-width", type=int, default=96)
p.add_argument("--vocab", type=int, default=3000)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--seq", type=int, default=512)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--threads", type=int, default=0)
p.add_argument("--device", default="cpu", help="cpu or cuda:N")
p.add_argument("--amp", default="none", choices=["none", "bf16"], help="bf16: autocast the forward on CUDA")
p.add_argument("--compile", action="store_true", help="torch.compile the model (needs torch >= 2.0)")
p.add_argument("--duration", type=float, default=0.0,
               help="instead of --steps: train for this many seconds after warm-up and report steps/s")
p.add_argument("--barrier", default="", help="folder: after warm-up, touch a file there and wait for --slots files")
p.add_argument("--slots", type=int, default=1)
a = p.parse_args()
if a.threads > 0:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)
HD = 16
M = a.width / a.base_width
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(t):
    inv = 1.0 / (10000 ** (torch.arange(0, HD, 2, dtype=torch.float64) / HD))
    ang = torch.outer(torch.arange(t, dtype=torch.float64), inv)
    emb = torch.cat([ang, ang], -1)
    return emb.cos().float(), emb.sin().float()


def rope(x, cos, sin):
    h = HD // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, 4 * d, bias=False), nn.Linear(d, 4 * d, bias=False)
        self.down = nn.Linear(4 * d, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        h = self.n1(x)
        split = lambda y: y.view(b, t, d // HD, HD).transpose(1, 2)
        q, k, v = rope(split(self.q(h)), cos, sin), rope(split(self.k(h)), cos, sin), split(self.v(h))
        if HAS_SDPA:
            y = F.scaled_dot_product_attention(q * (1.0 / math.sqrt(HD)), k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) / HD
            y = s.masked_fill(mask, float("-inf")).softmax(-1) @ v
        x = x + self.o(y.transpose(1, 2).reshape(b, t, d))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class LlamaMup(nn.Module):
    def __init__(self, v, d, L):
        super().__init__()
        self.embed = nn.Embedding(v, d)
        self.layers = nn.ModuleList(Block(d) for _ in range(L))
        self.norm = RMSNorm(d)
        self.lm_head = nn.Linear(d, v, bias=False)

    def forward(self, ids, cos, sin, mask):
        x = self.embed(ids)
        for blk in self.layers:
            x = blk(x, cos, sin, mask)
        return self.lm_head(self.norm(x) / M)


class ScheduleFree:
    """AdamWScheduleFree.step (schedulefree 1.3, foreach path) with muP groups."""
    def __init__(self, groups, lr=1e-3, betas=(0.99, 0.999), wd=0.1, warmup=1000, eps=1e-8):
        self.groups = [dict(params=ps, lr=lr * ls, wd=wd * ws, k=0, ws=0.0, lr_max=-1.0) for ps, ls, ws in groups]
        self.b1, self.b2, self.warmup, self.eps = betas[0], betas[1], warmup, eps
        self.state = {}

    @torch.no_grad()
    def step(self):
        for g in self.groups:
            k = g["k"]
            sched = (k + 1) / self.warmup if k < self.warmup else 1.0
            lr = g["lr"] * sched * math.sqrt(1 - self.b2 ** (k + 1))
            g["lr_max"] = lr_max = max(lr, g["lr_max"])
            w = lr_max ** 2
            g["ws"] += w
            c = w / g["ws"]
            ps = [p for p in g["params"] if p.grad is not None]
            for p in ps:
                if p not in self.state:
                    self.state[p] = (p.clone(), torch.zeros_like(p))
            y = ps
            grad = [p.grad for p in ps]
            z = [self.state[p][0] for p in ps]
            v = [self.state[p][1] for p in ps]
            torch._foreach_mul_(v, self.b2)
            torch._foreach_addcmul_(v, grad, grad, value=1 - self.b2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_add_(denom, self.eps)
            torch._foreach_div_(grad, denom)
            torch._foreach_add_(grad, y, alpha=g["wd"])
            if hasattr(torch, "_foreach_lerp_"):
                torch._foreach_lerp_(y, z, weight=c)
            else:  # torch < 2.0
                for yi, zi in zip(y, z):
                    yi.lerp_(zi, c)
            torch._foreach_add_(y, grad, alpha=lr * (self.b1 * (1 - c) - 1))
            torch._foreach_sub_(z, grad, alpha=lr)
            g["k"] = k + 1


dev = torch.device(a.device)
cuda = dev.type == "cuda"
if a.amp != "none" and not cuda:
    raise SystemExit("--amp bf16 needs a CUDA device")


def sync():
    if cuda:
        torch.cuda.synchronize(dev)


model = LlamaMup(a.vocab, a.width, a.layers).to(dev)
hidden = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith(("embed", "lm_head"))]
other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and not n.startswith(("embed", "lm_head")))]
opt = ScheduleFree([(hidden, 1 / M, M), (other, 1.0, 1.0)])
ids = torch.randint(0, a.vocab, (a.batch, a.seq)).to(dev)
labels = ids.clone()
labels[:, ::3] = -100
cos, sin = (t.to(dev) for t in rope_tables(a.seq))
mask = torch.ones(a.seq, a.seq, dtype=torch.bool).triu(1).to(dev)
forward = model
if a.compile:
    if not hasattr(torch, "compile"):
        raise SystemExit(f"--compile needs torch >= 2.0, this is {torch.__version__}")
    forward = torch.compile(model)


def step(times=None):
    t0 = time.perf_counter()
    for p in model.parameters():
        p.grad = None
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16) if a.amp == "bf16" else contextlib.nullcontext():
        logits = forward(ids, cos, sin, mask)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab).float(), labels[:, 1:].reshape(-1))
    sync()
    t1 = time.perf_counter()
    loss.backward()
    sync()
    t2 = time.perf_counter()
    opt.step()
    loss_value = loss.item()  # waits for the step, as ActorLab's TrainStep does
    t3 = time.perf_counter()
    if times is not None:
        for lst, v in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
            lst.append(v)
    return loss_value


t_start = time.perf_counter()
for i in range(a.warmup):
    loss_value = step()
warmup_s = time.perf_counter() - t_start
if a.barrier:  # several slots on one device: start the timed part together
    open(os.path.join(a.barrier, f"ready.{os.getpid()}"), "w").close()
    t_wait = time.perf_counter()
    while len(glob.glob(os.path.join(a.barrier, "ready.*"))) < a.slots:
        if time.perf_counter() - t_wait > 300:
            raise SystemExit("barrier: the other slots did not get ready in 300 s")
        time.sleep(0.01)
fwd, bwd, stp, tot = [], [], [], []
t_run = time.perf_counter()
if a.duration > 0:
    while time.perf_counter() - t_run < a.duration:
        loss_value = step((fwd, bwd, stp, tot))
else:
    for i in range(a.steps):
        loss_value = step((fwd, bwd, stp, tot))
run_s = time.perf_counter() - t_run

n_params = sum(p.numel() for p in model.parameters())
# Forward + backward FLOPs per step: (6 N + 12 L d T) per token, N without the embedding lookup; the same count as
# bench/ActorLab.Bench/TrainBench.cs StepFlops (PaLM appendix B).
n_dense = n_params - a.vocab * a.width
flops = (6 * n_dense + 12 * a.layers * a.width * a.seq) * a.batch * a.seq
print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), sdpa=HAS_SDPA, params=n_params,
                      device=str(dev), gpu=torch.cuda.get_device_name(dev) if cuda else None, amp=a.amp,
                      compile=a.compile, width=a.width, layers=a.layers, vocab=a.vocab, batch=a.batch, seq=a.seq,
                      steps=len(tot), run_s=run_s, warmup_s=warmup_s, steps_per_s=len(tot) / run_s,
                      tokens_per_s=len(tot) * a.batch * a.seq / run_s, flops_per_step=flops,
                      max_mem_gib=torch.cuda.max_memory_allocated(dev) / 2**30 if cuda else None,
                      step_ms=1000 * statistics.median(tot), fwd_ms=1000 * statistics.median(fwd),
                      bwd_ms=1000 * statistics.median(bwd), opt_ms=1000 * statistics.median(stp), loss=loss_value)))
