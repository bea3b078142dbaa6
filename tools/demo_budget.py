"""The main job's preset and budget on this machine: tools/demo.sh asks once, before its runs.

    python tools/demo_budget.py preset [auto|demo|paper]
        prints `PRESET<TAB>why`: auto = the paper preset (64x64, Tables 1-2) when torch sees a CUDA device, else the
        demo preset (32x32, quarter width), which is what 2 CPU cores can train in the demo's time.
    python tools/demo_budget.py steps PRESET --data-root TREE --work DIR [--steps N]
        prints `STEPS<TAB>why`: the DECGAN steps of one run at the preset's batch. N when given (DEMO_STEPS); the demo
        preset's own steps (decgan.core.PRESETS) for the demo preset; for the paper preset, the steps that fit
        GPU_RUN_SECONDS of training, measured here: one short `python -m decgan.train` run on TREE, its losses.csv
        timing the steps after the first logged row (start-up, compilation and the precision probe excluded), rounded
        down to a multiple of STEP_QUANTUM (reruns on one machine then agree) and kept within STEP_RANGE. The paper
        preset's steps are then checked against its measured curve (figures/paper_preset.csv, bench/paper_preset.py):
        the why says whether they lie past where the paper's settings flatten, short of it, or that no curve is there.

Every run of the main job gets the same budget in images seen (tools/demo_runs.tsv), so the steps of DECGAN's run
size the whole job: with ablations it holds about six DECGAN-sized runs, two side by side.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

#: seconds of training per DECGAN-sized run of the paper preset on a GPU: six of them, two side by side, plus the
#: judges and the figures keep `make demo` inside its 30 minutes even if two lanes share the device at half speed each
GPU_RUN_SECONDS = 240
STEP_QUANTUM = 500
STEP_RANGE = (1_500, 50_000)
PROBE_STEPS, PROBE_LOG_EVERY = 200, 25
#: the paper preset's measured curve (bench/paper_preset.py --table figures/paper_preset): the check of its budget
PAPER_CURVE = Path(__file__).resolve().parent.parent / "figures" / "paper_preset.csv"


def resolve_preset(asked: str = "auto") -> tuple[str, str]:
    "(preset, why): `asked` itself, or for 'auto' the paper preset on CUDA and the demo preset on a CPU."
    if asked in ("demo", "paper"): return asked, f"asked for (DEMO_PRESET={asked})"
    if asked != "auto": raise SystemExit(f"DEMO_PRESET={asked!r}: expected auto, demo or paper")
    import torch
    if torch.cuda.is_available():
        return "paper", (f"CUDA device {torch.cuda.get_device_name(0)}: the paper's networks and size "
                         "(64x64, Tables 1-2)")
    return "demo", "no CUDA device: the demo preset (32x32, quarter width) is what 2 CPU cores train in the demo's time"


def seconds_per_step(losses_csv: Path) -> float:
    "Seconds per step between the first and the last logged row of a run's losses.csv (the first row's steps excluded)."
    with open(losses_csv, newline="", encoding="utf-8") as f: rows = list(csv.DictReader(f))
    if len(rows) < 2: raise SystemExit(f"{losses_csv}: need two logged rows to time the steps, found {len(rows)}")
    a, b = rows[0], rows[-1]
    return (float(b["seconds"]) - float(a["seconds"])) / (int(b["step"]) - int(a["step"]))


def steps_for(seconds_per: float, *, budget: float = GPU_RUN_SECONDS, quantum: int = STEP_QUANTUM,
              bounds: tuple[int, int] = STEP_RANGE) -> int:
    "The steps that fit `budget` seconds at `seconds_per`, rounded down to `quantum`, within `bounds`."
    n = int(budget / seconds_per) // quantum * quantum
    return max(bounds[0], min(bounds[1], n))


def probe(preset: str, data_root: Path, work: Path, *, steps: int = PROBE_STEPS, log_every: int = PROBE_LOG_EVERY) -> float:
    "Seconds per training step of DECGAN in `preset` on this machine's device, from a short run on `data_root`."
    work.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="probe_", dir=work))
    cmd = [sys.executable, "-m", "decgan.train", "--preset", preset, "--dataset", "synth", "--data-root", str(data_root),
           "--out-dir", str(out), "--steps", str(steps), "--log-every", str(log_every),
           "--sample-every", str(10 * steps), "--ckpt-every", str(10 * steps)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"the budget probe failed ({' '.join(cmd)}):\n{(p.stdout + p.stderr)[-3000:]}")
    return seconds_per_step(out / "losses.csv")


def against_curve(steps: int, curve: Path = PAPER_CURVE, *, run: str = "paper (last)") -> str:
    """Whether `steps` of the paper preset lie past where its measured curve flattens: the first snapshot of `run` (the
    paper's settings, last weights: what `--preset paper` trains) marked `plateau` in `curve`."""
    if not curve.is_file():
        return f"not checked against a measured curve: {curve.name} is not there yet (bench/paper_preset.py)"
    with open(curve, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["variant"] == run]
    if not rows: raise SystemExit(f"{curve}: no row of {run!r} to check the budget against")
    flat = [int(r["step"]) for r in rows if r["plateau"] == "True"]
    last = max(int(r["step"]) for r in rows)
    if not flat:
        return (f"the paper preset's curve ({curve.name}) was still moving at its last snapshot, {last:,} steps: "
                + ("these steps lie past it, but its plateau is not measured" if steps > last else
                   "these steps are short of where it flattens"))
    where = f"where the paper preset's curve flattens ({flat[0]:,} steps, {curve.name})"
    return f"past {where}" if steps >= flat[0] else f"short of {where}: expect a model that has not converged"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("preset"); p.add_argument("asked", nargs="?", default="auto")
    s = sub.add_parser("steps"); s.add_argument("preset", choices=("demo", "paper"))
    s.add_argument("--data-root", type=Path); s.add_argument("--work", type=Path); s.add_argument("--steps", type=int)
    a = ap.parse_args(argv)
    if a.what == "preset":
        print("\t".join(resolve_preset(a.asked))); return
    if a.steps:
        print(f"{a.steps}\tasked for (DEMO_STEPS={a.steps})" + (f"; {against_curve(a.steps)}" if a.preset == "paper" else ""))
        return
    if a.preset == "demo":
        from decgan.core import PRESETS
        n = PRESETS["demo"]["steps"]
        print(f"{n}\tthe demo preset's steps (decgan.core.PRESETS), chosen by bench/recipe.py (figures/recipe_curve.md)")
        return
    if a.data_root is None or a.work is None: raise SystemExit("steps paper: --data-root and --work are needed")
    from decgan.core import PRESETS
    sec = probe(a.preset, a.data_root, a.work)
    n = steps_for(sec)
    print(f"{n}\t{GPU_RUN_SECONDS} s per DECGAN run at the measured {1 / sec:.1f} steps/s (paper preset, "
          f"batch {PRESETS['paper']['batch_size']}; a {PROBE_STEPS}-step probe), in multiples of {STEP_QUANTUM}; "
          f"{against_curve(n)}")


if __name__ == "__main__":
    main()
