# mk/load.mk - mcu-load (issue 6): a WebRTC load generator on our own transport (tools/load/).
#   make load        builds $(BUILD)/mcu-load (also part of `make all`)
#   make load-ramp   runs bench/load-ramp.sh (root: a loopback-only network namespace, minutes)
# mcu-load links libmcu.a (ICE, DTLS, SRTP, RTP, SDP) and libmix.a (clip reader, VP8/Opus
# decoders); its sources see src/ and tools/load/ headers.
LOAD_SRCS := $(wildcard tools/load/*.c)
LOAD_OBJS := $(LOAD_SRCS:%.c=$(BUILD)/%.o)

.PHONY: load load-ramp

$(BUILD)/tools/load/%.o: tools/load/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -Isrc -Itools/load $(MIX_CFLAGS) $(SRV_CFLAGS) -c $< -o $@

$(BUILD)/mcu-load: $(LOAD_OBJS) $(LIBMCU) $(LIBMIX)
	$(CC) $(SANFLAGS) -o $@ $^ $(SRV_LIBS) $(MIX_LIBS)

all: $(BUILD)/mcu-load

load: $(BUILD)/mcu-load

load-ramp: $(BUILD)/mcu-load $(BUILD)/mcu
	BUILD=$(BUILD) bash bench/load-ramp.sh

-include $(LOAD_OBJS:.o=.d)
