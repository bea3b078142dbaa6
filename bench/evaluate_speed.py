"""How long the evaluation's parts take on this machine (CPU or GPU), measured in one run so ratios are comparable.

- a judge training step per image: the small VGG-style CNN (default judge) vs torchvision ResNet-18 (3x3 stem);
- one Fréchet distance (judge features) on the default thread count vs one thread (`decgan.metrics.one_thread`);
- SSIM of a batch of faces.

    .venv/bin/python bench/evaluate_speed.py [--size 32] [--batch 64] [--steps 3]
"""
import argparse
import time

import torch
import torch.nn.functional as F

from _common import sync
from decgan.core import get_device
from decgan.judges import Judge
from decgan.metrics import frechet_distance, one_thread, ssim


def per_image_step(arch: str, *, size: int, batch: int, steps: int, device) -> float:
    "Seconds per image of one judge training step (forward, backward, Adam), after one warm-up step."
    net = Judge(7, arch=arch).to(device)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, 7, (batch,), device=device)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        sync(device)
        if i: times.append(time.perf_counter() - t0)
    return min(times) / batch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    dev = get_device(a.device)
    print(f"device {dev}, torch threads {torch.get_num_threads()}, images {a.size}x{a.size}, batch {a.batch}")
    small = per_image_step("small", size=a.size, batch=a.batch, steps=a.steps, device=dev)
    resnet = per_image_step("resnet18", size=a.size, batch=a.batch, steps=a.steps, device=dev)
    print(f"judge training step: small CNN {small * 1e3:.2f} ms/image, ResNet-18 {resnet * 1e3:.2f} ms/image "
          f"(ratio {resnet / small:.1f}x)")
    g = torch.Generator().manual_seed(0)
    fa, fb = torch.randn(300, 128, generator=g), torch.randn(60, 128, generator=g)
    for label, ctx in (("default threads", None), ("one thread", one_thread)):
        t0 = time.perf_counter()
        if ctx is None:
            for _ in range(20): frechet_distance(fa, fb)
        else:
            with ctx():
                for _ in range(20): frechet_distance(fa, fb)
        print(f"Fréchet distance (300 vs 60, 128-d), {label}: {(time.perf_counter() - t0) / 20 * 1e3:.1f} ms")
    x = torch.rand(256, 3, a.size, a.size, generator=g)
    t0 = time.perf_counter()
    ssim(x, x.flip(0))
    print(f"SSIM of 256 faces: {(time.perf_counter() - t0) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
