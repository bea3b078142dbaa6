"""Time of `decgan synthesize` on this machine: per 512x512 photo, split into its stages, and per face over a folder.

    .venv/bin/python bench/synthesize_speed.py                          # untrained demo-preset DECGAN, CPU
    .venv/bin/python bench/synthesize_speed.py --checkpoint runs/demo/decgan/checkpoint.pt --photos 100
    .venv/bin/python bench/synthesize_speed.py --preset paper --repeats 5 --photos 20
    .venv/bin/python bench/synthesize_speed.py --threads 1 2                # torch CPU threads, one pass each

Part 1 times one 512x512 photo (`skimage.data.astronaut()`) `--repeats` times after a warm-up call (the model is
cached after the first call, as in a folder run): detection (MTCNN), alignment, the networks (E2 on the source,
E1 + G1), paste-back, and the whole `synthesize` call; it prints the median of each.
Part 2 writes `--photos` different 512x512 photos of her (random crop around her face, zoom, flip and
brightness of the original) into a temporary folder and runs the command on the folder in-process (`decgan.cli.main`: reading,
detection, synthesis, paste-back and writing PNGs), then prints wall seconds per photo and per face written.
Both parts run once per `--threads` value (torch's CPU threads; default: torch's own choice), in one process.
Speed does not depend on training, so an untrained checkpoint of the preset is made when none is given.
Timings on shared cores swing by 2-5x: compare numbers of one run only.
"""
import argparse
import contextlib
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data as skdata

from _common import sync
from decgan.align import align_face
from decgan.cli import main as cli_main
from decgan.checkpoint import save_model
from decgan.core import Config, get_device
from decgan.synthesize import face_mask, find_faces, load_generator, paste_back, synthesize, to_input, to_uint8


def untrained(folder: Path, preset: str) -> Path:
    cfg = Config.preset_of(preset)
    torch.manual_seed(0)
    return save_model(folder / f"untrained-{preset}.pt", cfg)


def stage_times(photo: np.ndarray, checkpoint, device, repeats: int) -> dict:
    "Median seconds of each stage of one `synthesize` call on `photo`, and of the whole call."
    net, cfg = load_generator(checkpoint, device=device)
    dev = next(net.parameters()).device
    synthesize(photo, to="happiness", checkpoint=checkpoint, device=device)          # warm-up (detector, caches)
    rows = {k: [] for k in ("detect", "align", "networks", "paste_back", "synthesize (total)")}
    target = torch.eye(cfg.n_expressions, device=dev)[4]
    for _ in range(repeats):
        t0 = time.perf_counter(); faces = find_faces(photo, device=dev, size=cfg.image_size)
        t1 = time.perf_counter(); aligned, m = align_face(photo, faces[0].landmarks, size=cfg.image_size)
        t2 = time.perf_counter()
        with torch.inference_mode():
            x = to_input(aligned[None], channels=cfg.channels, device=dev)
            l = 0.0 * net.expression_of(x) + target
            out = to_uint8(net.translate(x, l))[0]
        sync(dev)
        t3 = time.perf_counter(); paste_back(photo, out, m, mask=face_mask(cfg.image_size))
        t4 = time.perf_counter(); synthesize(photo, to="happiness", checkpoint=checkpoint, device=device)
        sync(dev); t5 = time.perf_counter()
        for k, v in zip(rows, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)): rows[k].append(v)
    return {k: statistics.median(v) for k, v in rows.items()}


def variants(photo: np.ndarray, n: int, *, face_box, seed: int = 0):
    "`n` different 512x512 photos made from `photo`: random crop (always holding `face_box`) and zoom, flip, brightness."
    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    fx0, fy0, fx1, fy1 = (int(v) for v in face_box)
    for i in range(n):
        side = int(rng.uniform(0.6, 1.0) * min(h, w))
        x0 = rng.integers(max(0, fx1 - side), min(fx0, w - side) + 1)
        y0 = rng.integers(max(0, fy1 - side), min(fy0, h - side) + 1)
        im = Image.fromarray(photo[y0:y0 + side, x0:x0 + side]).resize((512, 512), Image.Resampling.BILINEAR)
        a = np.asarray(im).astype(np.float32) * rng.uniform(0.7, 1.2)
        a = np.clip(a, 0, 255).astype(np.uint8)
        yield a[:, ::-1] if rng.random() < 0.5 else a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="a DECGAN checkpoint (default: an untrained one of --preset)")
    ap.add_argument("--preset", default="demo", choices=("demo", "paper"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--photos", type=int, default=100)
    ap.add_argument("--threads", type=int, nargs="*", default=[], help="torch CPU threads to try (default: torch's choice)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="decgan-bench-"))
    ckpt = Path(a.checkpoint) if a.checkpoint else untrained(tmp, a.preset)
    _, cfg = load_generator(ckpt, device=a.device)
    dev = get_device(a.device)
    print(f"device {dev}, checkpoint {ckpt.name}: {cfg.model}, preset {cfg.preset} ({cfg.image_size}px, width {cfg.width})")
    photo = skdata.astronaut()
    box = find_faces(photo, device=dev)[0].box
    folder = tmp / "photos"
    folder.mkdir()
    for i, im in enumerate(variants(photo, a.photos, face_box=box)): Image.fromarray(im).save(folder / f"p{i:03d}.png")

    for threads in a.threads or [torch.get_num_threads()]:
        torch.set_num_threads(threads)
        st = stage_times(photo, ckpt, a.device, a.repeats)
        print(f"\n[{threads} torch thread(s)] one 512x512 photo, median of {a.repeats} (model cached, detector warm):")
        for k, v in st.items(): print(f"  {k:<20} {v * 1000:8.1f} ms")
        if not a.photos: continue
        out = tmp / f"out-{threads}"
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()) as buf, contextlib.redirect_stderr(io.StringIO()):
            code = cli_main(["synthesize", str(folder), "--to", "happy", "--checkpoint", str(ckpt), "-o", str(out),
                             "--device", a.device, "--threads", str(threads)])
        wall = time.perf_counter() - t0
        summary = json.loads(buf.getvalue())
        faces = sum(p["faces_found"] for p in summary["photos"])
        print(f"[{threads} torch thread(s)] folder of {a.photos} photos (512x512 PNG) through `decgan synthesize FOLDER "
              f"--to happy` in-process (exit code {code}; reading, detection, synthesis, paste-back, writing):")
        print(f"  {len(summary['written'])} written, {len(summary['failed'])} without a face; {faces} faces")
        print(f"  {wall:.1f} s in all: {wall / a.photos:.2f} s per photo, {wall / max(faces, 1):.2f} s per face")


if __name__ == "__main__":
    main()
