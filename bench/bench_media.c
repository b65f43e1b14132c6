/*
 * bench_media.c - mcu-bench's synthetic participants: generated clips pre-read into memory.
 *
 * Each clip's VP8 frames and Opus packets are copied into one arena so that the benchmark
 * measures the engine, not file I/O. Each Opus packet gets the RFC 6464 level a browser would
 * have sent with it (RMS of its decoded samples, measured here at load time, untimed).
 * A silent track (one encoded 20 ms packet of zeros, repeated, level 127) stands in for
 * participants that do not talk.
 * Single-threaded; the bench_media owns every buffer (bench_media_free releases them).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mix/media_file.h"
#include "mix/opus.h"

static int arena_add(struct bench_clip *c, const uint8_t *data, size_t len, size_t *off)
{
	if (c->arena_len + len > c->arena_cap) {
		size_t cap = c->arena_cap ? c->arena_cap * 2 : 1 << 20;
		while (cap < c->arena_len + len)
			cap *= 2;
		uint8_t *a = realloc(c->arena, cap);
		if (!a)
			return -ENOMEM;
		c->arena = a;
		c->arena_cap = cap;
	}
	memcpy(c->arena + c->arena_len, data, len);
	*off = c->arena_len;
	c->arena_len += len;
	return 0;
}

static int pkts_push(struct bench_pkt **v, int *n, const struct bench_pkt *p)
{
	if ((*n & (*n - 1)) == 0 || *n == 0) {
		size_t cap = *n ? (size_t)*n * 2 : 64;
		struct bench_pkt *nv = realloc(*v, cap * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = *p;
	return 0;
}

/* RFC 6464 level of decoded samples: -dBov of their RMS, 0..127. */
static int level_of(const int16_t *pcm, int n)
{
	double acc = 0;
	for (int i = 0; i < n; i++)
		acc += (double)pcm[i] * pcm[i];
	double rms = n > 0 ? sqrt(acc / n) / 32768.0 : 0;
	if (rms <= 0)
		return 127;
	double db = -20.0 * log10(rms);
	return db > 127 ? 127 : db < 0 ? 0 : (int)db;
}

static int add_packet(struct bench_clip *c, struct mix_opus_dec *dec, int16_t *pcm,
                      const struct mix_reader_packet *rp)
{
	struct bench_pkt p = {.pts_us = rp->pts_us, .size = rp->size, .level = -1};
	int rc = arena_add(c, rp->data, rp->size, &p.off);
	if (rc < 0)
		return rc;
	if (rp->kind == MIX_VIDEO)
		return pkts_push(&c->video, &c->nvideo, &p);
	int ns = mix_opus_dec_decode(dec, rp->data, rp->size, pcm);
	p.level = level_of(pcm, ns > 0 ? ns : 0);
	return pkts_push(&c->audio, &c->naudio, &p);
}

static int load_clip(struct bench_clip *c, const char *path, char *err, size_t errlen)
{
	struct mix_reader *rd = NULL;
	struct mix_opus_dec *dec = NULL;
	int16_t *pcm = malloc(sizeof(int16_t) * MIX_OPUS_MAX_SAMPLES);
	int rc = pcm ? mix_reader_open(&rd, path, err, errlen) : -ENOMEM;
	if (rc == 0)
		rc = mix_opus_dec_alloc(&dec);
	if (rc == 0) {
		c->preskip = mix_reader_preskip(rd);
		c->dur_us = mix_reader_duration_us(rd);
	}
	while (rc == 0) {
		struct mix_reader_packet rp;
		rc = mix_reader_read(rd, &rp, err, errlen);
		if (rc == 1) {
			rc = 0;
			break;
		}
		if (rc == 0)
			rc = add_packet(c, dec, pcm, &rp);
	}
	mix_opus_dec_free(&dec);
	mix_reader_close(&rd);
	free(pcm);
	if (rc == 0 && (c->nvideo == 0 || c->naudio == 0)) {
		snprintf(err, errlen, "%s: needs VP8 video and Opus audio", path);
		rc = -EINVAL;
	}
	return rc;
}

/* The silent track: 20 ms packets of encoded zeros every 20 ms for dur_us. */
static int make_silence(struct bench_clip *c, int64_t dur_us)
{
	struct mix_opus_enc_cfg cfg;
	mix_opus_enc_cfg_default(&cfg);
	struct mix_opus_enc *enc = NULL;
	int rc = mix_opus_enc_alloc(&enc, &cfg);
	int16_t zeros[960] = {0};
	struct mix_packet *pk = NULL;
	for (int i = 0; i < 3 && rc == 0; i++) { /* the first packets carry start-up state */
		mix_packet_unref(&pk);
		rc = mix_opus_enc_encode(enc, zeros, 0, &pk);
	}
	size_t off = 0;
	if (rc == 0)
		rc = arena_add(c, pk->data, pk->size, &off);
	for (int64_t t = 0; rc == 0 && t < dur_us; t += 20000) {
		struct bench_pkt p = {.pts_us = t, .off = off, .size = pk->size, .level = 127};
		rc = pkts_push(&c->audio, &c->naudio, &p);
	}
	mix_packet_unref(&pk);
	mix_opus_enc_free(&enc);
	c->dur_us = dur_us;
	return rc;
}

void bench_clip_path(const struct bench_paths *p, const char *res, int i, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/c%d.webm", p->media_dir, res, i % BENCH_CLIPS + 1);
}

const char *bench_layer_res(int layer)
{
	static const char *const res[BENCH_LAYERS] = {"180p", "360p", "720p"};
	return layer >= 0 && layer < BENCH_LAYERS ? res[layer] : "?";
}

int bench_layer_of(const char *res)
{
	for (int i = 0; i < BENCH_LAYERS; i++)
		if (!strcmp(res, bench_layer_res(i)))
			return i;
	return -1;
}

int bench_media_load(struct bench_media *m, const char *dir, const char *res, char *err,
                     size_t errlen)
{
	memset(m, 0, sizeof(*m));
	struct bench_paths p = {.media_dir = dir};
	int rc = 0;
	for (int i = 0; i < BENCH_CLIPS && rc == 0; i++) {
		char path[1024];
		bench_clip_path(&p, res, i, path, sizeof(path));
		rc = load_clip(&m->clip[i], path, err, errlen);
		int64_t d = m->clip[i].dur_us;
		if (rc == 0 && (m->dur_us == 0 || (d > 0 && d < m->dur_us)))
			m->dur_us = d;
	}
	if (rc == 0)
		rc = make_silence(&m->silence, m->dur_us);
	if (rc < 0)
		bench_media_free(m);
	return rc;
}

static void clip_free(struct bench_clip *c)
{
	free(c->video);
	free(c->audio);
	free(c->arena);
	memset(c, 0, sizeof(*c));
}

void bench_media_free(struct bench_media *m)
{
	for (int i = 0; i < BENCH_CLIPS; i++)
		clip_free(&m->clip[i]);
	clip_free(&m->silence);
}
