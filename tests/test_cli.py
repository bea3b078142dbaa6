"""The `decgan` console script as a process: what it writes, what it prints, and its exit code for every bad input.

The checkpoints are made here (an untrained demo-preset DECGAN in the training checkpoint format, and broken
variants of it); the real face is `skimage.data.astronaut()`. Nothing outside the repository is read.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

DECGAN = Path(sys.executable).parent / "decgan"


def run(*args, cwd=None):
    "Run `decgan synthesize ARGS`; returns (exit code, parsed JSON stdout, stderr)."
    env = {**os.environ, "OMP_NUM_THREADS": "1"}   # two shared cores: one thread each is faster (bench/synthesize_speed.py)
    r = subprocess.run([str(DECGAN), "synthesize", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env)
    try:
        out = json.loads(r.stdout)
    except json.JSONDecodeError:
        out = None
    return r.returncode, out, r.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from skimage import data
    from decgan.checkpoint import build_model, save_model
    from decgan.core import Config
    d = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    demo = Config.preset_of("demo")
    ok = save_model(d / "demo.pt", demo)
    save_model(d / "icgan.pt", demo.replace(model="icgan"))
    for dataset in ("rafdb", "ckplus"):                 # checkpoints that say they were trained on real faces
        torch.manual_seed(0)
        save_model(d / f"{dataset}.pt", demo.replace(dataset=dataset))
    # the config says demo width, the weights are of another width: a checkpoint that does not fit its own model
    save_model(d / "mismatch.pt", demo, net=build_model(demo.replace(width=0.5)))
    (d / "corrupt.pt").write_bytes(ok.read_bytes()[:1000])
    torch.save({"weights": torch.zeros(3)}, d / "foreign.pt")
    Image.fromarray(data.astronaut()).save(d / "astronaut.png")
    Image.fromarray(np.full((96, 96, 3), 128, np.uint8)).save(d / "blank.png")
    (d / "notes.jpg").write_text("this is not a picture")
    (d / "folder").mkdir()
    shutil.copy(d / "astronaut.png", d / "folder" / "a.png")
    (d / "folder" / "readme.txt").write_text("not an image")
    (d / "afile").write_text("a file where a folder is needed")
    return d


def test_one_photo_to_expression(files):
    out = files / "res" / "astro_happy.png"
    code, summary, err = run(files / "astronaut.png", "--to", "happy", "--checkpoint", files / "demo.pt", "-o", out)
    assert code == 0, err
    assert summary["written"] == [str(out)] and summary["failed"] == []
    face, = summary["photos"][0]["faces"]
    assert summary["photos"][0]["faces_found"] == 1 and face["target_expression"] == "happiness"
    assert len(face["landmarks"]) == 5 and set(face["source_probabilities"]) >= {"neutral", "surprise"}
    before, after = np.asarray(Image.open(files / "astronaut.png")), np.asarray(Image.open(out))
    assert before.shape == after.shape
    changed = (before != after).any(2)
    ys, xs = np.nonzero(changed)
    x0, y0, x1, y1 = face["crop_box"]
    assert changed.sum() > 1000                                  # the face changed ...
    assert x0 <= xs.min() and xs.max() <= x1 and y0 <= ys.min() and ys.max() <= y1   # ... and nothing outside its crop
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]          # no temp files left
    # the demo checkpoint was trained on drawn faces: said on stderr and in the JSON, once; the exit code stays 0
    assert summary["dataset"] == "synth" and len(summary["warnings"]) == 1
    assert "only seen drawn faces" in summary["warnings"][0] and "not meaningful" in summary["warnings"][0]
    assert err.count("warning: ") == 1 and "only seen drawn faces" in err, err
    assert summary["crop"] == "template"
    # run again as people do: the existing output is replaced (atomically), not refused
    code, again, err = run(files / "astronaut.png", "--to", "happy", "--checkpoint", files / "demo.pt", "-o", out)
    assert code == 0 and again["written"] == [str(out)], err
    assert (np.asarray(Image.open(out)) == after).all()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("dataset, crop", [("rafdb", "rafdb-aligned"), ("ckplus", "template")])
def test_real_face_checkpoints_frame_as_trained(files, dataset, crop):
    "A checkpoint trained on RAF-DB's shipped crops frames the face as those crops were; no drawn-faces warning."
    out = files / f"astro_{dataset}.png"
    code, summary, err = run(files / "astronaut.png", "--to", "sad", "--checkpoint", files / f"{dataset}.pt", "-o", out)
    assert code == 0, err
    assert summary["dataset"] == dataset and summary["crop"] == crop
    assert summary["warnings"] == [] and "warning" not in err
    assert out.is_file()


def test_folder_grid_and_ignored_files(files):
    code, summary, err = run(files / "folder", "--grid", "--checkpoint", files / "demo.pt", "-o", files / "grids")
    assert code == 0, err
    assert summary["ignored"] == [str(files / "folder" / "readme.txt")] and "ignoring 1 non-image" in err
    grid = np.asarray(Image.open(files / "grids" / "a_grid.png"))
    assert grid.shape == (128, 8 * 128, 3)                        # original + 7 expressions, 128 px panels


def test_like_reference(files):
    code, summary, err = run(files / "astronaut.png", "--like", files / "astronaut.png", "--intensity", "0.5",
                             "--checkpoint", files / "demo.pt", "-o", files / "like")
    assert code == 0, err
    assert summary["mode"] == "like" and abs(sum(summary["like_label"].values()) - 1) < 1e-3
    assert Path(summary["written"][0]).name == "astronaut_like-astronaut.png"
    assert "only seen drawn faces" in summary["warnings"][0]


@pytest.mark.parametrize("args, code, message", [
    (["--to", "smug"], 3, "valid names: neutral, anger, disgust, fear, happiness, sadness, surprise"),
    (["--intensity", "1.5", "--to", "sad"], 2, "expected a number in [0, 1]"),
    ([], 2, "one of the arguments --to --like --grid is required"),
    (["--to", "sad", "--like", "x.png"], 2, "not allowed with argument"),
    (["--to", "sad", "--device", "nonsense"], 2, "--device nonsense"),
])
def test_usage_and_expression_errors(files, args, code, message):
    got, summary, err = run(files / "astronaut.png", *args, "--checkpoint", files / "demo.pt", "-o", files / "never")
    assert got == code and message in err, err
    assert not (files / "never").exists()


@pytest.mark.parametrize("photo, code, message", [
    ("notes.jpg", 4, "notes.jpg: not an image"),
    ("missing.png", 4, "missing.png: no such file"),
    ("blank.png", 5, "blank.png: no face found"),
])
def test_bad_photos(files, photo, code, message):
    out = files / f"bad-{photo}.png"
    got, summary, err = run(files / photo, "--to", "sad", "--checkpoint", files / "demo.pt", "-o", out)
    assert got == code and message in err, err
    assert summary["exit_code"] == code and not out.exists()


def test_bad_reference(files):
    got, _, err = run(files / "astronaut.png", "--like", files / "blank.png", "--checkpoint", files / "demo.pt", "-o", files / "x")
    assert got == 5 and "--like" in err and "blank.png: no face found in the reference" in err, err


def test_one_bad_photo_among_good_ones(files):
    "The good photo is written, the bad one reported; the exit code is the bad one's."
    got, summary, err = run(files / "astronaut.png", files / "notes.jpg", "--to", "fear", "--checkpoint", files / "demo.pt",
                            "-o", files / "mixed")
    assert got == 4 and "notes.jpg: not an image" in err
    assert summary["written"] == [str(files / "mixed" / "astronaut_fear.png")]
    assert [f["input"] for f in summary["failed"]] == [str(files / "notes.jpg")]
    assert sorted(p.name for p in (files / "mixed").iterdir()) == ["astronaut_fear.png"]


@pytest.mark.parametrize("ckpt, extra, message", [
    ("nope.pt", [], "nope.pt: checkpoint not found"),
    ("corrupt.pt", [], "corrupt.pt: not a readable decgan checkpoint"),
    ("foreign.pt", [], "foreign.pt: not a decgan checkpoint"),
    ("mismatch.pt", [], "mismatch.pt: cannot build a model from this checkpoint"),
    ("icgan.pt", ["--model", "decgan"], "checkpoint is model='icgan', but model='decgan' was asked for"),
    ("demo.pt", ["--preset", "paper"], "checkpoint is preset='demo', but preset='paper' was asked for"),
])
def test_bad_checkpoints(files, ckpt, extra, message):
    out = files / f"ck-{ckpt}.png"
    got, summary, err = run(files / "astronaut.png", "--to", "happy", "--checkpoint", files / ckpt, *extra, "-o", out)
    assert got == 6 and message in err, err
    assert summary["exit_code"] == 6 and not out.exists()


def test_output_not_writable(files):
    got, summary, err = run(files / "astronaut.png", "--to", "happy", "--checkpoint", files / "demo.pt",
                            "-o", files / "afile" / "out.png")
    assert got == 7 and "not writable" in err and "afile" in err, err


def test_several_photos_need_a_folder(files):
    got, _, err = run(files / "astronaut.png", files / "blank.png", "--to", "happy", "--checkpoint", files / "demo.pt",
                      "-o", files / "one.png")
    assert got == 2 and "names one file" in err
