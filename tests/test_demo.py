"""Process-level test of the main job, `make demo` exactly as README.md prints it (tools/demo.sh does the work): the
runs of tools/demo_runs.tsv on both synthetic trees and the judges go through the lanes' shared queue, every
ablation's parameters reach the training notebook, a failed job stops the job with its log named, and the figures
chapter writes one table row per run and Fig 5 from the RAF-DB-format runs. Tiny: 4 steps of batch 4, judges of 2
epochs, runs and figures in temporary folders (never the repository's runs/ or figures/), passed by environment."""
import re
import shlex
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from decgan.checkpoint import load_model

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HANG_GUARD_S = 1500  # only so that a broken build cannot hang CI forever; no test asserts a duration


def readme_demo_command() -> list[str]:
    "The `make demo` line of README.md's fenced commands: what this file runs."
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [l.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S) for l in b.splitlines()]
    found = [shlex.split(l, comments=True) for l in lines if l.startswith("make demo")]
    assert found == [["make", "demo"]], found
    return found[0]


def demo(out: Path, figures: Path, **env) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("IN_TEST", "MAKEFLAGS", "MFLAGS")}   # IN_TEST: notebooks ignore -p
    e.update(OMP_NUM_THREADS="1", DEMO_OUT=str(out), FIGURES=str(figures), TRAIN_EXTRA="-p steps 4 -p batch_size 4",
             JUDGE_EPOCHS="2", **env)
    return subprocess.run(readme_demo_command(), cwd=ROOT, env=e, capture_output=True, text=True, timeout=HANG_GUARD_S)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out, figures = tmp_path_factory.mktemp("demo"), tmp_path_factory.mktemp("figures")
    p = demo(out, figures)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-4000:]}"
    return out, figures, p


def test_every_job_ran_once(finished):
    out, _, p = finished
    for job in ("decgan", "icgan", "decgan_rafdb", "icgan_rafdb", "icgan_2x", "no_assoc", "no_pool", "shared_g",
                "stargan", "stargan_rafdb", "judges_ckplus", "judges_rafdb"):
        assert p.stdout.count(f">> {job}: started") == 1, p.stdout
        assert f">> {job}: done in" in p.stdout
        assert (out / f"{job}.log").is_file()
    assert not (out / ".claims").exists()                         # the queue's claims are cleaned up


def test_ablations_train_what_they_say(finished):
    out, _, _ = finished
    cfgs = {run: load_model(out / run / "checkpoint.pt")[1] for run in ("decgan", "no_assoc", "no_pool", "shared_g")}
    assert (cfgs["decgan"].association, cfgs["decgan"].pool_size, cfgs["decgan"].shared_generator) == ("expression", 50, False)
    assert cfgs["no_assoc"].association == "none"
    assert cfgs["no_pool"].pool_size == 0
    assert cfgs["shared_g"].shared_generator is True
    net, _ = load_model(out / "shared_g" / "checkpoint.pt")
    assert net.G2 is net.G1                                       # one generator plays both parts
    for c in cfgs.values():                                       # the same budget and data for every run
        assert (c.steps, c.batch_size, c.preset) == (4, 4, "demo")
        assert Path(c.data_root) == out / "synth"
    raf = load_model(out / "decgan_rafdb" / "checkpoint.pt")[1]              # Fig 5's runs: the RAF-DB-format tree
    assert (raf.dataset, Path(raf.data_root), raf.steps) == ("rafdb", out / "synth_rafdb", 4)


def test_table_has_a_row_per_run(finished):
    _, figures, _ = finished
    table = pd.read_csv(figures / "results.csv")
    models = table[table.kind == "model"].set_index("model")
    assert set(models.index) == {"DECGAN", "IcGAN", "StarGAN", "IcGAN at twice the budget",
                                 "DECGAN without associative loss", "DECGAN without history pool",
                                 "DECGAN with one shared generator"}
    assert models.index[0] == "DECGAN"
    assert models.loc["DECGAN without associative loss", "changes"] == "association=none"
    assert models.loc["DECGAN without history pool", "changes"] == "pool_size=0"
    assert models.loc["DECGAN with one shared generator", "changes"] == "shared_generator=True"
    assert (models.images_seen == 16).all()
    md = (figures / "results.md").read_text()
    assert "and ablations" in md and "## Training runs" in md and "not DECGAN's budget" not in md
    for name in ("fig3_synth.png", "fig4_synth.png", "fig5_rafdb.png", "fig5_synth_ablations.png", "demo_samples_decgan.png",
                 "demo_samples_icgan.png", "results_rafdb.csv", "demo_timing.csv"):
        assert (figures / name).stat().st_size > 0, name
    comps = pd.read_csv(figures / "results_comparisons.csv")
    assert {"DECGAN without associative loss", "DECGAN without history pool",
            "DECGAN with one shared generator"} <= set(comps.model)     # each ablation, paired against DECGAN


def test_rerun_continues_and_a_failure_names_its_log(finished, tmp_path):
    out, _, _ = finished
    # a second run finds every checkpoint finished (resume=True) and trains nothing new
    figures = tmp_path / "figures"
    p = demo(out, figures, ABLATIONS="0")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert ">> no_assoc: started" not in p.stdout                  # ABLATIONS=0: the main job alone
    for run in ("decgan", "icgan"): assert "steps 4 -> 4" in (out / f"{run}.log").read_text()
    table = pd.read_csv(figures / "results.csv")
    assert table[table.kind == "model"].model.tolist() == ["DECGAN", "IcGAN"]
    raf = pd.read_csv(figures / "results_rafdb.csv")
    assert raf[raf.kind == "model"].model.tolist() == ["DECGAN", "IcGAN"]
    # a run that cannot go on (its checkpoint is corrupt) stops the job, and the message names the log
    broken = tmp_path / "broken"
    shutil.copytree(out / "synth", broken / "synth")
    shutil.copytree(out / "synth_rafdb", broken / "synth_rafdb")
    (broken / "icgan").mkdir()
    (broken / "icgan" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    p = demo(broken, tmp_path / "figures2", ABLATIONS="0")
    assert p.returncode != 0
    assert f"FAIL: icgan: see {broken / 'icgan.log'}" in p.stdout
    assert not (tmp_path / "figures2" / "results.csv").exists()    # no table from a half-finished job
