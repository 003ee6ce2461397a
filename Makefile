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
# make bench BENCH_ARGS='-sessions 1,100 -only assist' (go run ./server/internal/bench/benchrun -help)
BENCH_ARGS ?=
# make bench-go BENCH=Chat BENCHTIME=5s BENCHCOUNT=3 (the in-process Go benchmarks)
BENCH      ?= .
BENCHTIME  ?= 2s
BENCHCOUNT ?= 1
BENCH_PKGS ?= ./server/internal/bench/...

.PHONY: help deps deps-postgres deps-chromium deps-npm generate check lint test test-go test-browser \
	run bench bench-quick bench-go build apps apps-host fmt clean web

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 24

# --- dependencies (scripts/install-deps.sh; idempotent, prints what it does) ---

deps: ## install everything: postgresql, chromium (Debian), npm ci; then build the browser apps
	bash scripts/install-deps.sh all
	$(MAKE) web

deps-postgres: ## install PostgreSQL server binaries unless found
	bash scripts/install-deps.sh postgres

deps-chromium: ## install Debian chromium unless /usr/bin/chromium exists
	bash scripts/install-deps.sh chromium

deps-npm: ## npm ci unless node_modules matches package-lock.json
	bash scripts/install-deps.sh npm

# --- browser apps (clients/web -> server/internal/webapp/dist/app, embedded by assistd) ---

WEB_OUT    := server/internal/webapp/dist/app
WEB_STAMP  := $(WEB_OUT)/.built
WEB_INPUTS := $(shell find clients/web/src gen/ts -type f 2>/dev/null) \
	clients/web/customer.html clients/web/console.html clients/web/vite.config.ts clients/web/tsconfig.json package-lock.json

web: deps-npm ## type-check and build the browser apps when missing or stale (tsc, vite)
	@$(MAKE) $(WEB_STAMP)

$(WEB_STAMP): $(WEB_INPUTS)
	node_modules/.bin/tsc -p clients/web
	node_modules/.bin/vite build --config clients/web/vite.config.ts --logLevel warn
	@touch $@
	@echo "web: built $(WEB_OUT)"

# --- code generation ---

generate: deps-npm ## validate.proto copy, buf generate (gen/ cleaned first), sqlc generate
	bash scripts/generate.sh

# --- checks ---

check: generate ## generate, then: no drift in gen/ and dbq/, buf lint, buf breaking, golangci-lint, buf format, gofmt, go vet, tsc
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

test: deps ## deps, then go test $(GO_TEST_FLAGS) ./... (the browser smoke test included)
	$(MAKE) test-go

test-go: ## go test $(GO_TEST_FLAGS) ./...
	go test $(GO_TEST_FLAGS) $(GO_TEST_PKGS)

# The browser smoke test is a Go test (server/internal/e2e/browser_test.go):
# it bundles clients/web/smoke/page.ts with esbuild and drives it in
# /usr/bin/chromium with playwright-core (clients/web/smoke/drive.mjs). It
# fails, never skips, when chromium or node_modules are missing.
test-browser: deps ## deps, then only the browser tests (go test -run Browser ./server/internal/e2e/)
	go test -run Browser -count=1 ./server/internal/e2e/

# --- run, bench, build ---

run: deps-postgres web apps-host ## the browser apps if stale and the customer app for this machine, then go run ./server/cmd/assistd $(ARGS)
	go run ./server/cmd/assistd $(ARGS)

# The bench builds assistd, its load client and Centrifugo (tools/centrifugo/go.mod),
# starts its own durable PostgreSQL, and prints one table; raw output in .build/bench/.
bench: deps-postgres ## the comparative bench (Assist vs Centrifugo, pgbench ceiling), about 10 min; prints one table
	go run ./server/internal/bench/benchrun $(BENCH_ARGS)

bench-quick: deps-postgres ## a subset of make bench in about 90 s (N=1 and 100, short runs)
	go run ./server/internal/bench/benchrun -quick $(BENCH_ARGS)

bench-go: deps-postgres ## in-process Go benchmarks in ./server/internal/bench/... (BENCH, BENCHTIME, BENCHCOUNT)
	@if [[ ! -d server/internal/bench ]]; then echo "bench: no server/internal/bench folder yet: no benchmarks to run" >&2; exit 1; fi
	go test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -benchmem $(BENCH_PKGS)

build: web apps ## go build -o bin/assistd ./server/cmd/assistd (with the browser apps), and the customer apps into bin/apps
	go build -o bin/assistd ./server/cmd/assistd

# The customer app (clients/customer-app), pure Go, for every platform that
# opener links serve: bin/apps/assist-customer-<goos>-<goarch>[.exe].
APP_PLATFORMS ?= windows/amd64 windows/arm64 darwin/amd64 darwin/arm64 linux/amd64 linux/arm64
APPS_DIR      ?= bin/apps

apps: ## the customer app for each of $(APP_PLATFORMS) into $(APPS_DIR)
	@for p in $(APP_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [[ $$os == windows ]] && ext=.exe; \
	  echo "customer app $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags='-s -w' -o $(APPS_DIR)/assist-customer-$$os-$$arch$$ext ./clients/customer-app; \
	done

apps-host: ## the customer app for this machine only into $(APPS_DIR) (quick)
	$(MAKE) apps APP_PLATFORMS=$$(go env GOOS)/$$(go env GOARCH)

clean: ## remove bin/ and .build/ (not node_modules, not generated code)
	rm -rf bin .build
