"""Process-level checks of the package itself (the chapters test their own code in nbs/)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _notebook(cells):
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def test_parameters_tag_survives_nbdev_clean_and_papermill_overrides_it(tmp_path):
    "settings.ini must allow the `tags` cell metadata, or nbdev_clean strips papermill's `parameters` tag."
    shutil.copy(ROOT / "settings.ini", tmp_path / "settings.ini")
    (tmp_path / "nbs").mkdir()
    nb = tmp_path / "nbs" / "params.ipynb"
    nb.write_text(json.dumps(_notebook([
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "steps = 1\n", "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {}, "source": "print(f'steps={steps}')\n", "outputs": [], "execution_count": None},
    ])))
    subprocess.run([BIN / "nbdev_clean", "--fname", str(nb)], cwd=tmp_path, check=True)
    cleaned = json.loads(nb.read_text())
    assert cleaned["cells"][0]["metadata"].get("tags") == ["parameters"], "nbdev_clean stripped the parameters tag"
    out = tmp_path / "out.ipynb"
    subprocess.run([BIN / "papermill", str(nb), str(out), "-p", "steps", "7", "--log-level", "ERROR"], cwd=tmp_path, check=True)
    text = "".join("".join(o.get("text", "")) for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", []))
    assert "steps=7" in text


@pytest.mark.parametrize("name", ["06_train.ipynb", "07_evaluate.ipynb", "08_figures.ipynb"])
def test_papermill_chapters_have_a_parameters_cell(name):
    path = ROOT / "nbs" / name
    if not path.exists():
        pytest.skip(f"{name} is not written yet")
    cells = json.loads(path.read_text())["cells"]
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), f"{name} has no cell tagged 'parameters'"


def test_library_imports_without_touching_cuda():
    "Importing every decgan module must not initialise CUDA or even ask whether it is there."
    code = """
import importlib, pkgutil, torch
def boom(*a, **k): raise AssertionError('CUDA touched at import time')
torch.cuda.is_available = boom; torch.cuda.device_count = boom; torch.cuda.init = boom; torch.cuda._lazy_init = boom
import decgan
names = sorted(m.name for m in pkgutil.iter_modules(decgan.__path__) if not m.name.startswith('_'))
for n in names: importlib.import_module('decgan.' + n)
assert not torch.cuda.is_initialized()
print('imported', len(names), 'modules:', ' '.join(names))
"""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "core" in r.stdout
