# Every target installs what it needs: node_modules from the lockfile, test binaries from the Go
# module proxy (hack/build-binaries.sh, cached under $(BIN_CACHE)).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN_CACHE ?= $(shell hack/build-binaries.sh --print-dir)
export BIN_CACHE
include hack/versions.env
KUBECTL := $(BIN_CACHE)/kubernetes-$(KUBERNETES_VERSION)/kubectl

# Each tier also writes a JSON report; `make test` closes with one line of totals.
REPORTS := .test-results
report = --reporter=default --reporter=json --outputFile.json=$(REPORTS)/$(1).json

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## install npm dependencies from the lockfile

.PHONY: tools
tools: ## system tools the tests use (openssl, ip, unshare, mount, promtool), installed if missing
	hack/ensure-tools.sh

.PHONY: binaries
binaries: ## build etcd, kube-apiserver, kubectl, kcp, kcp-front-proxy, cache-server and helm (cached)
	@# kcp: KCP_BIN_DIR (prebuilt), KCP_SOURCE_DIR (a checkout) or the module proxy with
	@# KCP_THIRD_PARTY_DIR for what it refuses; a failure names every option (README: Test binaries).
	hack/build-binaries.sh etcd kubernetes kcp helm

.PHONY: build
build: deps ## compile TypeScript to dist/
	npx tsc -p tsconfig.build.json

.PHONY: check
check: deps ## typecheck and lint
	npx tsc -p tsconfig.json --noEmit
	npx eslint .

.PHONY: crds
crds: deps ## regenerate crds/ from src/api (and the Helm chart's copies)
	npx tsx hack/gen-crds.ts
	npx tsx hack/gen-chart.ts

.PHONY: chart
chart: deps ## copy crds/ and deploy/monitoring/ into the Helm chart (deploy/helm/kcp-operator-ts)
	npx tsx hack/gen-chart.ts

.PHONY: test-unit
test-unit: deps tools binaries ## unit tests (pure code; one parses with the real kubectl)
	npx vitest run --project unit $(call report,unit)

.PHONY: test-integration
test-integration: deps tools binaries ## integration tests against a real etcd + kube-apiserver
	npx vitest run --project integration $(call report,integration)

.PHONY: test-e2e
test-e2e: deps tools binaries ## e2e tests with the real kcp binaries
	npx vitest run --project e2e $(call report,e2e)

.PHONY: test-chaos
test-chaos: deps tools binaries ## reliability under faults: kills, API outages, partitions, fuzzing, leak scan
	npx vitest run --project chaos $(call report,chaos)

.PHONY: chaos
chaos: test-chaos ## the chaos tier alone (also part of `make test`)

.PHONY: soak
soak: deps tools binaries ## benchmark, not in `make test`: both processes under churn for SOAK_MINUTES (40); writes test/bench/results/soak.md and SVGs
	nice -n 10 npx tsx test/bench/soak.bench.ts

.PHONY: test
test: ## every tier: check, unit, integration, e2e, chaos
	rm -rf $(REPORTS)
	$(MAKE) --no-print-directory check test-unit test-integration test-e2e test-chaos
	node hack/test-summary.mjs $(REPORTS)/unit.json $(REPORTS)/integration.json $(REPORTS)/e2e.json $(REPORTS)/chaos.json

.PHONY: run
run: build ## the operator against the current kubeconfig
	node dist/src/main.js

.PHONY: control-plane
control-plane: deps binaries ## a local etcd + kube-apiserver with the CRDs; prints the kubeconfig path
	npx tsx hack/control-plane.ts

.PHONY: dev
dev: deps binaries ## the embedded default: local control plane + operator + sidecar + a sample topology
	npx tsx hack/dev.ts

.PHONY: bundle
bundle: ## render deploy/ (kustomize) into one install file: dist/kcp-operator-ts.yaml
	hack/build-binaries.sh kubernetes
	mkdir -p dist
	$(KUBECTL) kustomize deploy > dist/kcp-operator-ts.yaml
	@echo "wrote dist/kcp-operator-ts.yaml"

.PHONY: image
image: ## build the container image (needs Docker; not available on the project's CI machine)
	docker build -t kcp-operator-ts:dev .

.PHONY: kind-e2e
kind-e2e: ## for users with Docker: kind cluster, image, install, samples, wait for Available
	hack/kind-e2e.sh

.PHONY: clean
clean: ## remove build output (keeps the binary cache; `rm -rf $(BIN_CACHE)` clears it)
	rm -rf dist node_modules $(REPORTS)
