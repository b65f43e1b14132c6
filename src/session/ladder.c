/*
 * ladder.c - the ladder of video outputs and one recipient's place on it (see ladder.h).
 * Pure functions and plain data: any thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/ladder.h"

static int lfail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lfail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* One "WxH@F:KBPS[:AKBPS]" item; r->abitrate is 0 without the audio part. */
static int parse_rung(const char *item, int engine_fps, int audio_bitrate, struct rung *r,
                      char *err, size_t errlen)
{
	int w, h, fps, kbps, akbps = 0, end = 0;
	bool audio =
	    sscanf(item, "%dx%d@%d:%d:%d%n", &w, &h, &fps, &kbps, &akbps, &end) == 5 && !item[end];
	if (!audio) {
		akbps = 0;
		end = 0;
		if (sscanf(item, "%dx%d@%d:%d%n", &w, &h, &fps, &kbps, &end) != 4 || item[end])
			return lfail(err, errlen,
			             "ladder: '%s' is not WIDTHxHEIGHT@FPS:KBITS[:AUDIO_KBITS]",
			             item);
	}
	if (w < 16 || h < 16 || w > 4096 || h > 4096 || w % 2 || h % 2)
		return lfail(err, errlen, "ladder: '%s': sizes must be even, 16..4096", item);
	if (fps < 1 || fps > engine_fps || engine_fps % fps)
		return lfail(err, errlen, "ladder: '%s': the frame rate must divide %d", item,
		             engine_fps);
	if (kbps < 30 || kbps > 50000)
		return lfail(err, errlen, "ladder: '%s': bitrate must be 30..50000 kbit/s", item);
	if (audio && (akbps < LADDER_AUDIO_MIN / 1000 || akbps > audio_bitrate / 1000))
		return lfail(err, errlen,
		             "ladder: '%s': the audio bitrate must be %d..%d kbit/s (at most "
		             "audio_bitrate)",
		             item, LADDER_AUDIO_MIN / 1000, audio_bitrate / 1000);
	*r = (struct rung){w, h, fps, kbps * 1000, akbps * 1000};
	return 0;
}

static bool below(const struct rung *a, const struct rung *b)
{
	return a->width <= b->width && a->height <= b->height && a->fps <= b->fps &&
	       a->bitrate <= b->bitrate;
}

/* Gives the rungs without an audio part their default; -EINVAL if audio rises down l. */
static int fill_audio(struct ladder *l, int audio_bitrate, char *err, size_t errlen)
{
	for (int i = 0; i < l->n; i++) {
		struct rung *r = &l->r[i];
		int prev = i ? l->r[i - 1].abitrate : audio_bitrate;
		if (!r->abitrate) {
			int d = ladder_default_abitrate(i, l->n, audio_bitrate);
			r->abitrate = d < prev ? d : prev;
		} else if (r->abitrate > prev) {
			return lfail(err, errlen,
			             "ladder: %dx%d@%d: its audio bitrate %d kbit/s is above the "
			             "rung before's %d",
			             r->width, r->height, r->fps, r->abitrate / 1000, prev / 1000);
		}
	}
	return 0;
}

int ladder_parse(const char *spec, int engine_fps, int audio_bitrate, struct ladder *out, char *err,
                 size_t errlen)
{
	char buf[512];
	if (!spec || !out || strlen(spec) >= sizeof(buf))
		return lfail(err, errlen, "ladder: missing or too long");
	if (audio_bitrate < LADDER_AUDIO_MIN)
		return lfail(err, errlen, "ladder: audio_bitrate %d is below %d", audio_bitrate,
		             LADDER_AUDIO_MIN);
	size_t len = strlen(spec);
	if (len == 0 || spec[0] == ',' || spec[len - 1] == ',' || strstr(spec, ",,"))
		return lfail(err, errlen, "ladder: an empty rung in '%s'", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	struct ladder l = {0};
	char *save = NULL;
	for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		if (l.n == LADDER_MAX)
			return lfail(err, errlen, "ladder: at most %d rungs", LADDER_MAX);
		int rc = parse_rung(it, engine_fps, audio_bitrate, &l.r[l.n], err, errlen);
		if (rc < 0)
			return rc;
		if (l.n > 0 && !below(&l.r[l.n], &l.r[l.n - 1]))
			return lfail(
			    err, errlen,
			    "ladder: '%s' must not be larger, faster or dearer than the rung "
			    "before it",
			    it);
		l.n++;
	}
	if (l.n == 0)
		return lfail(err, errlen, "ladder: no rungs");
	int rc = fill_audio(&l, audio_bitrate, err, errlen);
	if (rc < 0)
		return rc;
	*out = l;
	return 0;
}

static int even(int v)
{
	v &= ~1;
	return v < 16 ? 16 : v;
}

int ladder_default_abitrate(int i, int n, int audio_bitrate)
{
	int a = i < 2 ? audio_bitrate : i == n - 1 ? LADDER_AUDIO_LOW : LADDER_AUDIO_MID;
	if (a > audio_bitrate)
		a = audio_bitrate;
	return a < LADDER_AUDIO_MIN ? LADDER_AUDIO_MIN : a;
}

void ladder_default(struct ladder *l, int w, int h, int fps, int bitrate, int audio_bitrate)
{
	int slow = fps % 2 == 0 ? fps / 2 : fps;
	l->n = 4;
	l->r[0] = (struct rung){w, h, fps, bitrate, 0};
	l->r[1] = (struct rung){even(w / 2), even(h / 2), fps, bitrate / 10 * 4, 0};
	l->r[2] = (struct rung){even(w / 2), even(h / 2), slow, bitrate / 4, 0};
	l->r[3] = (struct rung){even(w / 4), even(h / 4), slow, bitrate / 10, 0};
	for (int i = 0; i < l->n; i++) {
		if (i > 0 && l->r[i].bitrate < 30000)
			l->r[i].bitrate = 30000;
		l->r[i].abitrate = ladder_default_abitrate(i, l->n, audio_bitrate);
	}
}

void ladder_describe(const struct ladder *l, char *buf, size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < l->n && off < n; i++) {
		const struct rung *r = &l->r[i];
		int k = snprintf(buf + off, n - off, "%s%dx%d@%d:%d:%d", i ? "," : "", r->width,
		                 r->height, r->fps, r->bitrate / 1000, r->abitrate / 1000);
		if (k < 0)
			return;
		off += (size_t)k;
	}
}

int ladder_abitrate(const struct ladder *l, int cur)
{
	return l->r[cur >= 0 && cur < l->n ? cur : l->n - 1].abitrate;
}

static bool allows(const struct recv_profile *p, const struct rung *r)
{
	return (!p->max_width || r->width <= p->max_width) &&
	       (!p->max_height || r->height <= p->max_height) &&
	       (!p->max_fps || r->fps <= p->max_fps) &&
	       (!p->max_bitrate || r->bitrate <= p->max_bitrate);
}

int ladder_ceiling(const struct ladder *l, const struct recv_profile *p)
{
	for (int i = 0; i < l->n; i++)
		if (!p || allows(p, &l->r[i]))
			return i;
	return l->n - 1;
}

/* What rung i sends: its video and its audio, bit/s. */
static double rung_total(const struct ladder *l, int i)
{
	return (double)l->r[i].bitrate + (double)l->r[i].abitrate;
}

int ladder_fit(const struct ladder *l, int ceiling, uint64_t bps)
{
	for (int i = ceiling < 0 ? 0 : ceiling; i < l->n; i++)
		if (rung_total(l, i) <= LADDER_HEADROOM * (double)bps)
			return i;
	/* Below the lowest rung's headroom but above its floor: the lowest rung still (its
	 * encoder adapts within it), rather than no video at all. */
	if ((double)bps >= LADDER_FLOOR * rung_total(l, l->n - 1))
		return l->n - 1;
	return l->n;
}

uint64_t ladder_need(const struct ladder *l, int i)
{
	return (uint64_t)(rung_total(l, i) / LADDER_HEADROOM) + 1;
}

void rung_ctl_init(struct rung_ctl *c, int ceiling, int64_t now_us)
{
	*c = (struct rung_ctl){.cur = ceiling,
	                       .ceiling = ceiling,
	                       .next_up = now_us + LADDER_UP_WAIT,
	                       .last_up = INT64_MIN,
	                       .up_wait = LADDER_UP_WAIT,
	                       .peak_at = now_us};
}

/* Whether bps is a fall from the recent peak; keeps the peak of the last LADDER_PEAK_US. */
static bool is_fall(struct rung_ctl *c, uint64_t bps, int64_t now)
{
	bool fall = (double)bps < LADDER_FALL * (double)c->peak;
	if (bps >= c->peak || now - c->peak_at > LADDER_PEAK_US) {
		c->peak = bps;
		c->peak_at = now;
	}
	return fall;
}

static enum rung_why step_down(struct rung_ctl *c, int to, int64_t now)
{
	bool failed_probe = c->last_up != INT64_MIN && now - c->last_up < LADDER_PROBE_US;
	if (failed_probe && c->up_wait < LADDER_UP_MAX)
		c->up_wait = c->up_wait * 2 > LADDER_UP_MAX ? LADDER_UP_MAX : c->up_wait * 2;
	c->cur = to;
	c->down_votes = 0;
	c->last_up = INT64_MIN;
	c->next_up = now + c->up_wait;
	c->probing = false;
	return RUNG_DOWN;
}

static enum rung_why step_up(struct rung_ctl *c, int64_t now)
{
	c->cur--;
	c->last_up = now;
	c->next_up = now + LADDER_STEP_US;
	return RUNG_UP;
}

enum rung_why rung_ctl_probe_done(struct rung_ctl *c, bool held, int64_t now)
{
	if (!c->probing)
		return RUNG_SAME;
	c->probing = false;
	if (held && c->cur > c->ceiling)
		return step_up(c, now);
	/* a failed probe cost a short queue, not a picture: try again at a steady pace */
	c->next_up = now + LADDER_PROBE_AGAIN_US;
	return RUNG_SAME;
}

enum rung_why rung_ctl_estimate(struct rung_ctl *c, const struct ladder *l, uint64_t bps,
                                int64_t now)
{
	bool fall = is_fall(c, bps, now);
	int fit = ladder_fit(l, c->ceiling, bps);
	bool down = fall && fit > c->cur; /* a fall the current rung does not fit */
	if (down && c->next_up < now + c->up_wait)
		c->next_up = now + c->up_wait; /* no step up soon after one */
	c->down_votes = down ? c->down_votes + 1 : 0;
	/* a fall to below what the current rung needs to hold moves at once */
	bool severe = c->cur < l->n && (double)bps < LADDER_FLOOR * rung_total(l, c->cur);
	if (c->down_votes >= 2 || (down && severe))
		return step_down(c, fit, now);
	if (c->last_up != INT64_MIN && now - c->last_up >= LADDER_PROBE_US) {
		c->up_wait = LADDER_UP_WAIT; /* the last step held: the link carries it */
		c->last_up = INT64_MIN;
	}
	bool carries = c->cur == l->n || (double)bps >= LADDER_FLOOR * rung_total(l, c->cur);
	if (c->cur > c->ceiling && now >= c->next_up && carries && !c->probing) {
		if (!c->probe_first)
			return step_up(c, now);
		c->probing = true;
		return RUNG_PROBE;
	}
	return RUNG_SAME;
}
