#!/bin/sh
# The sanitizer lane: the host side built with ASan and UBSan (guest code never
# is) runs the project's unit tests and the whole suite, the stress and random
# programs included. A sanitizer report fails the lane even inside a test that
# passed; a program that is not instrumented fails it too (a lane that checks
# nothing must not pass). Last line: the runner's "# Totals:".
#
#   scripts/sanitizer_lane.sh            (builds build/<arch>-san first)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
case "$(uname -m)" in x86_64) arch=x86 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
out=$top/build/$arch-san
make -C "$top" -j2 SANITIZE=address,undefined > /dev/null || exit 1
status=0

for p in $(cat "$out/tests.list") unit/project_unit_test; do
	if ! nm "$out/$p" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle'; then
		echo "not instrumented: $out/$p"
		status=1
	fi
done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:print_summary=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rm -rf "$out/logs"
mkdir -p "$out/logs/suite"
"$out/unit/project_unit_test" > "$out/logs/project_unit_test.tap" 2>&1 || status=1
grep -E '^(not ok|# Totals)' "$out/logs/project_unit_test.tap" | sed 's/^/unit: /'
"$top/run_tests.sh" --bin-dir "$out" --log-dir "$out/logs/suite" > "$out/logs/run_tests.tap" 2>&1 || status=1
grep -E '^(ok|not ok) |^# Totals' "$out/logs/run_tests.tap" | grep -v '^# Totals' || true
reports=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out"/logs/*.tap "$out"/logs/suite/*.tap)
if [ -n "$reports" ]; then
	echo "sanitizer reports in: $reports"
	status=1
else
	echo "no sanitizer report"
fi
grep -E '^# Totals' "$out/logs/run_tests.tap"
exit $status
