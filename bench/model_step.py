"""Parameter counts of DECGAN's networks and the time of one full training step.

One step = generator objective (forward + backward) + Adam step on E1/E2/G1/G2, then discriminator objective
through the history pool (forward + backward) + Adam step on D, on random images of the preset's size.
Reports the median over --repeats timed steps after --warmup untimed ones: wall time, and the CPU time the
process used (on a shared machine the wall time swings with the other jobs; the CPU time less so).

    .venv/bin/python bench/model_step.py                      # paper (64x64, batch 16) and demo presets, CPU
    .venv/bin/python bench/model_step.py --presets paper --association none both
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from _common import random_batch, sync
from decgan.core import Config, get_device
from decgan.decgan_model import DECGAN_SPEC
from decgan.interface import StepEnv
from decgan.models import DECGAN, count_parameters


def setup(cfg: Config, device: torch.device):
    "DECGAN's network and its trainer, as training builds them (decgan.decgan_model.DECGAN_SPEC: its optimisers, lr_d, pool)."
    torch.manual_seed(cfg.seed)
    net = DECGAN_SPEC.build(cfg).to(device)
    opts = DECGAN_SPEC.optimizers(net, cfg)
    return net, DECGAN_SPEC.trainer(net, opts, cfg, StepEnv.local(cfg.replace(precision="fp32"), device))


def one_step(trainer, batch) -> None:
    "One full training step: generator objective + Adam on E1/E2/G1/G2, discriminator objective (through the pool) + Adam on D."
    trainer.step(batch, 0)


def step_flops(cfg: Config, *, batch_size: int, device: torch.device) -> int:
    "Floating-point operations of one full step, counted by torch's FlopCounterMode (convolutions and matmuls)."
    from torch.utils.flop_counter import FlopCounterMode
    net, trainer = setup(cfg, device)
    b = random_batch(cfg, batch_size, device, torch.Generator(device=device).manual_seed(cfg.seed))
    with FlopCounterMode(display=False) as counter:
        one_step(trainer, b)
    return counter.get_total_flops()


def step_time(cfg: Config, *, batch_size: int, device: torch.device, warmup: int, repeats: int
              ) -> tuple[list[float], list[float]]:
    "Wall seconds and process CPU seconds of each timed full G+D step."
    net, trainer = setup(cfg, device)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    batches = [random_batch(cfg, batch_size, device, gen) for _ in range(4)]
    times, cpu = [], []
    for i in range(warmup + repeats):
        b = batches[i % len(batches)]
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        one_step(trainer, b)
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
    return times, cpu


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["paper", "demo"], choices=["paper", "demo"])
    p.add_argument("--batch-size", type=int, default=None, help="default: 16 for every preset (the paper's batch)")
    p.add_argument("--association", nargs="+", default=["expression"], choices=["none", "expression", "identity", "both"])
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    args = p.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    device = get_device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")

    paper = DECGAN(Config.preset_of("paper"))
    print("parameters, paper preset (64x64, width 1, K=7, RGB):")
    for name in ("E1", "E2", "G1", "G2", "D"):
        print(f"  {name:3s} {count_parameters(getattr(paper, name)):>10,d}")
    print(f"  all {count_parameters(paper):>10,d}")

    print(f"full G+D step (forward+backward+Adam, pool on), median of {args.repeats} after {args.warmup} warm-up:")
    for preset in args.presets:
        for assoc in args.association:
            cfg = Config.preset_of(preset, association=assoc, device=args.device)
            bs = args.batch_size or 16
            flops = step_flops(cfg, batch_size=bs, device=device)
            t, c = step_time(cfg, batch_size=bs, device=device, warmup=args.warmup, repeats=args.repeats)
            med = statistics.median(t)
            print(f"  {preset:5s} {cfg.image_size}x{cfg.image_size} width {cfg.width:<4} batch {bs:3d} "
                  f"association {assoc:10s} {flops / 1e9:7.1f} GFLOP/step | wall median {med:7.3f} s "
                  f"(min {min(t):.3f}, max {max(t):.3f}) = {flops / med / 1e9:6.1f} GFLOP/s | "
                  f"process CPU median {statistics.median(c):7.3f} s")


if __name__ == "__main__":
    main()
