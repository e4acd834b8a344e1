#!/usr/bin/env bash
# Installs everything crix needs to build, test and run on Debian 12.
# Idempotent: packages already present are left alone, apt-get update runs
# only when something is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git clang-format
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libsqlite3-dev nlohmann-json3-dev libtomlplusplus-dev
  libcurl4-openssl-dev libarchive-dev libssl-dev libisal-dev libzstd-dev
  libcli11-dev libexpected-dev libboost-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev
  # runtime parts: monitor, OCI runtimes, CNI plugins (crun and runsc for
  # the runtime handler tests: gVisor pods, crun's cgroup check)
  conmon runc crun runsc containernetworking-plugins iproute2 procps
  # test images: local registry and what tests/images/push-test-images.sh uses
  # (the dynamic busybox, which conflicts with busybox-static, it downloads)
  docker-registry busybox-static curl jq zstd attr
  # the systemd cgroup driver's test boots a Debian root under systemd-nspawn
  debootstrap systemd-container
  # checkpoint/restore: crixd asks `criu check` whether CRIU can run here
  criu
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
