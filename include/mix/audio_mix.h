/*
 * audio_mix.h - the per-recipient audio mixer: speaker selection, sum once, minus own, limit.
 *
 * Fixed format: 48 kHz mono int16, 20 ms ticks (MIX_AUDIO_FRAME samples).
 *  - Levels: every source reports a level each tick (dBov, <= 0; from its decoded PCM or from
 *    the RFC 6464 header extension). Levels are smoothed.
 *  - Selection: at most K sources are mixed (the K loudest smoothed levels). A source outside
 *    the set replaces the quietest member only when it is louder by hysteresis_db; sources
 *    below silence_dbov never enter. A removed source leaves the set at once.
 *  - Active speaker: the loudest smoothed source above silence_dbov, changed only when another
 *    source leads the current one by hysteresis_db for speaker_hold_ticks ticks in a row.
 *  - Mixing: one int32 sum of the selected sources' PCM; each output is sum (listeners) or
 *    sum minus one source (that speaker's own mix), then ONE limiter stage to int16. Below
 *    full scale the limiter is the identity, so sum - own is exact; above, a fast-attack,
 *    slow-release gain keeps the peak at or below 32767 (never wraps).
 * One mixer per room; single-threaded (the room's mixing thread). Sources are identified by
 * caller-chosen uint32 ids (MIX_NO_SOURCE is reserved).
 */
#ifndef MIX_AUDIO_MIX_H
#define MIX_AUDIO_MIX_H

#include <stdint.h>

#define MIX_AUDIO_RATE   48000
#define MIX_AUDIO_FRAME  960 /* samples per 20 ms tick */
#define MIX_NO_SOURCE    0xffffffffu
#define MIX_SILENCE_DBOV (-127.0f)

struct mix_audio_cfg {
	int max_mixed;          /* K, default 4, 1..64 */
	float hysteresis_db;    /* default 6 */
	float silence_dbov;     /* default -60: quieter sources are never selected */
	int speaker_hold_ticks; /* default 10 (200 ms) */
};

/* Fills cfg with the defaults above. */
void mix_audio_cfg_default(struct mix_audio_cfg *cfg);

struct mix_audio;

int mix_audio_alloc(struct mix_audio **out, const struct mix_audio_cfg *cfg);
void mix_audio_free(struct mix_audio **m);

/* Forgets a source (it leaves the mixed set and can no longer be the active speaker). */
void mix_audio_remove_source(struct mix_audio *m, uint32_t src);

/* Reports src's level for this tick (dBov, clamped to [-127, 0]). Unknown sources are added. */
int mix_audio_set_level(struct mix_audio *m, uint32_t src, float dbov);

/*
 * Updates the mixed set and the active speaker from the levels reported since the last call
 * (a known source that reported nothing this tick counts as silent). Call once per tick.
 * Writes the mixed sources (at most max) to out; returns how many.
 */
int mix_audio_select(struct mix_audio *m, uint32_t *out, int max);

/* True if src is in the current mixed set. */
int mix_audio_is_mixed(const struct mix_audio *m, uint32_t src);

/* The active speaker, or MIX_NO_SOURCE. */
uint32_t mix_audio_active_speaker(const struct mix_audio *m);

/* RMS level of n samples in dBov (full-scale square wave = 0), -127 for digital silence. */
float mix_audio_level_dbov(const int16_t *pcm, int n);

/* sum[i] = sum over k of pcm[k][i], for MIX_AUDIO_FRAME samples; pcm[k] may not be NULL. */
void mix_audio_sum(const int16_t *const *pcm, int n, int32_t *sum);

/* Limiter state: one per output stream. */
struct mix_limiter {
	float gain; /* 1.0 when idle */
};
void mix_limiter_init(struct mix_limiter *lim);

/*
 * out = limit(sum - own) for MIX_AUDIO_FRAME samples; own may be NULL (nothing subtracted).
 * Exact when every |sum - own| <= 32767 and the limiter's gain is back to 1.
 */
void mix_audio_minus_limit(const int32_t *sum, const int16_t *own, int16_t *out,
                           struct mix_limiter *lim);

#endif
