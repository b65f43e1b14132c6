/*
 * main.c - the mcu server: configuration, the DTLS certificate, the event loops (one per core
 * by default, each a thread running its rooms and peers: session/server.h) and the signaling
 * thread (this one: the libwebsockets loop). SIGINT/SIGTERM stop the signaling loop; then
 * every loop tears its rooms and peers down on its own thread, and every recording is
 * finished (trailer, cues) before the process exits.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <glib-unix.h>
#include <glib.h>

#include "auth/token_cli.h"
#include "cluster/cluster.h"
#include "config.h"
#include "log.h"
#include "net/dtls.h"
#include "net/ifaddr.h"
#include "net/loop.h"
#include "net/netsim.h"
#include "session/room.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/ws.h"

static gboolean on_signal(gpointer data)
{
	struct server *s = data;
	LOG_I("shutting down");
	ws_server_stop(s->ws);
	return G_SOURCE_REMOVE;
}

/* The handler runs on loop 0 (GLib's unix signal sources): it only stops the signaling loop. */
static void watch_signal(struct server *s, int signum)
{
	GSource *src = g_unix_signal_source_new(signum);
	g_source_set_callback(src, on_signal, s, NULL);
	g_source_attach(src, loop_ctx(s->shards[0]->loop));
	g_source_unref(src);
}

/* Each peer holds several sockets (ICE, its WebSocket): raise the soft limit to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		LOG_D("open-file limit raised from %llu to %llu", (unsigned long long)was,
		      (unsigned long long)rl.rlim_cur);
}

static int start_ws(struct server *s, const struct mcu_config *c)
{
	char err[256] = "";
	struct ws_server_cfg wc = {
	    .bind = c->bind,
	    .port = c->port,
	    .www_dir = c->www[0] ? c->www : NULL,
	    .tls_cert = c->tls_cert[0] ? c->tls_cert : NULL,
	    .tls_key = c->tls_key[0] ? c->tls_key : NULL,
	    .max_message = 65536,
	    .msg_rate = c->ws_msg_rate,
	    .msg_burst = c->ws_msg_burst,
	    .cb = {.opaque = s,
	           .on_message = server_on_message,
	           .on_close = server_on_close,
	           .on_rate_limited = server_on_rate_limited,
	           .on_http = server_on_http},
	};
	int rc = ws_server_new(&s->ws, &wc, err, sizeof(err));
	if (rc < 0)
		LOG_E("cannot listen on %s:%d: %s", c->bind, c->port, err);
	return rc;
}

/* --netsim: checked by config.c, applied per peer (session/peer.c); said loudly here. */
static void warn_netsim(const struct mcu_config *c)
{
	char err[256] = "";
	struct netsim_cfg ns;
	if (!c->netsim[0] || netsim_parse(c->netsim, &ns, err, sizeof(err)) < 0)
		return;
	netsim_describe(&ns, err, sizeof(err));
	LOG_W("netsim: impairing every peer's SRTP/SRTCP both ways (test option): %s", err);
}

/* A wildcard --bind: ICE gathers on the interfaces' IPv4 addresses (net/ifaddr.h); say which,
 * and refuse to start with none (every peer's ICE would fail). */
static int check_ice_addresses(const struct mcu_config *c)
{
	char ips[IFADDR_MAX][IFADDR_LEN], list[IFADDR_MAX * (IFADDR_LEN + 2)] = "";
	if (!ifaddr_is_wildcard(c->bind))
		return 0;
	int n = ifaddr_ipv4(ips, IFADDR_MAX);
	for (int i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         ips[i]);
	if (n <= 0) {
		LOG_E("--bind %s: no interface with an IPv4 address is up, ICE has nothing to "
		      "gather on; bind a specific address",
		      c->bind);
		return -EADDRNOTAVAIL;
	}
	LOG_I("--bind %s: ICE host candidates on %s", c->bind, list);
	return 0;
}

static int init(struct server *s, struct dtls_cert **cert, const struct mcu_config *c)
{
	char err[256] = "";
	warn_netsim(c);
	if (check_ice_addresses(c) < 0)
		return -EADDRNOTAVAIL;
	int rc = dtls_cert_new(cert, c->dtls_cert[0] ? c->dtls_cert : NULL,
	                       c->dtls_key[0] ? c->dtls_key : NULL, err, sizeof(err));
	if (rc < 0) {
		LOG_E("DTLS certificate: %s", err);
		return rc;
	}
	rc = server_init(s, c, *cert);
	if (rc < 0) {
		LOG_E("cannot create the event loops: %s", strerror(-rc));
		return rc;
	}
	return start_ws(s, c);
}

int main(int argc, char **argv)
{
	static struct mcu_config cfg;
	static struct server srv;
	struct dtls_cert *cert = NULL;
	if (argc > 1 && !strcmp(argv[1], "token"))
		return token_cli(argc - 1, argv + 1);
	int rc = mcu_config_load(&cfg, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if ((rc = room_config_check(&cfg)) < 0) { /* config.c's ranges are the engine's: a net */
		fprintf(stderr,
		        "mcu: the media engine refuses this layout, size, rate or bitrate: %s\n",
		        strerror(-rc));
		return 2;
	}
	enum mcu_log_level lvl = MCU_LOG_INFO;
	mcu_log_parse_level(cfg.log_level, &lvl); /* checked by config.c */
	mcu_log_set_level(lvl);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	rc = init(&srv, &cert, &cfg);
	if (rc == 0) {
		watch_signal(&srv, SIGINT);
		watch_signal(&srv, SIGTERM);
		rc = server_start(&srv);
	}
	if (rc == 0 && cfg.cluster[0])
		rc = cluster_new(&srv.cluster, &srv);
	if (rc == 0) {
		LOG_I("mcu listening on %s://%s:%d/ (WebSocket /ws), %d event loop%s, DTLS "
		      "fingerprint sha-256 %s",
		      cfg.tls_cert[0] ? "https" : "http", cfg.bind, ws_server_port(srv.ws),
		      srv.nshards, srv.nshards == 1 ? "" : "s", dtls_cert_fingerprint(cert));
		ws_server_run(srv.ws);
	}
	cluster_free(&srv.cluster); /* it reads the server's counters */
	server_fini(&srv);          /* the loops tear down their rooms and finish the recordings */
	ws_server_free(&srv.ws);
	dtls_cert_free(&cert);
	return rc == 0 ? 0 : 1;
}
