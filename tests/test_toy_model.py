"""Issue 24's proof that the model interface holds: a toy model registered from outside the package (tests/toy_model.py)
trains through decgan.train, is stopped by a real SIGTERM, resumes bit for bit, is evaluated and drawn — through the
package's own code paths, with no package module changed or branching on its name."""
import os
import subprocess
import sys
from pathlib import Path

import torch

from decgan.checkpoint import load_checkpoint, load_model
from decgan.evaluate import build_eval_set, evaluate_checkpoint
from decgan.figures import fig3_paired
from decgan.data import prepare
from decgan.train import synth_tree

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from toy_model import TOY_SPEC, register_toy, toy_config  # noqa: E402


def _train(out, data, steps, *flags):
    r = subprocess.run([sys.executable, str(HERE / "toy_model.py"), str(out), str(data), str(steps), *map(str, flags)],
                       capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout + r.stderr


def _same(a, b, what):
    if isinstance(a, torch.Tensor): assert torch.equal(a, b), what; return
    if isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for k in a: _same(a[k], b[k], f"{what}/{k}")


def test_toy_model_trains_stops_resumes_evaluates_and_draws(tmp_path):
    data = synth_tree(tmp_path / "synth", n_subjects=4)
    straight = tmp_path / "straight"
    log = _train(straight, data, 8)
    assert "toy finished: step 8 of 8" in log
    stopped = tmp_path / "stopped"
    log = _train(stopped, data, 8, "--sigterm-at", 2)             # SIGTERM inside step index 2: saves after step 3
    assert "stopped by SIGTERM at step 3 of 8" in log, log[-2000:]
    assert load_checkpoint(stopped / "checkpoint.pt")["step"] == 3
    _train(stopped, data, 8, "--resume")
    a, b = load_checkpoint(straight / "checkpoint.pt"), load_checkpoint(stopped / "checkpoint.pt")
    assert a["step"] == b["step"] == 8
    for part in ("nets", "optimizers", "ema"): _same(a["state"][part], b["state"][part], part)
    assert a["state"]["ema"]["updates"] == 8 and all(n.startswith("G.") for n in a["state"]["ema"]["weights"])

    register_toy()                                                  # this process reads the checkpoints too
    net, cfg = load_model(straight / "checkpoint.pt")
    assert cfg.model == "toy" and type(net).__name__ == "ToyNet"
    summary = evaluate_checkpoint(straight / "checkpoint.pt", judge_dir=tmp_path / "judges", judge_epochs=2, n_boot=20,
                                  log=None)
    assert "all" in summary.target.tolist()
    assert summary.expression_accuracy.between(0, 1).all() and summary.identity_similarity.notna().all()
    es = build_eval_set(prepare("ckplus", data, size=cfg.image_size, split="test"))
    png, scores = fig3_paired(net, es, tmp_path / "fig3_toy.png", name=TOY_SPEC.title)
    assert png.stat().st_size > 0 and len(scores) > 0
