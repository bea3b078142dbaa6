"""bench/gpu_check.sh in its CPU mode (`--cpu`): every part runs at a tiny size on the CPU (16 px, width 1/8, batch 4,
a few steps) and the summary table at the end parses with every part PASS; a part broken on purpose (a bad flag
injected with GPU_CHECK_BREAK) makes the script exit non-zero with that part marked FAIL. It checks the script's
plumbing, never a GPU: on a GPU machine run `bench/gpu_check.sh` itself."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_check.sh"
PARTS = ["device", "gpu_cells", "throughput", "train", "results", "ddp", "photo_to", "photo_like"]
HANG_GUARD_S = 900  # only so that a broken build cannot hang CI forever; no test asserts a duration


def run(out: Path, **env) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GPU_CHECK_")}, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(["bash", str(SCRIPT), "--cpu", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=HANG_GUARD_S)


def summary(stdout: str) -> dict[str, dict]:
    "The summary table's rows by part: {part: {'status', 'seconds', 'detail'}}."
    lines = stdout.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("== gpu_check summary"))
    assert lines[start + 1] == "| part | status | seconds | detail |", lines[start + 1]
    rows = {}
    for line in lines[start + 3:]:
        if not line.startswith("|"): break
        part, status, seconds, detail = (c.strip() for c in line.strip("|").split("|", 3))
        rows[part] = {"status": status, "seconds": seconds, "detail": detail}
    return rows


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    return run(out), out


def test_every_part_passes_on_the_cpu(full):
    p, out = full
    rows = summary(p.stdout)
    assert list(rows) == PARTS, p.stdout[-3000:]
    bad = {k: r for k, r in rows.items() if r["status"] != "PASS"}
    assert not bad, f"{bad}\n--- stdout\n{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-3000:]}"
    assert p.returncode == 0, p.stdout[-3000:]
    assert all(int(r["seconds"]) >= 0 for r in rows.values())
    assert rows["gpu_cells"]["detail"].startswith("dry: ") and "not run (they need CUDA)" in rows["gpu_cells"]["detail"]
    n_cells = int(rows["gpu_cells"]["detail"].split()[1])
    assert n_cells >= 1
    assert "one DDP process, step 2" in rows["ddp"]["detail"]
    assert "512x512" in rows["photo_to"]["detail"] and "512x512" in rows["photo_like"]["detail"]
    assert "gpu_check: 8 part(s) run, 0 failed" in p.stdout
    # the measurements under the table: throughput's goals (not measured at batch 4) and the training's speed
    assert "throughput: goal: ours >= 2.5x plain at batch 64: not measured (batch not run)" in p.stdout
    assert "train: 4 steps in" in p.stdout
    assert "== results table" in p.stdout and (out / "results" / "results.md").stat().st_size > 0
    assert (out / "photo_to.png").stat().st_size > 0 and (out / "photo_like.png").stat().st_size > 0


def test_a_broken_part_fails_the_check(tmp_path):
    p = run(tmp_path, GPU_CHECK_ONLY="device,ddp", GPU_CHECK_BREAK="ddp")
    assert p.returncode != 0, p.stdout[-3000:]
    rows = summary(p.stdout)
    assert list(rows) == PARTS
    assert rows["device"]["status"] == "PASS" and rows["ddp"]["status"] == "FAIL", rows
    assert rows["ddp"]["detail"].startswith("exit ") and "gpu-check-broken-flag" in rows["ddp"]["detail"], rows["ddp"]
    assert all(rows[k]["status"] == "NOT RUN" for k in PARTS if k not in ("device", "ddp")), rows
    assert "gpu_check: 2 part(s) run, 1 failed" in p.stdout
