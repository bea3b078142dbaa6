"""Train (or load from the cache) the judges of the embedded data — the CK+-format tree and the RAF-DB-format tree of
`make demo`, at the demo preset — and ship them: copy their files into figures/judges/, where
`decgan.judges.cached_judge` finds them by key (their training images, labels and settings) before it would train.
Every machine whose prepared trees are byte-identical (the locked environment: requirements.lock) then scores the
embedded data with these judges, and every results file prints their SHA-256.

    .venv/bin/python tools/ship_judges.py --work runs/demo        # the trees are written there when missing

figures/judges/README.md lists each file with its checksum and this command.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
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
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--ship", type=Path, default=SHIPPED_JUDGES)
    args = ap.parse_args(argv)
    trees = {"ckplus": ("synth", synth_tree(args.work / "synth", n_subjects=SYNTH_SUBJECTS[args.preset])),
             "rafdb": ("rafdb", synth_rafdb_tree(args.work / "synth_rafdb", n_images=SYNTH_RAFDB_IMAGES[args.preset]))}
    args.ship.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (dataset, root) in trees.items():
        cfg = Config.preset_of(args.preset, dataset=dataset, data_root=str(root.resolve()))
        judges, _ = judges_for(cfg, epochs=args.epochs, log=print)   # the cache beside the tree: what make demo trained
        for f in judge_files(judges):
            dest = args.ship / f.name
            if f.resolve() != dest.resolve():
                with atomic_path(dest) as tmp: shutil.copyfile(f, tmp)
            rows.append(f"| {name} | `{f.name}` | {dest.stat().st_size / 1024:.0f} KB | `{file_digest(dest)}` |")
        print(judges.describe())
    readme = ("# The judges of the embedded data, shipped\n\n"
              f"Trained once on the training splits of `make demo`'s trees ({args.preset} preset) and loaded by key by "
              "`decgan.judges.cached_judge`, so the embedded data is scored by the same judges on every machine "
              "(results files print these checksums). A user's own data trains its own judges.\n\n"
              "| tree | file | size | SHA-256 (16) |\n|---|---|---|---|\n" + "\n".join(rows) +
              "\n\ncommand: `.venv/bin/python tools/ship_judges.py " + " ".join(argv or sys.argv[1:]) + "`\n")
    with atomic_path(args.ship / "README.md") as tmp: tmp.write_text(readme)
    print(readme)


if __name__ == "__main__":
    main()
