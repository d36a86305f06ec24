#!/usr/bin/env bash
# bench-tool.sh measures safemapfix on a large public module against two
# floors, in the same run and on the same warm build cache:
#
#   load      scripts/loadfloor: go/packages loading the same packages with
#             syntax and types, tests included, exactly as safemapfix does,
#             and nothing else;
#   vet       go vet ./..., the analysis developers already run;
#   safemapfix --dry-run ./... (load, detection, rewrite, re-type-check of
#             the rewritten packages, diff).
#
# For each it prints the median wall time of RUNS runs and the peak
# resident memory (GNU time's "Maximum resident set size": the largest
# single process of the tree, so the go list child is counted on its own).
# The targets are safemapfix within 1.5x the load floor and under 1.5 GiB.
#
# The module is fetched with go mod download at a pinned version and
# copied to a temporary directory; its go line is raised to 1.24 when
# older, because the safe map placed in the module needs it.
#
# Usage: scripts/bench-tool.sh        (or make bench-tool)
# Environment: MODULE, VERSION, RUNS, FLAGS, KEEP=1 keeps the copy, PROFILE=1 also
# writes CPU and heap profiles of one safemapfix run next to the copy.
set -euo pipefail

MODULE=${MODULE:-github.com/prometheus/prometheus}
VERSION=${VERSION:-v0.54.1}
RUNS=${RUNS:-3}
# FLAGS are extra safemapfix flags, such as --exclude for a map whose
# rewrite stops the run.
FLAGS=${FLAGS:-}
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x /usr/bin/time ]; then
	echo "bench-tool: installing GNU time for peak memory" >&2
	apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

work=$(mktemp -d /tmp/safemapfix-bench.XXXXXX)
if [ "${KEEP:-}" != 1 ]; then
	trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
fi

echo "bench-tool: fetching $MODULE@$VERSION" >&2
src=$(cd "$work" && go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ]; then
	echo "bench-tool: go mod download $MODULE@$VERSION gave no directory" >&2
	exit 1
fi
mod="$work/module"
cp -R "$src" "$mod"
chmod -R u+w "$mod"
cd "$mod"
if ! go list -m -f '{{.GoVersion}}' | awk -F. '{ exit !($1 > 1 || $2 >= 24) }'; then
	go mod edit -go=1.24
fi
go mod download

(cd "$repo" && go build -o "$work/safemapfix" ./cmd/safemapfix && go build -o "$work/loadfloor" ./scripts/loadfloor)

lines=$(find . -name '*.go' -not -path './vendor/*' | xargs cat | wc -l)
echo "bench-tool: $MODULE@$VERSION, $lines lines of Go; warming the build cache" >&2
"$work/loadfloor" ./... >&2
go vet ./... >/dev/null 2>&1 || true

# measure NAME CMD... runs CMD RUNS times and prints
# "NAME median_seconds peak_rss_kib", keeping the last run's output.
measure() {
	local name=$1
	shift
	local times=() rss=0
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -v -o "$work/time.txt" "$@" >"$work/$name.out" 2>"$work/$name.err" || true
		local t r
		t=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt")
		r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
		times+=("$t")
		if ((r > rss)); then rss=$r; fi
	done
	local median
	median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	echo "$name $median $rss"
}

results=$(
	measure load "$work/loadfloor" ./...
	measure safemapfix "$work/safemapfix" --dry-run $FLAGS ./...
	measure vet go vet ./...
)

echo
echo "$MODULE@$VERSION ($lines lines), median of $RUNS runs, GOMAXPROCS=$(nproc):"
echo "$results" | awk '
	{ name[NR] = $1; t[NR] = $2; rss[NR] = $3; if ($1 == "load") floor = $2 }
	END {
		printf "%-12s %10s %10s %14s\n", "", "wall (s)", "x load", "peak RSS (MiB)"
		for (i = 1; i <= NR; i++)
			printf "%-12s %10.2f %10.2f %14.0f\n", name[i], t[i], t[i] / floor, rss[i] / 1024
	}'
echo
grep '^safemapfix:' "$work/safemapfix.err" || true
echo "diff lines: $(wc -l <"$work/safemapfix.out")"

if [ "${PROFILE:-}" = 1 ]; then
	"$work/safemapfix" --dry-run $FLAGS --cpuprofile "$work/cpu.pprof" --memprofile "$work/mem.pprof" ./... >/dev/null 2>&1 || true
	echo "profiles: go tool pprof -top $work/safemapfix $work/cpu.pprof (and $work/mem.pprof); KEEP=1 keeps them"
fi
