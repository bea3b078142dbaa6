"""Seconds per training step and images/s of `decgan.train`'s step, per model and preset, on this machine.

    .venv/bin/python bench/train_speed.py                      # demo and paper presets, both models, CPU
    .venv/bin/python bench/train_speed.py --presets demo --models decgan --steps 20 --batch-size 16
    .venv/bin/python bench/train_speed.py --memory-format both # channels_last vs NCHW, interleaved
    .venv/bin/python bench/train_speed.py --presets paper --models decgan --threads 1 --profile 8   # where a step goes

It times the step exactly as `train` runs it (`make_run`: the model's step function with its optimisers and pool,
under the run's precision), on random batches already on the device, after warm-up steps (IcGAN: steps of its cGAN
phase, D and G updates, which is 70% of its steps and the costly part); each row reports the
median over timed steps (CUDA: synchronised), and the process CPU seconds per step: with one thread
(`--threads 1`) that is close to what the step costs on an idle core even when other jobs share the machine.
Wall timings on shared cores swing: compare rows of one run only.
"""
import argparse
import statistics
import time

import torch

from _common import random_batch, sync
from decgan.core import Config, get_device
from decgan.distributed import Dist
from decgan.train import channels_last_batch, choose_precision, make_run


def time_steps(cfg: Config, device: torch.device, *, steps: int, warmup: int) -> tuple[list[float], list[float]]:
    "(wall seconds, process CPU seconds) of each timed step of `cfg`'s training step (after `warmup` untimed ones)."
    torch.manual_seed(cfg.seed)
    run = make_run(cfg, device, Dist())
    gen = torch.Generator(device=device).manual_seed(0)
    times, cpu = [], []
    for i in range(warmup + steps):
        batch = random_batch(cfg, cfg.batch_size, device, gen)
        if cfg.channels_last: batch = channels_last_batch(batch)
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        run.step(batch, i)
        sync(device)
        if i >= warmup: times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
    return times, cpu


def profile_step(cfg: Config, device: torch.device, *, top: int) -> str:
    "Where one step of `cfg` (after two untimed ones) spends its time: the share of convolution ops and the `top` ops by shape."
    from torch.profiler import ProfilerActivity, profile
    torch.manual_seed(cfg.seed)
    run = make_run(cfg, device, Dist())
    gen = torch.Generator(device=device).manual_seed(0)
    for i in range(2): run.step(random_batch(cfg, cfg.batch_size, device, gen), i)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts, record_shapes=True) as prof:
        run.step(random_batch(cfg, cfg.batch_size, device, gen), 2)
        sync(device)
    ops = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ops)
    conv = sum(e.self_cpu_time_total for e in ops if "conv" in e.key)
    table = prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=top,
                                                                 max_name_column_width=28, max_shapes_column_width=80)
    return f"  convolution ops: {conv / total:.0%} of the step's self CPU time ({total / 1e6:.2f} s profiled)\n{table}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["demo", "paper"])
    p.add_argument("--models", nargs="+", default=["decgan", "icgan"])
    p.add_argument("--steps", type=int, default=5, help="timed steps per row")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    p.add_argument("--width", type=float, default=None, help="default: the preset's")
    p.add_argument("--device", default="auto")
    p.add_argument("--memory-format", choices=["config", "nchw", "channels_last", "both"], default="config")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--precisions", nargs="+", default=["auto"], choices=["auto", "bf16", "fp32"],
                   help="rows per precision; auto: what training would choose (its setup probe)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="after each row, profile one more step (torch.profiler) and print its N costliest ops by shape "
                        "and the share of convolution")
    args = p.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    device = get_device(args.device)
    formats = {"config": [None], "nchw": [False], "channels_last": [True], "both": [False, True]}[args.memory_format]
    print(f"device {device} | torch {torch.__version__} | {torch.get_num_threads()} threads | "
          f"{args.warmup} warm-up + {args.steps} timed steps per row (median)")
    print(f"{'model':8} {'preset':7} {'size':>4} {'width':>5} {'batch':>5} {'layout':>13} {'prec':>5} {'s/step':>8} {'images/s':>9} "
          f"{'cpu s/step':>10}")
    for preset in args.presets:
        for model in args.models:
            for cl in formats:
                over = {k: v for k, v in dict(batch_size=args.batch_size, width=args.width, channels_last=cl).items()
                        if v is not None}
                # steps: a long run's budget, so IcGAN's timed steps all fall in its first (cGAN) phase, 70% of a run
                for prec in args.precisions:
                    cfg = Config.preset_of(preset, model=model, steps=10**6, precision=prec, **over)
                    cfg = cfg.replace(precision=choose_precision(cfg, device)[0])
                    wall, cpu = time_steps(cfg, device, steps=args.steps, warmup=args.warmup)
                    t, c = statistics.median(wall), statistics.median(cpu)
                    layout = "channels_last" if cfg.channels_last else "nchw"
                    print(f"{model:8} {preset:7} {cfg.image_size:>4} {cfg.width:>5} {cfg.batch_size:>5} {layout:>13} "
                          f"{cfg.precision:>5} {t:>8.3f} {cfg.batch_size / t:>9.1f} {c:>10.3f}", flush=True)
                    if args.profile: print(profile_step(cfg, device, top=args.profile), flush=True)


if __name__ == "__main__":
    main()
