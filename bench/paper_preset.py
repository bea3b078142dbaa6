"""The paper's own configuration, trained (issue 25): DECGAN with `--preset paper` (64x64, the widths of Tables 1-2,
batch 16) on the embedded CK+-format tree, with the paper's settings as they are and with the demo's recipe, a snapshot
every 1,500 steps, each snapshot scored like the results table with its last weights and with the generator's EMA.

    .venv/bin/python bench/paper_preset.py --parallel --table figures/paper_preset --plot figures/paper_preset.png \\
        --figures figures        # both runs side by side (one per core, or both on one GPU), scored, drawn, written

or lane by lane (each continues where it stopped; then the table from what they trained):

    .venv/bin/python bench/paper_preset.py --out runs/paper_preset --runs paper      # a lane (one per core, or a GPU)
    .venv/bin/python bench/paper_preset.py --out runs/paper_preset --runs recipe     # the other lane
    .venv/bin/python bench/paper_preset.py --out runs/paper_preset --no-train --table figures/paper_preset \\
        --plot figures/paper_preset.png --figures figures                             # scored, drawn, written

The runs (RUNS): `paper` trains with the paper's settings (Adam 2e-4, betas 0.5/0.999); its EMA of the generator
(0.999) is kept beside the weights for evaluation only and does not change training. `recipe` trains with the recipe
the demo preset found at 32 px and the fair race's search confirmed (bench/tuning.py, figures/tuning.md): lr 5e-4 and
the EMA. Each run is one resumable run of `--steps` max (`--stop-at S --resume`, bit for bit as one run: DECGAN's
schedule does not read its budget), kept as <out>/<run>/step_<S>.pt with the CPU seconds that made it; rerunning
continues what is missing and scores only new snapshots. `--no-train` writes the table (every snapshot, both weights,
with images seen and CPU seconds), the curve (decgan.figures.plot_budget_curves) and Figs 3 and 4 at 64 px from the
best snapshot (the highest mean of expression accuracy, identity similarity and SSIM).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from budget_curve import PLATEAU_METRICS, markdown, plateau_index, score_point, train_point  # noqa: E402
from recipe import without_average  # noqa: E402

from decgan.checkpoint import load_model  # noqa: E402
from decgan.core import atomic_path  # noqa: E402
from decgan.evaluate import build_eval_set, judges_for  # noqa: E402
from decgan.figures import fig3_paired, fig4_transfer, plot_budget_curves  # noqa: E402
from decgan.train import SYNTH_SUBJECTS, synth_tree  # noqa: E402

#: run -> (its flags for python -m decgan.train on top of --preset paper, what it is)
RUNS = {
    "paper": (["--ema-beta", "0.999"], "the paper's settings (lr 2e-4); EMA 0.999 kept for evaluation only"),
    "recipe": (["--lr", "5e-4", "--ema-beta", "0.999"], "the demo's recipe: lr 5e-4, EMA 0.999"),
}
STEPS = (1500, 3000, 4500, 6000, 7500, 9000)


def snapshot(out: Path, run: str, s: int) -> Path:
    return out / run / f"step_{s}.pt"


def scored(run: str, snaps: dict, *, out: Path, n_boot: int, judge_epochs: int) -> pd.DataFrame:
    "Both weights of every snapshot of `run`: the EMA (`weights` EMA) and the last trained ones (`last`)."
    rows = []
    for s, p in snaps.items():
        for weights, path in (("EMA", p), ("last", without_average(p))):
            r = score_point(run, s, path, out=out, n_boot=n_boot, judge_epochs=judge_epochs,
                            title=f"{run} ({weights})")
            rows.append(r.assign(run=run, weights=weights, what=RUNS[run][1]))
    return pd.concat(rows, ignore_index=True)


def best(table: pd.DataFrame) -> pd.Series:
    "The snapshot (row) with the highest mean of the plateau metrics."
    return table.loc[table[list(PLATEAU_METRICS)].mean(axis=1).idxmax()]


def draw(row: pd.Series, figures: Path, *, judge_epochs: int, command: str) -> list[Path]:
    "Figs 3 and 4 at the paper's size from the snapshot `row` names."
    model, cfg = load_model(row.checkpoint)
    judges, test = judges_for(cfg, epochs=judge_epochs, log=None)
    es = build_eval_set(test)
    foot = f"{row.variant} at {int(row.step):,} steps ({row.checkpoint}); command: {command}"
    f3, _ = fig3_paired(model, es, figures / "fig3_paper_preset.png", footer=foot, name="DECGAN, paper preset")
    f4, _ = fig4_transfer(model, test, figures / "fig4_paper_preset.png", judges=judges,
                          footer=foot, name="DECGAN, paper preset")
    return [f3, f4]


def side_by_side(args: argparse.Namespace) -> None:
    """Each of `args.runs` trained and scored by a lane of its own (this script with `--runs <run>`), all at once; the
    tree is written first, so the lanes do not race to write it. Raises naming every lane that failed."""
    tree = argparse.ArgumentParser(add_help=False)
    tree.add_argument("--synth-subjects", type=int, default=SYNTH_SUBJECTS["paper"])
    synth_tree(args.data_root, n_subjects=tree.parse_known_args(args.extra.split())[0].synth_subjects)
    common = ["--out", str(args.out), "--steps", *map(str, args.steps), "--data-root", str(args.data_root),
              "--n-boot", str(args.n_boot), "--judge-epochs", str(args.judge_epochs), f"--extra={args.extra}"]
    lanes = {run: subprocess.Popen([sys.executable, __file__, *common, "--runs", run]) for run in args.runs}
    failed = [f"{run} (exit {rc})" for run, rc in ((r, p.wait()) for r, p in lanes.items()) if rc != 0]
    if failed: raise SystemExit(f"lane(s) failed: {', '.join(failed)}; rerun to continue what they had trained")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/paper_preset"))
    ap.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    ap.add_argument("--data-root", type=Path, default=Path("runs/paper_preset/synth"),
                    help="the embedded CK+-format tree (written when missing, at the paper preset's size)")
    ap.add_argument("--no-train", action="store_true", help="score and draw the snapshots that exist; train nothing")
    ap.add_argument("--parallel", action="store_true",
                    help="train (and score) the runs side by side, a process each (one per core, or all on one GPU), "
                         "then write what --table/--plot/--figures ask for; fails when any lane does")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--judge-epochs", type=int, default=60)
    ap.add_argument("--extra", default=f"--synth-subjects {SYNTH_SUBJECTS['paper']} --ckpt-every 100",
                    help="more flags for every training (the tests make tiny runs this way)")
    ap.add_argument("--table", type=Path, default=None, help="write PREFIX.csv and PREFIX.md")
    ap.add_argument("--plot", type=Path, default=None, help="draw the curve of both runs into this PNG")
    ap.add_argument("--figures", type=Path, default=None, help="folder for fig3/fig4_paper_preset.png (best snapshot)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    steps = sorted(set(args.steps))
    command = ".venv/bin/python bench/paper_preset.py " + " ".join(argv or sys.argv[1:])
    if args.parallel and not args.no_train:
        side_by_side(args)
        args.no_train = True                       # every lane trained and scored its snapshots: tabulate them
    parts = []
    for run in args.runs:
        flags = ["--model", "decgan", *RUNS[run][0]]
        if args.no_train:
            snaps = {s: snapshot(args.out, run, s) for s in steps if snapshot(args.out, run, s).is_file()}
        else:
            snaps = {s: train_point(run, s, out=args.out, data_root=args.data_root, flags=flags, extra=args.extra.split(),
                                    max_step=max(steps), preset="paper") for s in steps}
        if snaps: parts.append(scored(run, snaps, out=args.out, n_boot=args.n_boot, judge_epochs=args.judge_epochs))
    if not parts: raise SystemExit(f"no snapshot of {', '.join(args.runs)} under {args.out} yet")
    t = pd.concat(parts, ignore_index=True).sort_values(["run", "weights", "step"]).reset_index(drop=True)
    t["planned_steps"], t["machine"] = max(steps), machine()   # the budget asked for; where the table was written
    t["device"] = "cuda" if torch.cuda.is_available() else "cpu"   # which of cpu_s and wall_s says what a run costs
    t["batch_size"] = t.images_seen // t.step
    flat = {v: plateau_index(g) for v, g in t.groupby("variant")}
    t["plateau"] = False
    for v, g in t.groupby("variant"):
        if flat[v] is not None: t.loc[g.index[flat[v]], "plateau"] = True
    md = markdown(t)
    print(md)
    if args.plot is not None:
        plot_budget_curves(t, args.plot, title="DECGAN at the paper's size (64x64, Tables 1-2) against its budget",
                           footer=f"command: {command}")
    b = best(t)
    figs = draw(b, args.figures, judge_epochs=args.judge_epochs, command=command) if args.figures else []
    if args.table is None: return
    cols = ["run", "weights", "what", "variant", "step", "images_seen", "cpu_s", "wall_s", "n", "n_subjects", "expression_accuracy",
            "expression_accuracy_lo", "expression_accuracy_hi", "identity_similarity", "identity_similarity_lo",
            "identity_similarity_hi", "ssim", "ssim_lo", "ssim_hi", "fid", "plateau", "planned_steps", "batch_size",
            "machine", "device", "checkpoint"]
    with atomic_path(args.table.with_suffix(".csv")) as tmp: t[[c for c in cols if c in t]].to_csv(tmp, index=False)
    lines = [f"- {v}: " + (f"flat from {int(t.loc[g.index[flat[v]], 'step']):,} steps" if flat[v] is not None
                           else f"still moving at {int(g.step.max()):,} steps") for v, g in t.groupby("variant")]
    with atomic_path(args.table.with_suffix(".md")) as tmp:
        tmp.write_text("# DECGAN at the paper's size: 64x64, the widths of Tables 1-2, batch 16\n\n"
                       f"Embedded CK+-format tree ({int(t.n_subjects.iloc[0])} test identities, {int(t.n.iloc[0])} "
                       "translations), scored like `figures/results.md` with this size's judges; 95% intervals over "
                       f"identities. CPU s: the training processes' user + system seconds, on {t.machine.iloc[0]} "
                       f"({t.device.iloc[0]}); the csv also has their wall-clock seconds (`wall_s`).\n\n"
                       + "\n".join(f"- `{r}`: {RUNS[r][1]}" for r in dict.fromkeys(t.run)) + "\n\n"
                       "Flat (no metric leaves the interval of an earlier snapshot over the next two):\n\n" + "\n".join(lines)
                       + f"\n\nBest snapshot: {b.variant} at {int(b.step):,} steps"
                       + (f" (Figs 3-4: {', '.join(str(f) for f in figs)})" if figs else "") + ".\n\n" + md
                       + f"\n\ncommand: `{command}`\n")
    print(f"written: {args.table.with_suffix('.csv')}, {args.table.with_suffix('.md')}")


if __name__ == "__main__":
    main()
