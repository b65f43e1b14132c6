# mk/bench.mk - mcu-bench (issue 4): the engine's CPU per participant against ffmpeg/GStreamer.
#   make bench        full run (minutes): table, build/bench.json, build/bench.svg
#   make bench-quick  smoke run (seconds): every scenario and peer must run, JSON complete
#   make bench-simulcast  simulcast senders against 720p and 180p ones (issue 14, minutes)
#   make bench-cascade  mcu-cascade: a 1,000-participant room over 2, 4 and 8 nodes (minutes)
CASCADE_SRCS := $(wildcard bench/cascade*.c)
CASCADE_OBJS := $(CASCADE_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS  := $(filter-out $(CASCADE_SRCS),$(wildcard bench/*.c))
BENCH_OBJS  := $(BENCH_SRCS:%.c=$(BUILD)/%.o)
BENCH_MEDIA := $(BUILD)/bench-media
BENCH_QUICK_MEDIA := $(BUILD)/bench-media-quick

.PHONY: bench bench-quick bench-simulcast bench-cascade

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(MIX_CFLAGS) -Ibench -Isrc -c $< -o $@

# The server's ladder of outputs (pure code) for --rungs.
$(BUILD)/mcu-bench: $(BENCH_OBJS) $(BUILD)/src/session/ladder.o $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(MIX_LIBS)

# mcu-cascade (docs/SCALING.md): N engines in one process, one node's clips from bench_media.
$(BUILD)/mcu-cascade: $(CASCADE_OBJS) $(BUILD)/bench/bench_media.o $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(MIX_LIBS)

all: $(BUILD)/mcu-bench $(BUILD)/mcu-cascade

$(BENCH_MEDIA)/.stamp: bench/gen-bench-media.sh
	bash bench/gen-bench-media.sh $(BENCH_MEDIA) 10 "180p 360p 720p"
	touch $@

# Every resolution: the quick suite's simulcast senders send all three.
$(BENCH_QUICK_MEDIA)/.stamp: bench/gen-bench-media.sh mk/bench.mk
	bash bench/gen-bench-media.sh $(BENCH_QUICK_MEDIA) 1 "180p 360p 720p"
	touch $@

bench: $(BUILD)/mcu-bench $(BENCH_MEDIA)/.stamp
	$(BUILD)/mcu-bench --suite full --media $(BENCH_MEDIA) --out $(BUILD)/bench-out \
		--json $(BUILD)/bench.json --plot $(BUILD)/bench.svg

bench-simulcast: $(BUILD)/mcu-bench $(BENCH_MEDIA)/.stamp
	$(BUILD)/mcu-bench --suite simulcast --media $(BENCH_MEDIA) --out $(BUILD)/bench-out \
		--json $(BUILD)/bench-simulcast.json

bench-quick: $(BUILD)/mcu-bench $(BENCH_QUICK_MEDIA)/.stamp
	$(BUILD)/mcu-bench --suite quick --media $(BENCH_QUICK_MEDIA) \
		--out $(BUILD)/bench-out-quick --json $(BUILD)/bench-quick.json
	bash bench/check-json.sh $(BUILD)/bench-quick.json

# 180p senders only (the cascade's default), 10 s clips: the files bench-media's stamp makes.
$(BENCH_MEDIA)/180p/c9.webm: bench/gen-bench-media.sh
	bash bench/gen-bench-media.sh $(BENCH_MEDIA) 10 180p

bench-cascade: $(BUILD)/mcu-cascade $(BENCH_MEDIA)/180p/c9.webm
	$(BUILD)/mcu-cascade --media $(BENCH_MEDIA) --json $(BUILD)/cascade.json

-include $(BENCH_OBJS:.o=.d) $(CASCADE_OBJS:.o=.d)
