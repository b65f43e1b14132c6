/*
 * recorder.c - a room's live recording (see recorder.h): the media-thread side (the engine
 * recipient, the keyframe gate, the bounded queue) and the writer thread (file creation,
 * mix_writer in live mode, status, the trailer at the end).
 *
 * MP4: the recipient asks the engine for H.264 + AAC, which gives it encoders of its own. The
 * writer needs the AAC AudioSpecificConfig and priming before the first packet; both depend
 * only on the encoder's configuration, so the writer thread reads them from a probe encoder
 * of the same configuration (as it reads the Opus pre-skip). The file is written as
 * ".<name>.part" beside the final name (hidden from the listing) and renamed once its index
 * is written; a recording that fails removes it (an MP4 without its index plays nowhere).
 *
 * The media side drops video until the first keyframe (a recipient that joins a shared encoder
 * gets inter frames first) and asks the engine for one every second until it comes. When the
 * full queue drops a video packet, the writer skips video until the next keyframe so the file
 * never holds a frame that cannot be decoded. A write error (full disk) makes the recording
 * failed: the writer closes the file (keeping what was written) and discards the rest.
 * Threads and ownership as in recorder.h; the mutex is never held across disk I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mix/aac.h"
#include "mix/h264.h"
#include "mix/media_file.h"
#include "mix/opus.h"
#include "session/recorder.h"

#define KEYFRAME_RETRY_US 1000000
#define MAX_NAME_TRIES    100

struct recorder {
	/* media thread */
	struct mix_engine *eng; /* NULL once stopped */
	uint32_t rid;
	bool got_key, stopped;
	bool opened_told; /* recorder_take_opened has said true */
	int64_t last_kf_us;
	/* fixed at start */
	char room[SIG_MAX_ROOM + 1];
	char dir[REC_MAX_PATH];
	char path[REC_MAX_PATH]; /* explicit path, or "" */
	int fps;
	rec_notify_fn on_opened;
	void *opaque;
	pthread_t thread;
	bool thread_started;
	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mix_packet *q[REC_QUEUE_MAX];
	int qhead, qn;
	bool stop_req, video_gap;
	bool fin_taken; /* the writer has read on_finished: later stoppers notify themselves */
	bool opened;    /* the writer created the file (it may have failed since) */
	rec_notify_fn on_finished;
	void *fin_opaque;
	struct rec_status st;
	atomic_bool done;
	/* writer thread only */
	struct mix_writer *w;
	char tmp[REC_MAX_PATH]; /* MP4: the file being written, renamed to st.path at the end */
	bool reserved;          /* st.path was created empty by reserve_name */
	bool skip_video, have_first;
	int64_t first_us, end_us;
};

const char *rec_state_name(enum rec_state s)
{
	static const char *names[] = {"starting", "recording", "stopping", "finished", "failed"};
	return s >= REC_STARTING && s <= REC_FAILED ? names[s] : "?";
}

const char *recorder_format_for(const char *format, const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;
	if (format)
		return format;
	if (dot && !strcasecmp(dot, ".mkv"))
		return "mkv";
	if (dot && !strcasecmp(dot, ".mp4"))
		return "mp4";
	return "webm";
}

int recorder_check_format(const char *format, const char **why)
{
	const char *msg = NULL;
	int rc = 0;
	if (!format || (strcmp(format, "webm") && strcmp(format, "mkv") && strcmp(format, "mp4"))) {
		msg = "format must be \"webm\", \"mkv\" or \"mp4\"";
		rc = -EINVAL;
	} else if (!strcmp(format, "mp4") && !mix_h264_available()) {
		msg = "this FFmpeg has no libx264 encoder (needed for mp4)";
		rc = -ENOTSUP;
	} else if (!strcmp(format, "mp4") && !mix_aac_available()) {
		msg = "this FFmpeg has no aac encoder (needed for mp4)";
		rc = -ENOTSUP;
	}
	if (why)
		*why = msg;
	return rc;
}

static bool is_mp4(const struct recorder *r)
{
	return !strcmp(r->st.format, "mp4");
}

void recorder_file_name(char *out, size_t n, const char *room, int64_t t, const char *ext)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char stamp[32];
	gmtime_r(&tt, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, n, "%s-%s.%s", room, stamp, ext);
}

/* ---- writer thread ---- */

static void set_state(struct recorder *r, enum rec_state s, const char *error)
{
	pthread_mutex_lock(&r->lock);
	if (r->st.state != REC_FAILED || s == REC_FAILED)
		r->st.state = s;
	r->opened |= s == REC_RECORDING;
	if (error && !r->st.error[0])
		snprintf(r->st.error, sizeof(r->st.error), "%s", error);
	pthread_mutex_unlock(&r->lock);
}

/* Creates a new file "<room>-<UTC>[-N].<ext>" in dir without replacing any. 0 or -errno. */
static int reserve_name(struct recorder *r, char *path, size_t n, char *err, size_t errlen)
{
	char base[SIG_MAX_ROOM + 64];
	recorder_file_name(base, sizeof(base), r->room, r->st.started_unix, r->st.format);
	char *dot = strrchr(base, '.');
	*dot = '\0';
	if (mkdir(r->dir, 0755) < 0 && errno != EEXIST)
		LOG_D("recordings directory %s: %s", r->dir, strerror(errno));
	for (int i = 0; i < MAX_NAME_TRIES; i++) {
		int k = i == 0 ? snprintf(path, n, "%s/%s.%s", r->dir, base, r->st.format)
		               : snprintf(path, n, "%s/%s-%d.%s", r->dir, base, i, r->st.format);
		if (k < 0 || (size_t)k >= n) {
			snprintf(err, errlen, "%s: path too long", r->dir);
			return -ENAMETOOLONG;
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0) {
			close(fd);
			r->reserved = true;
			return 0;
		}
		if (errno != EEXIST) {
			int e = errno;
			snprintf(err, errlen, "%s: cannot create: %s", path, strerror(e));
			return -e;
		}
	}
	snprintf(err, errlen, "%s: too many recordings with this name", path);
	return -EEXIST;
}

static int opus_preskip(void)
{
	struct mix_opus_enc *probe = NULL;
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	if (mix_opus_enc_alloc(&probe, &oc) < 0)
		return 312; /* libopus 1.3's lookahead at 48 kHz */
	int n = mix_opus_enc_lookahead(probe);
	mix_opus_enc_free(&probe);
	return n;
}

/* "<dir>/.<name>.part" for "<dir>/<name>": beside it, so the final rename is atomic. */
static int temp_path(const char *path, char *out, size_t n, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	int k = snprintf(out, n, "%.*s.%s.part", dirlen, path, path + dirlen);
	if (k < 0 || (size_t)k >= n) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* MP4: the AAC encoder's AudioSpecificConfig and priming, from a probe like the engine's. */
static int open_mp4(struct recorder *r, struct mix_writer_cfg *wc, char *err, size_t errlen)
{
	struct mix_aac_enc *probe = NULL;
	struct mix_aac_enc_cfg ac;
	mix_aac_enc_cfg_default(&ac);
	int rc = temp_path(r->st.path, r->tmp, sizeof(r->tmp), err, errlen);
	if (rc == 0 && (rc = mix_aac_enc_alloc(&probe, &ac)) < 0)
		snprintf(err, errlen, "%s: no AAC encoder: %s", r->st.path, strerror(-rc));
	if (rc == 0) {
		wc->path = r->tmp;
		wc->format = "mp4";
		wc->live = false;
		wc->opus_preskip = mix_aac_enc_delay(probe);
		wc->aac_config_size = mix_aac_enc_extradata(probe, &wc->aac_config);
		rc = mix_writer_open(&r->w, wc, err, errlen);
		if (rc < 0)
			unlink(r->tmp); /* the header may have been written */
	}
	mix_aac_enc_free(&probe);
	if (rc < 0)
		r->tmp[0] = '\0';
	return rc;
}

static int open_file(struct recorder *r, char *err, size_t errlen)
{
	char path[REC_MAX_PATH] = "";
	int rc = 0;
	if (r->path[0])
		snprintf(path, sizeof(path), "%s", r->path);
	else
		rc = reserve_name(r, path, sizeof(path), err, errlen);
	pthread_mutex_lock(&r->lock);
	snprintf(r->st.path, sizeof(r->st.path), "%s", path); /* also the one that failed */
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return rc;
	struct mix_writer_cfg wc = {
	    .path = path,
	    .format = strcmp(r->st.format, "mkv") ? "webm" : "matroska",
	    .video = true,
	    .width = r->st.width,
	    .height = r->st.height,
	    .fps = r->fps,
	    .audio = true,
	    .opus_preskip = is_mp4(r) ? 0 : opus_preskip(),
	    .live = true,
	};
	if (is_mp4(r))
		return open_mp4(r, &wc, err, errlen);
	return mix_writer_open(&r->w, &wc, err, errlen);
}

/*
 * Closes the writer. MP4: the finished file takes its final name; a failed one is removed
 * with the name it reserved. 0 or -errno (err set).
 */
static int close_writer(struct recorder *r, char *err, size_t errlen)
{
	int rc = mix_writer_close(&r->w, err, errlen);
	if (!r->tmp[0])
		return rc;
	if (rc == 0 && rename(r->tmp, r->st.path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot rename the finished file: %s", r->st.path,
		         strerror(-rc));
	}
	if (rc < 0) {
		unlink(r->tmp);
		if (r->reserved)
			unlink(r->st.path);
	}
	r->tmp[0] = '\0';
	return rc;
}

/* Pops everything queued (the caller owns the references). Waits while empty and running. */
static int pop_all(struct recorder *r, struct mix_packet **out, bool *stop, bool *gap)
{
	pthread_mutex_lock(&r->lock);
	while (r->qn == 0 && !r->stop_req)
		pthread_cond_wait(&r->cond, &r->lock);
	int n = r->qn;
	for (int i = 0; i < n; i++)
		out[i] = r->q[(r->qhead + i) % REC_QUEUE_MAX];
	r->qhead = (r->qhead + n) % REC_QUEUE_MAX;
	r->qn = 0;
	*stop = r->stop_req;
	*gap = r->video_gap;
	r->video_gap = false;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(struct recorder *r, bool written, int64_t bytes)
{
	pthread_mutex_lock(&r->lock);
	if (written && !r->st.first_write_ms)
		r->st.first_write_ms = wall_ms();
	if (written) {
		r->st.packets++;
		r->st.bytes = bytes;
		r->st.duration_s = (double)(r->end_us - r->first_us) / 1e6;
	} else {
		r->st.dropped++;
	}
	pthread_mutex_unlock(&r->lock);
}

static void write_one(struct recorder *r, struct mix_packet *p)
{
	char err[REC_MAX_ERROR];
	if (p->kind == MIX_VIDEO && r->skip_video && !p->keyframe) {
		count(r, false, 0);
		return;
	}
	if (p->kind == MIX_VIDEO)
		r->skip_video = false;
	if (!r->w) {
		count(r, false, 0);
		return;
	}
	int rc = mix_writer_write(r->w, p, err, sizeof(err));
	if (rc == -EINVAL) { /* one bad packet (e.g. pts went backwards): skip it */
		count(r, false, 0);
		return;
	}
	if (rc < 0) {
		LOG_E("recording of room %s failed: %s", r->room, err);
		set_state(r, REC_FAILED, err);
		close_writer(r, err, sizeof(err));
		count(r, false, 0);
		return;
	}
	int64_t start = p->pts_us, end = p->pts_us + p->duration_us;
	if (!r->have_first || start < r->first_us)
		r->first_us = start;
	if (!r->have_first || end > r->end_us)
		r->end_us = end;
	r->have_first = true;
	count(r, true, mix_writer_bytes(r->w));
}

static void finish(struct recorder *r)
{
	char err[REC_MAX_ERROR] = "";
	if (r->w) {
		int64_t bytes = 0;
		int rc = close_writer(r, err, sizeof(err));
		pthread_mutex_lock(&r->lock);
		bytes = r->st.bytes;
		pthread_mutex_unlock(&r->lock);
		FILE *f = fopen(r->st.path, "rb");
		if (f && fseek(f, 0, SEEK_END) == 0)
			bytes = ftell(f);
		if (f)
			fclose(f);
		pthread_mutex_lock(&r->lock);
		r->st.bytes = bytes;
		pthread_mutex_unlock(&r->lock);
		if (rc < 0) {
			LOG_E("recording of room %s: %s", r->room, err);
			set_state(r, REC_FAILED, err);
		}
	}
	set_state(r, REC_FINISHED, NULL);
}

static void notify(struct recorder *r, rec_notify_fn fn, void *opaque)
{
	struct rec_status st;
	if (!fn)
		return;
	recorder_status(r, &st);
	fn(opaque, &st);
}

static void *writer_main(void *arg)
{
	struct recorder *r = arg;
	char err[REC_MAX_ERROR] = "";
	int rc = open_file(r, err, sizeof(err));
	if (rc < 0) {
		LOG_E("recording of room %s failed: %s", r->room, err);
		set_state(r, REC_FAILED, err);
	} else {
		set_state(r, REC_RECORDING, NULL);
		LOG_I("recording room %s to %s", r->room, r->st.path);
	}
	notify(r, r->on_opened, r->opaque);
	struct mix_packet *batch[REC_QUEUE_MAX];
	for (bool stop = false; !stop;) {
		bool gap;
		int n = pop_all(r, batch, &stop, &gap);
		r->skip_video |= gap;
		for (int i = 0; i < n; i++) {
			write_one(r, batch[i]);
			mix_packet_unref(&batch[i]);
		}
	}
	finish(r);
	struct rec_status st;
	recorder_status(r, &st);
	LOG_I("recording of room %s %s: %s, %.1f s, %lld bytes, %llu packets, %llu dropped%s%s",
	      r->room, rec_state_name(st.state), st.path, st.duration_s, (long long)st.bytes,
	      (unsigned long long)st.packets, (unsigned long long)st.dropped,
	      st.error[0] ? ": " : "", st.error);
	pthread_mutex_lock(&r->lock);
	rec_notify_fn fn = r->on_finished;
	void *op = r->fin_opaque;
	r->fin_taken = true;
	pthread_mutex_unlock(&r->lock);
	if (fn)
		fn(op, &st);
	atomic_store(&r->done, true);
	return NULL;
}

/* ---- media thread ---- */

static void init_status(struct recorder *r, const struct rec_cfg *c)
{
	struct rec_status *st = &r->st;
	st->state = REC_STARTING;
	snprintf(st->room, sizeof(st->room), "%s", c->room);
	const char *fmt = recorder_format_for(c->format, c->path);
	bool known = !strcmp(fmt, "webm") || !strcmp(fmt, "mkv") || !strcmp(fmt, "mp4");
	snprintf(st->format, sizeof(st->format), "%s", known ? fmt : "webm");
	st->width = c->width;
	st->height = c->height;
	st->video_bitrate = c->video_bitrate;
	st->started_unix = (int64_t)time(NULL);
}

static int add_recipient(struct recorder *r, const struct rec_cfg *c)
{
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.self = MIX_NO_SOURCE;
	o.video = true;
	o.audio = true;
	o.width = c->width;
	o.height = c->height;
	o.video_bitrate = c->video_bitrate;
	if (is_mp4(r)) {
		o.video_codec = MIX_VCODEC_H264;
		o.audio_codec = MIX_ACODEC_AAC;
	}
	return mix_engine_add_recipient(r->eng, r->rid, &o);
}

static struct recorder *rec_alloc(struct mix_engine *eng, const struct rec_cfg *c)
{
	struct recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->eng = eng;
	r->rid = c->rid;
	r->fps = c->fps;
	r->on_opened = c->on_opened;
	r->opaque = c->opaque;
	snprintf(r->room, sizeof(r->room), "%s", c->room);
	snprintf(r->dir, sizeof(r->dir), "%s", c->dir ? c->dir : ".");
	snprintf(r->path, sizeof(r->path), "%s", c->path ? c->path : "");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	init_status(r, c);
	return r;
}

int recorder_start(struct recorder **out, struct mix_engine *eng, const struct rec_cfg *c)
{
	*out = NULL;
	int rc = recorder_check_format(recorder_format_for(c->format, c->path), NULL);
	if (rc < 0)
		return rc;
	struct recorder *r = rec_alloc(eng, c);
	if (!r)
		return -ENOMEM;
	rc = add_recipient(r, c);
	if (rc == 0) {
		mix_engine_request_keyframe(eng, r->rid);
		rc = -pthread_create(&r->thread, NULL, writer_main, r);
		if (rc < 0)
			mix_engine_remove_recipient(eng, r->rid);
	}
	if (rc < 0) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->cond);
		free(r);
		return rc;
	}
	r->thread_started = true;
	LOG_I("room %s: recording started (%s, %dx%d, %d bit/s, %s)", r->room, r->st.format,
	      c->width, c->height, c->video_bitrate,
	      is_mp4(r)             ? "its own H.264 + AAC encoders"
	      : c->own_encoder_hint ? "its own encoder"
	                            : "the room's encoder");
	*out = r;
	return 0;
}

void recorder_push(struct recorder *r, const struct mix_packet *p)
{
	if (r->stopped)
		return;
	if (p->kind == MIX_VIDEO && !r->got_key) {
		if (!p->keyframe)
			return;
		r->got_key = true;
	}
	pthread_mutex_lock(&r->lock);
	if (r->st.state == REC_FAILED) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	if (r->qn == REC_QUEUE_MAX) {
		struct mix_packet **old = &r->q[r->qhead];
		r->video_gap |= (*old)->kind == MIX_VIDEO;
		mix_packet_unref(old);
		r->qhead = (r->qhead + 1) % REC_QUEUE_MAX;
		r->qn--;
		r->st.dropped++;
	}
	r->q[(r->qhead + r->qn) % REC_QUEUE_MAX] = mix_packet_ref((struct mix_packet *)p);
	r->qn++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void recorder_poll(struct recorder *r, int64_t now_us)
{
	if (r->stopped)
		return;
	struct rec_status st;
	recorder_status(r, &st);
	if (st.state == REC_FAILED) {
		recorder_stop(r, NULL, NULL);
		return;
	}
	if (!r->got_key && now_us - r->last_kf_us >= KEYFRAME_RETRY_US) {
		mix_engine_request_keyframe(r->eng, r->rid);
		r->last_kf_us = now_us;
	}
}

void recorder_stop(struct recorder *r, rec_notify_fn on_finished, void *opaque)
{
	if (!r || r->stopped) {
		if (r && on_finished) { /* already stopping: notify when it is done */
			pthread_mutex_lock(&r->lock);
			bool take = !r->on_finished && !r->fin_taken;
			if (take) {
				r->on_finished = on_finished;
				r->fin_opaque = opaque;
			}
			pthread_mutex_unlock(&r->lock);
			if (!take)
				notify(r, on_finished, opaque);
		}
		return;
	}
	r->stopped = true;
	if (r->eng)
		mix_engine_remove_recipient(r->eng, r->rid);
	r->eng = NULL;
	pthread_mutex_lock(&r->lock);
	r->stop_req = true;
	r->on_finished = on_finished;
	r->fin_opaque = opaque;
	if (r->st.state == REC_STARTING || r->st.state == REC_RECORDING)
		r->st.state = REC_STOPPING;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

bool recorder_stopped(const struct recorder *r)
{
	return r->stopped;
}

bool recorder_done(const struct recorder *r)
{
	return atomic_load(&r->done);
}

bool recorder_take_opened(struct recorder *r)
{
	if (r->opened_told)
		return false;
	pthread_mutex_lock(&r->lock);
	r->opened_told = r->opened;
	pthread_mutex_unlock(&r->lock);
	return r->opened_told;
}

void recorder_wait(struct recorder *r)
{
	recorder_stop(r, NULL, NULL);
	if (r->thread_started)
		pthread_join(r->thread, NULL);
	r->thread_started = false;
}

void recorder_free(struct recorder **rp)
{
	struct recorder *r = *rp;
	if (!r)
		return;
	recorder_wait(r);
	for (int i = 0; i < r->qn; i++)
		mix_packet_unref(&r->q[(r->qhead + i) % REC_QUEUE_MAX]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
	*rp = NULL;
}

uint32_t recorder_rid(const struct recorder *r)
{
	return r->rid;
}

const char *recorder_room(const struct recorder *r)
{
	return r->room;
}

void recorder_status(struct recorder *r, struct rec_status *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	pthread_mutex_unlock(&r->lock);
}
