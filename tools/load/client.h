/*
 * client.h - one mcu-load participant: signaling (join, offer, trickled candidates over
 * sigws), the transport a browser would run (libnice ICE controlling, DTLS client, SRTP), the
 * clip replayed as RTP (VP8 packetized per RFC 7741, Opus with its audio level), answers to the
 * server's NACKs (from a retransmission history) and PLI/FIR (skip to the clip's next
 * keyframe), an RTCP SR + RR + SDES each second, a PLI (at most one per PLI_OUT_MIN_US) when
 * its receiver lost video or its decoder needs a keyframe, and the statistics of recv.h.
 *
 * Threads: created, driven (client_tick) and freed on the GLib loop thread that owns the
 * GMainContext in the env; libnice and sigws events arrive there. Shares the env's clip,
 * certificate and sigws with every other client; owns its ICE agent, DTLS, SRTP, histories.
 */
#ifndef LOAD_CLIENT_H
#define LOAD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abuse.h"
#include "media.h"
#include "recv.h"

struct sigws;
struct sigws_conn;
struct dtls_cert;
struct ice;
struct dtls_conn;
struct srtp_sess;
struct rtx_history;
typedef struct _GMainContext GMainContext;

struct client_env {
	GMainContext *ctx;
	struct sigws *ws;
	const struct dtls_cert *cert;
	const struct clip *clip;
	const char *url;
	const char *bind_ip; /* local address for ICE */
	int64_t freeze_us;   /* recv.h freeze threshold */
	int64_t connect_us;  /* from start to media, else the client fails */
	bool send;           /* sendrecv (else recvonly: a viewer) */
	bool recv;           /* unprotect and count what arrives */
};

enum client_state {
	CL_NEW,
	CL_SIGNALING, /* WebSocket open, join sent */
	CL_OFFERED,   /* joined, offer sent */
	CL_CHECKING,  /* answer applied, ICE checks */
	CL_DTLS,      /* ICE connected, DTLS handshake */
	CL_MEDIA,     /* SRTP keyed: media flows */
	CL_FAILED,
	CL_CLOSED,
};

struct client_counters {
	uint64_t rtp_sent, rtcp_sent, send_errors, srtp_errors, rtcp_in, nack_in, rtx_sent;
	uint64_t pli_in, fir_in, remb_in, sr_in, pli_out, ws_dropped;
};

/* What the server's receiver reports (RTCP report blocks) say about one of our streams. */
struct client_uplink {
	bool have;
	int32_t lost;     /* cumulative */
	uint32_t ext_max; /* extended highest sequence number received */
};

struct client {
	const struct client_env *env;
	int index;
	char room[65], name[65], id[24];
	enum client_state state;
	char error[160];
	struct sigws_conn *ws;
	struct ice *ice;
	struct dtls_conn *dtls;
	struct srtp_sess *srtp;
	struct rtx_history *rtx;
	struct replay replay;
	struct recv rcv;
	bool decode;
	bool dtls_client;
	uint32_t audio_ssrc, video_ssrc;
	uint16_t aseq, vseq, picture_id;
	int video_pt, audio_pt; /* the answer's */
	int64_t t_start, t_media, t_failed, t_last_rtcp, t_last_pli, t_pli_out;
	struct client_uplink up[2]; /* [0] video, [1] audio */
	uint64_t sr_ntp_mid;        /* middle 32 bits of the last SR's NTP time, for LSR */
	int64_t sr_at_us;
	struct client_counters n;
	char server_error[32]; /* the code of the last signaling error the server sent */
	struct abuse abuse;    /* --abuse: what this client does wrong (ABUSE_NONE: nothing) */
};

int client_new(struct client **out, const struct client_env *env, int index, const char *room,
               const char *name, bool decode);
/* Opens the WebSocket; the rest follows from events and ticks. */
int client_start(struct client *c, int64_t now_us);
/* Sends what the clip has due, DTLS retransmissions, RTCP each second, the connect timeout. */
void client_tick(struct client *c, int64_t now_us);
/* Leaves: stops sending and closes the WebSocket (the server drops the peer); client_free
 * closes the transport, so the server sees the WebSocket close before ICE goes away. */
void client_stop(struct client *c);
void client_free(struct client **c);

/* Makes c misbehave (abuse.h); before client_start. 0 or -ENOMEM. */
int client_set_abuse(struct client *c, enum abuse_mode mode);
/* For abuse.c: a datagram as is through the ICE transport; RTCP protected with c's SRTP
 * (0, or -1 when it could not be protected). */
void client_send_raw(struct client *c, const uint8_t *data, size_t len);
int client_send_rtcp(struct client *c, uint8_t *buf, size_t len);

const char *client_state_name(enum client_state s);
/* Milliseconds from start to media, or -1. */
double client_connect_ms(const struct client *c);

#endif
