/*
 * bench.h - shared types of mcu-bench: synthetic participants held in memory, scenarios,
 * their measured results, and the peer tools (ffmpeg CLI, GStreamer) run for comparison.
 *
 * bench_media.c loads generated clips into memory (so file I/O is not measured);
 * bench_run.c drives the engine through one scenario and times the floor (decodes of
 * visible inputs + one encode per distinct output) in the same process; with sender "sim"
 * (simulcast, issue 14) each participant holds its clip at 180p, 360p and 720p and pushes
 * one layer, the one mix_layer_choose picks for its largest tile, switching at a keyframe;
 * bench_peers.c runs ffmpeg and gst-launch-1.0 on the same inputs and measures PSNR;
 * bench_report.c prints the table, writes JSON and the gnuplot chart.
 * Single-threaded, except a scenario with threads > 1: its engine runs with a worker pool
 * (mix/pool.h) of threads - 1 workers, started in the run's child process. No globals: every
 * function works on the structs passed in.
 */
#ifndef MCU_BENCH_H
#define MCU_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mix/engine.h"

#define BENCH_CLIPS    9
#define BENCH_MAX_RUNS 9
#define BENCH_LAYERS   3 /* a simulcast sender's layers: 180p, 360p, 720p (bench_layer_res) */

/* One encoded packet of a clip; data lives in the clip's arena at `off`. */
struct bench_pkt {
	int64_t pts_us;
	size_t off, size;
	int level; /* audio: RFC 6464 level measured at load (0..127, -dBov) */
};

/* A clip: its video and audio packets, in order, pre-read into memory. */
struct bench_clip {
	struct bench_pkt *video, *audio;
	int nvideo, naudio;
	uint8_t *arena;
	size_t arena_len, arena_cap;
	int preskip;
	int64_t dur_us;
};

struct bench_media {
	struct bench_clip clip[BENCH_CLIPS];
	struct bench_clip silence; /* one silent 20 ms Opus packet per tick, level 127 */
	int64_t dur_us;            /* shortest clip: the media length of every scenario */
};

enum bench_mode { BENCH_RECORD = 0, BENCH_PER_RECIPIENT = 1 };

struct bench_scenario {
	char name[48];
	int n;       /* participants */
	char res[8]; /* sender resolution: 180p, 360p, 720p, or sim (all three, simulcast) */
	int width, height, fps, bitrate;
	int layout; /* enum mix_layout_kind */
	bool exclude_self;
	int talkers; /* participants 1..talkers send a tone, the others silence */
	int turn_ms; /* > 0: the talkers take turns of this long (the others' tones: silence) */
	int visible; /* grid max_tiles (1..25) */
	int mixed;   /* K loudest mixed */
	enum bench_mode mode;
	bool peers; /* also run ffmpeg and GStreamer on the same job */
	bool psnr;  /* Y-PSNR of each output against the lossless reference */
	bool sweep; /* a point of the participants sweep (the chart) */
	int runs;
	int threads; /* engine threads, the caller's included: 1 (or 0) = no worker pool */
	int vcodec;  /* enum mix_video_codec of the outputs: H.264 records MP4 (H.264 + AAC) */
	int rungs;   /* per-recipient: spread recipients over the first rungs of the server's
	              * default ladder for the output (0 or 1: all on the first) */
};

struct bench_floor {
	double video_decode_s, video_encode_s, audio_s, total_s;
};

/* What one run of our engine measured (in a child process). */
struct bench_run {
	bool ok;
	double media_s, wall_s, user_s, sys_s, cpu_s;
	double stage_s[MIX_STAGE_COUNT];
	int recipients, video_encoders, audio_encoders, visible_sources, video_decoders;
	uint64_t frames_decoded, frames_encoded, audio_packets, frames_dropped_invisible;
	uint64_t video_bytes, audio_bytes;
	long rss_base_kib, rss_peak_kib; /* before the engine exists; peak of the run */
	/* video frames pushed per layer (bench_layer_res) while their source was shown, layer
	 * switches of simulcast senders, active-speaker changes (the first one included) */
	uint64_t layer_frames[BENCH_LAYERS];
	int layer_switches, speaker_changes;
	struct bench_floor floor;
};

struct bench_peer {
	bool ran, ok;
	double cpu_s[BENCH_MAX_RUNS];
	double cpu_med, rss_peak_kib, psnr_y;
};

struct bench_result {
	struct bench_scenario sc;
	struct bench_run run[BENCH_MAX_RUNS];
	int nrun;
	struct bench_run med; /* medians over the runs (CPU, wall, stages, floor) */
	double psnr_ours;
	struct bench_peer ffmpeg, gst;
};

struct bench_paths {
	const char *media_dir; /* holds <res>/c1..c9.webm */
	const char *out_dir;   /* outputs and scratch files */
};

/* bench_media.c */
int bench_media_load(struct bench_media *m, const char *dir, const char *res, char *err,
                     size_t errlen);
void bench_media_free(struct bench_media *m);
void bench_clip_path(const struct bench_paths *p, const char *res, int i, char *out, size_t n);
/* "180p", "360p", "720p" for layer 0..2; the layer index of res, or -1 (e.g. for "sim"). */
const char *bench_layer_res(int layer);
int bench_layer_of(const char *res);

/* bench_run.c: runs the scenario once (in this process); out_path: recording or NULL. */
int bench_run_once(const struct bench_scenario *sc, const struct bench_paths *p,
                   const char *out_path, bool progress, struct bench_run *r);
/* Forks, runs bench_run_once in the child and returns its result (peak RSS isolated). */
int bench_run_forked(const struct bench_scenario *sc, const struct bench_paths *p,
                     const char *out_path, bool progress, struct bench_run *r);
/* CPU s per media s of decoding clips c1..c3 of res alone (in memory, libvpx only, the mean). */
int bench_decode_cost(const char *media_dir, const char *res, double *cores);

/* bench_peers.c */
int bench_peer_ffmpeg(const struct bench_scenario *sc, const struct bench_paths *p,
                      const char *out_path, double *cpu_s, long *rss_kib);
int bench_peer_gst(const struct bench_scenario *sc, const struct bench_paths *p,
                   const char *out_path, double *cpu_s, long *rss_kib);
/* Y-PSNR of `path` against ffmpeg's lossless xstack of the scenario's raw inputs. */
int bench_psnr_y(const struct bench_scenario *sc, const struct bench_paths *p, const char *path,
                 double *db);
/* Runs argv (NULL-terminated), stdout/stderr to log_path; CPU of the child tree and its RSS. */
int bench_spawn(char *const argv[], const char *log_path, double *cpu_s, long *rss_kib);

/* bench_report.c */
void bench_median_run(struct bench_result *res);
double bench_median(const double *v, int n);
void bench_print_header(FILE *f);
void bench_print_row(FILE *f, const struct bench_result *r);
void bench_print_ratios(FILE *f, const struct bench_result *r);
int bench_write_json(const char *path, const struct bench_result *res, int n, const char *machine);
int bench_write_plot(const char *svg_path, const char *gp_script, const char *out_dir,
                     const struct bench_result *res, int n);

#endif
