# TriggerX-PG build.  `make` builds everything, `make test` runs the whole suite,
# `make run` starts the local stack, `make bench` prints the benchmarks.
# `make SANITIZER=address,undefined` builds instrumented binaries under build/san/.

CC       ?= cc
PKGS     := libpq libmicrohttpd jansson libcurl openssl libsecp256k1 uuid nettle
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

STD      := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wimplicit-fallthrough -Wshadow -Wformat=2
OPT      ?= -O2
DEBUG    ?= -g
SANITIZER ?=

ifeq ($(SANITIZER),)
BUILD    := build
SANFLAGS :=
else
BUILD    := build/san
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1
endif

VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
DEFS     := -DTGX_VERSION='"$(VERSION)"' -DTGX_SHAREDIR='"$(CURDIR)"'
FINAL_CFLAGS  = $(STD) $(WARN) $(OPT) $(DEBUG) $(SANFLAGS) $(DEFS) -Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
FINAL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# every layer of src/ except the binaries goes into one static library
LIB_SRC  := $(sort $(wildcard src/util/*.c src/crypto/*.c src/chain/*.c src/db/*.c src/store/*.c \
                              src/http/*.c src/api/*.c src/roles/*.c src/keeper/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libtgx.a
BINS     := $(patsubst src/bin/%.c,$(BUILD)/%,$(wildcard src/bin/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(BUILD)/tests/unit_tests
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRC))
CONC_SRC := $(sort $(wildcard tests/concurrency/*.c))
CONC_BINS := $(patsubst tests/concurrency/%.c,$(BUILD)/tests/concurrency/%,$(CONC_SRC))
FUZZ_REPLAY := $(BUILD)/tests/fuzz_replay
KEEPER_TEST_BINS := $(patsubst tests/keeper/%.c,$(BUILD)/tests/keeper/%,$(wildcard tests/keeper/*.c))

.PHONY: all deps test unit run stop bench fuzz clean fmt fmt-check

all: $(BINS) $(UNIT_BIN) $(FUZZ_REPLAY) $(BENCH_BINS) $(CONC_BINS) $(KEEPER_TEST_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(if $(LIB_OBJ),ar rcs $@ $(LIB_OBJ),ar rcs $@)

$(BUILD)/%: $(BUILD)/src/bin/%.o $(LIB)
	$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(UNIT_BIN): $(UNIT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -o $@ $(UNIT_OBJ) $(LIB) $(PKG_LIBS) $(shell pkg-config --libs criterion 2>/dev/null)

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(LIB)
	$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/tests/concurrency/%: $(BUILD)/tests/concurrency/%.o $(LIB)
	$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/tests/keeper/%: $(BUILD)/tests/keeper/%.o $(LIB)
	$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

# the fuzz harness, replayed over its kept corpus by `make test` (gcc, plain and ASan+UBSan)
$(FUZZ_REPLAY): $(BUILD)/tests/fuzz/replay.o $(BUILD)/tests/fuzz/fuzz_job_body.o $(LIB)
	$(CC) $(FINAL_LDFLAGS) -o $@ $(BUILD)/tests/fuzz/replay.o $(BUILD)/tests/fuzz/fuzz_job_body.o $(LIB) $(PKG_LIBS)

unit: $(UNIT_BIN) $(FUZZ_REPLAY)

# `make fuzz`: the real libFuzzer binary (clang), run FUZZ_SECONDS (60) from the kept corpus;
# new interesting inputs land in build/fuzz-new (copy crashes into tests/fuzz/corpus)
build/fuzz/fuzz_job_body: tests/fuzz/fuzz_job_body.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(STD) -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined $(DEFS) -Iinclude $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz:
	@command -v clang >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q clang >/dev/null; } || \
	  { echo "fuzz: clang is missing; run as root: apt-get install -y clang"; exit 1; }
	$(MAKE) build/fuzz/fuzz_job_body
	@mkdir -p build/fuzz-new
	build/fuzz/fuzz_job_body -max_total_time=$${FUZZ_SECONDS:-60} -max_len=4096 build/fuzz-new tests/fuzz/corpus

# Debian packages the build, the tests and the local stack need
DEB_PKGS := build-essential pkg-config clang-format valgrind curl wrk \
            postgresql-15 postgresql-client-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl \
            postgresql-15-plpgsql-check \
            libpq-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libssl-dev libsecp256k1-dev \
            uuid-dev nettle-dev libcriterion-dev

deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null || exit 1; \
	  else echo "deps: node and npm are missing; run as root: apt-get install -y nodejs npm"; exit 1; fi; }
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing $$missing"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || exit 1; \
	else echo "deps: missing packages; run as root: apt-get install -y $$missing"; exit 1; fi

test: deps
	$(MAKE) all
	$(MAKE) SANITIZER=address,undefined unit
	tests/run.sh

run: deps all
	contrib/run-local.sh

stop:
	@for p in keeper1 keeper2 tgxd anvil; do \
	  if [ -f var/run/$$p.pid ] && kill -0 $$(cat var/run/$$p.pid) 2>/dev/null; then \
	    kill -TERM $$(cat var/run/$$p.pid); \
	    for i in $$(seq 100); do kill -0 $$(cat var/run/$$p.pid) 2>/dev/null || break; sleep 0.1; done; \
	    echo "$$p stopped"; fi; \
	  rm -f var/run/$$p.pid; done
	@if [ -f var/pg/data/PG_VERSION ]; then \
	  if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $(CURDIR)/var/pg/data stop; \
	  else /usr/lib/postgresql/15/bin/pg_ctl -D $(CURDIR)/var/pg/data stop; fi; fi

bench: deps all
	tests/bench/run.sh
	tests/bench/api.sh
	tests/bench/keeper.sh

fmt:
	clang-format -i $(shell git ls-files '*.c' '*.h')

fmt-check:
	clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(wildcard $(BUILD)/tests/*/*.d) $(patsubst src/bin/%.c,$(BUILD)/src/bin/%.d,$(wildcard src/bin/*.c))
