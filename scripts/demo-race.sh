#!/usr/bin/env bash
# The race-report workflow on the bundled example (examples/jobs), in a
# scratch copy: run the tests under the race detector, feed the report to
# safemapfix, which fixes exactly the reported maps and proves the fix by
# building, vetting and race-testing the module again (restoring every file
# if that fails). The repository is never modified.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/jobs/." "$work/"
bin="$work/.bin/safemapfix"
(cd "$root" && go build -o "$bin" ./cmd/safemapfix)
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off

echo "== go test -race ./... 2>&1 | safemapfix --race-log - --no-static --write --verify=race ./..."
go test -race -count=1 ./... 2>&1 | "$bin" --race-log - --no-static --write --verify=race ./...

echo
echo "== go test -race after the fix:"
go test -race -count=1 ./...
