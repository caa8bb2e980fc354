#!/bin/sh
# Prints the path of a static busybox for ARCH (x86_64 or arm64), fetching
# Debian's busybox-static for that architecture into CACHE_DIR when the host
# has none that fits. Idempotent: a cached binary is reused.
# Usage: scripts/qemu/fetch-busybox.sh ARCH CACHE_DIR
set -eu
arch=${1:?usage: fetch-busybox.sh x86_64|arm64 CACHE_DIR}
cache=${2:?usage: fetch-busybox.sh x86_64|arm64 CACHE_DIR}
case "$arch" in
x86_64|amd64) deb_arch=amd64 elf_machine=x86-64 ;;
arm64|aarch64) deb_arch=arm64 elf_machine=AArch64 ;;
*) echo "fetch-busybox: unsupported architecture '$arch'" >&2; exit 1 ;;
esac

say() { echo "fetch-busybox: $*" >&2; }

# A static ELF of the wanted machine: no program interpreter.
fits() {
	[ -f "$1" ] || return 1
	readelf -h "$1" 2>/dev/null | grep -qi "Machine:.*$elf_machine" || return 1
	! readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}

for candidate in "$cache/busybox-$deb_arch" /bin/busybox /usr/bin/busybox; do
	if fits "$candidate"; then
		echo "$candidate"
		exit 0
	fi
done

mkdir -p "$cache"
work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

download() { (cd "$work" && apt-get download -q "busybox-static:$deb_arch" >/dev/null 2>&1); }

host_arch=$(dpkg --print-architecture)
if [ "$deb_arch" != "$host_arch" ] && ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
	[ "$(id -u)" = 0 ] || { say "needs root to run 'dpkg --add-architecture $deb_arch'"; exit 1; }
	say "adding the $deb_arch architecture to dpkg (for apt-get download only)"
	dpkg --add-architecture "$deb_arch"
	apt-get update -qq >/dev/null || { say "apt-get update failed"; exit 1; }
fi
if ! download; then
	say "busybox-static:$deb_arch not in the package lists yet: apt-get update"
	apt-get update -qq >/dev/null || { say "apt-get update failed"; exit 1; }
	download || { say "apt-get download busybox-static:$deb_arch failed"; exit 1; }
fi
deb=$(ls "$work"/busybox-static_*.deb)
dpkg-deb -x "$deb" "$work/x"
fits "$work/x/bin/busybox" || { say "$deb holds no static $deb_arch busybox"; exit 1; }
cp "$work/x/bin/busybox" "$cache/busybox-$deb_arch.tmp"
mv "$cache/busybox-$deb_arch.tmp" "$cache/busybox-$deb_arch"
say "cached $(basename "$deb") as $cache/busybox-$deb_arch"
echo "$cache/busybox-$deb_arch"
