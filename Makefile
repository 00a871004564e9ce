# callstats: one Makefile for the two daemons, the upstream simulator and
# the tests. `make` builds bin/; `make check` and `make demo` are the two
# commands of the README.

CC       ?= cc
CFLAGS   ?= -O2 -g
WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Werror
CPPFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icommon
PKGS     := libcurl jansson libpq libsystemd yajl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS   += $(PKG_LIBS) -lcivetweb -lpthread -lm

# `make SANITIZE=1` builds everything with AddressSanitizer and UBSan into
# build/asan; `make check` runs the tests on that build. `make FUZZ=1`
# builds with clang, libFuzzer's coverage and the same sanitizers into
# build/fuzz, for the fuzz targets of tests/fuzz/.
ifeq ($(FUZZ),1)
CC       := clang
BUILD    ?= build/fuzz
BIN      ?= build/fuzz/bin
CFLAGS   := -O1 -g -fno-omit-frame-pointer \
            -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=fuzzer,address,undefined
else ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
BIN      ?= build/asan/bin
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
else
BUILD    ?= build/release
BIN      ?= bin
endif

ALL_CFLAGS = $(CPPFLAGS) $(PKG_CFLAGS) $(WARNINGS) $(CFLAGS)

COMMON_SRC := $(wildcard common/*.c)
WORKER_SRC := $(filter-out worker/main.c,$(wildcard worker/*.c))
API_SRC    := $(filter-out api/main.c,$(wildcard api/*.c))
SIM_SRC    := $(filter-out tests/sim/main.c,$(wildcard tests/sim/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

objs = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_COMMON := $(BUILD)/libcallstats.a
LIB_WORKER := $(BUILD)/libworker.a
LIB_API    := $(BUILD)/libapi.a
LIB_SIM    := $(BUILD)/libsim.a
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS    := $(patsubst tests/fuzz/%.c,build/fuzz/tests/%,$(FUZZ_SRC))
IT_SRC     := $(wildcard tests/integration/test_*.c)
INTEGRATION := $(patsubst tests/integration/test_%.c,$(BUILD)/tests/it_%,\
                 $(IT_SRC))

PROGRAMS := $(BIN)/callstats-worker $(BIN)/callstats-api $(BIN)/callstats-sim

.PHONY: all deps check unit integration demo format format-check clean \
        sanitize fuzz bench bench-worker bench-requests bench-api
all: $(PROGRAMS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB_COMMON): $(call objs,$(COMMON_SRC))
	@rm -f $@
	$(AR) rcs $@ $^
$(LIB_WORKER): $(call objs,$(WORKER_SRC))
	@rm -f $@
	$(AR) rcs $@ $^
$(LIB_API): $(call objs,$(API_SRC))
	@rm -f $@
	$(AR) rcs $@ $^
$(LIB_SIM): $(call objs,$(SIM_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

# The migrations and the dashboard page are compiled in, so the binaries
# need no files beside them.
$(BUILD)/gen/migrations.c: $(sort $(wildcard sql/*.sql)) common/embed.awk
	@mkdir -p $(dir $@)
	awk -v header=embedded.h -v array=cs_migrations -f common/embed.awk \
		$(sort $(wildcard sql/*.sql)) > $@
$(BUILD)/gen/pages.c: $(wildcard api/*.html api/*.json) common/embed.awk
	@mkdir -p $(dir $@)
	awk -v header=embedded.h -v array=cs_api_pages -f common/embed.awk \
		$(wildcard api/*.html api/*.json) > $@
$(BUILD)/gen/simdata.c: $(wildcard tests/sim/*.tsv) common/embed.awk
	@mkdir -p $(dir $@)
	awk -v header=embedded.h -v array=cs_sim_data -f common/embed.awk \
		$(wildcard tests/sim/*.tsv) > $@
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BIN)/callstats-worker: $(BUILD)/worker/main.o $(BUILD)/gen/migrations.o \
                         $(LIB_WORKER) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/callstats-api: $(BUILD)/api/main.o $(BUILD)/gen/pages.o $(LIB_API) \
                      $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/callstats-sim: $(BUILD)/tests/sim/main.o $(BUILD)/gen/simdata.o \
                      $(LIB_SIM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A unit test links what its name says it tests: test_worker_* the worker's
# objects, test_api_* the API's, test_sim_* the simulator's, test_common_*
# the common library alone.
$(BUILD)/tests/test_worker_%: $(BUILD)/tests/unit/test_worker_%.o \
                              $(BUILD)/gen/migrations.o $(LIB_WORKER) \
                              $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests/test_api_%: $(BUILD)/tests/unit/test_api_%.o \
                           $(BUILD)/gen/pages.o $(LIB_API) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests/test_sim_%: $(BUILD)/tests/unit/test_sim_%.o \
                           $(BUILD)/gen/simdata.o $(LIB_SIM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests/test_common_%: $(BUILD)/tests/unit/test_common_%.o $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
# A fuzz target links the API's objects; libFuzzer brings main().
$(BUILD)/tests/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/gen/pages.o \
                       $(LIB_API) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# Each integration program shares the harness (tests/integration/harness.c).
$(BUILD)/tests/it_%: $(BUILD)/tests/integration/test_%.o \
                     $(BUILD)/tests/integration/harness.o $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The API benchmark's constant handler: civetweb alone.
$(BUILD)/tests/bench/const_server: $(BUILD)/tests/bench/const_server.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcivetweb -lpthread

# Installs the Debian packages the build, the tests and the demo need;
# does nothing when they are all present.
deps:
	@deploy/install-deps.sh

sanitize:
	$(MAKE) SANITIZE=1 all $(patsubst build/release/%,build/asan/%,\
		$(UNIT_TESTS) $(INTEGRATION))

# Unit tests, the fuzz targets for a bounded run, then the integration
# tests against a private PostgreSQL, the simulator and the real binaries;
# all of it on the sanitizer builds.
check: deps
	$(MAKE) format-check
	tests/check-docs.sh
	$(MAKE) all
	$(MAKE) sanitize
	tests/run-unit.sh build/asan/tests
	$(MAKE) FUZZ=1 $(FUZZERS)
	tests/fuzz/run.sh $(FUZZERS)
	tests/integration/run.sh build/asan/bin \
		$(patsubst build/release/%,build/asan/%,$(INTEGRATION))

unit: all
	$(MAKE) SANITIZE=1 $(patsubst build/release/%,build/asan/%,$(UNIT_TESTS))
	tests/run-unit.sh build/asan/tests

# FUZZ_RUNS=N runs each target N inputs instead of run.sh's default.
fuzz: deps
	$(MAKE) FUZZ=1 $(FUZZERS)
	tests/fuzz/run.sh $(FUZZERS)

integration: all
	$(MAKE) sanitize
	tests/integration/run.sh build/asan/bin \
		$(patsubst build/release/%,build/asan/%,$(INTEGRATION))

# Benchmarks print figures; none is part of `make check`.
# bench-worker: sync speed and memory against the \copy ceiling;
# bench-requests: upstream requests a day, incremental against the whole
# day every 10 minutes; bench-api: the API's throughput under wrk beside a
# constant civetweb handler and nginx (both installed here when missing,
# never by deps), and the sync of the largest day and of a month.
bench: bench-worker bench-requests bench-api
bench-worker: deps
	$(MAKE) all
	tests/bench/worker.sh bin
bench-requests: deps
	$(MAKE) all
	tests/bench/requests.sh bin
bench-api: deps
	@deploy/install-deps.sh wrk nginx
	$(MAKE) all $(BUILD)/tests/bench/const_server
	tests/bench/api.sh bin $(BUILD)/tests/bench/const_server

demo: deps
	@$(MAKE) --no-print-directory -s all
	@deploy/demo.sh

FORMAT_FILES = $(wildcard common/*.[ch] api/*.[ch] worker/*.[ch] \
                 tests/sim/*.[ch] tests/unit/*.[ch] tests/integration/*.[ch] \
                 tests/bench/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build bin

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
