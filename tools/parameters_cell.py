"""Write (or, with --check, compare) the papermill `parameters` cell of nbs/06_train.ipynb from decgan.core.Config.

    python tools/parameters_cell.py           # rewrite the cell from decgan.run_options.parameters_cell()
    python tools/parameters_cell.py --check   # exit 1 when the notebook's cell differs (make test runs this)
"""
import json
import sys
from pathlib import Path

from decgan.run_options import parameters_cell

NOTEBOOK = Path(__file__).resolve().parent.parent / "nbs" / "06_train.ipynb"


def parameters_cell_of(nb: dict) -> dict:
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1: raise SystemExit(f"{NOTEBOOK}: expected one cell tagged 'parameters', found {len(cells)}")
    return cells[0]


def main(argv: list[str]) -> int:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cell, want = parameters_cell_of(nb), parameters_cell()
    have = "".join(cell["source"])
    if "--check" in argv:
        if have != want:
            print(f"FAIL: the parameters cell of {NOTEBOOK.name} is out of step with decgan.core.Config: "
                  "run '.venv/bin/python tools/parameters_cell.py' (after 'make export') and commit")
            return 1
        print(f"ok: the parameters cell of {NOTEBOOK.name} matches Config")
        return 0
    lines = want.split("\n")
    cell["source"] = [l + "\n" for l in lines[:-1]] + [lines[-1]]
    NOTEBOOK.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote the parameters cell of {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
