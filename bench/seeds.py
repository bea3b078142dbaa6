"""The headline rows over seeds (issue 23): DECGAN, IcGAN, StarGAN and the three ablations of what the paper adds, each
trained with several seeds at the main job's budget in images seen (each model with its tuned settings:
decgan.core.MODEL_SETTINGS, figures/tuning.md), all scored on the demo tree's test identities by one set of judges
(the shipped ones where they match: tools/ship_judges.py), and summarised by `decgan.report.seeded_summary`: mean,
seed-to-seed spread, 95% intervals that resample seeds and identities, and each row's paired difference to DECGAN.

    .venv/bin/python bench/seeds.py --data-root runs/demo/synth --out runs/seeds --runs decgan no_assoc    # a lane
    .venv/bin/python bench/seeds.py --data-root runs/demo/synth --out runs/seeds --table figures/seeds    # all, scored

The rows are tools/demo_runs.tsv's runs on the CK+-format tree (not the 2x-budget one). Runs are resumable and
trained only when missing; one torch thread per process; each model in the precision choose_precision picks.
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
from budget_curve import model_of, read_runs, train_until  # noqa: E402

from decgan.checkpoint import load_checkpoint  # noqa: E402
from decgan.core import PRESETS, Config, atomic_path, get_device  # noqa: E402
from decgan.report import results_table, seeded_summary  # noqa: E402
from decgan.train import SYNTH_SUBJECTS, choose_precision  # noqa: E402

ROWS = ("decgan", "icgan", "stargan", "no_assoc", "no_pool", "shared_g")
SEEDS = (0, 1, 2)


def train_row(run: str, seeds, *, out: Path, data_root: Path, images: int, extra: list[str], precision: dict) -> dict:
    "{seed: checkpoint} of one row, training what is missing."
    flags, _ = read_runs()[run]
    model = model_of(flags)
    steps = max(1, images // Config.preset_of("demo", model=model).batch_size)
    got = {}
    for s in seeds:
        d = out / run / f"seed_{s}"
        d.mkdir(parents=True, exist_ok=True)
        ckpt = d / "checkpoint.pt"
        if not ckpt.is_file() or load_checkpoint(ckpt)["step"] != steps:
            train_until(f"{run} seed {s}", d, steps, ["--data-root", str(data_root), "--steps", str(steps), *flags,
                                                      "--seed", str(s), "--precision", precision[model], *extra],
                        what=f"{steps} steps")
        got[s] = ckpt
    return got


def finished(run: str, seeds, *, out: Path, images: int) -> dict:
    "{seed: checkpoint} of the seeds of `run` whose runs are finished (at the row's step), training nothing."
    model = model_of(read_runs()[run][0])
    steps = max(1, images // Config.preset_of("demo", model=model).batch_size)
    got = {}
    for s in seeds:
        ckpt = out / run / f"seed_{s}" / "checkpoint.pt"
        if ckpt.is_file() and load_checkpoint(ckpt)["step"] == steps: got[s] = ckpt
    return got


def write_table(t: pd.DataFrame, budgets: dict, prefix: Path, *, command: str, judges: str) -> None:
    titles = read_runs()
    f = lambda r: f"{r['mean']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}] ±{r['sd_seeds']:.3f}"
    d = lambda r: "" if pd.isna(r.get("diff")) else f"{r['diff']:+.3f} [{r['diff_lo']:+.3f}, {r['diff_hi']:+.3f}] {r['verdict']}"
    lines = ["| row | images seen (steps × batch) | seeds | metric | mean [95% over seeds and identities] ±sd of seeds | − DECGAN, paired |",
             "|---|---|---|---|---|---|"]
    for r in t.to_dict("records"):
        lines.append(f"| {titles[r['run']][1]} | {budgets[r['run']]} | {r['n_seeds']} | {r['metric']} | {f(r)} | {d(r)} |")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(prefix.with_suffix(".csv")) as tmp: t.to_csv(tmp, index=False)
    with atomic_path(prefix.with_suffix(".md")) as tmp:
        tmp.write_text("# The headline rows over seeds\n\n"
                       "Each row trained with the seeds its `seeds` column counts (0, 1, ...) at the main job's "
                       f"budget, scored on {int(t.n_identities.iloc[0])} test identities of the demo tree. Intervals resample "
                       "seeds and identities; differences are paired by seed and identity; ±: the standard deviation of the "
                       f"seeds' means.\n\nJudges: {judges}\n\n" + "\n".join(lines) + f"\n\ncommand: `{command}`\n")
    print(f"written: {prefix.with_suffix('.csv')}, {prefix.with_suffix('.md')}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, default=Path("runs/demo/synth"))
    ap.add_argument("--out", type=Path, default=Path("runs/seeds"))
    ap.add_argument("--runs", nargs="+", default=list(ROWS), choices=ROWS)
    ap.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    ap.add_argument("--images", type=int, default=PRESETS["demo"]["steps"] * PRESETS["demo"]["batch_size"])
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--judge-epochs", type=int, default=60)
    ap.add_argument("--extra", default=f"--synth-subjects {SYNTH_SUBJECTS['demo']}",
                    help="more flags for every training (the tests make tiny runs this way)")
    ap.add_argument("--table", type=Path, default=None, help="score every row and write PREFIX.csv/.md")
    ap.add_argument("--no-train", action="store_true",
                    help="score only the seeds whose runs are finished (a row keeps the seeds it has); train nothing")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    models = sorted({model_of(read_runs()[r][0]) for r in args.runs})
    precision = {m: choose_precision(Config.preset_of("demo", model=m), get_device("auto"))[0] for m in models}
    if args.no_train:
        ckpts = {r: finished(r, args.seeds, out=args.out, images=args.images) for r in args.runs}
        ckpts = {r: c for r, c in ckpts.items() if c}
    else:
        ckpts = {r: train_row(r, args.seeds, out=args.out, data_root=args.data_root, images=args.images,
                              extra=args.extra.split(), precision=precision) for r in args.runs}
    if args.table is None: return
    named = {f"{r} seed {s}": p for r, by_seed in ckpts.items() for s, p in by_seed.items()}
    res = results_table(named, out_dir=args.out / "eval", references=False, n_boot=200, judge_epochs=args.judge_epochs, log=None)
    rows = {r: [res.evaluations[f"{r} seed {s}"].rows for s in by_seed] for r, by_seed in ckpts.items()}
    t = seeded_summary(rows, reference=next(iter(ckpts)), n_boot=args.n_boot)
    budgets = {}
    for r, by_seed in ckpts.items():
        ck = load_checkpoint(next(iter(by_seed.values())))
        budgets[r] = f"{ck['step'] * ck['config'].batch_size:,} ({ck['step']:,} × {ck['config'].batch_size})"
    write_table(t, budgets, args.table, command=".venv/bin/python bench/seeds.py " + " ".join(argv or sys.argv[1:]),
                judges=res.judges.checksums())


if __name__ == "__main__":
    main()
