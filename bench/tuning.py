"""The same tuning effort for every model (issue 23): one small search, identical in size for DECGAN, IcGAN and
StarGAN — learning rate over {1e-4, 2e-4, 5e-4} x generator EMA on/off — at the main job's budget in images seen,
chosen on validation identities that are never the results table's test identities.

    .venv/bin/python bench/tuning.py --out runs/tuning --table figures/tuning          # everything, one lane
    .venv/bin/python bench/tuning.py --out runs/tuning --models decgan                  # one lane of two ...
    .venv/bin/python bench/tuning.py --out runs/tuning --models icgan stargan           # ... the other
    .venv/bin/python bench/tuning.py --out runs/tuning --table figures/tuning           # then score (trains nothing new)

Validation data. The search trains and scores on a tuning tree of its own: the embedded CK+-format tree drawn with
another seed (`--tree-seed`, default 1), so its people are not the people of the demo's tree (seed 0), whose test
split the results table scores. Its training split trains, its test split (unseen identities of the tuning tree)
validates. No choice is made on the demo's test identities.

Each (model, learning rate) trains once with the generator's moving average kept beside the weights (the EMA never
changes training), so "EMA on" and "EMA off" are the same run scored with its averaged and its last weights. Every
run sees the same images: the demo preset's steps x batch, divided by the model's own batch (IcGAN's is 64). Each
model trains in the precision `decgan.train.choose_precision` picks for it on this machine, as `make demo` does.
Runs are resumable: an existing checkpoint at its step is scored, not retrained. Selection: the highest mean of
expression accuracy, identity similarity and SSIM against the true target (all in [0, 1]), a single number the
table shows beside the three.
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
from recipe import without_average  # noqa: E402

from decgan.core import PRESETS, Config, atomic_path, get_device  # noqa: E402
from decgan.registry import model_spec  # noqa: E402
from decgan.report import markdown_table, results_table  # noqa: E402
from decgan.synth_data import write_ckplus_tree  # noqa: E402
from decgan.train import SYNTH_SUBJECTS, choose_precision  # noqa: E402

MODELS = ("decgan", "icgan", "stargan")
LEARNING_RATES = (1e-4, 2e-4, 5e-4)
EMA_BETA = 0.999
SELECT_BY = ("expression_accuracy", "identity_similarity", "ssim")


def budget_steps(model: str, *, images: int | None = None, batch_size: int | None = None) -> int:
    """Steps of `model` that see `images` (default the main job's budget: demo steps x demo batch) at its own batch
    (IcGAN's is 64) or `batch_size`."""
    images = PRESETS["demo"]["steps"] * PRESETS["demo"]["batch_size"] if images is None else images
    return max(1, images // (batch_size or Config.preset_of("demo", model=model).batch_size))


def tuning_tree(root: Path, *, seed: int, n_subjects: int) -> Path:
    "The tuning tree (written once): the embedded CK+-format set drawn with another seed, so other people."
    if not (root / "synth_meta.csv").is_file(): write_ckplus_tree(root, n_subjects, seed=seed)
    return root


def train_grid(models, lrs, *, out: Path, tree: Path, extra: list[str], images: int | None = None,
               batch_size: int | None = None) -> dict:
    "{(model, lr): checkpoint} of the search, training what is missing."
    runs = {}
    for m in models:
        prec, why = choose_precision(Config.preset_of("demo", model=m), get_device("auto"))
        print(f"{m}: {prec} ({why})", flush=True)
        for lr in lrs:
            steps = budget_steps(m, images=images, batch_size=batch_size)
            snaps = train_snapshots(f"{m}_lr{lr:g}", [steps], out=out, data_root=tree, seed_from=None, extra=extra,
                                    flags=["--model", m, "--lr", f"{lr:g}", "--ema-beta", str(EMA_BETA), "--precision", prec])
            runs[(m, lr)] = snaps[steps]
    return runs


def score(runs: dict, *, out: Path, n_boot: int, judge_epochs: int) -> pd.DataFrame:
    "The search's table: one row per (model, lr, weights), with the selection score and the chosen row per model."
    named, what = {}, {}
    for (m, lr), path in runs.items():
        for weights, p in (("EMA", path), ("last", without_average(Path(path)))):
            name = f"{model_spec(m).title} lr {lr:g} ({weights})"
            named[name], what[name] = p, (m, lr, weights)
    res = results_table(named, out_dir=out / "eval", references=False, n_boot=n_boot, judge_epochs=judge_epochs, log=None)
    t = res.table[res.table.kind == "model"].copy()
    t.insert(0, "search_model", [what[n][0] for n in t.model])
    t.insert(1, "lr", [what[n][1] for n in t.model])
    t.insert(2, "weights", [what[n][2] for n in t.model])
    t["score"] = t[list(SELECT_BY)].mean(axis=1)
    t["chosen"] = False
    for m, g in t.groupby("search_model"): t.loc[g.score.idxmax(), "chosen"] = True
    return t


def write_table(t: pd.DataFrame, prefix: Path, *, command: str, tree_seed: int) -> None:
    ci = lambda m: (lambda r: f"{r[m]:.3f} [{r[m + '_lo']:.3f}, {r[m + '_hi']:.3f}]")
    md = markdown_table(t, {"model": lambda r: model_spec(r.search_model).title, "lr": lambda r: f"{r.lr:g}",
                            "weights": lambda r: r.weights, "steps": lambda r: f"{int(r.step):,}",
                            "images seen": lambda r: f"{int(r.images_seen):,}", "expression acc.": ci("expression_accuracy"),
                            "identity sim.": ci("identity_similarity"), "SSIM": ci("ssim"),
                            "score": lambda r: f"{r.score:.3f}", "chosen": lambda r: "**chosen**" if r.chosen else ""})
    chosen = t[t.chosen]
    lines = [f"- {model_spec(r.search_model).title}: lr {r.lr:g}, {'EMA ' + str(EMA_BETA) if r.weights == 'EMA' else 'no EMA'} "
             f"(score {r.score:.3f})" for r in chosen.itertuples()]
    prefix.parent.mkdir(parents=True, exist_ok=True)
    cols = ["search_model", "lr", "weights", "step", "images_seen", "n", "n_subjects", *[c for m in SELECT_BY for c in
            (m, m + "_lo", m + "_hi")], "psnr", "fid", "score", "chosen", "checkpoint"]
    with atomic_path(prefix.with_suffix(".csv")) as tmp:
        t[[c for c in cols if c in t.columns]].to_csv(tmp, index=False)
    with atomic_path(prefix.with_suffix(".md")) as tmp:
        tmp.write_text(
            "# The same tuning search for every model\n\n"
            f"Learning rate over {{{', '.join(f'{lr:g}' for lr in LEARNING_RATES)}}} x the generator's EMA "
            f"(β {EMA_BETA}) on/off, for each model, at the main job's budget in images seen. Trained on the training "
            f"split of a tuning tree (the embedded CK+-format set drawn with seed {tree_seed}: other people than the "
            f"demo's tree) and scored on its test split: {int(t.n.iloc[0])} translations of {int(t.n_subjects.iloc[0])} "
            "validation identities, 95% bootstrap intervals over identities. Never on the results table's test "
            "identities. Score: the mean of expression accuracy, identity similarity and SSIM.\n\n"
            "Chosen (what `decgan.core.MODEL_SETTINGS` and the demo preset use):\n\n" + "\n".join(lines) + "\n\n" + md +
            f"\n\ncommand: `{command}`\n")
    print(f"written: {prefix.with_suffix('.csv')}, {prefix.with_suffix('.md')}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/tuning"))
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--lrs", nargs="+", type=float, default=list(LEARNING_RATES))
    ap.add_argument("--tree-seed", type=int, default=1)
    ap.add_argument("--subjects", type=int, default=SYNTH_SUBJECTS["demo"])
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--judge-epochs", type=int, default=60)
    ap.add_argument("--images", type=int, default=None, help="images each run sees (default: the main job's budget)")
    ap.add_argument("--batch-size", type=int, default=None, help="every model's batch (default: each model's own)")
    ap.add_argument("--extra", default="", help="more flags for every training (the tests make tiny runs this way)")
    ap.add_argument("--table", type=Path, default=None, help="score every run of the grid and write PREFIX.csv/.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    tree = tuning_tree(args.out / "tune_synth", seed=args.tree_seed, n_subjects=args.subjects)
    extra = [*args.extra.split(), "--synth-subjects", str(args.subjects), *(["--batch-size", str(args.batch_size)] if args.batch_size else [])]
    runs = train_grid(args.models, args.lrs, out=args.out, tree=tree, extra=extra, images=args.images,
                      batch_size=args.batch_size)
    if args.table is not None:
        t = score(runs, out=args.out, n_boot=args.n_boot, judge_epochs=args.judge_epochs)
        write_table(t, args.table, command=".venv/bin/python bench/tuning.py " + " ".join(argv or sys.argv[1:]),
                    tree_seed=args.tree_seed)


if __name__ == "__main__":
    main()
