# akili - build, test, demo.
#
#   make            release binary build/release/akili (-O2)
#   make asan       the same under AddressSanitizer + UBSan (build/asan/akili)
#   make tsan       the tests of code that runs threads, and the engine
#                   (build/tsan/akili), under ThreadSanitizer
#   make demo       install what is missing, build, run the flagship product
#   make test       every test (unit, pipeline, fuzz smoke) under ASan+UBSan;
#                   ends with "N passed, N failed"
#   make fuzz       longer libFuzzer runs of every parser (not part of test)
#   make soak       the streaming harness over many more seeds and larger data
#   make mutants    break operators on purpose: the harness must catch each
#   make crash      the crash test over many seeds and kills, with and without
#                   state compaction (make test runs 3 x 9 and 2 x 20)
#   make bench      akili against DuckDB/SQLite/PostgreSQL on 1M and 5M events,
#                   then the streaming benchmark (figures, not a test)
#   make memory-soak  a long continuous run with a steady key set: RSS per day
#   make clean

CC      ?= cc
Q       := $(if $(V),,@)
PKGS    := yaml-0.1 sqlite3 rdkafka libnats libpq avro-c libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lyaml -lsqlite3 -lrdkafka -lnats -lpq -lavro -lzstd)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers -Wformat=2 -Wvla
STD     := -std=c17 -D_GNU_SOURCE
INCS    := $(patsubst %,-I%,$(shell find src -type d)) -Itests/unit
LIBS    := $(PKG_LIBS) -lsnappy -lm -lpthread

REL_FLAGS  := -O2 -g $(STD) $(WARN) $(INCS) $(PKG_CFLAGS) -MMD -MP
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined $(STD) $(WARN) $(INCS) $(PKG_CFLAGS) -MMD -MP

SRCS     := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/cli/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

REL_OBJS  := $(patsubst %.c,build/release/%.o,$(SRCS))
ASAN_OBJS := $(patsubst %.c,build/asan/%.o,$(SRCS))
ASAN_LIB_OBJS := $(patsubst %.c,build/asan/%.o,$(LIB_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRCS))

.PHONY: all release asan unit tsan test demo fuzz fuzzers clean deps bench soak mutants crash memory-soak
all: release
release: build/release/akili
asan: build/asan/akili

build/release/akili: $(REL_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) -o $@ $^ $(LIBS)

build/asan/akili: $(ASAN_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS)

build/release/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(REL_FLAGS) -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	$(Q)$(CC) $(ASAN_FLAGS) -c -o $@ $<

build/asan/libakili.a: $(ASAN_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

build/asan/tests/%: tests/unit/%.c build/asan/libakili.a tests/unit/ak_test.h tests/unit/sql_fixture.h
	@mkdir -p $(dir $@)
	@echo "  TEST    $<"
	$(Q)$(CC) $(ASAN_FLAGS) -fsanitize=address,undefined -o $@ $< build/asan/libakili.a $(LIBS)

# programs the python drivers of tests/lake/ run (tests/lake/*.c)
LAKE_TOOLS := $(patsubst tests/lake/%.c,build/asan/tests/lake_%,$(sort $(wildcard tests/lake/*.c)))
build/asan/tests/lake_%: tests/lake/%.c build/asan/libakili.a
	@mkdir -p $(dir $@)
	@echo "  TOOL    $<"
	$(Q)$(CC) $(ASAN_FLAGS) -fsanitize=address,undefined -o $@ $< build/asan/libakili.a $(LIBS)

unit: $(UNIT_BINS) $(LAKE_TOOLS)

# the tests of code that runs threads (background segment merges, the
# background writer of checkpoints and input logs, the sources' readers, the
# serving sink's publisher) and the engine itself (build/tsan/akili), under
# ThreadSanitizer
TSAN_FLAGS := -O1 -g -fsanitize=thread $(STD) $(WARN) $(INCS) $(PKG_CFLAGS) -MMD -MP
TSAN_LIB_OBJS := $(patsubst %.c,build/tsan/%.o,$(LIB_SRCS))
TSAN_BINS := build/tsan/tests/test_awrite build/tsan/tests/test_ckpt build/tsan/tests/test_state \
             build/tsan/tests/test_prefetch build/tsan/tests/test_sink
build/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC tsan $<"
	$(Q)$(CC) $(TSAN_FLAGS) -c -o $@ $<
build/tsan/libakili.a: $(TSAN_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
build/tsan/tests/%: tests/unit/%.c build/tsan/libakili.a tests/unit/ak_test.h
	@mkdir -p $(dir $@)
	@echo "  TSAN    $<"
	$(Q)$(CC) $(TSAN_FLAGS) -o $@ $< build/tsan/libakili.a $(LIBS)
build/tsan/akili: build/tsan/src/cli/main.o build/tsan/libakili.a
	@echo "  LD tsan  $@"
	$(Q)$(CC) $(TSAN_FLAGS) -o $@ $^ $(LIBS)
tsan: $(TSAN_BINS) build/tsan/akili

# libFuzzer targets: tests/fuzz/fuzz_*.c, built with clang against the library
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
              $(STD) $(INCS) $(PKG_CFLAGS) -Wall -Wno-unused-command-line-argument -MMD -MP
FUZZ_LIB_OBJS := $(patsubst %.c,build/fuzz/%.o,$(LIB_SRCS))
build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	$(Q)clang $(FUZZ_FLAGS) -c -o $@ $<
build/fuzz/libakili.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libakili.a
	@echo "  FUZZ    $<"
	$(Q)clang $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libakili.a $(LIBS)
fuzzers: $(FUZZ_BINS)

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory -j2 asan unit release tsan
	@tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory -j2 release
	@scripts/demo.sh

fuzz: deps
	@tests/fuzz/run.sh long

bench: deps
	@$(MAKE) --no-print-directory -j2 release build/release/decode_bench build/release/lake_bench
	@bench/run.sh

# the decoders' throughput alone (bench/engines.py reports it)
DECODE_OBJS := $(filter build/release/src/core/% build/release/src/formats/%,$(REL_OBJS))
build/release/decode_bench: bench/decode_bench.c $(DECODE_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(REL_FLAGS) -o $@ $^ $(LIBS)

# the Parquet writer's throughput on 1M flagship-like rows (figures, not a test)
PQ_BENCH_OBJS := $(filter build/release/src/core/% build/release/src/formats/%,$(REL_OBJS))
build/release/parquet_bench: bench/parquet_bench.c $(PQ_BENCH_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(REL_FLAGS) -o $@ $^ $(LIBS)

# the lake sink on 1M flagship sessions: publish, changes, compaction, read (figures)
LAKE_BENCH_OBJS := $(filter build/release/src/core/% build/release/src/config/% build/release/src/formats/% build/release/src/lake/% \
                   build/release/src/sinks/lake/% build/release/src/sql/%,$(REL_OBJS))
build/release/lake_bench: bench/lake_bench.c $(LAKE_BENCH_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(REL_FLAGS) -o $@ $^ $(LIBS)

soak: deps
	@$(MAKE) --no-print-directory -j2 asan unit
	@AK_FLOW_SEEDS=400 AK_FLOW_BATCHES=60 build/asan/tests/test_flow
	@python3 tests/stream/harness.py --seeds $${SEEDS:-150} --events 2500 --users 120 --batch-max 60 --held

memory-soak: deps
	@$(MAKE) --no-print-directory -j2 release
	@python3 bench/memory_soak.py

crash: deps
	@$(MAKE) --no-print-directory -j2 asan
	@python3 tests/stream/crash.py --seeds $${SEEDS:-40} --kills 25 --events 3000 --users 100 | grep -v '^akili: info'
	@python3 tests/stream/crash.py --seeds $${SEEDS:-40} --first 101 --kills 25 --events 3000 --users 100 \
	    --retention-days 1 | grep -v '^akili: info'

mutants: deps
	@$(MAKE) --no-print-directory -j2 release
	@tests/stream/mutants.sh

clean:
	rm -rf build

-include $(REL_OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d) $(TSAN_LIB_OBJS:.o=.d)
