"""Why StarGAN's domain classifier D_cls did not learn the expressions, measured: the gradient penalty's reduction of
D's patch map (the official code's sum, or the per-image mean this package used first) x the learning rate (StarGAN's
1e-4, and 5e-4), each a StarGAN run at the main job's budget on the embedded CK+-format tree, with D_cls's accuracy
on held-out faces (test identities; watched, never chosen on) read from every run's losses.csv.

    .venv/bin/python bench/stargan_dcls.py --data-root runs/demo/synth --out runs/stargan_dcls --table figures/stargan_dcls

Runs are resumable (an existing run at its step is read, not retrained). One torch thread per process, bf16 (what
`make demo` probes for StarGAN here).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import pandas as pd

from decgan.checkpoint import load_checkpoint
from decgan.core import PRESETS, atomic_path
from decgan.train import SYNTH_SUBJECTS

#: variant -> (GP_PATCH_REDUCE, learning rate)
VARIANTS = {"sum_lr1e-4": ("sum", 1e-4), "sum_lr5e-4": ("sum", 5e-4), "mean_lr1e-4": ("mean", 1e-4),
            "mean_lr5e-4": ("mean", 5e-4)}
GOAL = 0.95


def train(variant: str, run: Path, *, data_root: Path, steps: int, extra: list[str]) -> Path:
    "Train (or resume) one variant to `steps`; returns its checkpoint."
    reduce, lr = VARIANTS[variant]
    ckpt = run / "checkpoint.pt"
    if ckpt.is_file() and load_checkpoint(ckpt)["step"] == steps: return ckpt
    run.mkdir(parents=True, exist_ok=True)
    flags = ["--model", "stargan", "--preset", "demo", "--lr", f"{lr:g}", "--steps", str(steps), "--precision", "bf16",
             "--data-root", str(data_root), "--out-dir", str(run), "--resume", "--log-every", "250", *extra]
    code = (f"import sys, decgan.stargan as s; s.GP_PATCH_REDUCE = {reduce!r}; "
            f"from decgan.train import main; sys.exit(main({flags!r}))")
    print(f"{variant}: training {steps} steps", flush=True)
    with open(run / "train.log", "a") as log:
        subprocess.run([sys.executable, "-c", code], check=True, stdout=log, stderr=subprocess.STDOUT)
    return ckpt


def curve(variant: str, run: Path) -> pd.DataFrame:
    "Held-out accuracy of D_cls at every logged step of a run."
    log = pd.read_csv(run / "losses.csv")
    reduce, lr = VARIANTS[variant]
    return pd.DataFrame(dict(variant=variant, gp_patch_reduce=reduce, lr=lr, step=log.step,
                             heldout_cls_acc=log["heldout/cls_acc"], heldout_cls_acc_peak=log["heldout/cls_acc_peak"],
                             batch_cls_acc=log["D/cls_real_acc"]))


def markdown(t: pd.DataFrame, *, steps: int, command: str) -> str:
    marks = sorted({s for s in t.step if s % max(steps // 9, 1) == 0} | {t.step.max()})
    head = "| GP reduction | lr | " + " | ".join(f"{s:,}" for s in marks) + f" | first step ≥ {GOAL} |"
    rows = [head, "|" + "---|" * (len(marks) + 3)]
    for v, g in t.groupby("variant", sort=False):
        g = g.set_index("step")
        hit = g.index[g.heldout_cls_acc_peak >= GOAL]
        cells = [f"{g.heldout_cls_acc_peak.get(s, float('nan')):.2f}" for s in marks]
        rows.append(f"| {g.gp_patch_reduce.iloc[0]} | {g.lr.iloc[0]:g} | " + " | ".join(cells) +
                    f" | {f'{hit[0]:,}' if len(hit) else 'never'} |")
    return ("# StarGAN's D_cls on held-out peak frames\n\n"
            "Accuracy of StarGAN's domain classifier on the peak frames (every expression but neutral) of the test "
            "identities, logged by the training loop (`heldout/cls_acc_peak`), by the gradient penalty's reduction of "
            "the patch map and the learning rate. A classifier stuck on the majority class (CK+'s first frames: half the "
            f"training faces are neutral) reads 0. StarGAN at the main job's budget ({steps:,} steps of 16), demo preset, "
            "bf16, seed 0.\n\n" + "\n".join(rows) + f"\n\ncommand: `{command}`\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, default=Path("runs/demo/synth"))
    ap.add_argument("--out", type=Path, default=Path("runs/stargan_dcls"))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--steps", type=int, default=PRESETS["demo"]["steps"])
    ap.add_argument("--extra", default=f"--synth-subjects {SYNTH_SUBJECTS['demo']}",
                    help="more flags for every training (the tests make tiny runs this way)")
    ap.add_argument("--table", type=Path, default=None, help="write PREFIX.csv and PREFIX.md")
    args = ap.parse_args(argv)
    runs = {v: args.out / v for v in args.variants}
    for v, run in runs.items(): train(v, run, data_root=args.data_root, steps=args.steps, extra=args.extra.split())
    t = pd.concat([curve(v, run) for v, run in runs.items()], ignore_index=True)
    md = markdown(t, steps=args.steps, command=".venv/bin/python bench/stargan_dcls.py " + " ".join(argv or sys.argv[1:]))
    print(md)
    if args.table is not None:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.table.with_suffix(".csv")) as tmp: t.to_csv(tmp, index=False)
        with atomic_path(args.table.with_suffix(".md")) as tmp: tmp.write_text(md)
        print(f"written: {args.table.with_suffix('.csv')}, {args.table.with_suffix('.md')}")


if __name__ == "__main__":
    main()
