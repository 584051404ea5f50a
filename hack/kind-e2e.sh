#!/usr/bin/env bash
# For users with Docker (untested in this project's CI, which has no Docker engine):
# create a kind cluster, build and load the image, install with kustomize, apply the samples and
# wait for them to become Available. Needs docker, kind (go install sigs.k8s.io/kind@v0.32.0) and
# kubectl on PATH. The samples need an etcd for each shard; this script deploys a single-node etcd
# per shard Service name the samples use.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cluster=${KIND_CLUSTER:-kcp-operator-ts}
image=kcp-operator-ts:kind
samples=${SAMPLES_DIR:-$root/config/samples}
[[ -d "$samples" ]] || samples="$root/../shared/fixtures/kcp-operator-samples"

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kind-e2e: $tool is required" >&2; exit 1; }
done

kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
docker build -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"

kubectl kustomize "$root/deploy" | sed "s#image: ghcr.io/kcp-operator-ts/kcp-operator-ts:.*#image: $image#" \
  | kubectl apply --server-side -f -
kubectl -n kcp-operator-system rollout status deployment/kcp-operator --timeout=180s

for name in etcd etcd-shard; do
  kubectl -n default apply -f - <<YAML
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: $name}
spec:
  serviceName: $name
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      containers:
        - name: etcd
          image: quay.io/coreos/etcd:v3.6.16
          command: [etcd, --listen-client-urls=http://0.0.0.0:2379, --advertise-client-urls=http://$name:2379, --data-dir=/tmp/etcd]
---
apiVersion: v1
kind: Service
metadata: {name: $name}
spec: {selector: {app: $name}, ports: [{port: 2379}]}
YAML
done

# The RootShard sample asks for a cert-manager issuer; without cert-manager use the built-in PKI.
for f in "$samples"/operator.kcp.io_v1alpha1_*.yaml; do
  if [[ "$f" == *rootshard.yaml ]] && ! kubectl get crd certificates.cert-manager.io >/dev/null 2>&1; then
    sed '/certificates:/,/name: selfsigned/d' "$f" | kubectl -n default apply --server-side -f -
  else
    kubectl -n default apply --server-side -f "$f"
  fi
done
for kind in rootshard shard frontproxy; do
  kubectl -n default wait "$kind" --all --for=condition=Available --timeout=600s
done
echo "kind-e2e: the sample topology is Available on kind cluster $cluster"
