#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzXxx in a _test.go file) for a bounded
# time each, and fails if any finds a crash: a panic, a failed property, or
# for FuzzGateway a 5xx or Internal answer to client input. Go fuzzes one
# target of one package per invocation, so targets run one after another.
# A crasher is written to the package's testdata/fuzz/FuzzXxx/ directory;
# commit it with the fix and it becomes a regression test that plain
# `go test` runs.
#
# Settings (environment):
#   FUZZTIME          time per target, a Go duration or Nx (default 20s)
#   FUZZ_PARALLEL     fuzzing workers per target (default 2, the CI's CPUs)
#   FUZZ_MINIMIZETIME time to minimize each new input (default 2s; Go's
#                     60s default stalls short runs while it minimizes)
#   FUZZ_TARGETS      space-separated names to run only those (FuzzParse
#                     runs every FuzzParse)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-20s}
parallel=${FUZZ_PARALLEL:-2}
minimize=${FUZZ_MINIMIZETIME:-2s}
only=" ${FUZZ_TARGETS:-} "

log() { printf 'fuzz.sh: %s\n' "$*" >&2; }

# "dir name" pairs, from the sources so that a new target runs without a
# change here.
mapfile -t targets < <(git ls-files '*_test.go' |
  xargs grep -H '^func Fuzz[A-Za-z0-9_]*(f \*testing.F)' |
  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort)

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# fuzz runs one target; its output is also kept in $out.
fuzz() {
  go test -run='^$' -fuzz="^${2}\$" -fuzztime="$fuzztime" \
    -fuzzminimizetime="$minimize" -parallel="$parallel" "./$1" 2>&1 | tee "$out"
}

failed=()
for t in "${targets[@]}"; do
  read -r dir name <<<"$t"
  if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then
    continue
  fi
  log "$name in ./$dir for $fuzztime"
  if fuzz "$dir" "$name"; then
    continue
  fi
  # Go's fuzzing coordinator sometimes fails a run with only "context
  # deadline exceeded" when the time is up while a busy machine is slow
  # to stop its workers: no input failed and none was written. That is
  # not a finding; run the target once more.
  if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out" &&
    [ -z "$(git status --porcelain --untracked-files=all -- "$dir/testdata/fuzz")" ]; then
    log "$name: the run ended with the fuzzing engine's deadline error and no failing input; running it again"
    if fuzz "$dir" "$name"; then
      continue
    fi
  fi
  failed+=("$dir $name")
done

if [ "${#failed[@]}" -gt 0 ]; then
  log "crashes found by: ${failed[*]}; new inputs under testdata/fuzz:"
  git status --short --untracked-files=all -- '*/testdata/fuzz/*' >&2
  exit 1
fi
log "no crashes"
