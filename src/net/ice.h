/*
 * ice.h - one peer's ICE transport (RFC 8445) with libnice: full ICE, controlled (the browser
 * offers and controls), one stream with one component (BUNDLE + rtcp-mux), host candidates on
 * the configured address only (a wildcard one: each up interface's IPv4 address, loopback only
 * when it is the only one), trickle both ways, Binding requests as keepalives every 5 s +-20%
 * (libnice fails the pair 50 s after the last answer). libnice 0.1.21's own RFC 7675 option is
 * not used: it sends each check once, never retransmitted, and fails 10 s after the last
 * answer, so two checks lost in a saturated downlink queue removed a live participant. The
 * server's consent check is the peer's (peer_transport.c: nothing authenticated heard from the
 * peer for PEER_CONSENT_SILENCE_US).
 * ice_new_opts() makes the other side too: a controlling agent (aggressive nomination), as an
 * offering client such as the load generator (tools/load/) needs. ice_new() is the server's
 * agent: controlled, with keepalive checks.
 *
 * Threads: created on, and used only from, the media loop thread that owns the GMainContext
 * passed in; every callback runs there. Only this file includes libnice.
 * Ownership: the ice object owns its NiceAgent; ice_free() closes it asynchronously.
 */
#ifndef MCU_ICE_H
#define MCU_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ICE_MAX_REMOTE_CANDIDATES 32

enum ice_state { ICE_NEW, ICE_CHECKING, ICE_CONNECTED, ICE_FAILED };
enum ice_role { ICE_CONTROLLED, ICE_CONTROLLING }; /* the answerer is controlled (RFC 8445 6.1.1) */

struct ice_opts {
	enum ice_role role;
	/*
	 * No keepalive checks of our own (Binding indications instead), so the agent never fails
	 * because the peer's answers were lost; the peer's checks are still answered. For the
	 * load generator; the server's agents send checks.
	 */
	bool no_checks;
};

struct ice_callbacks {
	void *opaque;
	/* A local candidate ("candidate:..." without "a="), or NULL when gathering is done. */
	void (*on_candidate)(void *opaque, const char *candidate);
	void (*on_state)(void *opaque, enum ice_state state);
	void (*on_recv)(void *opaque, uint8_t *data, size_t len);
};

struct ice;
typedef struct _GMainContext GMainContext;

/* bind_ip: the local address to gather on (a wildcard, "0.0.0.0" or "::", means the interfaces'
 * IPv4 addresses: -EADDRNOTAVAIL if none is up); public_ip: advertised instead ("" = none). */
int ice_new(struct ice **out, GMainContext *ctx, const char *bind_ip, const char *public_ip,
            const struct ice_callbacks *cb);
/* The same with options (NULL: defaults): ice_new() is ice_new_opts(..., NULL, cb). */
int ice_new_opts(struct ice **out, GMainContext *ctx, const char *bind_ip, const char *public_ip,
                 const struct ice_opts *opts, const struct ice_callbacks *cb);
void ice_free(struct ice **ice);

/* Our credentials (valid for the agent's life). */
const char *ice_local_ufrag(const struct ice *ice);
const char *ice_local_pwd(const struct ice *ice);

int ice_set_remote_credentials(struct ice *ice, const char *ufrag, const char *pwd);
/* Starts gathering; local candidates come through on_candidate. */
int ice_gather(struct ice *ice);
/*
 * Adds a remote candidate ("candidate:..." with or without "a="). Candidates that cannot be
 * used here (mDNS names, TCP) are ignored (returns 1). -ENOSPC past ICE_MAX_REMOTE_CANDIDATES.
 */
int ice_add_remote_candidate(struct ice *ice, const char *candidate);
/*
 * The peer's end of candidates: libnice may then declare failure once every pair failed
 * (without it a trickle agent keeps waiting for more candidates). The server does not call it.
 */
int ice_remote_gathering_done(struct ice *ice);
/* Sends one datagram on the selected pair. -ENOTCONN before ICE connected. */
int ice_send(struct ice *ice, const uint8_t *data, size_t len);
enum ice_state ice_get_state(const struct ice *ice);

#endif
