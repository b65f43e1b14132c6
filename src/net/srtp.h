/*
 * srtp.h - SRTP and SRTCP (RFC 3711, RFC 7714) with libsrtp2, keyed from DTLS-SRTP.
 *
 * A session holds two libsrtp contexts: outbound (our key, any outbound SSRC) and inbound (the
 * peer's key, any inbound SSRC, at most SRTP_MAX_SSRCS distinct SSRCs: more are refused so a
 * peer cannot grow our memory). Protect works in place: buf must have SRTP_MAX_TRAILER spare
 * bytes after len. Replayed and unauthenticated packets are refused and counted.
 * Only this file includes libsrtp2 (libsrtp's global init is done once, thread-safely).
 * A session is single-threaded (its peer's media loop).
 */
#ifndef MCU_SRTP_H
#define MCU_SRTP_H

#include <stddef.h>
#include <stdint.h>

#define SRTP_MAX_TRAILER 148 /* libsrtp2's SRTP_MAX_TRAILER_LEN (144) + SRTCP's 4-byte index */
/* inbound SSRCs at once: audio, three simulcast layers and a screen, each video with its RTX
 * stream, is 9; a stopped stream's SSRC is given back (srtp_sess_forget_ssrc) */
#define SRTP_MAX_SSRCS  16
#define SRTP_MASTER_MAX 46 /* key + salt, bytes */

enum srtp_profile {
	SRTP_PROFILE_AES128_CM_SHA1_80 = 1, /* RFC 5764 4.1.2 profile ids */
	SRTP_PROFILE_AEAD_AES_128_GCM = 7,
};

struct srtp_keys {
	enum srtp_profile profile;
	uint8_t local[SRTP_MASTER_MAX];  /* our master key || salt (we protect with it) */
	uint8_t remote[SRTP_MASTER_MAX]; /* the peer's master key || salt (we unprotect with it) */
	size_t master_len;               /* key + salt length for the profile */
};

/* Key and salt lengths for a profile; -ENOTSUP for profiles we do not offer. */
int srtp_profile_lengths(enum srtp_profile p, size_t *key_len, size_t *salt_len);

struct srtp_sess_stats {
	uint64_t rtp_auth_fail, rtp_replay, rtcp_auth_fail, rtcp_replay, ssrc_refused, other_err;
};

struct srtp_sess;

int srtp_sess_new(struct srtp_sess **out, const struct srtp_keys *keys);
void srtp_sess_free(struct srtp_sess **s);

/* In place; *len grows by the auth tag. cap = bytes available at buf. 0 or -errno. */
int srtp_sess_protect_rtp(struct srtp_sess *s, uint8_t *buf, size_t *len, size_t cap);
int srtp_sess_protect_rtcp(struct srtp_sess *s, uint8_t *buf, size_t *len, size_t cap);
/* In place; *len shrinks. 0, or -EACCES (auth), -EALREADY (replay), -ENOSPC (SSRC cap), ... */
int srtp_sess_unprotect_rtp(struct srtp_sess *s, uint8_t *buf, size_t *len);
int srtp_sess_unprotect_rtcp(struct srtp_sess *s, uint8_t *buf, size_t *len);
/* Drops the inbound stream of ssrc (a stream that stopped): its slot under SRTP_MAX_SSRCS is
 * free again; a later packet of it starts a new stream. Nothing if unknown (or s NULL). */
void srtp_sess_forget_ssrc(struct srtp_sess *s, uint32_t ssrc);

void srtp_sess_get_stats(const struct srtp_sess *s, struct srtp_sess_stats *st);

#endif
