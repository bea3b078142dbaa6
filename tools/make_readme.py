"""Render nbs/index.ipynb as README.md, offline (Quarto is not available here).

Markdown cells are copied; code cells are shown as Python blocks unless marked `#| hide`;
image links relative to nbs/ (`../figures/x.png`) are rewritten relative to the repository root.
A line `<!-- results -->` becomes the results section that tools/readme_results.py generates from the files
`make demo` wrote under figures/, and a line `<!-- paper preset -->` the paper preset's measured curve and advice
(figures/paper_preset.csv of bench/paper_preset.py), so no number in them is typed by hand (`make test` fails when
README.md differs).
Usage: python tools/make_readme.py nbs/index.ipynb README.md
"""
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_results import paper_preset, section  # noqa: E402


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
            if "<!-- results -->" in src: src = src.replace("<!-- results -->", section(figures))
            if "<!-- paper preset -->" in src: src = src.replace("<!-- paper preset -->", paper_preset(figures))
            parts.append(src)
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
