/*
 * test_writer.c - unit tests for the WebM/Matroska/MP4 writer (mixer/writer.c).
 *
 * Real VP8/Opus packets are taken from $MIX_MEDIA/p1.webm (default assets/media; missing
 * clips fail), re-stamped as an encoder would (video from 0, Opus from -preskip), written,
 * and read back with the reader: same packets, bytes and times. Also: bad paths and formats,
 * audio-only files, and a live-mode writer killed before close (forked child) leaving a
 * file that both the reader and ffprobe accept. MP4: H.264 + AAC from the engine's encoders
 * (mixer/h264_enc.c, aac_enc.c) on a media clock far from 0, checked with ffprobe/ffmpeg:
 * both streams, the duration, both starting at 0, a clean full decode, the picture's colour.
 * Single-threaded (the crash test forks); files go to /tmp and are removed.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mix/aac.h"
#include "mix/h264.h"
#include "mix/media_file.h"

#define MAX_PKTS   1024
#define PRESKIP    312
#define PRESKIP_US 6500

struct pkts {
	struct mix_packet *p[MAX_PKTS];
	int n;
};

static const char *clip(const char *name)
{
	static char buf[1024];
	const char *dir = getenv("MIX_MEDIA");
	snprintf(buf, sizeof(buf), "%s/%s", dir && *dir ? dir : "assets/media", name);
	return buf;
}

static const char *tmp_path(const char *tag, const char *ext)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, sizeof(buf[0]), "/tmp/mix-test-writer-%d-%s.%s", (int)getpid(), tag, ext);
	return p;
}

/*
 * Loads p1.webm's packets with pts below max_us and re-stamps them like the engine's encoders
 * would: video frame 0 at 0, the first Opus packet at -preskip.
 */
static void load_p1(struct pkts *out, int64_t max_us)
{
	struct mix_reader *r = NULL;
	char err[512] = "";
	if (mix_reader_open(&r, clip("p1.webm"), err, sizeof(err)) != 0)
		fail_msg("%s (run `make media`)", err);
	assert_int_equal(mix_reader_preskip(r), PRESKIP);
	struct mix_reader_packet rp;
	int64_t first[2] = {INT64_MIN, INT64_MIN};
	out->n = 0;
	while (mix_reader_read(r, &rp, err, sizeof(err)) == 0 && out->n < MAX_PKTS) {
		if (first[rp.kind] == INT64_MIN)
			first[rp.kind] = rp.pts_us;
		int64_t t = rp.pts_us - first[rp.kind];
		if (t >= max_us)
			continue;
		struct mix_packet *p = mix_packet_copy(rp.data, rp.size);
		assert_non_null(p);
		p->kind = rp.kind;
		p->keyframe = rp.keyframe;
		p->pts_us = rp.kind == MIX_AUDIO ? t - PRESKIP_US : t;
		p->duration_us = rp.kind == MIX_AUDIO ? 20000 : 33333;
		out->p[out->n++] = p;
	}
	mix_reader_close(&r);
	assert_true(out->n > 10);
}

static void free_pkts(struct pkts *s)
{
	for (int i = 0; i < s->n; i++)
		mix_packet_unref(&s->p[i]);
	s->n = 0;
}

static void cfg_av(struct mix_writer_cfg *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path;
	cfg->video = true;
	cfg->width = 640;
	cfg->height = 360;
	cfg->fps = 30;
	cfg->audio = true;
	cfg->opus_preskip = PRESKIP;
}

static void write_all(const struct mix_writer_cfg *cfg, const struct pkts *s)
{
	struct mix_writer *w = NULL;
	char err[512] = "";
	int ret = mix_writer_open(&w, cfg, err, sizeof(err));
	if (ret != 0)
		fail_msg("open %s: %d %s", cfg->path, ret, err);
	for (int i = 0; i < s->n; i++)
		assert_int_equal(mix_writer_write(w, s->p[i], err, sizeof(err)), 0);
	assert_true(mix_writer_bytes(w) > 0);
	assert_int_equal(mix_writer_close(&w, err, sizeof(err)), 0);
	assert_null(w);
}

/* The presentation origin: the first video frame or the first audio sample after pre-skip. */
static int64_t first_pts(const struct pkts *s)
{
	int64_t m = INT64_MAX;
	for (int i = 0; i < s->n; i++) {
		int64_t t = s->p[i]->pts_us + (s->p[i]->kind == MIX_AUDIO ? PRESKIP_US : 0);
		if (t < m)
			m = t;
	}
	return m;
}

/*
 * Reads path back and compares with s, kind by kind: same count, bytes, keyframes, and pts
 * within 1 ms once both origins are aligned (the reader starts the file at 0). Reads at most
 * `limit` packets of s (all if -1); returns how many packets the file had.
 */
static int compare_file(const char *path, const struct pkts *s, bool expect_end)
{
	struct mix_reader *r = NULL;
	char err[512] = "";
	if (mix_reader_open(&r, path, err, sizeof(err)) != 0)
		fail_msg("reopen: %s", err);
	bool has[2] = {false, false};
	for (int i = 0; i < s->n; i++)
		has[s->p[i]->kind] = true;
	assert_int_equal(mix_reader_has_audio(r), has[MIX_AUDIO]);
	assert_int_equal(mix_reader_has_video(r), has[MIX_VIDEO]);
	if (has[MIX_AUDIO])
		assert_int_equal(mix_reader_preskip(r), PRESKIP);
	if (has[MIX_VIDEO]) {
		assert_int_equal(mix_reader_width(r), 640);
		assert_int_equal(mix_reader_height(r), 360);
	}
	int64_t origin = first_pts(s);
	int next[2] = {0, 0}, got = 0, ret;
	struct mix_reader_packet rp;
	while ((ret = mix_reader_read(r, &rp, err, sizeof(err))) == 0) {
		int i = next[rp.kind];
		while (i < s->n && s->p[i]->kind != rp.kind)
			i++;
		assert_true(i < s->n);
		const struct mix_packet *p = s->p[i];
		assert_int_equal(rp.size, p->size);
		assert_memory_equal(rp.data, p->data, p->size);
		if (rp.kind == MIX_VIDEO)
			assert_int_equal(rp.keyframe, p->keyframe);
		int64_t want = p->pts_us - origin;
		if (rp.pts_us < want - 1000 || rp.pts_us > want + 1000)
			fail_msg("packet %d kind %d: pts %lld, want %lld", i, rp.kind,
			         (long long)rp.pts_us, (long long)want);
		next[rp.kind] = i + 1;
		got++;
	}
	if (expect_end)
		assert_int_equal(ret, 1);
	mix_reader_close(&r);
	return got;
}

static void roundtrip(const char *ext, const char *format)
{
	struct pkts s;
	load_p1(&s, 2000000);
	const char *path = tmp_path("rt", ext);
	struct mix_writer_cfg cfg;
	cfg_av(&cfg, path);
	cfg.format = format;
	write_all(&cfg, &s);
	assert_int_equal(compare_file(path, &s, true), s.n);

	struct mix_reader *r = NULL;
	char err[256];
	assert_int_equal(mix_reader_open(&r, path, err, sizeof(err)), 0);
	assert_in_range(mix_reader_duration_us(r), 1900000, 2100000);
	mix_reader_close(&r);
	free_pkts(&s);
	unlink(path);
}

static void test_roundtrip_webm(void **state)
{
	roundtrip("webm", NULL);
}

static void test_roundtrip_mkv(void **state)
{
	roundtrip("mkv", NULL);
}

static void test_roundtrip_format_overrides_ext(void **state)
{
	roundtrip("bin", "matroska");
}

/* Media-clock times far from 0 (a recording started mid-call) are rebased to the file start. */
static void test_media_clock_rebased(void **state)
{
	struct pkts s;
	load_p1(&s, 2000000);
	for (int i = 0; i < s.n; i++)
		s.p[i]->pts_us += 100000000;
	const char *path = tmp_path("rebase", "webm");
	struct mix_writer_cfg cfg;
	cfg_av(&cfg, path);
	write_all(&cfg, &s);
	assert_int_equal(compare_file(path, &s, true), s.n);
	struct mix_reader *r = NULL;
	char err[256];
	assert_int_equal(mix_reader_open(&r, path, err, sizeof(err)), 0);
	assert_in_range(mix_reader_duration_us(r), 1900000, 2100000);
	mix_reader_close(&r);
	free_pkts(&s);
	unlink(path);
}

/* A packet older than the file's start or its track's last one is refused; the file is fine. */
static void test_late_old_packet(void **state)
{
	struct pkts s;
	load_p1(&s, 1000000);
	const char *path = tmp_path("old", "webm");
	struct mix_writer_cfg cfg;
	cfg_av(&cfg, path);
	struct mix_writer *w = NULL;
	char err[512] = "";
	assert_int_equal(mix_writer_open(&w, &cfg, err, sizeof(err)), 0);
	for (int i = 0; i < s.n; i++)
		assert_int_equal(mix_writer_write(w, s.p[i], err, sizeof(err)), 0);
	struct mix_packet *old = mix_packet_copy(s.p[0]->data, s.p[0]->size);
	assert_non_null(old);
	old->kind = MIX_VIDEO;
	old->keyframe = true;
	old->pts_us = -500000;
	assert_int_equal(mix_writer_write(w, old, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	old->pts_us = 500000; /* after the start but before the last video frame written */
	assert_int_equal(mix_writer_write(w, old, err, sizeof(err)), -EINVAL);
	assert_int_equal(mix_writer_close(&w, err, sizeof(err)), 0);
	assert_int_equal(compare_file(path, &s, true), s.n);
	mix_packet_unref(&old);
	free_pkts(&s);
	unlink(path);
}

/* The muxed file passes ffprobe with both streams and the pre-skip in the OpusHead. */
static void test_ffprobe_accepts(void **state)
{
	struct pkts s;
	load_p1(&s, 1000000);
	const char *path = tmp_path("probe", "webm");
	struct mix_writer_cfg cfg;
	cfg_av(&cfg, path);
	write_all(&cfg, &s);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
	         "ffprobe -v error -show_streams '%s' | grep -c -e codec_name=vp8 -e "
	         "codec_name=opus | grep -qx 2",
	         path);
	assert_int_equal(system(cmd), 0);
	free_pkts(&s);
	unlink(path);
}

static void test_audio_only_mka(void **state)
{
	struct pkts s, a = {.n = 0};
	load_p1(&s, 1000000);
	for (int i = 0; i < s.n; i++)
		if (s.p[i]->kind == MIX_AUDIO)
			a.p[a.n++] = mix_packet_ref(s.p[i]);
	const char *path = tmp_path("audio", "mka");
	struct mix_writer_cfg cfg;
	cfg_av(&cfg, path);
	cfg.video = false;
	write_all(&cfg, &a);
	assert_int_equal(compare_file(path, &a, true), a.n);

	/* A video packet for an audio-only file is refused. */
	struct mix_writer *w = NULL;
	char err[256] = "";
	assert_int_equal(mix_writer_open(&w, &cfg, err, sizeof(err)), 0);
	int i = 0;
	while (s.p[i]->kind != MIX_VIDEO)
		i++;
	assert_int_equal(mix_writer_write(w, s.p[i], err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_int_equal(mix_writer_close(&w, err, sizeof(err)), 0);
	free_pkts(&a);
	free_pkts(&s);
	unlink(path);
}

static void expect_open_error(const struct mix_writer_cfg *cfg, int code)
{
	struct mix_writer *w = (struct mix_writer *)1;
	char err[512] = "";
	int ret = mix_writer_open(&w, cfg, err, sizeof(err));
	if (ret != code)
		fail_msg("open %s: got %d (%s), want %d", cfg->path, ret, err, code);
	assert_null(w);
	assert_non_null(strstr(err, cfg->path));
}

static void test_bad_paths(void **state)
{
	struct mix_writer_cfg cfg;
	cfg_av(&cfg, "/nonexistent-dir/x.webm");
	expect_open_error(&cfg, -ENOENT);
	cfg_av(&cfg, "/tmp/mix-test-writer-x.avi");
	expect_open_error(&cfg, -EINVAL);
	cfg_av(&cfg, "/tmp/mix-test-writer.d/x");
	expect_open_error(&cfg, -EINVAL);
	cfg_av(&cfg, "/tmp/mix-test-writer-x.webm");
	cfg.format = "avi";
	expect_open_error(&cfg, -EINVAL);
	cfg.format = "mp4"; /* no AAC AudioSpecificConfig */
	expect_open_error(&cfg, -EINVAL);
	cfg.format = NULL;
	cfg.video = cfg.audio = false;
	expect_open_error(&cfg, -EINVAL);
	cfg_av(&cfg, "/tmp/mix-test-writer-x.webm");
	cfg.width = 0;
	expect_open_error(&cfg, -EINVAL);
	if (geteuid() != 0) {
		cfg_av(&cfg, "/proc/mix-test-writer.webm");
		struct mix_writer *w = NULL;
		char err[256] = "";
		assert_true(mix_writer_open(&w, &cfg, err, sizeof(err)) < 0);
		assert_null(w);
	}
	struct stat st;
	assert_int_not_equal(stat("/tmp/mix-test-writer-x.avi", &st), 0);
}

/*
 * A live writer in a child that dies (_exit, no close) after 3.5 s of media: the file must
 * be readable up to its last complete cluster (clusters close every second) and ffprobe must
 * accept it.
 */
static void test_live_survives_crash(void **state)
{
	struct pkts s;
	load_p1(&s, 3500000);
	const char *path = tmp_path("live", "webm");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mix_writer_cfg cfg;
		cfg_av(&cfg, path);
		cfg.live = true;
		struct mix_writer *w = NULL;
		char err[256];
		if (mix_writer_open(&w, &cfg, err, sizeof(err)) != 0)
			_exit(2);
		for (int i = 0; i < s.n; i++)
			if (mix_writer_write(w, s.p[i], err, sizeof(err)) != 0)
				_exit(3);
		_exit(0); /* crash: no trailer, nothing flushed by close */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	int got = compare_file(path, &s, false);
	/* At most the open cluster (1 s) plus the interleaving queue may be lost. */
	if (got < s.n / 2)
		fail_msg("only %d of %d packets survived", got, s.n);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "ffprobe -v error -show_packets '%s' >/dev/null 2>&1", path);
	assert_int_equal(system(cmd), 0);
	free_pkts(&s);
	unlink(path);
}

/* ---- MP4: H.264 + AAC ---- */

#define MP4_W   320
#define MP4_H   240
#define MP4_FPS 30

struct mp4_src {
	struct mix_h264_enc *v;
	struct mix_aac_enc *a;
	struct mix_canvas *canvas;
	double phase;
	int64_t vtick, atick;
};

static void mp4_src_open(struct mp4_src *m)
{
	memset(m, 0, sizeof(*m));
	struct mix_h264_enc_cfg hc = {
	    .width = MP4_W, .height = MP4_H, .fps = MP4_FPS, .bitrate_bps = 300000};
	struct mix_aac_enc_cfg ac;
	mix_aac_enc_cfg_default(&ac);
	assert_int_equal(mix_h264_enc_alloc(&m->v, &hc), 0);
	assert_int_equal(mix_aac_enc_alloc(&m->a, &ac), 0);
	assert_int_equal(mix_canvas_alloc(&m->canvas, MP4_W, MP4_H), 0);
	/* a blue canvas with a white bar that moves: real inter frames */
	mix_canvas_fill(m->canvas, 0, 0, MP4_W, MP4_H, 41, 240, 110);
}

static void mp4_src_close(struct mp4_src *m)
{
	mix_h264_enc_free(&m->v);
	mix_aac_enc_free(&m->a);
	mix_canvas_free(&m->canvas);
}

static void mp4_cfg(struct mix_writer_cfg *cfg, const char *path, const struct mp4_src *m)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path;
	cfg->video = cfg->audio = true;
	cfg->width = MP4_W;
	cfg->height = MP4_H;
	cfg->fps = MP4_FPS;
	cfg->opus_preskip = mix_aac_enc_delay(m->a);
	cfg->aac_config_size = mix_aac_enc_extradata(m->a, &cfg->aac_config);
}

static void write_video(struct mp4_src *m, struct mix_writer *w, int64_t t)
{
	int x = (int)(m->vtick * 4 % (MP4_W - 16));
	mix_canvas_fill(m->canvas, x ? x - 4 : MP4_W - 20, 0, 4, 16, 41, 240, 110);
	mix_canvas_fill(m->canvas, x, 0, 16, 16, 235, 128, 128);
	struct mix_picture pic = mix_canvas_view(m->canvas);
	struct mix_packet *p = NULL;
	char err[512] = "";
	assert_int_equal(mix_h264_enc_encode(m->v, &pic, t, &p), 0);
	if (p && mix_writer_write(w, p, err, sizeof(err)) != 0)
		fail_msg("video: %s", err);
	mix_packet_unref(&p);
	m->vtick++;
}

static void write_audio(struct mp4_src *m, struct mix_writer *w, int64_t t)
{
	int16_t pcm[960];
	for (int i = 0; i < 960; i++) {
		pcm[i] = (int16_t)(8000 * sin(m->phase));
		m->phase += 2 * M_PI * 440 / 48000;
	}
	assert_int_equal(mix_aac_enc_push(m->a, pcm, 960, t * 48 / 1000), 0);
	struct mix_packet *p = NULL;
	char err[512] = "";
	while (mix_aac_enc_pull(m->a, &p) == 1) {
		if (mix_writer_write(w, p, err, sizeof(err)) != 0)
			fail_msg("audio: %s", err);
		mix_packet_unref(&p);
	}
	m->atick++;
}

/* Runs the engine's clock from t0 for `us`: 20 ms audio ticks and 1/fps video ticks. */
static void write_mp4(const char *path, int64_t t0, int64_t us)
{
	struct mp4_src m;
	mp4_src_open(&m);
	struct mix_writer_cfg cfg;
	mp4_cfg(&cfg, path, &m);
	cfg.live = true; /* ignored for MP4 */
	struct mix_writer *w = NULL;
	char err[512] = "";
	if (mix_writer_open(&w, &cfg, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	for (;;) {
		int64_t ta = t0 + m.atick * 20000, tv = t0 + m.vtick * 1000000 / MP4_FPS;
		if (ta >= t0 + us && tv >= t0 + us)
			break;
		if (ta <= tv)
			write_audio(&m, w, ta);
		else
			write_video(&m, w, tv);
	}
	assert_true(mix_writer_bytes(w) > 0);
	assert_int_equal(mix_writer_close(&w, err, sizeof(err)), 0);
	mp4_src_close(&m);
}

/* The first line of a command's output (empty string if none). */
static void run(const char *cmd, char *out, size_t n)
{
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = '\0';
	if (!fgets(out, (int)n, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(f);
}

static double probe_num(const char *path, const char *sel, const char *entry)
{
	char cmd[512], out[128];
	snprintf(cmd, sizeof(cmd), "ffprobe -v error %s -show_entries %s -of csv=p=0 '%s'", sel,
	         entry, path);
	run(cmd, out, sizeof(out));
	return out[0] ? atof(out) : -1;
}

static void test_mp4_h264_aac(void **state)
{
	const char *path = tmp_path("h264", "mp4");
	write_mp4(path, 100000000, 3000000); /* a recording that starts 100 s into the call */
	char cmd[512], out[256];
	snprintf(cmd, sizeof(cmd),
	         "ffprobe -v error -show_entries stream=codec_name -of csv=p=0 '%s' | sort | "
	         "tr '\\n' ' '",
	         path);
	run(cmd, out, sizeof(out));
	assert_string_equal(out, "aac h264 ");
	double dur = probe_num(path, "", "format=duration");
	if (dur < 2.95 || dur > 3.05)
		fail_msg("duration %f", dur);
	/* the AAC priming is cut by the edit list: both tracks start at 0 */
	assert_true(fabs(probe_num(path, "-select_streams v", "stream=start_time")) < 0.001);
	assert_true(fabs(probe_num(path, "-select_streams a", "stream=start_time")) < 0.001);
	assert_int_equal((int)probe_num(path, "-select_streams v", "stream=nb_frames"), 90);
	/* the tone starts at once: the priming samples are not played */
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -i '%s' -t 0.01 -f s16le -ac 1 - | od -An -td2 -v -w2 | "
	         "awk '{ s += $1 * $1; n++ } END { printf \"%%d %%d\", sqrt(s / n), n }'",
	         path);
	run(cmd, out, sizeof(out));
	int rms = 0, n = 0;
	assert_int_equal(sscanf(out, "%d %d", &rms, &n), 2);
	if (n != 480 || rms < 4000)
		fail_msg("first 10 ms: rms %d over %d samples, want a 5657 rms tone", rms, n);
	snprintf(cmd, sizeof(cmd), "ffmpeg -v error -i '%s' -f null - 2>&1 | head -c 200", path);
	run(cmd, out, sizeof(out));
	assert_string_equal(out, ""); /* a full decode without one error */
	/* the blue of the canvas, below the moving bar */
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -ss 1.5 -i '%s' -frames:v 1 -vf crop=2:2:160:120 -f rawvideo "
	         "-pix_fmt yuv444p - | od -An -tu1",
	         path);
	run(cmd, out, sizeof(out));
	int y, u, v;
	assert_int_equal(sscanf(out, "%d %*d %*d %*d %d %*d %*d %*d %d", &y, &u, &v), 3);
	if (abs(y - 41) > 4 || abs(u - 240) > 4 || abs(v - 110) > 4)
		fail_msg("colour %d %d %d, want 41 240 110", y, u, v);
	unlink(path);
}

/*
 * MP4 video must start with a keyframe (the avcC comes from its SPS/PPS) and wants strictly
 * increasing times per track: other packets are refused, the file is fine.
 */
static void test_mp4_refused_packets(void **state)
{
	const char *path = tmp_path("eq", "mp4");
	struct mp4_src m;
	mp4_src_open(&m);
	struct mix_writer_cfg cfg;
	mp4_cfg(&cfg, path, &m);
	cfg.audio = false;
	struct mix_writer *w = NULL;
	char err[512] = "";
	assert_int_equal(mix_writer_open(&w, &cfg, err, sizeof(err)), 0);
	struct mix_packet *p = mix_packet_copy((const uint8_t *)"\0\0\0\1\x09\xf0", 6);
	p->kind = MIX_VIDEO;
	p->pts_us = -33333;
	assert_int_equal(mix_writer_write(w, p, err, sizeof(err)), -EINVAL); /* not a keyframe */
	for (int i = 0; i < 30; i++)
		write_video(&m, w, i * 33333);
	p->pts_us = 29 * 33333;
	assert_int_equal(mix_writer_write(w, p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	mix_packet_unref(&p);
	assert_int_equal(mix_writer_close(&w, err, sizeof(err)), 0);
	assert_int_equal((int)probe_num(path, "-select_streams v", "stream=nb_frames"), 30);
	mp4_src_close(&m);
	unlink(path);
}

static void test_close_null(void **state)
{
	struct mix_writer *w = NULL;
	assert_int_equal(mix_writer_close(&w, NULL, 0), 0);
	assert_int_equal(mix_writer_close(NULL, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_webm),
	    cmocka_unit_test(test_roundtrip_mkv),
	    cmocka_unit_test(test_roundtrip_format_overrides_ext),
	    cmocka_unit_test(test_media_clock_rebased),
	    cmocka_unit_test(test_late_old_packet),
	    cmocka_unit_test(test_ffprobe_accepts),
	    cmocka_unit_test(test_audio_only_mka),
	    cmocka_unit_test(test_bad_paths),
	    cmocka_unit_test(test_live_survives_crash),
	    cmocka_unit_test(test_mp4_h264_aac),
	    cmocka_unit_test(test_mp4_refused_packets),
	    cmocka_unit_test(test_close_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
