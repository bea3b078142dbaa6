"""Process-level checks of the package itself (the chapters test their own code in nbs/)."""
import json
import os
import re
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


@pytest.mark.parametrize("name", ["06_train.ipynb", "07c_evaluate.ipynb", "08_figures.ipynb"])
def test_papermill_chapters_have_a_parameters_cell(name):
    path = ROOT / "nbs" / name
    assert path.exists(), f"papermill chapter {name} is missing from nbs/ (renamed? update this list)"
    cells = json.loads(path.read_text())["cells"]
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), f"{name} has no cell tagged 'parameters'"


def _chapters() -> list[Path]:
    "The notebooks nbs/ holds now (whatever the chapters are called at the time the test runs)."
    return sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith("."))


def _exported_module(nb: Path) -> str | None:
    "The module a chapter exports to (its `#| default_exp` line), or None."
    for c in json.loads(nb.read_text())["cells"]:
        if c["cell_type"] != "code": continue
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(c["source"]), re.M)
        if m: return m.group(1)
    return None


def test_every_module_has_its_chapter_and_every_chapter_its_module():
    "decgan/*.py is exactly what the chapters export: a module without a notebook (or the reverse) fails."
    chapters = _chapters()
    assert chapters, "no notebooks under nbs/"
    exported = {}
    for nb in chapters:
        mod = _exported_module(nb)
        if mod is None: continue
        assert mod not in exported, f"{nb.name} and {exported.get(mod)} both export decgan.{mod}"
        exported[mod] = nb.name
    modules = {p.stem for p in (ROOT / "decgan").glob("*.py") if not p.stem.startswith("_")}
    assert modules - set(exported) == set(), f"modules with no chapter in nbs/: {sorted(modules - set(exported))}"
    assert set(exported) - modules == set(), f"chapters whose module is not in decgan/ (run nbdev_export): " \
                                             f"{sorted((n, exported[n]) for n in set(exported) - modules)}"


def _table_chapters(text: str) -> list[str]:
    "The chapter names or numbers in the first column of the chapter table: `00_core`, `05b`, `02–04`."
    names = []
    for line in text.splitlines():
        cells = line.split("|")
        if len(cells) < 3 or not line.lstrip().startswith("|"): continue
        names += re.findall(r"`(\d\d[a-z]?(?:_\w+)?(?:\s*[–-]\s*\d\d[a-z]?)?)`", cells[1])
    return names


def _missing(token: str, names: list[str]) -> list[str]:
    "The chapters a table token names that nbs/ does not hold."
    m = re.fullmatch(r"(\d\d)\s*[–-]\s*(\d\d)", token)
    if m:                                                       # a range of chapter numbers: each one is there
        wanted = [f"{i:02d}" for i in range(int(m.group(1)), int(m.group(2)) + 1)]
        return [w for w in wanted if not any(re.match(rf"{w}[a-z]?_", n) for n in names)]
    if "_" in token:                                            # a full name: that notebook
        return [] if token in names else [token]
    pattern = rf"{token}[a-z]?_" if token.isdigit() else rf"{token}_"
    return [] if any(re.match(pattern, n) for n in names) else [token]


@pytest.mark.parametrize("source", ["README.md", "nbs/index.ipynb"])
def test_every_chapter_in_the_readme_table_exists(source):
    "Each chapter the README's chapter table names (nbs/index.ipynb is its source) is a notebook under nbs/."
    path = ROOT / source
    text = path.read_text()
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
    tokens = _table_chapters(text)
    assert tokens, f"{source}: no chapter table found"
    names = [p.stem for p in _chapters()]
    missing = {t: _missing(t, names) for t in tokens}
    assert not {t: m for t, m in missing.items() if m}, f"{source} names chapters nbs/ does not hold: {missing}"


def test_table_check_catches_a_missing_chapter():
    "The two checks above can fail: a table naming an absent chapter, or a range with a hole, is caught."
    names = ["00_core", "01_synth", "01b_data", "02_models", "04_associative", "05_icgan", "05b_stargan"]
    test = "| chapter | what |\n|---|---|\n| `00_core` | x |\n| `02–04` | y |\n| `05`, `05b`, `05c` | z |\n| `00_gone` | w |\n"
    tokens = _table_chapters(test)
    assert tokens == ["00_core", "02–04", "05", "05b", "05c", "00_gone"], tokens
    assert {t: _missing(t, names) for t in tokens} == {"00_core": [], "02–04": ["03"], "05": [], "05b": [],
                                                       "05c": ["05c"], "00_gone": ["00_gone"]}


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
