#!/bin/sh
# Runs the guest_memfd conversion selftests the way the kselftest runner does:
# outer TAP with one result per program, each program's own TAP prefixed "# ".
# POSIX sh, so that it also runs under busybox inside the QEMU lane.
COLLECTION=kvm_gmem
KSFT_SKIP=4
DEFAULT_TIMEOUT=45

usage() {
	cat >&2 <<EOF
usage: run_tests.sh [options]
  -l                 list the test programs and exit
  -t NAME            run only program NAME (repeatable)
  -S NAME            skip program NAME (repeatable)
  --expect 'DECL'    what this machine must offer (also: GMEM_EXPECT), e.g.
                     'vm_types=default,sw_protected in_place=on
                     holders=io_uring,vmsplice,o_direct,gup_test content_modes=none':
                     a declared feature that is missing fails, never skips
  --strict           every skip counts as a failure (also: GMEM_STRICT=1)
  --timeout S        per-program timeout in seconds (default: settings file)
  --bin-dir DIR      where the built programs are (default: next to this
                     script after make install, else build/<arch>)
  --log-dir DIR      the run's record directory: each program's raw TAP as
                     DIR/<program>.tap, the runner's TAP as DIR/run_tests.log,
                     DIR/record.json (default: results/<kernel release>/
                     <UTC time>/ beside this script)
  --no-record        no record directory (the QEMU lane's guest: no Perl)
  --kernel IMAGE     boot IMAGE (x86_64 bzImage or arm64 Image) under QEMU
                     and run the suite inside it; --timeout is then the
                     whole run's limit (see scripts/qemu_lane.sh --help)
  --qemu-arg A       with --kernel: extra QEMU arguments (repeatable)
  --append ARGS      with --kernel: extra kernel command line (repeatable)
  --bench PROG       with --kernel: also run PROG (gmem_bench): the conversion
                     benchmarks, their JSON and plot into the log dir
  --bench-set SET    with --bench: smoke (default) or full
  --preload SO       with --kernel: run every program with LD_PRELOAD=SO
  -h, --help         this text
Exit status: 0 if nothing failed, 1 if a program failed or timed out,
1 after this usage text for a bad option.
EOF
}

die_usage() {
	echo "run_tests.sh: $1" >&2
	usage
	exit 1
}

script_dir=$(cd "$(dirname "$0")" && pwd)
bin_dir=
log_dir=
timeout_override=
list_only=
only=
skipped=
kernel=
kernel_args=
no_record=

while [ $# -gt 0 ]; do
	case "$1" in
	-l) list_only=1 ;;
	-t) [ $# -ge 2 ] || die_usage "-t needs a program name"; only="$only $2"; shift ;;
	-S) [ $# -ge 2 ] || die_usage "-S needs a program name"; skipped="$skipped $2"; shift ;;
	--strict) GMEM_STRICT=1; export GMEM_STRICT ;;
	--expect) [ $# -ge 2 ] || die_usage "--expect needs a declaration"; GMEM_EXPECT=$2; export GMEM_EXPECT; shift ;;
	--timeout)
		[ $# -ge 2 ] || die_usage "--timeout needs seconds"
		case "$2" in ''|*[!0-9]*) die_usage "--timeout: '$2' is not a number of seconds" ;; esac
		timeout_override=$2; shift ;;
	--bin-dir) [ $# -ge 2 ] || die_usage "--bin-dir needs a directory"; bin_dir=$2; shift ;;
	--log-dir) [ $# -ge 2 ] || die_usage "--log-dir needs a directory"; log_dir=$2; shift ;;
	--no-record) no_record=1 ;;
	--kernel) [ $# -ge 2 ] || die_usage "--kernel needs an image"; kernel=$2; shift ;;
	--bench|--preload|--bench-set)
		[ $# -ge 2 ] || die_usage "$1 needs a value"
		kernel_args="$kernel_args $1 $2"; shift ;;
	--qemu-arg|--append)
		# Each word becomes its own option pair: "-m 4G" is -m and 4G,
		# "a=1 b=2" two kernel parameters.
		[ $# -ge 2 ] || die_usage "$1 needs a value"
		set -f
		for w in $2; do kernel_args="$kernel_args $1 $w"; done
		set +f
		shift ;;
	-h|--help) usage; exit 0 ;;
	*) die_usage "unknown option '$1'" ;;
	esac
	shift
done

# --kernel: the lane picks the build that matches the image's architecture
# unless --bin-dir names one; --timeout is then the lane's wall-clock limit.
if [ -n "$kernel" ] && [ -z "$list_only" ]; then
	lane="$script_dir/scripts/qemu_lane.sh"
	[ -x "$lane" ] || { echo "run_tests.sh: --kernel needs $lane" >&2; exit 1; }
	set -f
	# shellcheck disable=SC2086 # kernel_args holds option/value pairs without spaces
	exec "$lane" --kernel "$kernel" ${bin_dir:+--bin-dir "$bin_dir"} \
		${timeout_override:+--timeout "$timeout_override"} $kernel_args \
		${log_dir:+--log-dir "$log_dir"} ${no_record:+--no-record} ${GMEM_STRICT:+--strict} \
		${only:+--only "$only"} ${skipped:+--skip "$skipped"}
fi

if [ -z "$bin_dir" ]; then
	if [ -f "$script_dir/tests.list" ]; then
		bin_dir=$script_dir
	else
		case "$(uname -m)" in
		x86_64) arch=x86 ;;
		aarch64) arch=arm64 ;;
		*) arch=$(uname -m) ;;
		esac
		bin_dir=$script_dir/build/$arch
	fi
fi
[ -f "$bin_dir/tests.list" ] || {
	echo "run_tests.sh: no test programs in $bin_dir (run make first)" >&2
	exit 1
}

selected() {
	for s in $skipped; do [ "$s" = "$1" ] && return 1; done
	[ -z "$only" ] && return 0
	for o in $only; do [ "$o" = "$1" ] && return 0; done
	return 1
}

programs=
for p in $(cat "$bin_dir/tests.list"); do
	selected "$p" && programs="$programs $p"
done

if [ -n "$list_only" ]; then
	for p in $programs; do echo "$COLLECTION:$p"; done
	exit 0
fi

for f in "$bin_dir/settings" "$script_dir/settings"; do
	[ -f "$f" ] && { settings=$f; break; }
done
timeout=$DEFAULT_TIMEOUT
[ -n "$settings" ] && timeout=$(sed -n 's/^timeout=\([0-9]*\)$/\1/p' "$settings")
[ -n "$timeout_override" ] && timeout=$timeout_override

utc_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
started=$(utc_now)
record_writer=
for f in "$script_dir/scripts/record_run.pl" "$script_dir/record_run.pl"; do
	[ -f "$f" ] && { record_writer=$f; break; }
done

# results/<kernel release>/<UTC time>/ beside this script, as `make bench`
# names its JSON; a second run in the same second gets a suffix.
default_record_dir() {
	base=$script_dir/results/$(uname -r)/$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$(dirname "$base")" 2>/dev/null || return 1
	d=$base n=1
	until mkdir "$d" 2>/dev/null; do
		n=$((n + 1)); d=$base-$n
		[ "$n" -le 100 ] || return 1
	done
	echo "$d"
}

can_record() { [ -n "$record_writer" ] && command -v perl >/dev/null; }
record=
if [ -n "$no_record" ]; then
	:
elif ! can_record; then
	echo "run_tests.sh: no record of this run (needs perl and record_run.pl)" >&2
elif [ -n "$log_dir" ]; then
	record=$log_dir
elif log_dir=$(default_record_dir); then
	record=$log_dir
else
	echo "run_tests.sh: no record of this run (cannot create a directory under $script_dir/results)" >&2
	log_dir=
fi
[ -n "$log_dir" ] && mkdir -p "$log_dir"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# KSELFTEST_<PROGRAM>_ARGS, as run_kselftest.sh passes per-program arguments.
program_args() {
	var=KSELFTEST_$(echo "$1" | tr 'a-z-' 'A-Z_')_ARGS
	eval "echo \${$var:-}"
}

run_one() {
	prog=$1
	log=${log_dir:+$log_dir/$prog.tap}
	: > "$tmp/out"
	# shellcheck disable=SC2046 # program arguments are words
	{
		if [ "$timeout" -gt 0 ]; then
			timeout "$timeout" "$bin_dir/$prog" $(program_args "$prog")
		else
			"$bin_dir/$prog" $(program_args "$prog")
		fi
		echo $? > "$tmp/rc"
	} 2>&1 | while IFS= read -r line; do
		printf '# %s\n' "$line"
		[ -n "$log" ] && printf '%s\n' "$line" >> "$tmp/out"
	done
	[ -n "$log" ] && cp "$tmp/out" "$log"
}

run_suite() {
	echo "TAP version 13"
	count=$(echo $programs | wc -w)
	echo "1..$count"
	n=0 pass=0 fail=0 skip=0
	for prog in $programs; do
		n=$((n + 1))
		echo "# timeout set to $timeout"
		echo "# selftests: $COLLECTION: $prog"
		run_one "$prog"
		rc=$(cat "$tmp/rc")
		name="selftests: $COLLECTION: $prog"
		if [ "$rc" = 0 ]; then
			echo "ok $n $name"; pass=$((pass + 1))
		elif [ "$rc" = "$KSFT_SKIP" ] && [ -z "$GMEM_STRICT" ]; then
			echo "ok $n $name # SKIP"; skip=$((skip + 1))
		elif [ "$rc" = 124 ] || [ "$rc" = 143 ]; then
			echo "not ok $n $name # TIMEOUT $timeout seconds"; fail=$((fail + 1))
		else
			echo "not ok $n $name # exit=$rc"; fail=$((fail + 1))
		fi
	done
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	[ "$fail" = 0 ]
}

# record.json from the TAP in the record directory; its path closes the TAP.
write_record() {
	perl "$record_writer" --dir "$record" --suite-dir "$script_dir" \
		--started "$started" --ended "$(utc_now)" --exit-status "$1" \
		--declaration "${GMEM_EXPECT:-}" ${GMEM_STRICT:+--strict} &&
		echo "# record: $record"
}

[ -n "$record" ] || { run_suite; exit; }
{ run_suite; echo $? > "$tmp/suite_rc"; } | tee "$record/run_tests.log"
suite_rc=$(cat "$tmp/suite_rc")
write_record "$suite_rc"
exit "$suite_rc"
