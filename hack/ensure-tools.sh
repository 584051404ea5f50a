#!/usr/bin/env bash
# Makes sure the system tools the tests use are there, installing Debian packages if not:
# openssl (certificates are checked with `openssl verify`), iproute2 (`ip`: the pod runner's network
# namespaces), util-linux (`unshare`), mount (bind mounts) and prometheus (`promtool`: the alert
# rules' checks and unit tests). Needs root and apt-get to install.
set -euo pipefail

declare -A pkg=([openssl]=openssl [ip]=iproute2 [unshare]=util-linux [mount]=mount [promtool]=prometheus)
missing=()
for tool in "${!pkg[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg[$tool]}")
done
(( ${#missing[@]} )) || exit 0

echo "ensure-tools: installing ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) and run again" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
