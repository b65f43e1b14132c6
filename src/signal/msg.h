/*
 * msg.h - the signaling protocol's JSON messages (docs/PROTOCOL.md), parsed and built with
 * jansson.
 *
 * sig_parse validates one client message completely: type known, every required field present
 * with the right JSON type, string lengths within limits. On failure it returns an error code
 * slug (e.g. "bad-json", "unknown-type", "missing-field", "bad-field") and a human message for
 * the {"type":"error"} reply. Builders return malloc'd JSON text (caller frees) or NULL on OOM
 * (or when a string argument is not valid UTF-8). Pure functions, any thread.
 * Beyond the per-field rules below: texts over SIG_MAX_SDP + 4096 bytes, nesting deeper than 8,
 * duplicate keys and "\u0000" are "bad-json"; unknown extra fields are ignored. Candidates must
 * start with "candidate:" and contain no control characters; sdpMid is at most 32 bytes and
 * sdpMLineIndex 0..1023 (both optional, null allowed).
 */
#ifndef MCU_SIGNAL_MSG_H
#define MCU_SIGNAL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_MAX_ROOM      64 /* room names: 1..64 of [A-Za-z0-9_.-] */
#define SIG_MAX_NAME      64 /* display names: 1..64 bytes of UTF-8, no 0x00-0x1f or 0x7f */
#define SIG_MAX_SDP       65536
#define SIG_MAX_CANDIDATE 512
#define SIG_MAX_TOKEN     512 /* join's optional "token" (see auth/token.h) */

enum sig_type {
	SIG_JOIN,
	SIG_OFFER,
	SIG_CANDIDATE,
	SIG_LEAVE,
	SIG_PING,
	SIG_RECORD,
	SIG_MUTE,   /* mute or unmute oneself, another participant (admin) or all but one (admin) */
	SIG_KICK,   /* remove another participant (admin) */
	SIG_RENAME, /* change one's display name, or another's (admin) */
	SIG_VIEW,   /* one's own view: layout, pin, exclude self */
	SIG_LAYOUT, /* the room's layout and pin (admin) */
	SIG_SCREEN, /* stop sharing one's screen ("mid": null) */
};

#define SIG_MAX_REASON 128 /* kick's optional "reason" */
#define SIG_NO_ID      UINT32_MAX

struct sig_msg {
	enum sig_type type;
	char room[SIG_MAX_ROOM + 1];
	char name[SIG_MAX_NAME + 1];
	char *sdp;         /* offer: malloc'd */
	char *candidate;   /* candidate: malloc'd "candidate:..." or NULL for end-of-candidates */
	char mid[33];      /* candidate: "" if absent; offer: its "screen" mid, "" if absent */
	int mline;         /* candidate: -1 if absent */
	bool record_start; /* record: "action" is "start" (true) or "stop" (false) */
	char format[8];    /* record: optional "webm" | "mkv" | "mp4", "" if absent */
	char token[SIG_MAX_TOKEN + 1]; /* join: optional access token, "" if absent */
	int recv_codec; /* join: receive.codec: -1 absent, 0 "vp8", 1 "h264" (enum sdp_vcodec) */
	/* join: receive.max_width, max_height, max_fps, max_bitrate (bit/s); 0 = absent */
	int recv_max_width, recv_max_height, recv_max_fps, recv_max_bitrate;
	/* mute, kick, rename: "id" of the participant acted on (SIG_NO_ID: oneself; mute also
	 * "all"), mute's "except" (SIG_NO_ID: none), mute's "audio"/"video" (-1 absent, 0, 1),
	 * kick's "reason" ("" if absent); rename's new name is in name */
	uint32_t target, except;
	bool target_all;
	int mute_audio, mute_video;
	char reason[SIG_MAX_REASON + 1];
	/* view, layout: "layout" (-1: view: the room's / layout: unchanged; else enum
	 * mix_layout_kind), "pin" (pin_set: present; SIG_NO_ID for null), view's "exclude_self"
	 * (-1 absent, 0, 1) */
	int layout;
	uint32_t pin;
	bool pin_set;
	int exclude_self;
	/* join: "layer_control": true, the client turns its simulcast layers on and off when
	 * told ("layers" messages) */
	bool layer_control;
	/* set by the server, not parsed: join's token has the admin role */
	bool admin;
};

/*
 * Parses and validates a message. 0, or -EINVAL with *code set to a static slug and msg to a
 * human explanation. The message must be released with sig_msg_clear (also after an error).
 */
int sig_parse(const char *text, size_t len, struct sig_msg *out, const char **code, char *msg,
              size_t msglen);
void sig_msg_clear(struct sig_msg *m);
/* Whether s (n bytes) is a valid room name: 1..64 of [A-Za-z0-9_.-]. */
bool sig_room_name_ok(const char *s, size_t n);
/* Whether s (n bytes) is a valid display name: 1..SIG_MAX_NAME bytes, no control characters. */
bool sig_name_ok(const char *s, size_t n);
/* A participant id as messages write it ("17": decimal, 1..SIG_NO_ID - 1), or 0. */
uint32_t sig_id_parse(const char *s);

struct sig_participant {
	uint32_t id;
	const char *name;
};

char *sig_joined(uint32_t id, const char *room, const struct sig_participant *others, int n);
char *sig_answer(const char *sdp);
/* candidate NULL: end of candidates ("candidate": null). */
char *sig_candidate(const char *candidate, const char *mid, int mline);
char *sig_error(const char *code, const char *message);
char *sig_participant_joined(uint32_t id, const char *name);
/*
 * {"type":"output"}: the video this participant now receives (width 0: audio only), its Opus
 * bitrate ("audio_bitrate", bit/s; 0: null, it receives no audio) and why.
 */
char *sig_output(int width, int height, int fps, int bitrate, const char *codec, int audio_bitrate,
                 const char *reason);
char *sig_participant_left(uint32_t id);
/* id MIX_NO_SOURCE-like 0xffffffff: nobody speaks ("id": null). */
char *sig_active_speaker(uint32_t id);
char *sig_pong(void);
/* {"type":"recording","state":...,"file":...[,"error":...]}; error may be NULL. */
char *sig_recording(const char *state, const char *file, const char *error);
/* {"type":"muted","id","audio","video","by"}: id's media now muted; by "self" or "moderator". */
char *sig_muted(uint32_t id, bool audio, bool video, const char *by);
/* {"type":"renamed","id","name"} */
char *sig_renamed(uint32_t id, const char *name);
/* {"type":"layout","layout","pin"}: the room's layout and pin (SIG_NO_ID: null) now. */
char *sig_layout(const char *layout, uint32_t pin);
/* {"type":"presentation","id","source"}: id presents its screen as source (SIG_NO_ID: nobody,
 * both null). */
char *sig_presentation(uint32_t id, uint32_t source);
/* {"type":"layers","active":[rid, ...]}: the simulcast layers the server wants sent. */
char *sig_layers(const char *const *rids, int n);
/* {"type":"removed","reason"}: to a participant removed from its room, before its socket closes. */
char *sig_removed(const char *reason);

#endif
