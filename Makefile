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
# The checksum database does not answer for these modules; their sums are
# committed in go.sum, so nothing is looked up, but a new dependency needs it.
export GONOSUMDB := sigs.k8s.io/secrets-store-csi-driver,github.com/flant,github.com/deckhouse/module-sdk,github.com/deckhouse/deckhouse
GO_TEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: all demo test test-servers test-tools vet fmt-check bench bench-controller bench-injector bench-webhook

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

# The webhook's admission latency through the real API server.
bench-webhook: test-servers
	cd test && go run ./cmd/bench-webhook

vet:
	for m in $(MODULES); do (cd $$m && go vet ./...); done

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: test-servers test-tools fmt-check vet
	for m in $(MODULES); do (cd $$m && go test $(GO_TEST_FLAGS) ./...); done
