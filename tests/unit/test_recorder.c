/*
 * test_recorder.c - unit tests for the room recorder (src/session/recorder.c) without a
 * network: a real engine (no sources) gives the recorder its recipient; packets are pushed by
 * hand as the engine would hand them out. Checks: server-made names in the directory (never
 * replacing a file), the keyframe gate, status and the final file, an unwritable directory
 * reported as failed with the path in the message, two recorders at once. MP4: a real engine
 * (two silent sources, VP8 peers with exclude-self) feeds an MP4 recording through its own
 * H.264 + AAC encoders (never shared with a VP8 recipient of the same view); the finished file
 * has its final name (the temporary one is gone) and ffprobe finds h264 + aac and the
 * duration recorded.
 * The test thread plays the media thread; files go to a temporary directory and are removed.
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

#include "session/recorder.h"

#define SRC_A 1
#define SRC_B 2
#define REC   100

static struct mix_engine *engine(void)
{
	struct mix_engine_cfg c;
	mix_engine_cfg_default(&c);
	c.width = 320;
	c.height = 180;
	struct mix_engine *e = NULL;
	assert_int_equal(mix_engine_alloc(&e, &c), 0);
	return e;
}

static void cfg_for(struct rec_cfg *c, const char *room, const char *dir, uint32_t rid)
{
	*c = (struct rec_cfg){.room = room,
	                      .dir = dir,
	                      .width = 320,
	                      .height = 180,
	                      .fps = 30,
	                      .video_bitrate = 300000,
	                      .rid = rid};
}

static void push(struct recorder *r, enum mix_kind kind, int64_t pts, bool key)
{
	struct mix_packet *p = mix_packet_alloc(kind == MIX_VIDEO ? 100 : 20);
	memset(p->data, 0x5a, p->size);
	p->kind = kind;
	p->pts_us = pts;
	p->duration_us = kind == MIX_VIDEO ? 33333 : 20000;
	p->keyframe = key;
	recorder_push(r, p);
	mix_packet_unref(&p);
}

static void wait_done(struct recorder *r)
{
	for (int i = 0; i < 500 && !recorder_done(r); i++)
		usleep(10000);
	assert_true(recorder_done(r));
}

static void feed(struct recorder *r, int seconds)
{
	push(r, MIX_VIDEO, 0, false); /* before the first keyframe: dropped by the gate */
	for (int i = 0; i < seconds * 50; i++)
		push(r, MIX_AUDIO, i * 20000 - 6500, false);
	for (int i = 1; i < seconds * 30; i++)
		push(r, MIX_VIDEO, i * 33333, i == 1);
}

static void test_file_name(void **state)
{
	char n[128];
	recorder_file_name(n, sizeof(n), "standup", 1735732800, "webm");
	assert_string_equal(n, "standup-20250101T120000Z.webm");
}

static void test_records_and_finishes(void **state)
{
	char dir[] = "/tmp/test_recorder.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct mix_engine *e = engine();
	struct rec_cfg c;
	cfg_for(&c, "room1", dir, 100);
	struct recorder *r1 = NULL, *r2 = NULL;
	assert_int_equal(recorder_start(&r1, e, &c), 0);
	c.rid = 101; /* same room and second: the second file gets a -1 suffix */
	assert_int_equal(recorder_start(&r2, e, &c), 0);
	feed(r1, 2);
	feed(r2, 1);
	recorder_stop(r1, NULL, NULL);
	recorder_stop(r2, NULL, NULL);
	wait_done(r1);
	wait_done(r2);
	struct rec_status s1, s2;
	recorder_status(r1, &s1);
	recorder_status(r2, &s2);
	assert_int_equal(s1.state, REC_FINISHED);
	assert_int_equal(s2.state, REC_FINISHED);
	assert_string_not_equal(s1.path, s2.path);
	assert_non_null(strstr(s1.path, dir));
	assert_true(strstr(s1.path, "-1.webm") || strstr(s2.path, "-1.webm"));
	struct stat sb;
	assert_int_equal(stat(s1.path, &sb), 0);
	assert_int_equal(sb.st_size, s1.bytes);
	assert_true(s1.duration_s > 1.8 && s1.duration_s < 2.2);
	assert_int_equal(s1.packets, 100 + 59);
	unlink(s1.path);
	unlink(s2.path);
	recorder_free(&r1);
	recorder_free(&r2);
	rmdir(dir);
	mix_engine_free(&e);
}

static void test_unwritable(void **state)
{
	struct mix_engine *e = engine();
	struct rec_cfg c;
	cfg_for(&c, "room2", "/dev/null/nowhere", 7);
	struct recorder *r = NULL;
	assert_int_equal(recorder_start(&r, e, &c), 0);
	for (int i = 0; i < 200; i++) {
		struct rec_status st;
		recorder_status(r, &st);
		if (st.state == REC_FAILED)
			break;
		usleep(10000);
	}
	feed(r, 1); /* packets after the failure are dropped */
	recorder_poll(r, 0);
	assert_true(recorder_stopped(r));
	wait_done(r);
	struct rec_status st;
	recorder_status(r, &st);
	assert_int_equal(st.state, REC_FAILED);
	assert_non_null(strstr(st.error, "/dev/null/nowhere"));
	assert_int_equal(st.packets, 0);
	recorder_free(&r);
	mix_engine_free(&e);
}

static void test_formats(void **state)
{
	const char *why = NULL;
	assert_string_equal(recorder_format_for(NULL, NULL), "webm");
	assert_string_equal(recorder_format_for(NULL, "/x/y.MP4"), "mp4");
	assert_string_equal(recorder_format_for(NULL, "y.mkv"), "mkv");
	assert_string_equal(recorder_format_for("mp4", "y.mkv"), "mp4");
	assert_int_equal(recorder_check_format("webm", &why), 0);
	assert_int_equal(recorder_check_format("mkv", &why), 0);
	assert_int_equal(recorder_check_format("avi", &why), -EINVAL);
	assert_non_null(strstr(why, "mp4"));
	/* Debian's FFmpeg has libx264 and the native aac encoder */
	assert_int_equal(recorder_check_format("mp4", &why), 0);
}

static void to_recorder(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct recorder **r = opaque;
	if (rid == REC && *r)
		recorder_push(*r, p);
}

/* Two sources, viewers who exclude themselves, and a VP8 viewer of everyone (rid 3). */
static struct mix_engine *call_engine(struct recorder **rec)
{
	struct mix_engine_cfg c;
	mix_engine_cfg_default(&c);
	c.width = 320;
	c.height = 180;
	c.video_bitrate = 300000;
	c.exclude_self = true;
	c.cb = (struct mix_engine_callbacks){.opaque = rec, .on_packet = to_recorder};
	struct mix_engine *e = NULL;
	assert_int_equal(mix_engine_alloc(&e, &c), 0);
	assert_int_equal(mix_engine_add_source(e, SRC_A, "Ada"), 0);
	assert_int_equal(mix_engine_add_source(e, SRC_B, "Bob"), 0);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.self = SRC_A;
	assert_int_equal(mix_engine_add_recipient(e, SRC_A, &o), 0);
	o.self = SRC_B;
	assert_int_equal(mix_engine_add_recipient(e, SRC_B, &o), 0);
	o.self = MIX_NO_SOURCE;
	assert_int_equal(mix_engine_add_recipient(e, 3, &o), 0);
	return e;
}

static void probe(const char *path, char *out, size_t n)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd),
	         "ffprobe -v error -show_entries stream=codec_name:format=duration -of csv=p=0 "
	         "'%s' | sort | tr '\\n' ' '",
	         path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(out, (int)n, f))
		out[0] = '\0';
	pclose(f);
}

static void test_mp4_own_encoders(void **state)
{
	char dir[] = "/tmp/test_recorder.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct recorder *r = NULL;
	struct mix_engine *e = call_engine(&r);
	assert_int_equal(mix_engine_run_until(e, 1000000), 0);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 3); /* A's view, B's view, everyone (VP8) */
	assert_int_equal(st.audio_encoders, 1); /* silence: nobody is mixed, one shared Opus */

	struct rec_cfg c;
	cfg_for(&c, "room3", dir, REC);
	c.format = "mp4";
	assert_int_equal(recorder_start(&r, e, &c), 0);
	assert_int_equal(mix_engine_run_until(e, 3000000), 0);
	mix_engine_get_stats(e, &st);
	/* everyone's view again, but in H.264: not shared with rid 3's VP8 encoder */
	assert_int_equal(st.video_encoders, 4);
	assert_int_equal(st.audio_encoders, 2); /* + the AAC full mix */
	uint32_t tiles[4];
	assert_int_equal(mix_engine_recipient_tiles(e, REC, tiles, 4), 2);
	assert_int_equal(mix_engine_recipient_tiles(e, SRC_A, tiles, 4), 1);
	assert_int_equal(tiles[0], SRC_B);
	recorder_stop(r, NULL, NULL);
	assert_int_equal(mix_engine_run_until(e, 3500000), 0);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 3);
	assert_int_equal(st.audio_encoders, 1);
	wait_done(r);

	struct rec_status rs;
	recorder_status(r, &rs);
	assert_int_equal(rs.state, REC_FINISHED);
	assert_string_equal(rs.format, "mp4");
	assert_non_null(strstr(rs.path, ".mp4"));
	struct stat sb;
	assert_int_equal(stat(rs.path, &sb), 0);
	assert_int_equal(sb.st_size, rs.bytes);
	assert_true(rs.duration_s > 1.9 && rs.duration_s < 2.1);
	char out[256];
	probe(rs.path, out, sizeof(out));
	double dur = 0;
	if (sscanf(out, "%lf aac h264", &dur) != 1 || !strstr(out, "aac h264") || dur < 1.9 ||
	    dur > 2.1)
		fail_msg("ffprobe: %s", out);
	unlink(rs.path);
	recorder_free(&r);
	assert_int_equal(rmdir(dir), 0); /* the temporary file is gone too */
	mix_engine_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_name),        cmocka_unit_test(test_records_and_finishes),
	    cmocka_unit_test(test_unwritable),       cmocka_unit_test(test_formats),
	    cmocka_unit_test(test_mp4_own_encoders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
