/*
 * recv.c - one client's receive statistics and optional decoding (see recv.h).
 *
 * Packets are handled in arrival order (no reorder buffer: on loopback reordering is rare, and
 * a late packet still counts as received, as in RFC 3550 A.3). Frames are counted at the
 * marker bit; a keyframe is seen from the VP8 payload header of a frame's first packet.
 * A video sequence gap or a decoder waiting for a keyframe raises want_keyframe (the client
 * sends a PLI): receivers do not NACK, so every loss is counted and repaired by a keyframe.
 * With decoding on, VP8 frames are reassembled (src/rtp/vp8_rtp.c) and decoded with the
 * engine's libvpx wrapper, Opus packets with its libopus wrapper; the pictures are dropped.
 * GLib loop thread only; owns its decoders.
 */
#include "recv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mix/opus.h"
#include "mix/picture.h"
#include "mix/vp8.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"

#define MAX_FRAME (4u << 20)

int recv_init(struct recv *r, int video_pt, int audio_pt, int64_t freeze_us, bool decode)
{
	memset(r, 0, sizeof(*r));
	r->video_pt = video_pt;
	r->audio_pt = audio_pt;
	r->freeze_us = freeze_us;
	if (!decode)
		return 0;
	r->pcm = malloc(MIX_OPUS_MAX_SAMPLES * sizeof(*r->pcm));
	int rc = r->pcm ? 0 : -ENOMEM;
	rc = rc ?: vp8_asm_alloc(&r->vasm, MAX_FRAME);
	rc = rc ?: mix_vp8_dec_alloc(&r->vdec, 0, 0);
	rc = rc ?: mix_opus_dec_alloc(&r->adec);
	if (rc < 0)
		recv_free(r);
	return rc;
}

void recv_free(struct recv *r)
{
	vp8_asm_free(&r->vasm);
	mix_vp8_dec_free(&r->vdec);
	mix_opus_dec_free(&r->adec);
	free(r->pcm);
	r->pcm = NULL;
}

/* RFC 3550 A.1, without probation; a new SSRC restarts the count. */
static void seq_update(struct recv_seq *s, uint32_t ssrc, uint16_t seq)
{
	if (!s->started || s->ssrc != ssrc) {
		memset(s, 0, sizeof(*s));
		s->started = true;
		s->ssrc = ssrc;
		s->max_seq = seq;
		s->base = seq;
	} else if (seq_newer(seq, s->max_seq)) {
		if (seq < s->max_seq)
			s->cycles += 65536;
		s->max_seq = seq;
	}
	s->received++;
}

static uint64_t seq_expected(const struct recv_seq *s)
{
	return s->started ? (uint64_t)s->cycles + s->max_seq - s->base + 1 : 0;
}

void recv_seq_report(const struct recv_seq *s, int32_t *lost, uint32_t *ext_max)
{
	int64_t l = (int64_t)seq_expected(s) - (int64_t)s->received;
	*lost = (int32_t)(l > 0x7fffff ? 0x7fffff : l < -0x800000 ? -0x800000 : l);
	*ext_max = s->cycles + s->max_seq;
}

static void on_frame_end(struct recv *r, int64_t now_us)
{
	if (r->frames > 0) {
		int64_t gap = now_us - r->last_frame_us;
		if (gap > r->win_max_gap_us)
			r->win_max_gap_us = gap;
		if (gap > r->max_gap_us)
			r->max_gap_us = gap;
		if (gap > r->freeze_us)
			r->freezes++;
	} else {
		r->first_frame_us = now_us;
	}
	r->frames++;
	r->last_frame_us = now_us;
}

static void decode_video(struct recv *r, const struct rtp_hdr *h)
{
	struct vp8_frame f;
	if (vp8_asm_push(r->vasm, h->seq, h->ts, h->marker, h->payload, h->payload_len, &f) != 1)
		return;
	if (f.loss_before)
		mix_vp8_dec_mark_loss(r->vdec);
	struct mix_picture pic;
	int rc = mix_vp8_dec_decode(r->vdec, f.data, f.size, &pic);
	if (rc == 0) {
		r->decoded_frames++;
		r->width = pic.width;
		r->height = pic.height;
	} else if (rc == -EAGAIN) { /* waits for a keyframe */
		r->want_keyframe = true;
	} else if (rc != -ENODATA) {
		r->decode_errors++;
	}
}

static void on_video(struct recv *r, const struct rtp_hdr *h, int64_t now_us)
{
	struct vp8_desc d;
	r->video_pkts++;
	if (r->vseq.started && r->vseq.ssrc == h->ssrc && seq_newer(h->seq, r->vseq.max_seq) &&
	    (uint16_t)(h->seq - r->vseq.max_seq) > 1)
		r->want_keyframe = true; /* no NACKs: a browser would need a keyframe now */
	seq_update(&r->vseq, h->ssrc, h->seq);
	if (vp8_desc_parse(h->payload, h->payload_len, &d) == 0 && d.start && d.partition == 0 &&
	    d.size < h->payload_len && !(h->payload[d.size] & 1))
		r->keyframes++;
	if (r->vasm)
		decode_video(r, h);
	if (h->marker)
		on_frame_end(r, now_us);
}

static void on_audio(struct recv *r, const struct rtp_hdr *h)
{
	r->audio_pkts++;
	seq_update(&r->aseq, h->ssrc, h->seq);
	if (r->adec && mix_opus_dec_decode(r->adec, h->payload, h->payload_len, r->pcm) > 0)
		r->decoded_audio++;
}

void recv_on_rtp(struct recv *r, const uint8_t *pkt, size_t len, int64_t now_us)
{
	struct rtp_hdr h;
	if (rtp_parse(pkt, len, &h) != RTP_OK) {
		r->bad_pkts++;
		return;
	}
	r->bytes += len;
	if (h.pt == r->video_pt)
		on_video(r, &h, now_us);
	else if (h.pt == r->audio_pt)
		on_audio(r, &h);
	else
		r->other_pkts++;
}

/* A gap that spans the reset counts whole in the window where it ends (or in recv_snap). */
void recv_window_reset(struct recv *r, int64_t now_us)
{
	r->win_max_gap_us = 0;
}

void recv_snap(const struct recv *r, int64_t now_us, struct recv_snap *s)
{
	s->t_us = now_us;
	s->video_pkts = r->video_pkts;
	s->audio_pkts = r->audio_pkts;
	s->frames = r->frames;
	s->freezes = r->freezes;
	s->decoded_frames = r->decoded_frames;
	s->decoded_audio = r->decoded_audio;
	s->vexpected = seq_expected(&r->vseq);
	s->vreceived = r->vseq.received;
	s->aexpected = seq_expected(&r->aseq);
	s->areceived = r->aseq.received;
	s->max_gap_us = r->win_max_gap_us;
	if (r->frames > 0 && now_us - r->last_frame_us > s->max_gap_us)
		s->max_gap_us = now_us - r->last_frame_us;
}
