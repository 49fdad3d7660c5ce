# pagesim - top-level Makefile.
#
#   make run      install missing Debian packages, build, run the default
#                 suite (scenarios/) into pagesim.db, write report/index.html,
#                 print the summary
#   make check    install, build, then every test: Criterion unit tests,
#                 the scenario suite, the mutants, the permission
#                 matrices (make matrix), a short fuzz, hw-replay
#                 status, and the unit tests, suite and fuzz again under
#                 ASan+UBSan
#   make asan     only the sanitizer pass
#   make coverage gcov build, tests, lcov HTML report + per-folder summary
#   make calibrate KVM sweep of CPL3 access costs (calibration.csv/.svg)
#   make bench    benchmarks, each figure beside its anchor (BENCH lines)
#   make fuzz-libfuzzer  the libFuzzer entry point, FUZZ_TIME seconds
#   make all      just build ./pagesim and libpagesim.a
#
# Everything builds with -Wall -Wextra -Werror.  Objects go to build/
# (build-asan/ for the sanitizer pass).

CC      ?= gcc
BUILD   ?= build
PKGS    := lua5.4 sqlite3
OPT     ?= -O2
SANFLAGS ?=
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS = $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS   = $(shell pkg-config --libs criterion 2>/dev/null)

CFLAGS  := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -Wvla -Wno-unused-parameter \
           -Iinclude $(SANFLAGS)
LDFLAGS := $(SANFLAGS)

LIB_SRC    := $(sort $(wildcard model/*.c sim/*.c oracle/*.c reports/*.c hw-replay/*.c))
ENGINE_SRC := $(sort $(filter-out sim/engine/main.c,$(wildcard sim/engine/*.c)))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o) $(ENGINE_SRC:%.c=$(BUILD)/%.o) \
              $(BUILD)/hw-replay/stub_blob.o
LIB        := $(BUILD)/libpagesim.a
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
PAGESIM    := $(if $(filter build,$(BUILD)),./pagesim,$(BUILD)/pagesim)

.PHONY: all deps run check unit suite mutants matrix fuzz fuzz-libfuzzer report hwreplay calibrate asan coverage bench clean help

all: $(PAGESIM)

help:
	@sed -n '2,16p' Makefile

deps:
	@scripts/install-deps.sh

$(BUILD)/%.o: %.c $(wildcard include/pagesim/*.h) $(wildcard */*.h sim/engine/*.h hw-replay/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# hw-replay guest stub: as/ld at its link address, flat binary, embedded
# into libpagesim.a by stub_blob.S (.incbin)
$(BUILD)/hw-replay/stub.bin: hw-replay/stub.S hw-replay/layout.h
	@mkdir -p $(dir $@)
	$(CC) -c -Ihw-replay hw-replay/stub.S -o $(BUILD)/hw-replay/stub.o
	ld -Ttext=0xffffffff80009000 -o $(BUILD)/hw-replay/stub.elf $(BUILD)/hw-replay/stub.o
	objcopy -O binary $(BUILD)/hw-replay/stub.elf $@

# the 32-bit/PAE stub (QEMU TCG), linked at STUB32_ENTRY
$(BUILD)/hw-replay/stub32.bin: hw-replay/stub32.S hw-replay/layout.h
	@mkdir -p $(dir $@)
	$(CC) -c -Ihw-replay hw-replay/stub32.S -o $(BUILD)/hw-replay/stub32.o
	ld -Ttext=0xffc09000 -o $(BUILD)/hw-replay/stub32.elf $(BUILD)/hw-replay/stub32.o
	objcopy -O binary $(BUILD)/hw-replay/stub32.elf $@

$(BUILD)/hw-replay/qboot.bin: hw-replay/qboot.S hw-replay/layout.h
	@mkdir -p $(dir $@)
	$(CC) -c -Ihw-replay hw-replay/qboot.S -o $(BUILD)/hw-replay/qboot.o
	ld -Ttext=0x6000000 -o $(BUILD)/hw-replay/qboot.elf $(BUILD)/hw-replay/qboot.o
	objcopy -O binary $(BUILD)/hw-replay/qboot.elf $@

$(BUILD)/hw-replay/stub_blob.o: hw-replay/stub_blob.S $(BUILD)/hw-replay/stub.bin $(BUILD)/hw-replay/qboot.bin \
                                $(BUILD)/hw-replay/stub32.bin
	$(CC) -c -DSTUB_BIN='"$(BUILD)/hw-replay/stub.bin"' \
	  -DSTUB32_BIN='"$(BUILD)/hw-replay/stub32.bin"' \
	  -DQBOOT_BIN='"$(BUILD)/hw-replay/qboot.bin"' $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(PAGESIM): $(BUILD)/sim/engine/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CRIT_CFLAGS) -o $@ $< $(LIB) $(CRIT_LIBS) $(PKG_LIBS) -lm

# ---- what users run -----------------------------------------------------------

run: deps
	@$(MAKE) --no-print-directory all
	@rm -f pagesim.db pagesim.db-wal pagesim.db-shm
	@./pagesim run --db pagesim.db scenarios/; rc=$$?; \
	  ./pagesim report --db pagesim.db -o report >/dev/null && \
	  echo "report: report/index.html (HTML); database: pagesim.db (./pagesim show, or sqlite3 pagesim.db 'select * from run_summary')"; \
	  exit $$rc

check: deps
	@$(MAKE) --no-print-directory all
	@MAKE="$(MAKE)" tests/check.sh

# ---- benchmark (not part of check) ---------------------------------------------

# The model benchmark builds its own copy of the model: bench/bench.c,
# model/*.c and sim/mutant.c (pagesim_mutants) as one link-time-optimised
# program at BENCH_OPT, so that tlb_access() and hostmem_write() inline
# into the loops.  Same sources, same results; the library and ./pagesim
# keep OPT.
BENCH_OPT ?= -O3 -flto
BENCH_SRC := bench/bench.c $(sort $(wildcard model/*.c)) sim/mutant.c
$(BUILD)/bench/bench: $(BENCH_SRC) $(wildcard include/pagesim/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(OPT),$(CFLAGS)) $(BENCH_OPT) -o $@ $(BENCH_SRC) -lm

$(BUILD)/bench/logdirty: bench/logdirty.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

# the stream guest (bench/stream_guest.S, linked at its load address, flat)
# embedded in bench/stream_anchors.c, which bench/stream_anchors.sh runs
$(BUILD)/bench/stream_guest.bin: bench/stream_guest.S bench/stream_layout.h
	@mkdir -p $(dir $@)
	$(CC) -c -Ibench bench/stream_guest.S -o $(BUILD)/bench/stream_guest.o
	ld -Ttext=0x100000 -o $(BUILD)/bench/stream_guest.elf $(BUILD)/bench/stream_guest.o
	objcopy -O binary $(BUILD)/bench/stream_guest.elf $@

$(BUILD)/bench/stream_anchors: bench/stream_anchors.c bench/stream_layout.h $(BUILD)/bench/stream_guest.bin
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench -DGUEST_BIN='"$(BUILD)/bench/stream_guest.bin"' -o $@ $< $(LDFLAGS)

# Every bench/*.sh runs with ./pagesim as argument; bench/summary.sh passes
# the output through and ends it with one table of all BENCH lines.
bench: $(BUILD)/bench/bench $(BUILD)/bench/logdirty $(BUILD)/bench/stream_anchors $(PAGESIM)
	@bash -o pipefail -c '{ echo "==== bench: the model (bench/bench.c)"; \
	  $(BUILD)/bench/bench $(BENCH_PASSES) || exit 1; \
	  echo "==== bench: log-dirty radix tree vs flat bitmap (bench/logdirty.c)"; \
	  $(BUILD)/bench/logdirty || exit 1; \
	  for b in bench/*.sh; do [ $$b = bench/summary.sh ] && continue; \
	    echo "==== bench: $$b"; $$b $(PAGESIM) || exit 1; done; } 2>&1 | bench/summary.sh'

# ---- test stages ------------------------------------------------------------------

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

suite: $(PAGESIM)
	@tests/run-suite.sh $(PAGESIM)

mutants: $(PAGESIM)
	@tests/mutants/run.sh $(PAGESIM)

fuzz: $(PAGESIM)
	@tests/run-fuzz.sh $(PAGESIM)

report: $(PAGESIM)
	@tests/run-report.sh $(PAGESIM)

hwreplay: $(PAGESIM)
	@tests/run-hwreplay.sh $(PAGESIM)

# The exhaustive permission matrices: model vs oracle, driven from C.
$(BUILD)/tests/perm_matrix: tests/matrix/perm_matrix.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

$(BUILD)/tests/ept_matrix: tests/matrix/ept_matrix.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

$(BUILD)/tests/tlb_random: tests/matrix/tlb_random.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

$(BUILD)/tests/npt_matrix: tests/matrix/npt_matrix.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

matrix: $(BUILD)/tests/perm_matrix $(BUILD)/tests/ept_matrix $(BUILD)/tests/tlb_random \
	  $(BUILD)/tests/npt_matrix
	@tests/matrix/run.sh $(BUILD)/tests/perm_matrix $(BUILD)/tests/ept_matrix \
	  $(BUILD)/tests/tlb_random $(BUILD)/tests/npt_matrix

# KVM calibration sweep (about 1 minute, touches 1 GiB): not part of check
calibrate: $(PAGESIM)
	@$(PAGESIM) replay --calibrate --csv calibration.csv --svg calibration.svg

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  FUZZ_SEEDS=10 unit suite fuzz

# libFuzzer: the library again with clang, coverage instrumentation and
# ASan+UBSan, linked with tests/fuzz/libfuzzer.c.  FUZZ_TIME seconds
# (default 60); crash-* inputs land in build-lf/artifacts/.
FUZZ_TIME ?= 60
fuzz-libfuzzer: deps
	@command -v clang >/dev/null || scripts/install-deps.sh --with-clang
	@$(MAKE) --no-print-directory BUILD=build-lf CC=clang OPT=-O1 \
	  SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" build-lf/libpagesim.a
	clang -std=gnu11 -O1 -g -Iinclude $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o build-lf/pagesim-libfuzzer tests/fuzz/libfuzzer.c build-lf/libpagesim.a $(PKG_LIBS) -lm
	@mkdir -p build-lf/corpus build-lf/artifacts
	build-lf/pagesim-libfuzzer -max_total_time=$(FUZZ_TIME) -max_len=1024 \
	  -artifact_prefix=build-lf/artifacts/ build-lf/corpus

coverage: deps
	@tests/run-coverage.sh

clean:
	rm -rf build build-asan build-cov build-lf coverage coverage.log report fuzz-out calibration.csv calibration.svg pagesim pagesim.db pagesim.db-wal pagesim.db-shm

# NPT (issue 4): the scenario directories that apply re-run with domains
# made NPT by default (pagesim run --hap npt); see tests/run-npt.sh.
.PHONY: npt
npt: $(PAGESIM)
	@tests/run-npt.sh $(PAGESIM)
