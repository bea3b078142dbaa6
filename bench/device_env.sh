#!/usr/bin/env bash
# bench/device_env.sh: the environment of bench/gpu_check.sh on a bare, offline GPU machine. The machine's python3
# (3.12) has torch, torchvision, numpy, pillow, scikit-image, matplotlib, pandas, scipy, tensorboard, torchmetrics,
# seaborn, tqdm, pytest and more, but not nbdev, IPython, facenet-pytorch or decgan, and it cannot download them.
# Those travel as wheels in .whl/ (ignored by git; carry it with the working tree, at most 64 MiB in all).
#
#   bench/device_env.sh fetch               here, with internet: the wheels into .whl/, at the versions pinned in
#                                           requirements.lock, built for CPython 3.12 on manylinux x86_64
#   bench/device_env.sh install [VENV]      there: a venv (default /tmp/decgan-env) on python3 that sees everything
#                                           python3 sees, the wheels from .whl/ and decgan (editable) installed into
#                                           it, then an import check; it prints the BIN to run gpu_check.sh with:
#   bench/device_env.sh install && BIN=/tmp/decgan-env/bin bench/gpu_check.sh runs/gpu_check
#
# fetch removes the wheels in .whl/ that are not the pinned version of a package below (one version of each is
# carried), downloads the missing ones without their dependencies, and fails when the folder is over its budget
# (48 MiB, leaving the rest of the 64 MiB to the tree) or when requirements.lock lacks a package.
# install makes the venv without pip and without --system-site-packages: python3 may itself be a venv (the machine's
# is /opt/torch/.venv), and a venv made from a venv sees the base interpreter's site-packages, not python3's. So a
# .pth file in the new venv adds every folder on python3's sys.path that the new venv lacks (with site.addsitedir, so
# their own .pth files work), and pip, setuptools and torch come from there. Everything is installed with --no-index
# --no-deps: nothing is resolved or downloaded, and python3's own environment is not touched.
# Environment: DEVICE_PY (fetch: the Python version the wheels are for, default 3.12), DEVICE_ENV_PYTHON (default
# python3: install's interpreter; fetch's pip), DEVICE_ENV_WHEELS (default .whl), DEVICE_ENV_LOCK (default
# requirements.lock), DEVICE_ENV_BUDGET_MIB (default 48); for install's check (tests change them): DEVICE_ENV_CHECK
# (the modules it imports), DEVICE_ENV_SCRIPTS (the console scripts it expects in VENV/bin). Relative paths are
# taken from the repository root, as in gpu_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON3=${DEVICE_ENV_PYTHON:-python3}
WHEELS=${DEVICE_ENV_WHEELS:-.whl}
LOCK=${DEVICE_ENV_LOCK:-requirements.lock}
BUDGET_MIB=${DEVICE_ENV_BUDGET_MIB:-48}
PYVER=${DEVICE_PY:-3.12}

# The packages carried to the GPU machine: what decgan's GPU work needs that the machine's python3 lacks. Names as in
# requirements.lock (any spelling: compared normalised); versions from there.
PACKAGES=(
  # gpu_cells: nbdev_test runs the notebooks that have `#| gpu` cells (nbdev, execnb, fastcore; astunparse is
  # imported by nbdev's code processing). The rest of nbdev's requirements are not imported by nbdev_test but are
  # small: carried so that nbdev's other commands start and pip check stays clean
  nbdev execnb fastcore astunparse ghapi fastspec fastgit watchdog
  # execnb runs each notebook in an IPython shell; the notebooks import IPython.display: IPython and what it requires
  # (stack-data and its three for tracebacks, jedi and prompt-toolkit imported by IPython's shell)
  ipython ipython-pygments-lexers traitlets matplotlib-inline jedi parso pexpect ptyprocess prompt-toolkit wcwidth
  stack-data executing asttokens pure-eval
  # photo_to, photo_like: `decgan synthesize` finds the face with facenet-pytorch's MTCNN (its weights are in the
  # wheel); without its dependencies, as the Makefile installs it (they pin an old torch)
  facenet-pytorch
  # decgan.align opens photos with ImageOps.exif_transpose, which reads XMP with defusedxml (without it Pillow warns)
  defusedxml
)
# Not carried: dlib-bin and face-recognition-models (about 100 MB, over what the machine can be given). Only the 'dlib'
# identity judge loads them, and the check's results part scores the synthetic tree, for which identity_judge='auto'
# is the trained judge; a run that asks for dlib there fails with decgan's JudgeUnavailable, which names the wheels.
# papermill, ipykernel, jupyterlab, nbconvert and jupytext: nothing in the check runs them. torch, torchvision and the
# rest of settings.ini's requirements: the machine has them (its torch is its own, not requirements.lock's).

# install's check: the modules behind gpu_check.sh's parts (decgan.train, decgan.report, the synthesize command,
# nbdev_test's and execnb's), and the console scripts it runs from BIN
CHECK_MODULES=${DEVICE_ENV_CHECK:-decgan decgan.train decgan.report decgan.synthesize decgan.cli nbdev nbdev.test execnb
  execnb.shell IPython facenet_pytorch defusedxml}
CHECK_SCRIPTS=${DEVICE_ENV_SCRIPTS:-decgan nbdev_test}

die() { echo "device_env: $*" >&2; exit 1; }
norm() { echo "$1" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/-/g'; }
# the dist name and version in a wheel's file name (name-version[-build]-py-abi-platform.whl)
wheel_key() { local b; b=$(basename "$1"); echo "$(norm "${b%%-*}")==$(b=${b#*-}; echo "${b%%-*}")"; }

fetch() {
  [[ -f $LOCK ]] || die "no $LOCK"
  local -A pin=()
  local line name want=() missing=() p
  while IFS= read -r line; do
    [[ $line =~ ^([A-Za-z0-9._-]+)==([^[:space:];]+) ]] || continue
    pin[$(norm "${BASH_REMATCH[1]}")]=${BASH_REMATCH[2]}
  done < "$LOCK"
  for p in "${PACKAGES[@]}"; do
    name=$(norm "$p")
    if [[ -n ${pin[$name]:-} ]]; then want+=("$name==${pin[$name]}"); else missing+=("$p"); fi
  done
  ((${#missing[@]} == 0)) || die "not pinned in $LOCK: ${missing[*]} (add them: make lock, or a line NAME==VERSION)"

  mkdir -p "$WHEELS"
  local -A wanted=(); for p in "${want[@]}"; do wanted[$p]=1; done
  local f stale=0
  for f in "$WHEELS"/*.whl; do
    [[ -e $f ]] || continue
    [[ -z ${wanted[$(wheel_key "$f")]:-} ]] || continue
    echo "device_env: removing $(basename "$f") (not the pinned version of a package carried)"
    rm -f "$f"; stale=$((stale + 1))
  done

  local plats=() n
  for n in 28 27 17; do plats+=(--platform "manylinux_2_${n}_x86_64"); done
  plats+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64)
  echo "device_env: fetching ${#want[@]} wheels for CPython $PYVER into $WHEELS"
  "$PYTHON3" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version "$PYVER" \
    --implementation cp "${plats[@]}" -d "$WHEELS" "${want[@]}" \
    || die "pip download failed (a package with no wheel for these platforms? add --platform manylinux_2_N_x86_64)"

  # exactly one wheel of each package, the pinned version
  local -A have=(); local total=0 size
  for f in "$WHEELS"/*.whl; do [[ -e $f ]] && have[$(wheel_key "$f")]=$((${have[$(wheel_key "$f")]:-0} + 1)); done
  for p in "${want[@]}"; do
    [[ ${have[$p]:-0} == 1 ]] || die "$WHEELS holds ${have[$p]:-0} wheels of $p, expected 1"
  done
  for f in "$WHEELS"/*.whl; do
    size=$(stat -c %s "$f"); total=$((total + size))
    awk -v s="$size" -v f="$(basename "$f")" 'BEGIN {printf "  %8.1f KiB  %s\n", s / 1024, f}'
  done
  local mib; mib=$(awk -v t="$total" 'BEGIN {printf "%.1f", t / 1048576}')
  echo "device_env: ${#want[@]} wheels, $mib MiB in $WHEELS ($stale stale removed; budget $BUDGET_MIB MiB)"
  ((total <= BUDGET_MIB * 1048576)) \
    || die "$WHEELS is $mib MiB, over the $BUDGET_MIB MiB budget (the machine is given at most 64 MiB, tree included)"
}

install() {
  local venv=${1:-/tmp/decgan-env}
  command -v "$PYTHON3" > /dev/null || die "no $PYTHON3"
  compgen -G "$WHEELS/*.whl" > /dev/null \
    || die "no wheels in $WHEELS: run 'bench/device_env.sh fetch' on a machine with internet, and carry $WHEELS"
  if [[ -e $venv && ! -f $venv/pyvenv.cfg ]]; then die "$venv exists and is not a venv: name another folder"; fi
  rm -rf "$venv"
  "$PYTHON3" -m venv --without-pip "$venv"
  venv=$(cd "$venv" && pwd)
  local py=$venv/bin/python site
  site=$("$py" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  # every folder on python3's path that the venv's python lacks (python3's site-packages, when python3 is a venv)
  "$PYTHON3" -c 'import json, sys; print(json.dumps(sys.path))' \
    | "$py" -c '
import json, os, sys
parent = [p for p in json.load(sys.stdin) if p and os.path.isdir(p) and p not in sys.path]
for p in parent: print(f"import site; site.addsitedir({p!r})")
' > "$site/_device_env_python3.pth"
  echo "device_env: venv $venv on Python $("$py" -c 'import sys; print(sys.version.split()[0])'), seeing" \
       "$(grep -c . "$site/_device_env_python3.pth" || true) folder(s) of $PYTHON3's path"
  "$py" -m pip --version > /dev/null 2>&1 || die "pip is not importable from $PYTHON3's path (the venv uses its pip)"
  echo "device_env: installing $(compgen -G "$WHEELS/*.whl" | wc -l) wheel(s) from $WHEELS"
  "$py" -m pip install -q --disable-pip-version-check --no-index --no-deps "$WHEELS"/*.whl
  echo "device_env: installing decgan from $ROOT (editable)"
  "$py" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-build-isolation -e "$ROOT"

  # the import check: every module, found where, from which version
  local failed=0
  # shellcheck disable=SC2086  # one word a module
  "$py" - $CHECK_MODULES <<'EOF' || failed=1
import importlib, sys
bad = []
for name in sys.argv[1:]:
    try:
        m = importlib.import_module(name)
        print(f"  ok       {name} {getattr(m, '__version__', '')} ({getattr(m, '__file__', None)})")
    except Exception as e:
        bad.append(name)
        print(f"  MISSING  {name}: {type(e).__name__}: {e}")
try:
    import torch
    print(f"  torch {torch.__version__} ({torch.__file__}), CUDA available: {torch.cuda.is_available()}")
except Exception as e:
    bad.append("torch")
    print(f"  MISSING  torch (python3 should have it): {type(e).__name__}: {e}")
if bad: sys.exit(f"device_env: {len(bad)} module(s) do not import: {' '.join(bad)}")
EOF
  local s
  for s in $CHECK_SCRIPTS; do
    [[ -x $venv/bin/$s ]] || { echo "device_env: no console script $venv/bin/$s"; failed=1; }
  done
  if [[ -x $venv/bin/decgan ]] && ! "$venv/bin/decgan" --help > /dev/null 2>&1; then
    echo "device_env: '$venv/bin/decgan --help' failed"; failed=1
  fi
  ((failed == 0)) || die "the environment is incomplete: $WHEELS lacks a wheel (run 'bench/device_env.sh fetch' on a" \
    "machine with internet, and carry $WHEELS)"
  echo "device_env: ready. Run the check with:"
  echo "BIN=$venv/bin bench/gpu_check.sh runs/gpu_check"
}

case ${1:-} in
  fetch) shift; (($# == 0)) || die "fetch takes no arguments"; fetch ;;
  install) shift; (($# <= 1)) || die "install takes one argument, the venv"; install "$@" ;;
  -h|--help) awk 'NR > 1 && /^#/ {print; next} NR > 1 {exit}' "$0" ;;
  *) echo "usage: bench/device_env.sh fetch | install [VENV]   (--help for more)" >&2; exit 2 ;;
esac
