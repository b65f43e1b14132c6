/*
 * test_reader.c - unit tests for the file reader (mixer/reader.c) on the generated clips.
 *
 * Clips come from $MIX_MEDIA (default assets/media, made by assets/gen-media.sh); a missing
 * clip is a failure, not a skip. Covers: WebM/Matroska/Ogg/IVF streams, sizes, durations,
 * keyframes, timestamp spacing and origin, Opus pre-skip alignment across containers, the
 * end of file, and the errors for missing, corrupt, codec-less and truncated files.
 * Single-threaded; every test owns the readers it opens.
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
#include <unistd.h>

#include <cmocka.h>

#include "mix/media_file.h"

static const char *clip(const char *name)
{
	static char buf[4][1024];
	static int n;
	const char *dir = getenv("MIX_MEDIA");
	char *p = buf[n++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir && *dir ? dir : "assets/media", name);
	return p;
}

/* Everything learnt by reading a file to its end. */
struct scan {
	int n[2];
	int64_t first[2], last[2];
	int64_t min_step[2], max_step[2];
	bool first_video_key;
	bool monotonic;
	int64_t min_pts;
	int end; /* the read's final return value */
};

static void scan_file(struct mix_reader *r, struct scan *s)
{
	memset(s, 0, sizeof(*s));
	s->monotonic = true;
	s->min_pts = INT64_MAX;
	for (int k = 0; k < 2; k++) {
		s->min_step[k] = INT64_MAX;
		s->max_step[k] = INT64_MIN;
	}
	char err[256] = "";
	struct mix_reader_packet pkt;
	int ret;
	while ((ret = mix_reader_read(r, &pkt, err, sizeof(err))) == 0) {
		int k = pkt.kind;
		assert_true(k == MIX_AUDIO || k == MIX_VIDEO);
		assert_non_null(pkt.data);
		assert_true(pkt.size > 0);
		if (s->n[k] == 0) {
			s->first[k] = pkt.pts_us;
			if (k == MIX_VIDEO)
				s->first_video_key = pkt.keyframe;
		} else {
			int64_t step = pkt.pts_us - s->last[k];
			if (step <= 0)
				s->monotonic = false;
			if (step < s->min_step[k])
				s->min_step[k] = step;
			if (step > s->max_step[k])
				s->max_step[k] = step;
		}
		if (pkt.pts_us < s->min_pts)
			s->min_pts = pkt.pts_us;
		s->last[k] = pkt.pts_us;
		s->n[k]++;
	}
	s->end = ret;
}

static struct mix_reader *open_ok(const char *name)
{
	struct mix_reader *r = NULL;
	char err[512] = "";
	int ret = mix_reader_open(&r, clip(name), err, sizeof(err));
	if (ret != 0)
		fail_msg("open %s: %d (%s)", clip(name), ret, err);
	assert_non_null(r);
	return r;
}

static void expect_open_error(const char *path, int code)
{
	struct mix_reader *r = (struct mix_reader *)1;
	char err[512] = "";
	int ret = mix_reader_open(&r, path, err, sizeof(err));
	if (ret != code)
		fail_msg("open %s: got %d (%s), want %d", path, ret, err, code);
	assert_null(r);
	assert_non_null(strstr(err, path));
}

static void test_clips_present(void **state)
{
	static const char *names[] = {
	    "p1.webm",        "p2.webm",    "p3.webm",        "p4.webm",      "p5.webm",
	    "p6.webm",        "p7.webm",    "p8.webm",        "p9.webm",      "m1.webm",
	    "m2.webm",        "m3.webm",    "m4.webm",        "p1.mkv",       "audio_only.ogg",
	    "video_only.ivf", "short.webm", "truncated.webm", "corrupt.webm", "noav.mkv",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct stat st;
		if (stat(clip(names[i]), &st) != 0 || st.st_size == 0)
			fail_msg("missing clip %s: run `make media` (assets/gen-media.sh)",
			         clip(names[i]));
	}
}

/* p1.webm and p1.mkv: 4 s of 30 fps VP8 640x360 and 20 ms mono Opus packets. */
static void check_p1(const char *name)
{
	struct mix_reader *r = open_ok(name);
	assert_true(mix_reader_has_video(r));
	assert_true(mix_reader_has_audio(r));
	assert_int_equal(mix_reader_width(r), 640);
	assert_int_equal(mix_reader_height(r), 360);
	int64_t d = mix_reader_duration_us(r);
	assert_in_range(d, 3900000, 4100000);
	assert_int_equal(mix_reader_preskip(r), 312); /* libopus lookahead at 48 kHz */
	struct scan s;
	scan_file(r, &s);
	assert_int_equal(s.end, 1);
	assert_true(s.monotonic);
	assert_true(s.first_video_key);
	assert_int_equal(s.n[MIX_VIDEO], 120);
	assert_in_range(s.n[MIX_AUDIO], 200, 202);
	assert_in_range(s.min_step[MIX_VIDEO], 32333, 34333);
	assert_in_range(s.max_step[MIX_VIDEO], 32333, 34333);
	assert_in_range(s.min_step[MIX_AUDIO], 19000, 21000);
	assert_in_range(s.max_step[MIX_AUDIO], 19000, 21000);
	/* The origin is the first audible sample: Opus's first decoded sample is a pre-skip
	 * earlier; video sits 7.5 ms later in p1.webm and 14.5 ms in p1.mkv (each FFmpeg 5.1
	 * Matroska mux pass delays video by 7 ms). */
	assert_int_equal(s.min_pts, -6500);
	assert_int_equal(s.first[MIX_AUDIO], -6500);
	assert_in_range(s.first[MIX_VIDEO], 0, 25000);
	/* The end stays the end. */
	struct mix_reader_packet pkt;
	char err[64];
	assert_int_equal(mix_reader_read(r, &pkt, err, sizeof(err)), 1);
	mix_reader_close(&r);
	assert_null(r);
}

static void test_p1_webm(void **state)
{
	check_p1("p1.webm");
}

static void test_p1_mkv(void **state)
{
	check_p1("p1.mkv");
}

static void test_all_colour_clips(void **state)
{
	char name[32];
	for (int i = 1; i <= 9; i++) {
		snprintf(name, sizeof(name), "p%d.webm", i);
		struct mix_reader *r = open_ok(name);
		assert_int_equal(mix_reader_width(r), 640);
		assert_true(mix_reader_has_audio(r));
		mix_reader_close(&r);
	}
	struct mix_reader *r = open_ok("short.webm");
	assert_in_range(mix_reader_duration_us(r), 1900000, 2100000);
	struct scan s;
	scan_file(r, &s);
	assert_int_equal(s.end, 1);
	assert_int_equal(s.n[MIX_VIDEO], 60);
	mix_reader_close(&r);
}

/*
 * Ogg gives the first Opus packet pts -preskip (granule convention) where Matroska gives
 * -CodecDelay: after the origin shift both first packets are at 0, so the first audible
 * sample (pts + preskip) lands at 6.5 ms in both.
 */
static void test_audio_only_ogg(void **state)
{
	struct mix_reader *r = open_ok("audio_only.ogg");
	assert_true(mix_reader_has_audio(r));
	assert_false(mix_reader_has_video(r));
	assert_int_equal(mix_reader_width(r), 0);
	assert_int_equal(mix_reader_preskip(r), 312);
	assert_in_range(mix_reader_duration_us(r), 2900000, 3100000);
	struct scan s;
	scan_file(r, &s);
	assert_int_equal(s.end, 1);
	assert_int_equal(s.n[MIX_VIDEO], 0);
	assert_in_range(s.n[MIX_AUDIO], 150, 152);
	assert_true(s.monotonic);
	assert_int_equal(s.first[MIX_AUDIO], -6500); /* first kept sample at 0 */
	assert_in_range(s.min_step[MIX_AUDIO], 19999, 20001);
	/* 3 s of content: the last packet starts 20 ms before its end (within a packet). */
	int64_t audible_end = s.last[MIX_AUDIO] + 312 * 1000000LL / 48000;
	assert_in_range(audible_end, 2980000, 3020000);
	mix_reader_close(&r);

	r = open_ok("p1.webm");
	struct mix_reader_packet pkt;
	char err[64];
	do
		assert_int_equal(mix_reader_read(r, &pkt, err, sizeof(err)), 0);
	while (pkt.kind != MIX_AUDIO);
	int64_t webm_audible = pkt.pts_us + mix_reader_preskip(r) * 1000000LL / 48000;
	assert_true(llabs(webm_audible) <= 1000); /* both containers: audible from 0 */
	mix_reader_close(&r);
}

static void test_video_only_ivf(void **state)
{
	struct mix_reader *r = open_ok("video_only.ivf");
	assert_true(mix_reader_has_video(r));
	assert_false(mix_reader_has_audio(r));
	assert_int_equal(mix_reader_preskip(r), 0);
	assert_int_equal(mix_reader_width(r), 640);
	assert_int_equal(mix_reader_height(r), 360);
	struct scan s;
	scan_file(r, &s);
	assert_int_equal(s.end, 1);
	assert_int_equal(s.n[MIX_AUDIO], 0);
	assert_int_equal(s.n[MIX_VIDEO], 90);
	assert_true(s.first_video_key);
	assert_int_equal(s.first[MIX_VIDEO], 0);
	assert_in_range(s.min_step[MIX_VIDEO], 33333, 33334);
	assert_in_range(s.max_step[MIX_VIDEO], 33333, 33334);
	mix_reader_close(&r);
}

static void test_missing_file(void **state)
{
	expect_open_error(clip("does-not-exist.webm"), -ENOENT);
	expect_open_error("/nonexistent-dir/x.webm", -ENOENT);
}

static void test_unreadable_file(void **state)
{
	if (geteuid() == 0)
		return; /* root reads mode-000 files: nothing to test */
	char path[] = "/tmp/mix-test-reader-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	chmod(path, 0);
	expect_open_error(path, -EACCES);
	unlink(path);
}

static void test_corrupt(void **state)
{
	expect_open_error(clip("corrupt.webm"), -EINVAL);
	expect_open_error("/tmp", -EINVAL); /* a directory */
}

static void test_no_vp8_no_opus(void **state)
{
	expect_open_error(clip("noav.mkv"), -ENOTSUP);
}

/* Cut in the middle of a cluster: some packets, then a clean end, never a bad packet. */
static void test_truncated(void **state)
{
	struct mix_reader *r = open_ok("truncated.webm");
	struct scan s;
	scan_file(r, &s);
	assert_int_equal(s.end, 1);
	assert_true(s.monotonic);
	assert_in_range(s.n[MIX_VIDEO], 30, 119);
	assert_in_range(s.n[MIX_AUDIO], 50, 199);
	mix_reader_close(&r);
}

static void test_motion_clips(void **state)
{
	char name[32];
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "m%d.webm", i);
		struct mix_reader *r = open_ok(name);
		struct scan s;
		scan_file(r, &s);
		assert_int_equal(s.end, 1);
		assert_int_equal(s.n[MIX_VIDEO], 120);
		assert_true(s.first_video_key);
		mix_reader_close(&r);
	}
}

static void test_close_null(void **state)
{
	struct mix_reader *r = NULL;
	mix_reader_close(&r);
	mix_reader_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clips_present),  cmocka_unit_test(test_p1_webm),
	    cmocka_unit_test(test_p1_mkv),         cmocka_unit_test(test_all_colour_clips),
	    cmocka_unit_test(test_audio_only_ogg), cmocka_unit_test(test_video_only_ivf),
	    cmocka_unit_test(test_missing_file),   cmocka_unit_test(test_unreadable_file),
	    cmocka_unit_test(test_corrupt),        cmocka_unit_test(test_no_vp8_no_opus),
	    cmocka_unit_test(test_truncated),      cmocka_unit_test(test_motion_clips),
	    cmocka_unit_test(test_close_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
