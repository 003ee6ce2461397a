#!/usr/bin/env bash
# Copies buf/validate/validate.proto out of the Go module
# github.com/bufbuild/protovalidate (module proxy; the Buf Schema Registry is not
# reachable) into .build/protovalidate, which buf.yaml names as a second module.
# Nothing is generated from it: Go code imports the pre-generated
# buf.build/gen/go/bufbuild/protovalidate/... package, TypeScript imports
# @bufbuild/protovalidate (see buf.gen.yaml).
#
# Usage: scripts/protovalidate.sh [VERSION]   (default: $PROTOVALIDATE_VERSION or v1.2.2)
set -euo pipefail

cd "$(dirname "$0")/.."

version="${1:-${PROTOVALIDATE_VERSION:-v1.2.2}}"
module="github.com/bufbuild/protovalidate"
dest=".build/protovalidate"

# `go mod download -json` prints the module's directory in the module cache
# (downloading it first if needed). Run it outside the repo's module, so that
# neither go.mod nor go.sum is read or touched.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! json="$(cd "$tmp" && GOWORK=off GOFLAGS= go mod download -json "${module}@${version}")"; then
  echo "protovalidate.sh: go mod download ${module}@${version} failed:" >&2
  echo "$json" >&2
  exit 1
fi
dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
src="${dir}/proto/protovalidate/buf/validate/validate.proto"
if [[ -z "$dir" || ! -f "$src" ]]; then
  echo "protovalidate.sh: validate.proto not found in ${module}@${version} (${dir:-no dir})" >&2
  exit 1
fi

if cmp -s "$src" "${dest}/buf/validate/validate.proto" 2>/dev/null; then
  echo "protovalidate: ${dest}/buf/validate/validate.proto is up to date (${module}@${version})"
  exit 0
fi
mkdir -p "${dest}/buf/validate"
# The module cache is read-only; install gives the copy normal permissions.
install -m 0644 "$src" "${dest}/buf/validate/validate.proto"
echo "protovalidate: copied validate.proto from ${module}@${version} to ${dest}/buf/validate/"
