/*
 * media.c - the clip read once and its per-client replay (see media.h).
 *
 * clip_load() demuxes with the engine's reader (mixer/reader.c: WebM, Matroska, Ogg, IVF) and
 * copies every packet into one growing arena. Opus packets are decoded once, here, only to
 * compute the RFC 6464 level a browser would put in each packet's header extension.
 * The loop period is the longer stream's length (last pts plus one frame or packet), so audio
 * and video restart together. Any thread may load; the clip is immutable afterwards.
 * A replay is plain state owned by one client (GLib loop thread).
 */
#include "media.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mix/media_file.h"
#include "mix/opus.h"

#define RESYNC_LAG_US 1000000

static int arena_add(struct clip *c, const uint8_t *data, size_t size, uint32_t *off)
{
	if (size > CLIP_MAX_BYTES || c->len + size > CLIP_MAX_BYTES)
		return -E2BIG;
	if (c->len + size > c->cap) {
		size_t cap = c->cap ? c->cap : 1 << 20;
		while (cap < c->len + size)
			cap *= 2;
		uint8_t *p = realloc(c->data, cap);
		if (!p)
			return -ENOMEM;
		c->data = p;
		c->cap = cap;
	}
	memcpy(c->data + c->len, data, size);
	*off = (uint32_t)c->len;
	c->len += size;
	return 0;
}

static int list_add(struct clip_pkt **list, int *n, int *cap, const struct clip_pkt *p)
{
	if (*n >= CLIP_MAX_PACKETS)
		return -E2BIG;
	if (*n == *cap) {
		int nc = *cap ? *cap * 2 : 1024;
		struct clip_pkt *l = realloc(*list, (size_t)nc * sizeof(*l));
		if (!l)
			return -ENOMEM;
		*list = l;
		*cap = nc;
	}
	(*list)[(*n)++] = *p;
	return 0;
}

static int add_packet(struct clip *c, const struct mix_reader_packet *rp)
{
	struct clip_pkt p = {.size = (uint32_t)rp->size, .pts_us = rp->pts_us, .key = rp->keyframe};
	int rc = arena_add(c, rp->data, rp->size, &p.off);
	if (rc < 0)
		return rc;
	if (rp->kind == MIX_VIDEO)
		return list_add(&c->video, &c->nvideo, &c->vcap, &p);
	return list_add(&c->audio, &c->naudio, &c->acap, &p);
}

/* Reads the packets of `want` kinds (bit 1 << MIX_VIDEO / MIX_AUDIO) from one file. */
static int read_file(struct clip *c, const char *path, unsigned want, char *err, size_t errlen)
{
	struct mix_reader *r = NULL;
	int rc = mix_reader_open(&r, path, err, errlen);
	if (rc < 0)
		return rc;
	if (((want >> MIX_VIDEO) & 1) && !mix_reader_has_video(r))
		rc = -ENOTSUP;
	if (((want >> MIX_AUDIO) & 1) && !mix_reader_has_audio(r))
		rc = -ENOTSUP;
	if (rc < 0)
		snprintf(err, errlen, "%s: no %s stream", path,
		         ((want >> MIX_VIDEO) & 1) && !mix_reader_has_video(r) ? "VP8" : "Opus");
	struct mix_reader_packet rp;
	while (rc == 0 && (rc = mix_reader_read(r, &rp, err, errlen)) == 0)
		if ((want >> rp.kind) & 1)
			rc = add_packet(c, &rp);
	mix_reader_close(&r);
	if (rc == -E2BIG || rc == -ENOMEM)
		snprintf(err, errlen, "%s: %s", path,
		         rc == -E2BIG ? "clip too large" : "out of memory");
	return rc < 0 ? rc : 0;
}

/* RFC 6464 level of one decoded packet: -dBov of its RMS, 0..127. */
static uint8_t pcm_level(const int16_t *pcm, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += (double)pcm[i] * pcm[i];
	double rms = n > 0 ? sqrt(sum / n) / 32768.0 : 0;
	double db = rms > 0 ? -20.0 * log10(rms) : 127;
	return (uint8_t)(db > 127 ? 127 : db < 0 ? 0 : lrint(db));
}

static int compute_levels(struct clip *c)
{
	struct mix_opus_dec *d = NULL;
	int16_t *pcm = malloc(MIX_OPUS_MAX_SAMPLES * sizeof(*pcm));
	int rc = pcm ? mix_opus_dec_alloc(&d) : -ENOMEM;
	for (int i = 0; rc == 0 && i < c->naudio; i++) {
		struct clip_pkt *p = &c->audio[i];
		int n = mix_opus_dec_decode(d, c->data + p->off, p->size, pcm);
		p->level = n > 0 ? pcm_level(pcm, n) : 127;
	}
	mix_opus_dec_free(&d);
	free(pcm);
	return rc;
}

/* Sets the loop period and frame rate; checks the clip can be replayed. */
static int finish_clip(struct clip *c, char *err, size_t errlen)
{
	int64_t vend = 0, aend = 0;
	if (c->nvideo > 0 && !c->video[0].key) {
		snprintf(err, errlen, "the video does not start with a keyframe");
		return -EINVAL;
	}
	if (c->nvideo > 1) {
		int64_t span = c->video[c->nvideo - 1].pts_us - c->video[0].pts_us;
		c->fps = span > 0 ? (c->nvideo - 1) * 1e6 / span : 30;
		vend = c->video[c->nvideo - 1].pts_us + (int64_t)(1e6 / c->fps);
	}
	if (c->naudio > 0)
		aend = c->audio[c->naudio - 1].pts_us + 20000;
	c->period_us = vend > aend ? vend : aend;
	if (c->period_us < 100000 || (c->nvideo == 0 && c->naudio == 0)) {
		snprintf(err, errlen, "the clip is empty or shorter than 100 ms");
		return -EINVAL;
	}
	return 0;
}

int clip_load(struct clip **out, const char *video_path, const char *audio_path, char *err,
              size_t errlen)
{
	struct clip *c = calloc(1, sizeof(*c));
	int rc = c ? 0 : -ENOMEM;
	bool same = video_path && audio_path && !strcmp(video_path, audio_path);
	*out = NULL;
	if (rc == 0 && video_path)
		rc = read_file(c, video_path, 1u << MIX_VIDEO | (same ? 1u << MIX_AUDIO : 0), err,
		               errlen);
	if (rc == 0 && audio_path && !same)
		rc = read_file(c, audio_path, 1u << MIX_AUDIO, err, errlen);
	if (rc == 0)
		rc = compute_levels(c);
	if (rc == 0)
		rc = finish_clip(c, err, errlen);
	if (rc < 0) {
		clip_free(&c);
		return rc;
	}
	*out = c;
	return 0;
}

void clip_free(struct clip **c)
{
	if (!*c)
		return;
	free((*c)->data);
	free((*c)->video);
	free((*c)->audio);
	free(*c);
	*c = NULL;
}

/* ---- replay ---- */

void replay_init(struct replay *r, const struct clip *clip, int64_t start_us, uint32_t vts0,
                 uint32_t ats0)
{
	memset(r, 0, sizeof(*r));
	r->clip = clip;
	r->start_us = start_us;
	r->vts0 = vts0;
	r->ats0 = ats0;
}

/* The due time of one stream's next packet; wraps the loop. INT64_MAX if the stream is empty. */
static int64_t due_at(const struct replay *r, const struct clip_pkt *list, int n, int *i,
                      int64_t *base)
{
	if (n == 0)
		return INT64_MAX;
	if (*i >= n) {
		*i = 0;
		*base += r->clip->period_us;
	}
	return r->start_us + *base + list[*i].pts_us;
}

/* Falling more than RESYNC_LAG_US behind (a stalled loop): skip ahead instead of bursting. */
static void check_lag(struct replay *r, int64_t now_us, int64_t due, int64_t *base)
{
	int64_t lag = now_us - due;
	if (lag > RESYNC_LAG_US) {
		*base += lag;
		r->resyncs++;
		lag = 0;
	}
	if (lag > r->max_lag_us)
		r->max_lag_us = lag;
}

int replay_next(struct replay *r, int64_t now_us, struct replay_pkt *p)
{
	const struct clip *c = r->clip;
	int64_t vdue = due_at(r, c->video, c->nvideo, &r->vi, &r->vbase);
	int64_t adue = due_at(r, c->audio, c->naudio, &r->ai, &r->abase);
	bool video = vdue <= adue;
	int64_t due = video ? vdue : adue;
	if (due > now_us)
		return 0;
	check_lag(r, now_us, due, video ? &r->vbase : &r->abase);
	const struct clip_pkt *cp = video ? &c->video[r->vi++] : &c->audio[r->ai++];
	int64_t media_us = (video ? r->vbase : r->abase) + cp->pts_us;
	p->kind = video ? REPLAY_VIDEO : REPLAY_AUDIO;
	p->data = c->data + cp->off;
	p->size = cp->size;
	p->key = cp->key;
	p->level = cp->level;
	p->rtp_ts = video ? r->vts0 + (uint32_t)(media_us * 90 / 1000)
	                  : r->ats0 + (uint32_t)(media_us * 48 / 1000);
	return 1;
}

void replay_skip_to_keyframe(struct replay *r)
{
	const struct clip *c = r->clip;
	if (c->nvideo == 0)
		return;
	if (r->vi >= c->nvideo) {
		r->vi = 0;
		r->vbase += c->period_us;
	}
	int k = r->vi;
	while (k < c->nvideo && !c->video[k].key)
		k++;
	if (k == r->vi)
		return;
	if (k == c->nvideo)
		k = 0; /* the clip starts with a keyframe */
	r->vbase += c->video[r->vi].pts_us - c->video[k].pts_us;
	r->vi = k;
	r->keyframe_skips++;
}
