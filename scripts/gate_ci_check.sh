#!/bin/bash
# CI: the regression gate (scripts/gate.pl) on real lane records, both ways,
# as TAP. BASE is a lane's record; SAME a second boot of the same kernel;
# BROKEN a boot with a broken ioctl, which must regress ROW (among others);
# the benchmark half takes BENCH, a record with gmem_bench.json, against
# itself unchanged and slowed down (bench/slowdown). Each gate's output is
# in WORK (default build/gate).
#
#   scripts/gate_ci_check.sh BASE SAME BROKEN ROW BENCH [WORK]
set -u
cd "$(dirname "$0")/.."
base=$1 same=$2 broken=$3 row=$4 bench=$5 work=${6:-build/gate}
rm -rf "$work" && mkdir -p "$work" || exit 1
n=0 failed=0

# gate NAME WANT_STATUS BASE NEW [PATTERN]: the gate's exit status is
# WANT_STATUS and, if given, a line of its output matches PATTERN.
gate() {
	local name=$1 want=$2 base=$3 new=$4 pattern=${5:-} out=$work/$((n + 1)).txt rc
	n=$((n + 1))
	scripts/gate.pl "$base" "$new" > "$out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ] && { [ -z "$pattern" ] || grep -qE "$pattern" "$out"; }; then
		echo "ok $n $name"
	else
		echo "not ok $n $name # exit $rc (want $want)${pattern:+, no line matching $pattern}"
		failed=$((failed + 1))
	fi
	sed 's/^/# /' "$out" | grep -vE '^# (same|unchanged) ' | head -n 40
}

# copy_with_bench NAME [SLOWDOWN_FACTOR]: BENCH again, its benchmark result
# unchanged or with every time multiplied by the factor.
copy_with_bench() {
	local dir=$work/$1
	cp -r "$bench" "$dir"
	[ -z "${2:-}" ] || bench/slowdown --factor "$2" "$bench/gmem_bench.json" "$dir/gmem_bench.json" > /dev/null
	echo "$dir"
}

echo "TAP version 13"
echo "1..5"
gate "the same kernel booted again passes" 0 "$base" "$same" '^gate: PASS'
gate "a broken kernel fails, naming $row" 1 "$base" "$broken" "^regressed +[a-z_]+: $row +pass -> fail"
if [ -f "$bench/gmem_bench.json" ]; then
	gate "an unchanged benchmark result passes" 0 "$bench" "$(copy_with_bench bench-same)" 'benchmarks ok'
	gate "a benchmark result 1.5x slower fails" 1 "$bench" "$(copy_with_bench bench-slow 1.5)" 'benchmarks regressed'
else
	for what in "an unchanged benchmark result passes" "a benchmark result 1.5x slower fails"; do
		n=$((n + 1))
		echo "not ok $n $what # $bench has no gmem_bench.json (the lane's --bench)"
		failed=$((failed + 1))
	done
fi
gate "a missing NEW directory is bad input" 2 "$base" "$work/no-such-run" '^gate: '
echo "$((n - failed)) passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
