# rida — run `make help` for the targets.
SHELL := /bin/sh
GO := $(shell ./scripts/ensure-go.sh)
STATICCHECK := $(GO) tool -modfile=tools/go.mod staticcheck
BENCHSTAT := $(GO) tool -modfile=tools/go.mod benchstat
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/rida-build/rida.Version=$(VERSION)
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install missing system packages (git, rpm, createrepo-c, gcc) with apt-get
	@missing=""; \
	command -v git >/dev/null 2>&1 || missing="$$missing git"; \
	command -v rpmbuild >/dev/null 2>&1 || missing="$$missing rpm"; \
	command -v createrepo_c >/dev/null 2>&1 || missing="$$missing createrepo-c"; \
	command -v gcc >/dev/null 2>&1 || missing="$$missing gcc"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

.PHONY: build
build: ## Build bin/rida
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/rida ./cmd/rida

.PHONY: run
run: deps build ## Serve the API on 127.0.0.1:8080 with SQLite in ./rida.db
	./bin/rida serve

.PHONY: test
test: deps ## Run vet and every test with the race detector
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

.PHONY: test-short
test-short: ## Run the tests without the race detector, skipping slow ones
	$(GO) test -short ./...

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@unformatted="$$($(dir $(GO))gofmt -l . 2>/dev/null || gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

.PHONY: tidy-check
tidy-check: ## Fail when go mod tidy would change go.mod or go.sum
	cp go.mod go.mod.orig && cp go.sum go.sum.orig
	$(GO) mod tidy
	@if ! cmp -s go.mod go.mod.orig || ! cmp -s go.sum go.sum.orig; then \
		diff -u go.mod.orig go.mod; mv go.mod.orig go.mod; mv go.sum.orig go.sum; \
		echo "go.mod/go.sum are not tidy: run go mod tidy and commit"; exit 1; \
	fi
	rm -f go.mod.orig go.sum.orig

.PHONY: bench
bench: ## Run the benchmarks (6 rounds) and summarise them with benchstat
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench/latest.txt
	$(BENCHSTAT) bench/latest.txt

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s)
	@for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
		done; \
	done

.PHONY: clean
clean: ## Remove build outputs
	rm -rf bin
