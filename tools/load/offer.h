/*
 * offer.h - the SDP an mcu-load client offers and what it takes from the server's answer.
 *
 * The offer is what a browser with one camera and one microphone would send, reduced to what
 * the server negotiates: audio (mid 0, Opus PT 111, RFC 6464 audio level ext 1, abs-send-time
 * ext 2) then video (mid 1, VP8 PT 96, abs-send-time, nack / nack pli / ccm fir / goog-remb),
 * BUNDLE, rtcp-mux, ICE ufrag/pwd with trickle, a SHA-256 fingerprint with a=setup:actpass,
 * and a=ssrc lines (cname, msid). Pure functions, any thread.
 */
#ifndef LOAD_OFFER_H
#define LOAD_OFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFER_VIDEO_PT        96
#define OFFER_AUDIO_PT        111
#define OFFER_EXT_LEVEL       1
#define OFFER_EXT_ABS_SEND    2
#define OFFER_MAX             4096
#define ANSWER_MAX_CANDIDATES 8
#define ANSWER_TOKEN          257

struct offer_params {
	const char *ice_ufrag, *ice_pwd;
	const char *fingerprint; /* "AB:CD:..." SHA-256 */
	uint32_t audio_ssrc, video_ssrc;
	const char *cname; /* also the msid stream id */
	uint64_t session_id;
	bool send; /* sendrecv; false: recvonly (no a=ssrc lines) */
};

/* Writes the offer (CRLF lines, NUL-terminated). Its length, -ENOSPC or -EINVAL. */
int offer_write(char *out, size_t cap, const struct offer_params *p);

struct answer_info {
	char ice_ufrag[ANSWER_TOKEN], ice_pwd[ANSWER_TOKEN];
	char fp_alg[16], fp[ANSWER_TOKEN];
	bool dtls_client;       /* the answer says a=setup:passive: we are the DTLS client */
	int video_pt, audio_pt; /* the answer's payload types (ours echoed), -1 if rejected */
	int ncandidates;
	char candidates[ANSWER_MAX_CANDIDATES][ANSWER_TOKEN];
};

/* Parses the server's answer with the server's own SDP parser. 0 or -errno, err says why. */
int answer_parse(const char *sdp, struct answer_info *out, char *err, size_t errlen);

#endif
