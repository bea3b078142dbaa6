"""The README's own commands, run as printed, so that the README cannot drift from what works.

Every fenced shell command of README.md that calls papermill, `python -m decgan…`, `decgan …` or `make …` is run
exactly as written in a scratch folder laid out like a fresh clone (the notebooks, `.venv`, an empty `runs/`), with
only three changes: the data root of a command is pointed at a small synthetic tree of the command's dataset
(CK+, RAF-DB or folder format), the photo it names is a real face that ships with scikit-image (the astronaut), and a
tiny budget is appended (a few steps of a tiny batch; 2 judge epochs for the figures chapter). The commands run in
README order, so the figures command evaluates the checkpoints that the training commands above it wrote.
Two README commands are run elsewhere or not at all, and the test says which: `make demo` is the command of
tests/test_demo.py (which reads it from here), `make test` is this suite itself, `make lab` starts a server.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VENV = Path(sys.executable).parent.parent if (Path(sys.executable).parent / "papermill").exists() else ROOT / ".venv"
HANG_GUARD_S = 900  # only so that a broken build cannot hang CI forever; no test asserts a duration
NOT_RUN_HERE = {"make demo": "run by tests/test_demo.py, which takes the command from this README",
                "make test": "the test suite itself", "make lab": "starts a JupyterLab server"}
TINY = {"papermill 06_train": ["-p", "steps", "3", "-p", "batch_size", "2"],
        "papermill 08_figures": ["-p", "judge_epochs", "2", "-p", "n_boot", "50"],
        "train": ["--steps", "3", "--batch-size", "2"]}


def readme_commands(text: str) -> list[str]:
    "The commands of the fenced shell blocks of a README (continuation lines joined, comments kept out)."
    cmds = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"): cmds.append(line)
    return cmds


def runner(argv: list[str]) -> str | None:
    "Which kind of command `argv` is ('papermill', 'python -m decgan', 'decgan', 'make', 'torchrun'), or None."
    exe = Path(argv[0]).name
    if exe == "python" and argv[1:3] == ["-m", argv[2]] and argv[2].startswith("decgan"): return "python -m decgan"
    return exe if exe in ("papermill", "decgan", "make", "torchrun") else None


def test_readme_commands_parse():
    cmds = [shlex.split(c, comments=True) for c in readme_commands(README.read_text(encoding="utf-8"))]
    kinds = [runner(a) for a in cmds]
    assert kinds.count("papermill") >= 4 and "python -m decgan" in kinds and "decgan" in kinds
    assert ["make", "demo"] in cmds and ["make", "test"] in cmds


def faces_folder(root: Path) -> Path:
    "root/<expression>/*.png: drawn faces, four identities per expression, as a user's folder of photos would be."
    from decgan.core import EXPRESSIONS
    from decgan.synth import render_faces
    for e, name in enumerate(EXPRESSIONS):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(render_faces(list(range(4)), [e] * 4, size=96, flavour="wild")):
            Image.fromarray(img).save(root / name / f"face{i}.png")
    return root


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    "A folder laid out like a fresh clone, with the synthetic trees and the photo the commands will be pointed at."
    from decgan.synth_data import write_ckplus_tree, write_rafdb_tree
    from skimage.data import astronaut
    work, data = tmp_path_factory.mktemp("clone"), tmp_path_factory.mktemp("data")
    (work / "nbs").symlink_to(ROOT / "nbs")
    (work / ".venv").symlink_to(VENV)
    shutil.copytree(ROOT / "runs", work / "runs", ignore=lambda d, names: [n for n in names if n != "README.md"])
    trees = {"ckplus": write_ckplus_tree(data / "ck", 6), "rafdb": write_rafdb_tree(data / "raf", 40),
             "folder": faces_folder(data / "folder")}
    return work, trees, astronaut()


def adapted(argv: list[str], *, trees: dict, work: Path, photo: np.ndarray) -> list[str]:
    "`argv` with its data root pointed at the synthetic tree of its dataset, its photo written, and a tiny budget."
    argv = list(argv)
    dataset = next((argv[i + 1] for i, a in enumerate(argv[:-1])
                    if (a == "dataset" and argv[i - 1] == "-p") or a == "--dataset"), None)
    for i, a in enumerate(argv[:-1]):
        if (a == "data_root" and argv[i - 1] == "-p") or a == "--data-root":
            assert dataset in trees, f"a data root without a dataset this test can make: {argv}"
            argv[i + 1] = str(trees[dataset])
    kind = runner(argv)
    if kind == "papermill":
        argv += TINY["papermill 06_train"] if "06_train" in argv[1] else TINY["papermill 08_figures"]
    elif kind == "python -m decgan" and argv[2] == "decgan.train":
        argv += TINY["train"]
    elif kind == "decgan":
        for a in argv[2:]:
            if a.lower().endswith((".jpg", ".png")) and not (work / a).exists() and not a.startswith("runs/"):
                Image.fromarray(photo).save(work / a)
                break
    return argv


def test_readme_commands_run_as_printed(scratch):
    work, trees, photo = scratch
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}  # IN_TEST would make the notebooks ignore -p
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    ran, not_run = [], []
    for line in readme_commands(README.read_text(encoding="utf-8")):
        argv = shlex.split(line, comments=True)
        kind = runner(argv)
        if kind is None: continue
        if kind == "torchrun":   # several processes per GPU; DDP itself is tested in tests/test_train.py (2 CPU processes)
            not_run.append((line, "torchrun: its 2-process DDP path is tested in tests/test_train.py"))
            continue
        key = " ".join(argv[:2]) if kind == "make" else None
        if key is not None:
            assert key in NOT_RUN_HERE, f"a README make command this test does not know how to run: {line}"
            not_run.append((line, NOT_RUN_HERE[key]))
            continue
        cmd = adapted(argv, trees=trees, work=work, photo=photo)
        p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
        assert p.returncode == 0, (f"README command failed (exit {p.returncode}): {line}\nrun as: {shlex.join(cmd)}\n"
                                   f"--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-5000:]}")
        ran.append(line)
    print("\nran:\n  " + "\n  ".join(ran) + "\nnot run here:\n  " + "\n  ".join(f"{l}  ({why})" for l, why in not_run))
    assert len(ran) >= 7, ran
    # what the commands promised exists: every training run's checkpoint, the figures run's table, the photo
    for out in ("ckplus", "rafdb", "rafdb_icgan", "faces", "rafdb_cli"):
        assert (work / "runs" / out / "checkpoint.pt").is_file(), out
    assert (work / "runs" / "rafdb_figures" / "results.md").is_file()
    assert (work / "my_photo_happiness.jpg").is_file()


def test_runs_folder_exists_in_a_clone():
    "papermill refuses to create the folder of its output notebook; the README's commands write into runs/."
    tracked = subprocess.run(["git", "ls-files", "runs"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert tracked == ["runs/README.md"], tracked


# --- the paper preset's paragraph: from bench/paper_preset.py's table to what a GPU user should start from ----------
def _readme_results():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import readme_results
        return readme_results
    finally:
        sys.path.remove(str(ROOT / "tools"))


def _paper_preset_csv(path: Path, *, flat: dict, last: int = 9000, planned: int = 9000, better: str = "recipe",
                      device: str = "cpu", machine: str = "AMD EPYC, 2 cores") -> Path:
    "A made-up figures/paper_preset.csv: both runs, both weights, a snapshot every 1,500 steps to `last`."
    import csv
    rows = []
    for run, what in (("paper", "the paper's settings"), ("recipe", "the demo's recipe")):
        for weights in ("EMA", "last"):
            for step in range(1500, last + 1, 1500):
                v = 0.5 + step / 40000 + (0.05 if run == better else 0) + (0.01 if weights == "EMA" else 0)
                rows.append(dict(run=run, weights=weights, what=what, variant=f"{run} ({weights})", step=step,
                                 images_seen=16 * step, cpu_s=5.8 * step, wall_s=(0.03 if device == "cuda" else 5.9) * step,
                                 n=144, n_subjects=24,
                                 **{k: v + d for m in ("expression_accuracy", "identity_similarity", "ssim")
                                    for k, d in ((m, 0), (m + "_lo", -0.02), (m + "_hi", 0.02))},
                                 plateau=str(weights == "EMA" and flat.get(run) == step), planned_steps=planned,
                                 batch_size=16, machine=machine, device=device, checkpoint=f"runs/{run}/step_{step}.pt"))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader(); w.writerows(rows)
    return path


@pytest.mark.parametrize("case", ["partial", "both", "only recipe", "neither"])
def test_paper_preset_paragraph_says_what_to_start_from(tmp_path, case):
    rr = _readme_results()
    assert "not measured yet" in rr.paper_preset(tmp_path)          # no table: how to measure it
    flat = {"partial": {}, "both": {"paper": 4500, "recipe": 3000}, "only recipe": {"recipe": 3000}, "neither": {}}[case]
    _paper_preset_csv(tmp_path / "paper_preset.csv", flat=flat, last=3000 if case == "partial" else 9000)
    text = rr.paper_preset(tmp_path)
    head = text.splitlines()[0]
    assert head.startswith("### The paper preset, trained here: 64×64") and "AMD EPYC, 2 cores" in head
    assert ("3,000 steps (48,000 images) a run of 9,000 so far" in head if case == "partial"
            else "9,000 steps (144,000 images) a run;" in head)
    recipe = "`-p preset paper -p lr 5e-4 -p ema_beta 0.999`"
    if case == "partial":
        assert "not yet written" in text and "3,000 of their 9,000 steps" in text
    elif case == "both":
        assert "Both settings converge at 64×64 (paper flat from 4,500 steps, recipe flat from 3,000 steps)" in text
        assert f"Start from recipe, {recipe}, for at least 3,000 steps (48,000 images), and evaluate its EMA" in text
    elif case == "only recipe":
        assert "Only recipe converges within 9,000 steps (flat from 3,000); paper is still moving at 9,000." in text
        assert f"Start from recipe, {recipe}, for at least 3,000 steps" in text
    else:
        assert "Neither setting is flat within 9,000 steps" in text and f"start from it, {recipe}" in text
    assert "- **paper** (the paper's settings): " in text and "- **recipe** (the demo's recipe): " in text


def test_paper_preset_heading_counts_what_the_run_cost_where_it_ran(tmp_path):
    "A CPU run's cost is core-hours (its CPU seconds); a GPU run's is wall-clock hours (its CPU seconds say nothing)."
    rr = _readme_results()
    _paper_preset_csv(tmp_path / "paper_preset.csv", flat={"recipe": 3000})
    assert "hours of one core on AMD EPYC, 2 cores: paper 14.5, recipe 14.5" in rr.paper_preset(tmp_path).splitlines()[0]
    _paper_preset_csv(tmp_path / "paper_preset.csv", flat={"recipe": 3000}, device="cuda", machine="NVIDIA H100 80GB HBM3")
    head = rr.paper_preset(tmp_path).splitlines()[0]
    assert "wall-clock hours on NVIDIA H100 80GB HBM3: paper 0.07, recipe 0.07" in head and "core" not in head

