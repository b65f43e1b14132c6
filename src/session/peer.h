/*
 * peer.h - one participant: its signaling identity, its transport (ICE, DTLS, SRTP), its
 * inbound streams (RTP in, reorder, VP8 or H.264 reassembly, NACK, into the room's engine) and its
 * outbound streams (the engine's mixed packets out: packetize, SSRC/seq per peer, NACK
 * history, SRTP, ICE), plus RTCP both ways.
 *
 * Files: peer.c (life cycle, offer/answer), peer_transport.c (ICE, DTLS, SRTP, demux: one
 * transport with BUNDLE, else one per m-line), peer_in.c (inbound RTP), peer_out.c (outbound
 * RTP), peer_rtcp.c (RTCP in and out), peer_cc.c, peer_reoffer.c, peer_screen.c, peer_layers.c.
 * Threads: its room's loop only (every libnice, DTLS, SRTP and timer call happens there).
 * The room owns its peers; a peer owns its transport objects and streams.
 */
#ifndef MCU_PEER_H
#define MCU_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/packet.h"
#include "rtp/keyframe.h"
#include "session/ladder.h"
#include "session/playout.h"
#include "sdp/sdp.h"
#include "signal/msg.h"

#define PEER_MAX_PENDING_CANDIDATES 32
#define PEER_MAX_SSRCS              4

struct env;
struct room;
struct ice;
struct dtls_conn;
struct srtp_sess;
struct reorder;
struct vp8_asm;
struct h264_asm;
struct nack_gen;
struct rtx_history;
struct netsim;
struct twcc_recv;
struct twcc_fb;
struct bwe;
struct rtcp_item;
struct rtp_hdr;
struct rtp_ext_elem;

/* Congestion control of one peer (peer_cc.c); all zero without transport-cc. */
struct peer_cc {
	int ext_audio, ext_video; /* transport-wide seq extension ids, 0 = not negotiated */
	struct twcc_recv *in;     /* arrivals of the browser's packets, for our feedback */
	unsigned timer;           /* feedback every 100 ms */
	uint16_t seq;             /* the next transport-wide seq of what we send */
	struct bwe *bwe;          /* our estimate of the downlink, from the browser's feedback */
	struct twcc_fb *fb;       /* a parsed feedback (about 32 KiB) */
	uint64_t estimate;        /* its last estimate, bit/s */
	int64_t rung_fed_us;      /* when the ladder last got an estimate */
	uint64_t sent_bytes;      /* sent since then (counted where the peer's packets are sent) */
	double delivered;         /* acknowledged / sent rate, smoothed */
	double sent_bps;          /* what we sent over the last ladder period */
	/* a probe before a step up (peer_cc.c): padding at pad_bps from start to end, judged at
	 * judge_at from the acknowledged rate (its highest since start + PROBE_SETTLE) */
	struct {
		unsigned timer;
		int64_t start, end, judge_at, last;
		double pad_bps, pad_owed;
		uint64_t overuses, max_acked, bytes;
	} probe;
};

/*
 * The most a gap in audio holds back the packets behind it (only reordering is waited for:
 * audio is not NACKed). peer_in.c shortens it to what the playout delay leaves.
 */
#define AUDIO_REORDER_MAX_US 40000

/*
 * One ICE/DTLS/SRTP transport of a peer (peer_transport.c). With BUNDLE (RFC 8843) a peer has
 * one; an offer without BUNDLE gets one per accepted m-line (audio, camera, screen), each with
 * its own ICE agent, credentials, candidates, DTLS association and SRTP keys.
 */
#define PEER_MAX_TRANSPORTS 3
struct peer_tp {
	struct peer *p;
	int mline; /* the m-line whose mid and index tag its candidates */
	struct ice *ice;
	struct dtls_conn *dtls;
	struct srtp_sess *srtp; /* NULL until its DTLS handshake is done */
	/* --netsim (test option): impairment of SRTP/SRTCP received and sent, NULL = off */
	struct netsim *ns_in, *ns_out;
	bool gathered; /* all our candidates for it are out */
};

/* An inbound RTP stream (one SSRC). */
struct in_stream {
	bool active; /* negotiated as receiving */
	int pt, clock;
	int rtx_pt; /* video: the RTX payload type (RFC 4588) repairing it, -1 none */
	uint32_t ssrc;
	bool bound; /* ssrc learned */
	struct reorder *ro;
	/* RTP time -> room time (see map_pts in peer_in.c) */
	bool base_set;
	uint32_t last_ts;
	int64_t ext_ts;            /* extended RTP timestamp, 0 at the first packet */
	int64_t offset;            /* room time - RTP time in use (best + playout delay) */
	int64_t off_cur, off_prev; /* smallest transit in this and the previous window */
	int64_t window_start;
	/* RFC 3550 A.1/A.3/A.8 receiver statistics */
	uint16_t max_seq;
	uint32_t cycles, base_seq, received, expected_prior, received_prior;
	double jitter;
	int64_t last_transit;
	uint32_t last_sr_mid; /* middle 32 bits of the last SR's NTP */
	int64_t last_sr_at;   /* room time it arrived */
	uint64_t packets, bytes;
	uint64_t reanchors; /* times the RTP->room mapping moved by more than 5 ms */
	/* video: the latest arrival (monotonic) among the packets of the frame being assembled */
	int64_t asm_arrival;
	double loss; /* fraction lost in the interval of our last receiver report */
};

/*
 * The screen a participant shares: a second video m-line it names in its offer ("screen"),
 * received only, with the camera's codec, into an engine source of its own (src). Its packets
 * are told from the camera's by the SSRCs the offer lists for that m-line (or, if it lists
 * none, learnt: see learn). No NACK: a loss waits for a keyframe (PLI).
 */
struct screen_in {
	bool on;      /* negotiated and shared (a "screen" message with mid null stops it) */
	uint32_t src; /* its engine source, 0 before it was added */
	struct in_stream s;
	struct vp8_asm *vasm;
	struct h264_asm *hasm;
	struct kf_limiter pli;
	int nssrcs;
	uint32_t ssrcs[SDP_MAX_SSRCS]; /* the offer's a=ssrc values for the m-line, or learnt */
	/* the m-line lists no a=ssrc: its SSRCs are learnt from packets naming its mid (sdes:mid
	 * extension), or, without BUNDLE, arriving on its own transport */
	bool learn;
};

/*
 * One simulcast layer of a participant's camera (a rid of its offer): its SSRCs, bound from
 * the rid and repaired-rid header extensions of their first packets and kept (libwebrtc stops
 * sending the extensions once we report on an SSRC), and the size its keyframes announce.
 */
struct layer_in {
	char rid[SDP_MAX_RID + 1];
	uint32_t ssrc, rtx_ssrc;
	bool bound, rtx_bound;
	int width, height; /* from its latest VP8 keyframe header; 0 before one */
	int64_t last_at;   /* room time of its latest packet */
	uint64_t packets, bytes, keyframes;
	uint64_t media_bytes; /* of its media packets (bytes counts its RTX too: repairs, probes) */
	uint64_t rate_bytes;  /* media_bytes at the last rate update */
	int bps;              /* its media bit rate over the last second */
};

/* The camera's simulcast layers (peer_layers.c): one (cur) feeds in_video, the others are
 * received and dropped undecoded. */
struct layers {
	int n; /* 0: no simulcast */
	struct layer_in l[SDP_MAX_RIDS];
	int cur, target; /* the layer in_video carries, the one wanted (-1: none yet) */
	int64_t next_choice, last_pli; /* room time */
	/* the layers last asked for (bit i: l[i]): by a "layers" message with layer_control, else
	 * by a REMB cap (remb bit/s, 0 = none: the configured uplink) */
	unsigned active;
	uint64_t remb;
	int64_t rate_at; /* room time of the last rate update */
	uint64_t switches, dropped, unbound;
};

/* An outbound RTP stream. */
struct out_stream {
	bool active; /* negotiated as sending */
	int pt, clock;
	uint32_t ssrc;
	uint16_t seq;
	int rtx_pt;        /* video: retransmissions go on RTX (RFC 4588) with this PT; -1 none */
	uint32_t rtx_ssrc; /* ... on this SSRC, */
	uint16_t rtx_seq;  /* ... with its own sequence numbers */
	uint32_t last_ts;  /* the RTP timestamp last sent (padding repeats it) */
	uint32_t ts_base;
	uint32_t packets, octets;
	int ext_abs_send_time;
};

struct peer_stats {
	uint64_t rtp_in, rtcp_in, srtp_errors, rtp_dropped, unknown_ssrc, dtls_in;
	uint64_t nacks_sent, nacks_received, retransmits, plis_sent, plis_received, remb_received;
	uint64_t frames_in, frames_dropped;
	uint64_t
	    retransmits_limited; /* NACKed packets not resent: interval, per-packet cap, budget */
	uint64_t plis_limited;   /* keyframe requests not passed on (per-peer interval) */
	uint64_t twcc_sent, twcc_received; /* transport-cc feedback packets */
	uint64_t rtx_in, rtx_padding;      /* RTX packets received: repairs, and padding only */
	uint64_t padding_sent;             /* padding-only packets we sent (probes) */
	uint64_t packets_lost_in;  /* its packets we never got (our receiver reports' intervals) */
	uint64_t packets_lost_out; /* our video packets it reported lost (its receiver reports) */
};

/* Who muted a participant's media: itself, or a moderator (each lifts only its own mute). */
enum peer_mute_by { PEER_MUTE_SELF, PEER_MUTE_MODERATOR, PEER_MUTE_KINDS };

/* Bit rates over the last second (peer_rates_update, from the RTCP timer), [0] audio [1] video. */
struct peer_rates {
	int64_t at; /* monotonic time of the last update, 0 = never */
	uint64_t in_bytes[2], out_bytes[2];
	int in_bps[2], out_bps[2];
};

struct peer {
	uint32_t id;
	uint64_t conn;
	char name[SIG_MAX_NAME + 1];
	const struct env *env; /* its loop, config, certificate and services */
	struct room *room;
	bool admin; /* its token has the admin role: it may moderate others */
	struct {
		bool audio, video;
	} mutes[PEER_MUTE_KINDS]; /* room_set_mute */
	struct peer_rates rates;
	struct {
		int layout, exclude_self; /* -1: the room's / the server's */
		uint32_t pin;             /* SIG_NO_ID: the room's */
	} view;                           /* its own view (room_set_view) */
	/* signaling */
	bool have_offer;
	struct sdp_negotiated neg;
	struct pending_candidate {
		char *candidate; /* malloc'd */
		char mid[SDP_MAX_MID + 1];
		int mline;
	} pending[PEER_MAX_PENDING_CANDIDATES]; /* trickled before the offer */
	int npending;
	/* transport: one with BUNDLE, else one per accepted m-line (peer_transport.c) */
	struct peer_tp tp[PEER_MAX_TRANSPORTS];
	int ntp;                           /* 0 before the first offer */
	int tp_audio, tp_video, tp_screen; /* which carries each m-line, -1 none */
	bool dtls_dead;                    /* an association failed; the peer is being dropped */
	unsigned dtls_timer, rtcp_timer;
	int64_t offer_us; /* when the offer arrived: the DTLS handshake must finish in time */
	int64_t heard_us; /* the last authenticated packet from the peer (consent, once ready) */
	/* media */
	struct in_stream in_audio, in_video;
	struct playout po; /* the adaptive playout delay of both (session/playout.h) */
	int ext_audio_level;
	enum sdp_vcodec vcodec; /* the negotiated video codec, both ways */
	int prefer_vcodec;      /* join's receive.codec: -1 none, else enum sdp_vcodec */
	bool layer_control;     /* join's layer_control: it pauses simulcast layers when told */
	struct vp8_asm *vasm;   /* VP8 inbound */
	struct h264_asm *hasm;  /* H.264 inbound */
	struct nack_gen *nack;
	struct kf_limiter pli; /* our requests to this sender */
	struct out_stream out_audio, out_video;
	struct screen_in screen;
	struct layers layers;
	uint16_t picture_id;
	struct rtx_history *rtx;
	int64_t rtt_us;
	double rtx_tokens;           /* retransmission budget (peer_out.c) */
	int64_t last_kf_req;         /* when this peer's last keyframe request was passed on */
	struct recv_profile profile; /* the join's receive profile */
	struct rung_ctl rung;        /* its place on the room's ladder (ladder.h) */
	struct peer_cc cc;
#define PEER_RR_WINDOW_US   1000000 /* a loss window of receiver reports: at least 1 s */
#define PEER_RR_WINDOW_PKTS 40      /* ... and 40 packets expected */
#define PEER_RR_MAX_US      3000000 /* ... or 3 s, whichever packets came */
	/* our video's loss over the last closed window of receiver reports (at least
	 * PEER_RR_WINDOW_US and PEER_RR_WINDOW_PKTS), and what we sent in it (bit/s), closed at
	 * rr_at (monotonic us); the open window began at rr_from with these counters */
	double rr_loss, rr_sent_bps;
	int64_t rr_at, rr_from;
	uint32_t rr_octets, rr_seq;
	int32_t rr_lost;
	struct peer_stats st;
};

/* peer.c */
int peer_new(struct peer **out, const struct env *env, uint64_t conn, uint32_t id,
             const char *name);
void peer_free(struct peer **p);
/* Handles an offer: negotiates, starts ICE/DTLS, replies with an answer. Errors are sent.
 * A later offer on the same connection is a renegotiation (peer_reoffer).
 * screen_mid: the mid of the m-line the client shares its screen on ("" none). */
void peer_on_offer(struct peer *p, const char *sdp, const char *screen_mid);
/* An error message to the participant (and the log); the session goes on. */
void peer_fail(struct peer *p, const char *code, const char *msg);
/* Answers offer with p->neg, our ICE credentials, fingerprint and SSRCs. 0 or -errno. */
int peer_send_answer(struct peer *p, const struct sdp_session *offer);
/* A trickled candidate (NULL = end of candidates) for the m-line mid ("" = unknown) or index
 * mline (-1 = unknown): given to that m-line's transport (the only one with BUNDLE). */
void peer_on_candidate(struct peer *p, const char *candidate, const char *mid, int mline);
/* Whether the engine should send this peer video/audio, from the negotiated directions. */
bool peer_wants_video(const struct peer *p);
bool peer_wants_audio(const struct peer *p);
/*
 * Applies p->rung.cur to the engine (video and Opus bitrate) and tells the participant
 * (reason: "profile", "link").
 */
void peer_apply_rung(struct peer *p, const char *reason);
/*
 * The Opus bitrate p receives (bit/s): its rung's (audio only: the lowest rung's); the
 * configured audio_bitrate if it receives no video (it has no rung); 0 if it receives no audio.
 */
int peer_audio_bitrate(const struct peer *p);
/* "h264" or "vp8": the negotiated video codec. */
const char *peer_vcodec_name(const struct peer *p);
/* The ladder of p's room (the server's while p is in none). */
const struct ladder *peer_ladder(const struct peer *p);
/* Whether p's audio / video is muted, by itself or a moderator. */
bool peer_audio_muted(const struct peer *p);
bool peer_video_muted(const struct peer *p);
/* Where a participant's media session is. */
enum peer_state { PEER_JOINED, PEER_CONNECTING, PEER_CONNECTED, PEER_FAILED, PEER_STATES };
/* PEER_JOINED (no offer yet), PEER_CONNECTING (ICE/DTLS), PEER_CONNECTED, PEER_FAILED. */
enum peer_state peer_state(const struct peer *p);
/* "joined", "connecting", "connected", "failed". */
const char *peer_state_name(enum peer_state st);
/* Updates p->rates from the stream counters (about once a second). */
void peer_rates_update(struct peer *p, int64_t now_us);
/* "640x360@15" or "audio" for the API. */
void peer_rung_name(const struct peer *p, char *buf, size_t n);

/* peer_transport.c */
/* After the streams are set up: the transports p->neg needs (ICE agents, DTLS, --netsim
 * pipes), the offer's and pending candidates given to them, the DTLS timer. 0 or -errno. */
int peer_transports_start(struct peer *p, const struct sdp_session *offer);
/* Starts gathering our candidates on every transport (trickled as they come). */
int peer_transports_gather(struct peer *p);
/* Logs the --netsim counters and frees the transports. */
void peer_transports_free(struct peer *p);
/* The transport that carries p's audio, camera or screen (NULL if none or not started). */
struct peer_tp *peer_tp_audio(struct peer *p);
struct peer_tp *peer_tp_video(struct peer *p);
struct peer_tp *peer_tp_screen(struct peer *p);
/* Our ICE credentials on m-line i's transport (the first transport's for a rejected m-line). */
const char *peer_tp_ufrag(const struct peer *p, int mline);
const char *peer_tp_pwd(const struct peer *p, int mline);
/* Whether every transport finished its DTLS handshake (SRTP keys in place). */
bool peer_media_ready(const struct peer *p);
/* Consent (about once a second): a ready peer that has sent nothing authenticated (SRTP,
 * SRTCP) for PEER_CONSENT_SILENCE_US is dropped as ice-failed. */
void peer_tp_check_consent(struct peer *p, int64_t now_us);
/* Sends a datagram through the transport's ICE (DTLS records and SRTP packets). */
void peer_tp_send(struct peer_tp *tp, const uint8_t *data, size_t len);
/* Protects and sends RTP / RTCP on tp (nothing before its SRTP keys). */
void peer_tp_send_rtp(struct peer_tp *tp, uint8_t *buf, size_t len, size_t cap);
void peer_tp_send_rtcp(struct peer_tp *tp, uint8_t *buf, size_t len, size_t cap);

/* peer_cc.c */
/* After the streams are set up: transport-cc state where it was negotiated. 0 or -ENOMEM. */
int peer_cc_setup(struct peer *p);
void peer_cc_free(struct peer *p);
/* An RTP packet from the browser arrived (after SRTP) at now_us (monotonic). */
void peer_cc_on_rtp(struct peer *p, const struct rtp_hdr *h, bool video, int64_t now_us);
/* A packet of size bytes about to be sent: fills *e (and data, its bytes) with the next
 * transport-wide seq and tells the estimator; false if transport-cc is off for this stream. */
bool peer_cc_stamp(struct peer *p, bool video, size_t size, int64_t now_us, uint8_t data[2],
                   struct rtp_ext_elem *e);
void peer_cc_on_feedback(struct peer *p, const struct rtcp_item *it);
void peer_cc_on_remb(struct peer *p, uint64_t bps);
void peer_cc_on_rtt(struct peer *p, int64_t rtt_us);

/* peer_in.c */
/* An SRTP/SRTCP datagram from one of p's transports (decrypted in place with its keys). */
void peer_in_datagram(struct peer *p, struct peer_tp *tp, uint8_t *data, size_t len);
/* Periodic work at the room tick: reorder timeouts, NACKs, PLIs due. */
void peer_in_poll(struct peer *p);
/* The engine wants a keyframe from this sender. */
void peer_request_keyframe(struct peer *p);
/* The camera's stream restarts (a simulcast layer switch): a fresh reorder buffer, assembler
 * and NACK state, the mapping re-anchored at the next packet. 0, or -ENOMEM (nothing changed). */
int peer_in_restart_video(struct peer *p);
/* How long a gap in inbound video waits for a retransmission at this RTT (see peer.c), at
 * most PEER_VIDEO_REORDER_MAX_US. */
#define PEER_VIDEO_REORDER_MAX_US 400000
#define PEER_VIDEO_REORDER_CAP    512       /* packets an inbound video stream may hold */
#define PEER_MAX_FRAME            (4 << 20) /* bytes of one inbound video frame */
int64_t peer_video_reorder_wait(int64_t rtt_us);

/* The engine wants a keyframe of p's screen. */
void peer_request_screen_keyframe(struct peer *p);

/* peer_screen.c */
/* After an offer was negotiated into p->neg: receives the screen it names, if any, and has the
 * room present it. 0 or a negative errno (out of memory). */
int peer_screen_setup(struct peer *p);
/* Stops receiving p's screen (its source leaves the room's engine; the room is told). */
void peer_screen_stop(struct peer *p);
/* Stops the screen and frees its stream's buffers, ready for another screen. */
void peer_screen_reset(struct peer *p);

/* peer_layers.c */
/* After an offer was negotiated into p->neg: the camera's simulcast layers, if it has any. */
void peer_layers_setup(struct peer *p);
/*
 * A camera packet (its payload type or RTX's) of a simulcast sender, before anything else:
 * true when it belongs to the layer in_video carries (possibly after switching to it, at its
 * keyframe); false when it is another layer's (noted for transport-cc and counted, dropped).
 */
bool peer_layers_admit(struct peer *p, const struct rtp_hdr *h);
/* Periodic (room tick): the layer the engine's tiles want, and keyframe requests for it. */
void peer_layers_poll(struct peer *p, int64_t now);
/* The REMB for p's uplink (bit/s): uplink, or less for a simulcast sender without layer_control
 * whose upper layers we do not use. */
uint64_t peer_layers_remb(const struct peer *p, uint64_t uplink);
/* {"decoding": rid|null, "switches", "layers": [{rid, ssrc, width, height, packets, ...}]}
 * or NULL without simulcast. */
struct json_t *peer_layers_json(const struct peer *p);

/* peer_reoffer.c */
/*
 * A later offer on p's connection, negotiated into *neg: answered when it keeps the session
 * (ICE credentials, fingerprint, the audio and camera m-lines) and adds, changes or removes
 * only the screen; refused with an offer-failed error otherwise (the session goes on as it was).
 */
void peer_reoffer(struct peer *p, const struct sdp_session *offer,
                  const struct sdp_negotiated *neg);

/* peer_out.c */
/* Sends one mixed packet from the engine to this peer. */
void peer_out_packet(struct peer *p, const struct mix_packet *pkt);
/* Resends a NACKed packet if still in history. */
void peer_out_retransmit(struct peer *p, uint16_t seq);
/*
 * Sends about `bytes` of padding-only video packets (on the RTX stream where negotiated), each
 * with a transport-wide seq: a probe of the downlink (transport-cc only). The bytes sent.
 */
size_t peer_out_padding(struct peer *p, size_t bytes, int64_t now_us);
/* The RTP timestamp of our stream at media time pts_us. */
uint32_t peer_out_rtp_ts(const struct out_stream *o, int64_t pts_us);

/* peer_rtcp.c */
void peer_rtcp_in(struct peer *p, const uint8_t *data, size_t len);
/* Sends SR/RR/SDES/REMB (called about once a second). */
void peer_rtcp_report(struct peer *p);
void peer_rtcp_send_nack(struct peer *p, const uint16_t *seqs, int n);
/* A PLI for the sender's stream media_ssrc (its camera's or its screen's). */
void peer_rtcp_send_pli(struct peer *p, uint32_t media_ssrc);
/* Protects and sends a plain RTCP compound on tp (NULL: nothing). */
void peer_rtcp_send(struct peer_tp *tp, uint8_t *buf, size_t len);

#endif
