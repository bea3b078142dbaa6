"""Benchmark of decgan.data preprocessing.

Writes a RAF-DB-format tree with `decgan.synth_data.write_rafdb_tree` (5,000 images by default) and measures:

1. preprocessing throughput (images/s) of `prepare("rafdb", ...)` on this machine
   - align="auto": the shipped aligned images, resized only (the default for RAF-DB);
   - align="landmarks": the originals aligned with the Annotation/manual five points (no detector);
   - align="mtcnn": the originals aligned with facenet-pytorch MTCNN landmarks, on the first `--mtcnn-n` images
     (MTCNN is the slow part; its detection rate on the drawn faces is reported as measured);
2. the time to load the cached set (a cache hit of `prepare`) and to move it to the device (`DeviceData`),
   and the time to draw batches there.

Run:  .venv/bin/python bench/data_prep.py [--n 5000] [--mtcnn-n 500] [--device auto] [--root DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _common import sync
from decgan.align import detect_faces
from decgan.batches import DeviceData
from decgan.core import get_device
from decgan.data import prepare
from decgan.synth_data import write_rafdb_tree


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="images in the RAF-DB-format tree")
    ap.add_argument("--mtcnn-n", type=int, default=500, help="images timed through MTCNN (a second tree of this size)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--device", default="auto", help="device for MTCNN and DeviceData")
    ap.add_argument("--root", default=None, help="where to write the trees (default: a temporary folder, removed after)")
    args = ap.parse_args(argv)
    dev = get_device(args.device)
    base = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="decgan-bench-"))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, CPUs {os.cpu_count()}, device {dev}, "
          f"load average {os.getloadavg()[0]:.1f} at start, trees under {base}")
    try:
        tree = base / f"rafdb{args.n}"
        if not (tree / "EmoLabel" / "list_patition_label.txt").is_file():
            t0 = time.perf_counter()
            write_rafdb_tree(tree, args.n, seed=0)
            print(f"wrote {args.n} images (aligned + original + annotation) in {time.perf_counter() - t0:.1f} s")
        rows = []
        for align in ("auto", "landmarks"):
            t0 = time.perf_counter()
            p = prepare("rafdb", tree, split="all", size=args.size, align=align, cache=False, device=dev, progress=False)
            dt = time.perf_counter() - t0
            rows.append((align, len(p), len(p.skipped), dt))
        if args.mtcnn_n > 0:
            small = base / f"rafdb{args.mtcnn_n}"
            if not (small / "EmoLabel" / "list_patition_label.txt").is_file():
                write_rafdb_tree(small, args.mtcnn_n, seed=0)
            detect_faces([np.zeros((64, 64, 3), np.uint8)], device=dev)   # load MTCNN's weights before timing
            t0 = time.perf_counter()
            p = prepare("rafdb", small, split="all", size=args.size, align="mtcnn", cache=False, device=dev, progress=False)
            dt = time.perf_counter() - t0
            rows.append(("mtcnn", len(p), len(p.skipped), dt))
            no_face = sum(r == "no face found by MTCNN" for _, r in p.skipped)
        print(f"\npreprocessing to {args.size}x{args.size} (images/s = listed images / wall time; skipped included)")
        print(f"{'align':<10} {'listed':>7} {'kept':>6} {'skipped':>8} {'seconds':>8} {'images/s':>9}")
        for align, kept, skipped, dt in rows:
            n = kept + skipped
            print(f"{align:<10} {n:>7} {kept:>6} {skipped:>8} {dt:>8.2f} {n / dt:>9.1f}")
        if args.mtcnn_n > 0:
            n = rows[-1][1] + rows[-1][2]
            print(f"MTCNN detection rate on the drawn faces: {n - no_face}/{n} = {(n - no_face) / max(n, 1):.1%}")

        # cache: build once, then time a cache hit and the move to the device
        p = prepare("rafdb", tree, split="all", size=args.size, align="auto", device=dev, progress=False)
        t0 = time.perf_counter()
        p = prepare("rafdb", tree, split="all", size=args.size, align="auto", device=dev, progress=False)
        t_hit = time.perf_counter() - t0
        assert p.meta["from_cache"]
        mb = p.images.numel() / 2**20
        t0 = time.perf_counter()
        dd = DeviceData(p, dev)
        sync(dev)
        t_dev = time.perf_counter() - t0
        g = torch.Generator(device=dev).manual_seed(0)
        dd.sample(16, generator=g); sync(dev)
        t0 = time.perf_counter()
        for _ in range(200): dd.sample(16, generator=g, balanced=True)
        sync(dev)
        t_b = (time.perf_counter() - t0) / 200
        print(f"\ncached set: {len(p)} images, {mb:.1f} MiB uint8; cache hit (listing + key + torch.load) {t_hit:.2f} s; "
              f"to {dev} (DeviceData) {t_dev:.2f} s; total {t_hit + t_dev:.2f} s")
        print(f"DeviceData.sample(16, balanced=True) on {dev}: {t_b * 1e3:.2f} ms per batch")
        print(f"load average {os.getloadavg()[0]:.1f} at the end (timings on a shared machine swing with it)")
    finally:
        if args.root is None: shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
