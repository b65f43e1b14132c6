/*
 * ice.c - one peer's ICE agent with libnice (see ice.h).
 *
 * libnice runs on the GMainContext given at creation (the media loop); its signals and the
 * receive callback are delivered there. The agent is controlled (we answer; ice_new_opts can
 * make it controlling for an offering client), in full mode with trickle and keepalive
 * checks (ice.h says why not libnice's consent option), gathering host candidates on the bind
 * address only, or with a wildcard bind (0.0.0.0, ::) on each IPv4 address of the interfaces that
 * are up (net/ifaddr.h). Media loop thread only. Owns the NiceAgent; freed with
 * nice_agent_close_async.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent.h>

#include "log.h"
#include "net/ice.h"
#include "net/ifaddr.h"

struct ice {
	NiceAgent *agent;
	guint stream;
	struct ice_callbacks cb;
	char ufrag[64], pwd[64];
	char public_ip[64];
	enum ice_state state;
	int nremote;
	gulong sig_cand, sig_done, sig_state;
};

static void on_new_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
	struct ice *ice = data;
	if (ice->public_ip[0])
		nice_address_set_from_string(&cand->addr, ice->public_ip);
	gchar *sdp = nice_agent_generate_local_candidate_sdp(agent, cand);
	if (!sdp)
		return;
	const char *line = strncmp(sdp, "a=", 2) ? sdp : sdp + 2;
	ice->cb.on_candidate(ice->cb.opaque, line);
	g_free(sdp);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct ice *ice = data;
	ice->cb.on_candidate(ice->cb.opaque, NULL);
}

static enum ice_state map_state(guint s)
{
	switch (s) {
	case NICE_COMPONENT_STATE_CONNECTED:
	case NICE_COMPONENT_STATE_READY:
		return ICE_CONNECTED;
	case NICE_COMPONENT_STATE_FAILED:
		return ICE_FAILED;
	case NICE_COMPONENT_STATE_CONNECTING:
		return ICE_CHECKING;
	default:
		return ICE_NEW;
	}
}

static void on_state_changed(NiceAgent *agent, guint stream, guint comp, guint state, gpointer data)
{
	struct ice *ice = data;
	enum ice_state s = map_state(state);
	LOG_D("ice %p: component state %s", (void *)ice, nice_component_state_to_string(state));
	if (s == ice->state || (s == ICE_NEW && ice->state != ICE_NEW))
		return;
	ice->state = s;
	ice->cb.on_state(ice->cb.opaque, s);
}

static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
                    gpointer data)
{
	struct ice *ice = data;
	ice->cb.on_recv(ice->cb.opaque, (uint8_t *)buf, len);
}

static int add_local_address(struct ice *ice, const char *ip)
{
	NiceAddress addr;
	nice_address_init(&addr);
	if (!nice_address_set_from_string(&addr, ip))
		return -EINVAL;
	return nice_agent_add_local_address(ice->agent, &addr) ? 0 : -EINVAL;
}

/* The bind address, or for a wildcard one (0.0.0.0, ::) the interfaces' IPv4 addresses. */
static int add_bind_address(struct ice *ice, const char *bind_ip)
{
	char ips[IFADDR_MAX][IFADDR_LEN];
	if (!ifaddr_is_wildcard(bind_ip))
		return add_local_address(ice, bind_ip);
	int n = ifaddr_ipv4(ips, IFADDR_MAX), rc = n == 0 ? -EADDRNOTAVAIL : n;
	for (int i = 0; i < n && rc >= 0; i++)
		rc = add_local_address(ice, ips[i]);
	return rc < 0 ? rc : 0;
}

static int setup_stream(struct ice *ice, GMainContext *ctx)
{
	ice->stream = nice_agent_add_stream(ice->agent, 1);
	if (!ice->stream)
		return -ENOMEM;
	nice_agent_attach_recv(ice->agent, ice->stream, 1, ctx, on_recv, ice);
	gchar *u = NULL, *p = NULL;
	if (!nice_agent_get_local_credentials(ice->agent, ice->stream, &u, &p))
		return -EIO;
	snprintf(ice->ufrag, sizeof(ice->ufrag), "%s", u);
	snprintf(ice->pwd, sizeof(ice->pwd), "%s", p);
	g_free(u);
	g_free(p);
	return 0;
}

int ice_new(struct ice **out, GMainContext *ctx, const char *bind_ip, const char *public_ip,
            const struct ice_callbacks *cb)
{
	return ice_new_opts(out, ctx, bind_ip, public_ip, NULL, cb);
}

int ice_new_opts(struct ice **out, GMainContext *ctx, const char *bind_ip, const char *public_ip,
                 const struct ice_opts *opts, const struct ice_callbacks *cb)
{
	static const struct ice_opts defaults = {.role = ICE_CONTROLLED};
	const struct ice_opts *o = opts ? opts : &defaults;
	struct ice *ice = calloc(1, sizeof(*ice));
	if (!ice)
		return -ENOMEM;
	ice->cb = *cb;
	snprintf(ice->public_ip, sizeof(ice->public_ip), "%s", public_ip ? public_ip : "");
	ice->agent =
	    nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_ICE_TRICKLE);
	if (!ice->agent) {
		free(ice);
		return -ENOMEM;
	}
	g_object_set(ice->agent, "controlling-mode", o->role == ICE_CONTROLLING, "upnp", FALSE,
	             "ice-tcp", FALSE, "keepalive-conncheck", !o->no_checks, NULL);
	ice->sig_cand =
	    g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), ice);
	ice->sig_done = g_signal_connect(ice->agent, "candidate-gathering-done",
	                                 G_CALLBACK(on_gathering_done), ice);
	ice->sig_state = g_signal_connect(ice->agent, "component-state-changed",
	                                  G_CALLBACK(on_state_changed), ice);
	int rc = add_bind_address(ice, bind_ip);
	if (rc == 0)
		rc = setup_stream(ice, ctx);
	if (rc < 0) {
		ice_free(&ice);
		return rc;
	}
	*out = ice;
	return 0;
}

static void closed(GObject *src, GAsyncResult *res, gpointer data)
{
	g_object_unref(src);
}

void ice_free(struct ice **ip)
{
	struct ice *ice = *ip;
	if (!ice)
		return;
	if (ice->agent) {
		g_signal_handler_disconnect(ice->agent, ice->sig_cand);
		g_signal_handler_disconnect(ice->agent, ice->sig_done);
		g_signal_handler_disconnect(ice->agent, ice->sig_state);
		if (ice->stream)
			nice_agent_attach_recv(ice->agent, ice->stream, 1, NULL, NULL, NULL);
		nice_agent_close_async(ice->agent, closed, NULL);
	}
	free(ice);
	*ip = NULL;
}

const char *ice_local_ufrag(const struct ice *ice)
{
	return ice->ufrag;
}

const char *ice_local_pwd(const struct ice *ice)
{
	return ice->pwd;
}

int ice_set_remote_credentials(struct ice *ice, const char *ufrag, const char *pwd)
{
	return nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd) ? 0 : -EINVAL;
}

int ice_gather(struct ice *ice)
{
	return nice_agent_gather_candidates(ice->agent, ice->stream) ? 0 : -EIO;
}

int ice_add_remote_candidate(struct ice *ice, const char *candidate)
{
	if (ice->nremote >= ICE_MAX_REMOTE_CANDIDATES)
		return -ENOSPC;
	char line[600];
	const char *c = strncmp(candidate, "a=", 2) ? candidate : candidate + 2;
	if (strstr(c, ".local ") || strstr(c, " tcp ") || strstr(c, " TCP "))
		return 1; /* mDNS names and ICE-TCP cannot be used here */
	snprintf(line, sizeof(line), "a=%s", c);
	NiceCandidate *nc = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, line);
	if (!nc)
		return -EINVAL;
	nc->component_id = 1; /* rtcp-mux: everything on component 1 */
	GSList *list = g_slist_append(NULL, nc);
	int n = nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, list);
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	if (n < 0)
		return -EINVAL;
	ice->nremote++;
	return 0;
}

int ice_remote_gathering_done(struct ice *ice)
{
	return nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream) ? 0 : -EINVAL;
}

int ice_send(struct ice *ice, const uint8_t *data, size_t len)
{
	if (ice->state != ICE_CONNECTED)
		return -ENOTCONN;
	int n = nice_agent_send(ice->agent, ice->stream, 1, (guint)len, (const gchar *)data);
	return n == (int)len ? 0 : -EIO;
}

enum ice_state ice_get_state(const struct ice *ice)
{
	return ice->state;
}
