#!/usr/bin/env bash
# Builds the third-party test binaries (etcd, kube-apiserver, kubectl, kcp, kcp-front-proxy,
# cache-server, virtual-workspaces, helm) from the Go module proxy, through wrapper modules generated here at build time.
# The one module the proxy refuses is committed unmodified under third_party/. Idempotent: a binary already in the cache costs nothing.
# Safe to interrupt: each build runs in a scratch directory and is moved into place atomically.
#
#   hack/build-binaries.sh [etcd|kubernetes|kcp|helm ...]   (default: all)
#   hack/build-binaries.sh --print-dir                 prints the cache directory and exits
#
# Output: $BIN_CACHE/<component>-<version>/<binary>; BIN_CACHE defaults to
# ${XDG_CACHE_HOME:-$HOME/.cache}/kcp-operator-ts/bin.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
BIN_CACHE=${BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kcp-operator-ts/bin}

on_die=
die() { echo "build-binaries: $*" >&2; if [[ -n "$on_die" ]]; then "$on_die"; fi; exit 1; }
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

# Where kcp comes from, first match wins:
#   KCP_BIN_DIR=<dir>     already-built kcp, kcp-front-proxy, cache-server, virtual-workspaces: linked
#   KCP_SOURCE_DIR=<dir>  a kcp checkout (at $KCP_VERSION): built with its own go.mod
#   the Go module proxy   through a wrapper module; a kcp-dev staging module the proxy refuses
#                         is taken from $KCP_THIRD_PARTY_DIR/kcp-dev/<module>-$KCP_VERSION
#                         (default: this repository's third_party/)
# virtual-workspaces is kcp's standalone virtual-workspace server (the kcp image's
# /virtual-workspaces, run by a VirtualWorkspace). A cache dir from before it was added lacks it
# and so counts as incomplete: the next run builds the set again.
KCP_BINS=(kcp kcp-front-proxy cache-server virtual-workspaces)

kcp_options_hint() {
  cat >&2 <<EOF
build-binaries: kcp $KCP_VERSION can be supplied in any of these ways:
  KCP_BIN_DIR=/path/to/bin        a directory holding ${KCP_BINS[*]} $KCP_VERSION
  KCP_SOURCE_DIR=/path/to/kcp     a kcp checkout at tag $KCP_VERSION (built with its own go.mod)
  KCP_THIRD_PARTY_DIR=/path       a folder holding kcp-dev/<module>-$KCP_VERSION/ for each kcp-dev
                                  module the Go module proxy refuses (virtual-workspace-framework)
  GOPROXY=...                     a module proxy that serves every module kcp $KCP_VERSION needs
EOF
}

link_kcp_bins() {
  local src=$1 dest="$BIN_CACHE/kcp-$KCP_VERSION" b
  for b in "${KCP_BINS[@]}"; do
    [[ -x "$src/$b" ]] || die "KCP_BIN_DIR=$src has no executable $b"
  done
  mkdir -p "$dest"
  for b in "${KCP_BINS[@]}"; do ln -sfn "$(cd "$src" && pwd)/$b" "$dest/$b"; done
  log "kcp $KCP_VERSION: using the binaries in $src"
}

build_kcp_from_source() {
  local src=$1 ldflags=$2 dest="$BIN_CACHE/kcp-$KCP_VERSION" b missing=0
  grep -qs '^module github.com/kcp-dev/kcp$' "$src/go.mod" \
    || die "KCP_SOURCE_DIR=$src is not a kcp checkout (no go.mod for github.com/kcp-dev/kcp)"
  for b in "${KCP_BINS[@]}"; do [[ -x "$dest/$b" ]] || missing=1; done
  if (( !missing )); then log "kcp $KCP_VERSION: cached in $dest"; return 0; fi
  local work="$BIN_CACHE/.work/kcp-$KCP_VERSION"
  rm -rf "$work" && mkdir -p "$work"
  for b in "${KCP_BINS[@]}"; do
    local t0=$SECONDS
    log "kcp $KCP_VERSION: building $b from $src"
    (cd "$src" && GOFLAGS= go build -trimpath -ldflags "$ldflags" -o "$work/$b" "./cmd/$b") \
      || die "kcp $KCP_VERSION: go build ./cmd/$b in $src failed"
    log "kcp $KCP_VERSION: built $b in $((SECONDS - t0))s"
  done
  mkdir -p "$dest"
  for b in "${KCP_BINS[@]}"; do mv -f "$work/$b" "$dest/$b"; done
  rm -rf "$work"
}

# Reads replace lines on stdin; each kcp-dev staging module the proxy refuses is pointed at its
# copy under KCP_THIRD_PARTY_DIR when there is one. Other lines pass unchanged.
kcp_local_staging() {
  local line from to ver dir tp=${KCP_THIRD_PARTY_DIR:-$here/../third_party}
  while IFS= read -r line; do
    [[ -z "$line" ]] && continue
    read -r from _ to ver <<<"$line"
    if [[ "$from" == github.com/kcp-dev/* && "$to" == "$from" ]] \
      && ! (cd "$scratch" && go mod download "$from@$ver" >/dev/null 2>&1); then
      dir="$tp/kcp-dev/${from##*/}-$KCP_VERSION"
      if [[ -f "$dir/go.mod" ]]; then
        dir=$(cd "$dir" && pwd)
        log "kcp $KCP_VERSION: the module proxy refuses $from@$ver; using $dir"
        echo "$from => $dir"
        continue
      fi
      log "kcp $KCP_VERSION: the module proxy refuses $from@$ver and there is no copy at $dir"
    fi
    echo "$line"
  done
}

build_kcp() {
  local json kube ldflags="-s -w" p src=${KCP_SOURCE_DIR:-}
  on_die=kcp_options_hint
  if [[ -n "${KCP_BIN_DIR:-}" ]]; then link_kcp_bins "$KCP_BIN_DIR"; on_die=; return 0; fi
  # Links left by an earlier KCP_BIN_DIR are not a build: without that variable, build for real.
  for p in "${KCP_BINS[@]}"; do
    if [[ -L "$BIN_CACHE/kcp-$KCP_VERSION/$p" ]]; then rm -f "$BIN_CACHE/kcp-$KCP_VERSION/$p"; fi
  done
  local cached=1
  for p in "${KCP_BINS[@]}"; do [[ -x "$BIN_CACHE/kcp-$KCP_VERSION/$p" ]] || cached=0; done
  if (( cached )); then log "kcp $KCP_VERSION: cached in $BIN_CACHE/kcp-$KCP_VERSION"; on_die=; return 0; fi
  if [[ -n "$src" ]]; then
    kube=$(sed -n 's/^[[:space:]]*k8s.io\/component-base v\(0\.[0-9]*\.[0-9]*\).*/\1/p' "$src/go.mod" | head -n1)
  else
    json=$(upstream_gomod_json github.com/kcp-dev/kcp "$KCP_VERSION")
    echo "$json" >"$scratch/kcp.json"
    kube=$(sed -n 's/^[[:space:]]*k8s.io\/component-base v\(0\.[0-9]*\.[0-9]*\).*/\1/p' "$scratch/upstream.mod" | head -n1)
  fi
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=v1.${kube#0.}+kcp-$KCP_VERSION -X $p.gitTreeState=clean"
  done
  # kcp-dev pseudo-versions (the k8s fork, embeddedetcd) are not in the checksum database
  # (sumdb answers 404), so their hashes come from the proxy download alone.
  export GONOSUMDB=${GONOSUMDB:+$GONOSUMDB,}github.com/kcp-dev
  if [[ -n "$src" ]]; then build_kcp_from_source "$src" "$ldflags"; on_die=; return 0; fi
  local replaces
  replaces=$(node "$here/lib/replaces.mjs" kcp "$scratch/kcp.json" "$KCP_VERSION" | kcp_local_staging)
  GODEBUG_LINE=$(grep -m1 '^godebug' "$scratch/upstream.mod" || true) \
  build kcp "$KCP_VERSION" github.com/kcp-dev/kcp "$GO_MIN_VERSION" "$replaces" "$ldflags" \
    "github.com/kcp-dev/kcp/cmd/kcp:kcp" "github.com/kcp-dev/kcp/cmd/kcp-front-proxy:kcp-front-proxy" \
    "github.com/kcp-dev/kcp/cmd/cache-server:cache-server" \
    "github.com/kcp-dev/kcp/cmd/virtual-workspaces:virtual-workspaces"
  on_die=
}

# helm renders and lints the chart in deploy/helm (tests only; the operator never runs it).
# The ldflags mirror helm's own Makefile: its version, and the Kubernetes version it assumes for
# .Capabilities.KubeVersion and `helm lint`, taken from the client-go it is built against.
build_helm() {
  local json kube p
  # Cached: done, without asking the module proxy for helm's go.mod (works offline).
  if [[ -x "$BIN_CACHE/helm-$HELM_VERSION/helm" ]]; then log "helm $HELM_VERSION: cached in $BIN_CACHE/helm-$HELM_VERSION"; return 0; fi
  json=$(upstream_gomod_json helm.sh/helm/v3 "$HELM_VERSION")
  kube=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$scratch/upstream.mod" | head -n1)
  [[ -n "$kube" ]] || die "helm $HELM_VERSION: no k8s.io/client-go requirement in its go.mod"
  local v=helm.sh/helm/v3/internal/version ldflags="-s -w"
  ldflags+=" -X $v.version=$HELM_VERSION -X $v.metadata= -X $v.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$kube"
  done
  GODEBUG_LINE=$(grep -m1 '^godebug' "$scratch/upstream.mod" || true) \
  build helm "$HELM_VERSION" helm.sh/helm/v3 "$GO_MIN_VERSION" "" "$ldflags" \
    "helm.sh/helm/v3/cmd/helm:helm"
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
targets=("$@")
(( ${#targets[@]} )) || targets=(etcd kubernetes kcp helm)
for t in "${targets[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kubernetes) build_kubernetes ;;
    kcp) build_kcp ;;
    helm) build_helm ;;
    *) die "unknown component '$t' (want etcd, kubernetes, kcp or helm)" ;;
  esac
done
