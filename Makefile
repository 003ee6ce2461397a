# Assist: build, generate, check, test. GNU make.
# Tools: buf and protoc-gen-es from npm (package.json), protoc-gen-go and
# protoc-gen-connect-go as Go tools (go.mod), sqlc as a Go tool in its own
# modfile (tools/sqlc/go.mod). `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export BUF         := node_modules/.bin/buf
# sqlc runs as: go tool -modfile=$(SQLC_MODFILE) sqlc generate -f $(SQLC_CONFIG)
export SQLC_MODFILE := tools/sqlc/go.mod
export SQLC_CONFIG  := server/internal/store/sqlc.yaml

# validate.proto comes from this version of the Go module github.com/bufbuild/protovalidate.
export PROTOVALIDATE_VERSION ?= v1.2.2

# go test flags for `make test` (e.g. make test GO_TEST_FLAGS='-count=1 -timeout 30m' to drop -race).
GO_TEST_FLAGS ?= -race -count=1 -timeout 30m
GO_TEST_PKGS  ?= ./...
# Arguments for assistd: make run ARGS='--help'
ARGS ?=
# make bench BENCH=Append BENCHTIME=5s BENCHCOUNT=3
BENCH      ?= .
BENCHTIME  ?= 2s
BENCHCOUNT ?= 1
BENCH_PKGS ?= ./server/internal/bench/...

.PHONY: help deps deps-postgres deps-chromium deps-npm generate check lint test test-go test-browser \
	run bench build fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 24

# --- dependencies (scripts/install-deps.sh; idempotent, prints what it does) ---

deps: ## install everything: postgresql, chromium (Debian), npm ci
	bash scripts/install-deps.sh all

deps-postgres: ## install PostgreSQL server binaries unless found
	bash scripts/install-deps.sh postgres

deps-chromium: ## install Debian chromium unless /usr/bin/chromium exists
	bash scripts/install-deps.sh chromium

deps-npm: ## npm ci unless node_modules matches package-lock.json
	bash scripts/install-deps.sh npm

# --- code generation ---

generate: deps-npm ## validate.proto copy, buf generate (gen/ cleaned first), sqlc generate
	bash scripts/generate.sh

# --- checks ---

check: generate ## generate, then: no drift in gen/ and dbq/, buf lint, buf format, gofmt, go vet, tsc on gen/ts
	bash scripts/check.sh

lint: deps-npm ## quick proto check: buf lint and buf format (no generation)
	bash scripts/protovalidate.sh
	$(BUF) lint
	$(BUF) format -d --exit-code

fmt: deps-npm ## format Go and proto files in place
	bash scripts/protovalidate.sh
	gofmt -w $$(find . \( -name node_modules -o -path ./.git -o -path ./.build \) -prune -o -type f -name '*.go' -print)
	$(BUF) format -w

# --- tests ---

test: deps ## deps, then Go tests, then browser tests
	$(MAKE) test-go
	$(MAKE) test-browser

test-go: ## go test $(GO_TEST_FLAGS) ./...
	go test $(GO_TEST_FLAGS) $(GO_TEST_PKGS)

# Browser tests: node's test runner over tests/browser (playwright-core driving
# /usr/bin/chromium). Says so when there are none.
test-browser: deps-chromium deps-npm ## node --test over tests/browser, if that folder exists
	@if [[ ! -d tests/browser ]]; then \
		echo "test-browser: no tests/browser folder: no browser tests to run"; \
	else \
		mapfile -t files < <(find tests/browser -name node_modules -prune -o -type f \
			\( -name '*.test.js' -o -name '*.test.mjs' -o -name '*.test.cjs' \
			   -o -name '*_test.js' -o -name '*_test.mjs' -o -name '*-test.js' -o -name '*-test.mjs' \) -print | sort); \
		if [[ $${#files[@]} -eq 0 ]]; then \
			echo "test-browser: tests/browser has no *.test.{js,mjs,cjs} / *_test.* / *-test.* files" >&2; exit 1; \
		fi; \
		echo "+ node --test $${files[*]}"; \
		node --test "$${files[@]}"; \
	fi

# --- run, bench, build ---

run: deps-postgres ## go run ./server/cmd/assistd $(ARGS)
	go run ./server/cmd/assistd $(ARGS)

bench: deps-postgres ## benchmarks in ./server/internal/bench/... (BENCH, BENCHTIME, BENCHCOUNT)
	@if [[ ! -d server/internal/bench ]]; then echo "bench: no server/internal/bench folder yet: no benchmarks to run" >&2; exit 1; fi
	go test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -benchmem $(BENCH_PKGS)

build: ## go build -o bin/assistd ./server/cmd/assistd
	go build -o bin/assistd ./server/cmd/assistd

clean: ## remove bin/ and .build/ (not node_modules, not generated code)
	rm -rf bin .build
