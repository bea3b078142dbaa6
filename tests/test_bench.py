"""bench/throughput.py runs end to end on the CPU at a tiny size and prints a table that parses: both training paths
(plain DataLoader loop and decgan.train's step) and every ablation row, with finite positive speeds, FLOP counts by
hand and by FlopCounterMode that agree, and a loss comparison of the two paths within its tolerance.
It checks that the benchmark works, never how fast anything is."""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD_S = 900  # only so that a broken build cannot hang CI forever; no test asserts a duration
TINY = ["--cpu-small", "--device", "cpu", "--size", "16", "--width", "0.125", "--batch", "4", "--steps", "2",
        "--warmup", "1", "--check-steps", "2", "--images", "24", "--workers", "1", "--matmul-n", "256", "--ablate"]


@pytest.fixture(scope="module")
def output() -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "throughput.py"), *TINY], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    return p.stdout


def number(cell: str) -> float:
    return float(cell.rstrip("x%")) / (100 if cell.endswith("%") else 1)


def table(text: str) -> list[dict]:
    lines = [l for l in text.splitlines() if l.startswith("|") and not set(l) <= set("|-")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in l.strip("|").split("|")))) for l in lines[1:]]


def test_table_rows_parse_and_are_finite(output):
    rows = table(output)
    paths = [r["path"] for r in rows]
    assert paths[:2] == ["plain", "ours"], paths
    assert paths[2:] == ["ours -amp", "ours -device_data"], paths  # fused Adam acts on CUDA only; channels_last is off
    for r in rows:
        assert int(r["batch"]) == 4
        for col in ("ms/step", "images/s", "images/s (window)", "TFLOP/s", "of matmul", "vs plain"):
            v = number(r[col])
            assert math.isfinite(v) and v > 0, (r["path"], col, r[col])
        assert math.isclose(number(r["images/s"]), 4 / (number(r["ms/step"]) / 1e3), rel_tol=1e-2)
    assert number(rows[0]["vs plain"]) == 1.0
    ratio = re.search(r"ratio ours/plain at batch 4: ([0-9.]+)x", output)
    assert ratio and math.isfinite(float(ratio.group(1))) and float(ratio.group(1)) > 0


def test_matmul_rate_and_flop_counts(output):
    rate = float(re.search(r"matmul rate \(float32\): ([0-9.e+-]+) TFLOP/s", output).group(1))
    assert math.isfinite(rate) and rate > 0
    paper = re.search(r"full step ([0-9.]+) \| ([0-9.]+) GFLOP", output)
    assert paper, output
    hand, counted = map(float, paper.groups())
    assert hand > 0 and math.isclose(hand, counted, rel_tol=1e-3)
    small = re.search(r"at this run's size: by hand ([0-9.]+) \| counted ([0-9.]+) GFLOP", output)
    assert small and float(small.group(1)) > 0 and math.isclose(*map(float, small.groups()), rel_tol=1e-2)


def test_losses_of_both_paths_agree(output):
    m = re.search(r"max relative difference ([0-9.e+-]+|nan|inf) .*tolerance ([0-9.e+-]+) \((?:float32|bf16)\): (\w+)", output)
    assert m, output
    assert math.isfinite(float(m.group(1))) and m.group(3) == "ok", m.group(0)


# bench/budget_curve.py: snapshots at the asked steps for each variant, scored like the results table, written as a
# table; a rerun trains nothing new. Tiny: 10 subjects, batch 4, judges of 2 epochs.
def test_budget_curve_snapshots_and_table(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, str(ROOT / "bench" / "budget_curve.py"), "--out", str(tmp_path / "budget"), "--steps", "4", "2",
            "--variants", "decgan", "shared_g:2", "--data-root", str(tmp_path / "synth"), "--judge-epochs", "2",
            "--n-boot", "50", "--extra", "--batch-size 4 --synth-subjects 10", "--table", str(tmp_path / "curve"), "--figures", str(tmp_path / "figs")]
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    import pandas as pd
    from decgan.checkpoint import load_checkpoint
    t = pd.read_csv(tmp_path / "curve.csv")
    assert t.variant.tolist() == ["DECGAN"] * 2 + ["DECGAN with one shared generator"]   # shared_g:2 stops it at step 2
    assert t.step.tolist() == [2, 4, 2] and t.images_seen.tolist() == [8, 16, 8]
    assert t.expression_accuracy.between(0, 1).all() and (t.expression_accuracy_lo <= t.expression_accuracy_hi).all()
    for variant, shared in (("decgan", False), ("shared_g", True)):
        for s in ((2, 4) if variant == "decgan" else (2,)):
            ck = load_checkpoint(tmp_path / "budget" / variant / f"step_{s}.pt")
            assert ck["step"] == s and ck["config"].shared_generator is shared
    assert "| DECGAN with one shared generator | 2 | 8 |" in (tmp_path / "curve.md").read_text()
    assert not (tmp_path / "budget" / "shared_g" / "step_4.pt").exists()
    for v in ("decgan", "shared_g"): assert (tmp_path / "figs" / f"budget_{v}.png").stat().st_size > 0
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert again.returncode == 0 and "training to step" not in again.stdout, again.stdout[-2000:]


# bench/tuning.py: the same grid for every model (lr x EMA on/off) on a tuning tree of other people, one chosen row per
# model; a rerun trains nothing new. Tiny: 8 subjects, 8 images a run at batch 2, two learning rates, judges of 2 epochs.
def test_tuning_grid_is_the_same_for_every_model(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, str(ROOT / "bench" / "tuning.py"), "--out", str(tmp_path / "tuning"), "--subjects", "8",
            "--images", "8", "--batch-size", "2", "--lrs", "1e-4", "5e-4", "--judge-epochs", "2", "--n-boot", "50",
            "--table", str(tmp_path / "tuning_table")]
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    import pandas as pd
    t = pd.read_csv(tmp_path / "tuning_table.csv")
    assert t.groupby("search_model").size().to_dict() == {"decgan": 4, "icgan": 4, "stargan": 4}   # 2 lr x EMA on/off
    assert (t.images_seen == 8).all() and t.groupby("search_model").chosen.sum().eq(1).all()
    best = t.loc[t.groupby("search_model").score.idxmax()]
    assert best.chosen.all() and ((t.score - t[["expression_accuracy", "identity_similarity", "ssim"]].mean(axis=1)).abs() < 1e-9).all()
    md = (tmp_path / "tuning_table.md").read_text()
    assert "seed 1" in md and "command: `.venv/bin/python bench/tuning.py" in md
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert again.returncode == 0 and "a run of" not in again.stdout and "training to step" not in again.stdout


# bench/stargan_dcls.py: each GP reduction x learning rate trains StarGAN (the mean through the module's switch), and
# the table reads D_cls's held-out accuracy from every run's log. Tiny: 10 subjects, 4 steps of 4, logged every 2.
def test_stargan_dcls_curves(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, str(ROOT / "bench" / "stargan_dcls.py"), "--data-root", str(tmp_path / "synth"), "--out",
            str(tmp_path / "runs"), "--steps", "4", "--variants", "sum_lr1e-4", "mean_lr5e-4",
            "--extra", "--batch-size 4 --synth-subjects 10 --log-every 2", "--table", str(tmp_path / "dcls")]
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    import pandas as pd
    from decgan.checkpoint import load_checkpoint
    t = pd.read_csv(tmp_path / "dcls.csv")
    assert t.groupby("variant").step.apply(list).to_dict() == {"mean_lr5e-4": [2, 4], "sum_lr1e-4": [2, 4]}
    assert t.heldout_cls_acc_peak.between(0, 1).all()
    assert load_checkpoint(tmp_path / "runs" / "mean_lr5e-4" / "checkpoint.pt")["config"].lr == 5e-4
    assert "| mean | 0.0005 |" in (tmp_path / "dcls.md").read_text()
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert again.returncode == 0 and "training 4 steps" not in again.stdout


# bench/seeds.py: rows x seeds trained (resumable), scored by one results table, summarised over seeds and identities
# with paired differences to the first row. Tiny: 10 subjects, 8 images a run at batch 2, two seeds, two rows.
def test_seeds_table(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, str(ROOT / "bench" / "seeds.py"), "--data-root", str(tmp_path / "synth"), "--out",
            str(tmp_path / "seeds"), "--runs", "decgan", "no_pool", "--seeds", "0", "1", "--images", "8",
            "--extra", "--batch-size 2 --synth-subjects 10", "--judge-epochs", "2", "--n-boot", "50",
            "--table", str(tmp_path / "seeds_table")]
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    import pandas as pd
    from decgan.checkpoint import load_checkpoint
    t = pd.read_csv(tmp_path / "seeds_table.csv")
    assert set(t.run) == {"decgan", "no_pool"} and (t.n_seeds == 2).all()
    assert t[t.run == "decgan"]["diff"].isna().all() and t[t.run == "no_pool"].verdict.notna().all()
    assert load_checkpoint(tmp_path / "seeds" / "no_pool" / "seed_1" / "checkpoint.pt")["config"].seed == 1
    md = (tmp_path / "seeds_table.md").read_text()
    assert "Judges: " in md and "DECGAN without history pool" in md and "command: `.venv/bin/python bench/seeds.py" in md
    # --no-train scores what is finished: a row keeps the seeds it has, nothing is trained
    (tmp_path / "seeds" / "no_pool" / "seed_1" / "checkpoint.pt").unlink()
    again = subprocess.run([*args[:-1], str(tmp_path / "partial"), "--no-train"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=HANG_GUARD_S)
    assert again.returncode == 0, again.stderr[-3000:]
    t = pd.read_csv(tmp_path / "partial.csv").groupby("run").n_seeds.first().to_dict()
    assert t == {"decgan": 2, "no_pool": 1} and "steps" not in again.stdout


def _bench_module(name):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(ROOT / "bench"))


# The plateau rule: the first budget after which the next two budgets keep every metric inside its interval.
def test_plateau_is_the_first_budget_that_two_more_doublings_do_not_leave():
    import pandas as pd
    bc = _bench_module("budget_curve")
    def curve(values):
        t = pd.DataFrame({"images_seen": [1, 2, 4, 8, 16][:len(values)]})
        for m in bc.PLATEAU_METRICS:
            t[m] = values
            t[m + "_lo"], t[m + "_hi"] = t[m] - 0.02, t[m] + 0.02
        return t
    assert bc.plateau_index(curve([0.5, 0.7, 0.80, 0.81, 0.80])) == 2
    assert bc.plateau_index(curve([0.5, 0.7, 0.80, 0.81])) is None          # one doubling after 0.80 is not enough
    assert bc.plateau_index(curve([0.5, 0.7, 0.80, 0.81, 0.90])) is None    # still climbing at the end
    t = curve([0.5, 0.7, 0.80, 0.81, 0.80])
    t.loc[3, "ssim"] = 0.95                                                  # one metric moving is enough to go on
    assert bc.plateau_index(t) is None
    # the interval is the earlier budget's: a wide interval at the start does not make a climb a plateau
    t = curve([0.5, 0.7, 0.80, 0.81, 0.80]); t.loc[0, [f"{m}_hi" for m in bc.PLATEAU_METRICS]] = 0.9
    assert bc.plateau_index(t) == 0


# Budgets in images seen: every model trains images // its own batch steps (IcGAN's batch is 64 in the demo preset);
# each point records its generator updates and CPU seconds; the curves are drawn; a rerun trains nothing new.
def test_budget_curve_in_images_seen_with_costs_and_curves(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, str(ROOT / "bench" / "budget_curve.py"), "--out", str(tmp_path / "budget"), "--images", "8", "16",
            "--variants", "decgan", "stargan", "--until-plateau", "--data-root", str(tmp_path / "synth"), "--judge-epochs", "2",
            "--n-boot", "50", "--extra", "--batch-size 4 --synth-subjects 10", "--table", str(tmp_path / "curves"),
            "--plot", str(tmp_path / "curves.png")]
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    import pandas as pd
    t = pd.read_csv(tmp_path / "curves.csv")
    assert t.run.tolist() == ["decgan", "decgan", "stargan", "stargan"] and t.step.tolist() == [2, 4, 2, 4]
    assert t.images_seen.tolist() == [8, 16, 8, 16]
    assert t.g_updates.tolist() == [2, 4, 0, 0]            # StarGAN's G moves on every fifth step (the 5th is index 4)
    # StarGAN's learning rate follows cfg.steps (linear decay over the second half), so each of its budgets is a run of
    # its own: the 2-step point is a 2-step run (decayed to 0 at step 2), not step 2 of the 4-step run. DECGAN's
    # schedule does not read its budget: its points are snapshots of one run.
    from decgan.checkpoint import load_checkpoint
    bc = _bench_module("budget_curve")
    assert bc.step_scheduled(["--model", "stargan"]) and bc.step_scheduled(["--model", "icgan"])
    assert not bc.step_scheduled(bc.VARIANTS["decgan"][0]) and bc.step_scheduled(bc.VARIANTS["stargan"][0])
    for s in (2, 4):
        ck = load_checkpoint(tmp_path / "budget" / "stargan" / f"steps_{s}" / "checkpoint.pt")
        assert ck["step"] == s and ck["config"].steps == s and ck["config"].model == "stargan"
        assert load_checkpoint(tmp_path / "budget" / "decgan" / f"step_{s}.pt")["config"].steps == 4
    assert not (tmp_path / "budget" / "stargan" / "step_2.pt").exists()
    assert (t.cpu_s > 0).all() and (t[t.run == "decgan"].cpu_s.diff().dropna() > 0).all()   # cumulative over snapshots
    assert not t.plateau_reached.any()                    # two budgets cannot confirm a plateau
    md = (tmp_path / "curves.md").read_text()
    assert "not reached within the budgets trained: DECGAN, StarGAN" in md and "its best budget (no plateau within 16 images)" in md
    c = pd.read_csv(tmp_path / "curves_comparisons.csv")       # StarGAN at its best point minus DECGAN at its own
    assert set(c.model) == {"StarGAN"} and set(c.reference) == {"DECGAN"} and len(c) == 3 and "| StarGAN | ssim |" in md
    assert (tmp_path / "curves.png").stat().st_size > 0
    again = subprocess.run(args + ["--no-train"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert again.returncode == 0 and "took" not in again.stdout, again.stdout[-2000:]
    assert pd.read_csv(tmp_path / "curves.csv").equals(t)   # the scores were kept beside the checkpoints, not redone


# bench/paper_preset.py: DECGAN with --preset paper (64x64), snapshots scored with the EMA and the last weights, the
# curve, Figs 3-4 at 64 px from the best snapshot; a rerun trains and scores nothing new. Both runs side by side
# (--parallel, a lane each), and a lane that fails fails the whole. Tiny: a quarter of the widths, batch 2, 10
# subjects, judges of 1 epoch.
def test_paper_preset_snapshots_both_weights_and_figures(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    script = [sys.executable, str(ROOT / "bench" / "paper_preset.py"), "--steps", "2", "4", "--judge-epochs", "1",
              "--n-boot", "20"]
    bad = subprocess.run([*script, "--out", str(tmp_path / "bad"), "--data-root", str(tmp_path / "bad_synth"), "--parallel",
                          "--extra=--synth-subjects 10 --no-such-flag"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=HANG_GUARD_S)
    assert bad.returncode != 0 and "lane(s) failed: paper (exit 1), recipe (exit 1)" in bad.stderr, bad.stderr[-3000:]
    args = [*script, "--out", str(tmp_path / "runs"), "--data-root", str(tmp_path / "synth"),
            "--extra", "--batch-size 2 --width 0.25 --synth-subjects 10"]
    out = ["--table", str(tmp_path / "paper_preset"), "--plot", str(tmp_path / "paper_preset.png"), "--figures", str(tmp_path)]
    p = subprocess.run([*args, "--parallel", *out], cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    assert p.stdout.count("took") == 4      # each lane trained its two snapshots
    from decgan.checkpoint import load_checkpoint
    ck = load_checkpoint(tmp_path / "runs" / "recipe" / "step_4.pt")
    cfg = ck["config"]
    assert (cfg.preset, cfg.image_size, cfg.lr, cfg.ema_beta, ck["step"]) == ("paper", 64, 5e-4, 0.999, 4)
    assert load_checkpoint(tmp_path / "runs" / "paper" / "step_4.pt")["config"].lr == 2e-4
    import pandas as pd
    first = pd.read_csv(tmp_path / "paper_preset.csv")
    again = subprocess.run([*args, "--no-train", *out], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=HANG_GUARD_S)
    assert again.returncode == 0 and "took" not in again.stdout, f"{again.stdout[-2000:]}\n{again.stderr[-3000:]}"
    t = pd.read_csv(tmp_path / "paper_preset.csv")
    assert t.equals(first)                  # the rerun trained and scored nothing: the lanes had
    assert sorted(zip(t.weights, t.step)) == sorted([("EMA", 2), ("EMA", 4), ("last", 2), ("last", 4)] * 2)
    assert sorted(set(t.run)) == ["paper", "recipe"]
    assert (t.cpu_s > 0).all() and (t.wall_s > 0).all() and (t.images_seen == 2 * t.step).all()
    assert (t.device == "cpu").all() and (t.planned_steps == 4).all() and (t.batch_size == 2).all() and t.machine.notna().all()
    for f in ("paper_preset.png", "fig3_paper_preset.png", "fig4_paper_preset.png"): assert (tmp_path / f).stat().st_size > 0
    assert "still moving at 4 steps" in (tmp_path / "paper_preset.md").read_text()
    # the README's paragraph is written from this table, with the curve and both figures
    sys.path.insert(0, str(ROOT / "tools"))
    try: import readme_results
    finally: sys.path.remove(str(ROOT / "tools"))
    text = readme_results.paper_preset(tmp_path)
    assert text.startswith("### The paper preset, trained here: 64×64, Tables 1–2, 4 steps (8 images) a run;"), text
    assert "Neither setting is flat within 4 steps" in text and "](figures/fig4_paper_preset.png)" in text


# A lane paused before its target (SIGTERM or SIGINT makes the training checkpoint where it is and exit; `--stop-at`
# stands in for the signal here) records what the part it trained cost and stops saying so; rerunning continues from
# that checkpoint, and the parts' costs add up to the snapshot's.
def test_a_paused_lane_records_its_cost_and_continues(tmp_path, monkeypatch):
    import pandas as pd
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    bc = _bench_module("budget_curve")
    run = tmp_path / "run"
    run.mkdir()
    common = ["--data-root", str(tmp_path / "synth"), "--synth-subjects", "10", "--batch-size", "2", "--model", "decgan",
              "--steps", "4"]
    with pytest.raises(SystemExit, match="paused at step 2 of 4"):
        bc.train_until("decgan", run, 4, [*common, "--stop-at", "2"], what="the first part")
    bc.train_until("decgan", run, 4, common, what="the rest")
    c = pd.read_csv(run / "cost.csv")
    assert list(c.step) == [2, 4] and (c.cpu_s > 0).all() and (c.wall_s > 0).all()
    assert bc.cpu_seconds(run, 4) == pytest.approx(c.cpu_s.sum()) and bc.cpu_seconds(run, 2) == pytest.approx(c.cpu_s[0])
    assert bc.cpu_seconds(run, 4, "wall_s") == pytest.approx(c.wall_s.sum())
    assert "paused at step 2 of 4" in (run / "train.log").read_text()
