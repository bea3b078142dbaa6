"""The main job's preset and budget (tools/demo_budget.py, read by tools/demo.sh): the paper preset on a CUDA device
with the steps that fit the demo's time there, measured by a short training run; the demo preset on a CPU. The GPU
path itself needs a GPU (bench/gpu_check.sh); here its pieces run on the CPU: the arithmetic, the probe's timing of a
real short run, and `make demo`'s plan when the paper preset is asked for."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import demo_budget as db  # noqa: E402


def test_steps_fit_the_time_in_whole_quanta():
    assert db.steps_for(0.01, budget=240) == 24_000                 # 240 s at 100 steps/s
    assert db.steps_for(0.0123, budget=240) == 19_500               # 19,512 rounded down to a multiple of 500
    assert db.steps_for(1.0, budget=240) == db.STEP_RANGE[0]        # too slow a device: the floor
    assert db.steps_for(1e-6, budget=240) == db.STEP_RANGE[1]       # the ceiling


def test_seconds_per_step_skips_the_first_logged_row(tmp_path):
    f = tmp_path / "losses.csv"
    with open(f, "w", newline="") as h:
        w = csv.writer(h); w.writerow(["step", "seconds", "G/total"])
        w.writerows([[25, 30.0, 1], [50, 32.5, 1], [75, 35.0, 1]])  # 30 s of start-up before step 25
    assert db.seconds_per_step(f) == pytest.approx(0.1)
    f.write_text("step,seconds\n25,3.0\n")
    with pytest.raises(SystemExit, match="need two logged rows"): db.seconds_per_step(f)


def test_preset_follows_the_device():
    preset, why = db.resolve_preset("auto")
    assert preset == ("paper" if torch.cuda.is_available() else "demo"), why
    assert db.resolve_preset("paper")[0] == "paper" and db.resolve_preset("demo")[0] == "demo"
    with pytest.raises(SystemExit, match="expected auto, demo or paper"): db.resolve_preset("gpu")


def test_probe_times_a_real_short_run(tmp_path):
    "The probe trains for real (the demo preset here, 30 steps) and reads its steps' time from the run's losses.csv."
    sec = db.probe("demo", tmp_path / "synth", tmp_path / "probe", steps=30, log_every=10)
    assert 1e-4 < sec < 30, sec
    assert (tmp_path / "synth").is_dir()                            # the training provisioned the tree it needed


def test_make_demo_plans_the_paper_preset_when_asked(tmp_path):
    "DEMO_PRESET=paper (what a CUDA host gets by itself): every job trains the paper preset at one budget of images."
    env = {k: v for k, v in os.environ.items() if k not in ("IN_TEST", "MAKEFLAGS", "MFLAGS")}
    env.update(DEMO_OUT=str(tmp_path / "demo"), DEMO_PLAN="1", OMP_NUM_THREADS="1")
    p = subprocess.run(["make", "demo", "DEMO_PRESET=paper", "DEMO_STEPS=100"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert ">> preset paper: asked for (DEMO_PRESET=paper)" in p.stdout
    plan = {l.split()[1]: l for l in p.stdout.splitlines() if l.startswith("plan: ")}
    assert {"decgan", "icgan", "decgan_rafdb", "stargan", "no_pool", "judges_ckplus"} <= set(plan)
    for job in ("decgan", "decgan_rafdb", "no_assoc", "no_pool", "shared_g", "stargan"):
        assert "-p preset paper" in plan[job] and plan[job].endswith("-p steps 100"), plan[job]
    assert plan["icgan"].endswith("-p steps 25")                    # batch 64: the same 1,600 images
    assert plan["icgan_2x"].endswith("-p steps 50")
    assert not (tmp_path / "demo" / "synth").exists()               # a plan writes no data


def test_paper_budget_is_checked_against_the_measured_curve(tmp_path):
    "The paper preset's steps against figures/paper_preset.csv: past or short of where it flattens, or said unmeasured."
    assert "not checked against a measured curve" in db.against_curve(3000, tmp_path / "none.csv")
    f = tmp_path / "paper_preset.csv"
    rows = [("paper (last)", 1500, False), ("paper (last)", 3000, True), ("paper (last)", 4500, False),
            ("recipe (EMA)", 1500, True)]
    f.write_text("variant,step,plateau\n" + "".join(f"{v},{s},{p}\n" for v, s, p in rows))
    assert db.against_curve(3000, f).startswith("past where the paper preset's curve flattens (3,000 steps")
    assert db.against_curve(2000, f).startswith("short of where the paper preset's curve flattens (3,000 steps")
    f.write_text("variant,step,plateau\npaper (last),1500,False\npaper (last),3000,False\n")
    assert "still moving at its last snapshot, 3,000 steps: these steps are short" in db.against_curve(2000, f)
    assert "these steps lie past it, but its plateau is not measured" in db.against_curve(5000, f)
