/*
 * test_writer.c - unit tests for the WebM/Matroska writer (mixer/writer.c).
 *
 * Real VP8/Opus packets are taken from $MIX_MEDIA/p1.webm (default assets/media; missing
 * clips fail), re-stamped as an encoder would (video from 0, Opus from -preskip), written,
 * and read back with the reader: same packets, bytes and times. Also: bad paths and formats,
 * audio-only files, and a live-mode writer killed before close (forked child) leaving a
 * file that both the reader and ffprobe accept.
 * Single-threaded (the crash test forks); files go to /tmp and are removed.
 */
#include <errno.h>
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
	cfg.format = "mp4";
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
	    cmocka_unit_test(test_close_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
