#!/usr/bin/env bash
# The checks of `make check`, run after `make generate`. Runs every check, then
# fails if any failed (so one run shows all problems).
#   1. no drift: generated code (gen/, server/internal/store/dbq) is committed as generated
#   2. buf lint (STANDARD, see buf.yaml)
#   3. buf format -d --exit-code
#   4. gofmt -l over the repo's Go files is empty
#   5. go vet ./...
#   6. the generated TypeScript type-checks (tsc --noEmit), imports included,
#      and so do the smoke page and the browser apps (clients/web)
#   7. buf breaking against the previous commit's contract (scripts/breaking.sh)
#   8. golangci-lint (pinned in tools/golangci-lint/go.mod; .golangci.yml)
set -uo pipefail

cd "$(dirname "$0")/.."

BUF="${BUF:-node_modules/.bin/buf}"
TSC="${TSC:-node_modules/.bin/tsc}"
GENERATED=(gen server/internal/store/dbq)

failed=()
step() { printf '\n== check: %s\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }
fail() { printf 'FAIL: %s\n' "$1"; failed+=("$1"); }

step "generated code matches the committed code (${GENERATED[*]})"
drift="$(git status --porcelain --untracked-files=all -- "${GENERATED[@]}")"
if [[ -n "$drift" ]]; then
  printf '%s\n' "$drift"
  git --no-pager diff --stat -- "${GENERATED[@]}"
  git --no-pager diff -- "${GENERATED[@]}" | head -n 400
  echo "Generated code differs from what is committed: run 'make generate' and commit gen/ and server/internal/store/dbq."
  fail "drift in generated code"
else
  echo "ok"
fi

step "buf lint"
run "$BUF" lint || fail "buf lint"

step "buf breaking: the contract stays compatible with the previous commit's"
run bash scripts/breaking.sh || fail "buf breaking (a change to the contract breaks clients: make it additive)"

step "golangci-lint (tools/golangci-lint/go.mod, .golangci.yml)"
run go tool -modfile=tools/golangci-lint/go.mod golangci-lint run ./... || fail "golangci-lint"

step "buf format"
run "$BUF" format -d --exit-code || fail "buf format (fix: node_modules/.bin/buf format -w)"

step "gofmt"
mapfile -t gofiles < <(find . \( -path ./node_modules -o -path ./.git -o -path ./.build -o -name node_modules \) -prune \
  -o -type f -name '*.go' -print | sort)
if [[ ${#gofiles[@]} -eq 0 ]]; then
  echo "no Go files"
else
  unformatted="$(gofmt -l "${gofiles[@]}")"
  if [[ -n "$unformatted" ]]; then
    printf '%s\n' "$unformatted"
    gofmt -d "${gofiles[@]}" | head -n 200
    fail "gofmt (fix: gofmt -w on the files above)"
  else
    echo "ok (${#gofiles[@]} files)"
  fi
fi

step "go vet"
run go vet ./... || fail "go vet"

step "TypeScript in gen/ts type-checks"
mapfile -t tsfiles < <(find gen/ts -type f -name '*.ts' 2>/dev/null | sort)
if [[ ${#tsfiles[@]} -eq 0 ]]; then
  echo "no TypeScript files in gen/ts"
else
  printf '+ %s (%d files)\n' "$TSC --noEmit --strict --module nodenext --target es2022 gen/ts/**/*.ts" "${#tsfiles[@]}"
  "$TSC" --noEmit --strict --skipLibCheck --module nodenext --moduleResolution nodenext --target es2022 \
    "${tsfiles[@]}" || fail "tsc on gen/ts"
fi

step "TypeScript of the browser smoke page type-checks"
run "$TSC" --noEmit -p clients/web/smoke || fail "tsc on clients/web/smoke"

step "TypeScript of the browser apps type-checks"
run "$TSC" --noEmit -p clients/web || fail "tsc on clients/web"

echo
if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'check: FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "check: all passed"
