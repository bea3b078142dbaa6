"""What several benchmarks share: random training batches of a config's shape, and the device barrier around a timer.

The scripts in bench/ import it as `from _common import ...`: a script run as `python bench/x.py` has bench/ on its path.
"""
from __future__ import annotations

import os
import platform

import torch

from decgan.core import Config


def random_batch(cfg: Config, n: int, device: torch.device | str, generator: torch.Generator | None = None) -> dict:
    """A training batch of `n` random images of `cfg`'s shape in [-1, 1] (`x`, `ref`) and random expression labels
    (`y`, `t`), drawn on `device` from `generator` (None: torch's global generator), in the order x, y, ref, t."""
    s, k = cfg.image_size, cfg.n_expressions
    img = lambda: torch.rand(n, cfg.channels, s, s, generator=generator, device=device) * 2 - 1
    lab = lambda: torch.randint(0, k, (n,), generator=generator, device=device)
    return {"x": img(), "y": lab(), "ref": img(), "t": lab()}


def sync(device: torch.device | str) -> None:
    "Wait until `device` has done the work queued on it (CUDA runs asynchronously); nothing to wait for on the CPU."
    device = torch.device(device)
    if device.type == "cuda": torch.cuda.synchronize(device)


def machine() -> str:
    "This machine in words, for the files a bench writes: the GPU torch sees, else the CPU's model name and core count."
    if torch.cuda.is_available(): return torch.cuda.get_device_name(0)
    try:
        with open("/proc/cpuinfo") as f:
            name = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        name = None
    return f"{name or platform.processor() or 'a CPU'}, {os.cpu_count()} cores"
