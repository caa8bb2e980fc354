#!/bin/bash
# CI: the suite as a kernel tree's selftest target. Extracts Debian's
# linux-source-6.12 once into WORKDIR (default build/intree; reused while the
# tarball is the same), runs `make headers`, copies this project into
# tools/testing/selftests/kvm_gmem and drives it the way a kernel developer and
# a lab do: the kselftest Makefile's build, install (+ run_kselftest.sh),
# run_tests and gen_tar, the kernel root's kselftest-clean/kselftest-all, make
# in the collection directory, and an arm64 cross build against
# `make ARCH=arm64 O=... headers`.
#
# Usage: scripts/intree_check.sh [WORKDIR]
#   LINUX_PATCH=FILE   apply FILE (-p1) to the tree after extracting it, e.g.
#                      ../shared/kernels/x86_64-v13/v13.patch: the build then takes
#                      the series' numbers from the tree's own headers
# Each step prints "ok N step" or "not ok N step: reason" (logs in
# WORKDIR/logs/); the last line is "N passed, N failed, N skipped". Exit 0
# when nothing failed. Nothing outside WORKDIR is written or removed.
#   INTREE_RUN_TESTS_ARGS="-t guest_memfd_test"   limit the run_tests step
#   JOBS=N                                         make -j (default 2)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$top/build/intree}
mkdir -p "$work" || exit 1
work=$(cd "$work" && pwd)
case "$work" in /|"$top") echo "intree_check: refusing WORKDIR $work" >&2; exit 1 ;; esac
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
linux_patch=${LINUX_PATCH:-}
[ -z "$linux_patch" ] || linux_patch=$(cd "$(dirname "$linux_patch")" && pwd)/$(basename "$linux_patch")
jobs=${JOBS:-2}
tree=$work/linux
ksft=$tree/tools/testing/selftests
coll=$ksft/kvm_gmem
logs=$work/logs
arm64_obj=$work/arm64-obj
started=$(date +%s)

# What the caller's make or shell may carry must not steer these builds.
unset ARCH SRCARCH CROSS_COMPILE LLVM O KBUILD_OUTPUT KHDR_INCLUDES OUTPUT \
	INSTALL_PATH KSFT_INSTALL_PATH KDIR COLLECTION MAKEFLAGS MAKELEVEL MFLAGS \
	MAKEOVERRIDES RUN_TESTS_ARGS SANITIZE STATIC

rm -rf "$logs"
mkdir -p "$logs"
n=0 passed=0 failed=0 skipped=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1: $2"; }
skip() { n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n $1 # SKIP $2"; }
# run LOG CMD...: the command's output into logs/LOG.log
run() { local log=$logs/$1.log; shift; echo "+ $*" > "$log"; "$@" >> "$log" 2>&1; }
programs() { cat "$1/tests.list" 2>/dev/null; }
# is_elf_machine FILE CODE: ELF e_machine (x86_64 62, aarch64 183)
is_elf_machine() {
	[ "$(od -An -tu2 -j18 -N2 "$1" 2>/dev/null | tr -d ' ')" = "$2" ]
}

# 1. The tree, extracted (and patched) once per tarball and patch.
stamp=$tree/.intree_check-source
want="$tarball $(stat -c '%s %Y' "$tarball" 2>/dev/null)${linux_patch:+ + $linux_patch $(cksum < "$linux_patch" 2>/dev/null)}"
if [ ! -r "$tarball" ]; then
	not_ok "tree" "$tarball missing (apt-get install linux-source-6.12)"
elif [ -n "$linux_patch" ] && [ ! -r "$linux_patch" ]; then
	not_ok "tree" "LINUX_PATCH $linux_patch missing"
elif [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	ok "tree (cached: $tree${linux_patch:+, $(basename "$linux_patch") applied})"
else
	rm -rf "$tree" "$tree.partial" "$arm64_obj"
	mkdir -p "$tree.partial"
	if run extract tar -xJf "$tarball" -C "$tree.partial" --strip-components=1 &&
		{ [ -z "$linux_patch" ] || run patch patch -d "$tree.partial" -p1 -s -i "$linux_patch"; } &&
		mv "$tree.partial" "$tree" && echo "$want" > "$stamp"; then
		ok "tree (extracted $tarball into $tree${linux_patch:+, $(basename "$linux_patch") applied})"
	else
		not_ok "tree" "extracting $tarball${linux_patch:+ or applying $linux_patch} failed (logs/extract.log, logs/patch.log)"
	fi
fi

# 2. make headers (the tree's usr/include).
if run headers make -C "$tree" -j"$jobs" headers && [ -f "$tree/usr/include/linux/kvm.h" ]; then
	ok "make headers"
else
	not_ok "make headers" "see logs/headers.log"
fi

# 3. This project as tools/testing/selftests/kvm_gmem (the working tree, less
# build output, results and git; less WORKDIR when it lies inside).
rm -rf "$coll"
mkdir -p "$coll"
excludes=(--exclude=./build --exclude=./results --exclude=./.git)
case "$work/" in "$top"/*) excludes+=("--exclude=./${work#"$top"/}") ;; esac
if (tar -C "$top" "${excludes[@]}" -cf - . | tar -C "$coll" -xf -) 2> "$logs/copy.log" &&
	[ -f "$coll/Makefile" ]; then
	(cd "$coll" && find . \( -path ./build -o -path ./results \) -prune -o -type f -print | sort) > "$logs/sources.txt"
	ok "copy into tools/testing/selftests/kvm_gmem ($(wc -l < "$logs/sources.txt") files)"
else
	not_ok "copy into tools/testing/selftests/kvm_gmem" "see logs/copy.log"
fi

# 4. The kselftest Makefile's build (OUTPUT = the collection directory).
if run build make -C "$ksft" -j"$jobs" TARGETS=kvm_gmem; then
	missing=
	for p in $(programs "$coll"); do [ -x "$coll/$p" ] || missing="$missing $p"; done
	if [ -z "$(programs "$coll")" ]; then
		not_ok "build: make -C tools/testing/selftests TARGETS=kvm_gmem" "no tests.list in the collection"
	elif [ -n "$missing" ]; then
		not_ok "build: make -C tools/testing/selftests TARGETS=kvm_gmem" "programs missing:$missing"
	else
		ok "build: make -C tools/testing/selftests TARGETS=kvm_gmem ($(programs "$coll" | wc -l) programs)"
	fi
else
	not_ok "build: make -C tools/testing/selftests TARGETS=kvm_gmem" "exit status (logs/build.log)"
fi

# 5. ... against the tree's headers, with no Debian tarball involved.
line=$(grep -m1 -F -- "-isystem $tree/usr/include " "$logs/build.log")
if [ -z "$line" ]; then
	not_ok "build uses the tree's headers" "no '-isystem $tree/usr/include' in logs/build.log"
elif ! grep -q -F -- "-isystem $ksft " "$logs/build.log"; then
	not_ok "build uses the tree's headers" "not the tree's kselftest headers ($ksft)"
elif grep -q -F "$tarball" "$logs/build.log" || [ -e "$coll/build/ksft" ]; then
	not_ok "build uses the tree's headers" "the build extracted kselftest headers from $tarball"
else
	echo "# $line"
	ok "build uses the tree's headers (-isystem $tree/usr/include, $ksft)"
fi

# 6. make in the collection directory (dry run): the same headers.
if run direct-make make -n -C "$coll" &&
	grep -q -F -- "-isystem $tree/usr/include " "$logs/direct-make.log" &&
	grep -q -F -- "-isystem $ksft " "$logs/direct-make.log" &&
	! grep -q -F "$tarball" "$logs/direct-make.log"; then
	ok "make -C tools/testing/selftests/kvm_gmem (dry run): the tree's headers"
else
	not_ok "make -C tools/testing/selftests/kvm_gmem (dry run)" "not the tree's headers (logs/direct-make.log)"
fi

# 7. install: the top level's run_kselftest.sh + kselftest-list.txt, the
# collection's programs and settings.
inst=$work/install
rm -rf "$inst"
if run install make -C "$ksft" TARGETS=kvm_gmem install KSFT_INSTALL_PATH="$inst"; then
	(programs "$coll" | sed 's/^/kvm_gmem:/') > "$logs/expected-list.txt"
	problem=
	cmp -s "$logs/expected-list.txt" "$inst/kselftest-list.txt" ||
		problem="kselftest-list.txt differs from tests.list (diff logs/expected-list.txt $inst/kselftest-list.txt)"
	for p in $(programs "$coll"); do
		[ -x "$inst/kvm_gmem/$p" ] || problem="${problem:-kvm_gmem/$p not installed}"
	done
	[ -f "$inst/kvm_gmem/settings" ] || problem="${problem:-no kvm_gmem/settings}"
	[ -x "$inst/run_kselftest.sh" ] || problem="${problem:-no run_kselftest.sh}"
	if [ -n "$problem" ]; then
		not_ok "install KSFT_INSTALL_PATH=..." "$problem"
	else
		ok "install KSFT_INSTALL_PATH=... (kselftest-list.txt: $(wc -l < "$inst/kselftest-list.txt") kvm_gmem:<program> lines)"
	fi
else
	not_ok "install KSFT_INSTALL_PATH=..." "exit status (logs/install.log)"
fi

# 8. The lab's way: run_kselftest.sh from the install.
(cd "$inst" 2>/dev/null && ./run_kselftest.sh -t kvm_gmem:guest_memfd_test) 2>&1 | cat > "$logs/run_kselftest.log"
result=$(grep -E '^(not )?ok [0-9]+ selftests: kvm_gmem: guest_memfd_test' "$logs/run_kselftest.log")
case "$result" in
"ok "*"# SKIP"*) skip "run_kselftest.sh -t kvm_gmem:guest_memfd_test" "the program skipped (no /dev/kvm?)" ;;
"ok "*) echo "# $result"; ok "run_kselftest.sh -t kvm_gmem:guest_memfd_test" ;;
*) not_ok "run_kselftest.sh -t kvm_gmem:guest_memfd_test" "${result:-no result line} (logs/run_kselftest.log)" ;;
esac

# 9. The profile line names the tree's headers and the cap number.
profile=$(grep -m1 '# profile:' "$logs/run_kselftest.log")
if [ -z "$profile" ]; then
	skip "profile names the headers" "no profile line (no /dev/kvm?)"
elif headers=$(echo "$profile" | grep -o "headers $tree/usr/include (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES [0-9]*[^)]*)"); then
	echo "# ... $headers"
	ok "profile names the headers"
else
	not_ok "profile names the headers" "no 'headers $tree/usr/include (...)' in: ${profile#*# profile: }"
fi

# 10. run_tests through the kselftest Makefile (the whole suite unless limited).
run run_tests make -C "$ksft" TARGETS=kvm_gmem run_tests RUN_TESTS_ARGS="${INTREE_RUN_TESTS_ARGS:-}"
status=$?
results=$(grep -cE '^ok [0-9]+ selftests: kvm_gmem: ' "$logs/run_tests.log")
failures=$(grep -E '^not ok [0-9]+ selftests: kvm_gmem: ' "$logs/run_tests.log" | head -n 3 | tr '\n' ';')
if [ "$status" != 0 ] || [ -n "$failures" ] || [ "$results" = 0 ]; then
	not_ok "run_tests TARGETS=kvm_gmem" "exit status $status, ${failures:-$results ok} (logs/run_tests.log)"
else
	echo "# $(grep -m1 '^# Totals' "$logs/run_tests.log")"
	ok "run_tests TARGETS=kvm_gmem ($results programs ok)"
fi

# 11. gen_tar: the tarball labs download.
tinst=$work/tar-install
rm -rf "$tinst"
tarfile=$tinst/kselftest-packages/kselftest.tar.gz
if run gen_tar make -C "$ksft" TARGETS=kvm_gmem gen_tar KSFT_INSTALL_PATH="$tinst" && [ -f "$tarfile" ]; then
	tar -tzf "$tarfile" > "$logs/gen_tar-contents.txt" 2>&1
	problem=
	for f in run_kselftest.sh kselftest-list.txt kvm_gmem/settings $(programs "$coll" | sed 's|^|kvm_gmem/|'); do
		grep -qx "\./$f" "$logs/gen_tar-contents.txt" || problem="${problem:+$problem, }$f"
	done
	if [ -n "$problem" ]; then
		not_ok "gen_tar" "$tarfile lacks $problem"
	else
		ok "gen_tar ($(grep -c '^\./kvm_gmem/' "$logs/gen_tar-contents.txt") kvm_gmem entries in kselftest.tar.gz)"
	fi
else
	not_ok "gen_tar" "no $tarfile (logs/gen_tar.log)"
fi

# 12./13. From the kernel root: kselftest-clean (OUTPUT is the collection
# directory: only what the build made goes), then kselftest-all rebuilds.
# Both need a .config, hence the tree's kconfig (flex, bison).
if [ ! -f "$tree/.config" ] && ! run defconfig make -C "$tree" -j"$jobs" defconfig; then
	why="make defconfig failed (logs/defconfig.log)"
	command -v flex > /dev/null && command -v bison > /dev/null ||
		why="make defconfig needs flex and bison for the tree's kconfig (apt-get install flex bison)"
	not_ok "make kselftest-clean TARGETS=kvm_gmem" "$why"
	not_ok "make kselftest-all TARGETS=kvm_gmem" "$why"
else
	run kselftest-clean make -C "$tree" kselftest-clean TARGETS=kvm_gmem
	status=$?
	(cd "$coll" && find . \( -path ./build -o -path ./results \) -prune -o -type f -print | sort) > "$logs/after-clean.txt"
	if [ "$status" != 0 ]; then
		not_ok "make kselftest-clean TARGETS=kvm_gmem" "exit status $status (logs/kselftest-clean.log)"
	elif ! cmp -s "$logs/sources.txt" "$logs/after-clean.txt"; then
		not_ok "make kselftest-clean TARGETS=kvm_gmem" "the collection is not back to its sources (diff logs/sources.txt logs/after-clean.txt)"
	else
		ok "make kselftest-clean TARGETS=kvm_gmem (sources kept, build output gone)"
	fi
	run kselftest-all make -C "$tree" -j"$jobs" kselftest-all TARGETS=kvm_gmem
	status=$?
	missing=
	for p in $(programs "$coll"); do [ -x "$coll/$p" ] || missing="$missing $p"; done
	if [ "$status" != 0 ] || [ -z "$(programs "$coll")" ] || [ -n "$missing" ]; then
		not_ok "make kselftest-all TARGETS=kvm_gmem" "exit status $status${missing:+, missing:$missing} (logs/kselftest-all.log)"
	elif ! grep -q -F -- "-isystem $tree/usr/include " "$logs/kselftest-all.log"; then
		not_ok "make kselftest-all TARGETS=kvm_gmem" "not built against $tree/usr/include"
	else
		ok "make kselftest-all TARGETS=kvm_gmem ($(programs "$coll" | wc -l) programs rebuilt)"
	fi
fi

# 14./15. arm64: its own `make headers` output (O=, so that the tree's
# usr/include stays x86's), then the cross build with O= (OUTPUT and
# KHDR_INCLUDES from the kselftest Makefile).
if run arm64-headers make -C "$tree" -j"$jobs" ARCH=arm64 O="$arm64_obj" headers &&
	[ -f "$arm64_obj/usr/include/asm/sve_context.h" ]; then
	ok "make ARCH=arm64 O=.../arm64-obj headers"
else
	not_ok "make ARCH=arm64 O=.../arm64-obj headers" "see logs/arm64-headers.log"
fi
arm64_out=$arm64_obj/kselftest/kvm_gmem
rm -rf "$arm64_obj/kselftest"
step="arm64: make -C tools/testing/selftests TARGETS=kvm_gmem ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O=..."
if ! command -v aarch64-linux-gnu-g++ > /dev/null; then
	not_ok "$step" "no aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)"
elif run arm64-build make -C "$ksft" -j"$jobs" TARGETS=kvm_gmem ARCH=arm64 \
	CROSS_COMPILE=aarch64-linux-gnu- O="$arm64_obj"; then
	problem=
	[ -n "$(programs "$arm64_out")" ] || problem="no $arm64_out/tests.list"
	for p in $(programs "$arm64_out"); do
		is_elf_machine "$arm64_out/$p" 183 || problem="${problem:-$p is not an aarch64 program}"
	done
	grep -q -F -- "-isystem $arm64_obj/usr/include " "$logs/arm64-build.log" ||
		problem="${problem:-not built against $arm64_obj/usr/include}"
	if [ -n "$problem" ]; then
		not_ok "$step" "$problem"
	else
		ok "$step ($(programs "$arm64_out" | wc -l) aarch64 programs)"
	fi
else
	not_ok "$step" "exit status (logs/arm64-build.log)"
fi

echo "# intree_check: $(($(date +%s) - started)) s, logs in $logs"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
