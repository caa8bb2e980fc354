#!/bin/sh
# Self-test of the run records and the regression gate (scripts/gate.pl), in
# TAP: crafted records for each rule of the gate, its bad inputs, then two
# real host runs of guest_memfd_test and the gate between them.
# Usage: scripts/gate_test.sh OUTPUT_DIR [WORKDIR]
# shellcheck disable=SC2086 # $base holds result specs, one a word
set -u
out=${1:?usage: scripts/gate_test.sh OUTPUT_DIR [WORKDIR]}
top=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-$out/gate-test}
rm -rf "$work"
mkdir -p "$work"
gate="$top/scripts/gate.pl"
n=0 failed=0

# record DIR NAME=OUTCOME...: a record.json holding these results; a NAME
# without ":" is a program, "prog:test" its result "prog: test".
record() {
	mkdir -p "$1"
	dir=$1
	shift
	perl -MJSON::PP -e '
		my (%programs, %results, @order);
		for (@ARGV) {
			my ($name, $outcome) = /^(.*)=(\w+)$/ or die "bad spec $_\n";
			$name =~ s/:/: /;
			my $row = { outcome => $outcome, ($outcome eq "skip" ? (reason => "why $name") : ()) };
			if ($name =~ /: /) { $results{$name} = $row; }
			else { $programs{$name} = $row; push @order, $name; }
		}
		print JSON::PP->new->canonical->encode({ format => "kvm_gmem-run-record/1",
			suite_revision => "test", started => "2026-01-01T00:00:00Z",
			machine => { hostname => "h", arch => "x86_64" },
			kernel => { release => "6.12-test", cmdline => "c", arch => "x86_64" },
			declaration => "", strict => JSON::PP::false, program_order => \@order,
			programs => \%programs, results => \%results });
	' "$@" > "$dir/record.json"
}

# expect NAME STATUS OUTPUT_PATTERN command...: the command exits STATUS and
# its output (stdout and stderr) matches the extended regex.
expect() {
	name=$1 want=$2 pattern=$3
	shift 3
	n=$((n + 1))
	"$@" > "$work/$n.out" 2>&1
	got=$?
	if [ "$got" = "$want" ] && grep -Eq -- "$pattern" "$work/$n.out"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name # exit $got (want $want), output:"
		sed 's/^/# /' "$work/$n.out" | head -n 20
		failed=$((failed + 1))
	fi
}

base="p=pass p:a=pass p:b=pass p:c=skip p:d=fail q=pass q:e=pass"
crafted() { d=$work/$1; shift; record "$d" "$@"; echo "$d"; }

echo "TAP version 13"
echo "1..18"
B=$(crafted base $base)
expect "identical records pass" 0 '^gate: PASS' "$gate" "$B" "$(crafted same $base)"
expect "pass -> fail regresses" 1 '^regressed +p: a +pass -> fail' \
	"$gate" "$B" "$(crafted pass-fail ${base%%p:a=pass*} p:a=fail ${base#*p:a=pass})"
expect "pass -> skip regresses" 1 '^regressed +p: b +pass -> skip +\[NEW: why p: b\]' \
	"$gate" "$B" "$(crafted pass-skip p=pass p:a=pass p:b=skip p:c=skip p:d=fail q=pass q:e=pass)"
expect "a missing row regresses" 1 '^missing +p: b +pass -> absent' \
	"$gate" "$B" "$(crafted missing-row p=pass p:a=pass p:c=skip p:d=fail q=pass q:e=pass)"
expect "a missing program regresses" 1 '^missing +q +program not run in NEW \(1 result' \
	"$gate" "$B" "$(crafted missing-program p=pass p:a=pass p:b=pass p:c=skip p:d=fail)"
expect "a new failing row regresses" 1 '^new failing +p: z +absent -> fail' \
	"$gate" "$B" "$(crafted new-fail $base p:z=fail)"
expect "skip -> fail regresses" 1 '^regressed +p: c +skip -> fail' \
	"$gate" "$B" "$(crafted skip-fail p=pass p:a=pass p:b=pass p:c=fail p:d=fail q=pass q:e=pass)"
expect "fail -> pass only passes, listed as fixed" 0 '^fixed +p: d +fail -> pass' \
	"$gate" "$B" "$(crafted fixed p=pass p:a=pass p:b=pass p:c=skip p:d=pass q=pass q:e=pass)"
expect "skip -> pass and a new passing row pass" 0 '^newly run +p: c +skip -> pass' \
	"$gate" "$B" "$(crafted newly-run p=pass p:a=pass p:b=pass p:c=pass p:d=fail q=pass q:e=pass q:f=pass)"
sed 's/6.12-test/6.13-test/' "$B/record.json" > "$(crafted other-kernel)/record.json"
expect "another kernel is said at the top" 0 'note: comparing different kernels: 6.12-test vs 6.13-test' \
	"$gate" "$B" "$work/other-kernel"

expect "a missing directory is bad input" 2 '^gate: NEW .*/nowhere: no such directory' \
	"$gate" "$B" "$work/nowhere"
mkdir -p "$work/empty"
expect "a directory without record.json is bad input" 2 'no record\.json' "$gate" "$work/empty" "$B"
sed 's|kvm_gmem-run-record/1|kvm_gmem-run-record/99|' "$B/record.json" > "$(crafted future)/record.json"
expect "an unknown format is bad input" 2 "format 'kvm_gmem-run-record/99' is not one this gate knows" \
	"$gate" "$B" "$work/future"
head -c 100 "$B/record.json" > "$(crafted truncated)/record.json"
expect "a truncated record is bad input" 2 'record\.json: not valid JSON' "$gate" "$B" "$work/truncated"

# gmem_bench.json in both directories: bench/compare's verdict counts.
bench_json=$top/bench/reference/6.18.44-fc-v595-run1.json
cp "$bench_json" "$(crafted bench-base $base)/gmem_bench.json"
cp "$bench_json" "$(crafted bench-same $base)/gmem_bench.json"
python3 "$top/bench/slowdown" --factor 1.2 "$bench_json" "$(crafted bench-slower $base)/gmem_bench.json" > /dev/null
expect "the same benchmarks pass" 0 '^gate: PASS: .*benchmarks ok' "$gate" "$work/bench-base" "$work/bench-same"
expect "benchmarks 20% slower regress" 1 '^gate: FAIL: 1 regression.*benchmarks regressed' \
	"$gate" "$work/bench-base" "$work/bench-slower"

# Two real runs of the host suite, then the gate between them.
for run in 1 2; do
	"$top/run_tests.sh" --bin-dir "$out" -t guest_memfd_test --log-dir "$work/run$run" \
		> "$work/run$run.out" 2>&1
done
n=$((n + 1))
if grep -q '^# record: ' "$work/run1.out" && [ -s "$work/run1/guest_memfd_test.tap" ] &&
	grep -q '"format" : "kvm_gmem-run-record/1"' "$work/run1/record.json" &&
	grep -q '"guest_memfd_test: ' "$work/run1/record.json"; then
	echo "ok $n a host run leaves its TAP and record.json, and says where"
else
	echo "not ok $n a host run leaves its TAP and record.json, and says where"
	failed=$((failed + 1))
fi
expect "the gate passes two host runs of guest_memfd_test" 0 '^gate: PASS' \
	"$gate" "$work/run1" "$work/run2"
[ "$failed" = 0 ]
