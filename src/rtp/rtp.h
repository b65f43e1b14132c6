/*
 * rtp.h - RTP packet parsing and writing (RFC 3550 5.1) with RFC 8285 header extensions.
 *
 * Pure functions over bounded buffers: no allocation, no state, any thread. A parsed header
 * points into the caller's buffer (valid as long as it is). Every length is checked; a packet
 * that fails a check is rejected with a reason (enum rtp_drop) so the caller can count drops.
 */
#ifndef MCU_RTP_H
#define MCU_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_MAX_PACKET 1500

enum rtp_drop {
	RTP_OK = 0,
	RTP_DROP_SHORT,     /* under 12 bytes, or CSRCs/extension past the end */
	RTP_DROP_VERSION,   /* version != 2 */
	RTP_DROP_EXTENSION, /* extension length past the end */
	RTP_DROP_PADDING,   /* padding count 0 or larger than the payload */
	RTP_DROP_TOO_LARGE, /* over RTP_MAX_PACKET */
	RTP_DROP_COUNT
};

struct rtp_hdr {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint8_t cc;
	uint32_t csrc[15];
	uint16_t ext_profile; /* 0xBEDE one-byte, 0x1000..0x100F two-byte, 0 if none */
	const uint8_t *ext;   /* extension data (after the 4-byte extension header) */
	size_t ext_len;
	const uint8_t *payload;
	size_t payload_len; /* padding removed */
};

/*
 * Parses an RTP packet. Returns RTP_OK or the reason it was rejected. A padding-only packet
 * (padding count == every byte after the header, as in bandwidth probes) is accepted with
 * payload_len 0. On rejection *h is zeroed or partly filled: do not use it.
 */
enum rtp_drop rtp_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h);
const char *rtp_drop_name(enum rtp_drop d);

/*
 * RFC 4588 4: turns a parsed RTX packet (h from rtp_parse of buf[0..len)) back into the packet it
 * repairs, in place: the header moves 2 bytes forward over the original sequence number (OSN)
 * and gets the OSN, payload type pt and SSRC ssrc; the marker, timestamp, extensions and padding
 * stay. *out points into buf. 0, or -EINVAL when the payload holds no OSN and media after it.
 */
int rtp_rtx_unwrap(uint8_t *buf, size_t len, const struct rtp_hdr *h, uint8_t pt, uint32_t ssrc,
                   uint8_t **out, size_t *out_len);

/*
 * Finds RFC 8285 extension element `id` (1..14 one-byte, 1..255 two-byte). Returns 0 and sets
 * data/len, or -ENOENT. Malformed element lists end the search (never read past ext_len).
 */
int rtp_ext_find(const struct rtp_hdr *h, int id, const uint8_t **data, size_t *len);

/* RFC 6464 audio level from extension `id`: 0..127 (-dBov), or -1 if absent/malformed. */
int rtp_audio_level(const struct rtp_hdr *h, int id, bool *voice);

/*
 * Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 2) from
 * extension `id`: 2 bytes big-endian. Returns 0 and sets *seq, -ENOENT if absent, or -EBADMSG
 * if the element is not 2 bytes long.
 */
#define RTP_TRANSPORT_SEQ_LEN 2
int rtp_transport_seq(const struct rtp_hdr *h, int ext_id, uint16_t *seq);

/* True if an RTP/RTCP-range packet is RTCP (RFC 5761 4: second byte 192..223). */
bool rtp_is_rtcp(const uint8_t *buf, size_t len);

/* One header extension element to write: id 1..14, len 1..16 bytes (RFC 8285 4.2). */
struct rtp_ext_elem {
	uint8_t id;
	uint8_t len;
	const uint8_t *data;
};

#define RTP_MAX_EXT_ELEMS 8

/*
 * Writes a header (fields of h: marker, pt, seq, ts, ssrc; no CSRCs) followed by a one-byte-form
 * extension block holding the n_ext elements in order (none if n_ext is 0), zero-padded to 32
 * bits, and the payload. Returns the packet length, -ENOSPC, or -EINVAL (n_ext outside
 * 0..RTP_MAX_EXT_ELEMS, an element id outside 1..14 or len outside 1..16 or NULL data, or a
 * NULL payload with a non-zero length). The payload may already sit in buf at its final offset.
 */
int rtp_write_ext(uint8_t *buf, size_t cap, const struct rtp_hdr *h, const struct rtp_ext_elem *ext,
                  int n_ext, const uint8_t *payload, size_t payload_len);

/* Writes a transport-wide sequence number element's 2 bytes (big-endian). */
static inline void rtp_transport_seq_put(uint8_t out[RTP_TRANSPORT_SEQ_LEN], uint16_t seq)
{
	out[0] = (uint8_t)(seq >> 8);
	out[1] = (uint8_t)seq;
}

/*
 * Writes a header (fields of h: marker, pt, seq, ts, ssrc; no CSRCs) followed by an optional
 * one-byte-form extension block with one element (ext_id 1..14, ext_data 1..16 bytes; ext_id 0
 * for none) and the payload. Returns the packet length, -ENOSPC, or -EINVAL (ext_id outside
 * 0..14, ext_len outside 1..16, or a NULL pointer with a non-zero length). The payload may
 * already sit in buf at its final offset (it is moved, not copied). rtp_write_ext with one
 * element (or none) writes the same bytes.
 */
int rtp_write(uint8_t *buf, size_t cap, const struct rtp_hdr *h, int ext_id,
              const uint8_t *ext_data, size_t ext_len, const uint8_t *payload, size_t payload_len);

/* Sequence number arithmetic (RFC 3550 A.1): true if a is newer than b, modulo 2^16. */
static inline bool seq_newer(uint16_t a, uint16_t b)
{
	return a != b && (uint16_t)(a - b) < 0x8000;
}

#endif
