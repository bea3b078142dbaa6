"""bench/device_env.sh without a network and without a GPU machine. `install` runs for real, with this test's python
(.venv's, itself a venv, as the GPU machine's python3 is) standing in for python3 and a wheel folder holding one toy
wheel built here: the venv it makes must see everything python3 sees (torch), hold the toy package and its console
script, have decgan installed from this tree, and leave python3's own environment untouched. With only the toy wheel
the default check must fail and name what is missing (nbdev_test, a module that does not import). `fetch` is only
run as far as it goes offline: a lock that lacks a package carried must stop it, naming the package. What is really
carried (`fetch` against the index, then `install` of those wheels) is checked by hand: see bench/README.md."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "device_env.sh"
HANG_GUARD_S = 300  # only so that a broken build cannot hang CI forever; no test asserts a duration


def device_env(*args, **env) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DEVICE_")}, "DEVICE_ENV_PYTHON": sys.executable,
           "PIP_NO_INDEX": "1", **env}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=HANG_GUARD_S)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    "A folder with one wheel: devenv-toy 1.0, a module devenv_toy and a console script devenv-toy (built offline)."
    src = tmp_path_factory.mktemp("toy")
    (src / "devenv_toy").mkdir()
    (src / "devenv_toy" / "__init__.py").write_text(textwrap.dedent('''
        __version__ = "1.0"
        def main(): print("devenv-toy", __version__, __file__)
        '''))
    (src / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "devenv-toy"
        version = "1.0"
        [project.scripts]
        devenv-toy = "devenv_toy:main"
        [tool.setuptools]
        packages = ["devenv_toy"]
        '''))
    out = tmp_path_factory.mktemp("wheels")
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index", "--no-build-isolation",
                        "-w", str(out), str(src)], capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert p.returncode == 0, p.stdout + p.stderr
    assert [w.name for w in out.glob("*.whl")] == ["devenv_toy-1.0-py3-none-any.whl"]
    return out


def test_install_makes_a_venv_that_sees_python3_and_holds_the_wheels(wheels, tmp_path):
    venv = tmp_path / "env"
    p = device_env("install", str(venv), DEVICE_ENV_WHEELS=str(wheels), DEVICE_ENV_SCRIPTS="decgan devenv-toy",
                   DEVICE_ENV_CHECK="decgan decgan.cli devenv_toy")
    assert p.returncode == 0, f"--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-3000:]}"
    assert p.stdout.splitlines()[-1] == f"BIN={venv}/bin bench/gpu_check.sh runs/gpu_check", p.stdout
    assert f"ok       devenv_toy 1.0 ({venv}/lib/" in p.stdout, p.stdout
    assert "  torch " in p.stdout and "CUDA available" in p.stdout

    # the wheel's console script is in VENV/bin (as nbdev_test is when nbdev's wheel is there), the package in VENV
    toy = subprocess.run([str(venv / "bin" / "devenv-toy")], capture_output=True, text=True, timeout=60)
    assert toy.returncode == 0 and toy.stdout.startswith("devenv-toy 1.0 " + str(venv)), toy.stdout + toy.stderr
    # torch from python3's environment (the .pth), decgan from this tree, its console script in VENV/bin
    seen = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys, torch, decgan; "
                           "print(sys.prefix, torch.__file__, decgan.__file__, sep='\\n')"],
                          capture_output=True, text=True, timeout=120)
    assert seen.returncode == 0, seen.stderr
    prefix, torch_file, decgan_file = seen.stdout.split()
    assert Path(prefix) == venv
    assert Path(torch_file).is_relative_to(Path(sys.prefix)), (torch_file, sys.prefix)
    assert Path(decgan_file) == ROOT / "decgan" / "__init__.py"
    assert (venv / "bin" / "decgan").is_file()
    assert subprocess.run([str(venv / "bin" / "decgan"), "--help"], capture_output=True, timeout=120).returncode == 0
    # python3's own environment is untouched: the toy wheel went into the venv only
    mine = subprocess.run([sys.executable, "-c", "import devenv_toy"], capture_output=True, text=True, timeout=60)
    assert mine.returncode != 0 and "No module named 'devenv_toy'" in mine.stderr


def test_install_names_what_is_missing(wheels, tmp_path):
    # the default scripts (decgan, nbdev_test): nbdev's wheel is not in the folder, so no VENV/bin/nbdev_test
    p = device_env("install", str(tmp_path / "env"), DEVICE_ENV_WHEELS=str(wheels),
                   DEVICE_ENV_CHECK="devenv_toy devenv_toy_absent")
    assert p.returncode != 0, p.stdout
    assert "ok       devenv_toy 1.0" in p.stdout, p.stdout
    assert "MISSING  devenv_toy_absent: ModuleNotFoundError: No module named 'devenv_toy_absent'" in p.stdout, p.stdout
    assert "1 module(s) do not import: devenv_toy_absent" in p.stderr, p.stderr
    assert f"no console script {tmp_path}/env/bin/nbdev_test" in p.stdout, p.stdout
    assert "bench/device_env.sh fetch" in p.stderr.splitlines()[-1] and "BIN=" not in p.stdout


def test_install_without_wheels_says_to_fetch(tmp_path):
    (tmp_path / "empty").mkdir()
    p = device_env("install", str(tmp_path / "env"), DEVICE_ENV_WHEELS=str(tmp_path / "empty"))
    assert p.returncode != 0 and f"no wheels in {tmp_path}/empty: run 'bench/device_env.sh fetch'" in p.stderr, p.stderr
    assert not (tmp_path / "env").exists()


def test_fetch_stops_on_a_package_the_lock_lacks(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# a lock without IPython or facenet-pytorch\nnbdev==2.4.14\nexecnb==0.1.18\n")
    p = device_env("fetch", DEVICE_ENV_LOCK=str(lock), DEVICE_ENV_WHEELS=str(tmp_path / "whl"))
    assert p.returncode != 0, p.stdout
    missing = p.stderr.split("not pinned in ")[1].split(": ", 1)[1].split(" (")[0].split()
    assert "ipython" in missing and "facenet-pytorch" in missing and "nbdev" not in missing, p.stderr
    assert not (tmp_path / "whl").exists()  # stopped before touching the wheel folder or the network
