#!/bin/sh
# make check: the project's own unit tests, then the whole suite through
# run_tests.sh, then an independent TAP check of everything that ran, ending
# with "N passed, N failed, N skipped". Usage: scripts/check.sh OUTPUT_DIR
set -u
out=${1:?usage: scripts/check.sh OUTPUT_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
logs=$out/logs
rm -rf "$logs"
mkdir -p "$logs"
status=0

echo "== project unit tests"
"$out/unit/project_unit_test" > "$logs/project_unit_test.tap" 2>&1 || status=1
sed 's/^/  /' "$logs/project_unit_test.tap" | grep -E '^  (ok|not ok|# Totals)'

echo "== suite (run_tests.sh)"
"$top/run_tests.sh" --bin-dir "$out" --log-dir "$logs/suite" | tee "$logs/run_tests.tap" |
	grep -E '^(ok|not ok|# Totals)|^# (ok|not ok) |^# # Totals' | grep -v '# SKIP' || true
# The runner's own status is in its outer TAP, which tap_summary checks.

echo "== leftovers"
left=$(pgrep -f "$out/" || true)
if [ -n "$left" ]; then
	echo "processes left behind by the suite: $left"
	status=1
else
	echo "no test process left behind"
fi

echo "== TAP check (TAP::Parser)"
perl "$top/scripts/tap_summary.pl" "$logs/project_unit_test.tap" "$logs"/suite/*.tap \
	--structure-only "$logs/run_tests.tap" || status=1
exit $status
