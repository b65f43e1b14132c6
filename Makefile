# Build, test and run the MCU.  `make deps` installs Debian packages, `make` builds,
# `make test` runs every test, `make asan` runs them under AddressSanitizer + UBSan.
CC      ?= gcc
BUILD   ?= build
OPT     ?= -O2 -g
SANFLAGS ?=
CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
		-Iinclude -MMD -MP $(OPT) $(SANFLAGS)

MIX_PKGS   = vpx opus libavformat libavcodec libavutil libswscale
MIX_CFLAGS := $(shell pkg-config --cflags $(MIX_PKGS) 2>/dev/null)
MIX_LIBS   := $(shell pkg-config --libs $(MIX_PKGS) 2>/dev/null) -lm -lpthread
TEST_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)

DEB_PACKAGES = build-essential pkg-config libvpx-dev libopus-dev libavformat-dev \
	libavcodec-dev libavutil-dev libswscale-dev libcmocka-dev libjansson-dev ffmpeg \
	clang-14 libclang-rt-14-dev time

MIX_SRCS   := $(wildcard mixer/*.c)
MIX_OBJS   := $(MIX_SRCS:%.c=$(BUILD)/%.o)
LIBMIX     := $(BUILD)/libmix.a
TOOLS      := $(BUILD)/mcu-mix
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TTOOL_SRCS := $(wildcard tests/tools/*.c)
TTOOL_BINS := $(TTOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)
MEDIA_STAMP := assets/media/.stamp

.PHONY: all deps test unit oracle asan media clean format run-mix

all: $(LIBMIX) $(TOOLS) $(UNIT_BINS) $(TTOOL_BINS)

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)

$(BUILD)/mixer/%.o: mixer/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(MIX_CFLAGS) -c $< -o $@

$(LIBMIX): $(MIX_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(MIX_CFLAGS) -c $< -o $@

$(BUILD)/mcu-mix: $(BUILD)/tools/mcu_mix.o $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(MIX_LIBS)

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(MIX_CFLAGS) -Imixer -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(MIX_LIBS) $(TEST_LIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -o $@ $< -lm

# Test clips are generated with the ffmpeg CLI, never downloaded.
media: $(MEDIA_STAMP)
$(MEDIA_STAMP): assets/gen-media.sh
	bash assets/gen-media.sh assets/media
	touch $@

unit: all media
	BUILD=$(BUILD) bash tests/run.sh unit

oracle: all media
	BUILD=$(BUILD) bash tests/run.sh oracle

test: all media
	BUILD=$(BUILD) bash tests/run.sh all

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" \
		SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test

# Mix the generated clips into one grid recording (a demo of mcu-mix).
run-mix: all media
	$(BUILD)/mcu-mix assets/media/p1.webm assets/media/p2.webm assets/media/p3.webm \
		assets/media/p4.webm -o $(BUILD)/mix.webm

format:
	clang-format -i $(wildcard include/*/*.h mixer/*.c mixer/*.h tools/*.c tests/unit/*.c tests/tools/*.c)

clean:
	rm -rf build build-asan

-include $(MIX_OBJS:.o=.d) $(UNIT_BINS:%=%.d)
