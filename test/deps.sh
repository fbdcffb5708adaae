#!/usr/bin/env bash
# Installs the Debian packages vigil's build, tests and demo need. Idempotent:
# it only calls apt when something is missing.
set -euo pipefail
pkgs=(libseccomp-dev clang-14 llvm busybox-static apparmor bpftool libbpf-dev iproute2 pkg-config qemu-system-x86)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root, or install them)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
