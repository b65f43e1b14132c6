/*
 * abuse.c - the misbehaviours of mcu-load --abuse (see abuse.h).
 *
 * Everything goes out through the client's own transport: RTCP abuse (NACK, PLI, FIR) is
 * protected with the client's SRTP session like its honest RTCP, so the server has to parse
 * it; replays are byte-exact copies of what was protected (libsrtp at the server must reject
 * them); garbage is raw random bytes handed to libnice, whose first byte picks the server's
 * demultiplexer (RFC 7983: 0..3 STUN, 20..63 DTLS, 128..191 RTP/RTCP).
 * GLib loop thread only; the abuse state belongs to its client.
 */
#include "abuse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "client.h"
#include "net/srtp.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#define RING_TICKS       256 /* srtp-replay: one packet per tick, 1.28 s at 5 ms ticks */
#define REPLAY_TICKS     200 /* resend the packet of this many ticks ago (~1 s) */
#define NACK_RECENT      100 /* nack-flood: the last this many sequence numbers received */
#define NACK_UNSENT      20  /* ... and this many the server has not sent yet */
#define NACK_AHEAD       1000
#define GARBAGE_PER_TICK 3
#define GARBAGE_MAX      1500
#define SLOT_MAX         (RTP_MAX_PACKET + SRTP_MAX_TRAILER)

struct abuse_slot {
	bool full;
	uint16_t len;
	uint8_t data[SLOT_MAX];
};

static const char *const names[] = {"none",        "nack-flood", "pli-flood",
                                    "srtp-replay", "garbage",    "wrong-fingerprint"};

int abuse_parse(const char *name, enum abuse_mode *mode)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i])) {
			*mode = (enum abuse_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *abuse_name(enum abuse_mode mode)
{
	return (size_t)mode < sizeof(names) / sizeof(names[0]) ? names[mode] : "?";
}

int abuse_init(struct abuse *a, enum abuse_mode mode)
{
	memset(a, 0, sizeof(*a));
	a->mode = mode;
	if (mode == ABUSE_SRTP_REPLAY) {
		a->ring = calloc(RING_TICKS, sizeof(*a->ring));
		if (!a->ring)
			return -ENOMEM;
	}
	return 0;
}

void abuse_free(struct abuse *a)
{
	free(a->ring);
	a->ring = NULL;
}

void abuse_fingerprint(char *out, size_t cap)
{
	size_t o = 0;
	for (int i = 0; i < 32 && o + 4 <= cap; i++)
		o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X",
		                      (unsigned)g_random_int_range(0, 256));
}

void abuse_on_protected(struct client *c, const uint8_t *pkt, size_t len)
{
	struct abuse *a = &c->abuse;
	if (a->mode != ABUSE_SRTP_REPLAY)
		return;
	client_send_raw(c, pkt, len);
	a->n.duplicates++;
	a->n.packets++;
	struct abuse_slot *s = &a->ring[a->tick % RING_TICKS];
	if (!s->full && len <= SLOT_MAX) {
		memcpy(s->data, pkt, len);
		s->len = (uint16_t)len;
		s->full = true;
	}
}

static void replay_old(struct client *c)
{
	struct abuse *a = &c->abuse;
	if (a->tick >= REPLAY_TICKS) {
		struct abuse_slot *s = &a->ring[(a->tick - REPLAY_TICKS) % RING_TICKS];
		if (s->full) {
			client_send_raw(c, s->data, s->len);
			a->n.old++;
			a->n.packets++;
		}
	}
	a->tick++;
	a->ring[a->tick % RING_TICKS].full = false; /* filled by this tick's first packet */
}

static uint32_t sender_ssrc(const struct client *c)
{
	return c->env->send ? c->video_ssrc : c->audio_ssrc;
}

static void nack_flood(struct client *c)
{
	uint16_t seqs[NACK_RECENT + NACK_UNSENT];
	uint8_t buf[SLOT_MAX];
	const struct recv_seq *v = &c->rcv.vseq;
	if (!v->started)
		return;
	int n = 0;
	for (int i = NACK_RECENT - 1; i >= 0; i--)
		seqs[n++] = (uint16_t)(v->max_seq - i);
	for (int i = 0; i < NACK_UNSENT; i++)
		seqs[n++] = (uint16_t)(v->max_seq + NACK_AHEAD + i);
	int len = rtcp_write_nack(buf, RTP_MAX_PACKET, sender_ssrc(c), v->ssrc, seqs, n);
	if (len > 0 && client_send_rtcp(c, buf, (size_t)len) == 0) {
		c->abuse.n.nacks++;
		c->abuse.n.nack_seqs += (uint64_t)n;
		c->abuse.n.packets++;
	}
}

static void pli_flood(struct client *c)
{
	uint8_t buf[SLOT_MAX];
	const struct recv_seq *v = &c->rcv.vseq;
	if (!v->started)
		return;
	int len = rtcp_write_pli(buf, RTP_MAX_PACKET, sender_ssrc(c), v->ssrc);
	if (len > 0 && client_send_rtcp(c, buf, (size_t)len) == 0) {
		c->abuse.n.plis++;
		c->abuse.n.packets++;
	}
	len = rtcp_write_fir(buf, RTP_MAX_PACKET, sender_ssrc(c), v->ssrc, c->abuse.fir_seq++);
	if (len > 0 && client_send_rtcp(c, buf, (size_t)len) == 0) {
		c->abuse.n.firs++;
		c->abuse.n.packets++;
	}
}

/* First bytes from the RFC 7983 ranges the server demultiplexes on, lengths 1..1500. */
static void garbage(struct client *c)
{
	uint8_t buf[GARBAGE_MAX];
	for (int k = 0; k < GARBAGE_PER_TICK; k++) {
		size_t len = (size_t)g_random_int_range(1, GARBAGE_MAX + 1);
		for (size_t i = 0; i < len; i += 4) {
			uint32_t r = g_random_int();
			memcpy(buf + i, &r, len - i < 4 ? len - i : 4);
		}
		switch (g_random_int_range(0, 3)) {
		case 0:
			buf[0] = (uint8_t)g_random_int_range(0, 4);
			c->abuse.n.garbage_stun++;
			break;
		case 1:
			buf[0] = (uint8_t)g_random_int_range(20, 64);
			c->abuse.n.garbage_dtls++;
			break;
		default:
			buf[0] = (uint8_t)g_random_int_range(128, 192);
			c->abuse.n.garbage_rtp++;
			break;
		}
		client_send_raw(c, buf, len);
		c->abuse.n.garbage++;
		c->abuse.n.packets++;
	}
}

void abuse_tick(struct client *c, int64_t now_us)
{
	(void)now_us;
	bool media = c->state == CL_MEDIA;
	switch (c->abuse.mode) {
	case ABUSE_NACK_FLOOD:
		if (media)
			nack_flood(c);
		break;
	case ABUSE_PLI_FLOOD:
		if (media)
			pli_flood(c);
		break;
	case ABUSE_SRTP_REPLAY:
		if (media)
			replay_old(c);
		break;
	case ABUSE_GARBAGE:
		garbage(c);
		break;
	default:
		break;
	}
}
