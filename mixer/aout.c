/*
 * aout.c - the audio tick: levels, speaker selection, one int32 sum, mix-minus, Opus/AAC encoders.
 *
 * Every 20 ms: each source reports a level (from RFC 6464 or by decoding), the mixer picks the
 * K loudest with hysteresis, only those are decoded (when levels came from headers) and summed
 * once. An aout is keyed by the source it subtracts, its codec and (Opus) its bitrate: a
 * recipient whose own source is mixed gets sum - own from its own encoder; every other
 * recipient on the same bitrate shares the full-sum encoder of that bitrate. So a room needs at
 * most K + 1 Opus encoders per bitrate its listeners are on (one per ladder rung's audio
 * bitrate: 3 distinct by default) however many listen, plus one AAC encoder of the full sum
 * while an MP4 recording runs (an AAC aout buffers the 20 ms ticks into 1024-sample frames and
 * may send nothing, or more than one packet, on a tick). A recipient whose key no aout has
 * takes over an Opus aout of its mix that nobody is left on, re-tuned to its bitrate (a lone
 * listener who changes rung keeps its stream's encoder), before a new encoder is started.
 * Engine thread only; the engine owns aouts; recipients point at them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "mcu/ptrarray.h"
#include "mix/aac.h"

#define MAX_MIXED 64

struct aout {
	uint32_t minus;           /* the source subtracted, or MIX_NO_SOURCE for the full mix */
	int codec;                /* enum mix_audio_codec */
	int bitrate;              /* Opus bit/s (0 for AAC) */
	struct mix_opus_enc *enc; /* Opus */
	struct mix_aac_enc *aac;  /* AAC */
	struct mix_limiter lim;
	int matched;
	int64_t lat_encoded_us; /* latency: its last packet's encode end, until sent (0: none) */
};

void aout_free(struct aout **ap)
{
	struct aout *a = *ap;
	if (!a)
		return;
	mix_opus_enc_free(&a->enc);
	mix_aac_enc_free(&a->aac);
	free(a);
	*ap = NULL;
}

void aouts_release_recipient(struct mix_engine *e, struct recipient *r)
{
	r->aout = NULL;
}

/* The bitrate part of r's aout key: its Opus bitrate, 0 for AAC (which has a fixed one). */
static int key_bitrate(const struct recipient *r)
{
	return r->opts.audio_codec == MIX_ACODEC_OPUS ? r->opts.audio_bitrate : 0;
}

static int aenc_alloc(struct mix_engine *e, struct aout *a)
{
	if (a->codec == MIX_ACODEC_AAC) {
		struct mix_aac_enc_cfg ac;
		mix_aac_enc_cfg_default(&ac);
		return mix_aac_enc_alloc(&a->aac, &ac);
	}
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	oc.bitrate_bps = a->bitrate;
	oc.complexity = e->cfg.opus_complexity;
	oc.inband_fec = e->cfg.opus_fec;
	oc.packet_loss_perc = e->cfg.opus_fec ? 10 : 0;
	return mix_opus_enc_alloc(&a->enc, &oc);
}

static int aout_new(struct mix_engine *e, uint32_t minus, int codec, int bitrate, struct aout **out)
{
	struct aout *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->codec = codec;
	a->bitrate = bitrate;
	int rc = aenc_alloc(e, a);
	if (rc < 0) {
		aout_free(&a);
		return rc;
	}
	a->minus = minus;
	mix_limiter_init(&a->lim);
	*out = a;
	return 0;
}

static struct aout *find_aout(struct mix_engine *e, uint32_t minus, int codec, int bitrate)
{
	for (int i = 0; i < e->naout; i++) {
		struct aout *a = e->aout[i];
		if (a->minus == minus && a->codec == codec && a->bitrate == bitrate)
			return a;
	}
	return NULL;
}

/* An Opus aout of this mix nobody is on this tick, re-tuned to bitrate; NULL if none. */
static struct aout *retune_spare(struct mix_engine *e, uint32_t minus, int codec, int bitrate)
{
	if (codec != MIX_ACODEC_OPUS)
		return NULL;
	for (int i = 0; i < e->naout; i++) {
		struct aout *a = e->aout[i];
		if (a->minus == minus && a->codec == codec && !a->matched && a->enc &&
		    mix_opus_enc_set_bitrate(a->enc, bitrate) == 0) {
			a->bitrate = bitrate;
			return a;
		}
	}
	return NULL;
}

static int get_aout(struct mix_engine *e, uint32_t minus, int codec, int bitrate, struct aout **out)
{
	if ((*out = find_aout(e, minus, codec, bitrate)) ||
	    (*out = retune_spare(e, minus, codec, bitrate)))
		return 0;
	int rc = ptrarray_reserve((void ***)&e->aout, e->naout, &e->cap_aout);
	if (rc == 0)
		rc = aout_new(e, minus, codec, bitrate, out);
	if (rc == 0)
		e->aout[e->naout++] = *out;
	return rc;
}

static bool in_set(const uint32_t *set, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

static uint32_t minus_of(const struct recipient *r, const uint32_t *mixed, int nmixed)
{
	return in_set(mixed, nmixed, r->opts.self) ? r->opts.self : MIX_NO_SOURCE;
}

/*
 * Gives every audio recipient its output for this tick and frees outputs nobody uses: first
 * every recipient whose key an aout has, then the others (so a spare aout is one nobody
 * keeps).
 */
static int assign(struct mix_engine *e, const uint32_t *mixed, int nmixed)
{
	for (int i = 0; i < e->naout; i++)
		e->aout[i]->matched = 0;
	for (int i = 0; i < e->nrcp; i++) {
		struct recipient *r = e->rcp[i];
		r->aout = NULL;
		if (!r->opts.audio)
			continue;
		r->aout =
		    find_aout(e, minus_of(r, mixed, nmixed), r->opts.audio_codec, key_bitrate(r));
		if (r->aout)
			r->aout->matched++;
	}
	for (int i = 0; i < e->nrcp; i++) {
		struct recipient *r = e->rcp[i];
		if (!r->opts.audio || r->aout)
			continue;
		int rc = get_aout(e, minus_of(r, mixed, nmixed), r->opts.audio_codec,
		                  key_bitrate(r), &r->aout);
		if (rc < 0)
			return rc;
		r->aout->matched++;
	}
	int j = 0;
	for (int i = 0; i < e->naout; i++) {
		if (e->aout[i]->matched)
			e->aout[j++] = e->aout[i];
		else
			aout_free(&e->aout[i]);
	}
	e->naout = j;
	return 0;
}

static void update_levels(struct mix_engine *e, int64_t S, int64_t plc_max)
{
	double t0 = engine_cpu_now();
	for (int i = 0; i < e->nsrc; i++) {
		struct source *s = e->src[i];
		float level =
		    s->audio_muted ? MIX_SILENCE_DBOV : source_audio_level(s, S, plc_max, &e->st);
		mix_audio_set_level(e->amix, s->id, level);
	}
	engine_stage_add(e, MIX_STAGE_AUDIO_DECODE, t0);
}

/* Selection and speaker state; marks the tiles dirty when either changed. */
static int select_speakers(struct mix_engine *e, uint32_t *mixed)
{
	int n = mix_audio_select(e->amix, mixed, MAX_MIXED);
	uint64_t tick = e->audio_tick + 1;
	for (int i = 0; i < n; i++) {
		struct source *s = engine_source(e, mixed[i]);
		if (s && s->last_spoke + 1 != tick)
			e->tiles_dirty = true; /* a new recent speaker can change who is shown */
		if (s)
			s->last_spoke = tick;
	}
	uint32_t sp = mix_audio_active_speaker(e->amix);
	if (sp != e->active_speaker) {
		e->active_speaker = sp;
		e->tiles_dirty = true;
		if (e->cfg.cb.on_active_speaker)
			e->cfg.cb.on_active_speaker(e->cfg.cb.opaque, sp);
	}
	return n;
}

#define MAX_TICK_PACKETS 4 /* AAC: 960 samples in, 1024-sample frames out, so 0 or 1 */

static void send_packet(struct mix_engine *e, struct aout *a, struct mix_packet **p)
{
	e->st.audio_packets_encoded++;
	for (int i = 0; i < e->nrcp; i++)
		if (e->rcp[i]->aout == a)
			engine_emit(e, e->rcp[i]->id, *p);
	mix_packet_unref(p);
}

/* Opus: one packet per tick, stamped with the time of its first decoded sample. */
static int encode_opus(struct aout *a, const int16_t *pcm, int64_t t_us, struct mix_packet **p,
                       int *n)
{
	int64_t delay_us = mix_opus_enc_lookahead(a->enc) * 1000000LL / MIX_AUDIO_RATE;
	int rc = mix_opus_enc_encode(a->enc, pcm, t_us - delay_us, &p[0]);
	*n = rc == 0 ? 1 : 0;
	return rc;
}

/* AAC: the encoder buffers 1024-sample frames and stamps its packets itself. */
static int encode_aac(struct aout *a, const int16_t *pcm, int64_t t_us, struct mix_packet **p,
                      int *n)
{
	int rc = mix_aac_enc_push(a->aac, pcm, MIX_AUDIO_FRAME, samples_of_us(t_us));
	*n = 0;
	while (*n < MAX_TICK_PACKETS && mix_aac_enc_pull(a->aac, &p[*n]) == 1)
		(*n)++;
	return rc;
}

/* Latency of a's packets encoded on the tick that started at wall_us (0: latency off). */
static void lat_encoded(struct mix_engine *e, struct aout *a, int64_t wall_us)
{
	int64_t now = mix_mono_us();
	engine_lat_add(e, MIX_LAT_AUDIO_ENCODE, now, now - wall_us);
	a->lat_encoded_us = now;
}

void aouts_lat_sent(struct mix_engine *e, int64_t now_us)
{
	for (int i = 0; i < e->naout; i++) {
		struct aout *a = e->aout[i];
		if (a->lat_encoded_us)
			engine_lat_add(e, MIX_LAT_AUDIO_SEND, now_us, now_us - a->lat_encoded_us);
		a->lat_encoded_us = 0;
	}
}

/* A mixed source's packet whose first sample is this tick's: its wait, its total to come. */
static void lat_mixed(struct mix_engine *e, struct source *s, int64_t wall_us)
{
	if (!s->lat.a.handed_us)
		return;
	engine_lat_add(e, MIX_LAT_AUDIO_WAIT, wall_us, wall_us - s->lat.a.handed_us);
	if (!s->lat.a_sent_arrived)
		s->lat.a_sent_arrived = s->lat.a.arrived_us;
}

static int encode_and_send(struct mix_engine *e, struct aout *a, const int32_t *sum,
                           const int16_t *own, int64_t t_us, int64_t wall_us)
{
	int16_t out[MIX_AUDIO_FRAME];
	double t0 = engine_cpu_now();
	mix_audio_minus_limit(sum, own, out, &a->lim);
	engine_stage_add(e, MIX_STAGE_AUDIO_MIX, t0);
	t0 = engine_cpu_now();
	struct mix_packet *p[MAX_TICK_PACKETS];
	int n = 0;
	int rc = a->aac ? encode_aac(a, out, t_us, p, &n) : encode_opus(a, out, t_us, p, &n);
	engine_stage_add(e, MIX_STAGE_AUDIO_ENCODE, t0);
	if (wall_us && n > 0)
		lat_encoded(e, a, wall_us);
	for (int i = 0; i < n; i++)
		send_packet(e, a, &p[i]);
	return rc;
}

int aouts_tick(struct mix_engine *e, int64_t t_us)
{
	static const int16_t zeros[MIX_AUDIO_FRAME];
	int64_t S = samples_of_us(t_us), plc_max = samples_of_us(e->cfg.plc_max_us);
	uint32_t mixed[MAX_MIXED];
	int16_t pcm[MAX_MIXED][MIX_AUDIO_FRAME];
	const int16_t *ptr[MAX_MIXED];
	int32_t sum[MIX_AUDIO_FRAME];
	int64_t wall_us = e->lat ? mix_mono_us() : 0; /* the tick's start, for the latency */

	update_levels(e, S, plc_max);
	int n = select_speakers(e, mixed);
	double t0 = engine_cpu_now();
	for (int i = 0; i < n; i++) {
		struct source *s = engine_source(e, mixed[i]);
		if (s && s->audio_muted) /* still in the set for its hangover: silent */
			s = NULL;
		if (s)
			source_audio_pcm(s, S, plc_max, pcm[i], &e->st);
		if (s && wall_us)
			lat_mixed(e, s, wall_us);
		if (!s)
			memcpy(pcm[i], zeros, sizeof(zeros));
		ptr[i] = pcm[i];
	}
	for (int i = 0; i < e->nsrc; i++)
		source_audio_done(e->src[i], S);
	engine_stage_add(e, MIX_STAGE_AUDIO_DECODE, t0);
	t0 = engine_cpu_now();
	mix_audio_sum(ptr, n, sum);
	engine_stage_add(e, MIX_STAGE_AUDIO_MIX, t0);

	int rc = assign(e, mixed, n);
	for (int i = 0; i < e->naout && rc == 0; i++) {
		struct aout *a = e->aout[i];
		const int16_t *own = NULL;
		for (int k = 0; k < n; k++)
			if (mixed[k] == a->minus)
				own = pcm[k];
		rc = encode_and_send(e, a, sum, own, t_us, wall_us);
	}
	return rc;
}
