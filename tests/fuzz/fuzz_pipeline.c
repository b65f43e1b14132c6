/*
 * fuzz_pipeline.c - libFuzzer target for the whole inbound video path of one room (the
 * checklist's A2 "pipeline replay"): bytes -> RTP packets (rtpseq.h) -> rtp_parse -> reorder
 * buffer -> VP8 assembler -> mix_engine_push_video into a real engine with one source and one
 * recipient, whose ticks run the libvpx decoder, the compositor and the encoder.
 * Kept fast: a 64x64 canvas at 15 fps, inbound frames capped at 320x240 (larger keyframes are
 * refused before libvpx sees them), at most MAX_FRAMES frames and 3 s of media per input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "failalloc.h"
#include "mix/engine.h"
#include "rtp/reorder.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"
#include "rtpseq.h"

#define MAX_FRAME  (256 * 1024)
#define MAX_FRAMES 60
#define SRC        1
#define RID        2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	struct mix_engine *eng;
	struct reorder *ro;
	struct vp8_asm *va;
	uint32_t ts0;
	bool have_ts0;
	int64_t last_pts;
	int frames;
	uint64_t out_packets;
};

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *pkt)
{
	struct state *s = opaque;
	if (rid != RID || !pkt || pkt->size == 0 || pkt->kind != MIX_VIDEO)
		abort();
	s->out_packets++;
}

static void on_keyframe_request(void *opaque, uint32_t src)
{
	if (src != SRC)
		abort();
}

/* 90 kHz RTP time since the first frame, to engine microseconds, never going back. */
static int64_t frame_pts(struct state *s, uint32_t ts)
{
	if (!s->have_ts0) {
		s->have_ts0 = true;
		s->ts0 = ts;
	}
	int64_t pts = (int64_t)(int32_t)(ts - s->ts0) * 1000 / 90;
	if (pts < s->last_pts)
		pts = s->last_pts;
	s->last_pts = pts;
	return pts;
}

static void drain(struct state *s, int64_t now)
{
	uint16_t seq;
	const uint8_t *pkt;
	size_t len;
	int lost;
	while (s->frames < MAX_FRAMES && reorder_pop(s->ro, now, &seq, &pkt, &len, &lost) == 1) {
		struct rtp_hdr h;
		struct vp8_frame f;
		if (rtp_parse(pkt, len, &h) != RTP_OK)
			abort();
		if (vp8_asm_push(s->va, h.seq, h.ts, h.marker, h.payload, h.payload_len, &f) != 1)
			continue;
		s->frames++;
		int64_t pts = frame_pts(s, f.ts);
		if (pts > 3000000)
			continue;
		int r =
		    mix_engine_push_video(s->eng, SRC, f.data, f.size, pts, f.loss_before || lost);
		if (r != 0 && r != -ENOBUFS && r != -ENOMEM) /* -ENOMEM: FUZZ_FAIL_ALLOC */
			abort();
		r = mix_engine_run_until(s->eng, pts + 40000);
		if (r != 0 && r != -ENOMEM)
			abort();
	}
}

static struct mix_engine *new_engine(struct state *s)
{
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 64;
	cfg.height = 64;
	cfg.fps = 15;
	cfg.video_bitrate = 50000;
	cfg.max_w = 320;
	cfg.max_h = 240;
	cfg.cb = (struct mix_engine_callbacks){
	    .opaque = s, .on_packet = on_packet, .on_keyframe_request = on_keyframe_request};
	struct mix_engine *e = NULL;
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.audio = false;
	int rc = mix_engine_alloc(&e, &cfg);
	if (!rc)
		rc = mix_engine_add_source(e, SRC, "fuzz");
	if (!rc)
		rc = mix_engine_add_recipient(e, RID, &o);
	if (rc) {
		if (rc != -ENOMEM) /* FUZZ_FAIL_ALLOC */
			abort();
		mix_engine_free(&e);
	}
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	struct state s = {0};
	s.eng = new_engine(&s);
	int rc = s.eng ? reorder_alloc(&s.ro, 64, 40000) : -ENOMEM;
	if (!rc)
		rc = vp8_asm_alloc(&s.va, MAX_FRAME);
	if (rc) {
		if (rc != -ENOMEM) /* FUZZ_FAIL_ALLOC */
			abort();
		goto out;
	}
	struct rtpseq rs;
	struct rtpseq_pkt p;
	uint8_t pkt[RTP_MAX_PACKET];
	rtpseq_init(&rs, data, size);
	while (s.frames < MAX_FRAMES && rtpseq_next(&rs, &p)) {
		struct rtp_hdr h = {
		    .marker = p.marker, .pt = 96, .seq = p.seq, .ts = p.ts, .ssrc = 1};
		int len = rtp_write(pkt, sizeof(pkt), &h, 0, NULL, 0, p.payload, p.len);
		if (len < 0)
			abort();
		(void)reorder_push(s.ro, p.seq, pkt, (size_t)len, p.now_us);
		drain(&s, p.now_us);
	}
	drain(&s, rs.now_us + 10000000);
	rc = mix_engine_run_until(s.eng, mix_engine_now(s.eng) + 100000);
	if (rc != 0 && rc != -ENOMEM)
		abort();
	if (getenv("FUZZ_PIPELINE_STATS")) { /* for checking what the seeds reach */
		struct mix_engine_stats st;
		mix_engine_get_stats(s.eng, &st);
		fprintf(stderr,
		        "frames in %d, decoded %llu, decode errors %llu, encoded %llu, out %llu\n",
		        s.frames, (unsigned long long)st.frames_decoded,
		        (unsigned long long)st.decode_errors, (unsigned long long)st.frames_encoded,
		        (unsigned long long)s.out_packets);
	}
	mix_engine_remove_source(s.eng, SRC);
	mix_engine_run_until(s.eng, mix_engine_now(s.eng) + 100000);
out:
	mix_engine_free(&s.eng);
	reorder_free(&s.ro);
	vp8_asm_free(&s.va);
	return 0;
}
