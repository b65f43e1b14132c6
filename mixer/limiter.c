/*
 * limiter.c - the audio sample path: one int32 sum, minus own, one limiter to int16
 * (see mix/audio_mix.h).
 *
 * The limiter works per 20 ms block: it finds the block's peak |sum - own| (int64, so no
 * intermediate can overflow) and the gain that would bring it to 32767. A lower gain is
 * taken at once for the whole block (attack: no sample clips or wraps); a higher one is
 * approached by 10 % of the remaining distance per block (release, ~0.2 s time constant),
 * never above that block's safe gain, and snaps to exactly 1.0 within 1e-3. At gain 1 the
 * output is sum - own itself, so mix-minus is exact below full scale.
 * Thread: the room's mixing thread; a struct mix_limiter belongs to one output stream.
 */
#include <stddef.h>
#include <string.h>

#include "mix/audio_mix.h"

#define FULL_SCALE   32767
#define RELEASE_STEP 0.1f
#define SNAP_EPS     1e-3f

void mix_audio_sum(const int16_t *const *pcm, int n, int32_t *sum)
{
	if (!sum)
		return;
	memset(sum, 0, MIX_AUDIO_FRAME * sizeof(*sum));
	if (!pcm)
		return;
	for (int k = 0; k < n; k++) {
		const int16_t *p = pcm[k];
		for (int i = 0; i < MIX_AUDIO_FRAME; i++)
			sum[i] += p[i];
	}
}

void mix_limiter_init(struct mix_limiter *lim)
{
	if (lim)
		lim->gain = 1.0f;
}

static int64_t sample_at(const int32_t *sum, const int16_t *own, int i)
{
	return own ? (int64_t)sum[i] - own[i] : sum[i];
}

static int64_t block_peak(const int32_t *sum, const int16_t *own)
{
	int64_t peak = 0;
	for (int i = 0; i < MIX_AUDIO_FRAME; i++) {
		int64_t v = sample_at(sum, own, i);
		if (v < 0)
			v = -v;
		if (v > peak)
			peak = v;
	}
	return peak;
}

/* Attack at once to the safe gain, else release toward 1 without exceeding it. */
static float next_gain(float gain, int64_t peak)
{
	float safe = peak > FULL_SCALE ? (float)FULL_SCALE / (float)peak : 1.0f;
	if (!(gain > 0.0f && gain <= 1.0f)) /* corrupt or uninitialised state */
		gain = 1.0f;
	if (safe < gain)
		return safe;
	gain += (1.0f - gain) * RELEASE_STEP;
	if (1.0f - gain < SNAP_EPS)
		gain = 1.0f;
	return gain < safe ? gain : safe;
}

static int16_t clamp16(int64_t v)
{
	if (v > FULL_SCALE)
		return FULL_SCALE;
	if (v < -FULL_SCALE - 1)
		return -FULL_SCALE - 1;
	return (int16_t)v;
}

void mix_audio_minus_limit(const int32_t *sum, const int16_t *own, int16_t *out,
                           struct mix_limiter *lim)
{
	if (!sum || !out || !lim)
		return;
	float gain = next_gain(lim->gain, block_peak(sum, own));
	lim->gain = gain;
	if (gain == 1.0f) {
		for (int i = 0; i < MIX_AUDIO_FRAME; i++)
			out[i] = clamp16(sample_at(sum, own, i));
		return;
	}
	/* Truncation toward zero keeps |out| <= |sum - own| * gain <= 32767 and the sign. */
	for (int i = 0; i < MIX_AUDIO_FRAME; i++)
		out[i] = clamp16((int64_t)((float)sample_at(sum, own, i) * gain));
}
