/*
 * room_settings.c - per-room settings: the server's defaults, a PUT body's overrides, and their
 * JSON (see room_settings.h). Pure functions, any thread.
 */
#include "session/room_settings.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "mix/layout.h"
#include "session/recorder.h"

void room_settings_default(struct room_settings *s, const struct mcu_config *c)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->layout, sizeof(s->layout), "%s", c->layout);
	s->width = c->width;
	s->height = c->height;
	s->fps = c->fps;
	s->ladder = c->ladder;
	s->max_participants = c->max_participants;
	s->idle_timeout_s = c->room_idle_timeout_s;
}

static int bad(char *err, size_t n, const char *what)
{
	snprintf(err, n, "%s", what);
	return -EINVAL;
}

/* An optional integer key in lo..hi into *dst. */
static int get_int(json_t *o, const char *key, int lo, int hi, int *dst, char *err, size_t n)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, n, "\"%s\" must be an integer in %d..%d", key, lo, hi);
		return -EINVAL;
	}
	*dst = (int)json_integer_value(v);
	return 0;
}

/* "record": false, true (webm) or "webm" | "mkv" | "mp4". */
static int get_record(json_t *o, struct room_settings *s, char *err, size_t n)
{
	json_t *v = json_object_get(o, "record");
	const char *f = json_is_true(v) ? "webm" : json_string_value(v);
	if (!v || json_is_false(v))
		return 0;
	if (!f || (strcmp(f, "webm") && strcmp(f, "mkv") && strcmp(f, "mp4")))
		return bad(err, n, "\"record\" must be false, true or \"webm\", \"mkv\", \"mp4\"");
	const char *why = NULL;
	if (recorder_check_format(f, &why) < 0)
		return bad(err, n, why ? why : "this server cannot record that format");
	snprintf(s->record, sizeof(s->record), "%s", f);
	return 0;
}

static int get_layout(json_t *o, struct room_settings *s, char *err, size_t n)
{
	json_t *v = json_object_get(o, "layout");
	enum mix_layout_kind k;
	if (!v)
		return 0;
	if (!json_is_string(v) || mix_layout_parse(json_string_value(v), &k) < 0)
		return bad(err, n, "\"layout\" must be \"grid\" or \"speaker\"");
	snprintf(s->layout, sizeof(s->layout), "%s", json_string_value(v));
	return 0;
}

/* "width"/"height" (a default ladder for that size) or "ladder" (a spec as --ladder's). */
static int get_outputs(json_t *o, struct room_settings *s, const struct mcu_config *c, char *err,
                       size_t n)
{
	int w = 0, h = 0;
	if (get_int(o, "width", 16, 4096, &w, err, n) < 0 ||
	    get_int(o, "height", 16, 4096, &h, err, n) < 0)
		return -EINVAL;
	if (!w != !h || (w | h) & 1)
		return bad(err, n, "\"width\" and \"height\" go together and must be even");
	json_t *l = json_object_get(o, "ladder");
	if (l && !json_is_string(l))
		return bad(
		    err, n,
		    "\"ladder\" must be a string such as \"1280x720@30:1500,640x360@15:350\"");
	if (l &&
	    ladder_parse(json_string_value(l), c->fps, c->audio_bitrate, &s->ladder, err, n) < 0)
		return -EINVAL;
	if (w && !l)
		ladder_default(&s->ladder, w, h, c->fps, c->video_bitrate, c->audio_bitrate);
	if (l && w && (s->ladder.r[0].width != w || s->ladder.r[0].height != h))
		return bad(err, n, "the ladder's first rung must be width x height");
	s->width = s->ladder.r[0].width;
	s->height = s->ladder.r[0].height;
	return 0;
}

int room_settings_parse(struct room_settings *s, const struct mcu_config *c, const char *body,
                        size_t len, char *err, size_t errlen)
{
	static const char *keys[] = {
	    "layout", "width", "height", "ladder", "record", "max_participants", "idle_timeout_s"};
	json_t *o = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : json_object();
	int rc = json_is_object(o) ? 0 : bad(err, errlen, "the body must be a JSON object");
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			known = known || !strcmp(k, keys[i]);
		if (!known && rc == 0) {
			snprintf(err, errlen, "unknown key \"%.40s\"", k);
			rc = -EINVAL;
		}
	}
	if (rc == 0)
		rc = get_layout(o, s, err, errlen);
	if (rc == 0)
		rc = get_outputs(o, s, c, err, errlen);
	if (rc == 0)
		rc = get_record(o, s, err, errlen);
	if (rc == 0)
		rc = get_int(o, "max_participants", 1, c->max_participants, &s->max_participants,
		             err, errlen);
	if (rc == 0)
		rc = get_int(o, "idle_timeout_s", 0, 86400, &s->idle_timeout_s, err, errlen);
	json_decref(o);
	return rc;
}

json_t *room_settings_json(const struct room_settings *s)
{
	char ladder[512];
	ladder_describe(&s->ladder, ladder, sizeof(ladder));
	return json_pack("{s:s,s:i,s:i,s:i,s:s,s:i,s:o,s:i}", "layout", s->layout, "width",
	                 s->width, "height", s->height, "fps", s->fps, "ladder", ladder,
	                 "max_participants", s->max_participants, "record",
	                 s->record[0] ? json_string(s->record) : json_false(), "idle_timeout_s",
	                 s->idle_timeout_s);
}
