/*
 * source.c - one participant inside the engine: bounded queues of encoded video frames (VP8
 * frames or H.264 access units, per the source's codec) and Opus packets, the decoders, the latest
 * decoded picture and a FIFO of decoded audio samples indexed on the 48 kHz media clock.
 *
 * Engine thread only. The source owns its queued packets (copies of what was pushed), its
 * decoders and its FIFO. Its picture is borrowed from its video decoder (valid until the next
 * decode). The video decoder (VP8 or H.264: the vdec_* dispatch) exists only while the source
 * is visible.
 *
 * Audio gaps: a gap after a quiet packet or a DTX frame, with no loss reported before the next
 * packet, is DTX (Opus discontinuous transmission: a silent sender sends a packet every few
 * hundred ms; senders start it only after silence): silence, without PLC, not counted. Any
 * other gap (a reported loss, or a gap after a loud packet: a late packet or a step in the
 * caller's room-time mapping) is concealed up to plc_max: Opus PLC, then the next packet's
 * inband FEC for its last frame when it is queued.
 *
 * Latency (the engine's cfg.latency): queued items keep their stamps (struct lat_stamp); a
 * decode notes its wall time and its frame's stamps in s->lat for the engine's thread to
 * record (vout.c), and fill() notes the stamps of the packet whose first sample the tick
 * takes (aout.c). Nothing the output depends on reads them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define QUIET_DBOV (-50.0f) /* a packet this quiet: the gap after it is silence */
#define SILENT_DBOV                                                                                \
	(-60.0f)        /* a packet that says it is this quiet is not decoded (the                 \
	                 * mixer's silence: audio_mix.c's default silence_dbov) */
#define DTX_MAX_BYTES 2 /* Opus frames this small carry no audio (libwebrtc's DTX test) */

/* ---- the video decoder of the source's codec ---- */

static int vdec_alloc(struct source *s)
{
	if (s->vcodec == MIX_VCODEC_H264)
		return mix_h264_dec_alloc(&s->h264, s->max_w, s->max_h);
	return mix_vp8_dec_alloc(&s->vp8, s->max_w, s->max_h);
}

static void vdec_free(struct source *s)
{
	mix_vp8_dec_free(&s->vp8);
	mix_h264_dec_free(&s->h264);
}

static int vdec_decode(struct source *s, const struct mix_packet *p, struct mix_picture *pic)
{
	if (s->h264)
		return mix_h264_dec_decode(s->h264, p->data, p->size, pic);
	return mix_vp8_dec_decode(s->vp8, p->data, p->size, pic);
}

static void vdec_mark_loss(struct source *s)
{
	mix_vp8_dec_mark_loss(s->vp8);
	mix_h264_dec_mark_loss(s->h264);
}

static bool vdec_needs_keyframe(const struct source *s)
{
	return s->h264 ? mix_h264_dec_needs_keyframe(s->h264) : mix_vp8_dec_needs_keyframe(s->vp8);
}

bool source_has_decoder(const struct source *s)
{
	return s->vp8 || s->h264;
}

struct source *source_new(uint32_t id, const char *name, uint64_t join_seq)
{
	struct source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = id;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	s->join_seq = join_seq;
	s->last_kf_req_us = INT64_MIN / 2;
	s->shown_pts = INT64_MIN;
	if (mix_opus_dec_alloc(&s->adec) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void vq_clear(struct source *s)
{
	while (s->vq_len > 0) {
		mix_packet_unref(&s->vq[s->vq_head].pkt);
		s->vq_head = (s->vq_head + 1) % SRC_VQ_CAP;
		s->vq_len--;
	}
}

static void aq_pop(struct source *s)
{
	mix_packet_unref(&s->aq[s->aq_head].pkt);
	s->aq_head = (s->aq_head + 1) % SRC_AQ_CAP;
	s->aq_len--;
}

void source_free(struct source **sp)
{
	struct source *s = *sp;
	if (!s)
		return;
	vq_clear(s);
	while (s->aq_len > 0)
		aq_pop(s);
	vdec_free(s);
	mix_opus_dec_free(&s->adec);
	free(s);
	*sp = NULL;
}

/* ---- video ---- */

int source_push_video(struct source *s, const uint8_t *data, size_t len, int64_t pts_us,
                      int64_t ready_us, bool loss_before, struct lat_stamp stamp,
                      struct mix_engine_stats *st)
{
	if (!s->visible) {
		st->frames_dropped_invisible++;
		return 0;
	}
	if (s->vq_len == SRC_VQ_CAP) {
		st->frames_dropped_queue++;
		s->vq_loss = true;
		return -ENOBUFS;
	}
	struct mix_packet *p = mix_packet_copy(data, len);
	if (!p)
		return -ENOMEM;
	p->pts_us = pts_us;
	p->kind = MIX_VIDEO;
	struct vq_item *it = &s->vq[(s->vq_head + s->vq_len) % SRC_VQ_CAP];
	it->pkt = p;
	it->ready_us = ready_us;
	it->loss_before = loss_before || s->vq_loss;
	it->stamp = stamp;
	s->vq_loss = false;
	s->vq_len++;
	return 0;
}

int source_set_visible(struct source *s, bool visible, int max_w, int max_h)
{
	if (visible == s->visible)
		return 0;
	s->visible = visible;
	s->have_pic = false;
	s->lat.pic = (struct lat_stamp){0};
	vq_clear(s);
	vdec_free(s);
	if (!visible)
		return 0;
	s->max_w = max_w;
	s->max_h = max_h;
	int rc = vdec_alloc(s);
	if (rc < 0) /* no decoder, not visible: the next assign tries again */
		s->visible = false;
	return rc;
}

int source_set_video_codec(struct source *s, int codec)
{
	if (codec != MIX_VCODEC_VP8 && codec != MIX_VCODEC_H264)
		return -EINVAL;
	if (codec == s->vcodec)
		return 0;
	s->vcodec = codec;
	s->have_pic = false;
	s->lat.pic = (struct lat_stamp){0};
	vq_clear(s);
	vdec_free(s);
	if (!s->visible)
		return 0;
	int rc = vdec_alloc(s);
	if (rc < 0) /* keep the invariant: no decoder, not visible (recomputed next assign) */
		s->visible = false;
	return rc;
}

/* The wall time of one decode, kept for the engine's thread (latency on). */
static void note_decode_time(struct source *s, int64_t t0)
{
	if (s->lat.ndec < SRC_LAT_DECODES)
		s->lat.dec_us[s->lat.ndec++] = mix_mono_us() - t0;
}

static bool decode_one(struct source *s, struct vq_item *it, struct mix_engine_stats *st)
{
	if (it->loss_before)
		vdec_mark_loss(s);
	struct mix_picture pic;
	int64_t t0 = s->lat.on ? mix_mono_us() : 0;
	int rc = vdec_decode(s, it->pkt, &pic);
	if (s->lat.on)
		note_decode_time(s, t0);
	if (rc == 0) {
		s->shown_pts = it->pkt->pts_us;
		s->shown_ready = it->ready_us;
		s->lat.pic = it->stamp;
		s->pic = pic;
		s->have_pic = true;
		s->serial++;
		st->frames_decoded++;
		return false;
	}
	if (rc == -ENODATA) /* a hidden frame: nothing new to show, state intact */
		return false;
	if (rc != -EAGAIN) {
		/* The decoder saw a corrupt frame: the previous picture may be gone too. */
		s->have_pic = false;
		s->lat.pic = (struct lat_stamp){0};
		st->decode_errors++;
	}
	return true;
}

bool source_decode_video(struct source *s, int64_t t_us, struct mix_engine_stats *st)
{
	bool need_kf = false;
	s->shown_pts = INT64_MIN;
	if (!source_has_decoder(s))
		return false;
	while (s->vq_len > 0 && s->vq[s->vq_head].pkt->pts_us <= t_us) {
		struct vq_item *it = &s->vq[s->vq_head];
		need_kf |= decode_one(s, it, st);
		mix_packet_unref(&it->pkt);
		s->vq_head = (s->vq_head + 1) % SRC_VQ_CAP;
		s->vq_len--;
	}
	return need_kf || vdec_needs_keyframe(s);
}

/* ---- audio ---- */

int source_push_audio(struct source *s, const uint8_t *data, size_t len, int64_t pts_us, int level,
                      bool loss_before, struct lat_stamp stamp, struct mix_engine_stats *st)
{
	int n = mix_opus_packet_samples(data, len);
	if (n <= 0) {
		st->audio_bad_packets++;
		return -EBADMSG;
	}
	if (s->aq_len == SRC_AQ_CAP) {
		st->audio_dropped_queue++;
		return -ENOBUFS;
	}
	struct mix_packet *p = mix_packet_copy(data, len);
	if (!p)
		return -ENOMEM;
	p->pts_us = pts_us;
	p->kind = MIX_AUDIO;
	struct aq_item *it = &s->aq[(s->aq_head + s->aq_len) % SRC_AQ_CAP];
	it->pkt = p;
	it->start = samples_of_us(pts_us);
	it->samples = n;
	it->level = level > 127 ? 127 : level;
	it->loss_before = loss_before;
	it->stamp = stamp;
	it->dtx = len <= DTX_MAX_BYTES;
	if (it->dtx && level >= 0) /* whatever the header says, a DTX frame is silent */
		it->level = 127;
	if (level >= 0)
		s->hdr_levels = true;
	s->aq_len++;
	return 0;
}

static int64_t fifo_end(const struct source *s)
{
	return s->fifo_s + s->fifo_len;
}

/* Appends n samples that start at sample index `start` (>= fifo end), skipping any overlap. */
static void fifo_append(struct source *s, int64_t start, const int16_t *pcm, int n)
{
	if (!s->fifo_started || s->fifo_len == 0) {
		s->fifo_s = start;
		s->fifo_started = true;
	}
	int64_t skip = fifo_end(s) - start;
	if (skip >= n)
		return;
	if (skip > 0) {
		pcm += skip;
		n -= (int)skip;
	} else if (skip < 0) { /* a gap the caller chose not to conceal: silence */
		int64_t gap = -skip;
		if (gap > SRC_FIFO_CAP - s->fifo_len - n)
			gap = SRC_FIFO_CAP - s->fifo_len - n;
		memset(s->fifo + s->fifo_len, 0, (size_t)(gap > 0 ? gap : 0) * sizeof(int16_t));
		s->fifo_len += (int)(gap > 0 ? gap : 0);
	}
	if (n > SRC_FIFO_CAP - s->fifo_len)
		n = SRC_FIFO_CAP - s->fifo_len;
	memcpy(s->fifo + s->fifo_len, pcm, (size_t)n * sizeof(int16_t));
	s->fifo_len += n;
}

static void conceal(struct source *s, int64_t upto, struct mix_engine_stats *st)
{
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	while (fifo_end(s) < upto) {
		int64_t want = upto - fifo_end(s);
		int n = (int)(want > MIX_OPUS_MAX_SAMPLES ? MIX_OPUS_MAX_SAMPLES : want);
		n = (n + 119) / 120 * 120;
		if (mix_opus_dec_conceal(s->adec, n, pcm) != n)
			memset(pcm, 0, sizeof(int16_t) * (size_t)n);
		int64_t before = fifo_end(s);
		fifo_append(s, before, pcm, n);
		st->plc_samples += (uint64_t)(fifo_end(s) - before);
		if (fifo_end(s) == before) /* the FIFO is full: stop rather than spin */
			break;
	}
}

/* PLC for a lost stretch before it, then its inband FEC (or PLC) for the last frame of it. */
static void recover(struct source *s, const struct aq_item *it, struct mix_engine_stats *st)
{
	int64_t gap = it->start - fifo_end(s);
	int fec = (int)(gap < it->samples ? gap : it->samples) / 120 * 120;
	conceal(s, it->start - fec, st);
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	int n =
	    fec > 0 ? mix_opus_dec_decode_fec(s->adec, it->pkt->data, it->pkt->size, fec, pcm) : 0;
	if (n <= 0)
		return;
	int64_t before = fifo_end(s);
	fifo_append(s, it->start - n, pcm, n);
	st->plc_samples += (uint64_t)(fifo_end(s) - before);
}

/* Whether a gap after this packet is silence: a DTX frame, or quiet by header or decoded. */
static bool quiet(const struct aq_item *it, const int16_t *pcm, int n)
{
	if (it->dtx)
		return true;
	if (it->level >= 0)
		return (float)-it->level < QUIET_DBOV;
	return pcm && mix_audio_level_dbov(pcm, n) < QUIET_DBOV;
}

/* A DTX frame, or a packet whose sender says it is silent: its span stays silent, undecoded. */
static bool skip_silent(struct source *s, const struct aq_item *it)
{
	if (!it->dtx && !(it->level >= 0 && (float)-it->level < SILENT_DBOV))
		return false;
	s->preskip_left -= s->preskip_left < it->samples ? s->preskip_left : it->samples;
	s->last_quiet = true;
	s->last_audio_end = it->start + it->samples;
	return true;
}

static void decode_packet(struct source *s, struct aq_item *it, struct mix_engine_stats *st)
{
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	if (skip_silent(s, it))
		return;
	int n = mix_opus_dec_decode(s->adec, it->pkt->data, it->pkt->size, pcm);
	if (n <= 0) {
		st->audio_decode_errors++;
		n = mix_opus_dec_conceal(s->adec, it->samples, pcm);
		if (n <= 0)
			return;
	}
	st->audio_decoded_packets++;
	int skip = s->preskip_left < n ? s->preskip_left : n;
	s->preskip_left -= skip;
	fifo_append(s, it->start + skip, pcm + skip, n - skip);
	s->last_audio_end = it->start + n;
	s->last_quiet = quiet(it, pcm, n);
}

/*
 * Whether a gap before `next` (NULL: not come yet) is concealed: after a loss, or after a loud
 * packet (a late packet or a step in the room-time mapping). A gap after a quiet or DTX packet
 * with no loss reported is DTX: silence.
 */
static bool gap_is_loss(const struct source *s, const struct aq_item *next)
{
	return !s->last_quiet || (next && next->loss_before);
}

/* Decodes queued packets until the FIFO covers [.., end), concealing short gaps. */
static void fill(struct source *s, int64_t end, int64_t plc_max, struct mix_engine_stats *st)
{
	while (s->aq_len > 0 && (!s->fifo_started || fifo_end(s) < end)) {
		struct aq_item *it = &s->aq[s->aq_head];
		if (it->start >= end)
			break;
		if (s->fifo_started && it->start + it->samples <= fifo_end(s)) {
			st->audio_late_packets++;
			aq_pop(s);
			continue;
		}
		int64_t gap = s->fifo_started ? it->start - fifo_end(s) : 0;
		if (gap > 0 && gap <= plc_max && gap_is_loss(s, it))
			recover(s, it, st);
		if (it->stamp.handed_us && it->start >= end - MIX_AUDIO_FRAME)
			s->lat.a = it->stamp; /* its first sample is this tick's */
		decode_packet(s, it, st);
		aq_pop(s);
	}
	if (s->fifo_started && fifo_end(s) < end &&
	    gap_is_loss(s, s->aq_len > 0 ? &s->aq[s->aq_head] : NULL) &&
	    end - s->last_audio_end <= plc_max)
		conceal(s, end, st);
}

static void copy_tick(const struct source *s, int64_t S, int16_t *out)
{
	memset(out, 0, sizeof(int16_t) * MIX_AUDIO_FRAME);
	if (!s->fifo_started)
		return;
	int64_t from = S > s->fifo_s ? S : s->fifo_s;
	int64_t to = S + MIX_AUDIO_FRAME < fifo_end(s) ? S + MIX_AUDIO_FRAME : fifo_end(s);
	if (to > from)
		memcpy(out + (from - S), s->fifo + (from - s->fifo_s),
		       (size_t)(to - from) * sizeof(int16_t));
}

float source_audio_level(struct source *s, int64_t S, int64_t plc_max, struct mix_engine_stats *st)
{
	int64_t end = S + MIX_AUDIO_FRAME;
	s->tick_filled = false;
	if (s->hdr_levels) {
		int lvl = -1;
		for (int i = 0; i < s->aq_len; i++) {
			const struct aq_item *it = &s->aq[(s->aq_head + i) % SRC_AQ_CAP];
			if (it->start >= end)
				break;
			if (it->start + it->samples > S && it->level >= 0 &&
			    (lvl < 0 || it->level < lvl))
				lvl = it->level;
		}
		return lvl < 0 ? MIX_SILENCE_DBOV : (float)-lvl;
	}
	fill(s, end, plc_max, st);
	s->tick_filled = true;
	int16_t pcm[MIX_AUDIO_FRAME];
	copy_tick(s, S, pcm);
	return mix_audio_level_dbov(pcm, MIX_AUDIO_FRAME);
}

void source_audio_pcm(struct source *s, int64_t S, int64_t plc_max, int16_t *out,
                      struct mix_engine_stats *st)
{
	if (!s->tick_filled)
		fill(s, S + MIX_AUDIO_FRAME, plc_max, st);
	copy_tick(s, S, out);
}

void source_audio_done(struct source *s, int64_t S)
{
	int64_t end = S + MIX_AUDIO_FRAME;
	s->lat.a = (struct lat_stamp){0};
	/* Packets of an unmixed source that reports levels are skipped undecoded. */
	while (s->aq_len > 0 && s->aq[s->aq_head].start + s->aq[s->aq_head].samples <= end) {
		s->last_quiet = quiet(&s->aq[s->aq_head], NULL, 0);
		aq_pop(s);
	}
	if (!s->fifo_started)
		return;
	int64_t drop = end - s->fifo_s;
	if (drop <= 0)
		return;
	if (drop >= s->fifo_len) {
		s->fifo_s = end;
		s->fifo_len = 0;
		return;
	}
	memmove(s->fifo, s->fifo + drop, (size_t)(s->fifo_len - drop) * sizeof(int16_t));
	s->fifo_len -= (int)drop;
	s->fifo_s = end;
}
