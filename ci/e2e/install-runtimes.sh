#!/usr/bin/env bash
# Installs the container runtimes the end-to-end suites (test/e2e/) drive: podman 4 with the
# CNI backend and runc, containerd 1.6 (with ctr) for the CRI suite, busybox-static for the
# images the suites build locally, and the kernel tools the suites observe with. Only Debian's
# apt is used: the suites build every image they need, nothing is pulled from a registry.
# Idempotent: packages already installed are not touched. Needs root (CI runs as root).
# `.ci/run` must call this before `npm run test:e2e`; without the runtimes the e2e files skip.
set -euo pipefail

packages=(
  podman                       # 4.3.x on Debian 12; CNI backend is selected per run in containers.conf
  runc                         # crun 1.8.1 refuses this machine's hybrid cgroup layout
  conmon                       # podman's container monitor (a Depends, listed for clarity)
  golang-github-containers-common  # containers.conf defaults and seccomp.json
  containerd                   # 1.6.x, ships ctr; the CRI plugin is built in
  busybox-static               # one static binary = the whole rootfs of the test images
  containernetworking-plugins  # Debian's reference plugins: the harness's known-good baseline
  iproute2 iptables nftables   # observing veths, bridges and NAT rules
  tar ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-runtimes: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-runtimes: missing ${missing[*]}; run as root (sudo) to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps slirp4netns, fuse-overlayfs, crun, dbus-user-session etc. out:
# the suites run rootful with cgroupfs and native overlay and need none of them.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts containerd.service on install; the suites run a private containerd on their own
# socket and never use the system one, so stop it when systemd is running to free memory and
# avoid two instances sharing /var/lib/containerd by accident.
if [ -d /run/systemd/system ]; then
  systemctl disable --now containerd.service >/dev/null 2>&1 || true
fi
echo "install-runtimes: installed ${missing[*]}"
