/*
 * ice.h - one peer's ICE transport (RFC 8445) with libnice: full ICE, controlled (the browser
 * offers and controls), one stream with one component (BUNDLE + rtcp-mux), host candidates on
 * the configured address only, trickle both ways, RFC 7675 consent freshness (a peer that stops
 * answering consent checks goes to ICE_FAILED within about 30 s).
 *
 * Threads: created on, and used only from, the media loop thread that owns the GMainContext
 * passed in; every callback runs there. Only this file includes libnice.
 * Ownership: the ice object owns its NiceAgent; ice_free() closes it asynchronously.
 */
#ifndef MCU_ICE_H
#define MCU_ICE_H

#include <stddef.h>
#include <stdint.h>

#define ICE_MAX_REMOTE_CANDIDATES 32

enum ice_state { ICE_NEW, ICE_CHECKING, ICE_CONNECTED, ICE_FAILED };

struct ice_callbacks {
	void *opaque;
	/* A local candidate ("candidate:..." without "a="), or NULL when gathering is done. */
	void (*on_candidate)(void *opaque, const char *candidate);
	void (*on_state)(void *opaque, enum ice_state state);
	void (*on_recv)(void *opaque, uint8_t *data, size_t len);
};

struct ice;
typedef struct _GMainContext GMainContext;

/* bind_ip: the local address to gather on; public_ip: advertised instead ("" = none). */
int ice_new(struct ice **out, GMainContext *ctx, const char *bind_ip, const char *public_ip,
	    const struct ice_callbacks *cb);
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
/* Sends one datagram on the selected pair. -ENOTCONN before ICE connected. */
int ice_send(struct ice *ice, const uint8_t *data, size_t len);
enum ice_state ice_get_state(const struct ice *ice);

#endif
