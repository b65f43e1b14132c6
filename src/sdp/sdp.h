/*
 * sdp.h - SDP (RFC 8866) offer parsing, negotiation policy and answer writing for WebRTC
 * (RFC 8829 JSEP, RFC 8843 BUNDLE, RFC 5761 rtcp-mux, RFC 8839 ICE, RFC 8122 fingerprint).
 *
 * sdp_parse: a pure, bounded parser of a remote offer (size <= SDP_MAX_SIZE, lines <=
 * SDP_MAX_LINES, LF or CRLF). Unknown lines are ignored; over-long values and over-full lists
 * are rejected with a message, never truncated silently.
 * sdp_negotiate: our policy: the first audio m-line offering Opus and the first video m-line
 * offering VP8 or (when the policy allows) H.264 packetization-mode 1, Constrained Baseline or
 * Baseline, are accepted; every other m-line is rejected (port 0). One video codec per peer,
 * both ways: the policy's preference, else the offer's order (the offerer's preference). Our
 * direction mirrors the offer (sendrecv->sendrecv, sendonly->recvonly, recvonly->sendonly,
 * inactive->inactive). sdp_write_answer: the answer text: BUNDLE of the accepted mids, rtcp-mux,
 * one ICE ufrag/pwd, our fingerprint, a=setup:passive, Opus and VP8 or H.264 only (H.264 with the
 * offer's fmtp profile-level-id, packetization-mode and level-asymmetry-allowed), the supported
 * header extensions the offer had (audio level, abs-send-time), RTCP feedback (nack, nack pli, ccm
 * fir, goog-remb; transport-cc and its extension where the policy allows and the m-line offers
 * both), RTX (RFC 4588: rtx/90000 with apt of the chosen video codec, where the policy allows and
 * the codec has NACK), and our SSRC/msid for each m-line we send on (with the RTX SSRC in an
 * a=ssrc-group:FID). Pure functions, any thread.
 * Structures are plain data owned by the caller.
 */
#ifndef MCU_SDP_H
#define MCU_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_SIZE       65536
#define SDP_MAX_LINES      10000
#define SDP_MAX_MEDIA      16
#define SDP_MAX_CODECS     64
#define SDP_MAX_EXTMAPS    16
#define SDP_MAX_SSRCS      8
#define SDP_MAX_CANDIDATES 32
#define SDP_MAX_TOKEN      256 /* ufrag, pwd, fingerprint value, candidate line */
#define SDP_MAX_MID        32

#define SDP_URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

enum sdp_kind { SDP_AUDIO, SDP_VIDEO, SDP_APPLICATION, SDP_OTHER };
enum sdp_dir { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

/* One payload type of an RTP m-line (every PT of the m= line has one, rtpmap or not). */
struct sdp_codec {
	int pt;        /* 0..127 */
	char name[32]; /* as written, e.g. "VP8", "opus"; "" if no a=rtpmap */
	int clock;     /* 0 if no a=rtpmap */
	int channels;  /* 0 if the rtpmap has no channel count */
	char fmtp[256];
	bool fb_nack, fb_pli, fb_fir, fb_remb, fb_twcc; /* a=rtcp-fb:<pt> and a=rtcp-fb:* */
};

struct sdp_extmap {
	int id;
	char uri[128];
};

struct sdp_media {
	enum sdp_kind kind;
	char media[16]; /* the m= line's media token as written ("audio", "text", ...) */
	int port;
	char proto[32];
	char fmt0[32];    /* the m= line's first format as written ("111", "webrtc-datachannel") */
	bool bundle_only; /* a=bundle-only (RFC 8843 6): port 0 but not rejected */
	char mid[SDP_MAX_MID + 1];
	enum sdp_dir dir;
	bool rtcp_mux;
	char ice_ufrag[SDP_MAX_TOKEN + 1], ice_pwd[SDP_MAX_TOKEN + 1]; /* "" if absent */
	char fp_alg[16], fp[SDP_MAX_TOKEN + 1];
	char setup[16];
	int ncodecs;
	struct sdp_codec codecs[SDP_MAX_CODECS];
	int nextmaps;
	struct sdp_extmap extmaps[SDP_MAX_EXTMAPS];
	int nssrcs;
	uint32_t ssrcs[SDP_MAX_SSRCS]; /* distinct a=ssrc values, in order of appearance */
	int ncandidates;
	char candidates[SDP_MAX_CANDIDATES][SDP_MAX_TOKEN + 1]; /* "candidate:..." */
};

struct sdp_session {
	/* session-level values; m-line values override them */
	char ice_ufrag[SDP_MAX_TOKEN + 1], ice_pwd[SDP_MAX_TOKEN + 1];
	char fp_alg[16], fp[SDP_MAX_TOKEN + 1];
	char setup[16];
	bool ice_lite;
	int nbundle;
	char bundle[SDP_MAX_MEDIA][SDP_MAX_MID + 1];
	int nmedia;
	struct sdp_media media[SDP_MAX_MEDIA];
};

/*
 * Parses an offer. 0, or -EINVAL (malformed) / -E2BIG (a cap exceeded) with a human message in
 * err ("line 12: ..."). text need not be NUL-terminated; a NUL or other control byte inside it
 * is an error. Duplicate payload types (in the m= line or in a=rtpmap/a=fmtp), duplicate
 * a=mid/ice-ufrag/ice-pwd/setup/direction in one scope, duplicate mids across m-lines and
 * BUNDLE mids naming no m-line are errors. Of several a=fingerprint lines the first sha-256
 * one is kept (else the first). Linear time; *out is about 0.5 MB: allocate it on the heap.
 */
int sdp_parse(const char *text, size_t len, struct sdp_session *out, char *err, size_t errlen);

enum sdp_vcodec { SDP_VCODEC_VP8 = 0, SDP_VCODEC_H264 = 1 };

/* What we may accept. A NULL policy: VP8 only, the offer's order. */
struct sdp_policy {
	bool h264;       /* H.264 may be accepted (this FFmpeg can encode it) */
	bool prefer_set; /* prefer `prefer` when offered, else the offer's order */
	enum sdp_vcodec prefer;
	bool transport_cc; /* take transport-wide congestion control where offered */
	bool rtx;          /* take RTX (RFC 4588) for video where offered with NACK */
	bool opus_dtx;     /* ask for Opus DTX (usedtx=1) */
};

/* What we agreed to for one m-line of the offer. */
struct sdp_neg_media {
	bool accepted;
	enum sdp_kind kind;
	char mid[SDP_MAX_MID + 1];
	enum sdp_dir dir; /* OUR direction */
	int pt;           /* chosen codec payload type (the offer's number) */
	int clock, channels;
	enum sdp_vcodec vcodec;                 /* video: the chosen codec */
	char fmtp[128];                         /* video H.264: the answer's fmtp parameters */
	int ext_audio_level, ext_abs_send_time; /* extension ids, 0 if not negotiated */
	int ext_twcc; /* transport-wide sequence number extension id, 0 if not negotiated */
	bool twcc;    /* a=rtcp-fb transport-cc on the chosen codec, with ext_twcc */
	bool nack, pli, fir, remb;
	int rtx_pt; /* video: the offer's rtx payload type for pt (both ways), -1 if none */
	bool dtx;   /* audio: the answer asks for Opus DTX */
	int nssrcs;
	uint32_t ssrcs[SDP_MAX_SSRCS]; /* the peer's SSRCs for this m-line, if it listed them */
};

struct sdp_negotiated {
	int nmedia; /* == offer nmedia */
	struct sdp_neg_media media[SDP_MAX_MEDIA];
	int audio_index, video_index; /* accepted m-line indices, -1 if none */
	/* a video m-line was usable but offered only codecs we cannot take (e.g. H.264 without
	 * libx264): the first such index, else -1; its codecs, for a message */
	int video_refused_index;
	bool video_refused_h264; /* it offered H.264 (packetization-mode 1) */
	/* the ICE/DTLS parameters in effect (from the bundle's first accepted m-line) */
	char ice_ufrag[SDP_MAX_TOKEN + 1], ice_pwd[SDP_MAX_TOKEN + 1];
	char fp_alg[16], fp[SDP_MAX_TOKEN + 1];
	char setup[16];
};

/*
 * Applies our policy (NULL: VP8 only) to an offer. -EINVAL (err says why) when nothing usable
 * is offered, ICE credentials or the fingerprint are missing, rtcp-mux is absent on an accepted
 * m-line, or the offer's setup is not actpass/active.
 */
int sdp_negotiate(const struct sdp_session *offer, const struct sdp_policy *policy,
                  struct sdp_negotiated *neg, char *err, size_t errlen);

/*
 * Whether an H.264 codec's fmtp is one we take: packetization-mode=1 and a profile-level-id of
 * Constrained Baseline (42 with constraint_set1, 4D with set0, 58 with set0+set1) or Baseline
 * (42). Sets *constrained for Constrained Baseline. Pure.
 */
bool sdp_h264_fmtp_ok(const char *fmtp, bool *constrained);

/* The value of key in an fmtp "k=v;k=v" list into out (cap bytes); false if absent. */
bool sdp_fmtp_get(const char *fmtp, const char *key, char *out, size_t cap);

struct sdp_answer_params {
	const char *ice_ufrag, *ice_pwd;
	const char *fingerprint; /* our SHA-256 fingerprint, "AB:CD:..." */
	uint32_t audio_ssrc, video_ssrc;
	uint32_t video_rtx_ssrc; /* where the video m-line has rtx_pt: our RTX stream's SSRC */
	const char *cname;
	const char *stream_id; /* msid stream id */
	const char *ip;        /* c= line and default candidate address */
	int port;
	int ncandidates;
	const char *const *candidates; /* "candidate:..." lines to include, may be 0 */
	bool end_of_candidates; /* candidates is our complete list: write a=end-of-candidates */
};

/*
 * Writes the answer (CRLF lines, NUL-terminated). Candidates go in the BUNDLE-tagged (first
 * accepted) m-line only. Returns its length, -ENOSPC if cap is too small, or -EINVAL if a
 * required parameter is missing or would break the SDP syntax (spaces or line breaks).
 */
int sdp_write_answer(const struct sdp_session *offer, const struct sdp_negotiated *neg,
                     const struct sdp_answer_params *p, char *out, size_t cap);

const char *sdp_dir_name(enum sdp_dir d);

#endif
