# SoReg-ALS: one flat Makefile. Override any variable on the command line or
# in an optional make.local (e.g. CC=mpicc.openmpi, OPTFLAGS=-O2).
-include make.local

CC       = mpicc
PKGS    ?= openblas lapacke
OPTFLAGS ?= -O3 -march=x86-64-v2 -mtune=native
CFLAGS  ?= $(OPTFLAGS) -g -std=c11 -Wall -Wextra -fopenmp
CPPFLAGS += -Iinclude -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm
TEST_LDLIBS = $(shell pkg-config --libs cmocka)
ARFLAGS  = rcs

LIB_SRC  := $(wildcard src/als_*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=build/%.o)
TOOLS    := $(patsubst tools/%.c,bin/%,$(wildcard tools/als-*.c))
UNITS    := $(patsubst tests/%.c,build/tests/%,$(wildcard tests/test_*.c))

.PHONY: all tools deps check test unit mpi-test demo bench clean
all: $(TOOLS)

# Install missing Debian packages (apt-get; root or sudo).
deps:
	./tools/install-deps.sh
tools: $(TOOLS)

build/%.o: src/%.c $(wildcard include/*.h) | build
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

build/libals.a: $(LIB_OBJ)
	$(AR) $(ARFLAGS) $@ $^

bin/%: tools/%.c build/libals.a | bin
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ build/libals.a $(LDLIBS)

build/tests/%: tests/%.c tests/als_test.h build/libals.a | build/tests
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $< -o $@ build/libals.a $(LDLIBS) $(TEST_LDLIBS)

build build/tests bin:
	mkdir -p $@

# The README's test command: install what is missing, build, then the unit
# tests (cmocka) and the multi-rank and end-to-end tests.
check test: deps
	$(MAKE) unit mpi-test
unit: $(UNITS)
	@set -e; for t in $(UNITS); do echo "== $$t"; timeout 300 $$t; done
mpi-test: $(TOOLS)
	timeout 1800 tests/run-mpi-tests.sh

# The main job on the embedded FilmTrust data (installs what is missing).
demo: deps
	$(MAKE) tools
	./tools/demo.sh

bench: $(TOOLS)
	./tools/bench.sh

clean:
	rm -rf build bin

# Slurm jobs and scaling studies (jobs/README.md). slurm-test starts a real
# single-node Slurm (needs the Debian packages slurm-wlm and munge, and root);
# scaling-local and weak-scaling-local run the studies with mpirun and write
# the table, plots and model under results/.
.PHONY: slurm-test scaling-local weak-scaling-local
slurm-test: $(TOOLS)
	timeout 900 tests/run-slurm-tests.sh
scaling-local: $(TOOLS)
	jobs/run-local.sh strong
weak-scaling-local: $(TOOLS)
	jobs/run-local.sh weak
