#!/usr/bin/env bash
# buf breaking: the contract must stay wire- and source-compatible with the
# contract of an earlier commit (default: the previous commit, HEAD~1; set
# BREAKING_AGAINST to another git revision, e.g. a release tag).
#
# The earlier contract is built from `git archive` of that revision, with the
# same copy of validate.proto beside it (it is git-ignored), so that its
# imports resolve without the Buf Schema Registry.
set -euo pipefail

cd "$(dirname "$0")/.."
BUF="${BUF:-node_modules/.bin/buf}"
against="${BREAKING_AGAINST:-HEAD~1}"

if ! git rev-parse --verify --quiet "$against^{commit}" >/dev/null; then
  echo "breaking: no revision $against to compare with (a first commit, or a shallow clone): nothing to check"
  exit 0
fi
if ! git cat-file -e "$against:proto" 2>/dev/null; then
  echo "breaking: $against has no proto/ folder: nothing to compare with"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git archive "$against" proto buf.yaml | tar -x -C "$tmp"
mkdir -p "$tmp/.build"
cp -r .build/protovalidate "$tmp/.build/"
echo "+ $BUF breaking --against <the workspace of $against ($(git rev-parse --short "$against"))>"
"$BUF" breaking --against "$tmp"
