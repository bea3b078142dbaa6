"""End-to-end evaluation on tiny RAF-DB-, CK+- and folder-format trees (issue 13): identity similarity without a
gallery, "n/a" where a metric has no ground (no true target, no repeated identities), skipped inputs counted and
reported, Fig 5 from RAF-DB-format checkpoints beside Figs 3-4 from CK+-format ones, and the figures chapter's
refusal of unknown papermill parameters. Untrained 16-px networks and 2-epoch judges: this is plumbing, not quality."""
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from decgan.core import EXPRESSIONS
from decgan.evaluate import evaluate_checkpoint, smoke_checkpoints
from decgan.figures import make_figures
from decgan.report import results_table
from decgan.synth_data import write_ckplus_tree, write_rafdb_tree

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FAST = dict(judge_epochs=2, n_boot=50, log=None)
NEUTRAL_HEAVY = [4, 1, 1, 1, 1, 1, 1]           # canonical order: enough neutral test faces to translate


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("eval_datasets")
    raf = write_rafdb_tree(base / "rafdb", 60, seed=1, test_fraction=0.25, aligned_size=48, class_weights=NEUTRAL_HEAVY,
                           truth=False)                        # as a real copy: no true target beside it
    lst = raf / "EmoLabel" / "list_patition_label.txt"        # a listed test photo that is not there: skipped, counted
    lst.write_text(lst.read_text() + "test_0999.jpg 7\n")
    folder = base / "folder"                                   # <root>/<expression>/*.png, from the RAF-DB crops
    for line in lst.read_text().splitlines()[:-1]:
        name, code = line.split()
        expr = {1: "surprise", 2: "fear", 3: "disgust", 4: "happiness", 5: "sadness", 6: "anger", 7: "neutral"}[int(code)]
        (folder / expr).mkdir(parents=True, exist_ok=True)
        Image.open(raf / "Image" / "aligned" / f"{name[:-4]}_aligned.jpg").save(folder / expr / f"{name[:-4]}.png")
    for k in range(6):                                         # files that do not decode: skipped, counted, in whichever split
        (folder / "neutral" / f"broken_{k}.png").write_bytes(b"not a png")
    ck = write_ckplus_tree(base / "ckplus", 10, seed=2, frames=(2, 2), expressions_per_subject=(3, 4),
                           contempt_rate=0.0, unlabelled_rate=0.0)
    real_ck = base / "ckplus_real"                             # the same tree without the renderer's metadata: real CK+
    shutil.copytree(ck, real_ck)
    (real_ck / "synth_meta.csv").unlink()
    ckpt = lambda name, **kw: smoke_checkpoints(base / f"ckpt_{name}", image_size=16, **kw)
    return dict(base=base, raf=raf, folder=folder,
                ck=ckpt("ck"), raf_ck=ckpt("raf", dataset="rafdb", data_root=raf),
                folder_ck=ckpt("folder", dataset="folder", data_root=folder, align="none"),
                real_ck=ckpt("real_ck", dataset="ckplus", data_root=real_ck))


def test_rafdb_table_says_na_and_why(trees):
    res = results_table(trees["raf_ck"], out_dir=trees["base"] / "raf_out", stem="results_rafdb",
                        judge_dir=trees["base"] / "judges", **FAST)
    t = res.table.set_index("model")
    assert list(t.index) == ["DECGAN", "IcGAN", "input unchanged (reference)"]   # no true target row
    assert t[["ssim", "psnr", "l1"]].isna().all().all()
    assert t.identity_similarity.notna().all()                                  # input vs output: no gallery needed
    assert math.isclose(t.loc["input unchanged (reference)", "identity_similarity"], 1.0, abs_tol=1e-4)
    assert math.isnan(t.identity_judge_rank1.iloc[0]) and not math.isnan(t.identity_judge_impostor.iloc[0])
    assert t.identity_judge_report.iloc[0].startswith("n/a: every one of the")
    assert t.n_skipped_test.iloc[0] == 1
    md = res.files["md"].read_text()
    assert res.files["md"].name == "results_rafdb.md" and res.files["csv"].name == "results_rafdb.csv"
    assert "SSIM / PSNR / L1: **n/a** — true target none: RAF-DB has one photo per person" in md
    assert "rank-1 and genuine-pair cosine n/a" in md and "| n/a |" in md
    assert "Test split: 1 (" in md and "image file is missing" in md
    skipped = pd.read_csv(res.files["skipped"], sep="\t")
    assert "Image/aligned/test_0999_aligned.jpg" in skipped.path.tolist()


def test_folder_uses_dlib_and_counts_undecodable_files(trees):
    summary = evaluate_checkpoint(trees["folder_ck"]["DECGAN"], judge_dir=trees["base"] / "judges", **FAST)
    assert summary.target.tolist() == ["all"] + [EXPRESSIONS[t] for t in range(1, 7)]
    assert summary.identity_judge.iloc[0].startswith("dlib face-recognition ResNet")   # auto on real data
    assert summary.identity_similarity.notna().all() and summary.ssim.isna().all()
    assert summary.identity_judge_report.iloc[0].startswith("n/a")
    res = results_table(trees["folder_ck"], out_dir=trees["base"] / "folder_out", judge_dir=trees["base"] / "judges", **FAST)
    skipped = pd.read_csv(res.files["skipped"], sep="\t")
    assert sorted(p for p in skipped.path if "broken" in p) == [f"neutral/broken_{k}.png" for k in range(6)]
    assert set(skipped.split) <= {"train", "test"}
    assert summary.n_skipped_test.iloc[0] == (skipped.split == "test").sum()


def test_real_ckplus_has_peak_truth_and_the_full_identity_report(trees):
    summary = evaluate_checkpoint(trees["real_ck"]["DECGAN"], judge_dir=trees["base"] / "judges", **FAST)
    assert summary.truth.iloc[0] == "peak frame of the same CK+ sequence"
    assert summary.ssim.notna().all() and summary.identity_judge.iloc[0].startswith("dlib")
    assert not math.isnan(summary.identity_judge_rank1.iloc[0]) and summary.identity_judge_report.iloc[0] == ""


def test_fig5_from_rafdb_checkpoints_beside_ckplus_figures(trees):
    out = trees["base"] / "figs"
    made = make_figures(trees["ck"], out_dir=out, judge_dir=trees["base"] / "judges", fig5_checkpoints=trees["raf_ck"],
                        **FAST)
    f = made["files"]
    assert f["fig3"].name == "fig3_synth.png" and f["fig4"].name == "fig4_synth.png" and f["fig5"].name == "fig5_rafdb.png"
    assert (out / "results.md").is_file() and (out / "results_rafdb.md").is_file() and f["fig5_md"] == out / "results_rafdb.md"
    assert made["fig5_results"].eval_set.dataset == "rafdb" and made["results"].eval_set.dataset == "synth"
    assert not (out / "fig5_synth.png").exists()                # Fig 5 drawn once, from the RAF-DB runs
    assert Image.open(f["fig5"]).size[0] > 0


def _papermill(out, *params, cwd):
    cmd = [str(BIN / "papermill"), str(ROOT / "nbs" / "08_figures.ipynb"), str(out), "--log-level", "ERROR"]
    for k, v in params: cmd += ["-p", k, str(v)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def test_figures_chapter_on_rafdb_from_papermill(trees, tmp_path):
    ck, raf = trees["ck"], trees["raf_ck"]
    r = _papermill(tmp_path / "figs.ipynb", ("decgan_checkpoint", ck["DECGAN"]), ("icgan_checkpoint", ck["IcGAN"]),
                   ("fig5_decgan_checkpoint", raf["DECGAN"]), ("fig5_icgan_checkpoint", raf["IcGAN"]),
                   ("out_dir", tmp_path / "figures"), ("judge_dir", trees["base"] / "judges"), ("judge_epochs", 2),
                   ("n_boot", 50), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("fig3_synth.png", "fig4_synth.png", "fig5_rafdb.png", "results.md", "results_rafdb.md", "results_rafdb.csv"):
        assert (tmp_path / "figures" / name).is_file(), name


def test_figures_chapter_refuses_an_unknown_parameter(tmp_path):
    r = _papermill(tmp_path / "bad.ipynb", ("fig5_decgan_ckpt", "x.pt"), cwd=tmp_path)
    assert r.returncode != 0
    assert "unknown parameter(s) fig5_decgan_ckpt; the known parameters are: decgan_checkpoint" in r.stdout + r.stderr
    assert not (tmp_path / "figures").exists()


def _rafdb_with_test_labels(base: Path, name: str, relabel) -> Path:
    "A tiny RAF-DB-format tree whose test split's labels (RAF-DB codes: 7 neutral, 4 happy) are rewritten by `relabel`."
    raf = write_rafdb_tree(base / name, 40, seed=3, test_fraction=0.25, aligned_size=48, class_weights=NEUTRAL_HEAVY,
                           truth=False)                        # relabelled: the renderer's truth would not match
    lst = raf / "EmoLabel" / "list_patition_label.txt"
    lines = [line.split() for line in lst.read_text().splitlines()]
    lst.write_text("".join(f"{f} {relabel(int(c)) if f.startswith('test_') else c}\n" for f, c in lines))
    return raf


def test_rafdb_test_split_of_neutral_faces_only_evaluates_with_fid_na(tmp_path):
    "No real face of a target expression in the test split: no FID/KID reference, so FID/KID are n/a with why."
    raf = _rafdb_with_test_labels(tmp_path, "raf_neutral", lambda code: 7)
    ck = smoke_checkpoints(tmp_path / "ckpt", image_size=16, dataset="rafdb", data_root=raf)
    summary = evaluate_checkpoint(ck["DECGAN"], judge_dir=tmp_path / "judges", **FAST)
    assert summary[["fid", "kid"]].isna().all().all()
    assert summary.fid_reference.iloc[0].startswith("none: the test split holds 0 real face(s) of the six target")
    assert summary.expression_accuracy.notna().all() and summary.identity_similarity.notna().all()
    res = results_table(ck, out_dir=tmp_path / "out", judge_dir=tmp_path / "judges", **FAST)
    assert res.table.fid.isna().all() and not res.eval_set.has_reference
    md = res.files["md"].read_text()
    assert "FID / KID: **n/a** — reference none: the test split holds 0 real face(s)" in md


def test_rafdb_test_split_without_a_neutral_face_stops_with_what_is_needed(tmp_path):
    raf = _rafdb_with_test_labels(tmp_path, "raf_no_neutral", lambda code: 4 if code == 7 else code)
    ck = smoke_checkpoints(tmp_path / "ckpt", image_size=16, dataset="rafdb", data_root=raf)
    for run in (lambda: evaluate_checkpoint(ck["DECGAN"], judge_dir=tmp_path / "judges", **FAST),
                lambda: results_table(ck, out_dir=tmp_path / "out", judge_dir=tmp_path / "judges", **FAST)):
        with pytest.raises(ValueError, match="the test split has no neutral face .*needs at least one neutral face"):
            run()
    assert not (tmp_path / "judges").exists()          # refused before any judge was trained
    assert not (tmp_path / "out").exists()


def test_synthetic_rafdb_tree_is_scored_against_its_truth(tmp_path):
    "The embedded RAF-DB-format tree carries the renderer's true targets (synth_truth/): SSIM and PSNR are measured."
    raf = write_rafdb_tree(tmp_path / "raf", 60, seed=1, test_fraction=0.25, aligned_size=48, class_weights=NEUTRAL_HEAVY)
    ck = smoke_checkpoints(tmp_path / "ckpt", image_size=16, dataset="rafdb", data_root=raf, models=("decgan",))
    summary = evaluate_checkpoint(ck["DECGAN"], judge_dir=tmp_path / "judges", **FAST)
    assert summary.ssim.notna().all() and summary.psnr.notna().all()
    assert summary.truth.iloc[0].startswith("the renderer's same photo at the target expression")
