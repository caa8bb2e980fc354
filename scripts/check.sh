#!/bin/sh
# make check: the project's own unit tests, then the whole suite through
# run_tests.sh (its record in OUTPUT_DIR/logs/suite), the self-test of the
# records and the gate, the check that every repository path a comment names
# exists, then an independent TAP check of everything that ran, ending
# with "N passed, N failed, N skipped". Usage: scripts/check.sh OUTPUT_DIR
set -u
out=${1:?usage: scripts/check.sh OUTPUT_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
logs=$out/logs
rm -rf "$logs"
mkdir -p "$logs"
status=0
# Every process of this run carries the token (leak_check.sh finds leftovers by it).
export KVMT_RUN_TOKEN="check-$$"
"$top/scripts/leak_check.sh" before "$logs/leaks"

echo "== project unit tests"
"$out/unit/project_unit_test" > "$logs/project_unit_test.tap" 2>&1 || status=1
sed 's/^/  /' "$logs/project_unit_test.tap" | grep -E '^  (ok|not ok|# Totals)'

echo "== suite (run_tests.sh)"
"$top/run_tests.sh" --bin-dir "$out" --log-dir "$logs/suite" | tee "$logs/run_tests.tap" |
	grep -E '^(ok|not ok|# Totals)|^# (ok|not ok) |^# # Totals|^# # (seed: |stress: [0-9.]+ s,|random: [0-9]+ operations in)' |
	grep -v '# SKIP' || true
# The runner's own status is in its outer TAP, which tap_summary checks.

echo "== run records and the regression gate (scripts/gate_test.sh)"
"$top/scripts/gate_test.sh" "$out" "$logs/gate-test" > "$logs/gate_test.tap" 2>&1 || status=1
grep -E '^(ok|not ok) ' "$logs/gate_test.tap" | sed 's/^/  /'

echo "== repository paths named in comments (scripts/comment_paths_check.pl)"
perl "$top/scripts/comment_paths_check.pl" "$top" > "$logs/comment_paths.tap" 2>&1 || status=1
grep -E '^(ok|not ok) |^# [^0-9]' "$logs/comment_paths.tap" | sed 's/^/  /'

echo "== leftovers"
"$top/scripts/leak_check.sh" after "$logs/leaks" "$KVMT_RUN_TOKEN" || status=1

echo "== TAP check (TAP::Parser)"
perl "$top/scripts/tap_summary.pl" "$logs/project_unit_test.tap" "$logs"/suite/*.tap "$logs/gate_test.tap" \
	"$logs/comment_paths.tap" \
	--structure-only "$logs/run_tests.tap" || status=1
exit $status
