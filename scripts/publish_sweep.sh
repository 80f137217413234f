# Sourced by the table scripts.
# publish_sweep SWEEP_NAME DOCS_DIR runs scenarios/sweeps/SWEEP_NAME.json into
# runs/SWEEP_NAME (resumable), reports it and copies results.md, results.csv and plots/
# to DOCS_DIR.
# check_baseline PATTERN FILE... stops the script unless every FILE holds PATTERN (the
# tuned configuration a tuning sweep chose must be the one the evaluation uses).
# meta_train_seeds META NAME SEEDS... meta-trains scenarios/meta/META.json once per seed
# (es.seed = es.init_seed = seed) into runs/NAME_seedSEED (resumable).
publish_sweep() {
  local out="${RUNS_DIR:-runs}/$1" docs="$2"
  ./build/cohort sweep "scenarios/sweeps/$1.json" --out "$out"
  ./build/cohort report "$out"
  mkdir -p "$docs"
  cp "$out/results.md" "$out/results.csv" "$docs/"
  rm -rf "$docs/plots" && cp -r "$out/plots" "$docs/plots"
  echo "table: $docs/results.md"
}
check_baseline() {  # PATTERN FILE...
  local pattern=$1
  shift
  for f in "$@"; do
    grep -qF "$pattern" "$f" || { echo "$f: does not hold the tuned baseline $pattern" >&2; exit 1; }
  done
}
meta_train_seeds() {  # META NAME SEED...
  local meta=$1 name=$2
  shift 2
  for seed in "$@"; do
    ./build/cohort meta train "scenarios/meta/$meta.json" --set es.seed="$seed" --set es.init_seed="$seed" \
      --out "runs/${name}_seed$seed" --quiet
  done
}
