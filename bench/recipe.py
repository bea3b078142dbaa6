"""Which training recipe converges inside the main job's budget: DECGAN (demo preset) trained with each recipe of
`RECIPES`, a snapshot every few steps, every snapshot scored like the results table, with the generator's moving
average (EMA) and with its last trained weights side by side when the run keeps an average.

    .venv/bin/python bench/recipe.py --out runs/recipe --steps 1500 3000 4500 6000 --table figures/recipe_curve

Each recipe trains in <out>/<recipe> through bench/budget_curve.py's `train_snapshots` (`python -m decgan.train
--stop-at S --resume`, bit for bit as one run); existing snapshots are scored, not retrained. The judges are those
of the data tree (cached beside it), as for the results table. One torch thread per process.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from budget_curve import train_snapshots  # noqa: E402

from decgan.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from decgan.core import atomic_path  # noqa: E402
from decgan.report import markdown_table, results_table  # noqa: E402

#: recipe -> (its flags for python -m decgan.train on top of the demo preset, what it is)
RECIPES = {
    "ema": (["--detach-label", "--ema-beta", "0.999", "--precision", "bf16"], "l detached, EMA 0.999 of G"),
    "ema_r1": (["--detach-label", "--ema-beta", "0.999", "--r1-gamma", "1", "--precision", "bf16"],
               "l detached, EMA 0.999, R1 (gamma 1) on D"),
    "ema_fp32": (["--detach-label", "--ema-beta", "0.999", "--precision", "fp32"], "l detached, EMA 0.999, float32"),
    "attached": (["--no-detach-label", "--ema-beta", "0.999", "--precision", "bf16"],
                 "l not detached (G's losses train E2, the paper's end to end), EMA 0.999"),
    "attached_fp32": (["--no-detach-label", "--ema-beta", "0.999", "--precision", "fp32"],
                      "l not detached, EMA 0.999, float32 (the bf16 check of the demo's recipe)"),
    "attached_lr2e-4": (["--no-detach-label", "--ema-beta", "0.999", "--precision", "bf16", "--lr", "2e-4"],
                        "l not detached, EMA 0.999, the paper's learning rate 2e-4 (the demo preset's is 5e-4)"),
    "attached_ttur": (["--no-detach-label", "--ema-beta", "0.999", "--precision", "bf16", "--lr", "2.5e-4",
                       "--lr-d", "5e-4"], "l not detached, EMA 0.999, two timescales: G and encoders 2.5e-4, D 5e-4"),
}


def without_average(snapshot: Path) -> Path:
    "A copy of `snapshot` whose weight average is dropped, so evaluation scores the last trained weights."
    raw = snapshot.with_name(snapshot.stem + "_last.pt")
    if not raw.is_file():
        ck = load_checkpoint(snapshot)
        with atomic_path(raw) as tmp:
            save_checkpoint(tmp, config=ck["config"], step=ck["step"], state={**ck["state"], "ema": None})
    return raw


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/recipe"))
    ap.add_argument("--steps", type=int, nargs="+", default=[1500, 3000, 4500, 6000])
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), help=f"of {', '.join(RECIPES)}; NAME:S stops at S")
    ap.add_argument("--data-root", type=Path, default=Path("runs/demo/synth"))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--judge-epochs", type=int, default=60)
    ap.add_argument("--extra", default="", help="more flags for every training (the tests make tiny runs this way)")
    ap.add_argument("--table", type=Path, default=None, help="write PREFIX.csv and PREFIX.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    runs, what = {}, {}
    for spec in args.recipes:
        name, _, cap = spec.partition(":")
        if name not in RECIPES: ap.error(f"unknown recipe {name!r}; expected one of {', '.join(RECIPES)}")
        steps = [s for s in sorted(set(args.steps)) if not cap or s <= int(cap)]
        snaps = train_snapshots(name, steps, out=args.out, data_root=args.data_root, seed_from=None,
                                flags=["--model", "decgan", *RECIPES[name][0]], extra=args.extra.split())
        for s, path in snaps.items():
            averaged = load_checkpoint(path)["state"].get("ema") is not None
            runs[f"{name} @ {s}"] = path
            what[f"{name} @ {s}"] = (name, s, "EMA" if averaged else "last")
            if averaged:
                runs[f"{name} @ {s} (last)"] = without_average(Path(path))
                what[f"{name} @ {s} (last)"] = (name, s, "last")
    res = results_table(runs, out_dir=args.out / "eval", references=False, n_boot=args.n_boot,
                        judge_epochs=args.judge_epochs, log=None)
    t = res.table[res.table.kind == "model"].copy()
    t.insert(0, "recipe", [what[m][0] for m in t.model])
    t.insert(1, "weights", [what[m][2] for m in t.model])
    t["what"] = [RECIPES[r][1] for r in t.recipe]
    ci = lambda m, d=3: (lambda r: f"{r[m]:.{d}f} [{r[m + '_lo']:.{d}f}, {r[m + '_hi']:.{d}f}]")
    md = markdown_table(t, {"recipe": lambda r: f"{r.recipe} ({r.what})", "weights": lambda r: r.weights,
                            "steps": lambda r: f"{int(r.step):,}", "expression acc.": ci("expression_accuracy"),
                            "identity sim.": ci("identity_similarity"), "SSIM": ci("ssim"),
                            "FID (judge features)": lambda r: f"{r.fid:.1f}"})
    print(md)
    if args.table is not None:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        cols = ["recipe", "weights", "what", "step", "images_seen", "n", "n_subjects", "expression_accuracy",
                "expression_accuracy_lo", "expression_accuracy_hi", "identity_similarity", "identity_similarity_lo",
                "identity_similarity_hi", "ssim", "ssim_lo", "ssim_hi", "psnr", "fid", "checkpoint"]
        with atomic_path(args.table.with_suffix(".csv")) as tmp:
            t[[c for c in cols if c in t.columns]].to_csv(tmp, index=False)
        with atomic_path(args.table.with_suffix(".md")) as tmp:
            tmp.write_text("# DECGAN's training recipes against the budget (demo preset, embedded CK+-format tree)\n\n"
                           f"Scored like `figures/results.md`: {int(t.n.iloc[0])} translations of "
                           f"{int(t.n_subjects.iloc[0])} unseen identities, 95% bootstrap intervals over identities. "
                           "`EMA` rows use the generator's moving average, `last` rows the last trained weights of the "
                           "same snapshot.\n\n" + md +
                           f"\n\ncommand: `.venv/bin/python bench/recipe.py {' '.join(argv or sys.argv[1:])}`\n")
        print(f"written: {args.table.with_suffix('.csv')}, {args.table.with_suffix('.md')}")


if __name__ == "__main__":
    main()
