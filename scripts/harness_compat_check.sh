#!/bin/bash
# CI: lib/harness/harness_glue.c, the one file that uses kselftest_harness.h's
# internals, against the oldest and the newest harness at hand. Each harness
# is built through the Makefile (`make KDIR=<tree> <glue object>`): a harness
# the glue supports (Linux 6.9 and later) must build, and a tiny harness
# program (scripts/harness_compat_probe.c) linked with that glue must report
# pass, skip, failure, signal and timeout as expected, with -l and -r working;
# one it does not support must stop the build with exactly one
# "kvm_gmem: ..." line naming the problem.
#
#   Debian's linux-source-6.1 (oldest: refused, it predates exit_code)
#   Debian's linux-source-6.12 (newest packaged: supported)
#   6.12 with setup_completed, env and timed_out renamed away (the fields
#     6.16 removed; generated here, as are the next two)
#   6.12 with __test_metadata.exit_code renamed, and of another type (refused)
#   every tree in HARNESS_COMPAT_TREES (e.g. a 6.18 checkout: supported)
#
# Usage: scripts/harness_compat_check.sh [WORKDIR]   (default build/harness-compat)
# Prints TAP ("ok N harness <version> ...") and "# N passed, N failed, N
# skipped"; exits 0 when nothing failed. Only the harness files are taken
# from the tarballs (once per tarball); nothing outside WORKDIR is written.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$top/build/harness-compat}
mkdir -p "$work" && work=$(cd "$work" && pwd) || exit 1
case "$work" in /|"$top") echo "harness_compat_check: refusing WORKDIR $work" >&2; exit 1 ;; esac
unset ARCH SRCARCH CROSS_COMPILE LLVM O KBUILD_OUTPUT KHDR_INCLUDES OUTPUT KDIR \
	MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES SANITIZE STATIC
cc=${CC:-gcc}
ksft=tools/testing/selftests

# extract TARBALL DIR: the harness headers only, reused while the tarball is the same.
extract() {
	local want
	want="$1 $(stat -c '%s %Y' "$1" 2>/dev/null)"
	[ -f "$2/.source" ] && [ "$(cat "$2/.source")" = "$want" ] && return 0
	rm -rf "$2" && mkdir -p "$2" &&
		tar -xJf "$1" -C "$2" --strip-components=1 --wildcards \
			"*/$ksft/kselftest.h" "*/$ksft/kselftest_harness.h" &&
		echo "$want" > "$2/.source"
}

# derive NAME SED: a copy of Debian's 6.12 harness, edited by SED.
derive() {
	rm -rf "${work:?}/$1" && mkdir -p "$work/$1/$ksft" &&
		cp "$work/6.12/$ksft/kselftest.h" "$work/$1/$ksft/" &&
		sed "$2" "$work/6.12/$ksft/kselftest_harness.h" > "$work/$1/$ksft/kselftest_harness.h"
}

# glue NAME TREE: make's glue object against TREE; stderr in NAME/make.err.
glue() {
	local out=$work/$1/out
	rm -rf "$out"
	make -C "$top" --no-print-directory KDIR="$2" OUTPUT="$out" \
		"$out/obj/lib/harness/harness_glue.o" > "$work/$1/make.log" 2> "$work/$1/make.err"
}

# probe NAME: links the probe with NAME's glue and checks what it reports;
# prints the first mismatch (nothing when all is right).
probe() {
	local d=$work/$1 p=$work/$1/probe v t want got
	"$cc" -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -I"$top/include/harness" \
		"$top/scripts/harness_compat_probe.c" "$d/out/obj/lib/harness/harness_glue.o" \
		-o "$p" 2> "$d/probe-build.log" || { echo "probe does not link (probe-build.log)"; return; }
	timeout 60 "$p" > "$d/probe.tap" 2>&1
	got=$?
	[ "$got" = 1 ] || { echo "probe exit $got, want 1 (probe.tap)"; return; }
	grep -qx '1\.\.10' "$d/probe.tap" || { echo "no plan 1..10 (probe.tap)"; return; }
	for v in one two; do
		for t in "ok [0-9]* compat.$v.pass" "ok [0-9]* compat.$v.skip # SKIP skipped in $v" \
			"not ok [0-9]* compat.$v.fail # *failed in $v" "ok [0-9]* compat.$v.signal" \
			"not ok [0-9]* compat.$v.timeout"; do
			grep -qx "$t" "$d/probe.tap" || { echo "no line '$t' (probe.tap)"; return; }
		done
	done
	timeout 60 "$p" -r compat.two.skip > "$d/probe-r.tap" 2>&1
	got=$?
	want='ok 1 compat.two.skip # SKIP skipped in two'
	if [ "$got" != 0 ] || ! grep -qx '1\.\.1' "$d/probe-r.tap" || ! grep -qx "$want" "$d/probe-r.tap"; then
		echo "-r compat.two.skip: exit $got, want 0 and '1..1', '$want' (probe-r.tap)"
		return
	fi
	timeout 60 "$p" -l > "$d/probe-l.log" 2>&1
	if ! grep -q 'compat .*one .*pass' "$d/probe-l.log" || grep -q '^ok ' "$d/probe-l.log"; then
		echo "-l does not list the tests, or runs them (probe-l.log)"
	fi
}

n=0 passed=0 failed=0 skipped=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n harness $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n harness $1 # $2"; }

# supported NAME TREE: the glue builds, and the probe works.
supported() {
	local why
	if ! glue "$1" "$2"; then
		not_ok "$1" "glue does not build: $(grep -m1 '^kvm_gmem: ' "$work/$1/make.err")"
		return
	fi
	why=$(probe "$1")
	if [ -n "$why" ]; then not_ok "$1" "$why (in $work/$1)"; else ok "$1 (glue builds, probe reports every result)"; fi
}

# refused NAME TREE PATTERN: the build stops with one kvm_gmem line matching PATTERN.
refused() {
	local lines
	if glue "$1" "$2"; then
		not_ok "$1" "glue builds, but must be refused"
		return
	fi
	lines=$(grep -c '^kvm_gmem: ' "$work/$1/make.err")
	if [ "$lines" = 1 ] && grep -q "^kvm_gmem: .*$3" "$work/$1/make.err"; then
		ok "$1 (refused: $(grep '^kvm_gmem: ' "$work/$1/make.err" | sed 's/ \[.*//'))"
	else
		not_ok "$1" "want one 'kvm_gmem: ...$3...' line, got $lines (make.err)"
	fi
}

# debian VERSION: the harness of Debian's linux-source-VERSION, or why not.
debian() {
	local tarball=${LINUX_SOURCE_DIR:-/usr/src}/linux-source-$1.tar.xz
	[ -r "$tarball" ] || { echo "$tarball missing (apt-get install linux-source-$1)"; return 1; }
	extract "$tarball" "$work/$1" || { echo "extracting the harness from $tarball failed"; return 1; }
}

echo "TAP version 13"
read -ra trees <<< "${HARNESS_COMPAT_TREES:-}"
echo "1..$((5 + ${#trees[@]}))"
if why=$(debian 6.1); then
	refused 6.1 "$work/6.1" 'predates Linux 6\.9'
else
	not_ok 6.1 "$why"
fi
if why=$(debian 6.12); then
	supported 6.12 "$work/6.12"
	derive 6.12-less-6.16-removals 's/\<\(setup_completed\|timed_out\|env\)\>/\1_removed/g' &&
		supported "6.12-less-6.16-removals" "$work/6.12-less-6.16-removals"
	derive 6.12-exit_code-renamed 's/\<exit_code\>/exit_status/g' &&
		refused 6.12-exit_code-renamed "$work/6.12-exit_code-renamed" "no member named.*exit_code"
	derive 6.12-exit_code-long 's/^\tint exit_code;/\tlong exit_code;/' &&
		refused 6.12-exit_code-long "$work/6.12-exit_code-long" "__test_metadata\.exit_code is not what"
else
	for v in 6.12 6.12-less-6.16-removals 6.12-exit_code-renamed 6.12-exit_code-long; do not_ok "$v" "$why"; done
fi
for tree in "${trees[@]}"; do
	name=tree-$(basename "$tree")
	mkdir -p "$work/$name"
	supported "$name" "$(cd "$tree" && pwd)"
done
echo "# $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
