#!/bin/bash
# The QEMU lane: boots a kernel image under QEMU with this suite in an
# initramfs (busybox-static as /init), streams the suite's TAP to stdout as it
# runs and exits with the suite's exit status. What the lane itself says goes
# to stderr, prefixed "qemu-lane:". Reached through `run_tests.sh --kernel`.
set -u

usage() {
	cat <<'EOF'
usage: scripts/qemu_lane.sh --kernel IMAGE [options]
  --kernel IMAGE      x86_64 bzImage or arm64 Image (Image.gz too); the
                      architecture is read from the file itself
  --bin-dir DIR       the built programs (tests.list); default for x86_64:
                      build/x86, build/x86-static; for arm64:
                      build/arm64-static, build/arm64
  --timeout S         wall-clock limit of the whole lane (default 1800 on
                      x86_64, 3600 on arm64, 1800 more with --bench-set
                      full); each program inside keeps the `settings` timeout
  --boot-timeout S    fail when /init has not started within S seconds
                      (default 120; also QEMU_LANE_BOOT_TIMEOUT)
  --qemu-arg A        extra QEMU argument (repeatable; words are split)
  --append ARGS       extra kernel command line (repeatable), e.g.
                      kvm.gmem_in_place_conversion=1 or kvm-arm.mode=protected
  --accel auto|kvm|tcg
                      auto (default; also QEMU_LANE_ACCEL): KVM when the host
                      can run the image's architecture with it and the guest
                      then gets /dev/kvm, else TCG (-cpu EPYC on x86_64, so
                      the guest has SVM with nested paging; -cpu max on arm64)
  --strict            every skip counts as a failure (passed to run_tests.sh)
  --only "NAMES"      run only these programs
  --skip "NAMES"      skip these programs
  --log FILE          full console log (default build/qemu-lane/logs/...)
  --log-dir DIR       the run's record directory: each program's raw TAP as
                      DIR/<program>.tap, the TAP on stdout as DIR/run_tests.log
                      (with --bench, its console, JSON and plot as
                      DIR/gmem_bench.{log,json,png}) and
                      DIR/record.json, the guest's kernel in it (default:
                      results/<guest kernel release>/<UTC start time>/)
  --no-record         no record directory
  --preload SO        pack the shared library SO and run every program with
                      LD_PRELOAD=SO (the project's broken-kernel self-test)
  --bench PROG        also pack PROG, a gmem_bench built for the image's
                      architecture (`make bench-build`: build/x86/bench/gmem_bench),
                      and run the conversion benchmarks (convert/*,
                      convert_per_vm/*) and their limits (limit/*) inside
                      after the suite. Its console appears as "# bench: ..."
                      diagnostics, then one more result, "selftests: kvm_gmem:
                      gmem_bench" (the plan and the Totals line count it): not
                      ok when it exits non-zero, when no conversion benchmark
                      ran (all skipped) or when its JSON did not come back.
                      The JSON and its plot (bench/plot) are written as
                      gmem_bench.json and gmem_bench.png into --log-dir, else
                      into results/<guest kernel release>/<UTC time>/
  --bench-set SET     which benchmarks --bench runs: smoke (default, for CI:
                      one repetition of 5 ms, sizes up to 64 MiB) or full
                      (3 repetitions of 50 ms, 4 KiB to 1 GiB; the guest gets
                      -m 4G unless a --qemu-arg -m says otherwise)
  --verbose           also show the kernel's boot messages (on stderr);
                      also QEMU_LANE_VERBOSE=1
  -h, --help          this text
KSELFTEST_<PROGRAM>_ARGS and GMEM_* variables are passed to the guest.
Exit status: the suite's (0 nothing failed, 1 a program failed); 1 when the
--bench run failed; 1 when the kernel does not boot, panics or QEMU fails
(with the reason and the console log's path); 124 when the run exceeds
--timeout; 2 for a usage error.
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
lane_dir=${QEMU_LANE_DIR:-$top/build/qemu-lane}
t_start=$SECONDS
started_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start_stamp=$(date -u +%Y%m%dT%H%M%SZ)

say() { echo "qemu-lane: $*" >&2; }
die_usage() { say "$1"; echo "(see scripts/qemu_lane.sh --help)" >&2; exit 2; }
fail() { say "FAIL: $*"; exit 1; }

kernel=
bin_dir=
timeout=
boot_timeout=${QEMU_LANE_BOOT_TIMEOUT:-120}
accel=${QEMU_LANE_ACCEL:-auto}
verbose=${QEMU_LANE_VERBOSE:-}
log=
log_dir=
no_record=
strict=
only=
skip=
bench=
bench_set=smoke
preload=
qemu_extra=()
append_extra=()

need_value() { [ "$2" -ge 2 ] || die_usage "$1 needs a value"; }
is_seconds() { case "$1" in ''|*[!0-9]*) return 1 ;; esac; [ "$1" -gt 0 ]; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) need_value "$1" $#; kernel=$2; shift ;;
	--bin-dir) need_value "$1" $#; bin_dir=$2; shift ;;
	--timeout) need_value "$1" $#; timeout=$2; shift
		is_seconds "$timeout" || die_usage "--timeout: '$timeout' is not a number of seconds" ;;
	--boot-timeout) need_value "$1" $#; boot_timeout=$2; shift ;;
	--qemu-arg) need_value "$1" $#; read -r -a words <<< "$2"; qemu_extra+=("${words[@]}"); shift ;;
	--append) need_value "$1" $#; append_extra+=("$2"); shift ;;
	--accel) need_value "$1" $#; accel=$2; shift ;;
	--strict) strict=1 ;;
	--only) need_value "$1" $#; only="$only $2"; shift ;;
	--skip) need_value "$1" $#; skip="$skip $2"; shift ;;
	--log) need_value "$1" $#; log=$2; shift ;;
	--log-dir) need_value "$1" $#; log_dir=$2; shift ;;
	--no-record) no_record=1 ;;
	--bench) need_value "$1" $#; bench=$2; shift ;;
	--bench-set) need_value "$1" $#; bench_set=$2; shift ;;
	--preload) need_value "$1" $#; preload=$2; shift ;;
	--verbose|-v) verbose=1 ;;
	-h|--help) usage; exit 0 ;;
	*) die_usage "unknown option '$1'" ;;
	esac
	shift
done
[ -n "$kernel" ] || die_usage "--kernel IMAGE is required"
is_seconds "$boot_timeout" || die_usage "--boot-timeout: '$boot_timeout' is not a number of seconds"
case "$accel" in auto|kvm|tcg) ;; *) die_usage "--accel must be auto, kvm or tcg, not '$accel'" ;; esac
case "$bench_set" in smoke|full) ;; *) die_usage "--bench-set must be smoke or full, not '$bench_set'" ;; esac
{ [ -f "$kernel" ] && [ -r "$kernel" ]; } || fail "kernel image '$kernel' is not a readable file"
[ -s "$kernel" ] || fail "kernel image '$kernel' is empty"
if [ -n "$log_dir" ]; then mkdir -p "$log_dir" || fail "cannot create --log-dir $log_dir"; fi
kernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")

# --- what the image is ------------------------------------------------------
# hex of LEN bytes at OFFSET of a file (or of stdin with file "-")
bytes_at() { od -An -v -tx1 -j "$2" -N "$3" "$1" 2>/dev/null | tr -d ' \n'; }

image_arch() {
	local f=$1
	# x86 boot protocol: "HdrS" at 0x202 (bzImage)
	[ "$(bytes_at "$f" 514 4)" = 48647253 ] && { echo x86_64; return; }
	# arm64 Image header: magic "ARM\x64" at 0x38
	[ "$(bytes_at "$f" 56 4)" = 41524d64 ] && { echo arm64; return; }
	# ELF vmlinux: e_machine at 0x12 (0x3e x86-64, 0xb7 AArch64)
	if [ "$(bytes_at "$f" 0 4)" = 7f454c46 ]; then
		case "$(bytes_at "$f" 18 2)" in
		3e00) echo x86_64; return ;;
		b700) echo arm64; return ;;
		esac
	fi
	# Image.gz (QEMU's arm64 loader unpacks it)
	if [ "$(bytes_at "$f" 0 2)" = 1f8b ]; then
		[ "$( (gzip -dc "$f" 2>/dev/null | head -c 64) | bytes_at - 56 4)" = 41524d64 ] &&
			{ echo arm64; return; }
	fi
	return 1
}

arch=$(image_arch "$kernel") ||
	fail "$kernel is neither an x86_64 bzImage nor an arm64 Image (no boot header found)"

host_arch=$(uname -m)
case "$arch" in
x86_64)
	qemu='qemu-system-x86_64'
	elf_machine=X86-64
	triplet=x86_64-linux-gnu
	console=ttyS0
	machine=()
	tcg_cpu=EPYC
	# MTTCG kills the guest at times when a nested vCPU runs while a process
	# forks (../shared/kernels/README.md): one TCG thread on x86_64.
	tcg_accel=tcg,thread=single
	debug_exit_port=244	# 0xf4
	default_timeout=1800
	default_bins=("$top/build/x86" "$top/build/x86-static")
	make_hint="make -j2"
	;;
arm64)
	qemu='qemu-system-aarch64'
	elf_machine=AArch64
	triplet=aarch64-linux-gnu
	console=ttyAMA0
	machine=(-M 'virt,virtualization=on,gic-version=3')
	tcg_cpu=max
	tcg_accel=tcg
	debug_exit_port=
	default_timeout=3600
	default_bins=("$top/build/arm64-static" "$top/build/arm64")
	make_hint="make -j2 ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- STATIC=1"
	;;
esac
# the full bench set took 20 min under TCG
[ -n "$bench" ] && [ "$bench_set" = full ] && default_timeout=$((default_timeout + 1800))
timeout=${timeout:-$default_timeout}
command -v "$qemu" >/dev/null ||
	fail "$qemu not found (apt-get install $([ "$arch" = arm64 ] && echo qemu-system-arm || echo qemu-system-x86))"

# --- the suite to pack ------------------------------------------------------
elf_machine_of() { readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p'; }

if [ -z "$bin_dir" ]; then
	for d in "${default_bins[@]}"; do
		[ -f "$d/tests.list" ] && { bin_dir=$d; break; }
	done
	[ -n "$bin_dir" ] || fail "no $arch build of the suite (looked in ${default_bins[*]}): run $make_hint"
fi
[ -f "$bin_dir/tests.list" ] || fail "no test programs in $bin_dir (no tests.list): run $make_hint"
bin_dir=$(cd "$bin_dir" && pwd)
mapfile -t programs < <(grep -v '^[[:space:]]*$' "$bin_dir/tests.list")
[ "${#programs[@]}" -gt 0 ] || fail "$bin_dir/tests.list names no program"
for p in "${programs[@]}"; do
	if [ ! -x "$bin_dir/$p" ]; then
		# as run_tests.sh on the host: that program fails, the others run
		say "warning: $bin_dir/$p is missing (run $make_hint); it will fail inside"
		continue
	fi
	m=$(elf_machine_of "$bin_dir/$p")
	[ -z "$m" ] || grep -qi -- "$elf_machine" <<< "$m" ||
		fail "$kernel is an $arch kernel but $bin_dir/$p is built for '$m': build the $arch suite ($make_hint) or pass its --bin-dir"
done
if [ -n "$preload" ]; then
	[ -f "$preload" ] || fail "--preload: '$preload' is not a file"
fi
if [ -n "$bench" ]; then
	{ [ -f "$bench" ] && [ -x "$bench" ]; } || fail "--bench: '$bench' is not an executable file (run make bench-build)"
	m=$(elf_machine_of "$bench")
	grep -qi -- "$elf_machine" <<< "$m" ||
		fail "--bench: $bench is built for '${m:-no ELF machine}', not $arch ($make_hint bench-build)"
fi
# The conversion benchmarks and the limits their ratios need (the no-op
# ioctl floor, memset). Smoke: shorter than `make bench-smoke` (one
# repetition instead of two) and without 1 GiB, which a 2 GiB guest cannot
# hold; full: every size, repetitions enough for a CV. No colours on the
# console; the JSON goes to the guest's tmpfs and comes back on the console.
bench_json=/tmp/gmem_bench.json
guest_mem=2G
case "$bench_set" in
smoke) bench_args="--benchmark_repetitions=1 --benchmark_min_time=0.005 --benchmark_filter=^(convert(_per_vm)?|limit/memset)/.*(4k|64k|2m|64m)/|^limit/noop_ioctl/" ;;
full) bench_args="--benchmark_repetitions=3 --benchmark_min_time=0.05 --benchmark_filter=^(convert(_per_vm)?|limit)/"
	[ -n "$bench" ] && guest_mem=4G ;;
esac
bench_args="$bench_args --benchmark_color=false --benchmark_out=$bench_json"

mkdir -p "$lane_dir/logs" || fail "cannot create $lane_dir"
busybox=$("$here/qemu/fetch-busybox.sh" "$arch" "$lane_dir/cache") ||
	fail "no static busybox for $arch (see the message above)"

if [ -z "$log" ]; then
	log=$lane_dir/logs/$arch-$(date +%Y%m%d-%H%M%S)-$$.log
	# keep the 20 newest logs
	# shellcheck disable=SC2012 # our own file names, no odd characters
	ls -1t "$lane_dir"/logs/*.log 2>/dev/null | tail -n +21 | xargs -r rm -f
fi
: > "$log" || fail "cannot write the console log $log"

run=$(mktemp -d "$lane_dir/run.XXXXXX") || fail "cannot create a work directory under $lane_dir"
qpid=
wpid=
# What the guest says about its kernel (GMEM-LANE-CMDLINE, GMEM-LANE-START),
# for the record.
guest_release=
guest_arch=
guest_cmdline=
accel_desc=
reason=
panic=
# The record directory: --log-dir, else one staged in the work directory and
# moved to results/ once the guest's kernel release is known.
record_dir=$log_dir
if [ -z "$no_record" ] && [ -z "$log_dir" ]; then
	log_dir=$run/record
	mkdir -p "$log_dir" || fail "cannot create $log_dir"
fi
if [ -n "$log_dir" ] && [ -z "$no_record" ]; then
	exec 6> "$log_dir/run_tests.log" || fail "cannot write $log_dir/run_tests.log"
else
	exec 6> /dev/null
fi
# The TAP on stdout, and a copy for the record.
tap_out() { printf '%s\n' "$1"; printf '%s\n' "$1" >&6; }

# results/<guest kernel release>/<UTC start time>/, as run_tests.sh names it.
# shellcheck disable=SC2317 # reached from the EXIT trap
record_destination() {
	local base d n=1
	if [ -n "$record_dir" ]; then echo "$record_dir"; return 0; fi
	base=$top/results/${guest_release:-unknown}/$start_stamp
	base=${base// /_}
	mkdir -p "$(dirname "$base")" || return 1
	d=$base
	while [ -e "$d" ]; do n=$((n + 1)); d=$base-$n; done
	mv "$log_dir" "$d" || return 1
	echo "$d"
}

# shellcheck disable=SC2317 # reached from the EXIT trap
lane_end() {
	if [ -z "$guest_release" ]; then echo "the guest did not boot"
	elif [ -n "$panic" ]; then echo "kernel panic: $panic"
	elif [ -n "$reason" ]; then echo "ended by the lane: $reason"
	else echo "completed"; fi
}

# record.json, written on the host from the TAP the lane streamed: the guest
# has no Perl.
# shellcheck disable=SC2317 # reached from the EXIT trap
write_record() {
	local rc=$1 dir
	{ [ -z "$no_record" ] && [ -n "$log_dir" ]; } || return 0
	exec 6>&-
	dir=$(record_destination) || { say "no record of this run: cannot move it under $top/results"; return 0; }
	perl "$here/record_run.pl" --dir "$dir" --suite-dir "$top" --started "$started_utc" \
		--ended "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --exit-status "$rc" \
		--declaration "${GMEM_EXPECT:-}" ${strict:+--strict} \
		--kernel-release "${guest_release:-unknown (the guest did not boot)}" \
		--kernel-cmdline "${guest_cmdline:-${cmdline:-}}" --kernel-arch "${guest_arch:-$arch}" \
		--lane kind=qemu --lane image="$kernel" --lane accel="$accel_desc" \
		--lane console_log="$log" --lane end="$(lane_end)" \
		${preload:+--lane preload="$preload"} ${bench:+--lane bench="$bench"} || return 0
	echo "# record: $dir"
	say "record: $dir"
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local rc=$?
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	write_record "$rc"
	rm -rf "$run"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# --- the initramfs ------------------------------------------------------------
root=$run/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,kvm_gmem} || fail "cannot stage the initramfs"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/qemu/init" "$root/init"
install -m 0755 "$top/run_tests.sh" "$root/kvm_gmem/run_tests.sh"
if [ -f "$bin_dir/settings" ]; then settings=$bin_dir/settings; else settings=$top/settings; fi
cp "$settings" "$root/kvm_gmem/settings"
cp "$bin_dir/tests.list" "$root/kvm_gmem/tests.list"

lib_dirs=("/usr/$triplet/lib" "/lib/$triplet" "/usr/lib/$triplet")
[ "$arch" = "$host_arch" ] || [ "$arch/$host_arch" = arm64/aarch64 ] && lib_dirs+=(/lib64 /usr/lib64 /lib /usr/lib)
declare -A packed=()
# Copies the shared libraries an ELF file needs (and theirs), and its program
# interpreter at the path the file names.
pack_libs() {
	local f=$1 interp lib d found
	interp=$(readelf -l "$f" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ -z "${packed[$interp]:-}" ]; then
		packed[$interp]=1
		found=
		for d in "${lib_dirs[@]}"; do
			[ -e "$d/$(basename "$interp")" ] && { found=$d/$(basename "$interp"); break; }
		done
		[ -n "$found" ] || fail "$f needs $interp, which is not on this machine (build with STATIC=1)"
		mkdir -p "$root$(dirname "$interp")"
		cp -L "$found" "$root$interp"
	fi
	for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -n "${packed[$lib]:-}" ] && continue
		packed[$lib]=1
		found=
		for d in "${lib_dirs[@]}"; do
			[ -e "$d/$lib" ] && { found=$d/$lib; break; }
		done
		[ -n "$found" ] || fail "$f needs $lib, not found in ${lib_dirs[*]} (build with STATIC=1)"
		mkdir -p "$root/lib/$triplet"
		cp -L "$found" "$root/lib/$triplet/$lib"
		pack_libs "$found"
	done
}
for p in "${programs[@]}"; do
	[ -x "$bin_dir/$p" ] || continue
	cp "$bin_dir/$p" "$root/kvm_gmem/$p"
	pack_libs "$bin_dir/$p"
done
if [ -n "$preload" ]; then
	mkdir -p "$root/preload"
	cp "$preload" "$root/preload/$(basename "$preload")"
	pack_libs "$preload"
fi
if [ -n "$bench" ]; then
	mkdir -p "$root/gmem_bench"
	cp "$bench" "$root/gmem_bench/gmem_bench"
	pack_libs "$bench"
fi

# lane.conf: what /init passes to run_tests.sh, and the environment it keeps.
squote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	run_args="--no-record${strict:+ --strict}"
	for n in $only; do run_args="$run_args -t $n"; done
	for n in $skip; do run_args="$run_args -S $n"; done
	echo "RUN_ARGS=$(squote "$run_args")"
	echo "DEBUG_EXIT_PORT=$debug_exit_port"
	if [ -n "$bench" ]; then
		echo "BENCH=/gmem_bench/gmem_bench"
		echo "BENCH_ARGS=$(squote "$bench_args")"
		echo "BENCH_JSON=$bench_json"
	fi
	[ "${#packed[@]}" -gt 0 ] && echo "LD_LIBRARY_PATH=/lib/$triplet; export LD_LIBRARY_PATH"
	[ -n "$preload" ] && echo "LD_PRELOAD=/preload/$(basename "$preload"); export LD_PRELOAD"
	while IFS= read -r name; do
		echo "$name=$(squote "${!name}"); export $name"
	done < <(compgen -e | grep -E '^(KSELFTEST_[A-Z0-9_]+_ARGS|GMEM_[A-Z0-9_]+)$')
} > "$root/lane.conf"

initrd=$run/initramfs.cpio
if command -v cpio >/dev/null; then
	(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$initrd"
else
	(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) > "$initrd"
fi || fail "cannot write the initramfs"
[ -s "$initrd" ] || fail "the initramfs is empty"

# --- QEMU ---------------------------------------------------------------------
cmdline="console=$console panic=-1 ${append_extra[*]}"
cmdline=${cmdline% }
qemu_base=("$qemu" "${machine[@]}" -smp 2 -m "$guest_mem" -nodefaults -no-user-config
	-display none -monitor none -serial stdio -no-reboot
	-kernel "$kernel" -initrd "$initrd")
[ -n "$debug_exit_port" ] &&
	qemu_base+=(-device "isa-debug-exit,iobase=$(printf '0x%x' "$debug_exit_port"),iosize=0x04")

remaining() { echo $((timeout - (SECONDS - t_start))); }
# QEMU warnings that are not news (TCG lacks some EPYC features).
qemu_stderr_filter() { grep -v -e "TCG doesn't support requested feature" -e 'terminating on signal' "$@"; }

# The KVM probe: boot the image with KVM and ask /init whether it got /dev/kvm.
probe_kvm() {
	local out=$run/probe.out err=$run/probe.err rc limit=60
	{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "no usable /dev/kvm on the host"; return 1; }
	[ "$(remaining)" -lt "$limit" ] && limit=$(remaining)
	timeout -k 5 "$limit" "${qemu_base[@]}" -accel kvm -cpu host \
		-append "$cmdline gmem_lane.probe=1" < /dev/null > "$out" 2> "$err"
	rc=$?
	{ echo "=== KVM probe (exit $rc)"; tr -d '\r' < "$out"; cat "$err"; echo "=== end of KVM probe"; } >> "$log"
	if grep -q 'GMEM-LANE-PROBE kvm=yes' "$out"; then
		return 0
	elif grep -q 'GMEM-LANE-PROBE kvm=no' "$out"; then
		echo "the guest booted with KVM but has no /dev/kvm (no nested virtualization)"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "the guest did not reach /init within $limit s"
	else
		echo "QEMU exited with status $rc: $(qemu_stderr_filter "$err" | grep -v '^$' | head -n 1)"
	fi
	return 1
}

case "$arch/$host_arch" in
x86_64/x86_64|arm64/aarch64) ;;
*)
	[ "$accel" = kvm ] && fail "--accel kvm: a $host_arch host cannot run an $arch guest with KVM"
	accel=tcg ;;
esac
if [ "$accel" != tcg ]; then
	say "probing KVM acceleration"
	if why=$(probe_kvm); then
		accel=kvm
	elif [ "$accel" = kvm ]; then
		fail "--accel kvm: $why (console log: $log)"
	else
		say "KVM acceleration unusable ($why): falling back to TCG"
		accel=tcg
	fi
fi
if [ "$accel" = kvm ]; then
	accel_args=(-accel kvm -cpu host)
else
	accel_args=(-accel "$tcg_accel" -cpu "$tcg_cpu")
fi
accel_desc="${accel_args[*]}"
[ "$(remaining)" -gt 0 ] || { say "FAIL: the lane exceeded its timeout of $timeout s before booting"; exit 124; }

say "booting $kernel ($arch, ${accel_args[*]}) with ${#programs[@]} program(s) from $bin_dir; timeout $timeout s, boot timeout $boot_timeout s"
[ -n "$bench" ] && say "after the suite: $bench $bench_args"
say "kernel command line: $cmdline"
say "console log: $log"

fifo=$run/console
mkfifo "$fifo" || fail "cannot create a fifo in $run"
qemu_cmd=("${qemu_base[@]}" "${accel_args[@]}" -append "$cmdline" "${qemu_extra[@]}")
echo "=== ${qemu_cmd[*]}" >> "$log"
# timeout(1) guards QEMU even if this script dies; the watchdog below says why.
timeout -k 10 "$(( $(remaining) + 30 ))" "${qemu_cmd[@]}" < /dev/null > "$fifo" 2> "$run/qemu.err" &
qpid=$!
t_boot=$SECONDS
boot_limit=$boot_timeout
[ "$(remaining)" -lt "$boot_limit" ] && boot_limit=$(remaining)

# The watchdog ends QEMU when /init has not started within the boot timeout,
# when the lane's timeout is over, or when QEMU lingers after the exit marker.
watchdog() {
	local reason='' done_at=''
	while kill -0 "$qpid" 2>/dev/null; do
		if [ -e "$run/done" ]; then
			done_at=${done_at:-$SECONDS}
			[ $((SECONDS - done_at)) -ge 30 ] && { reason=linger; break; }
		elif [ ! -e "$run/started" ] && [ $((SECONDS - t_boot)) -ge "$boot_limit" ]; then
			reason=boot; break
		elif [ "$(remaining)" -le 0 ]; then
			reason=timeout; break
		fi
		sleep 1
	done
	[ -n "$reason" ] || return 0
	echo "$reason" > "$run/reason"
	kill -TERM "$qpid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || return 0; sleep 1; done
	kill -KILL "$qpid" 2>/dev/null
}
watchdog &
wpid=$!

# --log-dir: run_tests.sh's own TAP announces a program with
# "# selftests: kvm_gmem: NAME", prefixes the program's lines with "# " and
# ends it with its result line.
split_tap() {
	case "$1" in
	"# selftests: "*": "*) prog_tap=$log_dir/${1##*: }.tap; : > "$prog_tap" ;;
	"# "*) [ -n "$prog_tap" ] && printf '%s\n' "${1#\# }" >> "$prog_tap" ;;
	*) prog_tap= ;;
	esac
}

# --bench: the suite's plan gets one more result, the gmem_bench run's, which
# follows its "# bench:" lines; the suite's Totals line is held back and
# printed after that result, counting it.
bench_num=
bench_rc=
bench_counts=
bench_done=
bench_failed=
held_totals=
bench_dir=
bench_log=
bench_json_error="its JSON did not come back (no GMEM-LANE-JSON markers)"

# Where --bench's files go, once the guest said its kernel release: the log
# directory, else results/<release>/<UTC time of this run>/.
open_bench_dir() {
	[ -n "$bench" ] || return 0
	bench_dir=${log_dir:-$top/results/$1/$start_stamp}
	mkdir -p "$bench_dir" || { say "warning: cannot create $bench_dir: the bench's files are lost"; bench_dir=; return; }
	bench_log=$bench_dir/gmem_bench.log
	: > "$bench_log"
}

# The JSON between GMEM-LANE-JSON-BEGIN (with its sha256) and -END: the
# base64 of its gzip, collected in $run/json.b64.
save_bench_json() {
	local want=$1 out=$bench_dir/gmem_bench.json got
	[ -n "$bench_dir" ] || { bench_json_error="no directory for its JSON"; return; }
	if ! base64 -d < "$run/json.b64" 2>/dev/null | gzip -dc > "$out" 2>/dev/null; then
		bench_json_error="its JSON came back damaged (base64 or gzip)"
		return
	fi
	got=$(sha256sum < "$out" | cut -d ' ' -f 1)
	if [ "$got" != "$want" ]; then
		bench_json_error="its JSON came back damaged (sha256 $got, the guest sent $want)"
		return
	fi
	bench_json_error=
}

# Number of benchmarks of FAMILY that ran, from the "# benchmarks:" line.
ran_in_family() {
	local n
	n=$(sed -n "s|^# benchmarks: .*(ran: \(.*, \)\{0,1\}$1/\* \([0-9][0-9]*\).*|\2|p" <<< "$bench_counts")
	echo "${n:-0}"
}

# Prints the bench's result, then the held Totals line. $1: why it failed,
# or "" to judge by its exit status and its "# benchmarks:" count line.
bench_result() {
	local why=$1 ran name="selftests: kvm_gmem: gmem_bench"
	{ [ -n "$bench" ] && [ -z "$bench_done" ]; } || return 0
	bench_done=1
	ran=$(( $(ran_in_family convert) + $(ran_in_family convert_per_vm) ))
	if [ -z "$why" ]; then
		if [ "$bench_rc" != 0 ]; then
			why="exit=$bench_rc"
		elif [ -z "$bench_counts" ]; then
			why="no '# benchmarks:' count line"
		elif [ "$ran" = 0 ]; then
			why="no convert/* or convert_per_vm/* benchmark ran (${bench_counts#\# benchmarks: })"
		elif [ -n "$bench_json_error" ]; then
			why=$bench_json_error
		fi
	fi
	if [ -z "$why" ]; then
		tap_out "ok ${bench_num:-1} $name"
	else
		bench_failed=$why
		tap_out "not ok ${bench_num:-1} $name # $why"
	fi
	if [[ $held_totals =~ ^#\ Totals:\ pass:([0-9]+)\ fail:([0-9]+)\ (.*)$ ]]; then
		local pass=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
		if [ -z "$why" ]; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
		tap_out "# Totals: pass:$pass fail:$failed ${BASH_REMATCH[3]}"
	elif [ -n "$held_totals" ]; then
		tap_out "$held_totals"
	fi
}

# --- the console ----------------------------------------------------------------
# boot: kernel messages until /init says START (shown with --verbose only);
# run: the suite's TAP, to stdout; dmesg: the kernel log after the run (log
# file only; warnings are summarised); finished: power-off noise (log file only).
phase=boot
suite_rc=
last_run_line=
warnings=()
prog_tap=
kvm_info=
exec 4>> "$log"
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >&4
	case "$line" in
	*"Kernel panic - not syncing"*) panic=${panic:-${line#*\] }} ;;
	esac
	case "$phase" in
	boot)
		case "$line" in
		GMEM-LANE-KVM*) kvm_info=${line#GMEM-LANE-KVM} ;;
		"GMEM-LANE-CMDLINE "*) guest_cmdline=${line#GMEM-LANE-CMDLINE } ;;
		GMEM-LANE-START*)
			phase=run
			: > "$run/started"
			say "/init started after $((SECONDS - t_boot)) s: ${line#GMEM-LANE-START }"
			[[ $line =~ \ kernel=([^ ]+) ]] && guest_release=${BASH_REMATCH[1]}
			[[ $line =~ \ arch=([^ ]+) ]] && guest_arch=${BASH_REMATCH[1]}
			[ -n "$guest_release" ] && open_bench_dir "$guest_release"
			[ -n "$kvm_info" ] && say "guest KVM:$kvm_info"
			;;
		*) [ -n "$verbose" ] && printf '%s\n' "$line" >&2 ;;
		esac
		;;
	run)
		case "$line" in
		GMEM-LANE-BENCH-BEGIN) phase=bench ;;
		GMEM-LANE-DMESG-BEGIN) phase=dmesg ;;
		GMEM-LANE-EXIT=*)
			suite_rc=${line#GMEM-LANE-EXIT=}
			case "$suite_rc" in ''|*[!0-9]*) suite_rc= ;; esac
			phase=finished
			: > "$run/done"
			;;
		\[*\]" "*)
			# the kernel on the console mid-run (an oops, a panic): a
			# TAP diagnostic, so that the TAP stays well-formed
			tap_out "# kernel: $line"
			;;
		*)
			if [ -n "$bench" ]; then
				# room for the bench's result in the plan; its Totals later
				if [ -z "$bench_num" ] && [[ $line =~ ^1\.\.([0-9]+)$ ]]; then
					bench_num=$((BASH_REMATCH[1] + 1))
					line="1..$bench_num"
				elif [ -z "$held_totals" ] && [[ $line == "# Totals: "* ]]; then
					held_totals=$line
					continue
				fi
			fi
			tap_out "$line"
			last_run_line=$line
			[ -n "$log_dir" ] && split_tap "$line"
			;;
		esac
		;;
	bench)
		case "$line" in
		"GMEM-LANE-JSON-BEGIN sha256="*)
			json_sha=${line#*sha256=}
			: > "$run/json.b64"
			phase=bench_json
			;;
		GMEM-LANE-JSON-NONE) bench_json_error="it wrote no JSON" ;;
		"GMEM-LANE-BENCH-END rc="*)
			bench_rc=${line#GMEM-LANE-BENCH-END rc=}
			phase=run
			bench_result ""
			;;
		GMEM-LANE-DMESG-BEGIN)
			phase=dmesg
			bench_result "it ended without its end marker"
			;;
		*)
			[[ $line == "# benchmarks: "* ]] && bench_counts=$line
			tap_out "# bench: $line"
			last_run_line="# bench: $line"
			[ -n "$bench_log" ] && printf '%s\n' "$line" >> "$bench_log"
			;;
		esac
		;;
	bench_json)
		if [[ $line =~ ^[A-Za-z0-9+/=]+$ ]]; then
			printf '%s\n' "$line" >> "$run/json.b64"
		elif [ "$line" = GMEM-LANE-JSON-END ]; then
			save_bench_json "$json_sha"
			phase=bench
		else
			printf '# kernel: %s\n' "$line"
		fi
		;;
	dmesg)
		case "$line" in
		GMEM-LANE-DMESG-END) phase=run ;;
		*WARNING:*|*BUG:*|*Oops*|*"general protection fault"*|*UBSAN:*|*KASAN:*|*"Call Trace"*|*"kernel BUG"*|*"hung_task"*|*"blocked for more than"*)
			warnings+=("$line") ;;
		esac
		[ -n "$verbose" ] && printf '%s\n' "$line" >&2
		;;
	finished) [ -n "$verbose" ] && printf '%s\n' "$line" >&2 ;;
	esac
done < "$fifo"
exec 4>&-

wait "$qpid"
qemu_rc=$?
qpid=
wait "$wpid" 2>/dev/null
wpid=
reason=$(cat "$run/reason" 2>/dev/null)
wall=$((SECONDS - t_start))
{ echo "=== QEMU exit status $qemu_rc${reason:+ (ended by the lane: $reason)}, stderr:"; cat "$run/qemu.err"; } >> "$log"

show_tail() {
	local lines
	# the console of the real run: not the probe's, nor QEMU's stderr
	lines=$(awk '/^=== KVM probe/ { skip = 1 } /^=== QEMU exit status/ { exit }
		!skip && !/^===/ { print } /^=== end of KVM probe/ { skip = 0 }' "$log" | tail -n "${1:-15}")
	if [ -n "$lines" ]; then
		say "last console lines:"
		printf '%s\n' "$lines" | sed 's/^/    /' >&2
	else
		say "the console stayed silent"
	fi
	qemu_stderr_filter "$run/qemu.err" | grep -v '^$' | head -n 5 | sed 's/^/    qemu: /' >&2
	say "full console log: $log"
}

if [ ${#warnings[@]} -gt 0 ]; then
	say "the kernel logged ${#warnings[@]} warning line(s) during the run (full dmesg in $log):"
	printf '    %s\n' "${warnings[@]:0:20}" >&2
fi

# The plot next to the JSON; says where both went.
plot_bench_json() {
	local json=$bench_dir/gmem_bench.json png=$bench_dir/gmem_bench.png
	[ -n "$bench_dir" ] && [ -s "$json" ] && [ -z "$bench_json_error" ] || return 0
	local where="$json, plot: $png"
	[ "$bench_dir" = "$run/record" ] && where="gmem_bench.json and gmem_bench.png in the record (below)"
	if "$top/bench/plot" "$json" "$png" > "$run/plot.out" 2>&1; then
		say "bench results: $where"
	else
		say "bench results: $where; warning: bench/plot failed: $(tail -n 1 "$run/plot.out")"
	fi
}

# --bench whose markers never came: a failing result all the same.
bench_verdict() {
	[ -n "$bench" ] || return 0
	bench_result "it did not run (no GMEM-LANE-BENCH markers on the console)"
	plot_bench_json
	[ -z "$bench_failed" ] && return 0
	say "FAIL: the --bench run: $bench_failed${bench_log:+ (its console: $bench_log)}"
	return 1
}

if [ -n "$suite_rc" ]; then
	say "suite exit status $suite_rc; wall time ${wall} s ($arch, ${accel_args[*]})"
	bench_verdict || { [ "$suite_rc" = 0 ] && suite_rc=1; }
	[ "$suite_rc" = 0 ] || say "console log: $log"
	exit "$suite_rc"
fi
# A run cut short leaves its TAP unfinished: say so in TAP as well.
bail_out() { if [ -e "$run/started" ]; then tap_out "Bail out! qemu-lane: $1"; fi; }
case "$reason" in
timeout)
	bail_out "the run exceeded the timeout of $timeout s"
	say "FAIL: the run exceeded the lane's timeout of $timeout s (wall ${wall} s)${last_run_line:+; last output: $last_run_line}"
	show_tail
	exit 124 ;;
boot)
	say "FAIL: $kernel did not boot: /init did not start within $boot_limit s"
	show_tail
	exit 1 ;;
esac
if [ -n "$panic" ]; then
	bail_out "kernel panic"
	say "FAIL: kernel panic: $panic"
	show_tail 30
	exit 1
fi
# The marker was lost but x86's isa-debug-exit carried the status.
if [ -n "$debug_exit_port" ] && [ -e "$run/started" ] && [ $((qemu_rc % 2)) = 1 ] && [ "$qemu_rc" -lt 124 ]; then
	suite_rc=$((qemu_rc >> 1))
	say "suite exit status $suite_rc (from isa-debug-exit; the console lost the marker); wall time ${wall} s"
	bench_verdict || { [ "$suite_rc" = 0 ] && suite_rc=1; }
	exit "$suite_rc"
fi
if [ -e "$run/started" ]; then
	bail_out "QEMU exited with status $qemu_rc before the suite ended"
	say "FAIL: QEMU exited with status $qemu_rc after /init started, without the suite's exit status"
else
	say "FAIL: $kernel did not boot: QEMU exited with status $qemu_rc before /init started"
fi
show_tail
exit 1
