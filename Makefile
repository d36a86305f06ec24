# The two commands a newcomer needs: `make demo` and `make test`.
GO ?= go

.PHONY: all build demo demo-race test vet fmt-check golden fuzz bench-tool

all: build

build:
	$(GO) build -o bin/safemapfix ./cmd/safemapfix

# Run safemapfix on the bundled example module and show what it does.
demo:
	./scripts/demo.sh

# The race-report workflow: go test -race | safemapfix --race-log - --write --verify=race.
demo-race:
	./scripts/demo-race.sh

# The whole suite, as CI runs it.
test: fmt-check vet
	$(GO) test -race -timeout 30m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^testdata/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Regenerate the expected outputs of the golden cases; review with git diff.
golden:
	$(GO) test ./cmd/safemapfix -run Golden -update

# Time and peak memory of safemapfix on a large public module, against
# loading the same packages and go vet; see scripts/bench-tool.sh.
bench-tool:
	./scripts/bench-tool.sh
