#!/usr/bin/env bash
# Runs a command and checks its exit code and combined stdout+stderr.
#
#   expect.sh EXPECTED_EXIT_CODE REGEX [REGEX...] -- COMMAND [ARGS...]
#
# Passes (exit 0) when COMMAND exits with EXPECTED_EXIT_CODE and its combined
# output matches every extended REGEX (grep -E, line-oriented; a REGEX that
# starts with '!' must NOT match anywhere, e.g. '!Segmentation'). Otherwise
# prints the command, both exit codes, the failing pattern and the output, and
# exits 1. Usage errors exit 64.
set -u
set -o pipefail

usage() {
  echo "usage: expect.sh EXPECTED_EXIT_CODE REGEX [REGEX...] -- COMMAND [ARGS...]" >&2
  exit 64
}

[[ $# -ge 3 ]] || usage
expected=$1
shift
[[ $expected =~ ^[0-9]+$ ]] || { echo "expect.sh: EXPECTED_EXIT_CODE must be a number, got '$expected'" >&2; usage; }

patterns=()
while [[ $# -gt 0 && $1 != "--" ]]; do
  patterns+=("$1")
  shift
done
[[ $# -gt 0 && $1 == "--" ]] || { echo "expect.sh: missing '--' before the command" >&2; usage; }
shift
[[ $# -gt 0 ]] || { echo "expect.sh: no command given" >&2; usage; }
[[ ${#patterns[@]} -gt 0 ]] || { echo "expect.sh: no REGEX given" >&2; usage; }

out=$(mktemp "${TMPDIR:-/tmp}/cohort-expect.XXXXXX") || { echo "expect.sh: mktemp failed" >&2; exit 1; }
trap 'rm -f -- "$out"' EXIT

"$@" >"$out" 2>&1 </dev/null
actual=$?

header_printed=0
fail() {
  if [[ $header_printed -eq 0 ]]; then
    header_printed=1
    printf 'FAIL: %s\n' "$1"
    printf 'command:'
    printf ' %q' "${cmd[@]}"
    printf '\n'
    printf 'expected exit code: %s, actual: %s\n' "$expected" "$actual"
  else
    printf 'also: %s\n' "$1"
  fi
}

cmd=("$@")
[[ $actual -eq $expected ]] || fail "exit code $actual, expected $expected"
for re in "${patterns[@]}"; do
  negate=0
  if [[ $re == '!'* ]]; then
    negate=1
    re=${re:1}
  fi
  rc=0
  grep -a -E -q -e "$re" -- "$out" || rc=$?
  if [[ $rc -gt 1 ]]; then
    fail "invalid regex: $re"
  elif [[ $negate -eq 0 && $rc -ne 0 ]]; then
    fail "output does not match: $re"
  elif [[ $negate -eq 1 && $rc -eq 0 ]]; then
    fail "output matches forbidden pattern: $re"
  fi
done
if [[ $header_printed -ne 0 ]]; then
  printf -- '--- output (stdout+stderr) ---\n'
  cat -- "$out"
  printf -- '--- end of output ---\n'
  exit 1
fi
exit 0
