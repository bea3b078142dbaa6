"""Render nbs/index.ipynb as README.md, offline (Quarto is not available here).

Markdown cells are copied; code cells are shown as Python blocks unless marked `#| hide`;
image links relative to nbs/ (`../figures/x.png`) are rewritten relative to the repository root.
A line `<!-- results -->` becomes the results section that tools/readme_results.py generates from the files
`make demo` wrote under figures/, so no number in it is typed by hand (`make test` fails when README.md differs).
Usage: python tools/make_readme.py nbs/index.ipynb README.md
"""
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_results import section  # noqa: E402


def cell_source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def render(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    parts = ["<!-- generated from nbs/index.ipynb by `make readme`: edit the notebook, not this file -->"]
    for cell in nb["cells"]:
        src = cell_source(cell).strip()
        if not src:
            continue
        if cell["cell_type"] == "markdown":
            src = re.sub(r"\]\(\.\./", "](", src)
            figures = nb_path.resolve().parent.parent / "figures"
            parts.append(src.replace("<!-- results -->", section(figures)))
        elif cell["cell_type"] == "code":
            lines = src.splitlines()
            if any(re.match(r"#\|\s*(hide|default_exp)", l) for l in lines):
                continue
            body = "\n".join(l for l in lines if not l.startswith("#|")).strip()
            if body:
                parts.append("```python\n" + body + "\n```")
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    text = render(src)
    tmp = dst.with_name("." + dst.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(dst)
