"""Fail when a notebook under the given folder lacks a kernelspec with a name and a language.

papermill reads both from the notebook; without them `papermill nbs/06_train.ipynb out.ipynb` stops with
"No kernel name found in notebook" before any cell runs. Usage: python tools/check_kernels.py nbs
"""
import json
import sys
from pathlib import Path


def missing_kernelspec(folder: Path) -> list[str]:
    "Notebooks in `folder` whose metadata lacks kernelspec.name or kernelspec.language, with what is missing."
    bad = []
    for p in sorted(folder.glob("*.ipynb")):
        ks = json.loads(p.read_text(encoding="utf-8")).get("metadata", {}).get("kernelspec", {})
        lacks = [k for k in ("name", "language") if not ks.get(k)]
        if lacks: bad.append(f"{p}: kernelspec lacks {' and '.join(lacks)}")
    return bad


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "nbs")
    bad = missing_kernelspec(folder)
    if bad:
        print("FAIL: notebooks without a kernelspec (papermill needs its name and language):\n  " + "\n  ".join(bad)
              + '\n  add "kernelspec": {"name": "python3", "language": "python", "display_name": "python3"} to their metadata')
        sys.exit(1)
    print(f"ok: every notebook in {folder} has a kernelspec")
