#!/usr/bin/env bash
# For users with Docker (untested in this project's CI, which has no Docker engine):
# create a kind cluster, build and load the image, install with kustomize, apply the samples and
# wait for them to become Available. Needs docker, kind (go install sigs.k8s.io/kind@v0.32.0) and
# kubectl on PATH. The samples (config/samples) bring their own single-member etcd per shard.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cluster=${KIND_CLUSTER:-kcp-operator-ts}
image=kcp-operator-ts:kind
samples=${SAMPLES_DIR:-$root/config/samples}

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kind-e2e: $tool is required" >&2; exit 1; }
done

kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
docker build -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"

kubectl kustomize "$root/deploy" | sed "s#image: ghcr.io/kcp-operator-ts/kcp-operator-ts:.*#image: $image#" \
  | kubectl apply --server-side -f -
kubectl -n kcp-operator-system rollout status deployment/kcp-operator --timeout=180s

kubectl -n default apply --server-side -f "$samples"
for kind in rootshard shard frontproxy kubeconfig; do
  kubectl -n default wait "$kind" --all --for=condition=Available --timeout=600s
done
echo "kind-e2e: the sample topology is Available on kind cluster $cluster"
