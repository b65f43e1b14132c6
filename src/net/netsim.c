/*
 * netsim.c - packet impairment pipes for tests (see netsim.h): the spec parser, a min-heap of
 * held packets ordered by due time (then push order), a splitmix64 PRNG per pipe, and one
 * GSource per pipe whose ready time is the earliest due packet.
 *
 * Threads: the thread running the pipe's GMainContext (or the caller's, with ctx NULL).
 * Ownership: the pipe owns the heap and a malloc'd copy of every packet it holds.
 */
#include "net/netsim.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#define SPEC_MAX 1024

/* ---- the spec parser ---- */

enum key_kind { KEY_PERCENT, KEY_MS, KEY_COUNT, KEY_SEED, KEY_RATE };

struct key_def {
	const char *name;
	enum key_kind kind;
};

static const struct key_def keys[] = {
    {"loss", KEY_PERCENT},  {"delay", KEY_MS},    {"jitter", KEY_MS}, {"reorder", KEY_PERCENT},
    {"reorder_ms", KEY_MS}, {"queue", KEY_COUNT}, {"seed", KEY_SEED}, {"rate", KEY_RATE},
};
#define NKEYS ((int)(sizeof(keys) / sizeof(keys[0])))

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Strips an optional unit suffix ("ms", "%"). */
static void strip_suffix(char *v, const char *suffix)
{
	size_t n = strlen(v), k = strlen(suffix);
	if (n > k && strcmp(v + n - k, suffix) == 0)
		v[n - k] = '\0';
}

static int parse_double(const char *key, char *v, double lo, double hi, double *out, char *err,
                        size_t errlen)
{
	char *end;
	strip_suffix(v, "%");
	errno = 0;
	double d = strtod(v, &end);
	if (!v[0] || *end || errno || !isfinite(d))
		return fail(err, errlen, "%s: '%s' is not a number", key, v);
	if (d < lo || d > hi)
		return fail(err, errlen, "%s: %s is out of range %g..%g (percent)", key, v, lo, hi);
	*out = d;
	return 0;
}

static int parse_ull(const char *key, char *v, unsigned long long hi, unsigned long long *out,
                     char *err, size_t errlen)
{
	char *end;
	if (!isdigit((unsigned char)v[0]))
		return fail(err, errlen, "%s: '%s' is not a whole number >= 0", key, v);
	errno = 0;
	unsigned long long u = strtoull(v, &end, 10);
	if (*end || errno == ERANGE || u > hi)
		return fail(err, errlen, "%s: '%s' is not a whole number in 0..%llu", key, v, hi);
	*out = u;
	return 0;
}

static double *percent_field(struct netsim_cfg *c, const char *name)
{
	return strcmp(name, "loss") == 0 ? &c->loss : &c->reorder;
}

static int *ms_field(struct netsim_cfg *c, const char *name)
{
	return strcmp(name, "delay") == 0    ? &c->delay_ms
	       : strcmp(name, "jitter") == 0 ? &c->jitter_ms
	                                     : &c->reorder_ms;
}

static int set_key(struct netsim_cfg *c, const struct key_def *k, char *v, char *err, size_t errlen)
{
	unsigned long long u = 0;
	int rc;
	switch (k->kind) {
	case KEY_PERCENT:
		return parse_double(k->name, v, 0, 100, percent_field(c, k->name), err, errlen);
	case KEY_MS:
		strip_suffix(v, "ms");
		rc = parse_ull(k->name, v, NETSIM_MAX_MS, &u, err, errlen);
		if (rc == 0)
			*ms_field(c, k->name) = (int)u;
		return rc;
	case KEY_COUNT:
		rc = parse_ull(k->name, v, NETSIM_MAX_QUEUE, &u, err, errlen);
		if (rc == 0 && u == 0)
			return fail(err, errlen, "%s: must be at least 1 packet", k->name);
		if (rc == 0)
			c->queue = (int)u;
		return rc;
	case KEY_SEED:
		rc = parse_ull(k->name, v, UINT64_MAX, &u, err, errlen);
		if (rc == 0)
			c->seed = u;
		return rc;
	case KEY_RATE:
		strip_suffix(v, "kbit");
		rc = parse_ull(k->name, v, NETSIM_MAX_RATE, &u, err, errlen);
		if (rc == 0)
			c->rate_kbps = (int)u;
		return rc;
	}
	return -EINVAL;
}

static int find_key(const char *name)
{
	for (int k = 0; k < NKEYS; k++)
		if (strcmp(keys[k].name, name) == 0)
			return k;
	return -1;
}

/* One "key=value" item; seen: keys already given. */
static int parse_item(struct netsim_cfg *c, char *item, unsigned *seen, char *err, size_t errlen)
{
	char *eq = strchr(item, '=');
	if (!eq)
		return fail(err, errlen, "'%s': expected key=value", item);
	*eq = '\0';
	char *key = trim(item), *val = trim(eq + 1);
	int k = find_key(key);
	if (k < 0)
		return fail(err, errlen,
		            "unknown key '%s' (keys: loss, delay, jitter, reorder, reorder_ms, "
		            "queue, seed, rate)",
		            key);
	if (*seen & (1u << k))
		return fail(err, errlen, "%s: given twice", key);
	*seen |= 1u << k;
	return set_key(c, &keys[k], val, err, errlen);
}

void netsim_cfg_default(struct netsim_cfg *cfg)
{
	*cfg = (struct netsim_cfg){.reorder_ms = -1, .queue = NETSIM_DEFAULT_QUEUE, .seed = 1};
}

int netsim_parse(const char *spec, struct netsim_cfg *out, char *err, size_t errlen)
{
	char buf[SPEC_MAX];
	struct netsim_cfg c;
	unsigned seen = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!spec || !out)
		return fail(err, errlen, "no spec");
	if (strlen(spec) >= sizeof(buf))
		return fail(err, errlen, "spec longer than %d characters", SPEC_MAX - 1);
	snprintf(buf, sizeof(buf), "%s", spec);
	if (!trim(buf)[0])
		return fail(err, errlen, "empty spec (e.g. loss=5,delay=30,jitter=10,reorder=2)");
	netsim_cfg_default(&c);
	char *p = buf;
	for (char *item = strsep(&p, ","); item; item = strsep(&p, ",")) {
		char *t = trim(item);
		if (!t[0])
			return fail(err, errlen, "empty item in '%s'", spec);
		int rc = parse_item(&c, t, &seen, err, errlen);
		if (rc < 0)
			return rc;
	}
	*out = c;
	return 0;
}

static int reorder_ms_of(const struct netsim_cfg *c)
{
	return c->reorder_ms >= 0 ? c->reorder_ms : 2 * c->jitter_ms + 20;
}

void netsim_describe(const struct netsim_cfg *c, char *buf, size_t n)
{
	snprintf(buf, n,
	         "loss %g%%, delay %d+-%d ms, reorder %g%% (held %d ms more), queue %d packets, "
	         "rate %d kbit/s%s, seed %" PRIu64,
	         c->loss, c->delay_ms, c->jitter_ms, c->reorder, reorder_ms_of(c), c->queue,
	         c->rate_kbps, c->rate_kbps ? "" : " (none)", c->seed);
}

/* ---- the pipe ---- */

struct held {
	int64_t due;    /* monotonic microseconds */
	uint64_t order; /* push order: ties leave first-in first-out */
	size_t len;
	uint8_t *data;
};

struct netsim {
	struct netsim_cfg cfg;
	int64_t reorder_us;
	uint64_t rng;
	int64_t chain_due; /* due time of the last in-order packet: later ones never leave before */
	int64_t link_free; /* with a rate: when the bottleneck has sent what it holds */
	uint64_t order;
	struct held *heap; /* min-heap on (due, order), cfg.queue slots */
	int n;
	GSource *timer; /* NULL without a context */
	netsim_deliver_fn deliver;
	void *opaque;
	struct netsim_stats st;
};

/* splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator, one add and a mix. */
static uint64_t next_u64(struct netsim *ns)
{
	uint64_t z = (ns->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double next_unit(struct netsim *ns)
{
	return (double)(next_u64(ns) >> 11) * 0x1.0p-53;
}

static bool before(const struct held *a, const struct held *b)
{
	return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static void swap(struct held *a, struct held *b)
{
	struct held t = *a;
	*a = *b;
	*b = t;
}

static void heap_up(struct held *h, int i)
{
	while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
		swap(&h[i], &h[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct held *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && before(&h[l], &h[m]))
			m = l;
		if (r < n && before(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		swap(&h[i], &h[m]);
		i = m;
	}
}

static struct held heap_pop(struct netsim *ns)
{
	struct held top = ns->heap[0];
	ns->heap[0] = ns->heap[--ns->n];
	heap_down(ns->heap, ns->n, 0);
	return top;
}

int64_t netsim_next_due(const struct netsim *ns)
{
	return ns && ns->n > 0 ? ns->heap[0].due : -1;
}

static void arm(struct netsim *ns)
{
	if (ns->timer)
		g_source_set_ready_time(ns->timer, netsim_next_due(ns));
}

int netsim_poll(struct netsim *ns, int64_t now_us)
{
	int count = 0;
	/* Pop before delivering: the callback may push into this pipe again. */
	while (ns->n > 0 && ns->heap[0].due <= now_us) {
		struct held h = heap_pop(ns);
		ns->st.delivered++;
		ns->deliver(ns->opaque, h.data, h.len);
		free(h.data);
		count++;
	}
	arm(ns);
	return count;
}

static gboolean on_timer(gpointer data)
{
	struct netsim *ns = data;
	netsim_poll(ns, g_get_monotonic_time());
	return G_SOURCE_CONTINUE;
}

static gboolean timer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	return cb ? cb(data) : G_SOURCE_REMOVE;
}

/* A source that fires at its ready time only (no prepare/check). Constant table. */
static GSourceFuncs timer_funcs = {.dispatch = timer_dispatch};

/* The delay of one in-order packet: delay +- jitter, not below 0. */
static int64_t draw_delay(struct netsim *ns)
{
	int64_t d = (int64_t)ns->cfg.delay_ms * 1000;
	int64_t j = (int64_t)ns->cfg.jitter_ms * 1000;
	if (j > 0)
		d += (int64_t)(next_u64(ns) % (uint64_t)(2 * j + 1)) - j;
	return d < 0 ? 0 : d;
}

static int64_t due_time(struct netsim *ns, int64_t now_us)
{
	int64_t due = now_us + draw_delay(ns);
	if (ns->cfg.reorder > 0 && next_unit(ns) * 100.0 < ns->cfg.reorder) {
		ns->st.reordered++;
		return due + ns->reorder_us; /* out of the chain: later packets overtake it */
	}
	if (due < ns->chain_due)
		due = ns->chain_due;
	ns->chain_due = due;
	return due;
}

/* When a packet of len bytes pushed at now_us leaves the bottleneck (now_us without a rate). */
static int64_t link_departure(struct netsim *ns, size_t len, int64_t now_us)
{
	if (ns->cfg.rate_kbps <= 0)
		return now_us;
	int64_t start = ns->link_free > now_us ? ns->link_free : now_us;
	ns->link_free = start + (int64_t)len * 8000 / ns->cfg.rate_kbps;
	return ns->link_free;
}

int netsim_push_at(struct netsim *ns, const uint8_t *data, size_t len, int64_t now_us)
{
	if (!ns || !data || len == 0 || len > NETSIM_MAX_PACKET)
		return -EINVAL;
	ns->st.in++;
	if (ns->cfg.loss > 0 && next_unit(ns) * 100.0 < ns->cfg.loss) {
		ns->st.dropped++;
		return 0;
	}
	if (ns->n >= ns->cfg.queue) {
		ns->st.overflow++;
		return -ENOBUFS;
	}
	uint8_t *copy = malloc(len);
	if (!copy) {
		ns->st.overflow++;
		return -ENOMEM;
	}
	memcpy(copy, data, len);
	struct held *h = &ns->heap[ns->n];
	*h = (struct held){.due = due_time(ns, link_departure(ns, len, now_us)),
	                   .order = ns->order++,
	                   .len = len,
	                   .data = copy};
	heap_up(ns->heap, ns->n++);
	arm(ns);
	return 1;
}

int netsim_push(struct netsim *ns, const uint8_t *data, size_t len)
{
	return netsim_push_at(ns, data, len, g_get_monotonic_time());
}

static bool cfg_valid(const struct netsim_cfg *c)
{
	return c->loss >= 0 && c->loss <= 100 && c->reorder >= 0 && c->reorder <= 100 &&
	       c->delay_ms >= 0 && c->delay_ms <= NETSIM_MAX_MS && c->jitter_ms >= 0 &&
	       c->jitter_ms <= NETSIM_MAX_MS && c->reorder_ms >= -1 &&
	       c->reorder_ms <= NETSIM_MAX_MS && c->queue >= 1 && c->queue <= NETSIM_MAX_QUEUE &&
	       c->rate_kbps >= 0 && c->rate_kbps <= NETSIM_MAX_RATE;
}

static void attach_timer(struct netsim *ns, GMainContext *ctx)
{
	ns->timer = g_source_new(&timer_funcs, sizeof(GSource));
	g_source_set_callback(ns->timer, on_timer, ns, NULL);
	g_source_set_ready_time(ns->timer, -1);
	g_source_attach(ns->timer, ctx);
}

int netsim_new(struct netsim **out, GMainContext *ctx, const struct netsim_cfg *cfg,
               netsim_deliver_fn deliver, void *opaque)
{
	if (!out || !cfg || !deliver || !cfg_valid(cfg))
		return -EINVAL;
	struct netsim *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->heap = calloc((size_t)cfg->queue, sizeof(*ns->heap));
	if (!ns->heap) {
		free(ns);
		return -ENOMEM;
	}
	ns->cfg = *cfg;
	ns->reorder_us = (int64_t)reorder_ms_of(cfg) * 1000;
	ns->rng = cfg->seed;
	ns->deliver = deliver;
	ns->opaque = opaque;
	if (ctx)
		attach_timer(ns, ctx);
	*out = ns;
	return 0;
}

void netsim_free(struct netsim **pns)
{
	struct netsim *ns = pns ? *pns : NULL;
	if (!ns)
		return;
	if (ns->timer) {
		g_source_destroy(ns->timer);
		g_source_unref(ns->timer);
	}
	for (int i = 0; i < ns->n; i++)
		free(ns->heap[i].data);
	free(ns->heap);
	free(ns);
	*pns = NULL;
}

void netsim_get_stats(const struct netsim *ns, struct netsim_stats *st)
{
	if (!ns) {
		*st = (struct netsim_stats){0};
		return;
	}
	*st = ns->st;
	st->queued = (uint64_t)ns->n;
}
