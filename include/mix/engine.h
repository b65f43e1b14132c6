/*
 * engine.h - the media engine of one room: sources in, one mixed stream per recipient out.
 *
 * Sources (participants) push encoded video frames (VP8 by default, or H.264: see
 * mix_engine_set_source_video_codec) and Opus packets stamped on the engine's
 * media clock (microseconds). The caller advances the clock with mix_engine_run_until(); the
 * engine runs every 20 ms audio tick and every 1/fps video tick due before that time, in time
 * order. Real-time use advances it from a timer; offline use advances it as fast as input is
 * available. Output depends only on the input and the tick times, never on wall time.
 *
 * Each recipient's output is described by a key (layout, tiles' sources, canvas size, frame
 * rate, bitrate, excluded self, codec). Recipients with equal keys share one encoder and receive
 * references to the same encoded packets. An output's frame rate F divides the engine's fps: it
 * is composed and encoded only on video ticks k (tick time k * 1e6 / fps) with
 * k % (fps / F) == 0. A ladder of outputs (sizes, rates, bitrates) per room is thus a matter of
 * recipient settings, changeable while running (mix_engine_set_recipient_video).
 * Await-keyframe rule: whenever a recipient's video output changes to another stream (it joins a
 * running output, its settings move it to another output, its video is turned back on), it
 * receives nothing of the new stream until that stream's next keyframe (a new encoder starts with
 * one, a running one is asked for one), so its decoder never gets delta frames it has no
 * reference for. An output re-keyed in place (new tiles, same encoder) keeps its recipients'
 * stream and does not gate them.
 * Audio: an audio output's key is the source it subtracts, its codec and (Opus) its bitrate:
 * one Opus encoder per mixed speaker that is also a recipient (sum minus own) plus one shared
 * by every other listener, for each Opus bitrate recipients are on (a ladder's rung's: see
 * mix_engine_set_recipient_audio_bitrate).
 *
 * Only sources shown on some canvas are video-decoded; when a source becomes visible its
 * keyframe callback fires and it shows a placeholder until a keyframe decodes.
 *
 * Threading: all calls, and all callbacks, happen on the thread that calls mix_engine_run_until()
 * and the other functions (the engine's thread). Two engines are independent. With a worker
 * pool (cfg.pool), a video tick forks: the visible sources' video decodes run in parallel, then
 * the distinct outputs' compose + encode; it joins before any callback fires, and the
 * callbacks then fire on the engine's thread in the order a pool-less engine fires them, so the
 * output is byte-identical with or without a pool. Every video tick (pool or not) collects
 * its keyframe requests and packets first and fires their callbacks after all its decodes and
 * encodes: an engine call a callback makes takes effect from the next tick.
 * Ownership: pushed data is copied; packets passed to on_packet are borrowed for the call
 * (take a reference with mix_packet_ref to keep one). Output timestamps: a video packet's pts
 * is its tick; an audio packet's pts is the time of its first decoded sample (its tick minus
 * the Opus encoder's lookahead), as in WebM/Ogg.
 */
#ifndef MIX_ENGINE_H
#define MIX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/audio_mix.h"
#include "mix/codec.h"
#include "mix/layout.h"
#include "mix/packet.h"
#include "mcu/lat_hist.h"

#define MIX_KF_GAP_US 1000000 /* keyframe requests (PLI/FIR): one per second per encoder */
#define MIX_KF_JOIN_GAP_US                                                                         \
	250000 /* a newcomer's keyframe: see mix_engine_request_join_keyframe                      \
	        */

struct mix_engine;
struct mix_pool;

struct mix_engine_callbacks {
	void *opaque;
	/* An encoded packet for recipient rid. */
	void (*on_packet)(void *opaque, uint32_t rid, const struct mix_packet *pkt);
	/* Source src must send a keyframe (became visible, or its decoder lost sync). */
	void (*on_keyframe_request)(void *opaque, uint32_t src);
	/* The active speaker changed (src may be MIX_NO_SOURCE). */
	void (*on_active_speaker)(void *opaque, uint32_t src);
};

struct mix_engine_cfg {
	int width, height, fps;      /* default output: 1280x720 at 30 */
	enum mix_layout_kind layout; /* default grid */
	bool exclude_self;           /* default false: one encoder for the whole room */
	int max_tiles;               /* grid tiles shown, 1..25, default 25 */
	int speaker_strip;           /* small tiles in speaker layout, 0..8, default 6 */
	int video_bitrate;           /* default 2000000 */
	int audio_bitrate;           /* default 32000 */
	int opus_complexity;         /* default 5 */
	bool opus_fec;               /* default false */
	int max_mixed;               /* K loudest mixed, default 4 */
	int max_w, max_h;            /* inbound video size cap (VP8 and H.264), default 1920x1088 */
	int64_t plc_max_us;          /* conceal a silent source's audio at most this long, 100 ms */
	bool tile_names;             /* participants' names on their tiles, default false */
	bool latency; /* record per-stage latency (mix_engine_latency_merge), default false */
	/* compose as frames arrive: the video ticks follow the lead source's frames (the pinned
	 * source, else the active speaker, else the first visible one) instead of a fixed grid,
	 * each tick moved at most a quarter interval; the output stays a function of the input
	 * timestamps. Default false. */
	bool tick_lock;
	/* Worker pool for the video tick (mix/pool.h), borrowed: it must outlive the engine and may
	 * be shared by engines on several threads. NULL (default): the engine's thread does all. */
	struct mix_pool *pool;
	struct mix_engine_callbacks cb;
};

void mix_engine_cfg_default(struct mix_engine_cfg *cfg);

int mix_engine_alloc(struct mix_engine **out, const struct mix_engine_cfg *cfg);
void mix_engine_free(struct mix_engine **e);

/* --- sources --- */

/* Adds a participant's source; join order decides tile order. -EEXIST, -EINVAL, -ENOMEM. */
int mix_engine_add_source(struct mix_engine *e, uint32_t src, const char *name);
/* Removes a source: its tile and its audio leave every mix from the next tick. */
void mix_engine_remove_source(struct mix_engine *e, uint32_t src);

/*
 * The codec of src's video (default VP8); frames pushed after this are decoded with it. The
 * decoder is recreated (frames still queued are dropped), so it waits for a keyframe: while
 * it has none, a visible src is asked for one as after a loss. -ENOENT, -EINVAL (unknown
 * codec), -ENOMEM.
 */
int mix_engine_set_source_video_codec(struct mix_engine *e, uint32_t src,
                                      enum mix_video_codec codec);

/*
 * One complete frame in src's codec (a VP8 frame, or an H.264 access unit in Annex B: see
 * mix/h264.h for what is decoded) with presentation time pts_us. loss_before: frames were lost
 * just before this one (the decoder then waits for a keyframe). Frames of invisible sources are
 * dropped (counted). -ENOENT for an unknown source, -ENOBUFS if its queue is full.
 */
int mix_engine_push_video(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                          int64_t pts_us, bool loss_before);

/*
 * One Opus packet of src; pts_us is the time of its first decoded sample (so a stream whose
 * first packet starts at -preskip places its first kept sample at 0). Input is expected in
 * order and de-jittered: a packet that arrives after its tick has run is dropped (counted).
 * loss_before: packets were lost just before this one (an RTP sequence gap). A gap in time
 * after a quiet packet (below -50 dBov) or a DTX frame (1 or 2 bytes), with no loss reported,
 * is Opus DTX (senders start it only after silence): silence, no PLC, not counted. Other gaps
 * (a reported loss, a late packet or a clock step after a loud packet) are concealed (PLC,
 * then inband FEC from the next packet) for up to plc_max_us, then silent. DTX frames, and
 * packets whose level says below -60 dBov, are never decoded.
 * level: RFC 6464 level (0..127 = -dBov) if the sender reported one, or -1 (then the engine
 * decodes to measure). Sources that report levels and are not mixed are not decoded.
 */
int mix_engine_push_audio(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                          int64_t pts_us, int level, bool loss_before);

/*
 * The same, stamped for the latency stages (cfg.latency): arrived_us is when the frame's last
 * packet (the packet) reached the caller, on the monotonic clock in microseconds
 * (CLOCK_MONOTONIC, as g_get_monotonic_time); 0: not stamped (nothing recorded for it).
 * A video frame also carries ready_us, the media time (the engine's clock, like pts_us) when
 * the caller had all of it: with cfg.tick_lock the ticks follow the lead's (mix_engine_push_video
 * takes its pts).
 */
int mix_engine_push_video_at(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                             int64_t pts_us, int64_t ready_us, bool loss_before,
                             int64_t arrived_us);
int mix_engine_push_audio_at(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                             int64_t pts_us, int level, bool loss_before, int64_t arrived_us);

/*
 * Discards this many leading decoded samples of src's audio stream (an Opus pre-skip); the
 * first kept sample is placed at first pts + samples.
 */
/*
 * Mutes src's audio and/or video (a moderator's or the participant's own mute), or unmutes it.
 * Muted audio is dropped at push, undecoded, and src is silent in every mix from the next tick
 * (never the active speaker). Muted video is not decoded: src keeps its place and its tile,
 * drawn as its placeholder (initials), and when its video is unmuted while shown it is asked
 * for a keyframe as when it becomes visible. -ENOENT.
 */
int mix_engine_set_source_muted(struct mix_engine *e, uint32_t src, bool audio, bool video);
/* Renames src: its placeholder initials and name label follow from the next video tick. */
int mix_engine_set_source_name(struct mix_engine *e, uint32_t src, const char *name);
/* Whether src is shown on some output now (and its video decoded). */
bool mix_engine_source_visible(const struct mix_engine *e, uint32_t src);
/* The size of src's largest tile in any output as of the last lineup (*w = *h = 0 when it is
 * in none): the picture size worth decoding (a simulcast sender's layer). 0 or -ENOENT. */
int mix_engine_source_tile(const struct mix_engine *e, uint32_t src, int *w, int *h);

int mix_engine_set_audio_preskip(struct mix_engine *e, uint32_t src, int samples);

/* --- the room's view --- */

/*
 * The layout of every recipient that has none of its own (opts.layout -1 at add, or reset by
 * mix_engine_set_recipient_view): from the next video tick. -EINVAL for an unknown kind.
 */
int mix_engine_set_layout(struct mix_engine *e, enum mix_layout_kind layout);
/* Shows src large for every recipient without a pin of its own (MIX_NO_SOURCE: nobody). */
void mix_engine_set_pin(struct mix_engine *e, uint32_t src);
/* The room's layout and pin now. */
enum mix_layout_kind mix_engine_layout(const struct mix_engine *e);
uint32_t mix_engine_pin(const struct mix_engine *e);

/* --- recipients --- */

struct mix_recipient_opts {
	uint32_t self;     /* the recipient's own source, or MIX_NO_SOURCE */
	int width, height; /* 0: the engine's */
	int fps;           /* 0: the engine's; must divide the engine's fps (else -EINVAL) */
	int video_bitrate; /* 0: the engine's */
	int audio_bitrate; /* Opus, 0: the engine's, else 6000..510000 bit/s (AAC ignores it) */
	bool video, audio; /* which outputs it receives */
	int layout;        /* -1: engine's, else enum mix_layout_kind */
	int exclude_self;  /* -1: engine's, 0/1 */
	/* enum mix_video_codec / mix_audio_codec (mix/codec.h); 0 = VP8 / Opus. A codec is part
	 * of the output key: H.264 and AAC outputs have encoders of their own. */
	int video_codec, audio_codec;
	/* A source shown large (the speaker layout with it in tile 0, whatever the layout), or
	 * MIX_NO_SOURCE (the default): the engine's pin (mix_engine_set_pin), if any. A pin that
	 * is not in the room, or is the recipient's own excluded self, is ignored. */
	uint32_t pin;
};

void mix_recipient_opts_default(struct mix_recipient_opts *o);

int mix_engine_add_recipient(struct mix_engine *e, uint32_t rid,
                             const struct mix_recipient_opts *opts);
void mix_engine_remove_recipient(struct mix_engine *e, uint32_t rid);
/* A keyframe for rid's video (coalesced to one per MIX_KF_GAP_US per encoder). */
void mix_engine_request_keyframe(struct mix_engine *e, uint32_t rid);
/*
 * The keyframe a newcomer needs to start (its SRTP is ready): a legitimate request, not a
 * loss, so it waits only MIX_KF_JOIN_GAP_US after the encoder's previous keyframe. Joins that
 * come within that window share one keyframe: a burst of joins costs each output at most
 * 1 s / MIX_KF_JOIN_GAP_US keyframes a second, and each newcomer waits at most that long.
 * A recipient moved to an output that already runs (a rung switch, a layout change) is
 * gated until that output's next keyframe, asked for the same way.
 */
void mix_engine_request_join_keyframe(struct mix_engine *e, uint32_t rid);
/* Caps rid's video bitrate (e.g. from REMB); recipients under different caps stop sharing. */
int mix_engine_set_recipient_bitrate(struct mix_engine *e, uint32_t rid, int bps);
/*
 * rid's video output from the next tick (a rung of a ladder): on = false stops its video (audio
 * only; the other arguments are then ignored); else the size (0,0 = the engine's), frame rate
 * (0 = the engine's, must divide it) and bitrate (0 = the engine's; a cap set by
 * mix_engine_set_recipient_bitrate still applies). Recipients with the same settings share an
 * encoder as before. After a change rid receives nothing of its new output until that output's
 * next keyframe (a fresh encoder starts with one; a shared running one is asked for one, which
 * it honours within about 1 s), so a decoder never gets delta frames of a stream it has no
 * reference for. 0, -ENOENT (no such recipient), -EINVAL (bad size, rate or bitrate), -ENOTSUP
 * (video on for an H.264 recipient without libx264).
 */
int mix_engine_set_recipient_video(struct mix_engine *e, uint32_t rid, bool on, int width,
                                   int height, int fps, int bitrate);
/*
 * rid's Opus bitrate from the next audio tick (0 = the engine's audio_bitrate; a ladder's rung
 * lowers it on a slow link; AAC outputs ignore it). Recipients on the same bitrate and mix share
 * an encoder. One that moves to a bitrate no output has takes over an encoder of its mix that
 * nobody is left on, re-tuned in place (so a lone listener keeps its stream's encoder state),
 * else a new encoder starts. 0, -ENOENT (no such recipient), -EINVAL (not 0 or 6000..510000).
 */
int mix_engine_set_recipient_audio_bitrate(struct mix_engine *e, uint32_t rid, int bps);
/*
 * rid's own view: layout (-1: the room's, following mix_engine_set_layout), exclude_self (-1:
 * the engine's default), pin (MIX_NO_SOURCE: the room's). Recipients with equal views still
 * share an encoder. From the next video tick (a move to another output waits for its
 * keyframe, as any move). -ENOENT, -EINVAL.
 */
int mix_engine_set_recipient_view(struct mix_engine *e, uint32_t rid, int layout, int exclude_self,
                                  uint32_t pin);

/* --- clock --- */

/*
 * Skips (does not run) every tick with time < t_us: for a caller that has fallen too far
 * behind real time, so it catches up at once instead of running every missed tick. Outputs
 * then jump in time (receivers conceal the gap); skipped ticks are counted in the stats.
 */
void mix_engine_skip_to(struct mix_engine *e, int64_t t_us);

/* Runs every tick with time < t_us. Ticks start at time 0. */
int mix_engine_run_until(struct mix_engine *e, int64_t t_us);
/* Runs the next tick (audio first on ties) if its time < t_us: 1 if one ran, 0 if none was due,
 * or an error. A run of these is exactly run_until: a caller sends each tick's packets at once. */
int mix_engine_run_one(struct mix_engine *e, int64_t t_us);
/* The time of the next tick not yet run. */
int64_t mix_engine_now(const struct mix_engine *e);

/* --- introspection --- */

enum mix_stage {
	MIX_STAGE_VIDEO_DECODE,
	MIX_STAGE_COMPOSE,
	MIX_STAGE_VIDEO_ENCODE,
	MIX_STAGE_AUDIO_DECODE,
	MIX_STAGE_AUDIO_MIX,
	MIX_STAGE_AUDIO_ENCODE,
	MIX_STAGE_COUNT
};

struct mix_engine_stats {
	int sources, recipients;
	int video_encoders, audio_encoders; /* live now (audio: Opus and AAC, every bitrate) */
	int visible_sources, video_decoders;
	uint64_t video_ticks, audio_ticks;
	uint64_t video_ticks_skipped, audio_ticks_skipped; /* by mix_engine_skip_to */
	uint64_t video_ticks_moved;                        /* by cfg.tick_lock */
	uint64_t frames_decoded, frames_dropped_invisible, frames_dropped_queue, decode_errors;
	uint64_t keyframe_requests, frames_encoded, audio_packets_encoded;
	uint64_t plc_samples, audio_decoded_packets, audio_decode_errors;
	uint64_t audio_bad_packets, audio_dropped_queue, audio_late_packets;
	uint64_t frames_dropped_muted, audio_dropped_muted; /* pushed while muted */
	uint32_t active_speaker;
	/* thread CPU time spent per stage, summed over the threads that ran it */
	double stage_cpu_s[MIX_STAGE_COUNT];
};

void mix_engine_get_stats(const struct mix_engine *e, struct mix_engine_stats *st);
const char *mix_stage_name(enum mix_stage s);

/*
 * Per-stage latency (cfg.latency), in real time on the monotonic clock (not the media clock,
 * which runs a playout delay behind). Video: reorder (the frame's last packet arrived -> pushed),
 * wait (pushed -> start of the first video tick that composes it: playout delay plus tick
 * quantization), decode (wall time of its decode), encode (tick start -> that output's frame
 * encoded, per output), send (encoded -> the caller's mix_engine_latency_sent after it sent the
 * tick's packets), total (last packet arrived -> the first output frame showing it sent).
 * Audio: reorder, wait (pushed -> start of the audio tick that mixes its first sample), encode,
 * send, total, alike. Each stage is a lat_hist over a sliding window of MIX_LAT_HALF_US halves.
 * Recording reads the clock and writes nothing the output depends on: the bytes are the same.
 */
enum mix_lat_stage {
	MIX_LAT_VIDEO_REORDER,
	MIX_LAT_VIDEO_WAIT,
	MIX_LAT_VIDEO_DECODE,
	MIX_LAT_VIDEO_ENCODE,
	MIX_LAT_VIDEO_SEND,
	MIX_LAT_VIDEO_TOTAL,
	MIX_LAT_AUDIO_REORDER,
	MIX_LAT_AUDIO_WAIT,
	MIX_LAT_AUDIO_ENCODE,
	MIX_LAT_AUDIO_SEND,
	MIX_LAT_AUDIO_TOTAL,
	MIX_LAT_COUNT
};

#define MIX_LAT_HALF_US 10000000 /* the window: the current and the previous 10 s */

struct mix_latency {
	struct lat_hist h[MIX_LAT_COUNT];
};

/* Empty histograms (half_us 0: an accumulator without a window). */
void mix_latency_init(struct mix_latency *l, int64_t half_us, int64_t now_us);
/* Adds from's stages (their windows as of now_us) to into's. */
void mix_latency_merge(struct mix_latency *into, const struct mix_latency *from, int64_t now_us);
/* "reorder", "wait", "decode", "encode", "send", "total". */
const char *mix_lat_stage_name(enum mix_lat_stage s);
bool mix_lat_stage_is_video(enum mix_lat_stage s);
/* The engine's monotonic clock in microseconds (CLOCK_MONOTONIC). */
int64_t mix_mono_us(void);
/* The tick's packets were handed to the network at now_us (monotonic): send and total. */
void mix_engine_latency_sent(struct mix_engine *e, int64_t now_us);
/* Adds the engine's stages (their last window as of now_us) to into; nothing without
 * cfg.latency. */
void mix_engine_latency_merge(const struct mix_engine *e, struct mix_latency *into, int64_t now_us);

/* For tests: the source shown in each tile of rid's current output; returns the tile count. */
/* One live video encoder: its output's codec, size and rate (mix_engine_video_outputs). */
struct mix_output_info {
	enum mix_video_codec codec;
	int width, height, fps, bitrate;
};
/* The live video encoders (at most max into out); returns how many there are. */
int mix_engine_video_outputs(const struct mix_engine *e, struct mix_output_info *out, int max);
int mix_engine_recipient_tiles(const struct mix_engine *e, uint32_t rid, uint32_t *out, int max);

#endif
