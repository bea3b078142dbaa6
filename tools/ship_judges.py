"""Train (or load from the cache) the judges of the embedded data — the CK+-format tree and the RAF-DB-format tree of
`make demo`, at a preset's image size and tree size — and ship them: copy their files into figures/judges/, where
`decgan.judges.cached_judge` finds them by key (their training images, labels and settings) before it would train.
Every machine whose prepared trees are byte-identical (the locked environment: requirements.lock) then scores the
embedded data with these judges, and every results file prints their SHA-256.

    .venv/bin/python tools/ship_judges.py --work runs/demo                               # the demo preset (CPU make demo)
    .venv/bin/python tools/ship_judges.py --work runs/paper_preset --preset paper --trees ckplus   # 64x64:
                                                        # bench/paper_preset.py and make demo's Figs 3-4 on CUDA

The trees are written under --work when missing (a preset's trees differ in size, so each preset needs its own
--work). figures/judges/judges.csv keeps every shipped file with its preset, tree and checksum, and the command that
shipped it; figures/judges/README.md is written from it, so shipping one preset or tree keeps the other rows. The
RAF-DB tree's judges at the paper preset (5,000 images at 64 px, hours of a CPU core) are not shipped: make demo's
Fig 5 on a GPU trains them there.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import pandas as pd  # noqa: E402
from decgan.core import Config, atomic_path  # noqa: E402
from decgan.evaluate import judges_for  # noqa: E402
from decgan.judges import SHIPPED_JUDGES, file_digest  # noqa: E402
from decgan.train import SYNTH_RAFDB_IMAGES, SYNTH_SUBJECTS, synth_rafdb_tree, synth_tree  # noqa: E402


def judge_files(judges) -> list[Path]:
    "The judge files a `Judges` was built from (expression members, then the trained identity judge)."
    files = [Path(p) for v in judges.paths.values() for p in (v if isinstance(v, (list, tuple)) else [v])]
    return [p for p in files if p.suffix == ".pt" and p.is_file()]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("runs/demo"), help="where the embedded trees are (or are written)")
    ap.add_argument("--preset", default="demo", choices=("demo", "paper"))
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--ship", type=Path, default=SHIPPED_JUDGES)
    ap.add_argument("--trees", nargs="+", default=["ckplus", "rafdb"], choices=("ckplus", "rafdb"),
                    help="which embedded trees' judges")
    args = ap.parse_args(argv)
    command = ".venv/bin/python tools/ship_judges.py " + " ".join(argv or sys.argv[1:])
    write = {"ckplus": lambda: ("synth", synth_tree(args.work / "synth", n_subjects=SYNTH_SUBJECTS[args.preset])),
             "rafdb": lambda: ("rafdb", synth_rafdb_tree(args.work / "synth_rafdb", n_images=SYNTH_RAFDB_IMAGES[args.preset]))}
    trees = {name: write[name]() for name in args.trees}
    args.ship.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (dataset, root) in trees.items():
        cfg = Config.preset_of(args.preset, dataset=dataset, data_root=str(root.resolve()))
        judges, _ = judges_for(cfg, epochs=args.epochs, log=print)   # the cache beside the tree: what make demo trained
        for f in judge_files(judges):
            dest = args.ship / f.name
            if f.resolve() != dest.resolve():
                with atomic_path(dest) as tmp: shutil.copyfile(f, tmp)
            rows.append(dict(preset=args.preset, tree=name, image_size=cfg.image_size, file=f.name,
                             kb=round(dest.stat().st_size / 1024), sha256_16=file_digest(dest), command=command))
        print(judges.describe())
    manifest = args.ship / "judges.csv"
    old = pd.read_csv(manifest, dtype=str) if manifest.is_file() else pd.DataFrame(columns=list(rows[0]))
    redone = old.preset.eq(args.preset) & old.tree.isin(args.trees)
    table = pd.concat([old[~redone], pd.DataFrame(rows).astype(str)], ignore_index=True)
    with atomic_path(manifest) as tmp: table.to_csv(tmp, index=False)
    readme = ("# The judges of the embedded data, shipped\n\n"
              "Trained once on the training splits of `make demo`'s trees, per preset (its image size and tree size), "
              "and loaded by key by `decgan.judges.cached_judge`, so the embedded data is scored by the same judges on "
              "every machine (results files print these checksums). A user's own data trains its own judges. "
              "`judges.csv` holds these rows.\n\n"
              "| preset | tree | px | file | size | SHA-256 (16) |\n|---|---|---|---|---|---|\n"
              + "\n".join(f"| {r.preset} | {r.tree} | {r.image_size} | `{r.file}` | {r.kb} KB | `{r.sha256_16}` |"
                          for r in table.itertuples())
              + "\n\n" + "\n".join(f"- {r.preset}: `{r.command}`" for r in table.drop_duplicates(["preset", "command"]).itertuples())
              + "\n")
    with atomic_path(args.ship / "README.md") as tmp: tmp.write_text(readme)
    print(readme)


if __name__ == "__main__":
    main()
