"""Speed of the synthetic face renderer and of the two tree writers (decgan.synth), on one core.

Usage:  .venv/bin/python bench/synth_speed.py [--faces 2048] [--batch 64] [--ck-subjects 100] [--raf-images 5000]
                                               [--quick]

Prints, for 64x64 lab-flavour faces of random people and expressions: faces per second rendered one at a time
(`render_face`) and in batches (`render_faces`), with the default 2x supersampling and without it (ss=1); then
the time to write a CK+ tree of 100 subjects and a RAF-DB tree of 5,000 images with the default settings.
Wall-clock and process CPU time are both reported: on a shared machine the CPU time is the steadier number. A
reference NumPy operation is timed first, so runs on differently loaded machines can be compared.
Threads are pinned to one (OMP/MKL/OpenBLAS) before NumPy is imported; the renderer itself is single-threaded.
"""
import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from decgan.synth import render_face, render_faces
from decgan.synth_data import write_ckplus_tree, write_rafdb_tree


def timed(fn):
    "Run fn(); return (result, wall seconds, CPU seconds)."
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def reference_op_us(reps: int = 2000) -> float:
    "Microseconds per multiply of a 128x128 float32 array (a yardstick for the machine's current speed)."
    a = np.ones((128, 128), np.float32)
    _, _, cpu = timed(lambda: [a * 2.0 for _ in range(reps)])
    return cpu / reps * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=2048, help="faces per speed measurement")
    ap.add_argument("--batch", type=int, default=64, help="batch size for render_faces")
    ap.add_argument("--ck-subjects", type=int, default=100)
    ap.add_argument("--raf-images", type=int, default=5000)
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the script runs")
    a = ap.parse_args()
    if a.quick:
        a.faces, a.ck_subjects, a.raf_images = 128, 4, 40
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 1_000_000, a.faces).tolist()
    exps = rng.integers(0, 7, a.faces).tolist()
    ts = rng.uniform(0, 1, a.faces).tolist()
    print(f"reference: 128x128 float32 multiply takes {reference_op_us():.2f} us (CPU)")
    render_faces(ids[:8], exps[:8], ts[:8])                      # warm-up (imports, caches)
    for ss in (2, 1):
        n1 = min(a.faces, 256)
        _, w, c = timed(lambda: [render_face(i, e, t, ss=ss) for i, e, t in zip(ids[:n1], exps[:n1], ts[:n1])])
        print(f"render_face  64x64 ss={ss}: {n1 / w:7.0f} faces/s wall, {n1 / c:7.0f} faces/s CPU  ({n1} faces, one per call)")
        b = a.batch
        _, w, c = timed(lambda: [render_faces(ids[k:k + b], exps[k:k + b], ts[k:k + b], ss=ss)
                                 for k in range(0, a.faces, b)])
        print(f"render_faces 64x64 ss={ss}: {a.faces / w:7.0f} faces/s wall, {a.faces / c:7.0f} faces/s CPU  "
              f"({a.faces} faces, batches of {b})")
    work = Path(tempfile.mkdtemp(prefix="synth_bench_"))
    try:
        root, w, c = timed(lambda: write_ckplus_tree(work / "ck", a.ck_subjects))
        n = sum(1 for _ in root.rglob("*.png"))
        print(f"write_ckplus_tree({a.ck_subjects} subjects): {w:.1f} s wall, {c:.1f} s CPU, {n} frames of 160x122 "
              f"({n / c:.0f} frames/s CPU)")
        root, w, c = timed(lambda: write_rafdb_tree(work / "raf", a.raf_images))
        print(f"write_rafdb_tree({a.raf_images} images): {w:.1f} s wall, {c:.1f} s CPU "
              f"({a.raf_images / c:.0f} images/s CPU; each an original of 112-160 px and a 100x100 aligned crop)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
