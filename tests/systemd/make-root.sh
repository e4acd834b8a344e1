#!/usr/bin/env bash
# make-root.sh DIR: a Debian 12 root for systemd-nspawn to boot, with
# systemd as its init and Debian's runc and conmon, for the systemd cgroup
# driver's integration test (tests/integration/systemd_test.cc). Made once
# per machine: a complete root (DIR/.complete) is kept. Needs debootstrap
# and Debian's archive ($CRIX_DEBIAN_MIRROR, else the host's first one).
set -euo pipefail
dir=${1:?usage: make-root.sh DIR}
[ -e "$dir/.complete" ] && exit 0
mirror=${CRIX_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -E '^(URIs:|deb )' |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,runc,conmon bookworm "$dir.tmp" "$mirror"
# No getty on a console nobody reads, and nothing that would touch the
# host's network (the root shares it).
chroot "$dir.tmp" systemctl mask console-getty.service getty@tty1.service systemd-networkd.service \
  systemd-resolved.service systemd-timesyncd.service >/dev/null 2>&1 || true
touch "$dir.tmp/.complete"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
