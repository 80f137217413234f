#!/usr/bin/env bash
# The command line's promise, for every subcommand at once:
#   - `cohort CMD --help` exits 0 with usage, options and examples;
#   - every option another subcommand takes, given to CMD, exits 2 naming the
#     option and CMD (options are read from the --help texts, so a new option
#     is covered without editing this file);
#   - `cohort --version` names the revision and the optional parts.
#
#   options.sh PATH/TO/cohort
set -u
set -o pipefail
[[ $# -eq 1 ]] || { echo "usage: options.sh PATH/TO/cohort" >&2; exit 64; }
cohort=$1
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }

commands=("run" "validate" "list" "sweep" "report" "meta train" "meta eval" "viz" "bench")
declare -A takes
all=()
for c in "${commands[@]}"; do
  # shellcheck disable=SC2086
  help=$("$cohort" $c --help 2>&1)
  rc=$?
  [[ $rc -eq 0 ]] || fail "cohort $c --help exited $rc"
  grep -q "^usage: cohort $c" <<<"$help" || fail "cohort $c --help: no usage line"
  grep -q "^examples:" <<<"$help" || fail "cohort $c --help: no examples"
  opts=$(grep -oE '^  --[a-z-]+' <<<"$help" | tr -d ' ')
  takes[$c]=" $(tr '\n' ' ' <<<"$opts")"
  for o in $opts; do all+=("$o"); done
done
mapfile -t all < <(printf '%s\n' "${all[@]}" | sort -u)
[[ ${#all[@]} -ge 25 ]] || fail "only ${#all[@]} distinct options found in the --help texts"

checked=0
for c in "${commands[@]}"; do
  for o in "${all[@]}"; do
    [[ ${takes[$c]} == *" $o "* ]] && continue
    # shellcheck disable=SC2086
    out=$("$cohort" $c "$o" 1 2>&1 </dev/null)
    rc=$?
    checked=$((checked + 1))
    if [[ $rc -ne 2 ]] || ! grep -qF "error: $o: is not an option of \`cohort $c\`" <<<"$out"; then
      fail "cohort $c $o exited $rc: $out"
    fi
  done
done
echo "checked $checked (subcommand, foreign option) pairs"
[[ $checked -ge 100 ]] || fail "only $checked pairs checked"

v=$("$cohort" --version)
grep -qE '^cohort [0-9.]+ \(git ([0-9a-f]+(-dirty)?|unknown), [A-Za-z]+ build\)$' <<<"$(head -1 <<<"$v")" ||
  fail "--version first line: $(head -1 <<<"$v")"
for part in "LibTorch agents" "visualizer" "MPI" "Python package"; do
  grep -qE "^  $part: +(yes|no)$" <<<"$v" || fail "--version does not say whether $part was built"
done

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all ok"
