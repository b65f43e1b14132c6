/*
 * audio_mix.c - audio levels, mixed-set selection and active speaker (see mix/audio_mix.h).
 *
 * Levels are smoothed per tick in the power domain (p = 10^(dBov/10)): a rising input uses
 * a 20 ms time constant (attack, ~95 % after 3 ticks), a falling one 250 ms (release: the
 * level then falls about 17 dB/s), so short pauses between words keep a speaker mixed.
 * Sources live in an open-addressing hash table (linear probing, backward-shift deletion)
 * keyed by the caller's id; a tick's selection is one pass over the table plus O(K^2) work
 * on the at most K=64 members and candidates, so O(n) in the number of sources.
 * Several reports for one source within a tick keep the loudest.
 * Thread: the room's mixing thread only. The mixer owns its table; ids are the caller's.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mix/audio_mix.h"

#define MAX_MIXED    64
#define MAX_SOURCES  (1 << 16)
#define MIN_CAP_BITS 4
/* 1 - exp(-20 ms / tau) for tau = 20 ms (attack) and 250 ms (release). */
#define ATTACK_COEF  0.63212f
#define RELEASE_COEF 0.07688f
/* Power of MIX_SILENCE_DBOV: 10^(-12.7). */
#define SILENCE_POW 1.99526e-13f

/* One source. Invariant: id == MIX_NO_SOURCE marks an empty slot. */
struct src {
	uint32_t id;
	float pow;     /* smoothed power, relative to full scale */
	float db;      /* smoothed level in dBov, derived from pow */
	float report;  /* loudest level reported this tick, dBov */
	uint8_t fresh; /* reported this tick */
	uint8_t mixed; /* member of m->set */
};

struct mix_audio {
	struct mix_audio_cfg cfg;
	struct src *slots; /* 1 << bits slots, at most half full */
	int bits;
	int count;
	uint32_t set[MAX_MIXED]; /* mixed sources, loudest first after a select */
	int nset;
	uint32_t speaker;
	uint32_t challenger; /* source currently leading the speaker */
	int lead_ticks;      /* ticks in a row the challenger has led */
};

void mix_audio_cfg_default(struct mix_audio_cfg *cfg)
{
	if (!cfg)
		return;
	cfg->max_mixed = 4;
	cfg->hysteresis_db = 6.0f;
	cfg->silence_dbov = -60.0f;
	cfg->speaker_hold_ticks = 10;
}

static int cfg_valid(const struct mix_audio_cfg *c)
{
	if (c->max_mixed < 1 || c->max_mixed > MAX_MIXED)
		return 0;
	if (!isfinite(c->hysteresis_db) || c->hysteresis_db < 0 || c->hysteresis_db > 60)
		return 0;
	if (!isfinite(c->silence_dbov) || c->silence_dbov < MIX_SILENCE_DBOV || c->silence_dbov > 0)
		return 0;
	return c->speaker_hold_ticks >= 0 && c->speaker_hold_ticks <= 3000;
}

/* ---- source table ---- */

static uint32_t cap_of(const struct mix_audio *m)
{
	return 1u << m->bits;
}

static uint32_t home_of(const struct mix_audio *m, uint32_t id)
{
	return (id * 2654435761u) >> (32 - m->bits);
}

static struct src *slots_new(int bits)
{
	size_t n = (size_t)1 << bits;
	struct src *s = malloc(n * sizeof(*s));
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i].id = MIX_NO_SOURCE;
	return s;
}

/* Index of id's slot, or of the empty slot where it would go. */
static uint32_t probe(const struct mix_audio *m, uint32_t id)
{
	uint32_t mask = cap_of(m) - 1;
	uint32_t i = home_of(m, id);
	while (m->slots[i].id != id && m->slots[i].id != MIX_NO_SOURCE)
		i = (i + 1) & mask;
	return i;
}

static struct src *find(const struct mix_audio *m, uint32_t id)
{
	if (id == MIX_NO_SOURCE)
		return NULL;
	struct src *s = &m->slots[probe(m, id)];
	return s->id == id ? s : NULL;
}

static int grow(struct mix_audio *m)
{
	struct src *old = m->slots;
	uint32_t old_cap = cap_of(m);
	struct src *s = slots_new(m->bits + 1);
	if (!s)
		return -ENOMEM;
	m->slots = s;
	m->bits++;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].id != MIX_NO_SOURCE)
			m->slots[probe(m, old[i].id)] = old[i];
	free(old);
	return 0;
}

static struct src *insert(struct mix_audio *m, uint32_t id)
{
	if (m->count >= MAX_SOURCES)
		return NULL;
	if (2 * (uint32_t)(m->count + 1) > cap_of(m) && grow(m))
		return NULL;
	struct src *s = &m->slots[probe(m, id)];
	*s = (struct src){.id = id, .pow = SILENCE_POW, .db = MIX_SILENCE_DBOV};
	m->count++;
	return s;
}

/* True if home h lies cyclically in (i, j]: the entry at j may not move to i. */
static int stays(uint32_t h, uint32_t i, uint32_t j)
{
	return i <= j ? (i < h && h <= j) : (i < h || h <= j);
}

/* Empties slot i and shifts later entries of its probe run back (no tombstones). */
static void erase_at(struct mix_audio *m, uint32_t i)
{
	uint32_t mask = cap_of(m) - 1;
	uint32_t j = i;
	for (;;) {
		m->slots[i].id = MIX_NO_SOURCE;
		do {
			j = (j + 1) & mask;
			if (m->slots[j].id == MIX_NO_SOURCE)
				return;
		} while (stays(home_of(m, m->slots[j].id), i, j));
		m->slots[i] = m->slots[j];
		i = j;
	}
}

/* ---- lifetime ---- */

int mix_audio_alloc(struct mix_audio **out, const struct mix_audio_cfg *cfg)
{
	if (!out)
		return -EINVAL;
	struct mix_audio_cfg c;
	if (cfg)
		c = *cfg;
	else
		mix_audio_cfg_default(&c);
	if (!cfg_valid(&c))
		return -EINVAL;
	struct mix_audio *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bits = MIN_CAP_BITS;
	m->slots = slots_new(m->bits);
	if (!m->slots) {
		free(m);
		return -ENOMEM;
	}
	m->cfg = c;
	m->speaker = MIX_NO_SOURCE;
	m->challenger = MIX_NO_SOURCE;
	*out = m;
	return 0;
}

void mix_audio_free(struct mix_audio **m)
{
	if (!m || !*m)
		return;
	free((*m)->slots);
	free(*m);
	*m = NULL;
}

static void set_drop(struct mix_audio *m, uint32_t id)
{
	for (int i = 0; i < m->nset; i++) {
		if (m->set[i] == id) {
			memmove(&m->set[i], &m->set[i + 1],
			        (size_t)(m->nset - i - 1) * sizeof(m->set[0]));
			m->nset--;
			return;
		}
	}
}

void mix_audio_remove_source(struct mix_audio *m, uint32_t src)
{
	if (!m || src == MIX_NO_SOURCE)
		return;
	uint32_t i = probe(m, src);
	if (m->slots[i].id != src)
		return;
	if (m->slots[i].mixed)
		set_drop(m, src);
	erase_at(m, i);
	m->count--;
	if (m->speaker == src)
		m->speaker = MIX_NO_SOURCE;
	if (m->challenger == src) {
		m->challenger = MIX_NO_SOURCE;
		m->lead_ticks = 0;
	}
}

int mix_audio_set_level(struct mix_audio *m, uint32_t src, float dbov)
{
	if (!m || src == MIX_NO_SOURCE)
		return -EINVAL;
	if (!(dbov >= MIX_SILENCE_DBOV)) /* also catches NaN */
		dbov = MIX_SILENCE_DBOV;
	if (dbov > 0)
		dbov = 0;
	struct src *s = find(m, src);
	if (!s && !(s = insert(m, src)))
		return m->count >= MAX_SOURCES ? -ENOSPC : -ENOMEM;
	if (!s->fresh || dbov > s->report)
		s->report = dbov;
	s->fresh = 1;
	return 0;
}

/* ---- levels ---- */

static void smooth(struct src *s)
{
	float in = s->fresh ? powf(10.0f, s->report / 10.0f) : SILENCE_POW;
	float k = in > s->pow ? ATTACK_COEF : RELEASE_COEF;
	s->pow += k * (in - s->pow);
	if (s->pow < SILENCE_POW)
		s->pow = SILENCE_POW;
	s->db = 10.0f * log10f(s->pow);
	if (s->db < MIX_SILENCE_DBOV)
		s->db = MIX_SILENCE_DBOV;
	if (s->db > 0)
		s->db = 0;
	s->fresh = 0;
}

float mix_audio_level_dbov(const int16_t *pcm, int n)
{
	if (!pcm || n <= 0)
		return MIX_SILENCE_DBOV;
	uint64_t acc = 0;
	for (int i = 0; i < n; i++)
		acc += (uint64_t)((int32_t)pcm[i] * pcm[i]);
	if (!acc)
		return MIX_SILENCE_DBOV;
	double ms = (double)acc / n / (32768.0 * 32768.0);
	double db = 10.0 * log10(ms);
	if (db < MIX_SILENCE_DBOV)
		return MIX_SILENCE_DBOV;
	return db > 0 ? 0.0f : (float)db;
}

/* ---- selection ---- */

/* Up to cap sources sorted loudest first. */
struct ranking {
	struct src *v[MAX_MIXED];
	int n;
	int cap;
};

/* Inserts s if it ranks in the top cap; O(1) when it does not. */
static void rank_add(struct ranking *r, struct src *s)
{
	if (r->n == r->cap && s->db <= r->v[r->n - 1]->db)
		return;
	int i = r->n < r->cap ? r->n++ : r->n - 1;
	while (i > 0 && r->v[i - 1]->db < s->db) {
		r->v[i] = r->v[i - 1];
		i--;
	}
	r->v[i] = s;
}

/* Members still audible, loudest first; silent members leave the set. */
static void rank_members(struct mix_audio *m, struct ranking *mem)
{
	mem->n = 0;
	mem->cap = MAX_MIXED;
	for (int i = 0; i < m->nset; i++) {
		struct src *s = find(m, m->set[i]);
		if (!s)
			continue;
		if (s->db < m->cfg.silence_dbov)
			s->mixed = 0;
		else
			rank_add(mem, s);
	}
}

/* Fills free places with the loudest candidates, then swaps by hysteresis. */
static void admit(struct mix_audio *m, struct ranking *mem, const struct ranking *cand)
{
	int j = 0;
	while (mem->n < m->cfg.max_mixed && j < cand->n) {
		cand->v[j]->mixed = 1;
		rank_add(mem, cand->v[j++]);
	}
	while (j < cand->n && mem->n > 0 &&
	       cand->v[j]->db > mem->v[mem->n - 1]->db + m->cfg.hysteresis_db) {
		mem->v[mem->n - 1]->mixed = 0;
		mem->n--;
		cand->v[j]->mixed = 1;
		rank_add(mem, cand->v[j++]);
	}
	m->nset = mem->n;
	for (int i = 0; i < mem->n; i++)
		m->set[i] = mem->v[i]->id;
}

/* Applies the hold rule given the loudest audible source (NULL if none). */
static void update_speaker(struct mix_audio *m, const struct src *loud)
{
	const struct src *cur = find(m, m->speaker);
	if (!loud) {
		m->speaker = MIX_NO_SOURCE;
		m->challenger = MIX_NO_SOURCE;
		m->lead_ticks = 0;
		return;
	}
	if (!cur) {
		m->speaker = loud->id;
		m->lead_ticks = 0;
		return;
	}
	int audible = cur->db >= m->cfg.silence_dbov;
	if (loud == cur || (audible && loud->db <= cur->db + m->cfg.hysteresis_db)) {
		m->challenger = MIX_NO_SOURCE;
		m->lead_ticks = 0;
		return;
	}
	if (m->challenger != loud->id) {
		m->challenger = loud->id;
		m->lead_ticks = 0;
	}
	if (++m->lead_ticks >= m->cfg.speaker_hold_ticks) {
		m->speaker = loud->id;
		m->challenger = MIX_NO_SOURCE;
		m->lead_ticks = 0;
	}
}

int mix_audio_select(struct mix_audio *m, uint32_t *out, int max)
{
	if (!m || max < 0 || (max > 0 && !out))
		return -EINVAL;
	struct ranking cand = {.cap = m->cfg.max_mixed};
	struct src *loud = NULL;
	uint32_t cap = cap_of(m);
	for (uint32_t i = 0; i < cap; i++) {
		struct src *s = &m->slots[i];
		if (s->id == MIX_NO_SOURCE)
			continue;
		smooth(s);
		if (s->db < m->cfg.silence_dbov)
			continue;
		if (!loud || s->db > loud->db)
			loud = s;
		if (!s->mixed)
			rank_add(&cand, s);
	}
	struct ranking mem;
	rank_members(m, &mem);
	admit(m, &mem, &cand);
	update_speaker(m, loud);
	int n = m->nset < max ? m->nset : max;
	if (n > 0)
		memcpy(out, m->set, (size_t)n * sizeof(*out));
	return n;
}

int mix_audio_is_mixed(const struct mix_audio *m, uint32_t src)
{
	const struct src *s = m ? find(m, src) : NULL;
	return s && s->mixed;
}

uint32_t mix_audio_active_speaker(const struct mix_audio *m)
{
	return m ? m->speaker : MIX_NO_SOURCE;
}
