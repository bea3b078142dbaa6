#!/usr/bin/env bash
# The main job (`make demo`): on the embedded synthetic data, train the runs listed in tools/demo_runs.tsv (DECGAN and
# IcGAN on the CK+-format tree for Figs 3-4 and the results table, the same two on the RAF-DB-format tree for Fig 5,
# and, unless ABLATIONS=0, the ablations and the second baseline), all with the same budget in images seen; train the
# evaluation judges of both trees; then run nbs/08_figures.ipynb, which evaluates every checkpoint and redraws Figs 3-5.
#
#   tools/demo.sh BIN OUT       BIN: the environment's bin folder; OUT: where runs, logs and executed notebooks go
#   ABLATIONS=0                 only the runs marked `main` in tools/demo_runs.tsv
#   DEMO_LANES=2                how many jobs run side by side (one torch thread each unless OMP_NUM_THREADS is set)
#   DEMO_PRESET=auto            auto: the paper preset (64x64, Tables 1-2) on a CUDA device, else demo; or demo / paper
#   DEMO_STEPS=N                DECGAN's steps (of the preset's batch) instead of the preset's, or of what fits the
#                               demo's time on a GPU (tools/demo_budget.py measures it); other runs: equal images seen
#   DEMO_PLAN=1                 print the preset, the budget and each job's parameters, then stop
#   FIGURES=figures             where the figures, the results tables, the sample grids and the timing go
#   TRAIN_EXTRA="-p steps 4"    more papermill parameters for every training (the tests make tiny runs this way)
#   JUDGE_EPOCHS=60             the judges' training epochs (the tests use fewer)
#   DEMO_COMMAND="make demo"    the command the figures' footers and the table name
#
# Each training is nbs/06_train.ipynb run by papermill with its embedded defaults plus the run's parameters
# (executed notebook, log, checkpoint, losses, TensorBoard logs and sample grids under OUT/<run>); resume=True makes
# a rerun continue a run, not restart it. The jobs form one queue, longest first, that the lanes take from in order.
set -euo pipefail
BIN=$(cd "$1" && pwd); OUT=$(mkdir -p "$2" && cd "$2" && pwd)
ABLATIONS=${ABLATIONS:-1}; LANES=${DEMO_LANES:-2}; FIGURES=${FIGURES:-figures}; JUDGE_EPOCHS=${JUDGE_EPOCHS:-60}
read -r -a EXTRA <<< "${TRAIN_EXTRA:-}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PAPERMILL=("$BIN/papermill" --no-progress-bar --log-output)
start=$SECONDS
# the code this run trains with, taken now (the figures it writes at the end are outputs, not code: ignored)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no -- . ':!figures' 2>/dev/null)" ] || commit+=" with uncommitted changes"

# the preset: the paper's (64x64, Tables 1-2) on a CUDA device, the demo preset on a CPU (tools/demo_budget.py)
IFS=$'\t' read -r PRESET PRESET_WHY < <("$BIN/python" tools/demo_budget.py preset "${DEMO_PRESET:-auto}")
echo ">> preset $PRESET: $PRESET_WHY"
declare -A ROOT=([ckplus]="$OUT/synth" [rafdb]="$OUT/synth_rafdb")
declare -A DATASET=([ckplus]=synth [rafdb]=rafdb)

# the budget: DECGAN's steps (the preset's, DEMO_STEPS, or on a GPU what fits the demo's time) x the preset's batch;
# the GPU's probe trains on the CK+-format tree, which the training provisions when it is missing
read -r DEMO_BATCH < <("$BIN/python" -c "from decgan.core import PRESETS; print(PRESETS['$PRESET']['batch_size'])")
IFS=$'\t' read -r STEPS STEPS_WHY < <("$BIN/python" tools/demo_budget.py steps "$PRESET" --data-root "$OUT/synth" \
  --work "$OUT/.probe" ${DEMO_STEPS:+--steps "$DEMO_STEPS"})
[[ $STEPS =~ ^[0-9]+$ ]] || { echo "FAIL: no step count from tools/demo_budget.py"; exit 1; }
IMAGES=$((STEPS * DEMO_BATCH))
echo ">> budget: $STEPS steps x $DEMO_BATCH images per DECGAN run ($STEPS_WHY)"

# each model's batch in the preset (a baseline brings its own: decgan.core.MODEL_SETTINGS)
declare -A MBATCH
while read -r m b; do MBATCH[$m]=$b; done < <("$BIN/python" -c "from decgan.core import Config; from decgan.registry import model_names
for m in model_names(): print(m, Config.preset_of('$PRESET', model=m).batch_size)")

# each model's precision, decided once here by decgan.train.choose_precision's probe (bf16 where it is faster) and
# passed to all of that model's runs: probed inside each run, with the other lane busy, a model whose two precisions
# are close (StarGAN at the demo preset: bf16 1.2-1.3x faster) could come out differently on its two trees
declare -A MPREC
while IFS=$'\t' read -r m prec why; do MPREC[$m]=$prec; echo ">> precision of $m: $prec ($why)"; done < <(
  "$BIN/python" -c "from decgan.core import Config, get_device; from decgan.registry import model_names; from decgan.train import choose_precision
for m in model_names(): print(m, *choose_precision(Config.preset_of('$PRESET', model=m), get_device('auto')), sep='\t')")

# the runs: tools/demo_runs.tsv (run, part, data, name, key=value parameters; budget=F trains F times the images)
declare -A PARAMS TITLE DATA MODEL; RUNS=()
while IFS=$'\t' read -r run part data title params; do
  [[ -z $run || $run == \#* ]] && continue
  [[ $part == full && $ABLATIONS == 0 ]] && continue
  RUNS+=("$run"); DATA[$run]=$data; TITLE[$run]=$title
  p=(); budget=1; MODEL[$run]=decgan
  for kv in $params; do
    k=${kv%%=*}; v=${kv#*=}
    case $k in budget) budget=$v;; *) p+=(-p "$k" "$v"); [[ $k == model ]] && MODEL[$run]=$v;; esac
  done
  batch=${MBATCH[${MODEL[$run]}]}
  for ((i = 0; i < ${#p[@]}; i += 3)); do [[ ${p[i+1]} == batch_size ]] && batch=${p[i+2]}; done
  [[ " ${p[*]} " == *" precision "* ]] || p+=(-p precision "${MPREC[${MODEL[$run]}]}")
  PARAMS[$run]="-p preset $PRESET ${p[*]} -p steps $((IMAGES * budget / batch))"
done < tools/demo_runs.tsv
# the queue, longest jobs first: the DECGAN-sized trainings, then the judges, then IcGAN (the cheapest)
JOBS=()
for r in "${RUNS[@]}"; do [[ ${MODEL[$r]} != icgan ]] && JOBS+=("$r"); done
JOBS+=(judges_ckplus judges_rafdb)
for r in "${RUNS[@]}"; do [[ ${MODEL[$r]} == icgan ]] && JOBS+=("$r"); done

job() {  # one job of the queue, its output in OUT/<job>.log; its wall time in OUT/.times/<job>
  local name=$1 t0=$SECONDS
  echo ">> $name: started (log $OUT/$name.log)"
  if [[ $name == judges_* ]]; then
    local data=${name#judges_}
    "$BIN/python" -c "from decgan.core import Config; from decgan.evaluate import judges_for
judges, _ = judges_for(Config.preset_of('$PRESET', dataset='${DATASET[$data]}', data_root='${ROOT[$data]}'), epochs=$JUDGE_EPOCHS)
print(judges.describe())" > "$OUT/$name.log" 2>&1
  else
    # shellcheck disable=SC2086  # PARAMS holds several words on purpose
    "${PAPERMILL[@]}" nbs/06_train.ipynb "$OUT/06_train_$name.ipynb" ${PARAMS[$name]} "${EXTRA[@]}" \
      -p dataset "${DATASET[${DATA[$name]}]}" -p data_root "${ROOT[${DATA[$name]}]}" -p out_dir "$OUT/$name" \
      -p resume True > "$OUT/$name.log" 2>&1
  fi || { echo "FAIL: $name: see $OUT/$name.log"; tail -n 20 "$OUT/$name.log"; return 1; }
  echo "$((SECONDS - t0))" > "$OUT/.times/$name"
  echo ">> $name: done in $((SECONDS - t0)) s"
}

lane() {  # take the next unclaimed job until none is left (mkdir is the atomic claim)
  for name in "${JOBS[@]}"; do
    mkdir "$OUT/.claims/$name" 2>/dev/null || continue
    job "$name" || return 1
  done
}

if [[ ${DEMO_PLAN:-0} == 1 ]]; then   # only say what would run
  for j in "${JOBS[@]}"; do echo "plan: $j ${PARAMS[$j]:-(judges)}"; done; exit 0
fi
echo ">> embedded synthetic data -> $OUT/synth (CK+ format), $OUT/synth_rafdb (RAF-DB format)"   # before the lanes share them
"$BIN/python" -c "from decgan.train import SYNTH_RAFDB_IMAGES, SYNTH_SUBJECTS, synth_rafdb_tree, synth_tree
synth_tree('$OUT/synth', n_subjects=SYNTH_SUBJECTS['$PRESET'])
synth_rafdb_tree('$OUT/synth_rafdb', n_images=SYNTH_RAFDB_IMAGES['$PRESET'])"
rm -rf "$OUT/.claims" "$OUT/.times"; mkdir "$OUT/.claims" "$OUT/.times"
pids=()
for _ in $(seq 1 "$LANES"); do lane & pids+=($!); done
ok=1; for p in "${pids[@]}"; do wait "$p" || ok=0; done
rm -rf "$OUT/.claims"
[ $ok = 1 ] || { echo "FAIL: a job failed (see above); rerun make demo to continue the finished runs"; exit 1; }

mkdir -p "$FIGURES"
for m in decgan icgan; do cp "$OUT/$m/samples.png" "$FIGURES/demo_samples_$m.png"; done
SHOWN=$(realpath --relative-to="$PWD" "$OUT")   # the figures and the table name the runs as the command line would
case $SHOWN in ..*) SHOWN=$OUT;; esac
# which run is which in the figures chapter: per tree, its DECGAN and IcGAN, other models beside them, DECGAN ablations
main=(); fig5=(); models=""; fig5_models=""; ablations=""
for r in "${RUNS[@]}"; do
  ck="$SHOWN/$r/checkpoint.pt"
  if [[ ${DATA[$r]} == ckplus ]]; then
    case $r in decgan) main+=(-p decgan_checkpoint "$ck");; icgan) main+=(-p icgan_checkpoint "$ck");;
      *) if [[ ${MODEL[$r]} == decgan ]]; then ablations+="${TITLE[$r]}=$ck;"; else models+="${TITLE[$r]}=$ck;"; fi;; esac
  else
    case $r in decgan_rafdb) fig5+=(-p fig5_decgan_checkpoint "$ck");; icgan_rafdb) fig5+=(-p fig5_icgan_checkpoint "$ck");;
      *) fig5_models+="${TITLE[$r]}=$ck;";; esac
  fi
done
echo ">> evaluation and figures: nbs/08_figures.ipynb -> $OUT/08_figures.ipynb (log $OUT/08_figures.log)"
t0=$SECONDS
"${PAPERMILL[@]}" nbs/08_figures.ipynb "$OUT/08_figures.ipynb" "${main[@]}" "${fig5[@]}" -p models "$models" \
  -p fig5_models "$fig5_models" -p ablations "$ablations" -p out_dir "$FIGURES" -p judge_epochs "$JUDGE_EPOCHS" \
  -p command "${DEMO_COMMAND:-make demo} (commit $commit)" \
  > "$OUT/08_figures.log" 2>&1 || { echo "FAIL: figures: see $OUT/08_figures.log"; tail -n 20 "$OUT/08_figures.log"; exit 1; }
echo "$((SECONDS - t0))" > "$OUT/.times/figures"
# the timing of this run, for the README (tools/make_readme.py reads it): job, seconds; then the whole run
{ echo "job,seconds"; for f in "$OUT"/.times/*; do echo "$(basename "$f"),$(cat "$f")"; done
  echo "total,$((SECONDS - start))"; echo "lanes,$LANES"; echo "command,${DEMO_COMMAND:-make demo}"; echo "commit,$commit"
  echo "preset,$PRESET"; echo "preset_why,\"$PRESET_WHY\""; echo "steps,$STEPS"; echo "steps_why,\"$STEPS_WHY\""; } > "$FIGURES/demo_timing.csv"
echo ">> done in $((SECONDS - start)) s: $FIGURES/results.md, fig3_synth.png, fig4_synth.png, fig5 (RAF-DB format), demo_timing.csv"
