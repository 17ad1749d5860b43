# SoReg-ALS: one flat Makefile. Override any variable on the command line or
# in an optional make.local (e.g. CC=mpicc.openmpi, OPTFLAGS=-O2).
-include make.local

CC       = mpicc
PKGS    ?= openblas lapacke
OPTFLAGS ?= -O3 -march=x86-64-v2 -mtune=native
CFLAGS  ?= $(OPTFLAGS) -g -std=c11 -Wall -Wextra -fopenmp
# DEFS: extra definitions; the fault tests' build adds -DALS_FAULT_HOOKS (the
# ALS_TEST_* environment hooks exist only there, never in bin/).
DEFS    ?=
CPPFLAGS += -Iinclude -D_GNU_SOURCE $(DEFS) $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm
TEST_LDLIBS = $(shell pkg-config --libs cmocka)
ARFLAGS  = rcs

# Where objects and binaries go: `make asan` builds into build-asan/ and
# bin-asan/ with the same rules.
BUILD   ?= build
BIN     ?= bin

LIB_SRC  := $(wildcard src/als_*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/%.o)
TOOLS    := $(patsubst tools/%.c,$(BIN)/%,$(wildcard tools/als-*.c))
UNITS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))

.PHONY: all tools deps check test unit mpi-test tools-test defects-test tune-test results demo bench clean
all: $(TOOLS)

# Install missing Debian packages (apt-get; root or sudo).
deps:
	./tools/install-deps.sh
tools: $(TOOLS)

$(BUILD)/%.o: src/%.c $(wildcard include/*.h) $(wildcard src/*.h) | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The kernels' private headers (templates included by src/als_kernels*.c).
$(BUILD)/als_kernels.o $(BUILD)/als_kernels_batch.o: $(wildcard src/als_kernels*.h)

$(BUILD)/libals.a: $(LIB_OBJ)
	$(AR) $(ARFLAGS) $@ $^

$(BIN)/%: tools/%.c $(BUILD)/libals.a | $(BIN)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(BUILD)/libals.a $(LDLIBS)

# Only als-partition needs METIS (--reorder metis; src/als_reorder.c).
$(BIN)/als-partition: LDLIBS += -lmetis

$(BUILD)/tests/%: tests/%.c tests/als_test.h $(BUILD)/libals.a | $(BUILD)/tests
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $< -o $@ $(BUILD)/libals.a $(LDLIBS) $(TEST_LDLIBS)

$(BUILD) $(BUILD)/tests $(BIN):
	mkdir -p $@

# The README's test command: install what is missing (the Slurm test needs
# slurm-wlm and munge), build, then the unit tests (cmocka), the multi-rank
# and end-to-end tests, the dataset tools, als-tune, the fault tests
# (checkpoint/restart, kills, disk full) and a real single-node Slurm.
check test:
	ALS_EXTRA_PACKAGES="slurm-wlm munge" ./tools/install-deps.sh
	$(MAKE) unit mpi-test tools-test defects-test tune-test fault-test slurm-test
tools-test: $(TOOLS)
	ALS_BIN=$(BIN) timeout 900 tests/run-tools-tests.sh
# Issue 13: hostile and dirty inputs (tests/run-defects-tests.sh).
defects-test: $(TOOLS)
	ALS_BIN=$(BIN) timeout 900 tests/run-defects-tests.sh
tune-test: $(TOOLS)
	timeout 600 tests/run-tune-test.sh
# Accuracy tables in docs/RESULTS.md (MovieLens from ../shared/data).
results: $(TOOLS)
	./tools/results.sh
# Every unit test runs as one process; the collective I/O test also under
# mpirun at 3 ranks (it covers P = 1..3 on sub-communicators; mpi-test adds 4).
MPIRUN_TEST = OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 300 mpirun --oversubscribe
unit: $(UNITS)
	@set -e; for t in $(UNITS); do echo "== $$t"; timeout 300 $$t; done
	@echo "== mpirun -np 3 $(BUILD)/tests/test_pario"; $(MPIRUN_TEST) -np 3 $(BUILD)/tests/test_pario
mpi-test: $(TOOLS) $(BUILD)/tests/test_pario
	ALS_BIN=$(BIN) ALS_BUILD=$(BUILD) timeout 1800 tests/run-mpi-tests.sh

# The main job on the embedded FilmTrust data (installs what is missing).
demo: deps
	$(MAKE) tools
	./tools/demo.sh

bench: $(TOOLS)
	./tools/bench.sh

clean:
	rm -rf build bin build-asan bin-asan build-fault bin-fault build-fuzz

# ---- Reliability (issue 6): none of these is part of `make check`. --------
# fault-test: kills, crashes in checkpoint writes, corruption, disk full
# (mounts a small tmpfs: root). asan: the library, tools and unit tests with
# AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/, bin-asan/;
# asan-check runs the unit, multi-rank and fault tests with them (LSan
# suppresses only Open MPI's own leaks). valgrind-test: one multi-rank run
# under memcheck. fuzz: each libFuzzer harness for FUZZ_SECONDS (clang 14,
# libclang-rt-14-dev); fuzz-ci: the same, briefly.
.PHONY: units fault-build fault-test asan asan-check valgrind-test fuzz fuzz-ci fuzz-build
ASAN_FLAGS = -O1 -march=x86-64-v2 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# Open MPI and PMIx unload their plugins at exit unless told not to; then
# LSan cannot name the library of a leak and the suppressions cannot match.
ASAN_ENV = OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan-openmpi.supp:print_suppressions=0:fast_unwind_on_malloc=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The fault tests run a test build with the hooks compiled in (build-fault/,
# bin-fault/); the release binaries in bin/ ignore ALS_TEST_*.
FAULT_DEFS = -DALS_FAULT_HOOKS
fault-build:
	$(MAKE) BUILD=build-fault BIN=bin-fault DEFS="$(FAULT_DEFS)" tools
fault-test: fault-build
	ALS_BIN=bin-fault timeout 900 tests/run-fault-tests.sh
asan:
	$(MAKE) BUILD=build-asan BIN=bin-asan DEFS="$(FAULT_DEFS)" OPTFLAGS="$(ASAN_FLAGS)" tools units
asan-check: asan
	$(ASAN_ENV) $(MAKE) BUILD=build-asan BIN=bin-asan DEFS="$(FAULT_DEFS)" OPTFLAGS="$(ASAN_FLAGS)" unit
	$(ASAN_ENV) ALS_BIN=bin-asan timeout 2400 tests/run-mpi-tests.sh
	$(ASAN_ENV) ALS_BIN=bin-asan timeout 1200 tests/run-fault-tests.sh
units: $(UNITS)
valgrind-test: $(TOOLS)
	ALS_EXTRA_PACKAGES=valgrind ./tools/install-deps.sh
	ALS_BIN=$(BIN) timeout 900 tests/run-valgrind.sh
FUZZ_SECONDS ?= 60
fuzz-build:
	ALS_EXTRA_PACKAGES="clang libclang-rt-14-dev" ./tools/install-deps.sh
	$(MAKE) -f tests/fuzz/Makefile
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzzers.sh
fuzz-ci:
	$(MAKE) fuzz FUZZ_SECONDS=15

# Slurm jobs and scaling studies (jobs/README.md). slurm-test starts a real
# single-node Slurm (needs the Debian packages slurm-wlm and munge, and root);
# scaling-local and weak-scaling-local run the studies with mpirun and write
# the table, plots and model under results/.
.PHONY: slurm-test scaling-local weak-scaling-local
slurm-test: $(TOOLS)
	ALS_BIN=$(BIN) timeout 900 tests/run-slurm-tests.sh
scaling-local: $(TOOLS)
	ALS_BIN=$(BIN) jobs/run-local.sh strong
weak-scaling-local: $(TOOLS)
	ALS_BIN=$(BIN) jobs/run-local.sh weak

# ---- Installation: make install PREFIX=/opt/soreg-als/1.0 [DESTDIR=...] ----
# Binaries and scripts in bin/, libals.a in lib/, headers in include/als/,
# a pkg-config file lib/pkgconfig/als.pc, the README and docs in
# share/doc/soreg-als/. make uninstall removes exactly those files.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include/als
PCDIR    = $(LIBDIR)/pkgconfig
DOCDIR   = $(PREFIX)/share/doc/soreg-als
INSTALL ?= install
ALS_VERSION_STR = $(shell sed -n 's/^\#define ALS_VERSION "\(.*\)"/\1/p' include/*.h | head -1)
SCRIPTS  = tools/als-tune tools/als-scaling-report tools/plan-balance
HEADERS  = $(wildcard include/als*.h)
DOCS     = README.md $(wildcard docs/*.md)
.PHONY: install uninstall FORCE
FORCE:
$(BUILD)/als.pc: FORCE | $(BUILD)
	printf 'prefix=%s\nexec_prefix=$${prefix}\nlibdir=%s\nincludedir=%s\n\nName: als\nDescription: SoReg-ALS, social-regularized ALS on MPI\nVersion: %s\nRequires.private: $(PKGS)\nLibs: -L$${libdir} -lals\nLibs.private: -lm -fopenmp\nCflags: -I$${includedir}\n' \
	    '$(PREFIX)' '$${prefix}/lib' '$${prefix}/include/als' '$(ALS_VERSION_STR)' > $@
install: $(TOOLS) $(BUILD)/libals.a $(BUILD)/als.pc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(TOOLS) $(wildcard $(SCRIPTS)) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 644 $(BUILD)/libals.a $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 $(HEADERS) $(DESTDIR)$(INCDIR)/
	$(INSTALL) -m 644 $(BUILD)/als.pc $(DESTDIR)$(PCDIR)/
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOLS) $(SCRIPTS)))
	rm -f $(DESTDIR)$(LIBDIR)/libals.a $(DESTDIR)$(PCDIR)/als.pc
	rm -f $(addprefix $(DESTDIR)$(INCDIR)/,$(notdir $(HEADERS)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(INCDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PCDIR) 2>/dev/null
