#!/bin/sh
# Nothing a suite run starts or changes may outlive it.
#
#   leak_check.sh state                 the settings a run could change: sysctls,
#                                       THP, hugetlb pools and reservations, kvm
#                                       module parameters, debugfs mounts
#   leak_check.sh processes TOKEN       processes whose environment carries
#                                       KVMT_RUN_TOKEN=TOKEN (test programs, their
#                                       forked and exec'd peers); exit 1 if any
#   leak_check.sh before DIR            the state, into DIR
#   leak_check.sh after DIR TOKEN       compares with DIR, checks processes;
#                                       one line per check, exit 1 on any leak
#
# Processes are found by a token in their environment rather than by name, so
# that other runs of the same programs on the machine do not count. File
# descriptors are checked where they live: every test's fds are compared
# before and after it by the harness glue (lib/harness/registry.cc), which fails
# the test that leaves one open.
set -u
unset KVMT_RUN_TOKEN  # this script's own children must not count

state() {
	for f in /proc/sys/vm/nr_hugepages /proc/sys/vm/nr_overcommit_hugepages \
		/proc/sys/vm/overcommit_memory /proc/sys/vm/max_map_count \
		/proc/sys/kernel/io_uring_disabled /proc/sys/kernel/io_uring_group \
		/proc/sys/kernel/perf_event_paranoid \
		/sys/kernel/mm/transparent_hugepage/enabled \
		/sys/kernel/mm/transparent_hugepage/defrag \
		/sys/kernel/mm/transparent_hugepage/shmem_enabled \
		/sys/kernel/mm/transparent_hugepage/khugepaged/defrag \
		/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages \
		/sys/kernel/mm/hugepages/hugepages-*/resv_hugepages \
		/sys/kernel/mm/hugepages/hugepages-*/surplus_hugepages \
		/sys/module/kvm/parameters/*; do
		[ -r "$f" ] && printf '%s=%s\n' "$f" "$(cat "$f" 2>/dev/null)"
	done
	grep -E '^HugePages_(Rsvd|Surp):' /proc/meminfo
	printf 'debugfs mounts=%s\n' "$(grep -c ' debugfs ' /proc/self/mounts)"
}

processes() {
	found=1
	for env in /proc/[0-9]*/environ; do
		p=${env#/proc/}
		p=${p%/environ}
		[ "$p" = $$ ] && continue
		if { tr '\0' '\n' < "$env"; } 2>/dev/null | grep -qx "KVMT_RUN_TOKEN=$1"; then
			echo "$p $({ tr '\0' ' ' < /proc/"$p"/cmdline; } 2>/dev/null)"
			found=0
		fi
	done
	[ "$found" = 1 ]
}

after() {
	dir=$1 token=$2 rc=0
	# A process killed a moment ago may still be exiting.
	tries=0
	while ! processes "$token" > "$dir/processes.after" && [ $tries -lt 20 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	if [ -s "$dir/processes.after" ]; then
		echo "processes left behind:"; sed 's/^/  /' "$dir/processes.after"; rc=1
	else
		echo "no test process left behind"
	fi
	state > "$dir/state.after"
	if diff "$dir/state.before" "$dir/state.after" > "$dir/state.diff"; then
		echo "sysctls, THP, hugetlb and kvm parameters as before ($(wc -l < "$dir/state.after") settings)"
	else
		echo "settings changed by the run:"; sed 's/^/  /' "$dir/state.diff"; rc=1
	fi
	return $rc
}

case "${1:-}" in
state) state ;;
processes) processes "${2:?TOKEN}" ;;
before) mkdir -p "${2:?DIR}" && state > "$2/state.before" ;;
after) after "${2:?DIR}" "${3:?TOKEN}" ;;
*) echo "usage: leak_check.sh state|processes TOKEN|before DIR|after DIR TOKEN" >&2; exit 1 ;;
esac
