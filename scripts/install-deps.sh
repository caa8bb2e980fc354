#!/bin/sh
# Installs what building and running the suite needs, from Debian 12's
# packages (as root). Does nothing when everything is already there.
set -eu
packages="build-essential perl linux-source-6.12 linux-source-6.1 liburing-dev libbenchmark-dev
	libbenchmark-tools python3-scipy g++-aarch64-linux-gnu qemu-system-x86
	qemu-system-arm busybox-static cpio gnuplot-nox procps flex bison"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && { echo "install-deps: all packages present"; exit 0; }
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
