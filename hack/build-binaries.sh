#!/usr/bin/env bash
# Builds the third-party test binaries (etcd, kube-apiserver, kubectl, kcp, kcp-front-proxy,
# cache-server) from the Go module proxy, through wrapper modules generated here at build time.
# No third-party source is committed. Idempotent: a binary already in the cache costs nothing.
# Safe to interrupt: each build runs in a scratch directory and is moved into place atomically.
#
#   hack/build-binaries.sh [etcd|kubernetes|kcp ...]   (default: all)
#   hack/build-binaries.sh --print-dir                 prints the cache directory and exits
#
# Output: $BIN_CACHE/<component>-<version>/<binary>; BIN_CACHE defaults to
# ${XDG_CACHE_HOME:-$HOME/.cache}/kcp-operator-ts/bin.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
BIN_CACHE=${BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kcp-operator-ts/bin}

die() { echo "build-binaries: $*" >&2; exit 1; }
log() { echo "build-binaries: $*" >&2; }

if [[ "${1:-}" == "--print-dir" ]]; then echo "$BIN_CACHE"; exit 0; fi

command -v go >/dev/null 2>&1 || die "Go is not installed (need go >= $GO_MIN_VERSION on PATH). On Debian: install Go from go.dev or the golang package."
command -v node >/dev/null 2>&1 || die "node is not installed (needed to derive replace directives)."
gover=$(go env GOVERSION | sed 's/^go//')
if [[ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$gover" | sort -V | head -n1)" != "$GO_MIN_VERSION" ]]; then
  die "go $gover is too old: kcp $KCP_VERSION needs go >= $GO_MIN_VERSION"
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$BIN_CACHE"

# upstream_gomod_json MODULE VERSION: the module's go.mod as the proxy serves it, as JSON.
upstream_gomod_json() {
  local info gomod
  info=$(cd "$scratch" && go mod download -json "$1@$2") \
    || die "the Go module proxy ($(go env GOPROXY)) could not supply $1@$2"
  gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$info")
  [[ -f "$gomod" ]] || die "no go.mod for $1@$2 in the module cache"
  cp "$gomod" "$scratch/upstream.mod"
  go mod edit -json "$scratch/upstream.mod"
}

# build COMPONENT VERSION MODULE GOVERSION REPLACES LDFLAGS PKG:BIN...
build() {
  local component=$1 version=$2 module=$3 goversion=$4 replaces=$5 ldflags=$6
  shift 6
  local dest="$BIN_CACHE/$component-$version" missing=0 spec
  for spec in "$@"; do [[ -x "$dest/${spec##*:}" ]] || missing=1; done
  if (( !missing )); then log "$component $version: cached in $dest"; return 0; fi

  local work="$BIN_CACHE/.work/$component-$version"
  rm -rf "$work" && mkdir -p "$work/out"
  {
    echo "module kcp-operator-ts.local/testbin/$component"
    echo
    echo "go $goversion"
    [[ -n "${GODEBUG_LINE:-}" ]] && echo "$GODEBUG_LINE"
    echo
    echo "require $module $version"
    echo
    echo "tool ("
    for spec in "$@"; do echo "	${spec%%:*}"; done
    echo ")"
    if [[ -n "$replaces" ]]; then
      echo
      echo "replace ("
      sed 's/^/	/' <<<"$replaces"
      echo ")"
    fi
  } >"$work/go.mod"
  log "$component $version: resolving modules"
  if ! (cd "$work" && go mod tidy >"$work/tidy.log" 2>&1); then
    # Record why, so tests that need this binary can say so when they skip.
    grep -E 'Forbidden|Not Found|not available|unknown revision|invalid version' "$work/tidy.log" \
      | sed 's/^[[:space:]]*//' | sort -u >"$BIN_CACHE/$component-$version.unavailable" || true
    tail -n 30 "$work/tidy.log" >&2
    die "$component $version: the module proxy could not supply every module (see $BIN_CACHE/$component-$version.unavailable; full log: $work/tidy.log)"
  fi
  rm -f "$BIN_CACHE/$component-$version.unavailable"
  for spec in "$@"; do
    local pkg=${spec%%:*} bin=${spec##*:} t0=$SECONDS
    log "$component $version: building $bin"
    (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "out/$bin" "$pkg") \
      || die "$component $version: go build $pkg failed"
    log "$component $version: built $bin in $((SECONDS - t0))s"
  done
  mkdir -p "$dest"
  for spec in "$@"; do mv -f "$work/out/${spec##*:}" "$dest/${spec##*:}"; done
  rm -rf "$work"
}

build_etcd() {
  GODEBUG_LINE='' build etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "$GO_MIN_VERSION" "" \
    "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-proxy" \
    "go.etcd.io/etcd/server/v3:etcd"
}

build_kubernetes() {
  local json minor
  json=$(upstream_gomod_json k8s.io/kubernetes "$KUBERNETES_VERSION")
  echo "$json" >"$scratch/kubernetes.json"
  minor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")
  local v=k8s.io/component-base/version
  GODEBUG_LINE=$(grep -m1 '^godebug' "$scratch/upstream.mod" || true) \
  build kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes "$GO_MIN_VERSION" \
    "$(node "$here/lib/replaces.mjs" kubernetes "$scratch/kubernetes.json" "$KUBERNETES_VERSION")" \
    "-s -w -X $v.gitVersion=$KUBERNETES_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
    "k8s.io/kubernetes/cmd/kube-apiserver:kube-apiserver" "k8s.io/kubernetes/cmd/kubectl:kubectl"
}

build_kcp() {
  local json kube ldflags="-s -w" p
  json=$(upstream_gomod_json github.com/kcp-dev/kcp "$KCP_VERSION")
  echo "$json" >"$scratch/kcp.json"
  kube=$(sed -n 's/^[[:space:]]*k8s.io\/component-base v\(0\.[0-9]*\.[0-9]*\).*/\1/p' "$scratch/upstream.mod" | head -n1)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=v1.${kube#0.}+kcp-$KCP_VERSION -X $p.gitTreeState=clean"
  done
  # kcp-dev pseudo-versions (the k8s fork, embeddedetcd) are not in the checksum database
  # (sumdb answers 404), so their hashes come from the proxy download alone.
  GONOSUMDB=${GONOSUMDB:+$GONOSUMDB,}github.com/kcp-dev \
  GODEBUG_LINE=$(grep -m1 '^godebug' "$scratch/upstream.mod" || true) \
  build kcp "$KCP_VERSION" github.com/kcp-dev/kcp "$GO_MIN_VERSION" \
    "$(node "$here/lib/replaces.mjs" kcp "$scratch/kcp.json" "$KCP_VERSION")" "$ldflags" \
    "github.com/kcp-dev/kcp/cmd/kcp:kcp" "github.com/kcp-dev/kcp/cmd/kcp-front-proxy:kcp-front-proxy" \
    "github.com/kcp-dev/kcp/cmd/cache-server:cache-server"
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
targets=("$@")
(( ${#targets[@]} )) || targets=(etcd kubernetes kcp)
for t in "${targets[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kubernetes) build_kubernetes ;;
    kcp) build_kcp ;;
    *) die "unknown component '$t' (want etcd, kubernetes or kcp)" ;;
  esac
done
