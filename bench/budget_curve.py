"""Each model to its plateau (issue 23): DECGAN, its ablations and the baselines trained at doubling budgets, every
point scored by the results table's judges on the same held-out translations, until more training stops helping.

    .venv/bin/python bench/budget_curve.py --out runs/budget --images 18000 36000 72000 144000 288000 \\
        --variants decgan --until-plateau --data-root runs/demo/synth --extra "--precision bf16"       # a lane
    .venv/bin/python bench/budget_curve.py --out runs/budget --images 18000 36000 72000 144000 288000 \\
        --variants decgan icgan stargan --until-plateau --no-train --table figures/budget_curves \\
        --plot figures/budget_curves.png                                                              # all, drawn

Budgets are in images seen (`--images`: each variant trains images // its batch steps, its batch being its model's in
the demo preset) or in steps (`--steps`). A model whose schedule does not read its budget (DECGAN) trains one run in
<out>/<variant> with `python -m decgan.train --preset demo --data-root <data> --steps MAX --stop-at S --resume` for
each point S (resume is bit for bit, so a snapshot *is* a run of S steps); it is kept as <out>/<variant>/step_<S>.pt.
A model whose schedule does (`ModelSpec.schedule_follows_steps`: IcGAN's phases, StarGAN's decay) trains each point as a
run of its own, <out>/<variant>/steps_<S>/checkpoint.pt. Nothing that exists is trained again; a point's CPU seconds
(user + system of its training processes, summed over the runs and resumptions that made it) are kept in cost.csv
beside it, and its scores in <checkpoint>.score.csv.

The plateau of a variant is the first budget after which the next two doublings leave every metric (expression
accuracy, identity similarity, SSIM against the true target) inside that budget's 95% interval over test identities.
`--until-plateau` trains a variant's budgets in order and stops once its plateau is confirmed; where the largest
budget comes first, the table says the plateau was not reached and shows the variant at its best budget (the highest
mean of the three metrics: a GAN can get worse with more training). With `--table`, each variant there is compared
with the first, paired over the same translations. One torch thread per process.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import pandas as pd
import torch

from decgan.checkpoint import load_checkpoint, load_model
from decgan.core import PRESETS, Config, atomic_path
from decgan.figures import CURVE_METRICS, fig5_compare, plot_budget_curves
from decgan.interface import StepEnv
from decgan.registry import model_spec
from decgan.report import markdown_table, results_table

RUNS_TABLE = Path(__file__).resolve().parent.parent / "tools" / "demo_runs.tsv"
#: the main job's budget in images seen (demo steps x demo batch): the "equal images" row of the headline
EQUAL_IMAGES = PRESETS["demo"]["steps"] * PRESETS["demo"]["batch_size"]


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


def flag_value(flags: list[str], flag: str, default: str | None = None) -> str | None:
    "The value after the last `flag` in `flags` (default when absent)."
    got = [b for a, b in zip(flags, flags[1:]) if a == flag]
    return got[-1] if got else default


def model_of(flags: list[str]) -> str:
    "The model the training flags name (DECGAN when none)."
    return flag_value(flags, "--model", "decgan")


def step_scheduled(flags: list[str]) -> bool:
    "Whether the model the flags name has a schedule that reads its step budget (its spec's `schedule_follows_steps`)."
    return model_spec(model_of(flags)).schedule_follows_steps


def batch_of(flags: list[str]) -> int:
    "The batch a run with these flags trains at: --batch-size, else its model's in the demo preset."
    return int(flag_value(flags, "--batch-size", Config.preset_of("demo", model=model_of(flags)).batch_size))


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def train_until(variant: str, run: Path, step: int, args: list[str], *, what: str, preset: str = "demo") -> None:
    """`python -m decgan.train --preset <preset> --out-dir <run> --resume <args>`, logged to <run>/train.log; it must end
    at `step`. Its CPU and wall seconds are appended to <run>/cost.csv as a row (step reached, cpu_s, wall_s), also when
    it was paused early: SIGTERM or SIGINT to the training process makes it checkpoint where it is and exit, this lane
    records what that part cost and stops, and rerunning continues from that checkpoint."""
    cmd = [sys.executable, "-m", "decgan.train", "--preset", preset, "--out-dir", str(run), "--resume", *args]
    ckpt = run / "checkpoint.pt"
    before = load_checkpoint(ckpt)["step"] if ckpt.is_file() else 0
    t0, c0 = time.perf_counter(), _child_cpu()
    print(f"{variant}: {what}: {' '.join(cmd[1:])}", flush=True)
    with open(run / "train.log", "a") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    wall, cpu = time.perf_counter() - t0, _child_cpu() - c0
    got = load_checkpoint(ckpt)["step"] if ckpt.is_file() else 0
    if got > before:
        with open(run / "cost.csv", "a") as f:
            if f.tell() == 0: f.write("step,cpu_s,wall_s\n")
            f.write(f"{got},{cpu:.1f},{wall:.1f}\n")
    if rc != 0: raise SystemExit(f"{variant}: training exited with status {rc} at step {got} ({run / 'train.log'})")
    if got != step: raise SystemExit(f"{variant}: paused at step {got} of {step} (its cost is recorded); rerun to continue "
                                     f"({run / 'train.log'})")
    print(f"{variant}: {what} took {wall:.0f} s ({cpu:.0f} CPU s)", flush=True)


def cpu_seconds(run: Path, step: int, column: str = "cpu_s") -> float:
    """CPU seconds that trained <run> up to `step` (the rows of its cost.csv at or before it); NaN when not recorded.
    `column="wall_s"`: the wall-clock seconds instead (what a GPU run costs)."""
    cost = run / "cost.csv"
    if not cost.is_file(): return float("nan")
    c = pd.read_csv(cost)
    return float(c[column][c.step <= step].sum()) if (c.step <= step).any() else float("nan")


def generator_updates(ckpt: Path) -> int:
    "How many of the checkpoint's steps moved the networks its generator average covers (`Trainer.moves_generator`)."
    ck = load_checkpoint(ckpt)
    cfg = ck["config"].replace(precision="fp32", device="cpu")
    spec = model_spec(cfg.model)
    net = spec.build(cfg)
    trainer = spec.trainer(net, spec.optimizers(net, cfg), cfg, StepEnv.local(cfg))
    return sum(trainer.moves_generator(i) for i in range(ck["step"]))


def train_point(variant: str, s: int, *, out: Path, data_root: Path, flags: list[str], extra: list[str],
                max_step: int, seed_from: Path | None = None, preset: str = "demo") -> Path:
    "The checkpoint of `variant` at `s` steps, trained (or resumed) when missing: a run of its own or a snapshot."
    if step_scheduled(flags):
        run = out / variant / f"steps_{s}"
        ckpt = run / "checkpoint.pt"
        whole = out / variant / f"step_{s}.pt"       # a snapshot that ends its own run is that run too
        if not ckpt.is_file() and whole.is_file() and load_checkpoint(whole)["config"].steps == s: return whole
        run.mkdir(parents=True, exist_ok=True)
        src = seed_from / variant / "checkpoint.pt" if seed_from is not None else None
        if not ckpt.is_file() and src is not None and src.is_file() and load_checkpoint(src)["config"].steps == s:
            shutil.copyfile(src, ckpt)
            print(f"{variant}: {s} steps from {src}")
        if not ckpt.is_file() or load_checkpoint(ckpt)["step"] != s:
            train_until(variant, run, s, ["--data-root", str(data_root), "--steps", str(s), *flags, *extra],
                        what=f"a run of {s} steps", preset=preset)
        return ckpt
    run = out / variant
    run.mkdir(parents=True, exist_ok=True)
    ckpt, snap = run / "checkpoint.pt", run / f"step_{s}.pt"
    if seed_from is not None and not ckpt.exists() and (seed_from / variant / "checkpoint.pt").is_file():
        src = seed_from / variant / "checkpoint.pt"
        step = load_checkpoint(src)["step"]
        if step > s: raise SystemExit(f"--seed-from {src}: its step {step} is past the first snapshot step {s}")
        shutil.copyfile(src, ckpt)
        shutil.copyfile(src, run / f"step_{step}.pt")
        print(f"{variant}: starts from {src} (step {step})")
    if not snap.is_file():
        train_until(variant, run, s, ["--data-root", str(data_root), "--steps", str(max_step), "--stop-at", str(s),
                                      *flags, *extra], what=f"training to step {s}", preset=preset)
        with atomic_path(snap) as tmp: shutil.copyfile(ckpt, tmp)
    return snap


def train_snapshots(variant: str, steps: list[int], *, out: Path, data_root: Path, seed_from: Path | None,
                    extra: list[str] = (), flags: list[str] | None = None) -> dict:
    "{step: checkpoint} for `variant` at each of `steps`, training (and resuming) only what is missing."
    flags = VARIANTS[variant][0] if flags is None else flags
    return {s: train_point(variant, s, out=out, data_root=data_root, flags=flags, extra=list(extra), max_step=max(steps),
                           seed_from=seed_from) for s in sorted(steps)}


def score_point(variant: str, step: int, ckpt: Path, *, out: Path, n_boot: int, judge_epochs: int,
                title: str | None = None) -> pd.DataFrame:
    """One row: the results table's metrics of `ckpt` with their intervals, its images seen, generator updates and
    training CPU seconds; kept in <ckpt>.score.csv and reused while it is newer than the checkpoint. `title`: its name
    in the table (default the variant's in tools/demo_runs.tsv)."""
    title = VARIANTS[variant][1] if title is None else title
    cache = ckpt.with_name(ckpt.name + ".score.csv")
    if cache.is_file() and cache.stat().st_mtime >= ckpt.stat().st_mtime:
        row = pd.read_csv(cache)
        if int(row.n_boot.iloc[0]) == n_boot: return row
    res = results_table({f"{title} @ {step}": ckpt}, out_dir=out / f"eval_{variant}" / f"step_{step}",
                        references=False, n_boot=n_boot, judge_epochs=judge_epochs, log=None)
    row = res.table[res.table.kind == "model"].copy()
    row.insert(0, "variant", title)
    row.insert(1, "run", variant)
    row["g_updates"] = generator_updates(ckpt)
    row["cpu_s"] = cpu_seconds(ckpt.parent, step)
    row["wall_s"] = cpu_seconds(ckpt.parent, step, "wall_s")
    row["n_boot"] = n_boot
    row["checkpoint"] = str(ckpt)
    with atomic_path(cache) as tmp: row.to_csv(tmp, index=False)
    return row


PLATEAU_METRICS = tuple(CURVE_METRICS)


def plateau_index(rows: pd.DataFrame, *, confirm: int = 2) -> int | None:
    """Position (in images-seen order) of the first budget whose next `confirm` budgets keep every metric of
    `PLATEAU_METRICS` inside that budget's 95% interval; None when no budget has that many after it that do."""
    r = rows.sort_values("images_seen").reset_index(drop=True)
    for i in range(len(r) - confirm):
        if all(r.loc[i, f"{m}_lo"] <= r.loc[j, m] <= r.loc[i, f"{m}_hi"]
               for j in range(i + 1, i + 1 + confirm) for m in PLATEAU_METRICS):
            return i
    return None


def curve_of(variant: str, steps: list[int], *, args, train: bool) -> pd.DataFrame:
    "The scored points of one variant, in budget order; with `--until-plateau`, none past its confirmed plateau."
    flags = VARIANTS[variant][0]
    rows = []
    for s in sorted(steps):
        if train:
            ckpt = train_point(variant, s, out=args.out, data_root=args.data_root, flags=flags, extra=args.extra.split(),
                               max_step=max(steps), seed_from=args.seed_from)
        else:
            ckpt = (args.out / variant / f"steps_{s}" / "checkpoint.pt" if step_scheduled(flags)
                    else args.out / variant / f"step_{s}.pt")
            if not ckpt.is_file() or load_checkpoint(ckpt)["step"] != s: break       # --no-train: the points that exist
        rows.append(score_point(variant, s, ckpt, out=args.out, n_boot=args.n_boot, judge_epochs=args.judge_epochs))
        if args.until_plateau and plateau_index(pd.concat(rows, ignore_index=True)) is not None: break
    if not rows: return pd.DataFrame()
    t = pd.concat(rows, ignore_index=True).sort_values("images_seen").reset_index(drop=True)
    p = plateau_index(t)
    t["plateau"] = [i == p for i in range(len(t))]
    t["plateau_reached"] = p is not None
    return t


def markdown(table: pd.DataFrame) -> str:
    "The curve as a markdown table (decgan.report's table writer), metrics with their intervals."
    ci = lambda m, d=3: (lambda r: f"{r[m]:.{d}f} [{r[m + '_lo']:.{d}f}, {r[m + '_hi']:.{d}f}]")
    cols = {"run": lambda r: str(r.variant), "steps": lambda r: f"{int(r.step):,}",
            "images seen": lambda r: f"{int(r.images_seen):,}"}
    if "g_updates" in table:
        cols["G updates"] = lambda r: f"{int(r.g_updates):,}"
        cols["CPU s"] = lambda r: "n/a" if pd.isna(r.cpu_s) else f"{r.cpu_s:,.0f}"
    cols |= {"expression acc.": ci("expression_accuracy"), "identity sim.": ci("identity_similarity"),
             "SSIM": ci("ssim"), "FID (judge features)": lambda r: f"{r.fid:.1f}"}
    if "plateau" in table: cols["plateau"] = lambda r: "**plateau**" if r.plateau else ""
    return markdown_table(table, cols)


def plateau_markdown(table: pd.DataFrame, equal_images: int | None = EQUAL_IMAGES) -> str:
    "The headline at two budgets: each variant at `equal_images` (when it is a point) and at its plateau."
    lines = ["| row | budget | images seen | G updates | CPU s | expression acc. | identity sim. | SSIM |", "|---|---|---|---|---|---|---|---|"]
    ci = lambda r, m: f"{r[m]:.3f} [{r[m + '_lo']:.3f}, {r[m + '_hi']:.3f}]"
    for v, g in table.groupby("variant", sort=False):
        picks = []
        if equal_images is not None:
            eq = g[(g.images_seen - equal_images).abs() < g.images_seen / g.step]
            if len(eq): picks.append(("equal images seen", eq.iloc[0]))
        what, r = plateau_or_best(g)
        picks.append((what, r))
        for what, r in picks:
            cpu = "n/a" if pd.isna(r.cpu_s) else f"{r.cpu_s:,.0f}"
            lines.append(f"| {v} | {what}: {int(r.step):,} steps | {int(r.images_seen):,} | {int(r.g_updates):,} | {cpu} | "
                         f"{ci(r, 'expression_accuracy')} | {ci(r, 'identity_similarity')} | {ci(r, 'ssim')} |")
    return "\n".join(lines)


def plateau_or_best(g: pd.DataFrame) -> tuple[str, pd.Series]:
    """(what it is, row) of one variant's curve: its plateau; where none was reached, its best budget (the highest mean
    of `PLATEAU_METRICS`), so a model that got worse with more training is compared where it was best."""
    if g.plateau.any(): return "at its plateau", g[g.plateau].iloc[0]
    r = g.loc[g[list(PLATEAU_METRICS)].mean(axis=1).idxmax()]
    return f"its best budget (no plateau within {int(g.images_seen.max()):,} images)", r


def plateau_points(table: pd.DataFrame) -> dict:
    "{variant: checkpoint} at each variant's plateau, or at its best budget where the plateau was not reached."
    return {v: Path(plateau_or_best(g)[1].checkpoint) for v, g in table.groupby("variant", sort=False)}


def compared_at_plateau(table: pd.DataFrame, *, out: Path, n_boot: int, judge_epochs: int) -> pd.DataFrame:
    """Every variant at its plateau (or best budget) minus the first variant at its own, paired over the same translations
    (`results_table`'s comparisons), with a verdict from the row's side: ahead, behind or cannot be told apart."""
    picks = plateau_points(table)
    if len(picks) < 2: return pd.DataFrame()
    res = results_table(picks, out_dir=out / "eval_plateau", references=False, n_boot=n_boot, judge_epochs=judge_epochs,
                        log=None)
    c = res.comparisons[res.comparisons.metric.isin(PLATEAU_METRICS)].reset_index(drop=True)
    c["verdict"] = ["ahead" if lo > 1e-9 else "behind" if hi < -1e-9 else "cannot be told apart" for lo, hi in zip(c.lo, c.hi)]
    return c


def comparison_markdown(c: pd.DataFrame) -> str:
    "The paired differences at the plateaus as a markdown table."
    lines = ["| row (at its plateau or best budget) | metric | minus the first row at its own [95%] | the row is |",
             "|---|---|---|---|"]
    lines += [f"| {r.model} | {r.metric} | {r.difference:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}] | {r.verdict} |" for r in c.itertuples()]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/budget"))
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, nargs="+", default=None, help="budgets in steps (the same for every variant)")
    budget.add_argument("--images", type=int, nargs="+", default=None,
                        help="budgets in images seen: each variant trains images // its batch steps")
    ap.add_argument("--variants", nargs="+", default=["decgan", "shared_g"],
                    help=f"of {', '.join(VARIANTS)}; NAME:S stops that variant at step S (e.g. shared_g:3000)")
    ap.add_argument("--until-plateau", action="store_true",
                    help="train a variant's budgets in order and stop once its plateau is confirmed")
    ap.add_argument("--no-train", action="store_true", help="score and draw only the points that exist; train nothing")
    ap.add_argument("--data-root", type=Path, default=Path("runs/demo/synth"),
                    help="the embedded synthetic tree (make demo writes it; written here when missing)")
    ap.add_argument("--seed-from", type=Path, default=None, help="make demo's output folder, e.g. runs/demo")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--judge-epochs", type=int, default=60, help="as the figures chapter's (the cached judges are reused)")
    ap.add_argument("--extra", default="", help="more flags for python -m decgan.train (the tests make tiny runs this way)")
    ap.add_argument("--table", type=Path, default=None, help="write PREFIX.csv and PREFIX.md")
    ap.add_argument("--plot", type=Path, default=None, help="draw the curves (plot_budget_curves) into this PNG")
    ap.add_argument("--figures", type=Path, default=None,
                    help="folder for budget_<variant>.png: Fig 5's layout with one column group per snapshot")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for spec in args.variants:
        v, _, cap = spec.partition(":")
        if v not in VARIANTS: ap.error(f"unknown variant {v!r}; expected one of {', '.join(VARIANTS)}")
        flags = VARIANTS[v][0] + args.extra.split()
        steps = ([max(1, i // batch_of(flags)) for i in args.images] if args.images
                 else args.steps or [1500, 3000, 4500, 6000])
        steps = sorted({s for s in steps if not cap or s <= int(cap)})
        t = curve_of(v, steps, args=args, train=not args.no_train)
        if t.empty: print(f"{v}: no finished point yet"); continue
        rows.append(t)
        if args.figures is not None:
            args.figures.mkdir(parents=True, exist_ok=True)
            snaps = dict(zip(t.step.astype(int), map(Path, t.checkpoint)))
            res = results_table({f"{s:,} steps": p for s, p in snaps.items()}, out_dir=args.out / f"eval_{v}",
                                references=False, n_boot=50, judge_epochs=args.judge_epochs, log=None)
            footer = "\n".join(f"{VARIANTS[v][1]} at {s:,} steps: {p}" for s, p in snaps.items())
            fig5_compare({f"{s:,} steps": load_model(p)[0] for s, p in snaps.items()}, res.eval_set,
                         args.figures / f"budget_{v}.png", judges=res.judges, footer=footer + "\ncommand: bench/budget_curve.py",
                         title=f"{VARIANTS[v][1]} against the training budget")
    if not rows: raise SystemExit("no point of any variant is trained yet")
    table = pd.concat(rows, ignore_index=True)
    md = markdown(table)
    print(md)
    command = f".venv/bin/python bench/budget_curve.py {' '.join(argv or sys.argv[1:])}"
    if args.plot is not None:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_budget_curves(table, args.plot, title="Each model against its training budget (demo preset, 95% intervals "
                           "over test identities; ringed: the plateau)", footer=f"command: {command}")
        print(f"written: {args.plot}")
    if args.table is None: return
    args.table.parent.mkdir(parents=True, exist_ok=True)
    cols = ["variant", "run", "step", "images_seen", "g_updates", "cpu_s", "n", "n_subjects", "expression_accuracy",
            "expression_accuracy_lo", "expression_accuracy_hi", "identity_similarity", "identity_similarity_lo",
            "identity_similarity_hi", "ssim", "ssim_lo", "ssim_hi", "psnr", "fid", "kid", "plateau", "plateau_reached",
            "checkpoint", "expression_judge_accuracy"]
    with atomic_path(args.table.with_suffix(".csv")) as tmp:
        table[[c for c in cols if c in table.columns]].to_csv(tmp, index=False)
    equal = EQUAL_IMAGES if args.images and EQUAL_IMAGES in args.images else None
    comps = compared_at_plateau(table, out=args.out, n_boot=args.n_boot, judge_epochs=args.judge_epochs)
    if len(comps):
        with atomic_path(args.table.with_name(args.table.name + "_comparisons.csv")) as tmp: comps.to_csv(tmp, index=False)
    not_reached = [v for v, g in table.groupby("variant", sort=False) if not g.plateau.any()]
    with atomic_path(args.table.with_suffix(".md")) as tmp:
        tmp.write_text(
            "# Results against the training budget (demo preset, embedded synthetic data, seed 0)\n\n"
            f"Scored like `figures/results.md` (same judges, the same {int(table.n.iloc[0])} translations of "
            f"{int(table.n_subjects.iloc[0])} unseen identities, 95% bootstrap intervals over identities). CPU s: user + "
            "system seconds of the training processes (one torch thread each). G updates: steps that moved the networks "
            "the generator average covers. A plateau is the first budget after which two more doublings leave every "
            "metric inside its interval" + (f"; not reached within the budgets trained: {', '.join(not_reached)}" if not_reached
                                             else "") + ".\n\n## At equal images seen and at each model's plateau\n\n"
            + plateau_markdown(table, equal)
            + ("\n\n## Each model at its plateau (or best budget) against the first at its own\n\nPaired over the same translations "
               "(bootstrap over identities):\n\n" + comparison_markdown(comps) if len(comps) else "")
            + "\n\n## Every point\n\n" + md + f"\n\ncommand: `{command}`\n")
    print(f"written: {args.table.with_suffix('.csv')}, {args.table.with_suffix('.md')}")


if __name__ == "__main__":
    main()
