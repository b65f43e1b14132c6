/*
 * reader.c - demuxes a participant file (WebM, Matroska, Ogg, IVF) with libavformat and hands
 * out the first VP8 and the first Opus stream's packets with times in microseconds.
 *
 * Single-threaded: one reader per caller thread. The reader owns its AVFormatContext and the
 * AVPacket whose data a returned mix_reader_packet borrows (valid until the next read/close).
 * Only the "file" protocol and the matroska/webm/ogg/ivf demuxers are allowed, so a hostile
 * path or file cannot make libavformat open other files or URLs.
 *
 * Time origin: at open, packets are read ahead (up to PEEK_MAX) until every used stream has
 * given its first timestamp; the earliest presentation (video's first frame, audio's first
 * sample after the pre-skip) is the file's start and is subtracted from all pts.
 * Opus timing, as found with libavformat 59 (FFmpeg 5.1), for a clip whose audible content
 * starts at T with libopus' pre-skip of 312 samples (6.5 ms):
 *   - matroska/webm: the demuxer subtracts CodecDelay from the block times, so the first Opus
 *     packet has pts T - 6.5 ms (rounded to the 1 ms track time base: -7 ms), i.e. the time
 *     of its first DECODED sample; AVStream.start_time is that same value.
 *   - ogg: the first packet has pts -preskip (granule semantics: -312/48000 s) plus "skip
 *     samples" side data of 312, but AVStream.start_time says 0 (it already removed the skip),
 *     which is why start_time is not used for the origin here.
 * Both containers therefore agree on the packet pts: pts(first) = T - preskip_us, and each
 * later packet's pts is the time of its first decoded sample, so a caller that decodes in
 * order, drops `preskip` samples and plays the rest from pts(first) + preskip_us is in sync
 * with the video. No per-container correction is applied. (FFmpeg CLI-made WebM files store
 * video 7 ms late, since its muxer shifts all streams to make the -7 ms audio non-negative.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/mathematics.h>

#include "mix/media_file.h"

#define PEEK_MAX        64
#define MAX_PACKET_SIZE (4 << 20)

struct mix_reader {
	AVFormatContext *fmt;
	AVPacket *cur;             /* data borrowed by the last returned packet */
	AVPacket *queue[PEEK_MAX]; /* packets read ahead at open, in file order */
	int qhead, qlen;
	int idx[2];          /* stream index per mix_kind, -1 if absent */
	int64_t first_us[2]; /* first raw timestamp per kind, AV_NOPTS_VALUE if unseen */
	int64_t last_us[2];  /* last returned pts per kind (raw) */
	int64_t start_us;    /* subtracted from every timestamp */
	int preskip;
	int pending;   /* AVERROR seen while reading ahead, 0 if none */
	long npackets; /* used-stream packets the demuxer has given */
	char *path;
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

/* Negative errno for an AVERROR: errno-style codes pass through, FFmpeg tags become `dflt`. */
static int errno_of(int averr, int dflt)
{
	if (averr < 0 && averr > -4096)
		return averr;
	return dflt;
}

static int opus_preskip(const AVCodecParameters *par)
{
	const uint8_t *x = par->extradata;
	if (x && par->extradata_size >= 19 && memcmp(x, "OpusHead", 8) == 0)
		return x[10] | (x[11] << 8); /* RFC 7845 5.1: pre-skip, LE16 */
	if (par->initial_padding > 0)
		return par->initial_padding;
	return 0;
}

/* Picks the first VP8 and the first Opus stream and discards every other stream. */
static void pick_streams(struct mix_reader *r)
{
	for (unsigned i = 0; i < r->fmt->nb_streams; i++) {
		AVStream *st = r->fmt->streams[i];
		enum AVCodecID id = st->codecpar->codec_id;
		if (id == AV_CODEC_ID_VP8 && r->idx[MIX_VIDEO] < 0)
			r->idx[MIX_VIDEO] = (int)i;
		else if (id == AV_CODEC_ID_OPUS && r->idx[MIX_AUDIO] < 0)
			r->idx[MIX_AUDIO] = (int)i;
		else
			st->discard = AVDISCARD_ALL;
	}
	if (r->idx[MIX_AUDIO] >= 0)
		r->preskip = opus_preskip(r->fmt->streams[r->idx[MIX_AUDIO]]->codecpar);
}

static int kind_of(const struct mix_reader *r, int stream_index)
{
	if (stream_index == r->idx[MIX_VIDEO])
		return MIX_VIDEO;
	if (stream_index == r->idx[MIX_AUDIO])
		return MIX_AUDIO;
	return -1;
}

/* Raw timestamp of a packet in microseconds (pts, else dts, else after the previous one). */
static int64_t raw_us(const struct mix_reader *r, const AVPacket *pkt, int kind)
{
	AVRational tb = r->fmt->streams[pkt->stream_index]->time_base;
	int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
	if (ts != AV_NOPTS_VALUE)
		return av_rescale_q(ts, tb, AV_TIME_BASE_Q);
	if (r->last_us[kind] == AV_NOPTS_VALUE)
		return r->first_us[kind] != AV_NOPTS_VALUE ? r->first_us[kind] : 0;
	return r->last_us[kind] + av_rescale_q(pkt->duration, tb, AV_TIME_BASE_Q);
}

/* Reads the next intact, non-empty packet of a used stream into pkt. 0 or an AVERROR. */
static int demux_next(struct mix_reader *r, AVPacket *pkt)
{
	for (;;) {
		int ret = av_read_frame(r->fmt, pkt);
		if (ret < 0)
			return ret;
		int kind = kind_of(r, pkt->stream_index);
		if (kind >= 0 && pkt->size > 0 && !(pkt->flags & AV_PKT_FLAG_CORRUPT)) {
			r->npackets++;
			if (r->first_us[kind] == AV_NOPTS_VALUE &&
			    (pkt->pts != AV_NOPTS_VALUE || pkt->dts != AV_NOPTS_VALUE))
				r->first_us[kind] = raw_us(r, pkt, kind);
			return 0;
		}
		av_packet_unref(pkt);
	}
}

static bool firsts_known(const struct mix_reader *r)
{
	for (int k = 0; k < 2; k++)
		if (r->idx[k] >= 0 && r->first_us[k] == AV_NOPTS_VALUE)
			return false;
	return true;
}

/* Reads ahead until each used stream has a timestamp, then fixes the time origin. */
static int peek_start(struct mix_reader *r)
{
	while (!firsts_known(r) && r->qlen < PEEK_MAX) {
		AVPacket *p = av_packet_alloc();
		if (!p)
			return -ENOMEM;
		int ret = demux_next(r, p);
		if (ret < 0) {
			av_packet_free(&p);
			r->pending = ret;
			break;
		}
		r->queue[r->qlen++] = p;
	}
	r->start_us = 0;
	bool any = false;
	for (int k = 0; k < 2; k++) {
		if (r->first_us[k] == AV_NOPTS_VALUE)
			continue;
		/* audio starts where its first kept sample plays, after the pre-skip */
		int64_t t = r->first_us[k] + (k == MIX_AUDIO ? r->preskip * 1000000LL / 48000 : 0);
		if (!any || t < r->start_us)
			r->start_us = t;
		any = true;
	}
	return 0;
}

static int open_input(struct mix_reader *r, const char *path, char *err, size_t errlen)
{
	AVDictionary *opts = NULL;
	char *url = av_asprintf("file:%s", path);
	r->fmt = avformat_alloc_context();
	if (!url || !r->fmt) {
		av_free(url);
		set_err(err, errlen, path, "out of memory");
		return -ENOMEM;
	}
	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	av_dict_set(&opts, "format_whitelist", "matroska,webm,ogg,ivf", 0);
	int ret = avformat_open_input(&r->fmt, url, NULL, &opts);
	av_dict_free(&opts);
	av_free(url);
	if (ret < 0) {
		set_averr(err, errlen, path, "cannot open as WebM/Matroska/Ogg/IVF", ret);
		if (ret == AVERROR(ENOENT) || ret == AVERROR(EACCES) || ret == AVERROR(ENOMEM))
			return ret;
		return -EINVAL;
	}
	ret = avformat_find_stream_info(r->fmt, NULL);
	if (ret < 0) {
		set_averr(err, errlen, path, "cannot read stream info", ret);
		return ret == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL;
	}
	return 0;
}

static struct mix_reader *reader_new(const char *path)
{
	struct mix_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->path = strdup(path);
	r->cur = av_packet_alloc();
	if (!r->path || !r->cur) {
		free(r->path);
		av_packet_free(&r->cur);
		free(r);
		return NULL;
	}
	for (int k = 0; k < 2; k++) {
		r->idx[k] = -1;
		r->first_us[k] = AV_NOPTS_VALUE;
		r->last_us[k] = AV_NOPTS_VALUE;
	}
	return r;
}

int mix_reader_open(struct mix_reader **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	if (!path || !*path) {
		set_err(err, errlen, "(null)", "empty path");
		return -EINVAL;
	}
	struct mix_reader *r = reader_new(path);
	if (!r) {
		set_err(err, errlen, path, "out of memory");
		return -ENOMEM;
	}
	int ret = open_input(r, path, err, errlen);
	if (ret < 0)
		goto out;
	pick_streams(r);
	if (r->idx[MIX_VIDEO] < 0 && r->idx[MIX_AUDIO] < 0) {
		set_err(err, errlen, path, "has neither a VP8 video nor an Opus audio stream");
		ret = -ENOTSUP;
		goto out;
	}
	ret = peek_start(r);
	if (ret < 0)
		set_err(err, errlen, path, "out of memory");
out:
	if (ret < 0)
		mix_reader_close(&r);
	*out = r;
	return ret;
}

void mix_reader_close(struct mix_reader **rp)
{
	if (!rp || !*rp)
		return;
	struct mix_reader *r = *rp;
	*rp = NULL;
	for (int i = 0; i < r->qlen; i++)
		av_packet_free(&r->queue[(r->qhead + i) % PEEK_MAX]);
	av_packet_free(&r->cur);
	avformat_close_input(&r->fmt);
	free(r->path);
	free(r);
}

bool mix_reader_has_video(const struct mix_reader *r)
{
	return r->idx[MIX_VIDEO] >= 0;
}

bool mix_reader_has_audio(const struct mix_reader *r)
{
	return r->idx[MIX_AUDIO] >= 0;
}

int mix_reader_preskip(const struct mix_reader *r)
{
	return r->preskip;
}

int mix_reader_width(const struct mix_reader *r)
{
	return r->idx[MIX_VIDEO] < 0 ? 0 : r->fmt->streams[r->idx[MIX_VIDEO]]->codecpar->width;
}

int mix_reader_height(const struct mix_reader *r)
{
	return r->idx[MIX_VIDEO] < 0 ? 0 : r->fmt->streams[r->idx[MIX_VIDEO]]->codecpar->height;
}

int64_t mix_reader_duration_us(const struct mix_reader *r)
{
	int64_t d = r->fmt->duration;
	return d == AV_NOPTS_VALUE || d < 0 ? -1 : d;
}

/*
 * Turns a demuxer error into the read result: the end of the file (also a truncated one, once
 * it gave a packet) is 1; anything else is a negative errno with a message.
 */
static int end_or_error(const struct mix_reader *r, int averr, char *err, size_t errlen)
{
	if (averr == AVERROR_EOF)
		return 1;
	if (averr == AVERROR_INVALIDDATA && r->npackets > 0)
		return 1;
	set_averr(err, errlen, r->path, "read error", averr);
	return errno_of(averr, averr == AVERROR_INVALIDDATA ? -EINVAL : -EIO);
}

/* Moves the next packet (read-ahead queue first) into r->cur. 0, 1 at the end, or -errno. */
static int next_packet(struct mix_reader *r, char *err, size_t errlen)
{
	av_packet_unref(r->cur);
	if (r->qlen > 0) {
		AVPacket *p = r->queue[r->qhead];
		r->queue[r->qhead] = NULL;
		r->qhead = (r->qhead + 1) % PEEK_MAX;
		r->qlen--;
		av_packet_move_ref(r->cur, p);
		av_packet_free(&p);
		return 0;
	}
	if (r->pending)
		return end_or_error(r, r->pending, err, errlen);
	int ret = demux_next(r, r->cur);
	if (ret < 0) {
		r->pending = ret;
		return end_or_error(r, ret, err, errlen);
	}
	return 0;
}

int mix_reader_read(struct mix_reader *r, struct mix_reader_packet *pkt, char *err, size_t errlen)
{
	int ret = next_packet(r, err, errlen);
	if (ret != 0)
		return ret;
	AVPacket *p = r->cur;
	int kind = kind_of(r, p->stream_index);
	if (p->size > MAX_PACKET_SIZE) {
		set_err(err, errlen, r->path, "packet over 4 MiB");
		return -EBADMSG;
	}
	int64_t us = raw_us(r, p, kind);
	r->last_us[kind] = us;
	pkt->kind = (enum mix_kind)kind;
	pkt->data = p->data;
	pkt->size = (size_t)p->size;
	pkt->pts_us = us - r->start_us;
	pkt->keyframe = kind == MIX_VIDEO && (p->flags & AV_PKT_FLAG_KEY);
	return 0;
}
