# exectrail — the two commands a newcomer needs are `make demo` and
# `make test`; both install missing system packages first (`make deps`).

GO      ?= go
BIN     := bin/exectrail
PKGS    := ./filter/... ./procfs/... ./supervisor/... ./cmd/...
BACKENDS := notify ptrace
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)
export CGO_ENABLED := 1

# The one definition of how bin/exectrail is built (the integration tests
# build it with `make binary` too): one static executable, libseccomp and
# the C library linked in (KERNEL-FACTS 34), so it runs in an image that
# has neither. netgo and osusergo keep glibc's NSS (which needs the dynamic
# loader) out: nothing in exectrail looks up names, and a future network
# client resolves hosts with Go's own resolver. -buildvcs=auto overrides a
# GOFLAGS=-buildvcs=false so the commit is in the build info as well.
GO_TAGS    := netgo,osusergo
GO_LDFLAGS := -linkmode external -extldflags "-static" -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GO_BUILD   := $(GO) build -trimpath -buildvcs=auto -tags '$(GO_TAGS)' -ldflags '$(GO_LDFLAGS)'

# Debian packages the build and the tests need (asciinema: the recording
# tests check that its player reads exectrail's casts; busybox-static: the
# static binary is tested in a root filesystem of nothing but itself and a
# static busybox, and the kernel test guests run busybox too;
# qemu-system-x86: the kernel test guests, see test-kernels; strace: a
# tracer inside the job, TestDefaultStraceInJob).
DEB_PKGS := libseccomp-dev gcc libc6-dev pkg-config asciinema busybox-static qemu-system-x86 strace

.PHONY: all deps build binary dist install demo test vet staticcheck fmt-check unit race fuzz-seed integration test-kernels fuzz bench clean

all: build

deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps binary

# binary builds without checking the Debian packages first.
binary:
	$(GO_BUILD) -o $(BIN) ./cmd/exectrail

# A release: dist/exectrail_VERSION_OS_ARCH.tar.gz (a leading v of a tag
# dropped) holding one directory of that name with the static binary, the
# README and the shipped policies, and dist/SHA256SUMS for it. Owners,
# order and times in the tarball are fixed (times: the commit's), so two
# builds of one commit differ only where the binaries do.
GOOS_ARCH    := $(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)
DIST_NAME    := exectrail_$(patsubst v%,%,$(VERSION))_$(GOOS_ARCH)
DIST_EPOCH   := $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
dist: build
	@rm -rf dist/$(DIST_NAME) && mkdir -p dist/$(DIST_NAME)/policies
	@cp $(BIN) README.md dist/$(DIST_NAME)/
	@if [ -f LICENSE ]; then cp LICENSE dist/$(DIST_NAME)/; fi
	@cp docs/policies/*.policy dist/$(DIST_NAME)/policies/
	@tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(DIST_EPOCH) \
	  -C dist -cf - $(DIST_NAME) | gzip -n > dist/$(DIST_NAME).tar.gz
	@rm -rf dist/$(DIST_NAME)
	@cd dist && sha256sum $(DIST_NAME).tar.gz > SHA256SUMS
	@echo dist/$(DIST_NAME).tar.gz; cat dist/SHA256SUMS

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary to PREFIX/bin,
# the shipped policies to PREFIX/share/exectrail/policies.
PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/exectrail
	install -d $(DESTDIR)$(PREFIX)/share/exectrail/policies
	install -m 0644 docs/policies/*.policy $(DESTDIR)$(PREFIX)/share/exectrail/policies/

# The classic example: a relative exec after cd. ls's own listing goes to
# /dev/null; the records go to stderr, first for people, then as JSON.
demo: build
	@echo '$$ $(BIN) run --format text -- sh -c '"'"'cd /bin && ./ls'"'"' >/dev/null'
	@$(BIN) run --format text -- sh -c 'cd /bin && ./ls' >/dev/null
	@echo
	@echo '$$ $(BIN) run --format json -- sh -c '"'"'cd /bin && ./ls'"'"' >/dev/null'
	@$(BIN) run --format json -- sh -c 'cd /bin && ./ls' >/dev/null

test: deps fmt-check vet staticcheck build unit fuzz-seed integration test-kernels

fmt-check:
	@out="$$(gofmt -l . 2>&1)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

vet:
	$(GO) vet ./...

# staticcheck is a tool dependency pinned in go.mod (go get -tool). A
# finding is fixed, or suppressed with a //lint:ignore that says why.
staticcheck:
	$(GO) tool staticcheck ./...

# Unit tests run with the race detector. Fuzz targets run their seed
# corpora here too (that is what `go test` does with them).
unit:
	$(GO) test -race -count=1 $(PKGS)

fuzz-seed:
	$(GO) test -count=1 -run '^Fuzz' $(PKGS)

# The helper programs the tests compile (C, Go) are kept in bin/helpers,
# by a hash of their source: the kernel test guests have no compilers and
# run the suite with the helpers this run built.
HELPERS := $(CURDIR)/bin/helpers
integration: build
	@for b in $(BACKENDS); do echo "== integration, --backend $$b"; EXECTRAIL_HELPERS=$(HELPERS) EXECTRAIL_BACKEND=$$b $(GO) test -count=1 -timeout 15m ./integration/... || exit 1; done

# The integration suite inside other kernels, under qemu with software
# emulation (integration/kernels has the details, README "Kernels" the
# numbers): KERNELS is a comma-separated list, 6.1 (Debian 12's cloud
# kernel, downloaded once into KERNEL_CACHE) and host (the running
# kernel's /boot image, skipped where there is none). It runs after the
# native integration run, which is the control on this kernel and builds
# the helpers. Under emulation an exec costs ~100 times what it does
# natively, so `make test` runs GUEST_RUN, the tests of what differs
# between kernels (ids and the status fallback, cgroups, path resolution,
# memory reads, architectures, ptrace, fail-closed and nesting), in about
# two minutes, and doctor's report of the kernel; GUEST_RUN=. runs the whole suite but GUEST_SKIP: tests that
# need what the guest lacks (asciinema's Python, a hybrid cgroup host, go
# or make at test time) and
# tests of load or timing (thousands of execs, or limits of seconds) that
# emulation cannot meet. GUEST_ENV: KEY=VALUE pairs for the suite in the
# guest, e.g. EXECTRAIL_TEST_FORCE_PIDFD_GET_INFO=1, which breaks the
# PIDFD_GET_INFO fallback on purpose and must fail on 6.1.
KERNELS      ?= 6.1,host
KERNEL_CACHE ?= $(HOME)/.cache/exectrail/kernels
GUEST_RUN    ?= ^(TestClassicRelativeExecAfterCd|TestDoctor|TestAttackBinfmtMiscUserns|TestStaticBinary|TestChrootBusybox|TestArgvEdgeCases|TestNonUTF8ExecPath|TestHostileExecMemory|TestCgroupContainerAttribution|TestCgroupIDOutsideNamespace|TestHardeningForeignProc|TestHardeningReadError|TestExitStatus|TestScriptExit|TestFailClosedWhenExectrailDies|TestNestedExectrail|TestUnprivilegedClassic|TestNoNewPrivs|TestThreadExecRecordsProcessID|TestPosixSpawnRecorded|TestI386Int80Exec|TestX32ExecNeverUnseen|TestPolicyEnforce|TestPtraceExitRecords|TestPtraceVerifiedScriptAndFailures|TestPtraceJobCanTrace|TestPtraceExitKill|TestPtraceThreadExec|TestResolve.*)$$
GUEST_SKIP   ?= ^(TestRecordAsciinemaCat|TestCgroupV1HybridContainer|TestLoadSequentialForkExec2000|TestLoadParallelHelpers4x500|TestSignalStormDuringHeldCalls|TestGoProgramExecsUnderPreemption|TestPolicyRaceFork|TestPolicyRaceVfork|TestPtraceForkerKilledMidFork|TestPtraceExecRaceVerified|TestRecordNoTTY|TestRecordLargeOutput|TestRecordMarkerOrderPTY|TestOrphansKillGrace|TestHardeningOrphansWaitSIGTERM|TestHardeningOutputFDs|TestOTLPExport|TestOTLPCollectorDown|TestVersionPlainGoBuild|TestDist|TestCIDocs)$$
GUEST_ENV    ?=
test-kernels: deps integration
	$(GO) test -c -o bin/integration.test ./integration
	$(GO) run ./integration/kernels -kernels '$(KERNELS)' -cache '$(KERNEL_CACHE)' -exectrail $(BIN) -test bin/integration.test -helpers $(HELPERS) -run '$(GUEST_RUN)' -skip '$(GUEST_SKIP)' -env '$(GUEST_ENV)'

# Run each fuzz target for a while (not part of `make test`).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $(PKGS); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Performance harness (not part of `make test`: nothing there may depend
# on timing; README "Performance"). Runs every workload natively, under
# exectrail's auto, notify and ptrace, under strace (installed here when
# root) and under two bare C supervisors (the floors), BENCH_RUNS times
# each, alternating, with the supervisor's own CPU per exec record; then
# the saturation phase (1, 2, 4, 8 parallel fork+exec workers), then the
# memory phase: BENCH_MEMORY_EXECS vfork+execs of a tiny static program
# under each backend, sampling the supervisor's RSS (0 skips it). Prints
# the tables and one line per target of issue #15, and writes
# docs/bench/results.json. About 20 minutes on 2 vCPUs, 11 of them the
# memory phase. BENCH_QUICK=1: 3 runs (or BENCH_RUNS), workers 1 and 4,
# no memory phase, results to bin/bench-quick.json (a few minutes).
# BENCH_OUT: where the JSON goes. BENCH_ARGS: more flags, e.g. comparing two builds:
#   make bench BENCH_QUICK=1 BENCH_ARGS='-exectrail old=/tmp/old-exectrail -exectrail new=bin/exectrail -configs auto'
# (with -exectrail given, the first one replaces bin/exectrail).
BENCH_RUNS ?= 10
BENCH_MEMORY_EXECS ?= 1000000
BENCH_QUICK ?=
BENCH_ARGS ?=
BENCH_OUT ?= $(if $(BENCH_QUICK),bin/bench-quick.json,docs/bench/results.json)
bench: build
	@command -v strace >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing: strace"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null || echo "strace not installed: its column is skipped"; \
	  else echo "strace not installed (run: sudo apt-get install -y strace): its column is skipped"; fi; }
	@uptime
	BENCH_QUICK=$(BENCH_QUICK) $(GO) run ./integration/bench $(if $(BENCH_QUICK),,-runs $(BENCH_RUNS) -memory-execs $(BENCH_MEMORY_EXECS)) $(if $(findstring -exectrail,$(BENCH_ARGS)),,-exectrail $(BIN)) -out $(BENCH_OUT) $(BENCH_ARGS)

clean:
	rm -rf bin dist
