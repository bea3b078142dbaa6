"""Process-level tests of the training chapter (nbs/06_train.ipynb, decgan.train): papermill runs of the notebook,
the command line, resuming bit for bit across processes, SIGINT/SIGTERM, and two-process DistributedDataParallel
on the CPU (Gloo). Everything runs tiny: 32 px, quarter width, batch 4, a 3-subject synthetic set."""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from decgan.checkpoint import load_checkpoint, load_model
from decgan.distributed import fingerprint
from decgan.train import synth_tree

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "nbs" / "06_train.ipynb"
HANG_GUARD_S = 900  # only so that a broken build cannot hang CI forever; no test asserts a duration
TINY = ["--batch-size", "4", "--precision", "bf16", "--synth-subjects", "3", "--device", "cpu", "--log-every", "1", "--sample-every", "5",
        "--ckpt-every", "5"]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}  # IN_TEST would make the notebook ignore -p
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def _run(args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=HANG_GUARD_S, **kw)


def _ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}"
    return p


def _start_cli(*flags) -> subprocess.Popen:
    "`python -m decgan.train` with the tiny settings and `flags`, started in the background."
    return subprocess.Popen([sys.executable, "-m", "decgan.train", *TINY, *map(str, flags)], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=HANG_GUARD_S)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def cli(*flags) -> subprocess.CompletedProcess:
    return _finish(_start_cli(*flags))


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    "One tiny synthetic CK+-format tree shared by every run of this file."
    return synth_tree(tmp_path_factory.mktemp("data") / "synth", n_subjects=3)


def csv_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "losses.csv", newline="") as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


def same_weights(a: Path, b: Path) -> None:
    na, nb = load_checkpoint(a)["state"]["nets"], load_checkpoint(b)["state"]["nets"]
    assert na.keys() == nb.keys()
    diff = [k for k in na if not torch.equal(na[k], nb[k])]
    assert not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"


# --- papermill: the notebook is the user interface --------------------------------------------------------------
@pytest.mark.parametrize("model", ["decgan", "icgan", "stargan"])
def test_papermill_smoke(model, synth, tmp_path):
    "Every model trains from papermill with -p parameters; DECGAN's run is then resumed from papermill too."
    out = tmp_path / "run"

    def papermill(steps, resume):
        return _ok(_run([sys.executable, "-m", "papermill", str(NOTEBOOK),
                         str(tmp_path / f"executed-{steps}.ipynb"), "-p", "model", model, "-p", "steps", str(steps),
                         "-p", "batch_size", "3", "-p", "synth_subjects", "3", "-p", "data_root", str(synth),
                         "-p", "out_dir", str(out), "-p", "device", "cpu", "-p", "resume", str(resume), "--log-output"]))

    first = papermill(4, False)
    ck = load_checkpoint(out / "checkpoint.pt", model=model, preset="demo")
    assert ck["step"] == 4
    assert ck["config"].batch_size == 3  # the -p values reached the run
    # precision 'auto' was settled at setup: the header names the choice and the checkpoint stores it, resolved
    assert ck["config"].precision in ("bf16", "fp32")
    assert f"cpu, {ck['config'].precision} (" in first.stdout + first.stderr
    assert (out / "samples.png").stat().st_size > 0 and list((out / "tb").glob("events.out.tfevents.*"))
    net, cfg = load_model(out / "checkpoint.pt")
    assert not net.training and cfg.model == model
    if model != "decgan": return  # the baselines' resume is tested below, across processes, bit for bit
    again = papermill(6, True)  # resumable from papermill, in the precision the run started in
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 6
    assert f"{ck['config'].precision} (as the run was started)" in again.stdout + again.stderr
    assert csv_steps(out) == [4, 6]  # log_every 25 (demo preset): a row at the end of each run


def test_papermill_refuses_an_unknown_parameter(synth, tmp_path):
    "papermill itself only warns about a -p name the notebook lacks; the chapter refuses it before training."
    p = _run([sys.executable, "-m", "papermill", str(NOTEBOOK), str(tmp_path / "x.ipynb"), "-p", "lamda_rec", "5",
              "-p", "data_root", str(synth), "-p", "out_dir", str(tmp_path / "run")])
    assert p.returncode != 0
    assert "unknown parameter(s) lamda_rec" in p.stdout + p.stderr and "lambda_rec" in p.stdout + p.stderr
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_every_config_field_is_a_parameter_and_a_flag(synth, tmp_path):
    "Fields the old hand-written cell dropped (align, lr, image_size, log_every) now reach the run from both routes."
    base = ["-p", "steps", "2", "-p", "batch_size", "3", "-p", "synth_subjects", "3", "-p", "data_root", str(synth),
            "-p", "device", "cpu", "-p", "align", "landmarks", "-p", "lr", "0.0003", "-p", "image_size", "16",
            "-p", "log_every", "1", "-p", "lr_d", "0.0006", "-p", "precision", "fp32"]
    _ok(_run([sys.executable, "-m", "papermill", str(NOTEBOOK), str(tmp_path / "x.ipynb"), *base,
              "-p", "out_dir", str(tmp_path / "pm")]))
    cli_args = [x for k, v in zip(base[1::3], base[2::3]) for x in (f"--{k.replace('_', '-')}", v)]
    _ok(_run([sys.executable, "-m", "decgan.train", *cli_args, "--out-dir", str(tmp_path / "cli")]))
    for run in ("pm", "cli"):
        c = load_checkpoint(tmp_path / run / "checkpoint.pt")["config"]
        assert (c.align, c.lr, c.image_size, c.log_every, c.lr_d, c.precision) == ("landmarks", 3e-4, 16, 1, 6e-4, "fp32")


# --- resuming across processes is exact ---------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["decgan", "icgan", "stargan"])
def test_resume_is_bitwise(model, synth, tmp_path):
    common = ["--model", model, "--steps", 10, "--data-root", synth]
    straight = _start_cli(*common, "--out-dir", tmp_path / "straight")  # the two first runs side by side
    p = _ok(cli(*common, "--out-dir", tmp_path / "split", "--stop-at", 5))
    _ok(_finish(straight))
    assert "paused at step 5 of 10" in p.stdout
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["step"] == 5
    r = _ok(cli(*common, "--out-dir", tmp_path / "split", "--resume"))
    same_weights(tmp_path / "straight" / "checkpoint.pt", tmp_path / "split" / "checkpoint.pt")
    assert csv_steps(tmp_path / "split") == list(range(1, 11))  # the CSV continues without gaps or repeats
    assert "differ from the checkpoint's" not in r.stderr        # the same settings: nothing to say
    if model != "decgan": return
    # a resume that changes what the run learns (here the learning rate) says so by name
    r = _ok(cli("--model", model, "--steps", 11, "--data-root", synth, "--out-dir", tmp_path / "split", "--resume",
                "--lr", "0.00123"))
    assert "settings that differ from the checkpoint's" in r.stderr and "lr: " in r.stderr and "-> 0.00123" in r.stderr


# --- SIGINT / SIGTERM save and exit cleanly ---------------------------------------------------------------------
def test_signals_save_and_exit_cleanly(synth, tmp_path):
    "A run stopped by SIGINT and one stopped by SIGTERM (side by side) each save a checkpoint and exit 0."
    outs = {sig: tmp_path / sig.name for sig in (signal.SIGINT, signal.SIGTERM)}
    procs = {sig: _start_cli("--steps", 100000, "--data-root", synth, "--out-dir", out) for sig, out in outs.items()}
    deadline = time.monotonic() + HANG_GUARD_S
    for sig, proc in procs.items():
        out = outs[sig]
        while not ((out / "losses.csv").is_file() and len(csv_steps(out)) >= 2):  # training is under way
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        proc.send_signal(sig)
    for sig, proc in procs.items():
        done = _finish(proc)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        assert f"stopped by {sig.name}" in done.stdout
        assert 2 <= load_checkpoint(outs[sig] / "checkpoint.pt")["step"] < 100000
    # and a stopped run continues from where it stopped
    out = outs[signal.SIGTERM]
    step = load_checkpoint(out / "checkpoint.pt")["step"]
    p = _ok(cli("--steps", step + 2, "--data-root", synth, "--out-dir", out, "--resume"))
    assert f"steps {step} -> {step + 2}" in p.stdout and load_checkpoint(out / "checkpoint.pt")["step"] == step + 2


# --- DistributedDataParallel: two Gloo processes on the CPU -------------------------------------------------------
@pytest.mark.parametrize("model", ["decgan", "icgan", "stargan"])
def test_ddp_two_processes_keep_identical_weights(model, synth, tmp_path):
    out = tmp_path / "ddp"
    p = _ok(_run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                  "-m", "decgan.train", *TINY, "--model", model, "--steps", "4", "--data-root", str(synth),
                  "--out-dir", str(out)]))
    assert p.stdout.count("finished: step 4 of 4") == 1  # only rank 0 reports
    ck = load_checkpoint(out / "checkpoint.pt")
    state = ck["state"]
    assert len(state["fingerprints"]) == 2 and len(set(state["fingerprints"])) == 1  # both ranks, same weights
    net, _ = load_model(out / "checkpoint.pt", average=False)   # the trained weights (the EMA is another copy)
    assert fingerprint(net) == state["fingerprints"][0]  # ... and they are the saved ones
    r0, r1 = (r["rng"]["sampler"] for r in state["ranks"])
    assert not torch.equal(r0, r1)  # each rank draws its own batches
    assert csv_steps(out) == [1, 2, 3, 4]  # one writer
