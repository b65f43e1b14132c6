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
SRV_PKGS   = nice glib-2.0 openssl libsrtp2 libwebsockets jansson libcurl hiredis
SRV_CFLAGS := $(shell pkg-config --cflags $(SRV_PKGS) 2>/dev/null)
SRV_LIBS   := $(shell pkg-config --libs $(SRV_PKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)

# gstreamer1.0-plugins-bad/-nice, python3-gi and the gir1.2-gst* typelibs: the webrtcbin client
# of e2e/nobundle (tests/e2e/webrtcbin-client.py), which fails without them; libhiredis-dev
# for the cluster (src/cluster/), redis-server for its test (e2e/cluster)
DEB_PACKAGES = build-essential pkg-config libvpx-dev libopus-dev libavformat-dev \
	libavcodec-dev libavutil-dev libswscale-dev libcmocka-dev libjansson-dev ffmpeg \
	clang-14 libclang-rt-14-dev time libnice-dev libglib2.0-dev libsrtp2-dev libssl-dev \
	libwebsockets-dev chromium iproute2 util-linux gstreamer1.0-tools \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gnuplot-nox jq prometheus \
	libcurl4-openssl-dev gstreamer1.0-plugins-bad gstreamer1.0-nice python3-gi \
	gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 \
	libhiredis-dev redis-server

MIX_SRCS   := $(wildcard mixer/*.c)
MIX_OBJS   := $(MIX_SRCS:%.c=$(BUILD)/%.o)
LIBMIX     := $(BUILD)/libmix.a
SRV_SRCS   := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
SRV_OBJS   := $(SRV_SRCS:%.c=$(BUILD)/%.o)
LIBMCU     := $(BUILD)/libmcu.a
TOOLS      := $(BUILD)/mcu-mix $(BUILD)/mcu
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TTOOL_SRCS := $(wildcard tests/tools/*.c)
TTOOL_BINS := $(TTOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)
MEDIA_STAMP := assets/media/.stamp

.PHONY: all deps test unit oracle e2e asan media clean format run run-mix

all: $(LIBMIX) $(LIBMCU) $(TOOLS) $(UNIT_BINS) $(TTOOL_BINS)

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)
	command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
	cd tests/e2e && npm install --no-audit --no-fund

$(BUILD)/mixer/%.o: mixer/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(MIX_CFLAGS) -c $< -o $@

$(LIBMIX): $(MIX_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -Isrc $(MIX_CFLAGS) $(SRV_CFLAGS) -c $< -o $@

$(LIBMCU): $(SRV_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/mcu: $(BUILD)/src/main.o $(LIBMCU) $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(SRV_LIBS) $(MIX_LIBS)

$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(MIX_CFLAGS) -c $< -o $@

$(BUILD)/mcu-mix: $(BUILD)/tools/mcu_mix.o $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(MIX_LIBS)

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(MIX_CFLAGS) $(SRV_CFLAGS) -Imixer -Isrc -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIBMCU) $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(SRV_LIBS) $(MIX_LIBS) $(TEST_LIBS)

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

e2e: all
	BUILD=$(BUILD) bash tests/run.sh e2e

test: all media
	BUILD=$(BUILD) bash tests/run.sh all

# handle_abort: an abort() (a library's assert) prints its stack into the server's log too.
asan:
	ASAN_OPTIONS="$${ASAN_OPTIONS:-handle_abort=1}" $(MAKE) BUILD=build-asan OPT="-O1 -g" \
		SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test

# Mix the generated clips into one grid recording (a demo of mcu-mix).
run-mix: all media
	$(BUILD)/mcu-mix assets/media/p1.webm assets/media/p2.webm assets/media/p3.webm \
		assets/media/p4.webm -o $(BUILD)/mix.webm

format:
	clang-format -i $(wildcard include/*/*.h mixer/*.c mixer/*.h src/*.c src/*/*.[ch] tools/*.c \
		tests/unit/*.c tests/tools/*.c tests/fuzz/*.c tests/fuzz/*.h bench/*.c bench/*.h)

clean:
	rm -rf build build-asan

run: all
	$(BUILD)/mcu

# Feature fragments (benchmark, fuzzing, ...): each mk/*.mk adds its own targets.
-include $(wildcard mk/*.mk)

-include $(MIX_OBJS:.o=.d) $(SRV_OBJS:.o=.d) $(UNIT_BINS:%=%.d) $(BUILD)/src/main.d \
	$(wildcard $(BUILD)/tools/*.d $(BUILD)/tests/tools/*.d)
