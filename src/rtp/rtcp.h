/*
 * rtcp.h - RTCP compound packet parsing and building (RFC 3550 6, RFC 4585, RFC 5104,
 * draft-alvestrand-rmcat-remb).
 *
 * The parser walks a compound packet and calls back once per item it understands (SR, RR,
 * SDES, BYE, NACK, transport-cc feedback (undecoded), PLI, FIR, REMB); unknown types are skipped by
 * their length. Linear time, bounded reads, no allocation. Builders write into the caller's buffer
 * and return the length or -ENOSPC. Pure functions, any thread.
 */
#ifndef MCU_RTCP_H
#define MCU_RTCP_H

#include <stddef.h>
#include <stdint.h>

#define RTCP_MAX_REPORTS    31
#define RTCP_MAX_REMB_SSRCS 16
#define RTCP_MAX_FIR        16

enum rtcp_kind {
	RTCP_SR,
	RTCP_RR,
	RTCP_SDES,
	RTCP_BYE,
	RTCP_NACK, /* RTPFB FMT 1 */
	RTCP_TWCC, /* RTPFB FMT 15: fci/fci_len undecoded, see twcc_parse_fci (rtp/twcc.h) */
	RTCP_PLI,  /* PSFB FMT 1 */
	RTCP_FIR,  /* PSFB FMT 4 */
	RTCP_REMB, /* PSFB FMT 15 "REMB" */
};

struct rtcp_report {
	uint32_t ssrc;
	uint8_t fraction_lost;
	int32_t cumulative_lost; /* sign-extended 24-bit */
	uint32_t ext_highest_seq;
	uint32_t jitter;
	uint32_t lsr, dlsr;
};

struct rtcp_item {
	enum rtcp_kind kind;
	uint32_t sender_ssrc;
	uint32_t media_ssrc; /* feedback: the media source; 0 otherwise */
	/* SR */
	uint64_t ntp;
	uint32_t rtp_ts, packet_count, octet_count;
	/* SR, RR */
	int n_reports;
	struct rtcp_report reports[RTCP_MAX_REPORTS];
	/* NACK: the FCI entries (PID, BLP pairs), expand with rtcp_nack_seqs. TWCC: every byte
	 * after the media SSRC (padding stripped, may be empty), decode with twcc_parse_fci */
	const uint8_t *fci;
	size_t fci_len;
	/* FIR: (ssrc, seq nr) entries */
	int n_fir;
	uint32_t fir_ssrc[RTCP_MAX_FIR];
	uint8_t fir_seq[RTCP_MAX_FIR];
	/* REMB */
	uint64_t remb_bps;
	int n_remb_ssrcs;
	uint32_t remb_ssrcs[RTCP_MAX_REMB_SSRCS];
};

/*
 * Parses a compound RTCP packet, calling cb (may be NULL) for each understood item (cb returning
 * non-zero stops the walk). Returns the number of items delivered, or -EBADMSG if anything was
 * malformed. A framing error (under 4 bytes left, version != 2, length field past the end, so
 * also a total length not a multiple of 4) stops the walk; items before it were delivered. A
 * packet with sound framing but an inconsistent body (RC/SC larger than what is present, SDES
 * item past the end, NACK with no FCI, FIR not in 8-byte entries, REMB num_ssrc past the end,
 * bad padding) is skipped without delivery and the walk goes on. Profile extensions after
 * SR/RR report blocks are accepted and ignored; APP, XR and unknown types are skipped.
 * FIR: media_ssrc is the first FCI entry's SSRC (the header field is unused for FIR).
 * REMB: remb_bps saturates at UINT64_MAX; at most RTCP_MAX_REMB_SSRCS / RTCP_MAX_FIR kept.
 */
int rtcp_parse(const uint8_t *buf, size_t len, int (*cb)(void *opaque, const struct rtcp_item *it),
               void *opaque);

/* Expands a NACK item's FCI into sequence numbers (at most max). Returns the count. */
int rtcp_nack_seqs(const struct rtcp_item *it, uint16_t *out, int max);

/*
 * Builders return the length written, -ENOSPC if cap is too small, or -EINVAL for bad arguments
 * (n outside 0..RTCP_MAX_REPORTS, a CNAME over 255 bytes, NULL arrays with n > 0). SR/RR clamp
 * cumulative_lost to the signed 24-bit range. FIR puts `media` in the FCI (header media SSRC 0).
 */
int rtcp_write_sr(uint8_t *buf, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
                  uint32_t packets, uint32_t octets, const struct rtcp_report *rep, int n);
int rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_report *rep, int n);
int rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname);
int rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media);
int rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media, uint8_t seq);
/*
 * Writes one NACK packet covering seqs (n >= 1; sorted or not, duplicates allowed; compressed
 * into PID/BLP pairs in serial-number order from the oldest, so a wrap stays one pair).
 */
int rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media, const uint16_t *seqs,
                    int n);
/* REMB with the smallest exponent whose mantissa fits 18 bits; n <= 255 SSRCs. */
int rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender, uint64_t bps, const uint32_t *ssrcs,
                    int n);

/* NTP time (RFC 3550 4) for a CLOCK_REALTIME time in microseconds. */
uint64_t rtcp_ntp_from_us(int64_t unix_us);

#endif
