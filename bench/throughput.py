"""Training throughput of DECGAN: the project's training step ("ours") against a plain PyTorch loop, in one process.

The table of issue 9 comes from a CUDA machine (name the card when you report it):

    .venv/bin/python bench/throughput.py --batch 64 --batch 256

Add `--ablate` for one extra "ours" row per speed-up switched off (compile, amp, channels_last, fused Adam, device
data), and `--data-dir DIR` to keep the synthetic image tree between runs. Without CUDA the script runs at a small
size by itself (what `--cpu-small` asks for anywhere): 32x32, width 0.25, batch 8, a few steps, no compile. That run
checks the script works (tests/test_bench.py runs it); its speeds say nothing about a GPU.

Both paths train the same model (`decgan.models.DECGAN`, paper preset) with the same objectives
(`decgan.losses.generator_objective` / `discriminator_objective` through a `HistoryPool`) and the same update order
(`decgan.decgan_model.decgan_step`: G then D), on the same synthetic RAF-DB tree written with `decgan.synth_data.write_rafdb_tree`:

* plain: eager float32, NCHW, `torch.optim.Adam` with its default (non-fused) kernels, batches decoded from the JPEG
  files by a `torch.utils.data.DataLoader` with worker processes (PIL decode, resize, flip; pinned memory,
  non-blocking copies, no per-step `.item()`): a straightforward loop, not a strawman.
* ours: the training loop's own body, `decgan.train.train_steps` over `decgan.train.device_batches`, on the run
  `make_run` builds from `Config()`'s own defaults, exactly as training builds it (channels_last and `torch.compile`
  as `Config` says: both off by default; `--compile` / `--channels-last` set those same fields), fused Adam on CUDA,
  bf16 autocast, batches drawn on the device by `decgan.data.DeviceData.sample`, and the loop's per-step bookkeeping
  (`LossMeter`: finite-loss flag and loss sums, one host sync per `log_every` steps).
  `--compare-compile` adds one "ours" row with compilation flipped, to choose `Config.compile` by measurement.

Per path and batch size it reports the median time of one full step (G and D updates) over the timed steps after
warm-up (CUDA events on a GPU, `perf_counter` on the CPU), images/s from it (and from the whole timed window), the
FLOPs of one step counted by `torch.utils.flop_counter.FlopCounterMode` (checked against a count by hand from
Tables 1-2), achieved TFLOP/s, and that rate as a fraction of the chip's matrix-product rate measured in the same run
(bf16 on CUDA, float32 on the CPU). It also trains both paths a few steps from the same weights on the same batches
and reports the largest relative difference of their losses. At the end it says whether the issue's goals are met:
ours at least 2.5x plain at batch 64, and ours at 30% or more of the measured matmul rate at batch 256.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _common import random_batch, sync
from decgan.batches import DeviceData
from decgan.core import Config, get_device, seed_everything, uint8_to_model
from decgan.data import prepare
from decgan.distributed import Dist, agree_flags, sampler_seed
from decgan.losses import discriminator_objective, generator_objective
from decgan.models import DECGAN
from decgan.monitor import LossMeter
from decgan.synth_data import write_rafdb_tree
from decgan.decgan_model import HistoryPool, decgan_step
from decgan.train import device_batches, make_run, train_steps

ISSUE_GFLOP_PER_IMAGE = 80.0  # issue 9's estimate of one paper-preset step per image
FEATURES = ("compile", "amp", "channels_last", "fused", "device_data")
#: issue 15's goals: (batch, ours/plain at least) and (batch, fraction of the measured matmul rate at least)
GOAL_SPEEDUP, GOAL_MATMUL = (64, 2.5), (256, 0.30)


# ----------------------------------------------------------------------------------------------------------- FLOPs
def _conv(out_side: int, k: int, cin: int, cout: int) -> int:
    "Multiply-adds x 2 of a k x k convolution over an out_side x out_side grid (a transposed one: its input grid)."
    return 2 * out_side * out_side * k * k * cin * cout


def table_layers(cfg: Config) -> dict[str, list[int]]:
    "Forward FLOPs per image of each layer of Tables 1-2 at `cfg`'s size, width and K (Deconv4 makes `channels`, not 8)."
    ch = lambda base: max(1, int(round(base * cfg.width)))
    s, k, c = cfg.image_size, cfg.n_expressions, cfg.channels
    return {"E": [_conv(s, 7, c, ch(64)), _conv(s // 2, 3, ch(64), ch(128)), _conv(s // 4, 3, ch(128), ch(256))],
            "G": [_conv(s // 4, 3, ch(256) + k, ch(256)), _conv(s // 2, 3, ch(256), ch(128)),
                  _conv(s, 7, ch(128), ch(64)), _conv(s, 7, ch(64), c)],
            "D": [_conv(s, 7, c, ch(64)), _conv(s // 2, 7, ch(64) + k, ch(128)), _conv(s // 4, 7, ch(128), ch(256)),
                  _conv(s // 4, 7, ch(256), ch(512)), _conv(s // 4, 7, ch(512), 1)]}


def hand_flops(cfg: Config) -> dict[str, float]:
    """FLOPs per source image of one step by hand: forward only, and forward + backward.
    G step: E2 on x and ref, E1(x), G1, frozen D and frozen E2 on the fakes, E1(fakes), G2; D step: D on x and fakes.
    Backward of a trained network = weight grads (1x forward) + input grads (1x, less the first layer when its input
    is data); of a frozen one = input grads only."""
    L = table_layers(cfg)
    f = {n: sum(v) for n, v in L.items()}
    data = lambda n: 3 * f[n] - L[n][0]   # trained, input needs no grad
    grad = lambda n: 3 * f[n]             # trained, input needs grad
    frozen = lambda n: 2 * f[n]           # parameters frozen, input needs grad
    g_step = 2 * data("E") + data("E") + grad("G") + frozen("D") + frozen("E") + grad("E") + grad("G")
    d_step = 2 * data("D")
    return {"forward": 5 * f["E"] + 2 * f["G"] + 3 * f["D"], "G step": g_step, "D step": d_step,
            "step": g_step + d_step, **{f"{n} forward": v for n, v in f.items()}}


def counted_flops(cfg: Config, batch_size: int) -> dict[str, int]:
    "FLOPs of one step's G and D objectives (forward + backward) by FlopCounterMode, on fake tensors (no compute)."
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode
    out = {}
    with FakeTensorMode(), FlopCounterMode(display=False) as counter:
        net = DECGAN(cfg)
        batch = random_batch(cfg, batch_size, "cpu")
        counter.flop_counts.clear()
        loss_g, _, fakes = generator_objective(net, batch, cfg)
        loss_g.backward()
        out["G step"] = counter.get_total_flops()
        counter.flop_counts.clear()
        loss_d, _ = discriminator_objective(net, batch, cfg, fakes=fakes, pool=None)
        loss_d.backward()
        out["D step"] = counter.get_total_flops()
    out["step"] = out["G step"] + out["D step"]
    return out


# ---------------------------------------------------------------------------------------------------------- timing
def time_steps(step, device: torch.device, *, warmup: int, steps: int) -> tuple[list[float], float]:
    "(seconds of each timed call of `step()`, wall seconds of the whole timed window) after `warmup` untimed calls."
    for _ in range(warmup): step()
    sync(device)
    cuda = device.type == "cuda"
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(steps)] if cuda else []
    times = []
    t0 = time.perf_counter()
    for i in range(steps):
        if cuda: events[i][0].record()
        else: s = time.perf_counter()
        step()
        if cuda: events[i][1].record()
        else: times.append(time.perf_counter() - s)
    sync(device)
    wall = time.perf_counter() - t0
    if cuda: times = [a.elapsed_time(b) / 1e3 for a, b in events]
    return times, wall


def host_syncs(step, device: torch.device) -> int | None:
    "How many synchronising CUDA operations `torch.cuda.set_sync_debug_mode` reports in one call of `step()` (None off CUDA)."
    if device.type != "cuda": return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    sync(device)
    return sum("synchroniz" in str(w.message).lower() for w in caught)


def matmul_rate(device: torch.device, *, n: int, reps: int) -> tuple[float, str]:
    "(FLOP/s, dtype name) of an n x n x n matrix product on `device`: bf16 on CUDA, float32 on the CPU; median of `reps`."
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    inner = 10 if device.type == "cuda" else 1
    def run():
        for _ in range(inner): torch.matmul(a, b)
    times, _ = time_steps(run, device, warmup=2, steps=reps)
    return 2 * n ** 3 * inner / statistics.median(times), str(dtype).replace("torch.", "")


# ---------------------------------------------------------------------------------------------------------- data
def synth_rafdb(data_dir: Path, n_images: int) -> Path:
    "A synthetic RAF-DB tree of `n_images` training photos under `data_dir` (written unless one is already there)."
    root = data_dir / f"rafdb-{n_images}"
    if not (root / "EmoLabel" / "list_patition_label.txt").is_file():
        write_rafdb_tree(root, n_images, seed=0, test_fraction=0.0)
    return root


class FaceFiles(torch.utils.data.Dataset):
    "The plain path's data: (x, y, ref, t) with x and ref decoded from their image files at every access."
    def __init__(self, root: Path, paths: list[str], labels: list[int], *, size: int):
        self.files = [root / p for p in paths]
        self.labels, self.size = labels, size
        self.by_label = {c: [i for i, y in enumerate(labels) if y == c] for c in sorted(set(labels))}
        self.present = list(self.by_label)   # every RAF-DB photo is its own subject: any other image may be a reference

    def __len__(self): return len(self.files)

    def image(self, i: int) -> torch.Tensor:
        with Image.open(self.files[i]) as im:
            im = im.convert("RGB").resize((self.size, self.size), Image.BILINEAR)
            x = uint8_to_model(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1))
        return x.flip(-1) if torch.rand(()) < 0.5 else x

    def __getitem__(self, i: int) -> dict:
        y = self.labels[i]
        others = [c for c in self.present if c != y] or self.present
        t = others[int(torch.randint(len(others), ()))]
        pool = self.by_label[t]
        j = pool[int(torch.randint(len(pool), ()))]
        return {"x": self.image(i), "y": y, "ref": self.image(j), "t": t}


def plain_batches(dataset: FaceFiles, *, batch_size: int, workers: int, device: torch.device):
    "Endless batches on `device` from a shuffling DataLoader with `workers` worker processes."
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                                         num_workers=workers, persistent_workers=workers > 0,
                                         pin_memory=device.type == "cuda")
    if len(loader) == 0:
        raise ValueError(f"{len(dataset)} images cannot fill one batch of {batch_size}: raise --images")
    while True:
        for b in loader: yield {k: v.to(device, non_blocking=True) for k, v in b.items()}


# ---------------------------------------------------------------------------------------------------------- paths
def plain_trainer(cfg: Config, device: torch.device, *, image_shape: tuple):
    "The plain path's step function on a batch dict, and its network (eager float32, NCHW, default Adam)."
    net = DECGAN(cfg).to(device)
    opts = {"G": torch.optim.Adam(net.generator_parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2)),
            "D": torch.optim.Adam(net.discriminator_parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))}
    pool = HistoryPool(cfg.pool_size, n_expressions=cfg.n_expressions, image_shape=image_shape, device=device,
                       seed=sampler_seed(cfg.seed, 0) + 1)   # the seed make_run gives its pool
    g = lambda batch: generator_objective(net, batch, cfg)
    d = lambda batch, fakes: discriminator_objective(net, batch, cfg, fakes=fakes, pool=pool)
    return (lambda batch: decgan_step(g, d, batch, opts=opts)), net


def ours_trainer(cfg: Config, device: torch.device, *, fused: bool):
    "`decgan.train.make_run` as `train` builds it (its optimisers swapped for unfused ones if not `fused`)."
    run = make_run(cfg, device, Dist())
    if not fused and device.type == "cuda":
        for k, o in run.opts.items():  # the step function reads this same dict
            run.opts[k] = torch.optim.Adam(o.param_groups[0]["params"], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    return run


class OursLoop:
    "One iteration of `decgan.train`'s loop: its body `train_steps` (device batches unless `batches`), then `LossMeter`."
    def __init__(self, run, data, cfg: Config, device: torch.device, *, batches=None):
        batches = batches if batches is not None else device_batches(data, cfg.batch_size, generator=run.sampler)
        self.steps = train_steps(run, batches, channels_last=cfg.channels_last)
        self.cfg, self.device, self.meter, self.i = cfg, device, LossMeter(device), 0

    def __call__(self):
        self.i, logs = next(self.steps)
        self.meter.add(logs)                   # the training loop's own bookkeeping, no sync
        if self.i % self.cfg.log_every == 0:   # the loop's one host sync per log step
            bad, _ = agree_flags([self.meter.bad, torch.tensor(False, device=self.device)], Dist())
            if bad: raise FloatingPointError(f"a loss became non-finite: {self.meter.means()}")
            self.meter.means()
            self.meter.reset()


def loss_check(plain_step, run, cfg: Config, batches: list[dict]) -> tuple[float, str, int]:
    "(largest relative difference, its loss name, its step) of the two paths' losses over `batches` (same start weights)."
    ours = train_steps(run, iter(batches), channels_last=cfg.channels_last)   # one step per batch, after plain's
    got = [(plain_step(b), next(ours)[1]) for b in batches]
    worst = (0.0, "-", 0)
    for i, (lp, lo) in enumerate(got, 1):
        keys = [k for k in lp if not k.endswith("_acc")]   # accuracies are counts of argmax hits, not losses
        a = torch.stack([lp[k].float() for k in keys]).cpu().double()
        b = torch.stack([lo[k].float() for k in keys]).cpu().double()
        rel = ((a - b).abs() / torch.maximum(a.abs(), b.abs()).clamp(min=1e-12)).tolist()
        for k, r in zip(keys, rel):
            if not math.isfinite(r) or r > worst[0]: worst = (r, k, i)
    return worst


# ---------------------------------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, action="append", default=None, help="batch size; repeat for several (GPU default 64)")
    p.add_argument("--cpu-small", action="store_true", help="the small CPU-sized check (automatic without CUDA)")
    p.add_argument("--device", default="auto")
    p.add_argument("--size", type=int, default=None, help="image side (default 64; small: 32)")
    p.add_argument("--width", type=float, default=None, help="channel multiplier (default 1.0; small: 0.25)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per row (default 50; small: 3)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps per row (default 10; small: 1)")
    p.add_argument("--check-steps", type=int, default=3, help="steps of the loss comparison")
    p.add_argument("--images", type=int, default=None, help="photos in the synthetic RAF-DB tree (default 512; small: 48)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers of the plain path (default: half the cores, at most 8)")
    p.add_argument("--data-dir", default=None, help="where the synthetic tree is written and kept (default: a temporary folder)")
    p.add_argument("--matmul-n", type=int, default=None, help="side of the matmul rate probe (default 8192; small: 512)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--ablate", action="store_true", help="one extra 'ours' row per speed-up switched off")
    p.add_argument("--compare-compile", action="store_true",
                   help="one extra 'ours' row with torch.compile flipped (to choose Config.compile by measurement)")
    helps = {"compile": f"sets Config.compile: torch.compile of each network (default: Config's, {Config().compile})",
             "amp": "bf16 autocast (Config.precision bf16)",
             "channels_last": f"sets Config.channels_last (default: Config's, {Config().channels_last})",
             "fused": "fused Adam (CUDA only; default on)",
             "device_data": "batches drawn on the device; off: from the plain path's DataLoader (default on)"}
    for f in FEATURES:
        p.add_argument(f"--{f.replace('_', '-')}", dest=f, action=argparse.BooleanOptionalAction, default=None,
                       help=f"ours: {helps[f]}")
    return p.parse_args(argv)


def _pick(value, full, small, is_small):
    return value if value is not None else (small if is_small else full)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    device = get_device(args.device)
    cuda = device.type == "cuda"
    small = args.cpu_small or not cuda
    size, width = _pick(args.size, 64, 32, small), _pick(args.width, 1.0, 0.25, small)
    batches = args.batch or [8 if small else 64]
    steps, warmup = _pick(args.steps, 50, 3, small), _pick(args.warmup, 10, 1, small)
    n_images = _pick(args.images, 512, 48, small)
    workers = args.workers if args.workers is not None else min(8, max(1, (os.cpu_count() or 2) // 2))
    defaults = Config()   # what decgan.train trains with unless told otherwise: "ours" is exactly that
    ours_on = {"compile": defaults.compile, "amp": True, "channels_last": defaults.channels_last, "fused": True,
               "device_data": True}
    ours_on.update({f: getattr(args, f) for f in FEATURES if getattr(args, f) is not None})
    if cuda:  # what decgan.train's _train sets before it builds the run (global: both paths get it)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    seed_everything(0)

    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    base = Config.preset_of("paper", image_size=size, width=width, device=str(device), seed=0)
    print(f"decgan throughput | {device} ({name}) | torch {torch.__version__} | {torch.get_num_threads()} threads"
          f"{' | small CPU check: speeds say nothing about a GPU' if small else ''}")
    print(f"model: paper preset at {size}x{size}, width {width}, K={base.n_expressions}, association "
          f"{base.association}, pool {base.pool_size} | {warmup} warm-up + {steps} timed steps per row (median) | "
          f"plain: {workers} DataLoader worker(s) | ours: " + ", ".join(f"{k} {'on' if v else 'off'}" for k, v in ours_on.items())
          + ("" if cuda else " (fused Adam acts on CUDA only)"))

    rate, rate_dtype = matmul_rate(device, n=_pick(args.matmul_n, 8192, 512, small), reps=20 if cuda else 5)
    print(f"matmul rate ({rate_dtype}): {rate / 1e12:.4g} TFLOP/s")

    paper = Config.preset_of("paper")
    hp, cp = hand_flops(paper), counted_flops(paper, 1)
    print(f"FLOPs per image, paper preset 64x64 (Tables 1-2 by hand | FlopCounterMode): forward {hp['forward'] / 1e9:.2f} "
          f"GFLOP (E {hp['E forward'] / 1e9:.3f}, G {hp['G forward'] / 1e9:.3f}, D {hp['D forward'] / 1e9:.3f}) | "
          f"full step {hp['step'] / 1e9:.2f} | {cp['step'] / 1e9:.2f} GFLOP (G step {cp['G step'] / 1e9:.2f}, "
          f"D step {cp['D step'] / 1e9:.2f}); issue 9's estimate {ISSUE_GFLOP_PER_IMAGE:.0f}: counted/estimate = "
          f"{cp['step'] / 1e9 / ISSUE_GFLOP_PER_IMAGE:.3f}")
    if (size, width) != (64, 1.0):
        hs, cs = hand_flops(base), counted_flops(base, 1)
        print(f"FLOPs per image at this run's size: by hand {hs['step'] / 1e9:.6g} | counted {cs['step'] / 1e9:.6g} GFLOP")

    rows, notes, failed = [], [], False
    with contextlib.ExitStack() as stack:
        data_dir = Path(args.data_dir) if args.data_dir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        t = time.perf_counter()
        root = synth_rafdb(data_dir, n_images)
        prepared = prepare("rafdb", root, size=size, split="train", workers=min(workers, 8), progress=False)
        print(f"data: {len(prepared.images)} synthetic RAF-DB photos at {root} ({time.perf_counter() - t:.1f} s to write/prepare)")
        shape = tuple(prepared.images.shape[1:])
        files = FaceFiles(root, prepared.paths, prepared.labels.tolist(), size=size)
        device_data = DeviceData(prepared, device)
        for bs in batches:
            cfg = base.replace(batch_size=bs)
            flops = counted_flops(cfg, bs)["step"]
            variants = [("ours", ours_on)]
            if args.ablate:   # bf16 autocast and fused Adam act on CUDA only: no row for them elsewhere
                variants += [(f"ours -{f}", {**ours_on, f: False}) for f in FEATURES
                             if ours_on[f] and (cuda or f != "fused")]
            if args.compare_compile and not (args.ablate and ours_on["compile"]):
                variants.append((f"ours {'-' if ours_on['compile'] else '+'}compile", {**ours_on, "compile": not ours_on["compile"]}))
            any_compile = any(on["compile"] for _, on in variants)

            seed_everything(0)
            plain_step, plain_net = plain_trainer(cfg.replace(precision="fp32", channels_last=False, compile=False), device,
                                                  image_shape=shape)
            start = {k: v.detach().clone() for k, v in plain_net.state_dict().items()}
            for label, on in variants:
                if any_compile: torch._dynamo.reset()
                ocfg = cfg.replace(precision="bf16" if on["amp"] else "fp32", channels_last=on["channels_last"],
                                   compile=on["compile"])
                run = ours_trainer(ocfg, device, fused=on["fused"])
                run.net.load_state_dict(start)
                graphs0 = _graphs()
                if label == "ours":   # the loss comparison: same weights, same batches (also ours' first warm-up)
                    gen = torch.Generator(device=device).manual_seed(1)
                    check = [device_data.sample(bs, generator=gen) for _ in range(args.check_steps)]
                    check = [{k: v for k, v in b.items() if k in ("x", "y", "ref", "t")} for b in check]
                    rel, key, at = loss_check(plain_step, run, ocfg, check)
                    amp = ocfg.precision == "bf16"
                    tol = 2.0 ** -8 * 16 if amp else 1e-3   # 16 units of bf16 rounding; float32 paths: 1e-3
                    notes.append(f"loss check, batch {bs}: {args.check_steps} steps from the same weights on the same batches: "
                                 f"max relative difference {rel:.3g} ({key}, step {at}); tolerance {tol:.3g} "
                                 f"({'bf16' if amp else 'float32'}): {'ok' if rel <= tol else 'EXCEEDED'}")
                    failed |= not rel <= tol
                    t = time.perf_counter()
                    loop = plain_loop(plain_step, files, bs, workers, device)
                    times, wall = time_steps(loop, device, warmup=warmup, steps=steps)
                    rows.append(_row(bs, "plain", times, wall, steps, flops, rate))
                    n_sync = host_syncs(loop, device)
                    if n_sync is not None: notes.append(f"plain, batch {bs}: {n_sync} synchronising CUDA call(s) in one step")
                    del loop
                    print(f"  batch {bs}: plain timed ({time.perf_counter() - t:.1f} s)", file=sys.stderr, flush=True)
                loader = None if on["device_data"] else plain_batches(files, batch_size=bs, workers=workers, device=device)
                t = time.perf_counter()
                loop = OursLoop(run, device_data, ocfg, device, batches=loader)
                time_steps(loop, device, warmup=warmup, steps=0)
                graphs1 = _graphs()
                times, wall = time_steps(loop, device, warmup=0, steps=steps)
                rows.append(_row(bs, label, times, wall, steps, flops, rate))
                if ocfg.compile:
                    notes.append(f"{label}, batch {bs}: torch.compile made {graphs1 - graphs0} graph(s) before the timed "
                                 f"steps and {_graphs() - graphs1} during them")
                if label == "ours":
                    if (loop.i + 1) % ocfg.log_every == 0: loop()   # probe a step without the loop's log sync
                    n_sync = host_syncs(loop, device)
                    if n_sync is not None: notes.append(f"ours, batch {bs}: {n_sync} synchronising CUDA call(s) in one step "
                                                        "that does not log")
                print(f"  batch {bs}: {label} timed ({time.perf_counter() - t:.1f} s)", file=sys.stderr, flush=True)
                del run, loader, loop
                gc.collect()
            del plain_step, plain_net
            gc.collect()
        del device_data

    plain_ips = {r["batch"]: r["images/s"] for r in rows if r["path"] == "plain"}
    for r in rows: r["vs plain"] = r["images/s"] / plain_ips[r["batch"]]
    cols = ["batch", "path", "ms/step", "images/s", "images/s (window)", "TFLOP/s", "of matmul", "vs plain"]
    fmt = {"batch": "{:d}", "path": "{}", "ms/step": "{:.4g}", "images/s": "{:.4g}", "images/s (window)": "{:.4g}",
           "TFLOP/s": "{:.4g}", "of matmul": "{:.1%}", "vs plain": "{:.2f}x"}
    cells = [[fmt[c].format(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.rjust(w) for v, w in zip(vals, widths)) + " |"
    print()
    print(line(cols))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells: print(line(row))
    print()
    for bs in batches:
        ours = next(r for r in rows if r["batch"] == bs and r["path"] == "ours")
        print(f"ratio ours/plain at batch {bs}: {ours['vs plain']:.2f}x; ours reaches {ours['of matmul']:.1%} of the "
              f"measured {rate_dtype} matmul rate")
    for n in notes: print(n)
    for text in goals(rows, rate_dtype): print(text)
    return 2 if failed else 0


def goals(rows: list[dict], rate_dtype: str) -> list[str]:
    "One line per goal of issue 15: met, NOT met, or not measured (its batch size was not run)."
    ours = {r["batch"]: r for r in rows if r["path"] == "ours"}
    (b1, x), (b2, frac) = GOAL_SPEEDUP, GOAL_MATMUL
    out = []
    for bs, want, got, shown in ((b1, f"ours >= {x}x plain at batch {b1}", lambda r: r["vs plain"] >= x, lambda r: f"{r['vs plain']:.2f}x"),
                                 (b2, f"ours >= {frac:.0%} of the {rate_dtype} matmul rate at batch {b2}",
                                  lambda r: r["of matmul"] >= frac, lambda r: f"{r['of matmul']:.1%}")):
        r = ours.get(bs)
        out.append(f"goal: {want}: " + ("not measured (batch not run)" if r is None else
                                         f"{'met' if got(r) else 'NOT met'} ({shown(r)})"))
    return out


def _graphs() -> int:
    try:
        from torch._dynamo.utils import counters
        return int(counters["stats"]["unique_graphs"])
    except Exception:
        return 0


def plain_loop(plain_step, files: FaceFiles, batch_size: int, workers: int, device: torch.device):
    "The plain path's iteration: next batch from the DataLoader (decoded from disk), then the step."
    it = plain_batches(files, batch_size=batch_size, workers=workers, device=device)
    return lambda: plain_step(next(it))


def _row(bs: int, path: str, times: list[float], wall: float, steps: int, flops: int, rate: float) -> dict:
    med = statistics.median(times)
    return {"batch": bs, "path": path, "ms/step": med * 1e3, "images/s": bs / med, "images/s (window)": bs * steps / wall,
            "TFLOP/s": flops / med / 1e12, "of matmul": flops / med / rate}


if __name__ == "__main__":
    sys.exit(main())
