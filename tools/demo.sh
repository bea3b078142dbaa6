#!/usr/bin/env bash
# The main job (`make demo`): on the embedded synthetic data, train DECGAN, IcGAN and the three ablations of the
# results table with DECGAN's budget, train the evaluation judges, then run nbs/08_figures.ipynb, which evaluates
# every checkpoint (the results table, ablations as rows) and redraws Figs 3-5 into figures/.
#
#   tools/demo.sh BIN OUT       BIN: the environment's bin folder; OUT: where runs, logs and executed notebooks go
#   ABLATIONS=0                 leave the ablations out (DECGAN, IcGAN and the figures alone: about half the time)
#   DEMO_LANES=2                how many jobs run side by side (one torch thread each unless OMP_NUM_THREADS is set)
#   FIGURES=figures             where the figures, the results table and the sample grids go
#   TRAIN_EXTRA="-p steps 4"    more papermill parameters for every training (the tests make tiny runs this way)
#   JUDGE_EPOCHS=60             the judges' training epochs (the tests use fewer)
#   DEMO_COMMAND="make demo"    the command the figures' footers and the table name
#
# Each training is nbs/06_train.ipynb run by papermill with its embedded defaults plus the run's parameters
# (executed notebook, log, checkpoint, losses, TensorBoard logs and sample grids under OUT/<run>); resume=True makes
# a rerun continue a run, not restart it. The jobs form one queue that the lanes take from in order, so the long
# DECGAN trainings spread over the lanes and the judges train while GANs do.
set -euo pipefail
BIN=$(cd "$1" && pwd); OUT=$(mkdir -p "$2" && cd "$2" && pwd)
ABLATIONS=${ABLATIONS:-1}; LANES=${DEMO_LANES:-2}; FIGURES=${FIGURES:-figures}; JUDGE_EPOCHS=${JUDGE_EPOCHS:-60}
read -r -a EXTRA <<< "${TRAIN_EXTRA:-}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PAPERMILL=("$BIN/papermill" --no-progress-bar --log-output)

# run name -> (papermill parameters, name in the results table)
declare -A PARAMS=([decgan]="-p model decgan" [icgan]="-p model icgan"
                   [no_assoc]="-p model decgan -p association none" [no_pool]="-p model decgan -p pool_size 0"
                   [shared_g]="-p model decgan -p shared_generator True")
declare -A TITLE=([no_assoc]="DECGAN without associative loss" [no_pool]="DECGAN without history pool"
                  [shared_g]="DECGAN with one shared generator")
ABLATION_RUNS=(no_assoc no_pool shared_g)
if [ "$ABLATIONS" = 0 ]; then JOBS=(decgan icgan judges); ABLATION_RUNS=()
else JOBS=(decgan icgan no_assoc judges no_pool shared_g); fi

job() {  # one job of the queue, its output in OUT/<job>.log
  local name=$1 t0=$SECONDS
  echo ">> $name: started (log $OUT/$name.log)"
  if [ "$name" = judges ]; then
    "$BIN/python" -c "from decgan.core import Config; from decgan.evaluate import judges_for
judges, _ = judges_for(Config.preset_of('demo', dataset='synth', data_root='$OUT/synth'), epochs=$JUDGE_EPOCHS)
print(judges.describe())" > "$OUT/$name.log" 2>&1
  else
    # shellcheck disable=SC2086  # PARAMS holds several words on purpose
    "${PAPERMILL[@]}" nbs/06_train.ipynb "$OUT/06_train_$name.ipynb" ${PARAMS[$name]} "${EXTRA[@]}" \
      -p data_root "$OUT/synth" -p out_dir "$OUT/$name" -p resume True > "$OUT/$name.log" 2>&1
  fi || { echo "FAIL: $name: see $OUT/$name.log"; tail -n 20 "$OUT/$name.log"; return 1; }
  echo ">> $name: done in $((SECONDS - t0)) s"
}

lane() {  # take the next unclaimed job until none is left (mkdir is the atomic claim)
  for name in "${JOBS[@]}"; do
    mkdir "$OUT/.claims/$name" 2>/dev/null || continue
    job "$name" || return 1
  done
}

start=$SECONDS
echo ">> embedded synthetic data -> $OUT/synth"   # written once, before the lanes share it
"$BIN/python" -c "from decgan.train import synth_tree, SYNTH_SUBJECTS
synth_tree('$OUT/synth', n_subjects=SYNTH_SUBJECTS['demo'])"
rm -rf "$OUT/.claims"; mkdir "$OUT/.claims"
pids=()
for _ in $(seq 1 "$LANES"); do lane & pids+=($!); done
ok=1; for p in "${pids[@]}"; do wait "$p" || ok=0; done
rm -rf "$OUT/.claims"
[ $ok = 1 ] || { echo "FAIL: a job failed (see above); rerun make demo to continue the finished runs"; exit 1; }

mkdir -p "$FIGURES"
for m in decgan icgan; do cp "$OUT/$m/samples.png" "$FIGURES/demo_samples_$m.png"; done
SHOWN=$(realpath --relative-to="$PWD" "$OUT")   # the figures and the table name the runs as the command line would
case $SHOWN in ..*) SHOWN=$OUT;; esac
ablations=""
for r in "${ABLATION_RUNS[@]}"; do ablations+="${TITLE[$r]}=$SHOWN/$r/checkpoint.pt;"; done
echo ">> evaluation and figures: nbs/08_figures.ipynb -> $OUT/08_figures.ipynb (log $OUT/08_figures.log)"
"${PAPERMILL[@]}" nbs/08_figures.ipynb "$OUT/08_figures.ipynb" -p decgan_checkpoint "$SHOWN/decgan/checkpoint.pt" \
  -p icgan_checkpoint "$SHOWN/icgan/checkpoint.pt" -p ablations "$ablations" -p out_dir "$FIGURES" -p judge_epochs "$JUDGE_EPOCHS" -p command "${DEMO_COMMAND:-make demo}" \
  > "$OUT/08_figures.log" 2>&1 || { echo "FAIL: figures: see $OUT/08_figures.log"; tail -n 20 "$OUT/08_figures.log"; exit 1; }
echo ">> done in $((SECONDS - start)) s: $FIGURES/results.md, $FIGURES/fig3_synth.png, fig4_synth.png, fig5_synth.png$([ ${#ABLATION_RUNS[@]} = 0 ] || echo ", fig5_synth_ablations.png")"
