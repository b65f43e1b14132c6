/*
 * cascade_node.c - one node of mcu-cascade's cascaded room: its local participants, its
 * local-mix engine (locals only, one recipient: the link to the other nodes) and its
 * receivers' engine (locals + the other nodes' local mixes, one recipient per local).
 *
 * CPU: every engine call the node makes (pushes and ticks) is timed with the thread CPU
 * clock into cpu_s. Delay: a shown frame pushed into an engine waits in a FIFO until that
 * engine's first video output tick at or after the pts it was pushed with; it is then carried
 * by that tick, which took proc (its thread CPU time) to run: a frame leaves the local mix at
 * tick + proc, reaches another node link_us + jitter_us later (the pts it is pushed with
 * there), and a receiver at that node's carrying tick + its proc.
 * Single-threaded (the caller's): engines' callbacks fire on it. The node owns its engines,
 * FIFOs, queued packets (one reference each) and samples; cfg and media are borrowed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"

#define MIX_RID 1u /* the local-mix engine's one recipient: the link to the other nodes */

static int outq_push(struct cascade_node *n, const struct mix_packet *p)
{
	if (n->noutq == n->outq_cap) {
		int cap = n->outq_cap ? n->outq_cap * 2 : 16;
		struct cascade_out *q = realloc(n->outq, sizeof(*q) * (size_t)cap);
		if (!q)
			return -ENOMEM;
		n->outq = q;
		n->outq_cap = cap;
	}
	struct cascade_out *o = &n->outq[n->noutq++];
	memset(o, 0, sizeof(*o));
	o->pkt = mix_packet_ref((struct mix_packet *)p);
	o->tick_us = p->pts_us + n->phase_us;
	return 0;
}

static void on_mix_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct cascade_node *n = opaque;
	(void)rid;
	if (p->kind == MIX_VIDEO) {
		n->mix_video_frames++;
		n->got_video = true;
		n->video_tick_us = p->pts_us;
	} else {
		n->mix_audio_packets++;
	}
	if (outq_push(n, p) < 0)
		n->got_video = false; /* counted as lost: the frame never leaves */
}

static void on_rx_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct cascade_node *n = opaque;
	(void)rid;
	if (p->kind == MIX_VIDEO) {
		n->got_video = true;
		n->video_tick_us = p->pts_us;
		if (p->pts_us != n->rx_last_video_pts)
			n->rx_video_frames++;
		n->rx_last_video_pts = p->pts_us;
	} else if (p->pts_us != n->rx_last_audio_pts) {
		n->rx_audio_packets++;
		n->rx_last_audio_pts = p->pts_us;
	}
}

static void on_rx_keyframe(void *opaque, uint32_t src)
{
	struct cascade_node *n = opaque;
	if (src >= CASCADE_MIX_SRC && src < CASCADE_MIX_SRC + (uint32_t)n->cfg->nodes)
		n->ask_kf[src - CASCADE_MIX_SRC] = true;
}

static int engine_new(struct cascade_node *n, struct mix_engine **e, int tiles, bool rx)
{
	const struct cascade_cfg *c = n->cfg;
	struct mix_engine_cfg ec;
	mix_engine_cfg_default(&ec);
	ec.width = c->width;
	ec.height = c->height;
	ec.video_bitrate = c->bitrate;
	ec.max_tiles = tiles < 1 ? 1 : tiles > MIX_LAYOUT_MAX_TILES ? MIX_LAYOUT_MAX_TILES : tiles;
	ec.max_mixed = c->loud;
	ec.cb.opaque = n;
	ec.cb.on_packet = rx ? on_rx_packet : on_mix_packet;
	ec.cb.on_keyframe_request = rx ? on_rx_keyframe : NULL;
	return mix_engine_alloc(e, &ec);
}

/* Participant g (0-based) is on node g % nodes; talkers are the first ones, so they join early. */
static int add_locals(struct cascade_node *n, struct mix_engine *e)
{
	int rc = 0;
	for (int i = 0; i < n->nlocal && rc == 0; i++) {
		struct cascade_part *p = &n->parts[i];
		char name[32];
		snprintf(name, sizeof(name), "P%u", p->id);
		rc = mix_engine_add_source(e, p->id, name);
		if (rc == 0 && p->aclip != &n->cfg->m->silence)
			rc = mix_engine_set_audio_preskip(e, p->id, p->aclip->preskip);
	}
	return rc;
}

static int init_parts(struct cascade_node *n)
{
	const struct cascade_cfg *c = n->cfg;
	n->nlocal = c->participants / c->nodes + (n->index < c->participants % c->nodes);
	n->parts = calloc((size_t)n->nlocal + 1, sizeof(*n->parts));
	if (!n->parts)
		return -ENOMEM;
	for (int i = 0; i < n->nlocal; i++) {
		int g = i * c->nodes + n->index;
		struct cascade_part *p = &n->parts[i];
		p->id = (uint32_t)g + 1;
		p->vclip = &c->m->clip[g % BENCH_CLIPS];
		p->aclip = g < c->talkers ? p->vclip : &c->m->silence;
		p->phase_us = ((int64_t)p->id * 7919) % 33333;
	}
	return 0;
}

static int init_mix_engine(struct cascade_node *n)
{
	int rc = engine_new(n, &n->mixe, n->shown_local, false);
	if (rc == 0)
		rc = add_locals(n, n->mixe);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	if (rc == 0)
		rc = mix_engine_add_recipient(n->mixe, MIX_RID, &o);
	return rc;
}

/* The other nodes' mixes join first: always shown, then the locals (talkers lead). */
static int init_rx_engine(struct cascade_node *n)
{
	const struct cascade_cfg *c = n->cfg;
	int rc = engine_new(n, &n->rxe, n->shown_local + c->nodes - 1, true);
	for (int j = 0; j < c->nodes && rc == 0; j++) {
		char name[32];
		snprintf(name, sizeof(name), "node %d", j);
		if (j != n->index)
			rc = mix_engine_add_source(n->rxe, CASCADE_MIX_SRC + (uint32_t)j, name);
	}
	if (rc == 0)
		rc = add_locals(n, n->rxe);
	for (int i = 0; i < n->nlocal && rc == 0; i++) {
		struct mix_recipient_opts o;
		mix_recipient_opts_default(&o);
		o.self = n->parts[i].id;
		rc = mix_engine_add_recipient(n->rxe, n->parts[i].id, &o);
	}
	return rc;
}

int cascade_node_init(struct cascade_node *n, const struct cascade_cfg *cfg, int index)
{
	memset(n, 0, sizeof(*n));
	n->cfg = cfg;
	n->index = index;
	n->shown_local = cfg->shown / cfg->nodes + (index < cfg->shown % cfg->nodes);
	n->phase_us = (int64_t)index * 33333 / cfg->nodes;
	n->rx_last_video_pts = n->rx_last_audio_pts = INT64_MIN;
	n->ask_kf = calloc((size_t)cfg->nodes, sizeof(*n->ask_kf));
	int rc = n->ask_kf ? init_parts(n) : -ENOMEM;
	if (rc == 0)
		rc = init_mix_engine(n);
	if (rc == 0)
		rc = init_rx_engine(n);
	return rc;
}

void cascade_node_clear_outq(struct cascade_node *n)
{
	for (int i = 0; i < n->noutq; i++) {
		mix_packet_unref(&n->outq[i].pkt);
		cascade_fifo_free(&n->outq[i].carried);
	}
	n->noutq = 0;
}

void cascade_node_free(struct cascade_node *n)
{
	cascade_node_clear_outq(n);
	free(n->outq);
	mix_engine_free(&n->mixe);
	mix_engine_free(&n->rxe);
	cascade_fifo_free(&n->mix_pending);
	cascade_fifo_free(&n->rx_pending);
	cascade_samples_free(&n->mix_delay);
	cascade_samples_free(&n->local_delay);
	cascade_samples_free(&n->remote_delay);
	free(n->parts);
	free(n->ask_kf);
	memset(n, 0, sizeof(*n));
}

/* Pushes a local frame (pts: room clock) into engine e, whose clock lags by phase; a shown one
 * is followed in fifo. */
static int push_local_video(struct mix_engine *e, struct cascade_fifo *fifo, int64_t phase,
                            uint32_t id, const uint8_t *data, size_t size, int64_t pts)
{
	int rc = mix_engine_push_video(e, id, data, size, pts - phase, false);
	if (rc < 0 || !mix_engine_source_visible(e, id))
		return rc == -ENOBUFS ? 0 : rc;
	struct cascade_frame fr = {pts, pts - phase, -1};
	return cascade_fifo_push(fifo, &fr);
}

/* p's packet k of loop `loop` on the room's clock: shifted by whole clips and p's phase. */
static int64_t looped(const struct cascade_part *p, const struct bench_clip *c,
                      const struct bench_pkt *k, int loop)
{
	return k->pts_us + (int64_t)loop * c->dur_us + p->phase_us;
}

static int feed_video(struct cascade_node *n, struct cascade_part *p, int64_t until)
{
	const struct bench_clip *c = p->vclip;
	int rc = 0;
	while (rc == 0) {
		if (p->vi >= c->nvideo) {
			p->vi = 0;
			p->vloop++;
		}
		const struct bench_pkt *k = &c->video[p->vi];
		int64_t pts = looped(p, c, k, p->vloop);
		if (pts > until)
			break;
		p->vi++;
		const uint8_t *d = c->arena + k->off;
		int64_t ph = n->phase_us;
		rc = push_local_video(n->mixe, &n->mix_pending, ph, p->id, d, k->size, pts);
		if (rc == 0)
			rc = push_local_video(n->rxe, &n->rx_pending, ph, p->id, d, k->size, pts);
	}
	return rc;
}

static int feed_audio(struct cascade_node *n, struct cascade_part *p, int64_t until)
{
	const struct bench_clip *c = p->aclip;
	int rc = 0;
	while (rc == 0) {
		if (p->ai >= c->naudio) {
			p->ai = 0;
			p->aloop++;
		}
		const struct bench_pkt *k = &c->audio[p->ai];
		int64_t pts = looped(p, c, k, p->aloop) - n->phase_us;
		if (pts + n->phase_us > until)
			break;
		p->ai++;
		const uint8_t *d = c->arena + k->off;
		rc = mix_engine_push_audio(n->mixe, p->id, d, k->size, pts, k->level, false);
		if (rc == 0 || rc == -ENOBUFS)
			rc = mix_engine_push_audio(n->rxe, p->id, d, k->size, pts, k->level, false);
		if (rc == -ENOBUFS)
			rc = 0;
	}
	return rc;
}

int cascade_node_feed(struct cascade_node *n, int64_t until)
{
	double c0 = cascade_thread_cpu_s();
	int rc = 0;
	for (int i = 0; i < n->nlocal && rc == 0; i++) {
		rc = feed_video(n, &n->parts[i], until);
		if (rc == 0)
			rc = feed_audio(n, &n->parts[i], until);
	}
	n->cpu_s += cascade_thread_cpu_s() - c0;
	return rc;
}

/* Moves the frames of fifo pushed with a pts at or before tick out of it, handing each to
 * take(arg, frame); keeps the others in order. */
static int carry(struct cascade_fifo *f, int64_t tick,
                 int (*take)(void *arg, const struct cascade_frame *fr), void *arg)
{
	int k = 0, rc = 0;
	for (int i = 0; i < f->n; i++) {
		if (f->v[i].arrive_us <= tick && rc == 0)
			rc = take(arg, &f->v[i]);
		else
			f->v[k++] = f->v[i];
	}
	f->n = k;
	return rc;
}

struct mix_take {
	struct cascade_node *n;
	struct cascade_out *o;
};

/* A frame carried by a local-mix tick: it leaves the node at tick + proc. */
static int take_mix(void *arg, const struct cascade_frame *fr)
{
	struct mix_take *t = arg;
	double d = (double)(t->o->tick_us + t->o->proc_us - fr->pts_us);
	int rc = cascade_samples_add(&t->n->mix_delay, d);
	return rc < 0 ? rc : cascade_fifo_push(&t->o->carried, fr);
}

/* After one run_one call of the local-mix engine: the video packet it made (the last queued)
 * carries the pending frames; every packet it queued gets the call's CPU time. */
static int after_mix_tick(struct cascade_node *n, int first, int64_t proc_us)
{
	for (int i = first; i < n->noutq; i++)
		n->outq[i].proc_us = proc_us;
	if (!n->got_video || n->noutq == first)
		return 0;
	struct cascade_out *o = &n->outq[n->noutq - 1];
	if (o->pkt->kind != MIX_VIDEO)
		return 0;
	struct mix_take t = {n, o};
	return carry(&n->mix_pending, n->video_tick_us, take_mix, &t); /* engine clock */
}

int cascade_node_run_mix(struct cascade_node *n, int64_t t_us)
{
	int rc = 1;
	while (rc == 1) {
		int first = n->noutq;
		n->got_video = false;
		double c0 = cascade_thread_cpu_s();
		rc = mix_engine_run_one(n->mixe, t_us - n->phase_us);
		double proc = cascade_thread_cpu_s() - c0;
		n->cpu_s += proc;
		if (rc == 1)
			rc = after_mix_tick(n, first, (int64_t)(proc * 1e6)) < 0 ? -ENOMEM : 1;
	}
	return rc;
}

int cascade_node_take_remote(struct cascade_node *n, int from, const struct cascade_out *o)
{
	const struct cascade_cfg *c = n->cfg;
	uint32_t src = CASCADE_MIX_SRC + (uint32_t)from;
	const struct mix_packet *p = o->pkt;
	double c0 = cascade_thread_cpu_s();
	int rc;
	if (p->kind == MIX_AUDIO) { /* one packet's time of buffering, the link, the budget */
		int64_t pts = o->tick_us + p->duration_us + c->link_us + c->jitter_us - n->phase_us;
		rc = mix_engine_push_audio(n->rxe, src, p->data, p->size, pts, -1, false);
		n->cpu_s += cascade_thread_cpu_s() - c0;
		return rc == -ENOBUFS ? 0 : rc;
	}
	int64_t arrive = o->tick_us + o->proc_us + c->link_us + c->jitter_us - n->phase_us;
	rc = mix_engine_push_video(n->rxe, src, p->data, p->size, arrive, false);
	n->cpu_s += cascade_thread_cpu_s() - c0;
	if (rc == 0)
		n->remote_frames_pushed++;
	if (rc < 0 || !mix_engine_source_visible(n->rxe, src))
		return rc == -ENOBUFS ? 0 : rc;
	for (int i = 0; i < o->carried.n && rc == 0; i++) {
		struct cascade_frame fr = {o->carried.v[i].pts_us, arrive, from};
		rc = cascade_fifo_push(&n->rx_pending, &fr);
	}
	return rc;
}

struct rx_take {
	struct cascade_node *n;
	int64_t done_us; /* the carrying tick + its CPU time */
};

static int take_rx(void *arg, const struct cascade_frame *fr)
{
	struct rx_take *t = arg;
	struct cascade_samples *s = fr->from < 0 ? &t->n->local_delay : &t->n->remote_delay;
	return cascade_samples_add(s, (double)(t->done_us - fr->pts_us));
}

int cascade_node_run_rx(struct cascade_node *n, int64_t t_us)
{
	int rc = 1;
	while (rc == 1) {
		n->got_video = false;
		double c0 = cascade_thread_cpu_s();
		rc = mix_engine_run_one(n->rxe, t_us - n->phase_us);
		double proc = cascade_thread_cpu_s() - c0;
		n->cpu_s += proc;
		if (rc == 1 && n->got_video) {
			int64_t done = n->video_tick_us + n->phase_us + (int64_t)(proc * 1e6);
			struct rx_take t = {n, done};
			rc = carry(&n->rx_pending, n->video_tick_us, take_rx, &t) < 0 ? -ENOMEM : 1;
		}
	}
	return rc;
}
