"""How the results move with the training budget: DECGAN and its ablations trained on past `make demo`'s 1,500 steps,
a snapshot every few steps, every snapshot scored by the results table's judges on the same held-out translations.

    .venv/bin/python bench/budget_curve.py --out runs/budget --steps 1500 3000 4500 6000 \\
        --variants decgan shared_g --seed-from runs/demo --table figures/budget_curve --figures figures

Each variant trains in <out>/<variant> with `python -m decgan.train --preset demo --data-root <data> --steps MAX
--stop-at S --resume` for each snapshot step S (resume is bit for bit, so the 1,500-step snapshot *is* the
`make demo` run); a snapshot is <out>/<variant>/step_<S>.pt and is not trained again when it exists. StarGAN's
learning rate decays over the second half of its run, so a snapshot of a longer run is not a shorter run: each of its
budgets S is trained as a run of its own, <out>/<variant>/steps_<S>/checkpoint.pt. `--seed-from`
starts a variant from `make demo`'s finished run of the same name instead of from step 0. Then each variant's
snapshots are scored with `decgan.report.results_table` (the judges come from the cache beside the data) and one
table is printed and, with `--table PREFIX`, written as PREFIX.csv and PREFIX.md. One torch thread per process.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import pandas as pd
import torch

from decgan.checkpoint import load_checkpoint, load_model
from decgan.core import atomic_path
from decgan.figures import fig5_compare
from decgan.report import markdown_table, results_table

RUNS_TABLE = Path(__file__).resolve().parent.parent / "tools" / "demo_runs.tsv"


def flags_of(params: str) -> list[str]:
    "`key=value ...` of tools/demo_runs.tsv as python -m decgan.train flags (booleans as --flag / --no-flag)."
    out = []
    for kv in params.split():
        k, v = kv.split("=", 1)
        if k == "budget": continue   # the main job's budget factor, not a training flag
        flag = "--" + k.replace("_", "-")
        out += [flag] if v == "True" else [f"--no-{k.replace('_', '-')}"] if v == "False" else [flag, v]
    return out


def read_runs(path: Path = RUNS_TABLE) -> dict:
    "The main job's runs on the CK+-format tree, from tools/demo_runs.tsv: {run: (train flags, name in the table)}."
    runs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"): continue
        run, _part, data, title, params = line.split("\t")
        if data == "ckplus": runs[run] = (flags_of(params), title)
    return runs


#: variant -> (flags of python -m decgan.train, its name in make demo's table): the one list, in tools/demo_runs.tsv
VARIANTS = read_runs()


#: models whose learning rate follows cfg.steps (StarGAN decays linearly over the second half: decgan.stargan.stargan_lr):
#: a snapshot at S of a longer run is not a run of S steps, so each budget is trained as its own run
STEP_SCHEDULED = ("stargan",)


def step_scheduled(flags: list[str]) -> bool:
    "Whether the training flags name a model whose schedule depends on its total step count."
    return any(a == "--model" and b in STEP_SCHEDULED for a, b in zip(flags, flags[1:]))


def train_until(variant: str, run: Path, step: int, args: list[str], *, what: str) -> None:
    "`python -m decgan.train --preset demo --out-dir <run> --resume <args>`, logged to <run>/train.log; it must end at `step`."
    cmd = [sys.executable, "-m", "decgan.train", "--preset", "demo", "--out-dir", str(run), "--resume", *args]
    t0 = time.perf_counter()
    print(f"{variant}: {what}: {' '.join(cmd[1:])}", flush=True)
    with open(run / "train.log", "a") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    got = load_checkpoint(run / "checkpoint.pt")["step"]
    if got != step: raise SystemExit(f"{variant}: expected a checkpoint at step {step}, found step {got} ({run / 'train.log'})")
    print(f"{variant}: {what} took {time.perf_counter() - t0:.0f} s", flush=True)


def train_separately(variant: str, steps: list[int], *, out: Path, data_root: Path, seed_from: Path | None,
                     extra: list[str] = (), flags: list[str]) -> dict:
    "{step: checkpoint} with one run of exactly S steps per budget S in <out>/<variant>/steps_<S> (resumed when cut short)."
    snaps = {}
    for s in steps:
        run = out / variant / f"steps_{s}"
        run.mkdir(parents=True, exist_ok=True)
        ckpt = run / "checkpoint.pt"
        src = seed_from / variant / "checkpoint.pt" if seed_from is not None else None
        if not ckpt.is_file() and src is not None and src.is_file() and load_checkpoint(src)["config"].steps == s:
            shutil.copyfile(src, ckpt)
            print(f"{variant}: {s} steps from {src}")
        if not ckpt.is_file() or load_checkpoint(ckpt)["step"] != s:
            train_until(variant, run, s, ["--data-root", str(data_root), "--steps", str(s), *flags, *extra],
                        what=f"a run of {s} steps")
        snaps[s] = ckpt
    return snaps


def train_snapshots(variant: str, steps: list[int], *, out: Path, data_root: Path, seed_from: Path | None,
                    extra: list[str] = (), flags: list[str] | None = None) -> dict:
    "{step: snapshot path} for `variant`, training (and resuming) only what is missing."
    flags = VARIANTS[variant][0] if flags is None else flags
    if step_scheduled(flags):
        return train_separately(variant, steps, out=out, data_root=data_root, seed_from=seed_from, extra=extra, flags=flags)
    run = out / variant
    run.mkdir(parents=True, exist_ok=True)
    ckpt = run / "checkpoint.pt"
    if seed_from is not None and not ckpt.exists() and (seed_from / variant / "checkpoint.pt").is_file():
        src = seed_from / variant / "checkpoint.pt"
        step = load_checkpoint(src)["step"]
        if step not in steps:
            raise SystemExit(f"--seed-from {src}: its step {step} is not one of the snapshot steps {steps}")
        shutil.copyfile(src, ckpt)
        shutil.copyfile(src, run / f"step_{step}.pt")
        print(f"{variant}: starts from {src} (step {step})")
    snaps = {}
    for s in steps:
        snap = run / f"step_{s}.pt"
        if not snap.is_file():
            train_until(variant, run, s, ["--data-root", str(data_root), "--steps", str(max(steps)), "--stop-at", str(s),
                                          *flags, *extra], what=f"training to step {s}")
            with atomic_path(snap) as tmp: shutil.copyfile(run / "checkpoint.pt", tmp)
        snaps[s] = snap
    return snaps


def score(variant: str, snaps: dict, *, out: Path, n_boot: int, judge_epochs: int = 60, figure: Path | None = None
          ) -> pd.DataFrame:
    "One row per snapshot: the results table's metrics with their intervals; `figure`: Fig 5's layout, one model per snapshot."
    names = {f"{VARIANTS[variant][1]} @ {s}": p for s, p in snaps.items()}
    res = results_table(names, out_dir=out / f"eval_{variant}", references=False, n_boot=n_boot,
                        judge_epochs=judge_epochs, log=None)
    if figure is not None:
        models = {f"{s:,} steps": load_model(p)[0] for s, p in snaps.items()}
        footer = "\n".join(f"{VARIANTS[variant][1]} at {s:,} steps: {p}" for s, p in snaps.items())
        fig5_compare(models, res.eval_set, figure, judges=res.judges, footer=footer + "\ncommand: bench/budget_curve.py",
                     title=f"{VARIANTS[variant][1]} against the training budget")     # written atomically
    t = res.table[res.table.kind == "model"].copy()
    t.insert(0, "variant", VARIANTS[variant][1])
    return t


def markdown(table: pd.DataFrame) -> str:
    "The curve as a markdown table (decgan.report's table writer), metrics with their intervals."
    ci = lambda m, d=3: (lambda r: f"{r[m]:.{d}f} [{r[m + '_lo']:.{d}f}, {r[m + '_hi']:.{d}f}]")
    return markdown_table(table, {"run": lambda r: str(r.variant), "steps": lambda r: f"{int(r.step):,}",
                                  "images seen": lambda r: f"{int(r.images_seen):,}",
                                  "expression acc.": ci("expression_accuracy"), "identity sim.": ci("identity_similarity"),
                                  "SSIM": ci("ssim"), "FID (judge features)": lambda r: f"{r.fid:.1f}"})


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/budget"))
    ap.add_argument("--steps", type=int, nargs="+", default=[1500, 3000, 4500, 6000])
    ap.add_argument("--variants", nargs="+", default=["decgan", "shared_g"],
                    help=f"of {', '.join(VARIANTS)}; NAME:S stops that variant at step S (e.g. shared_g:3000)")
    ap.add_argument("--data-root", type=Path, default=Path("runs/demo/synth"),
                    help="the embedded synthetic tree (make demo writes it; written here when missing)")
    ap.add_argument("--seed-from", type=Path, default=None, help="make demo's output folder, e.g. runs/demo")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--judge-epochs", type=int, default=60, help="as the figures chapter's (the cached judges are reused)")
    ap.add_argument("--extra", default="", help="more flags for python -m decgan.train (the tests make tiny runs this way)")
    ap.add_argument("--table", type=Path, default=None, help="write PREFIX.csv and PREFIX.md")
    ap.add_argument("--figures", type=Path, default=None,
                    help="folder for budget_<variant>.png: Fig 5's layout with one column group per snapshot")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    steps = sorted(set(args.steps))
    rows = []
    for spec in args.variants:
        v, _, cap = spec.partition(":")
        if v not in VARIANTS: ap.error(f"unknown variant {v!r}; expected one of {', '.join(VARIANTS)}")
        mine = [s for s in steps if not cap or s <= int(cap)]
        snaps = train_snapshots(v, mine, out=args.out, data_root=args.data_root, seed_from=args.seed_from,
                                extra=args.extra.split())
        fig = args.figures / f"budget_{v}.png" if args.figures is not None else None
        if fig is not None: fig.parent.mkdir(parents=True, exist_ok=True)
        rows.append(score(v, snaps, out=args.out, n_boot=args.n_boot, judge_epochs=args.judge_epochs, figure=fig))
    table = pd.concat(rows, ignore_index=True)
    md = markdown(table)
    print(md)
    if args.table is not None:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        cols = ["variant", "step", "images_seen", "n", "n_subjects", "expression_accuracy", "expression_accuracy_lo", "expression_accuracy_hi",
                "identity_similarity", "identity_similarity_lo", "identity_similarity_hi", "ssim", "ssim_lo", "ssim_hi",
                "psnr", "fid", "kid", "checkpoint", "expression_judge_accuracy"]
        with atomic_path(args.table.with_suffix(".csv")) as tmp:
            table[[c for c in cols if c in table.columns]].to_csv(tmp, index=False)
        with atomic_path(args.table.with_suffix(".md")) as tmp:
            tmp.write_text("# Results against the training budget (demo preset, embedded synthetic data)\n\n"
                           f"Scored like `figures/results.md` (same judges, the same {int(table.n.iloc[0])} translations of "
                           f"{int(table.n_subjects.iloc[0])} unseen identities, 95% bootstrap intervals over identities).\n\n" + md +
                           f"\n\ncommand: `.venv/bin/python bench/budget_curve.py {' '.join(argv or sys.argv[1:])}`\n")
        print(f"written: {args.table.with_suffix('.csv')}, {args.table.with_suffix('.md')}")


if __name__ == "__main__":
    main()
