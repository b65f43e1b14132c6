/*
 * nack.h - NACK (RFC 4585 6.2.1) on both sides.
 *
 * nack_gen (receiver): watches arriving sequence numbers, remembers missing ones (at most
 * NACK_MAX_MISSING; a jump larger than that clears the list rather than NACKing thousands),
 * and says which to request now: each missing packet is requested at most NACK_MAX_RETRIES
 * times, no more often than once per RTT (min 20 ms), and forgotten after NACK_MAX_AGE_US.
 *
 * rtx_history (sender): the last `cap` packets sent, by sequence number, so a NACKed packet can
 * be sent again; each packet is resent at most once per min_interval and at most
 * RTX_MAX_RESENDS times in all (with the sender's retransmission budget: no amplification).
 * It keeps no copy of a packet: an entry (struct rtx_pkt, 40 bytes) holds a reference to
 * the engine's encoded frame, shared with every recipient of the same output, and the fields
 * that rebuild the packet byte for byte (rtx_pkt_write, used for the first send as well).
 * Both are single-threaded and own their memory; the history holds one reference per entry.
 */
#ifndef MCU_NACK_H
#define MCU_NACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/packet.h"
#include "rtp/rtp.h"

#define NACK_MAX_MISSING 256
#define NACK_MAX_RETRIES 10
#define NACK_MAX_AGE_US  1000000
#define RTX_MAX_RESENDS  3 /* resends of one packet, however often it is NACKed */

struct nack_gen;

int nack_gen_alloc(struct nack_gen **out);
void nack_gen_free(struct nack_gen **n);
/* Records an arriving packet (in any order). */
void nack_gen_on_packet(struct nack_gen *n, uint16_t seq, int64_t now_us);
/* Writes the sequence numbers to NACK now (at most max); returns the count. */
int nack_gen_collect(struct nack_gen *n, int64_t now_us, int64_t rtt_us, uint16_t *out, int max);
/* Missing packets currently tracked, and the total ever given up on. */
int nack_gen_missing(const struct nack_gen *n);
uint64_t nack_gen_given_up(const struct nack_gen *n);

#define RTX_MAX_PREFIX 8 /* payload descriptor bytes before the frame's part */
#define RTX_MAX_EXT    4 /* bytes of the one header extension element */

/*
 * One RTP packet as rebuilt from its frame: header fields (seq apart), an optional one-byte-form
 * extension element (ext_id 1..14, ext_len 1..RTX_MAX_EXT; 0 for none), then prefix and the
 * bytes [offset, offset + len) of frame->data.
 */
struct rtx_pkt {
	struct mix_packet *frame;
	uint32_t offset, ts, ssrc;
	uint16_t len;
	uint8_t pt, prefix_len, ext_id, ext_len;
	bool marker;
	uint8_t prefix[RTX_MAX_PREFIX];
	uint8_t ext[RTX_MAX_EXT];
};

/* Writes the packet with sequence number seq into buf; its length, -EINVAL or -ENOSPC. */
int rtx_pkt_write(const struct rtx_pkt *p, uint16_t seq, uint8_t *buf, size_t cap);
/*
 * As rtx_pkt_write, with one more extension element after the packet's own (extra may be NULL:
 * then the same bytes as rtx_pkt_write). For values that differ on every send and so are not
 * kept in the history, such as the transport-wide sequence number (rtp_transport_seq_put):
 * a resend gets a new one.
 */
int rtx_pkt_write_ext(const struct rtx_pkt *p, uint16_t seq, const struct rtp_ext_elem *extra,
                      uint8_t *buf, size_t cap);

struct rtx_history;

/* cap: packets kept (power of two not required, 16..8192). */
int rtx_history_alloc(struct rtx_history **out, int cap);
/* Frees the history and drops its references. */
void rtx_history_free(struct rtx_history **h);
/*
 * Remembers an outgoing packet under its sequence number, taking a reference to p->frame (and
 * dropping the one of the entry it replaces); 0, or -EINVAL (no frame, a part outside it, or a
 * prefix or extension too long).
 */
int rtx_history_put(struct rtx_history *h, uint16_t seq, const struct rtx_pkt *p, int64_t now_us);
/*
 * Looks up a packet to resend. Returns 0 with *p set (valid until the next put), -ENOENT
 * if it is gone, -EAGAIN if it was resent less than min_interval_us ago, -EDQUOT if it has
 * been resent RTX_MAX_RESENDS times already.
 */
int rtx_history_get(struct rtx_history *h, uint16_t seq, int64_t now_us, int64_t min_interval_us,
                    const struct rtx_pkt **p);

#endif
