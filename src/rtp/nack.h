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
 * Both are single-threaded and own their memory.
 */
#ifndef MCU_NACK_H
#define MCU_NACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct rtx_history;

/* cap: packets kept (power of two not required, 16..8192). */
int rtx_history_alloc(struct rtx_history **out, int cap);
void rtx_history_free(struct rtx_history **h);
/* Stores a copy of an outgoing RTP packet (before SRTP) under its sequence number; 0 or -EINVAL. */
int rtx_history_put(struct rtx_history *h, uint16_t seq, const uint8_t *pkt, size_t len,
                    int64_t now_us);
/*
 * Looks up a packet to resend. Returns 0 with pkt/len set (valid until the next put), -ENOENT
 * if it is gone, -EAGAIN if it was resent less than min_interval_us ago, -EDQUOT if it has
 * been resent RTX_MAX_RESENDS times already.
 */
int rtx_history_get(struct rtx_history *h, uint16_t seq, int64_t now_us, int64_t min_interval_us,
                    const uint8_t **pkt, size_t *len);

#endif
