/*
 * abuse.h - misbehaving clients for mcu-load's --abuse MODE (issue 6): the last client of the
 * run floods the server with NACKs or PLI/FIR, replays its own SRTP/SRTCP packets, sends
 * garbage datagrams through its ICE transport, or offers a wrong DTLS fingerprint. The server
 * must drop and count all of it, keep the other clients' media flowing and not amplify.
 *
 * Threads: GLib loop thread only, like the client that embeds its struct abuse (client.h).
 * The abuse state is owned by that client; the replay ring is allocated only in srtp-replay.
 */
#ifndef LOAD_ABUSE_H
#define LOAD_ABUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;

enum abuse_mode {
	ABUSE_NONE,
	ABUSE_NACK_FLOOD,  /* each tick in media: a NACK for ~100 recent + 20 unsent video seqs */
	ABUSE_PLI_FLOOD,   /* each tick in media: a PLI and a FIR for the server's video */
	ABUSE_SRTP_REPLAY, /* every protected packet sent twice, plus one from ~1 s ago per tick */
	ABUSE_GARBAGE,  /* from ICE connected on: 3 random datagrams per tick (RFC 7983 ranges) */
	ABUSE_WRONG_FP, /* a random sha-256 fingerprint in the offer */
};

struct abuse_counters {
	uint64_t packets;    /* datagrams sent by the abuse (not the client's own traffic) */
	uint64_t nacks;      /* NACK packets */
	uint64_t nack_seqs;  /* sequence numbers they ask for, repeats included */
	uint64_t plis, firs; /* keyframe requests */
	uint64_t duplicates; /* protected packets sent a second time at once */
	uint64_t old;        /* protected packets from ~1 s ago sent again */
	uint64_t garbage;    /* random datagrams */
	uint64_t garbage_dtls, garbage_stun, garbage_rtp; /* by first-byte range */
};

struct abuse_slot;

struct abuse {
	enum abuse_mode mode;
	uint8_t fir_seq;
	uint32_t tick;           /* ticks since the abuse began (srtp-replay ring position) */
	struct abuse_slot *ring; /* srtp-replay: the first protected packet of each tick */
	struct abuse_counters n;
};

/* "nack-flood", ... -> mode; -EINVAL for an unknown name. */
int abuse_parse(const char *name, enum abuse_mode *mode);
const char *abuse_name(enum abuse_mode mode);
/* 0 or -ENOMEM (the srtp-replay ring). */
int abuse_init(struct abuse *a, enum abuse_mode mode);
void abuse_free(struct abuse *a);
/* wrong-fingerprint: writes a random "AB:CD:..." SHA-256 fingerprint (out >= 96 bytes). */
void abuse_fingerprint(char *out, size_t cap);
/* Called by the client after it sent a protected SRTP/SRTCP packet (srtp-replay). */
void abuse_on_protected(struct client *c, const uint8_t *pkt, size_t len);
/* Called by the client every tick once ICE is connected (state dtls or media). */
void abuse_tick(struct client *c, int64_t now_us);

#endif
