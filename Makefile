# weir: the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
WEIR    := bin/weir
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X github.com/weirflow/weir/engine.version=$(VERSION)

.PHONY: all build demo test lint fuzz bench clean

all: build

## build: the static weir binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(WEIR) ./cmd/weir

## demo: run the hello flow
demo: build
	$(WEIR) run examples/hello/flow.cue --input name=Ada

## test: every test, with the race detector
test:
	$(GO) test -race -count=1 ./...

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: each fuzz target for a short while (FUZZTIME=1m for longer)
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run=NONE -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./engine/internal/ref
	$(GO) test -run=NONE -fuzz=FuzzSelect -fuzztime=$(FUZZTIME) ./engine/internal/jsonsel
	$(GO) test -run=NONE -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./schemas

## bench: the engine benchmarks (see README, Performance)
bench:
	$(GO) test -run=NONE -bench=. -benchmem ./bench/...

clean:
	rm -rf bin
