# mk/tsan.mk - `make tsan`: ThreadSanitizer is the judge of data races (DESIGN.md).
#
# Builds the unit tests, mcu, mcu-mix and mcu-load with gcc -fsanitize=thread -O1 -g into
# build-tsan (no fuzz targets: those are clang + ASan), then runs `tests/run.sh tsan`: a check
# that a deliberately racy program fails the run, every unit test, and the end-to-end tests that
# exercise our threads (TSAN_E2E). Each test runs with TSAN_OPTIONS log_path in a directory of
# its own: a report written there by any process (the test binary, a server a test starts
# itself, mcu-load) fails that test whatever its exit status; exitcode=66 also fails a process
# that reports. tests/tsan.supp may only name GLib and libnice internals.
# tests/tsan/glib_hb.c (linked with -Wl,--wrap) shows TSan the happens-before edge of a
# g_main_context_invoke() hand-off, which Debian's futex-based GLib hides from it.
# `make tsan TSAN_E2E="wrtc churn"` runs other end-to-end tests. tsan-stress (errors counted on
# the signaling thread and a loop at once) reproduced the errors_sent race of the single media
# thread; access exercises the deferred HTTP replies (/api/stats gathered from every loop);
# webhook, the webhook sender thread fed by the loops.
TSAN_BUILD ?= build-tsan
TSAN_CC    ?= gcc
TSAN_E2E   ?= wrtc signaling record churn load tsan-stress access webhook control cluster
TSAN_WRAP  := -Wl,--wrap=g_main_context_invoke,--wrap=g_main_context_invoke_full \
		-Wl,--wrap=g_source_set_callback

.PHONY: tsan tsan-build clean-tsan

tsan-build:
	$(MAKE) BUILD=$(TSAN_BUILD) CC=$(TSAN_CC) OPT="-O1 -g" TSAN=1 \
		SANFLAGS="-fsanitize=thread -fno-omit-frame-pointer" all media

tsan: tsan-build
	BUILD=$(TSAN_BUILD) TSAN_E2E="$(TSAN_E2E)" bash tests/run.sh tsan

clean: clean-tsan
clean-tsan:
	rm -rf $(TSAN_BUILD)

# Inside the tsan build: the GLib hand-off shim, on the link line of everything that links
# libmcu (and so GLib), with the --wrap flags.
ifeq ($(TSAN),1)
TSAN_HB := $(BUILD)/tests/tsan/glib_hb.o
SRV_LIBS += $(TSAN_WRAP)

$(BUILD)/tests/tsan/%.o: tests/tsan/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SRV_CFLAGS) -c $< -o $@

$(BUILD)/mcu $(BUILD)/mcu-load $(UNIT_BINS): $(TSAN_HB)
-include $(BUILD)/tests/tsan/glib_hb.d
endif
