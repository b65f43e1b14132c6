/*
 * engine_int.h - the engine's private state, shared by engine.c (clock, API), source.c
 * (per-participant queues and decoders), vout.c (video output keys, compositing, VP8 encoders)
 * and aout.c (audio selection, mix-minus, Opus encoders).
 *
 * Threads: everything here runs on the engine's thread, except inside the video tick's fork
 * (vout.c, with cfg.pool): there each pool item owns one source (its decoder, queue, picture
 * and latency scratch, struct src_lat) or one vout (its compositor and encoder), reads the sources'
 * pictures and names only after the decodes joined, and writes its counters, CPU times, keyframe
 * requests and packets to its own struct vjob; the engine's thread applies them after the join, in
 * order. The engine owns its sources, recipients, outputs and the vjob scratch array; a recipient
 * points at (does not own) the outputs it is assigned to.
 */
#ifndef MIX_ENGINE_INT_H
#define MIX_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "mix/audio_mix.h"
#include "mix/compose.h"
#include "mix/engine.h"
#include "mix/h264.h"
#include "mix/opus.h"
#include "mix/vp8.h"
#include "vlock.h"

#define SRC_VQ_CAP        64     /* queued video frames per source (about 2 s at 30 fps) */
#define SRC_AQ_CAP        64     /* queued Opus packets per source */
#define SRC_FIFO_CAP      16384  /* decoded samples per source */
#define SRC_KF_REQ_GAP_US 500000 /* keyframe requests to one source, while its decoder waits */
#define MAX_TILES         (MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP)

#define SRC_LAT_DECODES 8 /* decode times one video tick keeps per source for the latency */

/* When a frame or packet reached the caller and when it was pushed (monotonic us), 0: none. */
struct lat_stamp {
	int64_t arrived_us, handed_us;
};

struct vq_item {
	struct mix_packet *pkt;
	int64_t ready_us; /* media time the caller had the whole frame */
	bool loss_before;
	struct lat_stamp stamp;
};

struct aq_item {
	struct mix_packet *pkt;
	int64_t start; /* sample index of the first decoded sample */
	int samples;
	int level;        /* RFC 6464 level or -1 */
	bool loss_before; /* packets were lost just before this one (a gap is loss, not DTX) */
	bool dtx;         /* an Opus DTX frame (no audio data): silence, never decoded */
	struct lat_stamp stamp;
};

/*
 * A source's latency stamps (cfg.latency; monotonic microseconds, 0: none). The video decode
 * writes pic_* and dec_us (a pool item owning the source); the engine's thread reads them after
 * the join. The rest is the engine's thread's.
 */
struct src_lat {
	bool on;                         /* cfg.latency */
	struct lat_stamp pic;            /* the current picture's frame, until first composed */
	int64_t dec_us[SRC_LAT_DECODES]; /* this tick's decode wall times */
	int ndec;                        /* ... how many */
	int64_t v_sent_arrived;          /* a composed frame's arrival, until sent */
	struct lat_stamp a;              /* the packet whose first sample this audio tick takes */
	int64_t a_sent_arrived;          /* a mixed packet's arrival, until sent */
};

/*
 * One participant. Invariant: a video decoder (vp8 or h264, the one of vcodec) exists iff
 * visible; have_pic implies it exists. source_has_decoder() tells.
 */
struct source {
	uint32_t id;
	char name[64];
	uint64_t join_seq;
	uint64_t last_spoke; /* audio tick number when last mixed above silence, 0 = never */
	bool visible;
	int tile_w, tile_h;            /* its largest tile in any output (0: in none) */
	bool audio_muted, video_muted; /* mix_engine_set_source_muted */
	int64_t last_kf_req_us; /* media time of the last keyframe request, for rate limiting */
	/* video */
	struct vq_item vq[SRC_VQ_CAP];
	int vq_head, vq_len;
	bool vq_loss;     /* a frame was dropped on push: the next one follows a loss */
	int vcodec;       /* enum mix_video_codec of the frames pushed */
	int max_w, max_h; /* the decoder's size cap, kept to recreate it on a codec change */
	struct mix_vp8_dec *vp8;
	struct mix_h264_dec *h264;
	struct mix_picture pic;
	bool have_pic;
	uint64_t serial;
	/* the newest frame decoded into pic by the last video tick: its pts (INT64_MIN: none) and
	 * when it was ready (mix_engine_push_video_at) */
	int64_t shown_pts, shown_ready;
	/* audio */
	struct aq_item aq[SRC_AQ_CAP];
	int aq_head, aq_len;
	bool hdr_levels; /* the sender reports RFC 6464 levels */
	struct mix_opus_dec *adec;
	int16_t fifo[SRC_FIFO_CAP];
	int64_t fifo_s; /* sample index of fifo[0] */
	int fifo_len;
	bool fifo_started;
	int preskip_left;
	int64_t last_audio_end; /* sample index after the last decoded sample, for the PLC cap */
	bool last_quiet;        /* the last packet was quiet or DTX: a gap after it is silence */
	float tick_level;
	bool tick_filled; /* fifo filled for this tick */
	struct src_lat lat;
};

/* lineup.c: who is shown in a large room, in stable positions (see lineup.c). */
struct lineup_slots {
	uint32_t ids[MAX_TILES];
	int n;
};

struct lineup {
	struct lineup_slots grid;  /* the grid's tiles */
	uint32_t grid_next;        /* the best source not on the grid, or MIX_NO_SOURCE */
	uint32_t main;             /* speaker layout: tile 0 */
	struct lineup_slots strip; /* speaker layout: the strip */
	uint32_t strip_best;       /* the best-ranked source in the strip */
	uint32_t strip_next;       /* the best source in neither */
};

struct vout; /* a video output: compositor + VP8 encoder, shared by equal keys */
struct vjob; /* one item of the video tick's fork (vout.c) */
struct aout; /* an audio output: limiter + Opus encoder, shared by equal keys */

struct recipient {
	uint32_t id;
	struct mix_recipient_opts opts; /* resolved: no -1/0 defaults left */
	bool own_layout;                /* opts.layout was asked for, not the engine's */
	int bitrate_cap;                /* 0 = none */
	struct vout *vout;
	struct aout *aout;
	/* Its vout changed to another stream: send it none of that stream's packets before a
	 * keyframe (vout.c). */
	bool await_kf;
};

struct mix_engine {
	struct mix_engine_cfg cfg;
	struct source **src; /* join order */
	int nsrc, cap_src;
	struct recipient **rcp;
	int nrcp, cap_rcp;
	struct vout **vout;
	int nvout, cap_vout;
	struct aout **aout;
	int naout, cap_aout;
	struct mix_audio *amix;
	uint64_t join_seq;
	uint64_t audio_tick, video_tick; /* next tick numbers */
	/* video tick n is at vbase_us + (n - vbase_n) * 1e6 / fps: (0, 0) unless the lock moved it
	 */
	int64_t vbase_us;
	uint64_t vbase_n;
	struct vlock vlock; /* cfg.tick_lock */
	uint32_t active_speaker;
	uint32_t pin;     /* mix_engine_set_pin, MIX_NO_SOURCE: none */
	bool tiles_dirty; /* visibility must be recomputed */
	struct lineup lineup;
	struct mix_engine_stats st;
	struct vjob *vjobs; /* the video tick's per-item results, reused tick to tick */
	int cap_vjobs;
	struct mix_latency *lat; /* per-stage latency, with cfg.latency only */
};

/* source.c */
struct source *source_new(uint32_t id, const char *name, uint64_t join_seq);
void source_free(struct source **s);
int source_push_video(struct source *s, const uint8_t *data, size_t len, int64_t pts_us,
                      int64_t ready_us, bool loss_before, struct lat_stamp stamp,
                      struct mix_engine_stats *st);
int source_push_audio(struct source *s, const uint8_t *data, size_t len, int64_t pts_us, int level,
                      bool loss_before, struct lat_stamp stamp, struct mix_engine_stats *st);
int source_set_visible(struct source *s, bool visible, int max_w, int max_h);
/* Switches the codec of s's video: a visible source's decoder is recreated (waits for a
 * keyframe), its queued frames dropped. 0, -EINVAL (unknown codec), -ENOMEM. */
int source_set_video_codec(struct source *s, int codec);
bool source_has_decoder(const struct source *s);
/* Decodes queued frames due at t_us; returns true if a keyframe is needed. */
bool source_decode_video(struct source *s, int64_t t_us, struct mix_engine_stats *st);
/* The level of src for the audio tick starting at sample S (decodes if it must). */
float source_audio_level(struct source *s, int64_t S, int64_t plc_max, struct mix_engine_stats *st);
/* 960 samples of src for the tick starting at S, concealing gaps up to plc_max samples. */
void source_audio_pcm(struct source *s, int64_t S, int64_t plc_max, int16_t *out,
                      struct mix_engine_stats *st);
/* Ends the tick: drops samples and packets before S + 960. */
void source_audio_done(struct source *s, int64_t S);

/* lineup.c */
/* Updates who is shown (src in join order); -ENOMEM. */
int lineup_update(struct lineup *st, struct source *const *src, int nsrc, int max_tiles, int strip,
                  uint32_t active_speaker);
/* The tiles of a view with `self` excluded (MIX_NO_SOURCE: none); returns the count. */
int lineup_view(const struct lineup *st, int layout, uint32_t self, uint32_t *tiles);
/* The speaker view with pin in tile 0 and the rest of the speaker view after it (at most
 * 1 + strip tiles); returns the count. */
int lineup_pinned_view(const struct lineup *st, uint32_t pin, uint32_t self, int strip,
                       uint32_t *tiles);

/* vout.c */
/* Video tick n at t_us: decodes, composes and encodes what is due (vout.c). */
int vouts_tick(struct mix_engine *e, int64_t t_us, uint64_t n);
/* Recomputes every recipient's tiles and the sources' visibility. */
int vouts_assign(struct mix_engine *e, int64_t t_us);
void vout_free(struct vout **v);
void vouts_release_recipient(struct mix_engine *e, struct recipient *r);
int vout_tiles(const struct vout *v, uint32_t *out, int max);
int vout_count(const struct mix_engine *e);
void vout_request_keyframe(struct vout *v, int64_t min_gap_us);
/* The outputs' frames encoded since the last call were sent at now_us: send stage. */
void vouts_lat_sent(struct mix_engine *e, int64_t now_us);

/* aout.c */
int aouts_tick(struct mix_engine *e, int64_t t_us);
void aout_free(struct aout **a);
void aouts_release_recipient(struct mix_engine *e, struct recipient *r);
/* The outputs' packets encoded since the last call were sent at now_us: send stage. */
void aouts_lat_sent(struct mix_engine *e, int64_t now_us);

/* engine.c */
struct source *engine_source(const struct mix_engine *e, uint32_t id);
/* The slot of the 1/fps video grid nearest to t_us (slot k is centred on k * 1e6 / fps). */
int64_t engine_grid_slot(const struct mix_engine *e, int64_t t_us);
double engine_cpu_now(void);
void engine_stage_add(struct mix_engine *e, enum mix_stage s, double t0);
/* Adds this thread's CPU time since t0 to stage s of st (a pool item's own stats). */
void engine_stats_stage(struct mix_engine_stats *st, enum mix_stage s, double t0);
/* Adds every counter and stage time of from to into (a pool item's stats after the join). */
void engine_stats_add(struct mix_engine_stats *into, const struct mix_engine_stats *from);
void engine_emit(struct mix_engine *e, uint32_t rid, const struct mix_packet *p);
void engine_request_keyframe_src(struct mix_engine *e, struct source *s, int64_t t_us);
/* Records one latency sample of stage st at now_us (monotonic) if cfg.latency is on. */
void engine_lat_add(struct mix_engine *e, enum mix_lat_stage st, int64_t now_us, int64_t us);

static inline int64_t samples_of_us(int64_t us)
{
	/* floor(us * 48 / 1000), correct for negative times too */
	int64_t n = us * 48;
	return n >= 0 ? n / 1000 : -((-n + 999) / 1000);
}

#endif
