# weir: the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
WEIR    := bin/weir
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X github.com/weirflow/weir/engine.version=$(VERSION)

.PHONY: all build plugins demo test lint fuzz bench bench-wasm bench-batch bench-serve bench-deploy bench-report proto jinja-corpus clean

all: build

## build: the static weir binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(WEIR) ./cmd/weir

## plugins: the example plugins: Go Wasm, go-plugin, and the C one and the
## test guests in WAT when clang and wat2wasm are installed
TEXT_WASM := examples/plugins/text/text.wasm
NATIVE    := examples/plugins/native/native
plugins: $(TEXT_WASM) $(NATIVE)
	@if command -v clang >/dev/null; then $(MAKE) -s -C examples/plugins/c-strings; \
	else echo "skipping examples/plugins/c-strings: no clang (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)"; fi
	@if command -v wat2wasm >/dev/null; then $(MAKE) -s -C plugins/wasm/testdata/wat; \
	else echo "skipping plugins/wasm/testdata/wat: no wat2wasm (apt-get install wabt)"; fi

$(TEXT_WASM): $(wildcard examples/plugins/text/*.go plugins/pdk/*.go plugins/*.go internal/jsonscan/*.go)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./examples/plugins/text

$(NATIVE): $(wildcard examples/plugins/native/*.go plugins/goplugin/*.go plugins/*.go)
	$(GO) build -o $@ ./examples/plugins/native

## demo: run the hello flow, whose tools are the Go Wasm plugin
demo: build $(TEXT_WASM)
	$(WEIR) run examples/hello/flow.cue --input name=Ada

## test: every test, with the race detector, then the tests that skipped
## and why (internal/testreport prints go test's usual output from -json)
test:
	$(GO) run ./internal/testreport $(GO) test -json -race -shuffle=on -count=1 -timeout=30m ./...

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: each fuzz target for a short while (FUZZTIME=1m for longer):
## references, JSON selection, the flow loader, the validator, the PDK,
## tool outputs, the module rewrite, guest text, the server's answers,
## Jinja templates
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run=NONE -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/ref
	$(GO) test -run=NONE -fuzz='^FuzzSelect$$' -fuzztime=$(FUZZTIME) ./internal/jsonscan
	$(GO) test -run=NONE -fuzz='^FuzzScan$$' -fuzztime=$(FUZZTIME) ./internal/jsonscan
	$(GO) test -run=NONE -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/schemas
	$(GO) test -run=NONE -fuzz='^FuzzValidate$$' -fuzztime=$(FUZZTIME) ./internal/jsonschema
	$(GO) test -run=NONE -fuzz='^FuzzExport$$' -fuzztime=$(FUZZTIME) ./plugins/pdk
	$(GO) test -run=NONE -fuzz='^FuzzFlatDecode$$' -fuzztime=$(FUZZTIME) ./plugins/pdk
	$(GO) test -run=NONE -fuzz='^FuzzObject$$' -fuzztime=$(FUZZTIME) ./engine/internal/jsoncheck
	$(GO) test -run=NONE -fuzz='^FuzzToolOutput$$' -fuzztime=$(FUZZTIME) ./engine
	$(GO) test -run=NONE -fuzz='^FuzzRewrite$$' -fuzztime=$(FUZZTIME) ./plugins/wasm/internal/guard
	$(GO) test -run=NONE -fuzz='^FuzzText$$' -fuzztime=$(FUZZTIME) ./internal/inert
	$(GO) test -run=NONE -fuzz='^FuzzAnswer$$' -fuzztime=$(FUZZTIME) ./hosts/endpoint
	$(GO) test -run=NONE -fuzz='^FuzzRender$$' -fuzztime=$(FUZZTIME) ./internal/jinja

## bench: the engine benchmarks; bench-wasm: Wasm against raw wazero and
## Extism (see README, Performance)
bench:
	$(GO) test -run=NONE -bench=. -benchmem ./bench/...

bench-wasm:
	cd bench/peers && $(GO) run ./cmd/wasmbench

## bench-batch: batch throughput against direct tool calls, and the peak
## memory of weir batch over 100k and 1M lines
bench-batch:
	$(GO) run ./bench/cmd/batchbench

## bench-serve: prompt flow's serving scenario against weir serve (500
## clients, three 250 ms nodes then a 1 s API call; limit 400 requests/s)
bench-serve:
	$(GO) run ./bench/cmd/servebench

## bench-deploy: the hello image's size, and the time from deploy to ready
## on the container host (needs a Docker engine) and the VM host (needs the
## sshd of .ci/sshd: eval "$$(.ci/sshd)" first)
bench-deploy:
	$(GO) test -run=NONE -bench=Deploy -benchtime=5x ./hosts/container ./hosts/vm

## bench-report: run the benchmark commands in short mode (a few minutes;
## FULL=1 for the README's figures, about half an hour) and write
## bench/REPORT.md with its SVG charts and figures in bench/report/
bench-report:
	$(GO) run ./bench/cmd/report $(if $(FULL),-full)

## proto: the Go code of the go-plugin tool protocol, of weir's gRPC API,
## of the Open Inference Protocol's gRPC form and of Hydrosphere's runtime
## API, from proto/ (needs protoc from Debian's protobuf-compiler, and
## protoc-gen-go v1.36.12 and protoc-gen-go-grpc v1.5.1 from go install)
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
proto:
	PATH="$(GOBIN_DIR):$$PATH" protoc -I proto \
		--go_out=. --go_opt=module=github.com/weirflow/weir \
		--go-grpc_out=. --go-grpc_opt=module=github.com/weirflow/weir \
		proto/weir/tool/v1/tools.proto proto/weir/flow/v1/flows.proto \
		proto/inference/v1/grpc_predict_v2.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I proto \
		--go_out=. --go_opt=module=github.com/weirflow/weir \
		--go-grpc_out=. --go-grpc_opt=module=github.com/weirflow/weir \
		proto/hydrosphere/serving/contract/*.proto proto/hydrosphere/serving/runtime/api.proto

## jinja-corpus: the expected outputs of the Jinja fidelity corpus, rendered
## by Python's jinja2 (Debian's python3-jinja2) as prompt flow renders
jinja-corpus:
	python3 internal/jinja/testdata/gen.py

clean:
	rm -rf bin
