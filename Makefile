# Switchboard — `make run` and `make test` do all set-up on a fresh Debian machine.
SWIFT ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
VENV  := .build-venv
PY    := $(VENV)/bin/python
BIN   := .build/debug/switchboard
export SWITCHBOARD_BIN := $(CURDIR)/$(BIN)

.PHONY: all deps build run test unit e2e fuzz bench-http bench-sip bench-sip-parser bench-sip-memory bench-media-relay bench-media-transcode clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build --product switchboard

run: build
	$(BIN) serve --demo

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel
	# Allocation tests (skipped above): alone, with the malloc counter preloaded.
	cc -O2 -shared -fPIC -o .build/libAllocationCounter.so Benchmarks/Transcoding/AllocationCounter/counter.c
	LD_PRELOAD=$(CURDIR)/.build/libAllocationCounter.so $(SWIFT) test --skip-build --no-parallel --filter AllocationTests
	$(PY) -m pytest Tests/EndToEnd
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) bash Fuzz/run.sh

fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) bash Fuzz/run.sh

unit: deps
	$(SWIFT) test

e2e: deps
	$(SWIFT) build --product switchboard
	$(PY) -m pytest Tests/EndToEnd

bench-http: deps
	$(SWIFT) build -c release --product switchboard
	SWITCHBOARD_BIN=$(CURDIR)/.build/release/switchboard bash Benchmarks/http_sessions.sh

bench-sip:
	@bash scripts/install-deps.sh --bench
	$(SWIFT) build -c release --product switchboard
	SWITCHBOARD_BIN=$(CURDIR)/.build/release/switchboard bash Benchmarks/sip_cps.sh

bench-sip-parser:
	SWIFT=$(SWIFT) bash Benchmarks/sip_parser.sh

bench-sip-memory:
	@bash scripts/install-deps.sh --bench
	$(SWIFT) build -c release --product switchboard
	SWITCHBOARD_BIN=$(CURDIR)/.build/release/switchboard bash Benchmarks/sip_dialog_memory.sh

bench-media-relay:
	@bash scripts/install-deps.sh --bench
	SWIFT=$(SWIFT) bash Benchmarks/media_relay.sh

bench-media-transcode:
	@bash scripts/install-deps.sh --bench
	SWIFT=$(SWIFT) bash Benchmarks/media_transcode.sh

clean:
	rm -rf .build $(VENV)
