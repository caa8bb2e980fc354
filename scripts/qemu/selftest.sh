#!/bin/bash
# Tests of the QEMU lane itself (scripts/qemu_lane.sh), as TAP. Every case
# boots a real kernel under QEMU with a stand-in suite of small shell-script
# programs, so it checks the lane, not the suite: exit status carried out of
# the guest, TAP streamed, failures (image that does not boot, hang, panic,
# timeout) reported clearly and non-zero within the limits.
# Usage: scripts/qemu/selftest.sh [KERNELS_DIR]   (default ../shared/kernels)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
lane=$top/scripts/qemu_lane.sh
kernels=${1:-${GMEM_LANE_KERNELS:-$top/../shared/kernels}}
x86=$kernels/x86_64/bzImage
arm=$kernels/arm64/Image

work=$(mktemp -d "${TMPDIR:-/tmp}/qemu-lane-selftest.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# A stand-in suite: programs are shell scripts (run by the guest's busybox).
fake_suite() {
	local dir=$work/$1; shift
	mkdir -p "$dir"
	: > "$dir/tests.list"
	echo "timeout=20" > "$dir/settings"
	while [ $# -gt 0 ]; do
		printf '#!/bin/sh\n%s\n' "$2" > "$dir/$1"
		chmod +x "$dir/$1"
		echo "$1" >> "$dir/tests.list"
		shift 2
	done
	echo "$dir"
}
tap_prog='echo "TAP version 13"; echo "1..1"; echo "# args: $*"; echo "ok 1 fake.case"'

n=0 failed=0
# check NAME EXPECTED_RC MAX_SECONDS PATTERN... -- LANE ARGS...: runs the
# lane; passes when it exits EXPECTED_RC within MAX_SECONDS and its output
# (stdout and stderr) has every PATTERN (extended regular expressions).
check() {
	local name=$1 want_rc=$2 max=$3; shift 3
	local patterns=() rc t0 took p why=
	while [ "$1" != -- ]; do patterns+=("$1"); shift; done
	shift
	t0=$SECONDS
	"$lane" "$@" > "$work/out" 2>&1
	rc=$?
	took=$((SECONDS - t0))
	n=$((n + 1))
	[ "$rc" = "$want_rc" ] || why="exit status $rc, expected $want_rc"
	[ "$took" -le "$max" ] || why="${why:+$why; }took $took s, limit $max s"
	for p in "${patterns[@]}"; do
		grep -Eq -- "$p" "$work/out" || why="${why:+$why; }no line matches '$p'"
	done
	if [ -z "$why" ]; then
		echo "ok $n $name # ${took} s"
	else
		echo "not ok $n $name # $why"
		sed 's/^/# | /' "$work/out" | tail -n 25
		failed=$((failed + 1))
	fi
}
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }

# The cases boot under TCG; the KVM probe is tested by its own two cases,
# which ask for it (--accel auto). A probe where QEMU cannot use /dev/kvm
# waits a whole boot timeout before it falls back.
export QEMU_LANE_ACCEL=tcg

echo "TAP version 13"
echo "1..16"

# No kernel needed for these.
echo "this is not a kernel" > "$work/not-a-kernel"
check not_a_kernel_image 1 10 'neither an x86_64 bzImage nor an arm64 Image' -- \
	--kernel "$work/not-a-kernel" --bin-dir "$(fake_suite s0 pass_test "$tap_prog")"
check missing_kernel_value 2 10 'needs a value' -- --kernel

pass=$(fake_suite pass pass_test "$tap_prog")
if [ ! -r "$x86" ]; then
	for c in passes_status_and_tap failure_is_exit_1 env_and_strict_reach_guest \
		truncated_image_fails boot_hang_fails panic_fails timeout_fails kernel_messages_stay_out_of_tap \
		log_dir_keeps_program_tap kvm_probe_picks_kvm kvm_probe_without_nested_falls_back \
		run_tests_kernel_option; do
		skip "$c" "no x86_64 kernel at $x86"
	done
else
	check passes_status_and_tap 0 120 '^ok 1 selftests: kvm_gmem: pass_test$' '^# ok 1 fake.case$' \
		'^# Totals: pass:1 fail:0' 'suite exit status 0' -- --kernel "$x86" --bin-dir "$pass" --timeout 120

	mixed=$(fake_suite mixed pass_test "$tap_prog" fail_test 'echo "1..1"; echo "not ok 1 broken"; exit 1')
	check failure_is_exit_1 1 120 '^not ok 2 selftests: kvm_gmem: fail_test # exit=1$' 'suite exit status 1' -- \
		--kernel "$x86" --bin-dir "$mixed" --timeout 120

	# KSELFTEST_<PROG>_ARGS reaches the program; --strict turns its skip (exit 4) into a failure.
	skipper=$(fake_suite skipper skip_test 'echo "# args: $*"; exit 4')
	KSELFTEST_SKIP_TEST_ARGS="--alpha beta" check env_and_strict_reach_guest 1 120 \
		'^# # args: --alpha beta$' '^not ok 1 selftests: kvm_gmem: skip_test # exit=4$' -- \
		--kernel "$x86" --bin-dir "$skipper" --timeout 120 --strict

	head -c 100000 "$x86" > "$work/truncated-bzImage"
	check truncated_image_fails 1 90 'FAIL: .*did not boot' 'console log: ' -- \
		--kernel "$work/truncated-bzImage" --bin-dir "$pass" --timeout 60 --boot-timeout 30

	# QEMU started with its CPUs stopped (-S): nothing ever reaches the console.
	check boot_hang_fails 1 40 'FAIL: .*did not boot: /init did not start within 8 s' -- \
		--kernel "$x86" --bin-dir "$pass" --boot-timeout 8 --qemu-arg -S

	check panic_fails 1 120 'FAIL: kernel panic: Kernel panic - not syncing' -- \
		--kernel "$x86" --bin-dir "$pass" --timeout 120 --append rdinit=/no/such/init

	sleeper=$(fake_suite sleeper sleep_test 'echo "# sleeping"; sleep 600')
	echo "timeout=0" > "$sleeper/settings"
	check timeout_fails 124 60 'FAIL: the run exceeded the lane.s timeout of 25 s' '^Bail out! ' -- \
		--kernel "$x86" --bin-dir "$sleeper" --timeout 25

	# Kernel messages: an emergency reaches the console mid-run and becomes a
	# TAP diagnostic; warnings in dmesg are summarised after the run.
	kmsg=$(fake_suite kmsg kmsg_test 'echo "<4>WARNING: CPU: 0 PID: 1 at lane-selftest" > /dev/kmsg
echo "<0>lane-selftest emergency" > /dev/kmsg; sleep 1; echo "1..1"; echo "ok 1 kmsg.case"')
	check kernel_messages_stay_out_of_tap 0 120 '^# kernel: \[ *[0-9.]+\] lane-selftest emergency$' \
		'the kernel logged 1 warning line' 'WARNING: CPU: 0 PID: 1 at lane-selftest' -- \
		--kernel "$x86" --bin-dir "$kmsg" --timeout 120 --log-dir "$work/tap"
	n=$((n + 1))
	if grep -qx 'ok 1 kmsg.case' "$work/tap/kmsg_test.tap" 2>/dev/null; then
		echo "ok $n log_dir_keeps_program_tap"
	else
		echo "not ok $n log_dir_keeps_program_tap # $work/tap/kmsg_test.tap lacks 'ok 1 kmsg.case'"
		failed=$((failed + 1))
	fi

	# The KVM probe, with a stand-in qemu-system-x86_64 that runs "-accel kvm
	# -cpu host" as TCG: with -cpu EPYC the guest gets /dev/kvm (KVM "works"),
	# with qemu64,-svm it does not (no nested virtualization: fall back to TCG).
	real_qemu=$(command -v qemu-system-x86_64)
	mkdir -p "$work/fakebin"
	cat > "$work/fakebin/qemu-system-x86_64" <<EOF
#!/bin/bash
args=()
for a in "\$@"; do
	case "\$a" in
	kvm) args+=(tcg) ;;
	host) args+=("\$FAKE_KVM_CPU") ;;
	*) args+=("\$a") ;;
	esac
done
exec "$real_qemu" "\${args[@]}"
EOF
	chmod +x "$work/fakebin/qemu-system-x86_64"
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		PATH=$work/fakebin:$PATH FAKE_KVM_CPU=EPYC check kvm_probe_picks_kvm 0 120 \
			'booting .* \(x86_64, -accel kvm -cpu host\)' '^ok 1 selftests: kvm_gmem: pass_test$' -- \
			--kernel "$x86" --bin-dir "$pass" --timeout 120 --accel auto
		PATH=$work/fakebin:$PATH FAKE_KVM_CPU=qemu64,-svm check kvm_probe_without_nested_falls_back 0 120 \
			'guest booted with KVM but has no /dev/kvm.*falling back to TCG' \
			'booting .* \(x86_64, -accel tcg,thread=single -cpu EPYC\)' -- \
			--kernel "$x86" --bin-dir "$pass" --timeout 120 --accel auto
	else
		skip kvm_probe_picks_kvm "no usable /dev/kvm on this host"
		skip kvm_probe_without_nested_falls_back "no usable /dev/kvm on this host"
	fi

	# run_tests.sh --kernel hands over to the lane (words of --append split).
	t0=$SECONDS
	"$top/run_tests.sh" --kernel "$x86" --bin-dir "$pass" --timeout 120 \
		--append "quiet loglevel=3" --qemu-arg "-m 1G" > "$work/out" 2>&1
	rc=$? n=$((n + 1))
	if [ "$rc" = 0 ] && grep -q 'kernel command line: console=ttyS0 panic=-1 quiet loglevel=3$' "$work/out" &&
		grep -q '^ok 1 selftests: kvm_gmem: pass_test$' "$work/out"; then
		echo "ok $n run_tests_kernel_option # $((SECONDS - t0)) s"
	else
		echo "not ok $n run_tests_kernel_option # exit status $rc"
		sed 's/^/# | /' "$work/out" | tail -n 25
		failed=$((failed + 1))
	fi
fi

if [ ! -r "$arm" ]; then
	skip arm64_marker_carries_status "no arm64 kernel at $arm"
	skip arm64_protected_mode_boots "no arm64 kernel at $arm"
else
	# arm64 has no isa-debug-exit: the console marker alone carries the status.
	armfail=$(fake_suite armfail pass_test "$tap_prog" fail_test 'exit 1')
	check arm64_marker_carries_status 1 240 '^ok 1 selftests: kvm_gmem: pass_test$' \
		'^not ok 2 selftests: kvm_gmem: fail_test # exit=1$' 'suite exit status 1' -- \
		--kernel "$arm" --bin-dir "$armfail" --timeout 240 --append kvm-arm.mode=nvhe
	check arm64_protected_mode_boots 0 240 'guest KVM: kvm \[[0-9]+\]: Protected .*mode initialized' \
		'^ok 1 selftests: kvm_gmem: pass_test$' -- \
		--kernel "$arm" --bin-dir "$pass" --timeout 240 --append kvm-arm.mode=protected
fi

echo "# $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
