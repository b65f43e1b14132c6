/*
 * cascade.h - mcu-cascade: one large room cascaded over N nodes, simulated in one process with
 * real engines (mix_engine), real VP8/Opus decodes and encodes, offline (as fast as it goes).
 *
 * A node is two engines, because an engine's outputs all draw on the same sources (a recipient
 * can exclude one source, not a set): the local-mix engine holds only the node's local
 * participants and has one recipient, the link to the other nodes (its packets are the node's
 * local-only mix); the receivers' engine holds the local participants plus one source per other
 * node (that node's local mix) and one recipient per local participant (mix-minus audio). A
 * local mix is never fed back to any engine of its own node, so no node gets back what it sent.
 * Delay is tracked by timestamps: every shown frame pushed is followed to the first output
 * tick that carries it, on the media clock, plus the thread CPU time of that tick's run (the
 * time the tick would take on a core of its own), plus a link delay between nodes.
 * Single-threaded: every function runs on the caller's thread. cascade_node owns its engines,
 * its pending-frame lists and its delay samples; the media (bench_media) is borrowed.
 */
#ifndef MCU_CASCADE_H
#define MCU_CASCADE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "mix/engine.h"

#define CASCADE_MIX_SRC 1000000u /* remote node i's local mix is source CASCADE_MIX_SRC + i */

struct cascade_cfg {
	int participants, nodes, shown, loud, talkers;
	int64_t media_us;
	int64_t link_us;   /* one-way delay between nodes (LAN) */
	int64_t jitter_us; /* the fixed jitter budget a node adds to a remote mix's packets */
	int width, height; /* both engines' outputs */
	int bitrate;       /* both engines' video outputs */
	const struct bench_media *m;
};

/* A growable array of delay samples in microseconds. */
struct cascade_samples {
	double *v;
	int n, cap;
};

/* A shown frame on its way: its source time (room clock), the pts it was pushed with into the
 * engine that will carry it next (that engine's clock), and its origin (-1: a local
 * participant, else the node it came from). */
struct cascade_frame {
	int64_t pts_us, arrive_us;
	int from;
};

struct cascade_fifo {
	struct cascade_frame *v;
	int n, cap;
};

/* One local participant: its clips and read positions (clips loop). */
struct cascade_part {
	uint32_t id;
	int64_t phase_us; /* its capture clock's offset to the room's: (id * 7919) % 33333 us */
	const struct bench_clip *vclip, *aclip;
	int vi, ai, vloop, aloop;
};

/* An encoded local-mix packet leaving a node, with the frames it carries. */
struct cascade_out {
	struct mix_packet *pkt;
	int64_t tick_us, proc_us; /* the tick that made it (room clock), the CPU that tick took */
	struct cascade_fifo carried;
};

struct cascade_node {
	const struct cascade_cfg *cfg;
	int index, nlocal, shown_local;
	/* the node's engines' clock runs phase_us behind the room's (index * 33333 / nodes): nodes'
	 * ticks are not aligned; every time below is on the room's clock unless said */
	int64_t phase_us;
	struct cascade_part *parts;
	struct mix_engine *mixe, *rxe; /* local-mix engine, receivers' engine */
	double cpu_s;                  /* thread CPU of all this node's work */
	/* shown frames pushed into mixe / rxe not yet carried by an output tick */
	struct cascade_fifo mix_pending, rx_pending;
	/* this run_one call's video packet (its tick) and the frames it carried */
	bool got_video;
	int64_t video_tick_us;
	struct cascade_out *outq; /* local-mix packets of this step, to deliver */
	int noutq, outq_cap;
	bool *ask_kf; /* [nodes]: our receivers' engine asked node j for a keyframe of its mix */
	int64_t rx_last_video_pts, rx_last_audio_pts; /* recipients share packets: count once */
	uint64_t mix_video_frames, mix_audio_packets, rx_video_frames, rx_audio_packets;
	uint64_t remote_frames_pushed; /* other nodes' mix frames pushed into the receivers' */
	/* source frame -> local mix tick; -> a local receiver's output tick, from a local or a
	 * remote participant (microseconds, CPU of the carrying ticks and link included) */
	struct cascade_samples mix_delay, local_delay, remote_delay;
};

/* What one node measured. */
struct cascade_node_result {
	int locals, shown_local, mix_sources, rx_sources, mix_recipients, rx_recipients;
	int video_decoders, video_encoders, audio_encoders; /* both engines, at the end */
	double audio_decodes; /* Opus packets decoded per 20 ms, both engines: streams decoded */
	double cpu_s, cores;
	uint64_t mix_video_frames, rx_video_frames, rx_frames_decoded, remote_frames_pushed;
};

struct cascade_delay {
	double med_ms, p95_ms;
	int n;
};

/* One room over cfg.nodes nodes. */
struct cascade_result {
	int nodes, participants;
	double media_s, wall_s, cpu_s;
	double cores_mean, cores_max;
	struct cascade_delay mix, local, remote;
	struct cascade_node_result *node; /* [nodes] */
};

/* cascade_node.c */
int cascade_node_init(struct cascade_node *n, const struct cascade_cfg *cfg, int index);
void cascade_node_free(struct cascade_node *n);
/* Pushes the locals' packets with pts <= until into both engines. */
int cascade_node_feed(struct cascade_node *n, int64_t until);
/* Runs the local-mix engine up to t_us; its packets wait in n->outq. */
int cascade_node_run_mix(struct cascade_node *n, int64_t t_us);
/* Pushes another node's local-mix packet (from its outq) into the receivers' engine. */
int cascade_node_take_remote(struct cascade_node *n, int from, const struct cascade_out *o);
/* Runs the receivers' engine up to t_us. */
int cascade_node_run_rx(struct cascade_node *n, int64_t t_us);
void cascade_node_clear_outq(struct cascade_node *n);

/* cascade_room.c: runs the room (every node in lock step, 20 ms at a time); fills r. */
int cascade_room_run(const struct cascade_cfg *cfg, bool progress, struct cascade_result *r);
void cascade_result_free(struct cascade_result *r);

/* cascade_report.c */
void cascade_print_header(FILE *f, const struct cascade_cfg *cfg);
void cascade_print_row(FILE *f, const struct cascade_result *r);
void cascade_print_json(FILE *f, const struct cascade_cfg *cfg, const struct cascade_result *r,
                        int n);

/* cascade_util.c */
int cascade_samples_add(struct cascade_samples *s, double v);
void cascade_samples_free(struct cascade_samples *s);
/* The q-quantile (0..1) of v (sorted in place); NaN when empty. */
double cascade_quantile(double *v, int n, double q);
int cascade_fifo_push(struct cascade_fifo *f, const struct cascade_frame *fr);
void cascade_fifo_free(struct cascade_fifo *f);
double cascade_thread_cpu_s(void);

#endif
