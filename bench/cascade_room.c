/*
 * cascade_room.c - mcu-cascade's room: N nodes run in lock step, 20 ms of media at a time.
 *
 * Each step: every node pushes its locals' packets LOOKAHEAD_US ahead (as mcu-bench does);
 * every local-mix engine runs the step; each local-mix packet is pushed into the receivers'
 * engine of every other node (never its own); keyframe requests for a local mix go back to
 * its node; then every receivers' engine runs the step. A local mix depends on no remote
 * input, so this order is causal. Afterwards the nodes' figures are gathered into the result.
 * Single-threaded (the caller's); the nodes live and die inside cascade_room_run, the result's
 * node array belongs to the result (cascade_result_free).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cascade.h"

#define LOOKAHEAD_US 200000
#define STEP_US      20000

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Delivers every node's local-mix packets of this step to the other nodes. */
static int route(struct cascade_node *nodes, int nn)
{
	int rc = 0;
	for (int j = 0; j < nn; j++) {
		for (int k = 0; k < nodes[j].noutq && rc == 0; k++)
			for (int i = 0; i < nn && rc == 0; i++)
				if (i != j)
					rc = cascade_node_take_remote(&nodes[i], j,
					                              &nodes[j].outq[k]);
		cascade_node_clear_outq(&nodes[j]);
	}
	for (int i = 0; i < nn; i++)
		for (int j = 0; j < nn; j++)
			if (nodes[i].ask_kf[j]) {
				nodes[i].ask_kf[j] = false;
				mix_engine_request_keyframe(nodes[j].mixe, 1);
			}
	return rc;
}

static int step(struct cascade_node *nodes, int nn, int64_t t)
{
	int rc = 0;
	for (int i = 0; i < nn && rc >= 0; i++)
		rc = cascade_node_feed(&nodes[i], t + LOOKAHEAD_US);
	for (int i = 0; i < nn && rc >= 0; i++)
		rc = cascade_node_run_mix(&nodes[i], t + STEP_US);
	if (rc >= 0)
		rc = route(nodes, nn);
	for (int i = 0; i < nn && rc >= 0; i++)
		rc = cascade_node_run_rx(&nodes[i], t + STEP_US);
	return rc;
}

static void node_result(const struct cascade_node *n, double media_s,
                        struct cascade_node_result *nr)
{
	struct mix_engine_stats a, b;
	mix_engine_get_stats(n->mixe, &a);
	mix_engine_get_stats(n->rxe, &b);
	nr->locals = n->nlocal;
	nr->shown_local = n->shown_local;
	nr->mix_sources = a.sources;
	nr->rx_sources = b.sources;
	nr->mix_recipients = a.recipients;
	nr->rx_recipients = b.recipients;
	nr->video_decoders = a.video_decoders + b.video_decoders;
	nr->video_encoders = a.video_encoders + b.video_encoders;
	nr->audio_encoders = a.audio_encoders + b.audio_encoders;
	double ticks = media_s * 50;
	nr->audio_decodes = (double)(a.audio_decoded_packets + b.audio_decoded_packets) / ticks;
	nr->cpu_s = n->cpu_s;
	nr->cores = n->cpu_s / media_s;
	nr->mix_video_frames = n->mix_video_frames;
	nr->rx_video_frames = n->rx_video_frames;
	nr->rx_frames_decoded = b.frames_decoded;
	nr->remote_frames_pushed = n->remote_frames_pushed;
}

/* Median and p95 (ms) of one kind of sample over every node. */
static int delay_of(const struct cascade_node *nodes, int nn, size_t off, struct cascade_delay *d)
{
	int total = 0;
	for (int i = 0; i < nn; i++)
		total += ((const struct cascade_samples *)((const char *)&nodes[i] + off))->n;
	double *v = malloc(sizeof(*v) * (size_t)(total + 1));
	if (!v)
		return -ENOMEM;
	int k = 0;
	for (int i = 0; i < nn; i++) {
		const struct cascade_samples *s = (const void *)((const char *)&nodes[i] + off);
		memcpy(v + k, s->v, sizeof(*v) * (size_t)s->n);
		k += s->n;
	}
	d->n = total;
	d->med_ms = cascade_quantile(v, total, 0.5) / 1000.0;
	d->p95_ms = cascade_quantile(v, total, 0.95) / 1000.0;
	free(v);
	return 0;
}

static int gather(const struct cascade_node *nodes, int nn, struct cascade_result *r)
{
	r->node = calloc((size_t)nn, sizeof(*r->node));
	if (!r->node)
		return -ENOMEM;
	for (int i = 0; i < nn; i++) {
		node_result(&nodes[i], r->media_s, &r->node[i]);
		r->cpu_s += r->node[i].cpu_s;
		r->cores_mean += r->node[i].cores / nn;
		r->cores_max = fmax(r->cores_max, r->node[i].cores);
	}
	int rc = delay_of(nodes, nn, offsetof(struct cascade_node, mix_delay), &r->mix);
	if (rc == 0)
		rc = delay_of(nodes, nn, offsetof(struct cascade_node, local_delay), &r->local);
	if (rc == 0)
		rc = delay_of(nodes, nn, offsetof(struct cascade_node, remote_delay), &r->remote);
	return rc;
}

static void progress_line(const struct cascade_cfg *cfg, int64_t t, double w0)
{
	double w = wall_s() - w0;
	fprintf(stderr, "\rmcu-cascade: %d nodes  %5.1f / %.1f s media, %4.2fx real time   ",
	        cfg->nodes, t / 1e6, cfg->media_us / 1e6, w > 0 ? t / 1e6 / w : 0.0);
}

int cascade_room_run(const struct cascade_cfg *cfg, bool progress, struct cascade_result *r)
{
	memset(r, 0, sizeof(*r));
	r->nodes = cfg->nodes;
	r->participants = cfg->participants;
	r->media_s = cfg->media_us / 1e6;
	struct cascade_node *nodes = calloc((size_t)cfg->nodes, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	int rc = 0, made = 0;
	for (; made < cfg->nodes && rc == 0; made++)
		rc = cascade_node_init(&nodes[made], cfg, made);
	double w0 = wall_s(), last = w0;
	for (int64_t t = 0; t < cfg->media_us && rc >= 0; t += STEP_US) {
		rc = step(nodes, cfg->nodes, t);
		if (progress && wall_s() - last >= 1.0) {
			last = wall_s();
			progress_line(cfg, t, w0);
		}
	}
	if (progress)
		fprintf(stderr, "\n");
	r->wall_s = wall_s() - w0;
	if (rc >= 0)
		rc = gather(nodes, cfg->nodes, r);
	for (int i = 0; i < made; i++)
		cascade_node_free(&nodes[i]);
	free(nodes);
	return rc < 0 ? rc : 0;
}

void cascade_result_free(struct cascade_result *r)
{
	free(r->node);
	r->node = NULL;
}
