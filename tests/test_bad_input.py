"""Bad input on the real-data path is counted and reported, never silent (issue 13, item 6).

Four cases, each on a small synthetic tree in the release's layout: a RAF-DB list naming a missing image, a RAF-DB
original in which MTCNN finds no face, a CK+ sequence without an emotion file (normal in CK+: counted apart as
an unlabelled sequence), and a folder image that does not decode. Each must be a (path, reason) row of
`Prepared.skipped` with the exact reason, a row of the report file beside the cache, and part of the summary line
`prepare` prints. MTCNN runs on three small images only.
"""
import shutil

import numpy as np
import pytest
from PIL import Image

from decgan.data import UNLABELLED_SEQUENCE, prepare
from decgan.synth import render_face
from decgan.synth_data import read_meta, write_ckplus_tree, write_rafdb_tree


def _report_rows(prepared) -> dict:
    "The report file's (path -> reason) rows."
    lines = open(prepared.meta["report_path"]).read().splitlines()
    rows = lines[lines.index("path\treason") + 1:]
    return dict(r.split("\t", 1) for r in rows)


def _check(prepared, path, reason, printed):
    "`path` is skipped for exactly `reason`, in `skipped`, in the report file, and in the printed count."
    assert dict(prepared.skipped)[path] == reason
    assert _report_rows(prepared)[path] == reason
    assert printed.strip() == prepared.summary()
    assert f"skipped {len(prepared.problems)} entries" in printed


def test_rafdb_list_names_a_missing_image(tmp_path, capsys):
    root = write_rafdb_tree(tmp_path / "raf", 4, seed=0)
    lst = root / "EmoLabel" / "list_patition_label.txt"
    n = len(lst.read_text().splitlines()) + 1
    lst.write_text(lst.read_text() + "train_00077.jpg 4\n")
    p = prepare("rafdb", root, split="all", size=16)
    _check(p, "Image/aligned/train_00077_aligned.jpg",
           f"listed in EmoLabel/list_patition_label.txt (line {n}) but the image file is missing", capsys.readouterr().err)
    assert len(p) == 4 and len(p.problems) == 1 and p.unlabelled == []
    assert "1 listed in EmoLabel/list_patition_label.txt but the image file is missing" in p.summary()


def test_rafdb_original_without_a_face(tmp_path, capsys):
    "The originals, aligned by MTCNN: a photo of nothing is a counted skip, not a crash and not a silent gap."
    root = write_rafdb_tree(tmp_path / "raf", 3, seed=0, test_fraction=0.0)
    shutil.rmtree(root / "Image" / "aligned")
    blank = root / "Image" / "original" / "train_00002.jpg"
    Image.fromarray(np.full((128, 128, 3), 128, np.uint8)).save(blank)
    p = prepare("rafdb", root, split="all", size=16, align="mtcnn", device="cpu")
    _check(p, "Image/original/train_00002.jpg", "no face found by MTCNN", capsys.readouterr().err)
    assert "Image/original/train_00002.jpg" not in p.paths
    assert "1 no face found by MTCNN" in p.summary()


def test_ckplus_unlabelled_sequences_are_counted_apart(tmp_path, capsys):
    root = write_ckplus_tree(tmp_path / "ck", 4, seed=0, frames=(2, 3), contempt_rate=0.0, unlabelled_rate=0.0)
    capsys.readouterr()
    labelled = prepare("ckplus", root, split="all", size=16)
    assert labelled.skipped == [] and capsys.readouterr().err == ""        # nothing skipped: nothing printed
    seq = sorted((root / "Emotion").glob("*/*"))[0]                          # take the label away from one sequence
    shutil.rmtree(seq)
    name = f"cohn-kanade-images/{seq.parent.name}/{seq.name}"
    p = prepare("ckplus", root, split="all", size=16)
    printed = capsys.readouterr().err
    assert dict(p.skipped)[name] == UNLABELLED_SEQUENCE == "unlabelled sequence (no Emotion/*_emotion.txt file)"
    assert _report_rows(p)[name] == UNLABELLED_SEQUENCE
    assert p.unlabelled == [name] and p.problems == []                      # normal in CK+: not an error
    assert len(p) == len(labelled) - 2 and len(p.pairs) == len(labelled.pairs) - 1
    assert printed.strip() == p.summary()
    assert "skipped 0 entries; 1 unlabelled CK+ sequences, not used (normal: the release labels 327 of its 593 sequences)" in printed
    report = open(p.meta["report_path"]).read()
    assert "# of the skipped: 0 problems or rules, 1 unlabelled CK+ sequences" in report


def test_folder_image_that_does_not_decode(tmp_path, capsys):
    root = tmp_path / "faces"
    for i, expr in enumerate(("happiness", "sadness")):
        (root / expr).mkdir(parents=True)
        Image.fromarray(render_face(i, expr, size=64)).save(root / expr / "a.png")
    (root / "sadness" / "broken.jpg").write_bytes(b"<html>403 Forbidden</html>")
    (root / "happiness" / "cut.png").write_bytes((root / "happiness" / "a.png").read_bytes()[:300])
    p = prepare("folder", root, split="all", size=16, align="none")
    printed = capsys.readouterr().err
    _check(p, "sadness/broken.jpg", "not an image: Pillow cannot identify the file (26 bytes)", printed)
    why = dict(p.skipped)["happiness/cut.png"]
    assert why.startswith("truncated or corrupt image (") and _report_rows(p)["happiness/cut.png"] == why
    assert sorted(p.paths) == ["happiness/a.png", "sadness/a.png"]
    assert "skipped 2 entries (" in printed and "1 not an image" in printed and "1 truncated or corrupt image" in printed
