#!/usr/bin/env bash
# CI check for the protobuf API. Fails when
#   1. gen/ is stale: it differs from what scripts/gen.sh produces from the
#      current proto/ (or has generated files git does not track);
#   2. `buf lint` fails;
#   3. `buf breaking` (rules in buf.yaml) finds a breaking change against the
#      proto/ of the previous commit, HEAD~1 (override with
#      BREAKING_AGAINST=<git ref>). Skipped, with a message, when that commit
#      does not exist or has no .proto files under proto/.
# All three are checked; the exit status is 1 if any failed.
#
# Usage: scripts/check-gen.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export GOWORK=off
bufmod="$root/scripts/buf.mod"
buf() { go tool -modfile="$bufmod" buf "$@"; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failed=()
in_git=false
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	in_git=true
fi

# 1. gen/ up to date. gen.sh generates into a temp dir (and refreshes
# scripts/.protodeps, which the buf steps below need).
scripts/gen.sh "$tmp/gen"
mkdir -p "$tmp/empty"
current="$root/gen"
[[ -d $current ]] || current="$tmp/empty"
if ! diff -r -q "$current" "$tmp/gen" >"$tmp/gen.diff" 2>&1; then
	sed -e "s#$tmp/gen#<regenerated>#g" -e "s#$root/##g" "$tmp/gen.diff" >&2
	echo "check-gen: gen/ is stale; run scripts/gen.sh and commit gen/" >&2
	failed+=(gen)
elif $in_git && [[ -n $(git ls-files --others --exclude-standard -- gen) ]]; then
	git ls-files --others --exclude-standard -- gen | sed 's/^/untracked: /' >&2
	echo "check-gen: gen/ has files not added to git; git add gen/" >&2
	failed+=(gen)
else
	echo "check-gen: gen/ is up to date"
fi

# 2. lint (buf.yaml excludes the third-party protos).
if buf lint; then
	echo "check-gen: buf lint ok"
else
	echo "check-gen: buf lint failed" >&2
	failed+=(lint)
fi

# 3. breaking changes against the previous commit. The third-party protos are
# not in git, so `--against .git#...` cannot resolve imports: rebuild the old
# proto/ in a temp workspace (current buf.yaml + current scripts/.protodeps)
# and compare against that image.
against="${BREAKING_AGAINST:-HEAD~1}"
if ! $in_git; then
	echo "check-gen: buf breaking skipped: not a git checkout"
elif ! git rev-parse -q --verify "$against^{commit}" >/dev/null; then
	echo "check-gen: buf breaking skipped: $against does not exist"
elif ! git ls-tree -r --name-only "$against" -- proto | grep -q '\.proto$'; then
	echo "check-gen: buf breaking skipped: $against has no .proto files in proto/"
else
	prev="$tmp/prev"
	mkdir -p "$prev/scripts"
	git archive --format=tar "$against" -- proto | tar -x -C "$prev"
	cp buf.yaml "$prev/buf.yaml"
	cp -R scripts/.protodeps "$prev/scripts/.protodeps"
	if ! buf build "$prev/proto" -o "$tmp/prev.binpb"; then
		echo "check-gen: cannot build proto/ of $against; buf breaking not run" >&2
		failed+=(breaking)
	elif buf breaking proto --exclude-imports --against "$tmp/prev.binpb"; then
		echo "check-gen: buf breaking ok (against $against)"
	else
		echo "check-gen: buf breaking failed (against $against)" >&2
		failed+=(breaking)
	fi
fi

if ((${#failed[@]})); then
	echo "check-gen: FAILED: ${failed[*]}" >&2
	exit 1
fi
