/*
 * writer.c - muxes VP8 + mono 48 kHz Opus packets into WebM or Matroska, or H.264 + AAC into
 * MP4, with libavformat.
 *
 * Single-threaded: one writer per caller thread (a recorder thread, never the media path).
 * The writer owns its AVFormatContext and output file; packets are borrowed and copied.
 * Output goes only to cfg->path, through the "file:" protocol whatever the path looks like.
 *
 * Timestamps: mix_packet pts are on the media clock in microseconds. An Opus packet's pts
 * follows the reader's convention (mix/media_file.h): the time of its first decoded sample,
 * so the first packet of a stream whose audible content starts at T has pts T - preskip.
 * AVCodecParameters.initial_padding makes the Matroska muxer write CodecDelay (= pre-skip),
 * which the demuxer subtracts from every Opus block time. libavformat 59 (FFmpeg 5.1) writes
 * Opus block times as given, so the writer adds the pre-skip itself (later muxers add it
 * themselves via their ts_offset: see OPUS_ADD_DELAY); a reader then gets back the pts given
 * here, to the 1 ms Matroska time base, moved by a constant: the file starts at the earliest
 * content time (video pts, Opus pts + preskip) of the first packets, which are held back
 * until every track has given one (at most START_MAX packets or START_SPAN_US).
 * libavformat's avoid_negative_ts is off; in 5.1 it would shift every track to lift the
 * -preskip Opus start to 0, delaying video by 7 ms (what the ffmpeg 5.1 CLI does).
 * Live mode closes a cluster every 500 ms and flushes after each packet, so a killed process
 * leaves a file that plays up to its last complete cluster (no cues, no duration).
 *
 * MP4 (libavformat's "mp4" muxer, not fragmented): the moov index is written by the trailer,
 * so only a closed file plays (live mode does not apply). H.264 comes as Annex B with SPS/PPS
 * in each keyframe: the muxer builds the avcC from the first packet and rewrites NAL units
 * with length prefixes. AAC packets follow the same pts convention as Opus (the first one
 * starts `opus_preskip` = 1024 priming samples early); the muxer turns a negative start into
 * an edit list that skips the priming, so no delay is added by hand. MP4 wants strictly
 * increasing timestamps per track, so an equal one is refused like a backward one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/avstring.h>
#include <libavutil/mathematics.h>

#include "mix/media_file.h"

#define OPUS_HEAD_SIZE 19
#define START_MAX      64      /* packets held back to find the file's start */
#define START_SPAN_US  1000000 /* ... or this much media time */
#define MAX_PACKET     (4u << 20)

/* Whether this libavformat writes Opus block times without adding CodecDelay (59 does; the
 * muxers that set ts_offset from initial_padding add it). test_writer's round trip checks. */
#define OPUS_ADD_DELAY (LIBAVFORMAT_VERSION_MAJOR < 60)

struct mix_writer {
	AVFormatContext *fmt;
	AVStream *st[2]; /* per mix_kind, NULL if the track is absent */
	AVPacket *pkt;
	int err; /* first error, sticky */
	bool header_written;
	int64_t bytes; /* last known output position */
	char *path;
	int64_t preskip_us;
	/* Until `started`, packets wait in startq (copies) so the origin can be chosen. */
	bool started;
	struct mix_packet *startq[START_MAX];
	int startn;
	bool seen[2];
	int64_t origin_us;  /* media time written as 0 */
	int64_t last_ts[2]; /* last muxed timestamp per kind (stream time base), INT64_MIN */
	bool mp4;
	bool video_started; /* MP4: a keyframe (with the SPS/PPS for the avcC) came first */
};

static void set_err(char *err, size_t errlen, const char *path, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, msg);
}

static void set_averr(char *err, size_t errlen, const char *path, const char *what, int averr)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];
	char msg[256];
	av_strerror(averr, buf, sizeof(buf));
	snprintf(msg, sizeof(msg), "%s: %s", what, buf);
	set_err(err, errlen, path, msg);
}

/* Negative errno for an AVERROR: errno-style codes pass through, FFmpeg tags become -EIO. */
static int errno_of(int averr)
{
	if (averr < 0 && averr > -4096)
		return averr;
	return averr == AVERROR_INVALIDDATA ? -EINVAL : -EIO;
}

/* "webm", "matroska" or "mp4" from cfg->format or the path's extension; NULL if none. */
static const char *muxer_name(const struct mix_writer_cfg *cfg)
{
	if (cfg->format) {
		if (strcmp(cfg->format, "webm") == 0 || strcmp(cfg->format, "matroska") == 0 ||
		    strcmp(cfg->format, "mp4") == 0)
			return cfg->format;
		return NULL;
	}
	const char *dot = strrchr(cfg->path, '.');
	const char *slash = strrchr(cfg->path, '/');
	if (!dot || (slash && dot < slash))
		return NULL;
	if (strcasecmp(dot, ".webm") == 0)
		return "webm";
	if (strcasecmp(dot, ".mkv") == 0 || strcasecmp(dot, ".mka") == 0)
		return "matroska";
	if (strcasecmp(dot, ".mp4") == 0)
		return "mp4";
	return NULL;
}

static bool is_mp4(const struct mix_writer_cfg *cfg)
{
	const char *m = muxer_name(cfg);
	return m && strcmp(m, "mp4") == 0;
}

static int check_cfg(const struct mix_writer_cfg *cfg, char *err, size_t errlen)
{
	const char *path = cfg->path;
	if (!cfg->video && !cfg->audio) {
		set_err(err, errlen, path, "neither a video nor an audio track requested");
		return -EINVAL;
	}
	if (cfg->video && (cfg->width <= 0 || cfg->height <= 0 || cfg->width > 16384 ||
	                   cfg->height > 16384 || cfg->fps < 0 || cfg->fps > 1000)) {
		set_err(err, errlen, path, "bad video size or frame rate");
		return -EINVAL;
	}
	if (cfg->audio && (cfg->opus_preskip < 0 || cfg->opus_preskip > 65535)) {
		set_err(err, errlen, path, "bad Opus pre-skip");
		return -EINVAL;
	}
	if (!muxer_name(cfg)) {
		set_err(err, errlen, path,
		        cfg->format
		            ? "format must be \"webm\", \"matroska\" or \"mp4\""
		            : "extension must be .webm, .mkv, .mka or .mp4 (or set a format)");
		return -EINVAL;
	}
	if (cfg->audio && is_mp4(cfg) &&
	    (!cfg->aac_config || cfg->aac_config_size < 2 || cfg->aac_config_size > 64)) {
		set_err(err, errlen, path, "MP4 audio needs the AAC AudioSpecificConfig");
		return -EINVAL;
	}
	return 0;
}

static int add_video(struct mix_writer *w, const struct mix_writer_cfg *cfg)
{
	AVStream *st = avformat_new_stream(w->fmt, NULL);
	if (!st)
		return -ENOMEM;
	AVCodecParameters *par = st->codecpar;
	par->codec_type = AVMEDIA_TYPE_VIDEO;
	par->codec_id = w->mp4 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP8;
	par->width = cfg->width;
	par->height = cfg->height;
	st->time_base = w->mp4 ? (AVRational){1, 90000} : (AVRational){1, 1000};
	if (cfg->fps > 0)
		st->avg_frame_rate = (AVRational){cfg->fps, 1};
	w->st[MIX_VIDEO] = st;
	return 0;
}

/* RFC 7845 5.1: mono, 48 kHz, gain 0, channel mapping family 0. */
static void opus_head(uint8_t *h, int preskip)
{
	memcpy(h, "OpusHead", 8);
	h[8] = 1;
	h[9] = 1;
	h[10] = (uint8_t)(preskip & 0xff);
	h[11] = (uint8_t)(preskip >> 8);
	h[12] = 48000 & 0xff;
	h[13] = (48000 >> 8) & 0xff;
	h[14] = (48000 >> 16) & 0xff;
	h[15] = 0;
	h[16] = h[17] = h[18] = 0;
}

/* The codec's header: an OpusHead, or the AAC encoder's AudioSpecificConfig. */
static int audio_extradata(AVCodecParameters *par, const struct mix_writer_cfg *cfg, bool mp4)
{
	size_t n = mp4 ? cfg->aac_config_size : OPUS_HEAD_SIZE;
	par->extradata = av_mallocz(n + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!par->extradata)
		return -ENOMEM;
	par->extradata_size = (int)n;
	if (mp4)
		memcpy(par->extradata, cfg->aac_config, n);
	else
		opus_head(par->extradata, cfg->opus_preskip);
	return 0;
}

static int add_audio(struct mix_writer *w, const struct mix_writer_cfg *cfg)
{
	AVStream *st = avformat_new_stream(w->fmt, NULL);
	if (!st)
		return -ENOMEM;
	AVCodecParameters *par = st->codecpar;
	if (audio_extradata(par, cfg, w->mp4) < 0)
		return -ENOMEM;
	par->codec_type = AVMEDIA_TYPE_AUDIO;
	par->codec_id = w->mp4 ? AV_CODEC_ID_AAC : AV_CODEC_ID_OPUS;
	par->sample_rate = 48000;
	par->frame_size = w->mp4 ? 1024 : 960;
	par->initial_padding = cfg->opus_preskip;
	av_channel_layout_default(&par->ch_layout, 1);
	st->time_base = (AVRational){1, 48000};
	w->st[MIX_AUDIO] = st;
	return 0;
}

static int open_output(struct mix_writer *w, const struct mix_writer_cfg *cfg, char *err,
                       size_t errlen)
{
	char *url = av_asprintf("file:%s", cfg->path);
	if (!url)
		return -ENOMEM;
	int ret = avio_open(&w->fmt->pb, url, AVIO_FLAG_WRITE);
	av_free(url);
	if (ret < 0) {
		set_averr(err, errlen, cfg->path, "cannot create", ret);
		return errno_of(ret);
	}
	AVDictionary *opts = NULL;
	if (cfg->live && !w->mp4) {
		av_dict_set(&opts, "cluster_time_limit", "500", 0);
		w->fmt->flags |= AVFMT_FLAG_FLUSH_PACKETS;
		w->fmt->max_interleave_delta = 500000;
	}
	ret = avformat_write_header(w->fmt, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		set_averr(err, errlen, cfg->path, "cannot write header", ret);
		return errno_of(ret);
	}
	w->header_written = true;
	avio_flush(w->fmt->pb);
	w->bytes = avio_tell(w->fmt->pb);
	return 0;
}

static int writer_setup(struct mix_writer *w, const struct mix_writer_cfg *cfg, char *err,
                        size_t errlen)
{
	int ret = avformat_alloc_output_context2(&w->fmt, NULL, muxer_name(cfg), NULL);
	if (ret < 0 || !w->fmt) {
		set_averr(err, errlen, cfg->path, "cannot create muxer", ret);
		return ret == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL;
	}
	w->fmt->flags |= AVFMT_FLAG_BITEXACT;
	w->fmt->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
	w->mp4 = is_mp4(cfg);
	w->last_ts[0] = w->last_ts[1] = INT64_MIN;
	w->preskip_us = cfg->audio ? cfg->opus_preskip * INT64_C(1000000) / 48000 : 0;
	ret = cfg->video ? add_video(w, cfg) : 0;
	if (ret == 0 && cfg->audio)
		ret = add_audio(w, cfg);
	if (ret == 0)
		w->pkt = av_packet_alloc();
	if (ret < 0 || !w->pkt) {
		set_err(err, errlen, cfg->path, "out of memory");
		return -ENOMEM;
	}
	return open_output(w, cfg, err, errlen);
}

int mix_writer_open(struct mix_writer **out, const struct mix_writer_cfg *cfg, char *err,
                    size_t errlen)
{
	*out = NULL;
	if (!cfg || !cfg->path || !*cfg->path) {
		set_err(err, errlen, "(null)", "no output path");
		return -EINVAL;
	}
	int ret = check_cfg(cfg, err, errlen);
	if (ret < 0)
		return ret;
	struct mix_writer *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(cfg->path))) {
		free(w);
		set_err(err, errlen, cfg->path, "out of memory");
		return -ENOMEM;
	}
	ret = writer_setup(w, cfg, err, errlen);
	if (ret < 0) {
		mix_writer_close(&w, NULL, 0);
		return ret;
	}
	*out = w;
	return 0;
}

static int fill_packet(struct mix_writer *w, const struct mix_packet *p, AVStream *st,
                       int64_t pts_us)
{
	if (av_new_packet(w->pkt, (int)p->size) < 0)
		return -ENOMEM;
	memcpy(w->pkt->data, p->data, p->size);
	w->pkt->stream_index = st->index;
	w->pkt->pts = av_rescale_q(pts_us, AV_TIME_BASE_Q, st->time_base);
	w->pkt->dts = w->pkt->pts;
	w->pkt->duration =
	    p->duration_us > 0 ? av_rescale_q(p->duration_us, AV_TIME_BASE_Q, st->time_base) : 0;
	if (p->kind == MIX_AUDIO || p->keyframe)
		w->pkt->flags |= AV_PKT_FLAG_KEY;
	return 0;
}

/* Hands one packet to the muxer, rebased on the origin. 0 or -errno (write errors stick). */
static int mux(struct mix_writer *w, const struct mix_packet *p, char *err, size_t errlen)
{
	int64_t pts = p->pts_us - w->origin_us;
	if (pts < (p->kind == MIX_AUDIO ? -w->preskip_us : 0)) {
		set_err(err, errlen, w->path, "packet dropped: earlier than the file's start");
		return -EINVAL;
	}
	if (p->kind == MIX_AUDIO && OPUS_ADD_DELAY && !w->mp4)
		pts += w->preskip_us;
	int ret = fill_packet(w, p, w->st[p->kind], pts);
	if (ret < 0) {
		av_packet_unref(w->pkt);
		set_err(err, errlen, w->path, "out of memory");
		return ret;
	}
	/* the muxer would fail for good */
	if (w->pkt->pts < w->last_ts[p->kind] || (w->mp4 && w->pkt->pts == w->last_ts[p->kind])) {
		av_packet_unref(w->pkt);
		set_err(err, errlen, w->path, "packet dropped: pts goes backwards");
		return -EINVAL;
	}
	w->last_ts[p->kind] = w->pkt->pts;
	ret = av_interleaved_write_frame(w->fmt, w->pkt); /* takes the packet's reference */
	av_packet_unref(w->pkt);
	if (ret < 0) {
		set_averr(err, errlen, w->path, "write failed", ret);
		w->err = errno_of(ret);
		return w->err;
	}
	w->bytes = avio_tell(w->fmt->pb);
	return 0;
}

/* Content start of a packet: a video frame's time, or an Opus packet's first kept sample. */
static int64_t content_us(const struct mix_writer *w, const struct mix_packet *p)
{
	return p->kind == MIX_AUDIO ? p->pts_us + w->preskip_us : p->pts_us;
}

/* Chooses the origin from the held-back packets and writes them. */
static int start(struct mix_writer *w, char *err, size_t errlen)
{
	w->started = true;
	for (int i = 0; i < w->startn; i++) {
		int64_t t = content_us(w, w->startq[i]);
		if (i == 0 || t < w->origin_us)
			w->origin_us = t;
	}
	int ret = 0;
	for (int i = 0; i < w->startn; i++) {
		if (!w->err) {
			int r = mux(w, w->startq[i], err, errlen);
			ret = ret ? ret : r;
		}
		mix_packet_unref(&w->startq[i]);
	}
	w->startn = 0;
	return ret;
}

static bool start_ready(const struct mix_writer *w)
{
	if (w->startn == START_MAX)
		return true;
	if ((!w->st[MIX_VIDEO] || w->seen[MIX_VIDEO]) && (!w->st[MIX_AUDIO] || w->seen[MIX_AUDIO]))
		return true;
	int64_t span = content_us(w, w->startq[w->startn - 1]) - content_us(w, w->startq[0]);
	return span >= START_SPAN_US || span <= -START_SPAN_US;
}

/* Keeps a copy of the packet until the origin is known. */
static int hold(struct mix_writer *w, const struct mix_packet *p, char *err, size_t errlen)
{
	struct mix_packet *c = mix_packet_copy(p->data, p->size);
	if (!c) {
		set_err(err, errlen, w->path, "out of memory");
		return -ENOMEM;
	}
	c->pts_us = p->pts_us;
	c->duration_us = p->duration_us;
	c->kind = p->kind;
	c->keyframe = p->keyframe;
	w->startq[w->startn++] = c;
	w->seen[p->kind] = true;
	return start_ready(w) ? start(w, err, errlen) : 0;
}

int mix_writer_write(struct mix_writer *w, const struct mix_packet *p, char *err, size_t errlen)
{
	if (w->err)
		return w->err;
	if ((p->kind != MIX_AUDIO && p->kind != MIX_VIDEO) || !w->st[p->kind]) {
		set_err(err, errlen, w->path, "packet for a track the file does not have");
		return -EINVAL;
	}
	if (!p->data || p->size == 0 || p->size > MAX_PACKET) {
		set_err(err, errlen, w->path, "empty or oversized packet");
		return -EINVAL;
	}
	if (w->mp4 && p->kind == MIX_VIDEO && !w->video_started && !p->keyframe) {
		set_err(err, errlen, w->path,
		        "packet dropped: MP4 video must start with a keyframe");
		return -EINVAL;
	}
	if (p->kind == MIX_VIDEO)
		w->video_started = true;
	return w->started ? mux(w, p, err, errlen) : hold(w, p, err, errlen);
}

int mix_writer_close(struct mix_writer **wp, char *err, size_t errlen)
{
	if (!wp || !*wp)
		return 0;
	struct mix_writer *w = *wp;
	*wp = NULL;
	int ret = w->err;
	if (w->header_written && !w->started && w->startn > 0) {
		int r = start(w, err, errlen);
		if (r < 0 && ret == 0)
			ret = r;
	}
	for (int i = 0; i < w->startn; i++)
		mix_packet_unref(&w->startq[i]);
	if (w->header_written) {
		int r = av_write_trailer(w->fmt);
		if (r < 0 && ret == 0) {
			set_averr(err, errlen, w->path, "cannot finish the file", r);
			ret = errno_of(r);
		}
	}
	if (w->fmt && w->fmt->pb) {
		int r = avio_closep(&w->fmt->pb);
		if (r < 0 && ret == 0) {
			set_averr(err, errlen, w->path, "close failed", r);
			ret = errno_of(r);
		}
	}
	avformat_free_context(w->fmt);
	av_packet_free(&w->pkt);
	free(w->path);
	free(w);
	return ret;
}

int64_t mix_writer_bytes(const struct mix_writer *w)
{
	return w->bytes;
}
