# vigil — a containerd shim that starts every container hardened and watched.
SHELL := /bin/bash
GO ?= go
BIN := bin
CLANG ?= clang-14
GOTEST_FLAGS ?= -count=1 -timeout 45m

.PHONY: help build test unit e2e demo bench lint generate check-generate deps clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

deps: ## Install the Debian packages builds and tests need (root)
	@./test/deps.sh

build: ## Build containerd-shim-vigil-v2 and vigil into bin/
	$(GO) build -o $(BIN)/ ./cmd/containerd-shim-vigil-v2 ./cmd/vigil

# The kernel tests of monitor/ and profiles/ run containers with runc
# directly; the e2e tests build their own tools through test/harness.
VIGIL_CACHE ?= /var/cache/vigil
VIGIL_RUNC ?= $(VIGIL_CACHE)/runc-test
export VIGIL_CACHE VIGIL_RUNC

test: deps ## Run every test: unit, kernel and end-to-end against a private containerd (root)
	$(GO) vet ./...
	@mkdir -p $(dir $(VIGIL_RUNC))
	$(GO) build -tags seccomp -o $(VIGIL_RUNC) github.com/opencontainers/runc
	$(GO) test $(GOTEST_FLAGS) ./...

unit: ## Run the tests that need neither root nor containerd
	$(GO) test -count=1 -short ./...

demo: deps build ## Run vigil for real: private containerd, a hardened container, an attack stopped
	$(GO) run ./test/demo

bench: deps ## Benchmarks as ratios against the stock runc shim, measured in the same run
	$(GO) run ./test/bench

lint: ## go vet, gofmt and go mod tidy --diff
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfel.go$$'))" || { gofmt -l .; exit 1; }
	$(GO) mod tidy -diff

generate: ## Regenerate the eBPF objects (needs clang-14)
	$(GO) generate ./monitor/...

check-generate: generate ## Fail when the committed eBPF objects are stale
	@git diff --exit-code -- monitor/ || { echo "generated eBPF objects are stale: run make generate and commit"; exit 1; }

clean: ## Remove build output
	rm -rf $(BIN)
