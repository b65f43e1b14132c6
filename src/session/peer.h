/*
 * peer.h - one participant: its signaling identity, its transport (ICE, DTLS, SRTP), its
 * inbound streams (RTP in, reorder, VP8 or H.264 reassembly, NACK, into the room's engine) and its
 * outbound streams (the engine's mixed packets out: packetize, SSRC/seq per peer, NACK
 * history, SRTP, ICE), plus RTCP both ways.
 *
 * Files: peer.c (life cycle, offer/answer, transport events), peer_in.c (inbound RTP),
 * peer_out.c (outbound RTP), peer_rtcp.c (RTCP in and out).
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
};

struct peer {
	uint32_t id;
	uint64_t conn;
	char name[SIG_MAX_NAME + 1];
	const struct env *env; /* its loop, config, certificate and services */
	struct room *room;
	/* signaling */
	bool have_offer;
	struct sdp_negotiated neg;
	char *pending[PEER_MAX_PENDING_CANDIDATES];
	int npending;
	/* transport */
	struct ice *ice;
	struct dtls_conn *dtls;
	struct srtp_sess *srtp;
	bool dtls_dead; /* the association failed; the peer is being dropped */
	/* --netsim (test option): impairment of SRTP/SRTCP received and sent, NULL = off */
	struct netsim *ns_in, *ns_out;
	unsigned dtls_timer, rtcp_timer;
	int64_t offer_us; /* when the offer arrived: the DTLS handshake must finish in time */
	/* media */
	struct in_stream in_audio, in_video;
	struct playout po; /* the adaptive playout delay of both (session/playout.h) */
	int ext_audio_level;
	enum sdp_vcodec vcodec; /* the negotiated video codec, both ways */
	int prefer_vcodec;      /* join's receive.codec: -1 none, else enum sdp_vcodec */
	struct vp8_asm *vasm;   /* VP8 inbound */
	struct h264_asm *hasm;  /* H.264 inbound */
	struct nack_gen *nack;
	struct kf_limiter pli; /* our requests to this sender */
	struct out_stream out_audio, out_video;
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
/* Handles an offer: negotiates, starts ICE/DTLS, replies with an answer. Errors are sent. */
void peer_on_offer(struct peer *p, const char *sdp);
/* A trickled candidate (NULL = end of candidates). */
void peer_on_candidate(struct peer *p, const char *candidate);
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
/* "640x360@15" or "audio" for the API. */
void peer_rung_name(const struct peer *p, char *buf, size_t n);
/* Sends a datagram through ICE (DTLS records and SRTP packets). */
void peer_transport_send(struct peer *p, const uint8_t *data, size_t len);

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
/* An SRTP/SRTCP datagram from the transport (decrypted in place). */
void peer_in_datagram(struct peer *p, uint8_t *data, size_t len);
/* Periodic work at the room tick: reorder timeouts, NACKs, PLIs due. */
void peer_in_poll(struct peer *p);
/* The engine wants a keyframe from this sender. */
void peer_request_keyframe(struct peer *p);
/* How long a gap in inbound video waits for a retransmission at this RTT (see peer.c). */
int64_t peer_video_reorder_wait(int64_t rtt_us);

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
void peer_rtcp_send_pli(struct peer *p);
/* Protects and sends a plain RTCP compound. */
void peer_rtcp_send(struct peer *p, uint8_t *buf, size_t len);

#endif
