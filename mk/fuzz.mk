# mk/fuzz.mk - libFuzzer targets for every parser of remote bytes (tests/fuzz/fuzz_*.c).
#
# The targets are built with clang (-fsanitize=fuzzer,address,undefined) into $(BUILD)/fuzz/,
# from the project's sources compiled again with clang (not the gcc archives). `make test`
# (and so `make asan`) builds them first: tests/run.sh replays the committed corpora
# (tests/fuzz/replay.sh). `make fuzz SECONDS=N` fuzzes each target for N seconds, FUZZ_JOBS at
# a time, writing new inputs to $(BUILD)/fuzz/work/ (never to the committed corpus).
# `make fuzz-seeds` regenerates the generated part of the seed corpora. FUZZ_FAIL_ALLOC=N in the
# environment makes about 1 in N of our allocations fail (tests/fuzz/failalloc.c); the replay
# runs every corpus once without and once with FUZZ_FAIL_ALLOC=7.

FUZZ_CC      ?= clang-14
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIBSRCS := $(MIX_SRCS) $(wildcard src/rtp/*.c src/sdp/*.c) src/signal/msg.c \
		src/net/dtls.c src/net/srtp.c
FUZZ_OBJS    := $(FUZZ_LIBSRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_LIB     := $(FUZZ_DIR)/libfuzzsrc.a
# The rest of the server, for the HTTP API target (pulled in only by targets that need it).
FUZZ_SRVSRCS := $(filter-out $(FUZZ_LIBSRCS),$(SRV_SRCS))
FUZZ_SRVOBJS := $(FUZZ_SRVSRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SRVLIB  := $(FUZZ_DIR)/libfuzzsrv.a
# Allocation-failure injection (tests/fuzz/failalloc.c, off unless FUZZ_FAIL_ALLOC=N is set):
# --wrap redirects only the calls made by the objects linked here, not by shared libraries.
FUZZ_FAILOBJ := $(FUZZ_DIR)/obj/tests/fuzz/failalloc.o
FUZZ_WRAP    := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
		-Iinclude -Isrc -Imixer -MMD -MP -O1 -g $(FUZZ_SAN) $(MIX_CFLAGS) \
		$(SRV_CFLAGS)
FUZZ_LIBS    := $(MIX_LIBS) $(SRV_LIBS)
SECONDS      ?= 60
FUZZ_JOBS    ?= 2
FUZZ_TARGETS ?=

.PHONY: fuzz-build fuzz fuzz-replay fuzz-seeds

# The corpus replay is part of `make test` (and of `make asan`, which runs `test`).
test: fuzz-build
fuzz-build: $(FUZZ_FAILOBJ) $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_SRVLIB): $(FUZZ_SRVOBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_FAILOBJ) $(FUZZ_SRVLIB) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_WRAP) -o $@ $< $(FUZZ_FAILOBJ) \
		$(FUZZ_SRVLIB) $(FUZZ_LIB) $(FUZZ_LIBS)

fuzz-replay: fuzz-build
	BUILD=$(BUILD) bash tests/run.sh fuzz

fuzz: fuzz-build
	BUILD=$(BUILD) FUZZ_JOBS=$(FUZZ_JOBS) bash tests/fuzz/fuzz.sh $(SECONDS) $(FUZZ_TARGETS)

# Seed generator: built with the project's compiler from the objects it needs.
FUZZ_SEED_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard src/rtp/*.c) src/net/dtls.c src/net/srtp.c)
$(BUILD)/tests/fuzz/gen_seeds: tests/fuzz/gen_seeds.c $(FUZZ_SEED_OBJS) $(LIBMIX)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -Isrc $(MIX_CFLAGS) $(SRV_CFLAGS) -o $@ $< $(FUZZ_SEED_OBJS) \
		$(LIBMIX) $(SRV_LIBS) $(MIX_LIBS)

fuzz-seeds: $(BUILD)/tests/fuzz/gen_seeds
	$(BUILD)/tests/fuzz/gen_seeds tests/fuzz/corpus
	mkdir -p tests/fuzz/corpus/sdp
	for f in assets/sdp/*.sdp; do cp $$f tests/fuzz/corpus/sdp/seed-$$(basename $$f); done

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_SRVOBJS:.o=.d) $(FUZZ_FAILOBJ:.o=.d) $(FUZZ_BINS:%=%.d)
