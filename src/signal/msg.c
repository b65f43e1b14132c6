/*
 * msg.c - parse and build the signaling protocol's JSON messages (docs/PROTOCOL.md).
 *
 * sig_parse is the only parser of remote JSON: it caps the text length and the nesting depth
 * (a linear pre-scan, before jansson builds anything), rejects duplicate keys, then validates
 * the one message type fully (types, lengths, character sets). Unknown extra fields are
 * ignored. Builders use json_pack and return compact malloc'd text (caller frees).
 * Pure functions, any thread; the only allocations are sig_msg's sdp/candidate strings.
 */
#include "signal/msg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define SIG_MAX_TEXT  (SIG_MAX_SDP + 4096)
#define SIG_MAX_DEPTH 8 /* our messages are depth 1; anything deeper is hostile */
#define SIG_MAX_MID   32
#define SIG_MAX_MLINE 1023

struct perr {
	const char **code;
	char *msg;
	size_t msglen;
};

/* Records the error and returns -EINVAL. */
static int fail(struct perr *e, const char *code, const char *what, const char *field)
{
	if (e->code)
		*e->code = code;
	if (e->msg && e->msglen)
		snprintf(e->msg, e->msglen, "%s%s%s", what, field ? ": " : "", field ? field : "");
	return -EINVAL;
}

/* Nesting depth of [ and { outside strings, stopping early once over max. Linear time. */
static int json_depth(const char *text, size_t len, int max)
{
	int depth = 0, worst = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len && worst <= max; i++) {
		char c = text[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > worst)
				worst = depth;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return worst;
}

static bool has_ctrl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

bool sig_name_ok(const char *s, size_t n)
{
	return n >= 1 && n <= SIG_MAX_NAME && !has_ctrl(s, n);
}

uint32_t sig_id_parse(const char *s)
{
	char *end = NULL;
	unsigned long long n = *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	return end && !*end && strlen(s) <= 10 && n < SIG_NO_ID ? (uint32_t)n : 0;
}

bool sig_room_name_ok(const char *s, size_t n)
{
	if (n < 1 || n > SIG_MAX_ROOM)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

/*
 * Fetches a required string field of length 1..max. Returns its value (owned by obj) or NULL
 * with the error recorded.
 */
static const char *get_str(json_t *obj, const char *key, size_t max, size_t *len, struct perr *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		fail(e, "missing-field", "missing field", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		fail(e, "bad-field", "field must be a string", key);
		return NULL;
	}
	*len = json_string_length(v);
	if (*len < 1 || *len > max) {
		fail(e, "bad-field", *len ? "field too long" : "field is empty", key);
		return NULL;
	}
	return json_string_value(v);
}

/* A required string field of 1..max bytes without control characters, copied to dst (max + 1
 * bytes). 0 or -EINVAL (recorded). */
static int copy_text(json_t *obj, const char *key, size_t max, char *dst, struct perr *e)
{
	size_t n;
	const char *v = get_str(obj, key, max, &n, e);
	if (!v)
		return -EINVAL;
	if (has_ctrl(v, n))
		return fail(e, "bad-field", "control character in field", key);
	memcpy(dst, v, n + 1);
	return 0;
}

/* An optional integer key of receive in lo..hi into *dst (left 0 if absent). */
static int recv_int(json_t *r, const char *key, int lo, int hi, int *dst, struct perr *e)
{
	json_t *v = json_object_get(r, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		char what[64];
		snprintf(what, sizeof(what), "receive.%s must be an integer in %d..%d", key, lo,
		         hi);
		return fail(e, "bad-field", what, "receive");
	}
	*dst = (int)json_integer_value(v);
	return 0;
}

/*
 * join's optional "receive" profile: {"codec": "vp8" | "h264", "max_width", "max_height",
 * "max_fps", "max_bitrate"}; other keys are ignored.
 */
static int parse_receive(json_t *r, struct sig_msg *m, struct perr *e)
{
	if (!r)
		return 0;
	if (!json_is_object(r))
		return fail(e, "bad-field", "field must be an object", "receive");
	if (recv_int(r, "max_width", 16, 4096, &m->recv_max_width, e) < 0 ||
	    recv_int(r, "max_height", 16, 4096, &m->recv_max_height, e) < 0 ||
	    recv_int(r, "max_fps", 1, 60, &m->recv_max_fps, e) < 0 ||
	    recv_int(r, "max_bitrate", 30000, 50000000, &m->recv_max_bitrate, e) < 0)
		return -EINVAL;
	json_t *c = json_object_get(r, "codec");
	if (!c)
		return 0;
	const char *v = json_is_string(c) ? json_string_value(c) : "";
	if (!strcmp(v, "vp8"))
		m->recv_codec = 0;
	else if (!strcmp(v, "h264"))
		m->recv_codec = 1;
	else
		return fail(e, "bad-field", "receive.codec must be \"vp8\" or \"h264\"", "receive");
	return 0;
}

static int parse_flag(json_t *o, const char *key, int *dst, struct perr *e);

static int parse_join(json_t *o, struct sig_msg *m, struct perr *e)
{
	size_t n;
	const char *room = get_str(o, "room", SIG_MAX_ROOM, &n, e);
	if (!room)
		return -EINVAL;
	if (!sig_room_name_ok(room, n))
		return fail(e, "bad-field", "room name must be 1-64 of A-Z a-z 0-9 _ . -", "room");
	memcpy(m->room, room, n + 1);
	if (copy_text(o, "name", SIG_MAX_NAME, m->name, e) < 0)
		return -EINVAL;
	if (parse_receive(json_object_get(o, "receive"), m, e) < 0)
		return -EINVAL;
	int lc;
	if (parse_flag(o, "layer_control", &lc, e) < 0)
		return -EINVAL;
	m->layer_control = lc == 1;
	if (!json_object_get(o, "token"))
		return 0;
	const char *token = get_str(o, "token", SIG_MAX_TOKEN, &n, e);
	if (!token)
		return -EINVAL;
	memcpy(m->token, token, n + 1);
	return 0;
}

/* "screen": absent or null (""), or a mid of 1..32 printable bytes into m->mid. */
static int parse_screen_mid(json_t *o, struct sig_msg *m, struct perr *e)
{
	json_t *v = json_object_get(o, "screen");
	if (!v || json_is_null(v))
		return 0;
	size_t n = json_string_length(v);
	if (!json_is_string(v) || n < 1 || n > SIG_MAX_MID || has_ctrl(json_string_value(v), n))
		return fail(e, "bad-field", "must be an m-line's mid (1-32 bytes) or null",
		            "screen");
	memcpy(m->mid, json_string_value(v), n + 1);
	return 0;
}

static int parse_offer(json_t *o, struct sig_msg *m, struct perr *e)
{
	size_t n;
	if (parse_screen_mid(o, m, e) < 0)
		return -EINVAL;
	const char *sdp = get_str(o, "sdp", SIG_MAX_SDP, &n, e);
	if (!sdp)
		return -EINVAL;
	m->sdp = strndup(sdp, n);
	return m->sdp ? 0 : fail(e, "bad-field", "out of memory", "sdp");
}

/* "sdpMid": absent, null or a string of 0..32 printable bytes. */
static int parse_mid(json_t *o, struct sig_msg *m, struct perr *e)
{
	json_t *v = json_object_get(o, "sdpMid");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(e, "bad-field", "field must be a string", "sdpMid");
	size_t n = json_string_length(v);
	if (n > SIG_MAX_MID || has_ctrl(json_string_value(v), n))
		return fail(e, "bad-field", "field too long or has control characters", "sdpMid");
	memcpy(m->mid, json_string_value(v), n + 1);
	return 0;
}

/* "sdpMLineIndex": absent, null or an integer 0..1023. */
static int parse_mline(json_t *o, struct sig_msg *m, struct perr *e)
{
	json_t *v = json_object_get(o, "sdpMLineIndex");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return fail(e, "bad-field", "field must be an integer", "sdpMLineIndex");
	json_int_t i = json_integer_value(v);
	if (i < 0 || i > SIG_MAX_MLINE)
		return fail(e, "bad-field", "field out of range", "sdpMLineIndex");
	m->mline = (int)i;
	return 0;
}

static int parse_candidate(json_t *o, struct sig_msg *m, struct perr *e)
{
	json_t *v = json_object_get(o, "candidate");
	if (!v)
		return fail(e, "missing-field", "missing field", "candidate");
	if (!json_is_null(v)) {
		if (!json_is_string(v))
			return fail(e, "bad-field", "field must be a string or null", "candidate");
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (n > SIG_MAX_CANDIDATE)
			return fail(e, "bad-field", "field too long", "candidate");
		if (n && (strncmp(s, "candidate:", 10) || has_ctrl(s, n)))
			return fail(e, "bad-field", "not a candidate: line", "candidate");
		if (n && !(m->candidate = strndup(s, n)))
			return fail(e, "bad-field", "out of memory", "candidate");
	}
	if (parse_mid(o, m, e) || parse_mline(o, m, e))
		return -EINVAL;
	return 0;
}

/* {"type":"record","action":"start"|"stop"} */
static int parse_record(json_t *o, struct sig_msg *m, struct perr *e)
{
	size_t n;
	const char *action = get_str(o, "action", 8, &n, e);
	if (!action)
		return -EINVAL;
	if (strcmp(action, "start") && strcmp(action, "stop"))
		return fail(e, "bad-field", "must be \"start\" or \"stop\"", "action");
	m->record_start = !strcmp(action, "start");
	if (!json_object_get(o, "format"))
		return 0;
	const char *f = get_str(o, "format", sizeof(m->format) - 1, &n, e);
	if (!f)
		return -EINVAL;
	if (strcmp(f, "webm") && strcmp(f, "mkv") && strcmp(f, "mp4"))
		return fail(e, "bad-field", "must be \"webm\", \"mkv\" or \"mp4\"", "format");
	memcpy(m->format, f, n + 1);
	return 0;
}

/* An id field: "123" (a joined message's id) into *id, or with all "all"; absent: SIG_NO_ID. */
static int parse_id(json_t *o, const char *key, bool all, uint32_t *id, bool *is_all,
                    struct perr *e)
{
	json_t *v = json_object_get(o, key);
	*id = SIG_NO_ID;
	if (!v)
		return 0;
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	if (all && !strcmp(s, "all")) {
		*is_all = true;
		return 0;
	}
	*id = sig_id_parse(s);
	if (*id == 0) {
		*id = SIG_NO_ID;
		return fail(
		    e, "bad-field",
		    all ? "must be a participant id or \"all\"" : "must be a participant id", key);
	}
	return 0;
}

/* An optional boolean: -1 absent, 0, 1. */
static int parse_flag(json_t *o, const char *key, int *dst, struct perr *e)
{
	json_t *v = json_object_get(o, key);
	*dst = -1;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(e, "bad-field", "field must be true or false", key);
	*dst = json_is_true(v);
	return 0;
}

/* {"type":"mute","id"?: "N" | "all","except"?: "N","audio"?: bool,"video"?: bool} */
static int parse_mute(json_t *o, struct sig_msg *m, struct perr *e)
{
	bool unused = false;
	if (parse_id(o, "id", true, &m->target, &m->target_all, e) < 0 ||
	    parse_id(o, "except", false, &m->except, &unused, e) < 0 ||
	    parse_flag(o, "audio", &m->mute_audio, e) < 0 ||
	    parse_flag(o, "video", &m->mute_video, e) < 0)
		return -EINVAL;
	if (m->mute_audio < 0 && m->mute_video < 0)
		return fail(e, "missing-field", "missing field", "audio or video");
	if (m->except != SIG_NO_ID && !m->target_all)
		return fail(e, "bad-field", "only with \"id\": \"all\"", "except");
	return 0;
}

/* {"type":"kick","id":"N","reason"?: "..."} */
static int parse_kick(json_t *o, struct sig_msg *m, struct perr *e)
{
	bool unused = false;
	if (parse_id(o, "id", false, &m->target, &unused, e) < 0)
		return -EINVAL;
	if (m->target == SIG_NO_ID)
		return fail(e, "missing-field", "missing field", "id");
	if (!json_object_get(o, "reason"))
		return 0;
	return copy_text(o, "reason", SIG_MAX_REASON, m->reason, e);
}

/* {"type":"rename","name":"...","id"?: "N"} */
static int parse_rename(json_t *o, struct sig_msg *m, struct perr *e)
{
	bool unused = false;
	if (parse_id(o, "id", false, &m->target, &unused, e) < 0)
		return -EINVAL;
	return copy_text(o, "name", SIG_MAX_NAME, m->name, e);
}

/* "layout": absent (-1), "grid" (0), "speaker" (1), or with room_ok "room" (-1). */
static int parse_layout_field(json_t *o, bool room_ok, struct sig_msg *m, struct perr *e)
{
	json_t *v = json_object_get(o, "layout");
	const char *l = json_string_value(v);
	m->layout = -1;
	if (!v || (room_ok && l && !strcmp(l, "room")))
		return 0;
	if (l && !strcmp(l, "grid"))
		m->layout = 0;
	else if (l && !strcmp(l, "speaker"))
		m->layout = 1;
	else
		return fail(e, "bad-field",
		            room_ok ? "must be \"grid\", \"speaker\" or \"room\""
		                    : "must be \"grid\" or \"speaker\"",
		            "layout");
	return 0;
}

/* "pin": absent, null (SIG_NO_ID) or a participant id. */
static int parse_pin(json_t *o, struct sig_msg *m, struct perr *e)
{
	json_t *v = json_object_get(o, "pin");
	bool unused = false;
	m->pin_set = v != NULL;
	if (v && json_is_null(v))
		return 0;
	return parse_id(o, "pin", false, &m->pin, &unused, e);
}

/* {"type":"view","layout"?: "grid"|"speaker"|"room","pin"?: "N"|null,"exclude_self"?: bool} */
static int parse_view(json_t *o, struct sig_msg *m, struct perr *e)
{
	if (parse_layout_field(o, true, m, e) < 0 || parse_pin(o, m, e) < 0)
		return -EINVAL;
	return parse_flag(o, "exclude_self", &m->exclude_self, e);
}

/* {"type":"screen","mid": null}: stop sharing (sharing starts with an offer naming the screen) */
static int parse_screen(json_t *o, struct sig_msg *m, struct perr *e)
{
	json_t *v = json_object_get(o, "mid");
	if (!v)
		return fail(e, "missing-field", "missing field", "mid");
	if (!json_is_null(v))
		return fail(e, "bad-field",
		            "only null (stop sharing): share with an offer naming the screen",
		            "mid");
	(void)m;
	return 0;
}

/* {"type":"layout","layout"?: "grid"|"speaker","pin"?: "N"|null}, at least one */
static int parse_room_layout(json_t *o, struct sig_msg *m, struct perr *e)
{
	if (parse_layout_field(o, false, m, e) < 0 || parse_pin(o, m, e) < 0)
		return -EINVAL;
	if (m->layout < 0 && !m->pin_set)
		return fail(e, "missing-field", "missing field", "layout or pin");
	return 0;
}

static int parse_nothing(json_t *o, struct sig_msg *m, struct perr *e)
{
	(void)o;
	(void)m;
	(void)e;
	return 0;
}

/* The client messages: type name, enum, and the parser of its fields. */
static const struct {
	const char *name;
	enum sig_type type;
	int (*parse)(json_t *o, struct sig_msg *m, struct perr *e);
} msg_types[] = {
    {"join", SIG_JOIN, parse_join},
    {"offer", SIG_OFFER, parse_offer},
    {"candidate", SIG_CANDIDATE, parse_candidate},
    {"leave", SIG_LEAVE, parse_nothing},
    {"ping", SIG_PING, parse_nothing},
    {"record", SIG_RECORD, parse_record},
    {"mute", SIG_MUTE, parse_mute},
    {"kick", SIG_KICK, parse_kick},
    {"rename", SIG_RENAME, parse_rename},
    {"view", SIG_VIEW, parse_view},
    {"layout", SIG_LAYOUT, parse_room_layout},
    {"screen", SIG_SCREEN, parse_screen},
};

static int parse_object(json_t *o, struct sig_msg *m, struct perr *e)
{
	json_t *t = json_object_get(o, "type");
	if (!t)
		return fail(e, "missing-field", "missing field", "type");
	if (!json_is_string(t))
		return fail(e, "bad-field", "field must be a string", "type");
	const char *type = json_string_value(t);
	for (size_t i = 0; i < sizeof(msg_types) / sizeof(msg_types[0]); i++) {
		if (strcmp(type, msg_types[i].name))
			continue;
		m->type = msg_types[i].type;
		return msg_types[i].parse(o, m, e);
	}
	return fail(e, "unknown-type", "unknown message type", NULL);
}

int sig_parse(const char *text, size_t len, struct sig_msg *out, const char **code, char *msg,
              size_t msglen)
{
	struct perr e = {code, msg, msglen};

	memset(out, 0, sizeof(*out));
	out->recv_codec = -1;
	out->mline = -1;
	out->target = out->except = SIG_NO_ID;
	out->mute_audio = out->mute_video = -1;
	out->layout = out->exclude_self = -1;
	out->pin = SIG_NO_ID;
	if (code)
		*code = NULL;
	if (msg && msglen)
		msg[0] = '\0';
	if (!text || len > SIG_MAX_TEXT)
		return fail(&e, "bad-json", "message too large", NULL);
	if (json_depth(text, len, SIG_MAX_DEPTH) > SIG_MAX_DEPTH)
		return fail(&e, "bad-json", "JSON nested too deeply", NULL);

	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jerr.text may quote the input (maybe invalid UTF-8): report the position only. */
		char where[48];
		snprintf(where, sizeof(where), "line %d column %d", jerr.line, jerr.column);
		return fail(&e, "bad-json", "invalid JSON or duplicate key", where);
	}
	int rc = json_is_object(root) ? parse_object(root, out, &e)
	                              : fail(&e, "bad-json", "message must be a JSON object", NULL);
	json_decref(root);
	if (rc)
		sig_msg_clear(out);
	return rc;
}

void sig_msg_clear(struct sig_msg *m)
{
	if (!m)
		return;
	free(m->sdp);
	free(m->candidate);
	m->sdp = NULL;
	m->candidate = NULL;
}

/* Serialises and releases v (NULL-safe: a failed json_pack yields NULL). */
static char *dump(json_t *v)
{
	if (!v)
		return NULL;
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

static void id_str(uint32_t id, char buf[11])
{
	snprintf(buf, 11, "%" PRIu32, id);
}

char *sig_joined(uint32_t id, const char *room, const struct sig_participant *others, int n)
{
	char ids[11];
	json_t *list = json_array();
	if (!list)
		return NULL;
	for (int i = 0; i < n; i++) {
		id_str(others[i].id, ids);
		json_t *p =
		    json_pack("{s:s,s:s}", "id", ids, "name", others[i].name ? others[i].name : "");
		if (!p || json_array_append_new(list, p)) {
			json_decref(list);
			return NULL;
		}
	}
	id_str(id, ids);
	return dump(json_pack("{s:s,s:s,s:s,s:o}", "type", "joined", "id", ids, "room",
	                      room ? room : "", "participants", list));
}

char *sig_answer(const char *sdp)
{
	return dump(json_pack("{s:s,s:s}", "type", "answer", "sdp", sdp ? sdp : ""));
}

char *sig_candidate(const char *candidate, const char *mid, int mline)
{
	/* "s?" packs NULL as null: the end-of-candidates marker. */
	json_t *o = json_pack("{s:s,s:s?}", "type", "candidate", "candidate", candidate);
	if (!o)
		return NULL;
	if (mid && *mid && json_object_set_new(o, "sdpMid", json_string(mid)))
		goto oom;
	if (mline >= 0 && json_object_set_new(o, "sdpMLineIndex", json_integer(mline)))
		goto oom;
	return dump(o);
oom:
	json_decref(o);
	return NULL;
}

char *sig_error(const char *code, const char *message)
{
	return dump(json_pack("{s:s,s:s,s:s}", "type", "error", "code", code ? code : "error",
	                      "message", message ? message : ""));
}

char *sig_output(int width, int height, int fps, int bitrate, const char *codec, int audio_bitrate,
                 const char *reason)
{
	json_t *video = width > 0
	                    ? json_pack("{s:i,s:i,s:i,s:i,s:s}", "width", width, "height", height,
	                                "fps", fps, "bitrate", bitrate, "codec", codec)
	                    : json_null();
	json_t *abps = audio_bitrate > 0 ? json_integer(audio_bitrate) : json_null();
	return dump(json_pack("{s:s,s:o,s:o,s:s}", "type", "output", "video", video,
	                      "audio_bitrate", abps, "reason", reason));
}

char *sig_participant_joined(uint32_t id, const char *name)
{
	char ids[11];
	id_str(id, ids);
	return dump(json_pack("{s:s,s:s,s:s}", "type", "participant-joined", "id", ids, "name",
	                      name ? name : ""));
}

char *sig_participant_left(uint32_t id)
{
	char ids[11];
	id_str(id, ids);
	return dump(json_pack("{s:s,s:s}", "type", "participant-left", "id", ids));
}

char *sig_active_speaker(uint32_t id)
{
	char ids[11];
	if (id == UINT32_MAX)
		return dump(json_pack("{s:s,s:n}", "type", "active-speaker", "id"));
	id_str(id, ids);
	return dump(json_pack("{s:s,s:s}", "type", "active-speaker", "id", ids));
}

char *sig_pong(void)
{
	return dump(json_pack("{s:s}", "type", "pong"));
}

char *sig_recording(const char *state, const char *file, const char *error)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "type", "recording", "state", state ? state : "",
	                      "file", file ? file : "");
	if (o && error && json_object_set_new(o, "error", json_string(error))) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *sig_muted(uint32_t id, bool audio, bool video, const char *by)
{
	char ids[11];
	id_str(id, ids);
	return dump(json_pack("{s:s,s:s,s:b,s:b,s:s}", "type", "muted", "id", ids, "audio", audio,
	                      "video", video, "by", by ? by : "self"));
}

char *sig_renamed(uint32_t id, const char *name)
{
	char ids[11];
	id_str(id, ids);
	return dump(
	    json_pack("{s:s,s:s,s:s}", "type", "renamed", "id", ids, "name", name ? name : ""));
}

char *sig_removed(const char *reason)
{
	return dump(json_pack("{s:s,s:s}", "type", "removed", "reason", reason ? reason : ""));
}

char *sig_layout(const char *layout, uint32_t pin)
{
	char ids[11];
	id_str(pin, ids);
	return dump(json_pack("{s:s,s:s,s:o}", "type", "layout", "layout", layout, "pin",
	                      pin == SIG_NO_ID ? json_null() : json_string(ids)));
}

char *sig_layers(const char *const *rids, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(rids[i]));
	return dump(json_pack("{s:s,s:o}", "type", "layers", "active", a));
}

char *sig_presentation(uint32_t id, uint32_t source)
{
	char a[11], b[11];
	id_str(id, a);
	id_str(source, b);
	return dump(json_pack("{s:s,s:o,s:o}", "type", "presentation", "id",
	                      id == SIG_NO_ID ? json_null() : json_string(a), "source",
	                      source == SIG_NO_ID ? json_null() : json_string(b)));
}
