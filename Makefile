# llmops: `make demo` runs the quickstart, `make test` runs every test.
GO       ?= go
BIN      := $(CURDIR)/bin
PROVIDERS := $(patsubst cmd/%/main.go,%,$(wildcard cmd/llmops-provider-*/main.go))
VERSION  ?= 0.1.0
# Reproducible builds: two clones of one commit built with the same Go and C
# toolchains give byte-identical binaries (so a committed .llmops.lock.hcl
# matches a teammate's build): no file system paths (-trimpath, which also
# maps cgo's), no VCS stamp, no build id, and a fixed locale and C flags
# for cgo (go-sqlite3).
LDFLAGS  := -X main.Version=$(VERSION) -buildid=
GOBUILD  := CGO_ENABLED=1 LC_ALL=C CGO_CFLAGS="-O2 -g0" $(GO) build -trimpath -buildvcs=false

.PHONY: all build test fuzz demo bench lint proto docs clean

# Fuzz targets (package:Target:budget); `make test` runs each for its
# budget, a number of executions (about 5 s each on a 2-core CI machine).
# Counts, not durations: with a duration, Go 1.26's fuzz coordinator can
# fail a target with a bare "context deadline exceeded" when the time runs
# out while a worker is busy (golang/go#75804, fixed in Go 1.27), which
# failed CI once with no crashing input. For a long run, give a duration:
# `make fuzz FUZZTIME=10m`. Inputs that crash are saved under the package's
# testdata/fuzz and become regular tests.
FUZZ_TARGETS := ./engine/configs:FuzzLoad:10000x ./engine/plans:FuzzDecode:20000x \
	./engine/values:FuzzDecodeState:40000x ./cmd/llmops/render:FuzzPlanRender:20000x \
	./plugins/sdk/jobs:FuzzParseMetrics:50000x ./plugins/sdk/jobs:FuzzLatestMetrics:4000x \
	./plugins/sdk/gateway:FuzzRequest:15000x
FUZZTIME ?=

all: build

## build: bin/llmops and one bin/llmops-provider-<type> per provider
build:
	@mkdir -p $(BIN)
	$(GOBUILD) -ldflags '$(LDFLAGS)' -o $(BIN)/llmops ./cmd/llmops
	@for p in $(PROVIDERS); do echo "$(GOBUILD) -ldflags '-buildid=' -o $(BIN)/$$p ./cmd/$$p"; $(GOBUILD) -ldflags '-buildid=' -o $(BIN)/$$p ./cmd/$$p || exit 1; done

## test: lint, every Go test (services such as Slurm run when available;
## LLMOPS_REQUIRE_SERVICES=1 makes their absence a failure), the example
## provider module, and the fuzz targets for a short time each.
test: build lint
	$(GO) test -count=1 -timeout 30m ./...
	cd examples/provider-echo && $(GO) test -count=1 ./...
	$(MAKE) fuzz

## fuzz: every fuzz target for its budget, or for FUZZTIME when given
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; \
	  budget=$(if $(FUZZTIME),$(FUZZTIME),$${rest#*:}); \
	  echo "fuzz $$pkg $$name ($$budget)"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime "$$budget" || exit 1; \
	done

## demo: the quickstart end to end (train, evaluate, deploy, monitor), then
## a plan that must find nothing to change. A state key (for the sensitive
## values) and an API key are made once in examples/quickstart/.llmops/.
QS := examples/quickstart
demo: build
	@mkdir -p $(QS)/.llmops && chmod 700 $(QS)/.llmops
	@test -s $(QS)/.llmops/state.key || $(BIN)/llmops state keygen -out $(QS)/.llmops/state.key >/dev/null
	@test -s $(QS)/.llmops/api.key || (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' | sed 's/^/sk-/' > $(QS)/.llmops/api.key)
	cd $(QS) && export LLMOPS_STATE_KEY_FILE=$$PWD/.llmops/state.key LLMOPS_VAR_api_key="$$(cat .llmops/api.key)" && \
	  $(BIN)/llmops init -upgrade && $(BIN)/llmops apply -auto-approve && $(BIN)/llmops plan -detailed-exitcode
	@echo
	@echo "Serving: try the curl in $(QS)/README.md (\"Call the deployment\")."

## bench: llmops (SQLite and PostgreSQL states) against Terraform on the same machine
## (see docs/performance.md; it starts its own PostgreSQL with scripts/postgres-test-env.sh)
bench: build
	$(GO) run ./bench

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## docs: regenerate docs/reference/ from the schemas (a page per lifecycle
## kind, provider and provider resource type, with the example of
## docs/reference/examples/); `make test` fails when they are stale
## (internal/schemadoc/refdocs TestReferenceUpToDate)
docs:
	$(GO) run ./internal/schemadoc/refdocs/gen

## proto: regenerate the provider protocol's Go code (needs protoc)
proto:
	$(GO) generate ./plugins/sdk/proto/

clean:
	rm -rf $(BIN)
