/*
 * sdp.h - SDP (RFC 8866) offer parsing, negotiation policy and answer writing for WebRTC
 * (RFC 9429 JSEP, RFC 8843 BUNDLE, RFC 5761 rtcp-mux, RFC 8839 ICE, RFC 8122 fingerprint).
 *
 * sdp_parse: a pure, bounded parser of a remote offer (size <= SDP_MAX_SIZE, lines <=
 * SDP_MAX_LINES, LF or CRLF). Unknown lines are ignored; over-long values and over-full lists
 * are rejected with a message, never truncated silently; the exception is simulcast, which is
 * optional: an a=rid or a=simulcast we cannot read (malformed, or a rid-id over SDP_MAX_RID bytes)
 * is skipped and the m-line gets no simulcast (more than SDP_MAX_RIDS rids or streams: -E2BIG).
 * sdp_negotiate: our policy: the first audio m-line offering Opus and the first video m-line
 * offering VP8 or (when the policy allows) H.264 packetization-mode 1, Constrained Baseline or
 * Baseline, are accepted, and a second video m-line the policy names as the client's screen
 * (receive-only, the camera's codec); every other m-line is rejected (port 0). One video codec per
 * peer, both ways: the policy's preference, else the offer's order (the offerer's preference). Our
 * direction mirrors the offer (sendrecv->sendrecv, sendonly->recvonly, recvonly->sendonly,
 * inactive->inactive). sdp_write_answer: the answer text: BUNDLE of the accepted mids, rtcp-mux,
 * one ICE ufrag/pwd, our fingerprint, a=setup:passive, Opus and VP8 or H.264 only (H.264 with the
 * offer's fmtp profile-level-id, packetization-mode and level-asymmetry-allowed), the supported
 * header extensions the offer had (audio level, abs-send-time, sdes:mid, and on video
 * rtp-stream-id / repaired-rtp-stream-id), simulcast on the camera (a=rid:<id> recv and
 * a=simulcast:recv for the offer's send streams, VP8 only, where the policy allows), RTCP
 * feedback (nack, nack pli, ccm fir, goog-remb; transport-cc and its extension where the policy
 * allows and the m-line offers both), RTX (RFC 4588: rtx/90000 with apt of the chosen video codec,
 * where the policy allows and the codec has NACK), and our SSRC/msid for each m-line we send on
 * (with the RTX SSRC in an a=ssrc-group:FID).
 * An offer without a=group:BUNDLE (GStreamer webrtcbin's default bundle-policy "none") is taken
 * with one transport per accepted m-line (neg.bundle false): the same codec, direction, screen
 * and simulcast policy; each accepted m-line's ICE credentials, fingerprint and setup (media
 * level, else session level) are in its sdp_neg_media and must be usable, and it must have
 * rtcp-mux. Transport-wide congestion control is not negotiated without BUNDLE (our transport-cc
 * keeps one sequence space per peer, not one per transport). That answer has no BUNDLE group,
 * each accepted m-line its own ICE credentials (sdp_answer_params.media_ice_*), and every m-line
 * the fingerprint, a=setup:passive and a=rtcp-mux. Pure functions, any thread. Structures are
 * plain data owned by the caller.
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
/* simulcast layers of one m-line, and bytes of a rid-id (RFC 8851 allows longer ones: such
 * offers get no simulcast) */
#define SDP_MAX_RIDS 4
#define SDP_MAX_RID  16

#define SDP_URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define SDP_URI_MID  "urn:ietf:params:rtp-hdrext:sdes:mid"
#define SDP_URI_RID  "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define SDP_URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

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
	/* RFC 8851 a=rid:<id> send|recv [restrictions], in order of appearance */
	int nrids;
	struct sdp_rid {
		char id[SDP_MAX_RID + 1];
		enum sdp_dir dir; /* SDP_SENDONLY (send) or SDP_RECVONLY (recv) */
		int max_w, max_h; /* max-width / max-height restrictions, 0 if absent */
	} rids[SDP_MAX_RIDS];
	/* RFC 8853 a=simulcast: the send direction's stream list, first alternative of each
	 * stream, in order (a paused "~id" stream is listed, paused) */
	int nsim_send;
	struct sdp_sim_stream {
		char id[SDP_MAX_RID + 1];
		bool paused;
	} sim_send[SDP_MAX_RIDS];
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
 * one is kept (else the first; hash names in any case, kept in lower case). Linear time; *out
 * is about 0.5 MB: allocate it on the heap.
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
	bool simulcast;    /* take simulcast (rids) on a VP8 camera m-line where offered */
	/* the mid of a second video m-line the client names as its screen ("" = none): accepted
	 * receive-only with the camera's codec when it sends (neg.screen_index) */
	char screen_mid[SDP_MAX_MID + 1];
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
	/* RFC 8843/8852 header extension ids (0: not negotiated): sdes:mid, rtp-stream-id and
	 * repaired-rtp-stream-id (video) */
	int ext_mid, ext_rid, ext_rrid;
	/* simulcast we receive on this (camera) m-line: the offer's send rids, in its a=simulcast
	 * order (answered a=rid:<id> recv and a=simulcast:recv); 0 = none */
	int nrids;
	char rids[SDP_MAX_RIDS][SDP_MAX_RID + 1];
	/* this m-line's transport, filled on every accepted m-line ("" on rejected ones): the
	 * offer's media-level ICE credentials, fingerprint and setup, else its session-level ones
	 * (setup "actpass" or "active"); with BUNDLE, the bundle's (sdp_negotiated's) */
	char ice_ufrag[SDP_MAX_TOKEN + 1], ice_pwd[SDP_MAX_TOKEN + 1];
	char fp_alg[16], fp[SDP_MAX_TOKEN + 1];
	char setup[16];
};

struct sdp_negotiated {
	int nmedia; /* == offer nmedia */
	struct sdp_neg_media media[SDP_MAX_MEDIA];
	int audio_index, video_index; /* accepted m-line indices, -1 if none */
	int screen_index;             /* the policy's screen_mid, accepted (recvonly), or -1 */
	/* a video m-line was usable but offered only codecs we cannot take (e.g. H.264 without
	 * libx264): the first such index, else -1; its codecs, for a message */
	int video_refused_index;
	bool video_refused_h264; /* it offered H.264 (packetization-mode 1) */
	/* the offer had a=group:BUNDLE and the answer has one: every accepted m-line shares one
	 * transport. False (an offer without BUNDLE): one transport per accepted m-line, each with
	 * its sdp_neg_media ICE/DTLS parameters, and no transport-cc (twcc false, ext_twcc 0). */
	bool bundle;
	/* the ICE/DTLS parameters in effect: the bundle's first accepted m-line's; without BUNDLE,
	 * the first accepted m-line's (in m= order) */
	char ice_ufrag[SDP_MAX_TOKEN + 1], ice_pwd[SDP_MAX_TOKEN + 1];
	char fp_alg[16], fp[SDP_MAX_TOKEN + 1];
	char setup[16];
};

/*
 * Applies our policy (NULL: VP8 only) to an offer. -EINVAL (err says why) when nothing usable
 * is offered, ICE credentials or the fingerprint are missing, rtcp-mux is absent on an accepted
 * m-line, or the offer's setup is not actpass/active (any case; neg->setup is lower case). With
 * BUNDLE these are the transport (BUNDLE-tag) m-line's; without, every accepted m-line's, and
 * err names the m-line ("m-line 1 (video, mid 1, no BUNDLE): ..."). Without BUNDLE an m-line
 * with port 0 is rejected, a=bundle-only or not (RFC 8843 6: bundle-only needs a BUNDLE group).
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
	/* without BUNDLE (neg->bundle false): accepted m-line i's own ICE credentials (both set or
	 * both NULL; NULL: ice_ufrag/ice_pwd). Ignored with BUNDLE and on rejected m-lines. */
	const char *media_ice_ufrag[SDP_MAX_MEDIA], *media_ice_pwd[SDP_MAX_MEDIA];
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
 * accepted) m-line only; without BUNDLE, in the first accepted m-line (the transport of neg's
 * session-wide values; the other m-lines' candidates are trickled). Returns its length, -ENOSPC
 * if cap is too small, or -EINVAL if a required parameter is missing or would break the SDP
 * syntax (spaces or line breaks), or only one of an accepted m-line's media_ice_* is set.
 */
int sdp_write_answer(const struct sdp_session *offer, const struct sdp_negotiated *neg,
                     const struct sdp_answer_params *p, char *out, size_t cap);

const char *sdp_dir_name(enum sdp_dir d);

#endif
