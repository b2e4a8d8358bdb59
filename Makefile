# printpay — build, test and release.
#
#   make test      install the suites' system packages (as root), then run every suite
#   make run       the demo: agent + local server + WeChat Pay sandbox + preview printer
#   make bench     throughput and latency figures
#   make fuzz      every fuzz target for FUZZTIME each
#   make lint      gofmt, go vet, go mod tidy check, import arrows
#   make accuracy  the labelled receipt set against the rules
#   make dist      release binaries and installers into dist/

SHELL    := /bin/bash
GO       ?= go
FUZZTIME ?= 30s
TESTLOG  ?= $(CURDIR)/.test.log

.PHONY: all build run test deps unit accuracy fuzz fuzz-short bench lint dist clean test-usb

all: build

build:
	$(GO) build ./...

run:
	$(GO) run ./agent/cmd/printpay demo

deps:
	@bash .ci/deps

test: deps lint unit accuracy fuzz-short test-usb test-installers

# The USB drivers (gousb and usblp) against a real printer gadget in a QEMU
# guest, and the cgo build they need.
test-usb:
	$(GO) build -tags usb ./...
	$(MAKE) -C drivers/usb/qemutest

# Unit, integration and end-to-end tests. Tests that need a missing tool or
# service skip, except under PRINTPAY_REQUIRE_TOOLS=1 / _SERVICES=1 (CI).
unit:
	@set -o pipefail; rc=0; \
	$(GO) test -count=1 -timeout 30m -v ./... > $(TESTLOG) 2>&1 || rc=$$?; \
	grep -E '^(ok|FAIL|---|panic:|\?)|^\s+--- FAIL|_test\.go:[0-9]+:' $(TESTLOG) | grep -vE '^\s*--- (PASS|SKIP)' | tail -400; \
	pass=$$(grep -cE '^\s*--- PASS' $(TESTLOG)); fail=$$(grep -cE '^\s*--- FAIL' $(TESTLOG)); skip=$$(grep -cE '^\s*--- SKIP' $(TESTLOG)); \
	if [ $$skip -gt 0 ]; then echo "skipped:"; awk '/^ *--- SKIP/ { sub(/^ *--- SKIP: /, ""); sub(/ \(.*$$/, ""); print "  " $$0 ":" prev } { prev = $$0 }' $(TESTLOG) | head -40; fi; \
	echo "$$pass passed, $$fail failed, $$skip skipped"; \
	exit $$rc

accuracy:
	@if [ -d agent/receipt ]; then $(GO) test -count=1 -run '^TestAccuracy$$' -v ./agent/receipt/ | grep -E 'accuracy|right|false|wrong|FAIL|ok' ; exit $${PIPESTATUS[0]}; else echo "accuracy: no labelled set yet"; fi

# Every Fuzz target in the tree, found by name.
FUZZ_TARGETS = $(shell grep -rlE '^func Fuzz' --include='*_test.go' . | xargs -r grep -HoE '^func Fuzz[A-Za-z0-9_]+' | sed -E 's|^\./(.*)/[^/]+_test\.go:func (.*)$$|\1:\2|' | sort -u)

fuzz:
	@for t in $(FUZZ_TARGETS); do d=$${t%%:*}; f=$${t##*:}; \
	  echo "fuzz: $$d $$f ($(FUZZTIME))"; \
	  bash .ci/fuzz $$d $$f $(FUZZTIME) || exit 1; done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10s

# Go benchmarks (throughput, allocations), then the print-latency harness:
# job end -> last byte at a pty printer, for printpay and, side by side,
# p910nd and a CUPS raw queue when they are installed.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./... | grep -vE '^(PASS|\?)'
	$(GO) build -o .bench-printpay ./agent/cmd/printpay
	-$(GO) run ./internal/cmd/printbench -target all -printpay .bench-printpay -jobs 500
	rm -f .bench-printpay

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...
	GOOS=windows CGO_ENABLED=0 $(GO) build ./...

# Release artefacts into dist/: the agent for Linux and (signed) Windows, the
# server, the signed Windows setup (printpay-setup.exe) and the .deb
# (printpay_<version>_amd64.deb). VERSION=1.2.3 sets the version;
# RELEASE_CERT=cert.pem RELEASE_KEY=key.pem sign with the release
# certificate, otherwise a throw-away test certificate is made. As root the
# build tools are installed when missing; otherwise the commands are printed.
dist:
	mkdir -p dist
	CGO_ENABLED=0 $(GO) build -trimpath -o dist/printpay-server ./server/cmd/printpay-server
	GO="$(GO)" VERSION="$(VERSION)" RELEASE_CERT="$(RELEASE_CERT)" RELEASE_KEY="$(RELEASE_KEY)" bash installer/build.sh dist

# The installers against real package managers (root; changes the machine):
# the .deb with dpkg, the Windows setup under headless Wine.
test-installers:
	@bash installer/deps.sh
	PRINTPAY_PKG_TESTS=1 $(GO) test -count=1 -v -timeout 20m ./installer/pkgtest/

clean:
	rm -rf dist $(TESTLOG)
