/*
 * srtp.c - SRTP/SRTCP sessions over libsrtp2 (RFC 3711; AES-GCM: RFC 7714), keyed by DTLS-SRTP
 * (RFC 5764 4.2).
 *
 * One libsrtp context per direction: outbound (ssrc_any_outbound, our key, allow_repeat_tx so
 * NACK retransmissions may reuse a sequence number) and inbound (ssrc_any_inbound, the peer's
 * key, replay window 1024). libsrtp clones a stream for every new SSRC it authenticates, so
 * inbound SSRCs are capped here (SRTP_MAX_SSRCS): a packet for a new SSRC beyond the cap is
 * refused before libsrtp sees it. An SSRC takes a slot only once a packet for it authenticated.
 * libsrtp's global init runs once (pthread_once); the rest is per session, single-threaded.
 * The session owns both libsrtp contexts; keys are copied at creation.
 */
#include "net/srtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#define SRTP_REPLAY_WINDOW 1024
#define RTP_HDR_MIN        12
#define RTCP_HDR_MIN       8

struct srtp_sess {
	srtp_t in;                      /* peer's key: unprotect */
	srtp_t out;                     /* our key: protect */
	uint32_t ssrcs[SRTP_MAX_SSRCS]; /* inbound SSRCs libsrtp holds a stream for */
	size_t n_ssrcs;
	struct srtp_sess_stats st;
};

static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t srtp_init_status = srtp_err_status_fail;

static void srtp_global_init(void)
{
	srtp_init_status = srtp_init();
}

int srtp_profile_lengths(enum srtp_profile p, size_t *key_len, size_t *salt_len)
{
	switch (p) {
	case SRTP_PROFILE_AES128_CM_SHA1_80:
		*key_len = 16;
		*salt_len = 14;
		return 0;
	case SRTP_PROFILE_AEAD_AES_128_GCM:
		*key_len = 16;
		*salt_len = 12;
		return 0;
	}
	return -ENOTSUP;
}

static void set_crypto_policy(enum srtp_profile p, srtp_policy_t *pol)
{
	if (p == SRTP_PROFILE_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
	} else {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_rtcp_default(&pol->rtcp);
	}
}

/* Creates one direction's context; key is master key || salt (libsrtp copies it). */
static int create_ctx(srtp_t *ctx, enum srtp_profile p, const uint8_t *key, bool inbound)
{
	uint8_t k[SRTP_MASTER_MAX];
	srtp_policy_t pol;

	memset(&pol, 0, sizeof(pol));
	memcpy(k, key, sizeof(k));
	set_crypto_policy(p, &pol);
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = k;
	pol.window_size = SRTP_REPLAY_WINDOW;
	pol.allow_repeat_tx = inbound ? 0 : 1;
	pol.next = NULL;
	srtp_err_status_t e = srtp_create(ctx, &pol);
	memset(k, 0, sizeof(k));
	if (e != srtp_err_status_ok) {
		*ctx = NULL;
		return -EINVAL;
	}
	return 0;
}

int srtp_sess_new(struct srtp_sess **out, const struct srtp_keys *keys)
{
	size_t klen, slen;
	int rc;

	*out = NULL;
	if (srtp_profile_lengths(keys->profile, &klen, &slen) < 0)
		return -ENOTSUP;
	if (keys->master_len != klen + slen)
		return -EINVAL;
	pthread_once(&srtp_once, srtp_global_init);
	if (srtp_init_status != srtp_err_status_ok)
		return -EIO;
	struct srtp_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	rc = create_ctx(&s->in, keys->profile, keys->remote, true);
	if (rc == 0)
		rc = create_ctx(&s->out, keys->profile, keys->local, false);
	if (rc < 0) {
		srtp_sess_free(&s);
		return rc;
	}
	*out = s;
	return 0;
}

void srtp_sess_free(struct srtp_sess **s)
{
	if (!*s)
		return;
	if ((*s)->in)
		srtp_dealloc((*s)->in);
	if ((*s)->out)
		srtp_dealloc((*s)->out);
	free(*s);
	*s = NULL;
}

/* libsrtp status -> -errno. */
static int map_err(srtp_err_status_t e)
{
	switch (e) {
	case srtp_err_status_ok:
		return 0;
	case srtp_err_status_auth_fail:
		return -EACCES;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return -EALREADY;
	default:
		return -EIO;
	}
}

/* Counts an inbound failure (the stats describe what the peer sent us). */
static void count_err(struct srtp_sess *s, int rc, bool rtcp)
{
	if (rc == -EACCES)
		(*(rtcp ? &s->st.rtcp_auth_fail : &s->st.rtp_auth_fail))++;
	else if (rc == -EALREADY)
		(*(rtcp ? &s->st.rtcp_replay : &s->st.rtp_replay))++;
	else if (rc == -ENOSPC)
		s->st.ssrc_refused++;
	else if (rc < 0)
		s->st.other_err++;
}

static int protect(struct srtp_sess *s, uint8_t *buf, size_t *len, size_t cap, bool rtcp)
{
	size_t min = rtcp ? RTCP_HDR_MIN : RTP_HDR_MIN;

	if (*len < min || *len > INT_MAX - SRTP_MAX_TRAILER)
		return -EINVAL;
	if (cap < *len + SRTP_MAX_TRAILER)
		return -ENOSPC;
	int n = (int)*len;
	srtp_err_status_t e =
	    rtcp ? srtp_protect_rtcp(s->out, buf, &n) : srtp_protect(s->out, buf, &n);
	int rc = map_err(e);
	if (rc == 0)
		*len = (size_t)n;
	return rc;
}

int srtp_sess_protect_rtp(struct srtp_sess *s, uint8_t *buf, size_t *len, size_t cap)
{
	return protect(s, buf, len, cap, false);
}

int srtp_sess_protect_rtcp(struct srtp_sess *s, uint8_t *buf, size_t *len, size_t cap)
{
	return protect(s, buf, len, cap, true);
}

static bool ssrc_known(const struct srtp_sess *s, uint32_t ssrc)
{
	for (size_t i = 0; i < s->n_ssrcs; i++) {
		if (s->ssrcs[i] == ssrc)
			return true;
	}
	return false;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * RFC 3550 5.1 (RTP SSRC at byte 8) and 6.4 (RTCP sender SSRC at byte 4). libsrtp clones its
 * template stream for a new SSRC only once a packet authenticated: so does our table.
 */
static int unprotect_checked(struct srtp_sess *s, uint8_t *buf, size_t *len, bool rtcp)
{
	size_t min = rtcp ? RTCP_HDR_MIN : RTP_HDR_MIN;

	if (*len < min || *len > INT_MAX)
		return -EINVAL;
	uint32_t ssrc = rd32(buf + (rtcp ? 4 : 8));
	bool known = ssrc_known(s, ssrc);
	if (!known && s->n_ssrcs == SRTP_MAX_SSRCS)
		return -ENOSPC;
	int n = (int)*len;
	srtp_err_status_t e =
	    rtcp ? srtp_unprotect_rtcp(s->in, buf, &n) : srtp_unprotect(s->in, buf, &n);
	int rc = map_err(e);
	if (rc < 0)
		return rc;
	if (!known)
		s->ssrcs[s->n_ssrcs++] = ssrc;
	*len = (size_t)n;
	return 0;
}

static int unprotect(struct srtp_sess *s, uint8_t *buf, size_t *len, bool rtcp)
{
	int rc = unprotect_checked(s, buf, len, rtcp);

	count_err(s, rc, rtcp);
	return rc;
}

int srtp_sess_unprotect_rtp(struct srtp_sess *s, uint8_t *buf, size_t *len)
{
	return unprotect(s, buf, len, false);
}

int srtp_sess_unprotect_rtcp(struct srtp_sess *s, uint8_t *buf, size_t *len)
{
	return unprotect(s, buf, len, true);
}

void srtp_sess_forget_ssrc(struct srtp_sess *s, uint32_t ssrc)
{
	for (size_t i = 0; s && i < s->n_ssrcs; i++) {
		if (s->ssrcs[i] != ssrc)
			continue;
		srtp_remove_stream(s->in, htonl(ssrc));
		s->ssrcs[i] = s->ssrcs[--s->n_ssrcs];
		return;
	}
}

void srtp_sess_get_stats(const struct srtp_sess *s, struct srtp_sess_stats *st)
{
	*st = s->st;
}
