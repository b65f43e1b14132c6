/*
 * test_rtp.c - unit tests for src/rtp/rtp.c (RTP header parse/write, RFC 8285 extensions,
 * RFC 6464 audio level, RFC 5761 demux).
 *
 * Covers every RTP row of RELIABILITY-CHECKLIST A4 (short packets, bad version, CSRC count
 * past the end, extension length past the end and 16-bit overflow, one/two-byte element past
 * the end, padding 0 or too large, zero-length payload, packets over 1500 bytes), round trips
 * through rtp_write, and a brute-force loop of random buffers (run it under ASan/UBSan).
 * Single-threaded; all buffers are on the stack.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/rtp.h"

/* A valid 12-byte header: V=2, PT 111, seq 0x1234, ts 0xdeadbeef, SSRC 0x01020304. */
static size_t put_hdr(uint8_t *b, uint8_t b0)
{
	static const uint8_t h[12] = {0x80, 111, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
	memcpy(b, h, sizeof(h));
	b[0] = b0;
	return sizeof(h);
}

static void test_short_lengths(void **state)
{
	uint8_t b[16];
	struct rtp_hdr h;
	put_hdr(b, 0x80);
	for (size_t len = 0; len < 12; len++)
		assert_int_equal(rtp_parse(b, len, &h), RTP_DROP_SHORT);
	assert_int_equal(rtp_parse(NULL, 0, &h), RTP_DROP_SHORT);
	assert_int_equal(rtp_parse(b, 12, &h), RTP_OK);
}

static void test_version(void **state)
{
	uint8_t b[20] = {0};
	struct rtp_hdr h;
	for (int v = 0; v < 4; v++) {
		put_hdr(b, (uint8_t)(v << 6));
		assert_int_equal(rtp_parse(b, sizeof(b), &h), v == 2 ? RTP_OK : RTP_DROP_VERSION);
	}
}

static void test_fields(void **state)
{
	uint8_t b[16];
	struct rtp_hdr h;
	put_hdr(b, 0x80);
	b[1] = 0x80 | 96;
	memcpy(b + 12, "abcd", 4);
	assert_int_equal(rtp_parse(b, 16, &h), RTP_OK);
	assert_true(h.marker);
	assert_int_equal(h.pt, 96);
	assert_int_equal(h.seq, 0x1234);
	assert_int_equal(h.ts, 0xdeadbeef);
	assert_int_equal(h.ssrc, 0x01020304);
	assert_int_equal(h.cc, 0);
	assert_null(h.ext);
	assert_int_equal(h.ext_profile, 0);
	assert_ptr_equal(h.payload, b + 12);
	assert_int_equal(h.payload_len, 4);
}

static void test_csrc_count_15(void **state)
{
	uint8_t b[12 + 60 + 2];
	struct rtp_hdr h;
	put_hdr(b, 0x8f);
	for (int i = 0; i < 60; i++)
		b[12 + i] = (uint8_t)i;
	b[72] = 0xaa;
	b[73] = 0xbb;
	for (size_t len = 12; len < 72; len++)
		assert_int_equal(rtp_parse(b, len, &h), RTP_DROP_SHORT);
	assert_int_equal(rtp_parse(b, 72, &h), RTP_OK);
	assert_int_equal(h.cc, 15);
	assert_int_equal(h.csrc[0], 0x00010203);
	assert_int_equal(h.csrc[14], 0x38393a3b);
	assert_int_equal(h.payload_len, 0);
	assert_int_equal(rtp_parse(b, 74, &h), RTP_OK);
	assert_int_equal(h.payload_len, 2);
	assert_int_equal(h.payload[0], 0xaa);
}

static void test_extension_past_end(void **state)
{
	uint8_t b[64] = {0};
	struct rtp_hdr h;
	put_hdr(b, 0x90);
	/* No room for the 4-byte extension header. */
	for (size_t len = 12; len < 16; len++)
		assert_int_equal(rtp_parse(b, len, &h), RTP_DROP_SHORT);
	b[12] = 0xbe;
	b[13] = 0xde;
	b[15] = 3; /* 12 bytes of extension data */
	assert_int_equal(rtp_parse(b, 27, &h), RTP_DROP_EXTENSION);
	assert_int_equal(rtp_parse(b, 28, &h), RTP_OK);
	assert_int_equal(h.ext_len, 12);
	assert_int_equal(h.payload_len, 0);
	/* 0xffff words: 262140 bytes; must not wrap a 16-bit sum into a small length. */
	b[14] = 0xff;
	b[15] = 0xff;
	assert_int_equal(rtp_parse(b, sizeof(b), &h), RTP_DROP_EXTENSION);
	/* CSRCs and extension together. */
	uint8_t c[12 + 8 + 4 + 4] = {0};
	put_hdr(c, 0x92);
	c[20] = 0xbe;
	c[21] = 0xde;
	c[23] = 1;
	assert_int_equal(rtp_parse(c, sizeof(c), &h), RTP_OK);
	assert_int_equal(h.cc, 2);
	assert_int_equal(h.ext_len, 4);
	assert_int_equal(rtp_parse(c, sizeof(c) - 1, &h), RTP_DROP_EXTENSION);
}

static void test_padding(void **state)
{
	uint8_t b[24] = {0};
	struct rtp_hdr h;
	put_hdr(b, 0xa0);
	/* P=1 with no payload at all: no count byte. */
	assert_int_equal(rtp_parse(b, 12, &h), RTP_DROP_PADDING);
	b[19] = 0;
	assert_int_equal(rtp_parse(b, 20, &h), RTP_DROP_PADDING);
	b[19] = 9; /* payload area is 8 bytes */
	assert_int_equal(rtp_parse(b, 20, &h), RTP_DROP_PADDING);
	b[19] = 255;
	assert_int_equal(rtp_parse(b, 20, &h), RTP_DROP_PADDING);
	b[19] = 8; /* padding-only packet (bandwidth probing): valid, empty payload */
	assert_int_equal(rtp_parse(b, 20, &h), RTP_OK);
	assert_int_equal(h.payload_len, 0);
	b[19] = 3;
	assert_int_equal(rtp_parse(b, 20, &h), RTP_OK);
	assert_int_equal(h.payload_len, 5);
	b[19] = 1;
	assert_int_equal(rtp_parse(b, 20, &h), RTP_OK);
	assert_int_equal(h.payload_len, 7);
}

static void test_zero_length_payload(void **state)
{
	uint8_t b[16] = {0};
	struct rtp_hdr h;
	put_hdr(b, 0x90);
	b[12] = 0xbe;
	b[13] = 0xde;
	assert_int_equal(rtp_parse(b, 16, &h), RTP_OK); /* extension of 0 words, no payload */
	assert_int_equal(h.ext_profile, 0xbede);
	assert_int_equal(h.ext_len, 0);
	assert_int_equal(h.payload_len, 0);
	const uint8_t *d;
	size_t n;
	assert_int_equal(rtp_ext_find(&h, 1, &d, &n), -ENOENT);
}

static void test_too_large(void **state)
{
	static uint8_t b[RTP_MAX_PACKET + 100];
	struct rtp_hdr h;
	put_hdr(b, 0x80);
	assert_int_equal(rtp_parse(b, RTP_MAX_PACKET, &h), RTP_OK);
	assert_int_equal(h.payload_len, RTP_MAX_PACKET - 12);
	assert_int_equal(rtp_parse(b, RTP_MAX_PACKET + 1, &h), RTP_DROP_TOO_LARGE);
	assert_int_equal(rtp_parse(b, sizeof(b), &h), RTP_DROP_TOO_LARGE);
}

/* Builds a packet whose extension block is `ext` (a multiple of 4 bytes) under `profile`. */
static size_t with_ext(uint8_t *b, uint16_t profile, const uint8_t *ext, size_t n)
{
	size_t off = put_hdr(b, 0x90);
	b[off++] = (uint8_t)(profile >> 8);
	b[off++] = (uint8_t)profile;
	b[off++] = (uint8_t)(n / 4 >> 8);
	b[off++] = (uint8_t)(n / 4);
	memcpy(b + off, ext, n);
	off += n;
	memcpy(b + off, "PAYLOAD", 7);
	return off + 7;
}

static void test_one_byte_find(void **state)
{
	/* pad, id 1 len 1, id 3 len 3, pad, pad, id 14 len 2, then id 15 stop, then id 5. */
	static const uint8_t ext[] = {0x00, 0x10, 0xaa, 0x32, 1,    2,    3, 0x00,
	                              0x00, 0xe1, 0x77, 0x88, 0xf0, 0x50, 9, 0x00};
	uint8_t b[64];
	struct rtp_hdr h;
	size_t len = with_ext(b, 0xbede, ext, sizeof(ext));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(h.payload_len, 7);
	const uint8_t *d;
	size_t n;
	assert_int_equal(rtp_ext_find(&h, 1, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0], 0xaa);
	assert_int_equal(rtp_ext_find(&h, 3, &d, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "\x01\x02\x03", 3);
	assert_int_equal(rtp_ext_find(&h, 14, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[1], 0x88);
	assert_int_equal(rtp_ext_find(&h, 5, &d, &n), -ENOENT); /* after the stop byte */
	assert_int_equal(rtp_ext_find(&h, 2, &d, &n), -ENOENT);
	assert_int_equal(rtp_ext_find(&h, 0, &d, &n), -ENOENT);
	assert_int_equal(rtp_ext_find(&h, 15, &d, &n), -ENOENT);
	assert_int_equal(rtp_ext_find(&h, -1, &d, &n), -ENOENT);
	assert_int_equal(rtp_ext_find(&h, 300, &d, &n), -ENOENT);
}

static void test_one_byte_past_end(void **state)
{
	/* id 2 len 1 is fine; id 4 claims 8 bytes where 1 remains. */
	static const uint8_t ext[] = {0x20, 0x55, 0x47, 0x00};
	uint8_t b[64];
	struct rtp_hdr h;
	size_t len = with_ext(b, 0xbede, ext, sizeof(ext));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	const uint8_t *d;
	size_t n;
	assert_int_equal(rtp_ext_find(&h, 2, &d, &n), 0);
	assert_int_equal(d[0], 0x55);
	assert_int_equal(rtp_ext_find(&h, 4, &d, &n), -ENOENT);
	/* Element exactly filling the block is fine; one byte more is not. */
	static const uint8_t full[] = {0x12, 1, 2, 3};
	len = with_ext(b, 0xbede, full, sizeof(full));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(rtp_ext_find(&h, 1, &d, &n), 0);
	assert_int_equal(n, 3);
	static const uint8_t over[] = {0x13, 1, 2, 3};
	len = with_ext(b, 0xbede, over, sizeof(over));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(rtp_ext_find(&h, 1, &d, &n), -ENOENT);
}

static void test_two_byte_find(void **state)
{
	/* id 1 len 0, pad, id 200 len 3, pad pad, id 7 len 1. */
	static const uint8_t ext[] = {1, 0, 0, 200, 3, 9, 8, 7, 0, 0, 7, 1, 0x42, 0, 0, 0};
	uint8_t b[64];
	struct rtp_hdr h;
	size_t len = with_ext(b, 0x1000, ext, sizeof(ext));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	const uint8_t *d;
	size_t n = 99;
	assert_int_equal(rtp_ext_find(&h, 1, &d, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rtp_ext_find(&h, 200, &d, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "\x09\x08\x07", 3);
	assert_int_equal(rtp_ext_find(&h, 7, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0], 0x42);
	assert_int_equal(rtp_ext_find(&h, 2, &d, &n), -ENOENT);
	assert_int_equal(rtp_ext_find(&h, 256, &d, &n), -ENOENT);
	/* App bits in the profile's low nibble are allowed (RFC 8285 4.3). */
	len = with_ext(b, 0x100f, ext, sizeof(ext));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(rtp_ext_find(&h, 200, &d, &n), 0);
}

static void test_two_byte_past_end(void **state)
{
	const uint8_t *d;
	size_t n;
	uint8_t b[64];
	struct rtp_hdr h;
	static const uint8_t over[] = {5, 3, 1, 2, 0, 0, 6, 9}; /* id 6 claims 9, 0 left */
	size_t len = with_ext(b, 0x1000, over, sizeof(over));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(rtp_ext_find(&h, 5, &d, &n), 0);
	assert_int_equal(rtp_ext_find(&h, 6, &d, &n), -ENOENT);
	static const uint8_t no_len[] = {0, 0, 0, 6}; /* id byte, length byte missing */
	len = with_ext(b, 0x1000, no_len, sizeof(no_len));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(rtp_ext_find(&h, 6, &d, &n), -ENOENT);
}

static void test_unknown_profile(void **state)
{
	static const uint8_t ext[] = {0x10, 0xaa, 0, 0};
	uint8_t b[64];
	struct rtp_hdr h;
	size_t len = with_ext(b, 0xabac, ext, sizeof(ext));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(h.ext_profile, 0xabac);
	const uint8_t *d;
	size_t n;
	assert_int_equal(rtp_ext_find(&h, 1, &d, &n), -ENOENT);
	assert_int_equal(rtp_audio_level(&h, 1, NULL), -1);
}

static void test_audio_level(void **state)
{
	/* Chrome-style: id 1 audio level (V=1, 42 dBov), id 3 abs-send-time (3 bytes). */
	static const uint8_t ext[] = {0x10, 0x80 | 42, 0x32, 0x12, 0x34, 0x56, 0, 0};
	uint8_t b[64];
	struct rtp_hdr h;
	size_t len = with_ext(b, 0xbede, ext, sizeof(ext));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	bool voice = false;
	assert_int_equal(rtp_audio_level(&h, 1, &voice), 42);
	assert_true(voice);
	assert_int_equal(rtp_audio_level(&h, 2, &voice), -1);
	/* A longer element (with trailing bytes) uses the first byte. */
	static const uint8_t ext2[] = {0x21, 0x7f, 0x00, 0x00};
	len = with_ext(b, 0xbede, ext2, sizeof(ext2));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	voice = true;
	assert_int_equal(rtp_audio_level(&h, 2, &voice), 127);
	assert_false(voice);
	/* A zero-length two-byte element is malformed for audio level. */
	static const uint8_t ext3[] = {4, 0, 0, 0};
	len = with_ext(b, 0x1000, ext3, sizeof(ext3));
	assert_int_equal(rtp_parse(b, len, &h), RTP_OK);
	assert_int_equal(rtp_audio_level(&h, 4, &voice), -1);
	/* No extension at all. */
	put_hdr(b, 0x80);
	assert_int_equal(rtp_parse(b, 12, &h), RTP_OK);
	assert_int_equal(rtp_audio_level(&h, 1, &voice), -1);
}

static void test_is_rtcp(void **state)
{
	uint8_t b[2] = {0x80, 0};
	for (int v = 0; v < 256; v++) {
		b[1] = (uint8_t)v;
		assert_int_equal(rtp_is_rtcp(b, 2), v >= 192 && v <= 223);
	}
	b[1] = 200;
	assert_false(rtp_is_rtcp(b, 1));
	assert_false(rtp_is_rtcp(NULL, 2));
}

static void test_write_roundtrip_plain(void **state)
{
	uint8_t buf[256], pl[100];
	for (int i = 0; i < 100; i++)
		pl[i] = (uint8_t)(i * 7);
	struct rtp_hdr in = {.marker = true, .pt = 96, .seq = 65535, .ts = 0xfffffff0, .ssrc = 77};
	int n = rtp_write(buf, sizeof(buf), &in, 0, NULL, 0, pl, sizeof(pl));
	assert_int_equal(n, 112);
	struct rtp_hdr h;
	assert_int_equal(rtp_parse(buf, (size_t)n, &h), RTP_OK);
	assert_true(h.marker);
	assert_int_equal(h.pt, 96);
	assert_int_equal(h.seq, 65535);
	assert_int_equal(h.ts, 0xfffffff0);
	assert_int_equal(h.ssrc, 77);
	assert_null(h.ext);
	assert_int_equal(h.payload_len, 100);
	assert_memory_equal(h.payload, pl, 100);
	/* Empty payload, marker off. */
	in.marker = false;
	n = rtp_write(buf, sizeof(buf), &in, 0, NULL, 0, NULL, 0);
	assert_int_equal(n, 12);
	assert_int_equal(rtp_parse(buf, 12, &h), RTP_OK);
	assert_false(h.marker);
	assert_int_equal(h.payload_len, 0);
}

static void test_write_roundtrip_ext(void **state)
{
	uint8_t buf[128], ext[16], pl[5] = {1, 2, 3, 4, 5};
	for (int i = 0; i < 16; i++)
		ext[i] = (uint8_t)(0xa0 + i);
	struct rtp_hdr in = {.pt = 111, .seq = 9, .ts = 960, .ssrc = 0xcafebabe};
	for (size_t el = 1; el <= 16; el++) {
		for (int id = 1; id <= 14; id += 13) {
			int n = rtp_write(buf, sizeof(buf), &in, id, ext, el, pl, sizeof(pl));
			assert_true(n > 0);
			assert_int_equal((n - 12 - 5) % 4, 0);
			struct rtp_hdr h;
			assert_int_equal(rtp_parse(buf, (size_t)n, &h), RTP_OK);
			assert_int_equal(h.ext_profile, 0xbede);
			assert_int_equal(h.ssrc, 0xcafebabe);
			const uint8_t *d;
			size_t dl;
			assert_int_equal(rtp_ext_find(&h, id, &d, &dl), 0);
			assert_int_equal(dl, el);
			assert_memory_equal(d, ext, el);
			assert_int_equal(h.payload_len, 5);
			assert_memory_equal(h.payload, pl, 5);
		}
	}
	uint8_t lvl = 0x80 | 30;
	int n = rtp_write(buf, sizeof(buf), &in, 1, &lvl, 1, pl, sizeof(pl));
	assert_int_equal(n, 12 + 8 + 5);
	struct rtp_hdr h;
	assert_int_equal(rtp_parse(buf, (size_t)n, &h), RTP_OK);
	bool voice;
	assert_int_equal(rtp_audio_level(&h, 1, &voice), 30);
	assert_true(voice);
}

/* RFC 4588: an RTX packet with an extension and padding unwraps to the packet it repairs. */
static void test_rtx_unwrap(void **state)
{
	uint8_t buf[128], pl[7] = {0x12, 0x34, 'm', 'e', 'd', 'i', 'a'}, ext[2] = {7, 8};
	struct rtp_hdr in = {.marker = true, .pt = 97, .seq = 500, .ts = 90000, .ssrc = 0x51};
	int n = rtp_write(buf, sizeof(buf), &in, 3, ext, 2, pl, sizeof(pl));
	assert_true(n > 0);
	buf[0] |= 0x20; /* two bytes of padding */
	buf[n] = 0;
	buf[n + 1] = 2;
	n += 2;
	struct rtp_hdr h, r;
	assert_int_equal(rtp_parse(buf, (size_t)n, &h), RTP_OK);
	uint8_t *out;
	size_t len;
	assert_int_equal(rtp_rtx_unwrap(buf, (size_t)n, &h, 96, 0xabcdef01, &out, &len), 0);
	assert_ptr_equal(out, buf + 2);
	assert_int_equal(len, (size_t)n - 2);
	assert_int_equal(rtp_parse(out, len, &r), RTP_OK);
	assert_true(r.marker);
	assert_int_equal(r.pt, 96);
	assert_int_equal(r.seq, 0x1234);
	assert_int_equal(r.ts, 90000);
	assert_int_equal(r.ssrc, 0xabcdef01);
	assert_int_equal(r.payload_len, 5);
	assert_memory_equal(r.payload, "media", 5);
	const uint8_t *d;
	size_t dl;
	assert_int_equal(rtp_ext_find(&r, 3, &d, &dl), 0);
	assert_memory_equal(d, ext, 2);
	/* an OSN and nothing after it, or a padding-only probe: nothing to repair */
	n = rtp_write(buf, sizeof(buf), &in, 0, NULL, 0, pl, 2);
	assert_int_equal(rtp_parse(buf, (size_t)n, &h), RTP_OK);
	assert_int_equal(rtp_rtx_unwrap(buf, (size_t)n, &h, 96, 1, &out, &len), -EINVAL);
	n = rtp_write(buf, sizeof(buf), &in, 0, NULL, 0, NULL, 0);
	assert_int_equal(rtp_parse(buf, (size_t)n, &h), RTP_OK);
	assert_int_equal(rtp_rtx_unwrap(buf, (size_t)n, &h, 96, 1, &out, &len), -EINVAL);
}

static void test_write_errors(void **state)
{
	uint8_t buf[64], ext[17] = {0}, pl[32] = {0};
	struct rtp_hdr in = {.pt = 111};
	assert_int_equal(rtp_write(buf, 11, &in, 0, NULL, 0, NULL, 0), -ENOSPC);
	assert_int_equal(rtp_write(buf, 12 + 31, &in, 0, NULL, 0, pl, 32), -ENOSPC);
	assert_int_equal(rtp_write(buf, 12 + 32, &in, 0, NULL, 0, pl, 32), 44);
	assert_int_equal(rtp_write(buf, 19, &in, 1, ext, 1, NULL, 0), -ENOSPC);
	assert_int_equal(rtp_write(buf, 20, &in, 1, ext, 1, NULL, 0), 20);
	assert_int_equal(rtp_write(buf, sizeof(buf), &in, 15, ext, 1, NULL, 0), -EINVAL);
	assert_int_equal(rtp_write(buf, sizeof(buf), &in, -1, ext, 1, NULL, 0), -EINVAL);
	assert_int_equal(rtp_write(buf, sizeof(buf), &in, 1, ext, 0, NULL, 0), -EINVAL);
	assert_int_equal(rtp_write(buf, sizeof(buf), &in, 1, ext, 17, NULL, 0), -EINVAL);
	assert_int_equal(rtp_write(buf, sizeof(buf), &in, 1, NULL, 1, NULL, 0), -EINVAL);
	assert_int_equal(rtp_write(buf, sizeof(buf), &in, 0, NULL, 0, NULL, 4), -EINVAL);
	assert_int_equal(rtp_write(buf, 0, &in, 0, NULL, 0, pl, SIZE_MAX), -ENOSPC);
}

static void test_drop_names(void **state)
{
	for (int d = 0; d < RTP_DROP_COUNT; d++) {
		const char *n = rtp_drop_name((enum rtp_drop)d);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int e = 0; e < d; e++)
			assert_string_not_equal(n, rtp_drop_name((enum rtp_drop)e));
	}
	assert_string_equal(rtp_drop_name(RTP_DROP_COUNT), "unknown");
}

static void test_seq_newer(void **state)
{
	assert_true(seq_newer(1, 0));
	assert_true(seq_newer(0, 65535));
	assert_false(seq_newer(65535, 0));
	assert_false(seq_newer(5, 5));
	assert_true(seq_newer(0x7fff, 0));
	assert_false(seq_newer(0x8000, 0));
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Random buffers, half of them with a plausible first byte and extension profile. */
static void test_random_buffers(void **state)
{
	static uint8_t b[RTP_MAX_PACKET];
	uint32_t seed = 0x2545f491;
	int ok = 0;
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = xorshift(&seed) % (RTP_MAX_PACKET + 1);
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)xorshift(&seed);
		if ((iter & 1) && len >= 16) {
			b[0] = (uint8_t)(0x90 | (b[0] & 0x20)); /* V=2, X=1, random P, CC=0 */
			b[12] = (iter & 2) ? 0xbe : 0x10;
			b[13] = (iter & 2) ? 0xde : 0x00;
			b[14] = 0;
			b[15] &= 7;
		}
		struct rtp_hdr h;
		if (rtp_parse(b, len, &h) != RTP_OK)
			continue;
		ok++;
		assert_true(h.payload + h.payload_len <= b + len);
		for (int id = 1; id < 256; id += 7) {
			const uint8_t *d;
			size_t n;
			if (rtp_ext_find(&h, id, &d, &n) == 0)
				assert_true(d >= h.ext && d + n <= h.ext + h.ext_len);
		}
		rtp_audio_level(&h, 1, NULL);
	}
	assert_true(ok > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_lengths),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_csrc_count_15),
	    cmocka_unit_test(test_extension_past_end),
	    cmocka_unit_test(test_padding),
	    cmocka_unit_test(test_zero_length_payload),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_one_byte_find),
	    cmocka_unit_test(test_one_byte_past_end),
	    cmocka_unit_test(test_two_byte_find),
	    cmocka_unit_test(test_two_byte_past_end),
	    cmocka_unit_test(test_unknown_profile),
	    cmocka_unit_test(test_audio_level),
	    cmocka_unit_test(test_is_rtcp),
	    cmocka_unit_test(test_write_roundtrip_plain),
	    cmocka_unit_test(test_write_roundtrip_ext),
	    cmocka_unit_test(test_write_errors),
	    cmocka_unit_test(test_rtx_unwrap),
	    cmocka_unit_test(test_drop_names),
	    cmocka_unit_test(test_seq_newer),
	    cmocka_unit_test(test_random_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
