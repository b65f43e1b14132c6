/*
 * playout.c - a participant's adaptive playout delay (see playout.h).
 * Its loop only.
 */
#include <stdint.h>
#include <string.h>

#include "session/playout.h"

#define AUDIO_PERMILLE 999
#define VIDEO_PERMILLE 990

void playout_init(struct playout *po, int64_t floor_us, int64_t ceil_us)
{
	memset(po, 0, sizeof(*po));
	po->floor_us = floor_us;
	po->ceil_us = ceil_us > floor_us ? ceil_us : floor_us;
	po->last_loss = INT64_MIN;
}

static void hist_rotate(struct playout_hist *h)
{
	memcpy(h->n[1], h->n[0], sizeof(h->n[0]));
	memset(h->n[0], 0, sizeof(h->n[0]));
	h->total[1] = h->total[0];
	h->total[0] = 0;
}

/* Starts a new half window when the current one is over (both histograms together). */
static void rotate(struct playout *po, int64_t now)
{
	if (!po->started) {
		po->started = true;
		po->half_start = now;
	} else if (now - po->half_start >= PLAYOUT_HALF_US) {
		hist_rotate(&po->audio);
		hist_rotate(&po->video);
		po->half_start = now;
	}
}

void playout_note(struct playout *po, bool video, int64_t late_us, int64_t now)
{
	rotate(po, now);
	struct playout_hist *h = video ? &po->video : &po->audio;
	int64_t b = late_us <= 0 ? 0 : late_us / 1000;
	if (b >= PLAYOUT_BUCKETS)
		b = PLAYOUT_BUCKETS - 1;
	if (h->n[0][b] == UINT16_MAX)
		return; /* a full bucket: the half window has its answer */
	h->n[0][b]++;
	h->total[0]++;
}

void playout_note_loss(struct playout *po, int64_t now)
{
	po->last_loss = now;
}

/* The lateness (us, bucket's upper edge) that permille of the window's packets do not exceed. */
static int64_t quantile(const struct playout_hist *h, int permille)
{
	uint64_t total = (uint64_t)h->total[0] + h->total[1];
	if (total == 0)
		return 0;
	uint64_t want = (total * (uint64_t)permille + 999) / 1000, seen = 0;
	for (int b = 0; b < PLAYOUT_BUCKETS; b++) {
		seen += (uint64_t)h->n[0][b] + h->n[1][b];
		if (seen >= want)
			return (int64_t)(b + 1) * 1000;
	}
	return (int64_t)PLAYOUT_BUCKETS * 1000;
}

static int64_t clamp(const struct playout *po, int64_t d)
{
	return d < po->floor_us ? po->floor_us : d > po->ceil_us ? po->ceil_us : d;
}

int64_t playout_target_video(const struct playout *po)
{
	return clamp(po, quantile(&po->video, VIDEO_PERMILLE) + PLAYOUT_MARGIN_US);
}

int64_t playout_target_audio(const struct playout *po, int64_t now)
{
	int64_t d = quantile(&po->audio, AUDIO_PERMILLE) + PLAYOUT_MARGIN_US;
	if (po->last_loss != INT64_MIN && now - po->last_loss < PLAYOUT_LOSS_US)
		d += PLAYOUT_FEC_US;
	int64_t v = playout_target_video(po) - PLAYOUT_AV_MAX_US;
	return clamp(po, d > v ? d : v);
}
