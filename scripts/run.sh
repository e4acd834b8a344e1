#!/usr/bin/env bash
# Installs what crix needs, builds it, installs it under /usr/local and
# starts crixd on its defaults: the embedded SQLite store, runc, and the
# default CNI bridge (installed when /etc/cni/net.d has no network yet).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

./scripts/install-deps.sh
./scripts/build.sh build -DCRIX_TESTS=OFF -DCRIX_BENCH=OFF -DCRIX_FULL_DEBUG_INFO=ON
cmake --install build --prefix /usr/local >/dev/null

mkdir -p /etc/crix/crix.d /etc/cni/net.d
[ -f /etc/crix/crix.toml ] || install -m 0644 etc/crix.toml /etc/crix/crix.toml
if ! ls /etc/cni/net.d/*.conf /etc/cni/net.d/*.conflist >/dev/null 2>&1; then
  install -m 0644 packaging/cni/10-crix-bridge.conflist /etc/cni/net.d/10-crix-bridge.conflist
fi

# Restart a crixd we started before; containers survive it.
if pid=$(pgrep -x crixd); then
  kill -TERM $pid
  for _ in $(seq 100); do pgrep -x crixd >/dev/null || break; sleep 0.1; done
fi
if [ "$(cat /proc/1/comm)" = systemd ]; then
  install -m 0644 packaging/systemd/crixd.service /etc/systemd/system/crixd.service
  systemctl daemon-reload
  systemctl enable --now crixd
else
  # No systemd here: run detached, logging to /var/log/crixd.log.
  setsid /usr/local/bin/crixd </dev/null >>/var/log/crixd.log 2>&1 &
fi
for _ in $(seq 100); do [ -S /run/crix/crix.sock ] && break; sleep 0.1; done
/usr/local/bin/crixctl version
echo "crixd is serving on unix:///run/crix/crix.sock (logs: /var/log/crixd.log or journalctl -u crixd)"
