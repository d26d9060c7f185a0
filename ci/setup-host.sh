#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for crosscni: the kernel tools the tests observe with
# (iproute2, nftables, iptables), Debian's reference CNI plugins for the side-by-side tests
# (/usr/lib/cni), ping for the demo, a C compiler for the HCN emulator library, and the npm
# dependencies. Idempotent; needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(iproute2 iptables nftables containernetworking-plugins iputils-ping gcc libc6-dev kmod)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host: missing packages ${missing[*]}; run as root (sudo) to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The runtimes for the end-to-end suites (podman, containerd, runc, busybox-static).
bash ci/e2e/install-runtimes.sh

# koffi and netlink ship prebuilt native modules inside their npm packages, so a clean
# `npm ci` works even though npm 11 does not run install scripts by default.
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
