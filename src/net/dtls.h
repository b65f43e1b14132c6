/*
 * dtls.h - DTLS-SRTP (RFC 5764, RFC 8827) with OpenSSL: the server's certificate and each
 * peer's DTLS association, run over memory BIOs (datagrams in and out through the caller).
 *
 * dtls_cert: one per process (or per server instance): an ECDSA P-256 self-signed certificate
 * generated at start, or loaded from PEM files; its SHA-256 fingerprint goes in the SDP.
 * dtls_conn: one per peer. The caller feeds received DTLS datagrams with dtls_conn_recv();
 * outgoing datagrams go to the send callback (called from within dtls_conn_* calls). When the
 * handshake completes, the peer's certificate fingerprint is checked against the one from its
 * SDP (mismatch: -EPERM, the association is dead) and SRTP keys are exported.
 * Only this file includes OpenSSL. A dtls_conn is single-threaded (its peer's media loop);
 * a dtls_cert is immutable after creation and may be shared by threads.
 */
#ifndef MCU_DTLS_H
#define MCU_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/srtp.h"

struct dtls_cert;

/* cert_pem/key_pem: paths, or both NULL to generate a fresh certificate. err gets a message. */
int dtls_cert_new(struct dtls_cert **out, const char *cert_pem, const char *key_pem, char *err,
                  size_t errlen);
void dtls_cert_free(struct dtls_cert **c);
/* "AB:CD:..." (SHA-256, uppercase hex), for "a=fingerprint:sha-256 <this>". */
const char *dtls_cert_fingerprint(const struct dtls_cert *c);

enum dtls_role { DTLS_SERVER, DTLS_CLIENT }; /* SDP a=setup: passive = server, active = client */

struct dtls_conn;

typedef void (*dtls_send_fn)(void *opaque, const uint8_t *data, size_t len);

/*
 * remote_fp_alg: e.g. "sha-256" (sha-1, sha-256, sha-384, sha-512 accepted); remote_fp: the
 * hex string from the peer's SDP. -EINVAL for an unknown algorithm or malformed fingerprint.
 */
int dtls_conn_new(struct dtls_conn **out, const struct dtls_cert *cert, enum dtls_role role,
                  const char *remote_fp_alg, const char *remote_fp, dtls_send_fn send,
                  void *opaque);
void dtls_conn_free(struct dtls_conn **c);

/* A client sends its ClientHello; a server does nothing. */
int dtls_conn_start(struct dtls_conn *c);

/*
 * Feeds one received datagram. Returns 0 while handshaking or after, 1 when this datagram
 * completed the handshake (keys are then available), -EPERM on a fingerprint mismatch,
 * -EPROTO on a fatal DTLS error (alert sent or received), -ECONNRESET when the peer closed
 * (close_notify). Any error is sticky: the connection is dead and every later call returns
 * the same error (also -ETIMEDOUT from dtls_conn_on_timeout). Garbage that is not a well-framed
 * DTLS datagram (RFC 7983 first byte 20..63, records tiling it, epoch-0 handshake fragments
 * within their message_length) is ignored and counted without reaching OpenSSL.
 */
int dtls_conn_recv(struct dtls_conn *c, const uint8_t *data, size_t len);

/* Microseconds until dtls_conn_on_timeout() must be called (retransmission), or -1 for none. */
int64_t dtls_conn_timeout_us(struct dtls_conn *c);
/*
 * Handles a retransmission timer expiry. 0, or -ETIMEDOUT once the handshake gave up: 20 s
 * after its first datagram (client: dtls_conn_start, server: first valid datagram received).
 * dtls_conn_timeout_us never asks to wait past that deadline.
 */
int dtls_conn_on_timeout(struct dtls_conn *c);

bool dtls_conn_done(const struct dtls_conn *c);
/* The exported SRTP keying material (valid once done). 0 or -EAGAIN. */
int dtls_conn_srtp_keys(const struct dtls_conn *c, struct srtp_keys *out);
/* Datagrams ignored as garbage or failing DTLS processing. */
uint64_t dtls_conn_bad_datagrams(const struct dtls_conn *c);

/* For tests: the handshake give-up time in microseconds (default 20 s). */
void dtls_conn_set_giveup_us(struct dtls_conn *c, int64_t us);

#endif
