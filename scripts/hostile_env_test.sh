#!/bin/sh
# Bad input and hostile environments: every row runs the suite (or one of its
# programs) in a situation a user or a lab can cause and asserts the exact
# one-line outcome and the kselftest exit code. After every row no process of
# it may remain; after all rows every setting is as it was (sysctls it changed
# are restored, even on ^C). Prints the README's table with what it observed,
# then "N rows passed, N failed, N skipped".
#
#   scripts/hostile_env_test.sh [BIN_DIR]     (default: build/<arch>; needs root
#                                              for namespaces, sysctls and setpriv)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
case "$(uname -m)" in x86_64) arch=x86 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
bin=$(cd "${1:-$top/build/$arch}" && pwd) || exit 1
work=$(mktemp -d) || exit 1
token=hostile-$$
export KVMT_RUN_TOKEN=$token
unset GMEM_STRICT GMEM_SEED GMEM_INJECT_FAULT GMEM_REPLAY GMEM_TEST_TIMEOUT
# Short runs: the rows check outcomes, not endurance.
export GMEM_STRESS_SECONDS=2 GMEM_RANDOM_OPS=1000

io_uring_sysctl=/proc/sys/kernel/io_uring_disabled
hugepages_sysctl=/proc/sys/vm/nr_hugepages
saved_io_uring=$(cat $io_uring_sysctl 2>/dev/null)
saved_hugepages=$(cat $hugepages_sysctl 2>/dev/null)
restore() {
	[ -n "$saved_io_uring" ] && echo "$saved_io_uring" > $io_uring_sysctl 2>/dev/null
	[ -n "$saved_hugepages" ] && echo "$saved_hugepages" > $hugepages_sysctl 2>/dev/null
}
trap 'restore; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
"$top/scripts/leak_check.sh" before "$work/leaks"

pass=0 fail=0 skipped=0 n=0
table=$work/table.md
printf '| # | situation | observed outcome (one line) | exit |\n|---|---|---|---|\n' > "$table"

# Processes of the run still alive after 2 s (a killed one may still be exiting).
settle() {
	tries=0
	while ! "$top/scripts/leak_check.sh" processes "$token" > "$work/left" && [ $tries -lt 20 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	cat "$work/left"
}

# Why this machine's /dev/kvm cannot carry the rows that run tests (they use
# a DEFAULT VM's MMAP|INIT_SHARED guest_memfd); empty when it can.
kvm_missing() {
	if [ ! -e /dev/kvm ]; then
		echo "this machine has no /dev/kvm"
	elif ! (: <> /dev/kvm) 2> /dev/null; then
		echo "this machine's /dev/kvm cannot be opened read-write"
	else
		flags=$("$bin/guest_memfd_test" -r create.default.offered_flags_are_known 2>&1 |
			grep -o -m1 'default_gmem_flags=[^ ]*')
		case "$flags" in
		*MMAP*INIT_SHARED*) ;;
		*) echo "this machine's KVM offers DEFAULT VMs no MMAP|INIT_SHARED guest_memfd (${flags:-no profile line})" ;;
		esac
	fi
}
no_kvm=$(kvm_missing)

# What a row needs that this machine lacks (NEEDS: any, or root and/or kvm).
row_missing() {
	case "$1" in *root*) [ "$(id -u)" != 0 ] && { echo "needs root"; return; } ;; esac
	case "$1" in *kvm*) [ -n "$no_kvm" ] && echo "needs a usable /dev/kvm: $no_kvm" ;; esac
}

# row SITUATION EXIT PATTERN NEEDS COMMAND...
#   PATTERN: an extended regular expression one output line must match whole.
row() {
	situation=$1 want_rc=$2 pattern=$3 missing=$(row_missing "$4")
	shift 4
	n=$((n + 1))
	if [ -n "$missing" ]; then
		echo "ok $n $situation # SKIP $missing"
		skipped=$((skipped + 1))
		printf '| %s | %s | (skipped: %s) | |\n' "$n" "$situation" "$missing" >> "$table"
		return
	fi
	"$@" > "$work/out" 2>&1
	rc=$?
	line=$(grep -Ex -m1 -- "$pattern" "$work/out")
	left=$(settle)
	shown=$(printf '%s' "$line" | sed "s|$bin/||g")
	printf '| %s | %s | `%s` | %s |\n' "$n" "$situation" "${shown:-?}" "$rc" >> "$table"
	if [ "$rc" = "$want_rc" ] && [ -n "$line" ] && [ -z "$left" ]; then
		echo "ok $n $situation"
		pass=$((pass + 1))
		return
	fi
	echo "not ok $n $situation"
	echo "#   expected exit $want_rc and a line matching: $pattern"
	echo "#   got exit $rc; output:"
	sed 's/^/#     /' "$work/out" | tail -n 15
	[ -n "$left" ] && echo "#   processes left behind: $left"
	fail=$((fail + 1))
}

# Helpers that set up one environment, then exec the program.
no_dev_kvm() { unshare -m sh -c 'mount -t tmpfs none /dev && exec "$@"' sh "$@"; }
kvm_not_permitted() {
	unshare -m sh -c 'mount -t tmpfs none /dev && mknod -m 600 /dev/kvm c 10 232 &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' sh "$@"
}
no_debugfs() { unshare -m sh -c 'mount -t tmpfs none /sys/kernel/debug && exec "$@"' sh "$@"; }
with_sysctl() {
	file=$1 value=$2
	shift 2
	old=$(cat "$file")
	echo "$value" > "$file" || return 99
	"$@"
	rc=$?
	echo "$old" > "$file"
	return $rc
}
small_memlock() { prlimit --memlock=0:0 setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock "$@"; }
hugetlb_pool() {
	awk '/^HugePages_(Total|Free|Rsvd):/ { v[$1] = $2 }
	     END { printf "total %d, free %d, reserved %d", v["HugePages_Total:"], v["HugePages_Free:"], v["HugePages_Rsvd:"] }' /proc/meminfo
}
hugetlb_untouched() {
	before=$(hugetlb_pool)
	"$@"
	rc=$?
	after=$(hugetlb_pool)
	[ "$before" = "$after" ] && echo "hugetlb pool unchanged by the run ($after)" ||
		echo "hugetlb pool changed by the run: $before -> $after"
	return $rc
}

gm=$bin/guest_memfd_test
cv=$bin/guest_memfd_conversions_test
st=$bin/guest_memfd_stress_test
rnd=$bin/guest_memfd_random_test
p='[^ ]*'  # a program path

row "unknown option to a program" 1 "$p/guest_memfd_test: unknown option -x \(see -h\)" any \
	"$gm" -x
row "option without its value" 1 "$p/guest_memfd_test: option -r needs a value \(see -h\)" any \
	"$gm" -r
row "stray argument" 1 "$p/guest_memfd_test: unexpected argument 'extra' \(see -h\)" any \
	"$gm" extra
row "-r names no test (a typo must not run nothing and pass)" 1 \
	"$p/guest_memfd_test: no test matches -r 'create.default.no_such_test' \(see -l\)" any \
	"$gm" -r create.default.no_such_test
row "unknown option to run_tests.sh" 1 "run_tests.sh: unknown option '--frobnicate'" any \
	"$top/run_tests.sh" --frobnicate
row "run_tests.sh --timeout not a number" 1 "run_tests.sh: --timeout: '10s' is not a number of seconds" any \
	"$top/run_tests.sh" --bin-dir "$bin" --timeout 10s
row "bad per-program arguments through the runner" 1 "not ok 1 selftests: kvm_gmem: guest_memfd_test # exit=1" any \
	env KSELFTEST_GUEST_MEMFD_TEST_ARGS=-x "$top/run_tests.sh" --bin-dir "$bin" -t guest_memfd_test
row "setting that is not a number" 1 \
	"$p/guest_memfd_stress_test: GMEM_STRESS_SECONDS: 'abc' is not a number in 1..86400" any \
	env GMEM_STRESS_SECONDS=abc "$st"
row "size that overflows 64 bits" 1 \
	"$p/guest_memfd_stress_test: GMEM_STRESS_PAGES: '18446744073709551616' is not a number in 16..262144" any \
	env GMEM_STRESS_PAGES=18446744073709551616 "$st"
row "size whose bytes overflow 64 bits (2^52 pages)" 1 \
	"$p/guest_memfd_stress_test: GMEM_STRESS_PAGES: '4503599627370496' is not a number in 16..262144" any \
	env GMEM_STRESS_PAGES=4503599627370496 "$st"
row "operation count that overflows" 1 \
	"$p/guest_memfd_random_test: GMEM_RANDOM_OPS: '99999999999999999999' is not a number in 1..100000000" any \
	env GMEM_RANDOM_OPS=99999999999999999999 "$rnd"
row "negative seed" 1 \
	"$p/guest_memfd_random_test: GMEM_SEED: '-1' is not a number in 0..18446744073709551615" any \
	env GMEM_SEED=-1 "$rnd"
row "unknown fault to inject" 1 \
	"$p/guest_memfd_random_test: GMEM_INJECT_FAULT: unknown fault 'bitrot' \(byte, oracle, hang, kill-child\)" any \
	env GMEM_INJECT_FAULT=bitrot "$rnd"
row "sequence to replay that does not parse" 1 \
	"$p/guest_memfd_random_test: GMEM_REPLAY: unknown operation 'frob'" any \
	env GMEM_REPLAY="hread 0+1; frob 1+1" "$rnd"
row "no /dev/kvm" 4 "1\.\.0 # SKIP /dev/kvm unavailable: ENOENT \(No such file or directory\)" root \
	no_dev_kvm "$gm"
row "no /dev/kvm, strict (GMEM_STRICT=1)" 1 \
	"Bail out! strict mode: /dev/kvm unavailable: ENOENT \(No such file or directory\)" root \
	no_dev_kvm env GMEM_STRICT=1 "$gm"
row "no /dev/kvm, features declared (GMEM_EXPECT)" 1 \
	"Bail out! GMEM_EXPECT='vm_types=default' declares KVM features, but /dev/kvm unavailable: ENOENT \(No such file or directory\)" root \
	no_dev_kvm env GMEM_EXPECT=vm_types=default "$gm"
row "no permission on /dev/kvm (user nobody)" 4 \
	"1\.\.0 # SKIP /dev/kvm unavailable: EACCES \(Permission denied\)" root \
	kvm_not_permitted "$gm"
row "no debugfs, so no gup_test" 0 \
	"ok 1 held\.default\.gup_test_keeps_page_through_punch # SKIP gup_test holder: /sys/kernel/debug/gup_test: ENOENT \(needs CONFIG_GUP_TEST and debugfs\)" root,kvm \
	no_debugfs "$cv" -r held.default.gup_test_keeps_page_through_punch
row "io_uring disabled (kernel.io_uring_disabled=2)" 0 \
	"ok 1 held\.default\.io_uring_keeps_page_through_punch # SKIP io_uring holder: io_uring_queue_init: EPERM \(io_uring disabled\? see /proc/sys/kernel/io_uring_disabled\)" root,kvm \
	with_sysctl $io_uring_sysctl 2 "$cv" -r held.default.io_uring_keeps_page_through_punch
row "memlock too small (RLIMIT_MEMLOCK 0, no CAP_IPC_LOCK)" 0 \
	"ok 1 held\.default\.io_uring_keeps_page_through_punch # SKIP io_uring holder: io_uring_queue_init: ENOMEM \(RLIMIT_MEMLOCK too small for the ring\)" root,kvm \
	small_memlock "$cv" -r held.default.io_uring_keeps_page_through_punch
row "hugetlb pool empty (vm.nr_hugepages=0): nothing needs it" 0 "ok 1 stress\.default\.mixed # SKIP conversions: .*every other actor ran and passed" root,kvm \
	with_sysctl $hugepages_sysctl 0 "$st" -r stress.default.mixed
row "hugetlb pool of 4 pages: none reserved or taken by a run" 0 \
	"hugetlb pool unchanged by the run \(total [1-9][0-9]*, free [1-9][0-9]*, reserved 0\)" root,kvm \
	with_sysctl $hugepages_sysctl 4 hugetlb_untouched "$st" -r stress.default.mixed
row "out of memory for a big guest_memfd (1 GiB, address space 512 MiB)" 0 \
	"ok 1 stress\.default\.mixed # SKIP not enough memory for a 1024 MiB guest_memfd: (mmap: ENOMEM \(Cannot allocate memory\)|MemAvailable is [0-9]+ MiB)" kvm \
	env GMEM_STRESS_PAGES=262144 prlimit --as=$((512 << 20)) "$st" -r stress.default.mixed
row "a guest that hangs: the per-test timeout kills it and names it" 1 \
	"# mixed: Test terminated by timeout" kvm \
	env GMEM_INJECT_FAULT=hang GMEM_TEST_TIMEOUT=3 "$st" -r stress.default.mixed
row "a program that hangs: the runner's timeout, nothing left behind" 1 \
	"not ok 1 selftests: kvm_gmem: guest_memfd_stress_test # TIMEOUT 3 seconds" kvm \
	env GMEM_INJECT_FAULT=hang "$top/run_tests.sh" --bin-dir "$bin" -t guest_memfd_stress_test --timeout 3
row "a forked reader dies (stress)" 1 \
	"# .*stress: forked reader checking: the child died: peer process died \(request [0-9]+\) \(exit status 137\); GMEM_SEED=0x[0-9a-f]+" kvm \
	env GMEM_INJECT_FAULT=kill-child "$st" -r stress.default.mixed
row "a forked reader dies (random sequence)" 1 \
	"# random: it fails with: fork [0-9]+\+1: forked reader died: peer process died \(request [0-9]+\), exit status killed by signal 9" kvm \
	env GMEM_INJECT_FAULT=kill-child "$rnd" -r random.default.sequences
row "a byte flipped behind the stress's back" 1 \
	"# .*stress: .*: page [0-9]+ offset 0x123 \(gmem 0x[0-9a-f]+\): expected 0x[0-9a-f]{2} \(pattern seed 0x[0-9a-f]+\), seen 0x[0-9a-f]{2}; the page was last changed by .*; GMEM_SEED=0x[0-9a-f]+" kvm \
	env GMEM_INJECT_FAULT=byte "$st" -r stress.default.mixed
row "a byte flipped behind the model's back: shrunk, replayable" 1 \
	"# random: replay the shortest: GMEM_REPLAY='file=shared; [gh]write [0-9]+\+1 seed=0x[0-9a-f]+; ([gh]read|fork) [0-9]+\+1' GMEM_INJECT_FAULT=byte guest_memfd_random_test -r random\.default\.sequences" kvm \
	env GMEM_INJECT_FAULT=byte "$rnd" -r random.default.sequences
# The shrinker ends at a 1-minimal sequence (no single operation can go),
# which need not be the globally shortest: a fixed seed keeps the row stable.
row "a broken oracle (forgets punch): shrunk to a few operations" 1 \
	"# random: shortest sequence that fails \([1-4] operation\(s\), [0-9]+ replays\):" kvm \
	env GMEM_SEED=0x49b680f2287b67ff GMEM_INJECT_FAULT=oracle "$rnd" -r random.default.sequences

restore
echo "# observed outcomes:"
sed 's/^/# /' "$table"
echo "# leaks:"
"$top/scripts/leak_check.sh" after "$work/leaks" "$token" > "$work/leaks.txt" || fail=$((fail + 1))
sed 's/^/# /' "$work/leaks.txt"
cp "$table" "${HOSTILE_TABLE:-/dev/null}" 2>/dev/null
echo "$pass rows passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
