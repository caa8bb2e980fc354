#!/bin/bash
# The suite's checks against kernels that break the contract on purpose.
# Each row boots the v13 reference kernel (../shared/kernels/x86_64-v13/bzImage,
# or bzImage-vmattr where a row says so) under the QEMU lane, with tests/broken_kernel/broken_kvm_preload.c preloaded
# and one GMEM_BREAK behaviour (or a boot parameter that contradicts a
# declaration), runs the rows that must catch it, and passes only when every
# one of them fails; row 0 runs the same rows on the unbroken kernel and
# passes only when they all pass. Prints TAP and a closing count.
#
#   scripts/broken_kernel_test.sh [BIN_DIR] [KERNEL]
set -u
cd "$(dirname "$0")/.."
bins=${1:-build/x86}
kernel=${2:-../shared/kernels/x86_64-v13/bzImage}
vmattr=$(dirname "$kernel")/bzImage-vmattr  # the per-VM option built: parameter, default off
v8=$(dirname "$kernel")/../x86_64-inplace/bzImage  # shared guest faults through userspace_addr
v6_12_117=$(dirname "$kernel")/../x86_64/bzImage  # a second binding answers EINVAL
preload=$bins/unit/broken_kvm_preload.so
work=${BROKEN_KERNEL_DIR:-build/broken-kernel}  # each row's TAP stays here
rm -rf "$work" && mkdir -p "$work" || exit 1
on="vm_types=default,sw_protected in_place=on content_modes=none"
export GMEM_STRESS_SECONDS=5  # the stress rows need conversions, not endurance

n=0 passed=0 failed=0
# row NAME MUST(pass|fail) GMEM_BREAK DECLARATION APPEND PROGRAM ROWS...
row() {
	local name=$1 must=$2 fault=$3 expect=$4 append=$5 prog=$6
	shift 6
	local args="" r out verdicts bad=""
	for r in "$@"; do args="$args -r $r"; done
	n=$((n + 1))
	out=$work/$n.tap
	local var
	var=KSELFTEST_$(echo "$prog" | tr 'a-z' 'A-Z')_ARGS
	env "$var=$args" GMEM_BREAK="$fault" GMEM_EXPECT="$expect" \
		QEMU_LANE_DIR="$work/lane" ./run_tests.sh --kernel "$kernel" --bin-dir "$bins" --log-dir "$work/$n" \
		--preload "$preload" -t "$prog" ${append:+--append "$append"} > "$out" 2> "$out.err"
	for r in "$@"; do
		verdicts=$(grep -E "^# (ok|not ok) [0-9]+ $r( |$)" "$out" | head -n 1)
		case "$must/$verdicts" in
		pass/"# ok "*SKIP*|fail/"# ok "*) bad="$bad $r:${verdicts#* [0-9]* $r}" ;;
		pass/"# not ok "*) bad="$bad $r:failed" ;;
		*/"") bad="$bad $r:missing" ;;
		esac
	done
	if [ -z "$bad" ]; then
		echo "ok $n $name"
		passed=$((passed + 1))
	else
		echo "not ok $n $name # must $must:$bad"
		grep -E '^# # [^ ]+\.cc:[0-9]+: ' "$out" | head -n 5
		failed=$((failed + 1))
	fi
}

[ -f "$preload" ] || { echo "Bail out! $preload missing (make)"; exit 1; }
conv=guest_memfd_conversions_test
sw=sw_protected
echo "TAP version 13"
echo "1..23"
row "unbroken kernel: every row below passes" pass "" "$on" "" $conv \
	gmem_only.$sw.shared_pages_ignore_userspace_addr \
	conv.$sw.no_op_conversions_succeed validation.$sw.unknown_attributes_einval \
	held.$sw.vmsplice_blocks_to_private validation.$sw.error_offset_untouched \
	validation.$sw.in_place_caps_agree validation.$sw.gmem_flags_cap_by_type \
	validation.default.default_vm_einval validation.$sw.vm_attributes_enotty_without_per_vm_option \
	conv.$sw.forked_accesses
row "unbroken kernel: the bindings, collapse and guest_memfd-only rows below pass" pass "" "$on" "" guest_memfd_test \
	guest.default.gmem_only_slot_ignores_userspace_addr guest.$sw.gmem_only_slot_ignores_userspace_addr \
	bind.$sw.second_binding_same_range_eexist bind.$sw.second_binding_disjoint_below \
	guest.default.refused_second_binding_keeps_the_first shared.default.collapse_einval_mapping_keeps_working \
	shared.$sw.collapse_einval_mapping_keeps_working
row "EAGAIN on a to-shared request is a failure" fail to_shared_eagain "" "" $conv \
	conv.$sw.no_op_conversions_succeed
row "PRIVATE with another attribute bit must be refused" fail private_combo_accepted "" "" $conv \
	validation.$sw.unknown_attributes_einval
row "a held page does not turn an invalid request into EAGAIN" fail eagain_before_validation "" "" $conv \
	held.$sw.vmsplice_blocks_to_private
row "error_offset stays untouched on EINVAL, EFAULT and success" fail error_offset_written "" "" $conv \
	validation.$sw.error_offset_untouched
row "the mode's witnesses disagree (cap and parameter on, ioctl ENOTTY)" fail attributes2_enotty "" "" $conv \
	validation.default.in_place_caps_agree validation.$sw.in_place_caps_agree
row "INIT_SHARED withheld from a private-memory type with the mode on" fail no_init_shared "" "" $conv \
	validation.$sw.gmem_flags_cap_by_type
row "DEFAULT-only kernel with the mode on: EINVAL there, not ENOTTY" pass vm_types_default_only "" "" $conv \
	validation.default.default_vm_einval
kernel=$vmattr row "declared in_place=on, booted with the mode off (per-VM option, default N)" fail "" "$on" "" $conv \
	validation.default.in_place_caps_agree conv.$sw.init_shared_round_trip
row "content modes: EOPNOTSUPP's error_offset is the range's start" fail eopnotsupp_offset_zero "" \
	kvm.gmem_content_modes=1 $conv content.$sw.to_private_zero
row "content modes: one changed byte a page is not scrambled" fail scramble_one_byte "" \
	kvm.gmem_content_modes=1 $conv content.$sw.to_shared_unspecified
row "a transient EAGAIN to private is retried (one retry policy)" pass to_private_eagain_once "$on" "" \
	guest_memfd_stress_test stress.$sw.mixed
row "EAGAIN to private while nothing holds the pages is a failure" fail to_private_eagain "$on" "" \
	guest_memfd_stress_test stress.$sw.mixed
row "v13 without the per-VM option: a VM-level attributes ioctl that answers" fail vm_attributes_built "" "" $conv \
	validation.$sw.vm_attributes_enotty_without_per_vm_option validation.default.vm_attributes_enotty_without_per_vm_option
row "the mode on while v13's cap (252) reports 0" fail gmem_cap_zero "" "" $conv \
	validation.default.in_place_caps_agree validation.$sw.in_place_caps_agree
row "a to-private request that answers 0 but converts nothing" fail to_private_ignored "" "" $conv \
	conv.$sw.forked_accesses
row "a second memslot over a bound gmem range must be refused (EEXIST)" fail bind_overlap_accepted "" "" \
	guest_memfd_test bind.$sw.second_binding_same_range_eexist bind.$sw.second_binding_disjoint_below \
	guest.default.refused_second_binding_keeps_the_first
row "MADV_COLLAPSE on a guest_memfd mapping must fail (EINVAL)" fail collapse_accepted "" "" \
	guest_memfd_test shared.default.collapse_einval_mapping_keeps_working \
	shared.$sw.collapse_einval_mapping_keeps_working
kernel=$v8 row "the v8 reference's shared guest faults through userspace_addr (MMAP gmem)" fail "" "" "" \
	guest_memfd_test guest.default.gmem_only_slot_ignores_userspace_addr \
	guest.$sw.gmem_only_slot_ignores_userspace_addr
kernel=$v8 row "the v8 reference's shared guest faults through userspace_addr (gmem without MMAP, mode on)" fail "" "" "" \
	$conv gmem_only.$sw.shared_pages_ignore_userspace_addr
kernel=$v6_12_117 row "6.12.117's EINVAL for a second binding of a bound gmem range (EEXIST since 6.12.118)" fail "" "" "" \
	guest_memfd_test bind.$sw.second_binding_same_range_eexist bind.$sw.second_binding_overlapping_head_eexist
kernel=$v8 row "the same on the v8 reference (6.12.117 based), where a guest sees the refusal too" fail "" "" "" \
	guest_memfd_test bind.default.second_binding_same_range_eexist guest.default.refused_second_binding_keeps_the_first
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
