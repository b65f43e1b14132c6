/*
 * twcc.h - transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01), both directions.
 *
 * twcc_recv (we receive media): records the transport-wide sequence number (rtp_transport_seq)
 * and arrival time of every packet a peer sends us, and writes RTPFB FMT=15 feedback packets
 * reporting them, each one continuing where the previous one stopped (libwebrtc's behaviour:
 * a packet older than what was already reported is dropped). Memory is fixed at allocation
 * (a window of the last TWCC_RECV_WINDOW sequence numbers, about 45 KiB) and the work per packet
 * is bounded (at most TWCC_RECV_WINDOW / 64 + 1 word operations when a forward jump pushes
 * older packets out of the window), whatever sequence numbers the peer sends.
 *
 * twcc_parse_fci (we send media): decodes the FCI of a feedback a peer sent about our packets
 * (delivered by rtcp_parse as an RTCP_TWCC item) into per-packet statuses and arrival times.
 *
 * A twcc_recv is single-threaded (the peer's loop) and owns its memory; twcc_parse_fci is pure
 * (any thread, no allocation, linear time, bounded reads).
 */
#ifndef MCU_TWCC_H
#define MCU_TWCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TWCC_RECV_WINDOW 4096 /* sequence numbers kept by a twcc_recv */
#define TWCC_MAX_PKTS    2048 /* statuses per feedback we accept (and write at most) */
#define TWCC_FB_MIN_LEN  24   /* the smallest feedback packet: one status */

struct twcc_recv;

struct twcc_recv_stats {
	uint64_t packets;    /* twcc_recv_on_packet calls */
	uint64_t duplicates; /* ignored: already recorded */
	uint64_t late;       /* dropped: older than what was already reported */
	uint64_t evicted;    /* dropped unreported: pushed out of the window by newer ones */
	uint64_t feedbacks;  /* packets written by twcc_recv_build */
};

/* 0, -EINVAL or -ENOMEM. */
int twcc_recv_alloc(struct twcc_recv **out);
/* Frees *r (NULL or a NULL *r is fine) and sets *r to NULL. */
void twcc_recv_free(struct twcc_recv **r);
/*
 * One arrived packet: its transport-wide sequence number and arrival time (monotonic us).
 * Duplicates are ignored; sequence numbers are unwrapped internally (relative to the newest);
 * a packet more than TWCC_RECV_WINDOW behind the newest, or older than the already reported
 * ones, is dropped and counted. Before the first feedback, a packet older than the first one
 * moves the start of the first feedback back to it (within the window).
 */
void twcc_recv_on_packet(struct twcc_recv *r, uint16_t seq, int64_t arrival_us);
/*
 * Writes one RTPFB FMT=15 feedback packet (header, sender_ssrc, media_ssrc, FCI, zero padding
 * to 32 bits) covering the packets since the last feedback: base seq = the first not yet
 * reported, statuses up to the newest received (run-length and status vector chunks chosen as
 * libwebrtc does), reference time = the first received packet's arrival in 64 ms units (24
 * bits), feedback packet count incremented per feedback, receive deltas in 250 us units.
 * If the pending statuses do not all fit (a receive delta outside -8192..8191.75 ms, more than
 * TWCC_MAX_PKTS statuses, or more than cap bytes), it covers what fits and leaves the rest for
 * the next call. Returns the length, 0 if nothing is pending, -ENOSPC (cap under what one
 * status needs; nothing consumed), or -EINVAL (NULL r or buf).
 */
int twcc_recv_build(struct twcc_recv *r, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t *buf,
                    size_t cap);
/* Statuses a build would cover now if nothing limited it (0: nothing pending). */
int twcc_recv_pending(const struct twcc_recv *r);
void twcc_recv_get_stats(const struct twcc_recv *r, struct twcc_recv_stats *out);

struct twcc_pkt {
	uint16_t seq;
	bool received;
	/* the receiver's clock: reference time + deltas, in us; valid when received (else 0) */
	int64_t arrival_us;
};

struct twcc_fb {
	uint16_t base_seq;
	int count;      /* statuses in pkts, 1..TWCC_MAX_PKTS; pkts[i].seq == base_seq + i */
	int64_t ref_us; /* the reference time (signed 24 bits of 64 ms) in us */
	uint8_t fb_count;
	struct twcc_pkt pkts[TWCC_MAX_PKTS];
};

/*
 * Parses the FCI of one transport-cc feedback (everything after the media SSRC, as in an
 * RTCP_TWCC item's fci/fci_len). Returns 0, or -EBADMSG: NULL pointers, under 8 bytes, a
 * status count of 0 or over TWCC_MAX_PKTS, chunks or receive deltas missing, a reserved status
 * symbol (binary 11). Bytes after the last delta (padding) are ignored. Bounded reads, linear
 * time; *out is partly written on failure.
 */
int twcc_parse_fci(const uint8_t *fci, size_t len, struct twcc_fb *out);

#endif
