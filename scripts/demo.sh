#!/usr/bin/env bash
# Runs safemapfix on the bundled example module (examples/jobs) in a scratch
# copy: shows the race, the diff, then writes the fix and proves it builds,
# vets and passes the race detector. The repository is never modified.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/jobs/." "$work/"
bin="$work/.bin/safemapfix"
(cd "$root" && go build -o "$bin" ./cmd/safemapfix)
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off

echo "== go test -race before the fix (expected to fail):"
go test -race -count=1 ./... 2>&1 | grep -E "WARNING: DATA RACE|^(ok|FAIL|---)" | sort | uniq -c || true

echo
echo "== safemapfix --list ./...   (exit status 1: findings)"
"$bin" --list ./... || true

echo
echo "== safemapfix --dry-run ./... (the default; a unified diff)"
"$bin" --dry-run ./... 2>/dev/null | sed '/^diff \/dev\/null/,$d' || true
echo "(plus the safe map package placed at internal/safemap/)"

echo
echo "== safemapfix --write ./..."
"$bin" --write ./...

echo
echo "== go build, go vet, go test -race after the fix:"
go build ./... && go vet ./... && go test -race -count=1 ./...

echo
echo "== a second run finds nothing:"
"$bin" --dry-run ./... && echo "exit status 0, no diff"
