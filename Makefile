# Two commands set everything up on a fresh machine with Go and make:
#   make demo   start a real kube-apiserver, etcd and Vault, read a secret
#               through Kubernetes auth, then deliver it as files through the
#               module's CSI driver and Vault provider; print, rotate, stop
#   make test   every unit and integration test
# The test servers are built once from the Go module proxy and cached under
# ~/.cache/secrets-store-integration (keyed by version).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
MODULES := hooks images test
# Outside go.work: the settings schema tests link addon-operator's validator,
# whose logging library cannot share a build with module-sdk's (hooks/settings/doc.go).
SOLO_MODULES := hooks/settings
# The checksum database does not answer for these modules; their sums are
# committed in go.sum, so nothing is looked up, but a new dependency needs it.
export GONOSUMDB := sigs.k8s.io/secrets-store-csi-driver,github.com/flant,github.com/deckhouse/module-sdk,github.com/deckhouse/deckhouse,github.com/sylabs
GO_TEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: all demo test test-servers test-tools vet fmt-check fuzz bench bench-controller bench-injector bench-webhook bench-startup bench-node bench-cluster
.PHONY: bench-nri
.PHONY: docs docs-build docs-tools bench-charts
.PHONY: generate

all: test

test-servers:
	test/tools/build.sh

# promtool runs the alert rules' unit tests (test/integration/monitoring); it
# comes from Debian's prometheus package: 19 MB, 11 to 20 s on a new machine.
test-tools:
	@command -v promtool >/dev/null || { \
		start=$$SECONDS; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
		echo "installed promtool in $$((SECONDS - start)) s"; }
	@$(MAKE) --no-print-directory docs-tools
	@command -v chromium >/dev/null || { \
		start=$$SECONDS; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
		echo "installed chromium in $$((SECONDS - start)) s"; }

# The documentation site (test/docsite): Debian's hugo builds docs/ with the
# layout kept in test/docsite/layout; nothing is downloaded at build time.
# The browser test (test/integration/docsite) also needs Debian's chromium.
docs-tools:
	@command -v hugo >/dev/null || { \
		start=$$SECONDS; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hugo >/dev/null; \
		echo "installed hugo in $$((SECONDS - start)) s"; }

# Builds the site and serves it on localhost (DOCS_LISTEN); prints the address.
DOCS_LISTEN ?= 127.0.0.1:1313
docs: docs-tools
	cd test && go run ./cmd/docsite -listen $(DOCS_LISTEN)

# Builds the site into DOCS_OUT/public (default: $$TMPDIR/secrets-store-integration-docs)
# without serving it.
docs-build: docs-tools
	cd test && go run ./cmd/docsite -listen '' $(if $(DOCS_OUT),-out $(DOCS_OUT))

demo: test-servers
	cd test && go run ./cmd/demo

# Publishes volumes through the CSI driver and the Vault provider and prints
# latency, store requests and memory (docs/BENCHMARKS.md). Needs root (tmpfs).
bench: test-servers
	cd test && go run ./cmd/bench-csi

# Syncs 200 KubernetesSecret imports through the controller and prints
# reconciles and store requests per refresh interval (docs/BENCHMARKS.md).
bench-controller: test-servers
	cd test && go run ./cmd/bench-controller

# The env injector's size and its start-up time with a local Vault.
bench-injector: test-servers
	cd test && go run ./cmd/bench-injector

# The env injector's start-up: store requests per start (counted through a
# proxy), time, peak RSS and binary size; OTHER_INJECTOR, a binary of the
# existing module's injector, runs start for start with ours
# (docs/BENCHMARKS.md). Writes docs/benchmarks/startup.json for the charts.
OTHER_INJECTOR ?=
bench-startup: test-servers
	mkdir -p docs/benchmarks
	cd test && go run ./cmd/bench-startup $(if $(OTHER_INJECTOR),-other $(OTHER_INJECTOR)) -json ../docs/benchmarks/startup.json

# A full node: 1,000 volumes (1, 10, 100 files; 50 identities; certificates)
# kept published with rotation on, over 3 rotation sweeps: RSS, CPU seconds,
# store reads per sweep against one per identity and object, new pods'
# publish p99 during a sweep (docs/BENCHMARKS.md). Needs root (tmpfs); scale
# down with NODE_FLAGS='-volumes 200 -service-accounts 10'. Writes
# docs/benchmarks/node.json for the charts.
NODE_FLAGS ?=
bench-node: test-servers
	mkdir -p docs/benchmarks
	cd test && go run ./cmd/bench-node $(NODE_FLAGS) -json ../docs/benchmarks/node.json

# A large cluster: the controller with 10,000 KubernetesSecret imports over
# 500 namespaces (docs/BENCHMARKS.md); scale down with
# CLUSTER_FLAGS='-imports 2000 -namespaces 100 -service-accounts 2 -refresh 60s -intervals 2'.
# Writes docs/benchmarks/cluster.json for the charts.
CLUSTER_FLAGS ?= -imports 10000 -namespaces 500 -service-accounts 2 -refresh 120s -intervals 2 -restart -timeout 90m
bench-cluster: test-servers
	mkdir -p docs/benchmarks
	cd test && go run ./cmd/bench-controller $(CLUSTER_FLAGS) -json ../docs/benchmarks/cluster.json

# One slow namespace's effect on the others: the same imports without and
# with a tenant (-slow-imports, its own namespace) whose store never answers
# in time (docs/BENCHMARKS.md). Writes docs/benchmarks/cluster-with*-slow-tenant.json.
.PHONY: bench-slow-tenant
SLOW_TENANT_FLAGS ?= -imports 1000 -namespaces 50 -service-accounts 2 -refresh 30s -intervals 1
bench-slow-tenant: test-servers
	mkdir -p docs/benchmarks
	cd test && go run ./cmd/bench-controller $(SLOW_TENANT_FLAGS) -json ../docs/benchmarks/cluster-without-slow-tenant.json
	cd test && go run ./cmd/bench-controller $(SLOW_TENANT_FLAGS) -slow-imports 20 -json ../docs/benchmarks/cluster-with-slow-tenant.json

# The webhook's admission latency through the real API server.
bench-webhook: test-servers
	cd test && go run ./cmd/bench-webhook

# Container creation through a real containerd and runc with and without the
# NRI plugin (0, 1 and 10 references; NRI_FLAGS, e.g. -runs 100). As root.
# Writes docs/benchmarks/nri.json.
bench-nri: test-servers
	mkdir -p docs/benchmarks
	cd test && go run ./cmd/bench-nri $(NRI_FLAGS) -json ../docs/benchmarks/nri.json

# Draws docs/images/bench-*.svg from the result tables in docs/BENCHMARKS.md
# (or BENCH_RESULTS: the -out files of the bench commands, comma-separated)
# and from the -json results in docs/benchmarks.
bench-charts:
	cd test && go run ./cmd/bench-charts $(if $(BENCH_RESULTS),-in $(BENCH_RESULTS))

# Every parser of untrusted input, and the CSI volume writer, has a fuzz
# target. `make test` runs each for FUZZTIME=5000x, a count of inputs
# (about a minute in all): Go 1.26's fuzzing coordinator can fail a target
# with a bare "context deadline exceeded" when a duration runs out while a
# worker is busy (golang/go#75804, fixed in Go 1.27), which a count never
# does. `make fuzz FUZZTIME=10m` runs them longer. A failing input is written
# to the package's testdata/fuzz and then replays in every `go test`.
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	images/internal/params:FuzzParse \
	images/internal/envref:FuzzParse \
	images/internal/injection:FuzzFromAnnotations \
	images/internal/injection:FuzzFromEnv \
	images/webhook/internal/mutate:FuzzPatch \
	images/webhook/internal/mutate:FuzzPatchContainerd \
	images/internal/secretdata:FuzzParse \
	images/csi-driver/internal/atomicwriter:FuzzWriter

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		dir=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz: $$dir $$name for $(FUZZTIME)"; \
		(cd $${dir%%/*} && go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$${dir#*/}) || exit 1; \
	done

# crds/secrets-store-import.yaml and images/api/v1alpha1/zz_generated.deepcopy.go
# from the Go types, with the controller-gen pinned in test/tools/controller-gen
# (test/integration/foundation fails when they differ from what it generates).
generate:
	test/tools/controller-gen/generate.sh

vet:
	for m in $(MODULES); do (cd $$m && go vet ./...); done
	for m in $(SOLO_MODULES); do (cd $$m && GOWORK=off go vet ./...); done

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: test-servers test-tools fmt-check vet
	for m in $(MODULES); do (cd $$m && go test $(GO_TEST_FLAGS) ./...); done
	for m in $(SOLO_MODULES); do (cd $$m && GOWORK=off go test $(GO_TEST_FLAGS) ./...); done
	$(MAKE) --no-print-directory fuzz FUZZTIME=5000x
