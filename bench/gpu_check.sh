#!/usr/bin/env bash
# bench/gpu_check.sh: issue 15's GPU check. One command, at most 8 minutes on one H200, one summary table at the end
# (a row per part, PASS or FAIL), exit status 1 when any part failed. A part that breaks is FAIL, never skipped.
#
#   bench/gpu_check.sh [--cpu] [OUT]        OUT: where logs, runs and pictures go (default runs/gpu_check)
#
# The parts, in order (each with its own time limit; its log is OUT/logs/<part>.log):
#   device      CUDA is there (the GPU's name); without CUDA the check fails here, it does not fall back to the CPU
#   gpu_cells   every `#| gpu` cell: nbdev_test --flags gpu on the notebooks that have one
#   throughput  bench/throughput.py --batch 64 --batch 256: images/s, TFLOP/s against the bf16 matmul rate of the
#               same run, host syncs per step, and whether the goals are met (GPU_CHECK_COMPILE=1 adds
#               --compare-compile: a compiled "ours" row and its graph counts, to choose Config.compile; that
#               compiles every network at both batch sizes and is given 240 s more, beyond the 8 minutes)
#   train       1,000 paper-preset steps of DECGAN on the embedded synthetic CK+-format tree (python -m decgan.train)
#   results     decgan.report.results_table of that checkpoint (the table is printed below the summary)
#   ddp         torchrun (python -m torch.distributed.run) --nproc_per_node 1 -m decgan.train: the DDP path (NCCL,
#               one process), a few steps
#   photo_to    decgan synthesize on skimage.data.astronaut() --to happiness, with the train part's checkpoint
#   photo_like  the same --like a reference photo (the astronaut mirrored)
#
# --cpu (or GPU_CHECK_DRY=1) runs every part at a tiny size on the CPU (16 px, width 1/8, batch 4, a few steps):
# what tests/test_gpu_check.py runs. gpu_cells then only finds and parses the `#| gpu` cells (they need CUDA) and
# says so in its row. Environment: GPU_CHECK_ONLY=part,part runs only those (the others are listed as NOT RUN);
# GPU_CHECK_BREAK=part appends a bad flag to that part's command (tests use it to see a failure reported);
# GPU_CHECK_JUDGE_EPOCHS (default 20) for the results judges; BIN (default .venv/bin): the folder of the python,
# nbdev_test and decgan it runs (on a bare GPU machine, the venv bench/device_env.sh install makes).
# The summary's total says whether the 8 minutes held; the limits below are first guesses, to be set from that.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
DRY=${GPU_CHECK_DRY:-0}
OUT=
for a in "$@"; do
  case $a in
    --cpu) DRY=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ {print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    -*) echo "gpu_check.sh: unknown option $a" >&2; exit 2 ;;
    *) OUT=$a ;;
  esac
done
OUT=${OUT:-runs/gpu_check}
BIN=${BIN:-$ROOT/.venv/bin}
PY=$BIN/python
mkdir -p "$OUT/logs" && OUT=$(cd "$OUT" && pwd)
LOGS=$OUT/logs
export PYTHONUNBUFFERED=1

PARTS=(device gpu_cells throughput train results ddp photo_to photo_like)
if [[ $DRY == 1 ]]; then
  MODE=cpu; DEVICE=cpu; export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  SIZE=(--image-size 16 --width 0.125); SUBJECTS=10
  TRAIN=(--steps 4 --batch-size 4 --log-every 2 --ckpt-every 2 --sample-every 4 --precision fp32)
  DDP=(--steps 2 --batch-size 4 --log-every 1 --ckpt-every 2 --sample-every 2 --precision fp32)
  THROUGHPUT=(--cpu-small --device cpu --size 16 --width 0.125 --batch 4 --steps 2 --warmup 1 --check-steps 2
              --images 24 --workers 1 --matmul-n 256 --threads 1)
  JUDGE_EPOCHS=${GPU_CHECK_JUDGE_EPOCHS:-2}; N_BOOT=50
  declare -A LIMIT=([device]=60 [gpu_cells]=60 [throughput]=120 [train]=120 [results]=120 [ddp]=120 [photo_to]=90 [photo_like]=90)
else
  MODE=gpu; DEVICE=cuda
  SIZE=(); SUBJECTS=120
  TRAIN=(--steps 1000 --log-every 100 --ckpt-every 500 --sample-every 500)
  DDP=(--steps 20 --log-every 10 --ckpt-every 20 --sample-every 20)
  THROUGHPUT=(--batch 64 --batch 256)
  JUDGE_EPOCHS=${GPU_CHECK_JUDGE_EPOCHS:-20}; N_BOOT=200
  # the whole check must fit 8 minutes: these limits add up to 465 s
  declare -A LIMIT=([device]=20 [gpu_cells]=140 [throughput]=110 [train]=90 [results]=45 [ddp]=25 [photo_to]=15 [photo_like]=15)
fi
if [[ ${GPU_CHECK_COMPILE:-0} == 1 ]]; then THROUGHPUT+=(--compare-compile); LIMIT[throughput]=$((LIMIT[throughput] + 240)); fi
DATA=$OUT/synth           # the synthetic CK+-format tree (written by the first training that needs it)
CKPT=$OUT/paper/checkpoint.pt

declare -A STATUS SECS DETAIL
MEASURED=()
selected() { [[ -z ${GPU_CHECK_ONLY:-} ]] || [[ ",$GPU_CHECK_ONLY," == *",$1,"* ]]; }
broken() { [[ ${GPU_CHECK_BREAK:-} == "$1" ]] && echo "--gpu-check-broken-flag"; }

# run NAME CMD...: the command under the part's time limit, its output in LOGS/NAME.log; PASS when it exits 0
# and the part's check (function check_NAME, if defined) agrees. A timeout is a FAIL that says so.
run() {
  local name=$1; shift
  local t0=$SECONDS rc
  echo ">> $name: $*" | cut -c1-300
  # shellcheck disable=SC2046  # broken() adds one word or none
  timeout --kill-after 10 "${LIMIT[$name]}" "$@" $(broken "$name") > "$LOGS/$name.log" 2>&1
  rc=$?
  SECS[$name]=$((SECONDS - t0))
  if [[ $rc == 124 || $rc == 137 ]]; then
    STATUS[$name]=FAIL; DETAIL[$name]="timed out after ${LIMIT[$name]} s (log $LOGS/$name.log)"
  elif [[ $rc != 0 ]]; then
    STATUS[$name]=FAIL
    local why  # a command-line error, else the last exception (not torchrun's wrapper of it), else the last line
    why=$(grep -E '(^|: )error: ' "$LOGS/$name.log" | head -n 1)
    [[ -n $why ]] || why=$(grep -E '(Error|Exception): ' "$LOGS/$name.log" | grep -v ChildFailedError | tail -n 1)
    [[ -n $why ]] || why=$(grep -v '^\s*$' "$LOGS/$name.log" | tail -n 1)
    DETAIL[$name]="exit $rc: $(echo "$why" | cut -c1-200) (log $LOGS/$name.log)"
  elif declare -F "check_$name" > /dev/null; then
    local why
    if why=$("check_$name" 2>&1); then STATUS[$name]=PASS; DETAIL[$name]=$why
    else STATUS[$name]=FAIL; DETAIL[$name]="$why (log $LOGS/$name.log)"; fi
  else
    STATUS[$name]=PASS; DETAIL[$name]="log $LOGS/$name.log"
  fi
  echo "   $name: ${STATUS[$name]} in ${SECS[$name]} s"
}
fail() { STATUS[$1]=FAIL; SECS[$1]=0; DETAIL[$1]=$2; echo "   $1: FAIL ($2)"; }

# --- the checks of each part's output
check_device() { tail -n 1 "$LOGS/device.log"; }
check_gpu_cells() {
  if [[ $DRY == 1 ]]; then tail -n 1 "$LOGS/gpu_cells.log"; return; fi
  grep -q "Success" "$LOGS/gpu_cells.log" || { echo "nbdev_test did not report Success"; return 1; }
  echo "${#GPU_NBS[@]} notebooks with #| gpu cells ran with --flags gpu: $(IFS=,; echo "${GPU_NBS[*]}")"
}
check_throughput() {
  local log=$LOGS/throughput.log
  grep -q '^| batch' "$log" || { echo "no table in the output"; return 1; }
  grep -q '^goal: ' "$log" || { echo "no goal lines in the output"; return 1; }
  grep -E '^(goal: |ratio |loss check)|synchronising CUDA call|torch.compile made' "$log" \
    | sed 's/^/throughput: /' >> "$OUT/measured.txt"
  grep '^ratio ' "$log" | tr '\n' ' ' | cut -c1-200
}
check_train() {
  [[ -f $CKPT ]] || { echo "no checkpoint at $CKPT"; return 1; }
  grep -q "finished: step" "$LOGS/train.log" || { echo "no 'finished' line"; return 1; }
  grep -E "^\s+[0-9]+ steps in" "$LOGS/train.log" | sed 's/^ */train: /' >> "$OUT/measured.txt"
  grep -E "^\s+[0-9]+ steps in" "$LOGS/train.log" | sed 's/^ *//'
}
check_results() {
  [[ -s $OUT/results/results.md ]] || { echo "no results table at $OUT/results/results.md"; return 1; }
  echo "table: $OUT/results/results.md"
}
check_ddp() {
  local log=$LOGS/ddp.log
  grep -q "finished: step" "$log" || { echo "no 'finished' line"; return 1; }
  "$PY" - "$OUT/ddp/checkpoint.pt" <<'EOF'
import sys
from decgan.checkpoint import load_checkpoint
state = load_checkpoint(sys.argv[1])["state"]
prints = state["fingerprints"]
assert len(prints) == 1 and len(state["ranks"]) == 1, f"expected one process's state, got {len(prints)}"
print(f"one DDP process, step {load_checkpoint(sys.argv[1])['step']}, fingerprint {prints[0][:12]}")
EOF
}
check_photo() {  # check_photo FILE: a PNG of the photo's size
  "$PY" - "$1" <<'EOF'
import sys
from PIL import Image
with Image.open(sys.argv[1]) as im:
    assert im.size == (512, 512), f"{sys.argv[1]} is {im.size}, expected the photo's 512x512"
    print(f"{sys.argv[1]}: {im.size[0]}x{im.size[1]} {im.mode}")
EOF
}
check_photo_to() { check_photo "$OUT/photo_to.png"; }
check_photo_like() { check_photo "$OUT/photo_like.png"; }

rm -f "$OUT/measured.txt"; touch "$OUT/measured.txt"
START=$SECONDS
echo "gpu_check: mode $MODE, device $DEVICE, out $OUT"

# --- device
if selected device; then
  run device "$PY" - "$MODE" <<'EOF'
import sys
import torch
if sys.argv[2:]: sys.exit(f"device: unknown argument(s) {sys.argv[2:]}")
if sys.argv[1] == "cpu":
    print(f"cpu mode (--cpu): torch {torch.__version__}, {torch.get_num_threads()} thread(s); CUDA not used")
else:
    if not torch.cuda.is_available(): sys.exit("no CUDA device: run on a GPU machine, or pass --cpu for the tiny CPU run")
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{torch.cuda.device_count()} device(s)")
EOF
fi

# --- gpu_cells
mapfile -t GPU_NBS < <(grep -l '"#| gpu' nbs/*.ipynb)
if selected gpu_cells; then
  if [[ ${#GPU_NBS[@]} == 0 ]]; then fail gpu_cells "no notebook has a #| gpu cell"
  elif [[ $DRY == 1 ]]; then
    run gpu_cells "$PY" - "${GPU_NBS[@]}" <<'EOF'
import ast, json, sys
nbs = [a for a in sys.argv[1:] if not a.startswith("-")]
if len(nbs) != len(sys.argv[1:]): sys.exit(f"gpu_cells: unknown option(s) {[a for a in sys.argv[1:] if a.startswith('-')]}")
n = 0
for path in nbs:
    for cell in json.load(open(path))["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and src.lstrip().startswith("#| gpu"):
            ast.parse(src, filename=path); n += 1
print(f"dry: {n} gpu-flagged cells in {len(nbs)} notebooks found and parsed, not run (they need CUDA)")
EOF
  else
    names=$(printf '%s\n' "${GPU_NBS[@]}" | xargs -n1 basename | sed 's/\.ipynb$//' | paste -sd'|')
    run gpu_cells "$BIN/nbdev_test" --path nbs --file_re "^($names)\.ipynb$" --flags "gpu" --n_workers 4 --timing
  fi
fi

# --- throughput
if selected throughput; then
  run throughput "$PY" bench/throughput.py "${THROUGHPUT[@]}" --data-dir "$OUT/throughput_data"
fi

# --- train, then its results table
if selected train; then
  rm -rf "$OUT/paper"
  run train "$PY" -m decgan.train --preset paper "${SIZE[@]}" "${TRAIN[@]}" --device "$DEVICE" \
      --data-root "$DATA" --synth-subjects "$SUBJECTS" --out-dir "$OUT/paper"
fi
if selected results; then
  if [[ ! -f $CKPT ]]; then fail results "needs the train part's checkpoint $CKPT"
  else
    rm -rf "$OUT/results"
    run results "$PY" - "$CKPT" "$OUT/results" "$JUDGE_EPOCHS" "$N_BOOT" "$DEVICE" <<'EOF'
import sys
if sys.argv[6:]: sys.exit(f"results: unknown argument(s) {sys.argv[6:]}")
from decgan.report import results_table
ckpt, out, epochs, n_boot, device = sys.argv[1:6]
results_table({"DECGAN (paper preset)": ckpt}, out_dir=out, references=False, judge_epochs=int(epochs),
              n_boot=int(n_boot), device=device, command="bench/gpu_check.sh")
EOF
  fi
fi

# --- ddp: one process under torchrun (init_distributed joins a process group of one: the DDP path runs)
if selected ddp; then
  rm -rf "$OUT/ddp"
  run ddp "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 -m decgan.train --preset paper "${SIZE[@]}" \
      "${DDP[@]}" --device "$DEVICE" --data-root "$DATA" --synth-subjects "$SUBJECTS" --out-dir "$OUT/ddp"
fi

# --- the photo command
if selected photo_to || selected photo_like; then
  "$PY" -c "
import numpy as np, skimage.data
from PIL import Image
face = skimage.data.astronaut()
Image.fromarray(face).save('$OUT/astronaut.png'); Image.fromarray(np.ascontiguousarray(face[:, ::-1])).save('$OUT/reference.png')"
fi
for p in photo_to photo_like; do
  selected $p || continue
  if [[ ! -f $CKPT ]]; then fail $p "needs the train part's checkpoint $CKPT"; continue; fi
  if [[ $p == photo_to ]]; then what=(--to happiness); else what=(--like "$OUT/reference.png"); fi
  rm -f "$OUT/$p.png"
  run $p "$BIN/decgan" synthesize "$OUT/astronaut.png" "${what[@]}" --checkpoint "$CKPT" -o "$OUT/$p.png" --device "$DEVICE"
done

# --- the summary
total=$((SECONDS - START)); failed=0; ran=0
echo
echo "== gpu_check summary: mode $MODE, device $DEVICE, $total s in all (limit on a GPU: 480 s) =="
echo "| part | status | seconds | detail |"
echo "|---|---|---|---|"
for p in "${PARTS[@]}"; do
  if [[ -z ${STATUS[$p]:-} ]]; then
    echo "| $p | NOT RUN | - | not selected by GPU_CHECK_ONLY=${GPU_CHECK_ONLY:-} |"; continue
  fi
  ran=$((ran + 1)); [[ ${STATUS[$p]} == PASS ]] || failed=$((failed + 1))
  echo "| $p | ${STATUS[$p]} | ${SECS[$p]} | ${DETAIL[$p]//|//} |"
done
echo
if [[ -s $OUT/measured.txt ]]; then echo "== measured =="; cat "$OUT/measured.txt"; echo; fi
if [[ -s $OUT/results/results.md ]]; then echo "== results table ($OUT/results/results.md) =="; cat "$OUT/results/results.md"; echo; fi
if [[ $MODE == gpu && $total -gt 480 ]]; then echo "note: the check took $total s, over its 8-minute budget"; fi
echo "gpu_check: $ran part(s) run, $failed failed"
[[ $failed == 0 ]]
