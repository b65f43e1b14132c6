/*
 * main.c - the mcu server: configuration, the DTLS certificate, the media thread (a GLib main
 * loop running every room and peer) and the signaling thread (this one: the libwebsockets
 * loop). SIGINT/SIGTERM stop both loops; rooms and peers are torn down on the media thread,
 * and every recording is finished (trailer, cues) before the process exits.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <glib.h>

#include "auth/token_cli.h"
#include "config.h"
#include "log.h"
#include "net/dtls.h"
#include "net/netsim.h"
#include "session/peer.h"
#include "session/room.h"
#include "session/server.h"
#include "signal/ws.h"

static void *media_main(void *arg)
{
	struct server *s = arg;
	g_main_context_push_thread_default(s->ctx);
	g_main_loop_run(s->loop);
	/* Tear down whatever is left, on the thread that owns it. */
	while (s->npeers > 0) {
		struct peer *p = s->peers[s->npeers - 1];
		struct room *r = p->room;
		server_remove_peer(s, p);
		if (r)
			room_remove_peer(r, p);
		if (r && r->npeers == 0) {
			server_remove_room(s, r);
			room_free(&r);
		}
		peer_free(&p);
	}
	server_free_recorders(s); /* waits for the writer threads to finish their files */
	/* Let libnice finish its asynchronous closes. */
	while (g_main_context_iteration(s->ctx, FALSE))
		;
	g_main_context_pop_thread_default(s->ctx);
	return NULL;
}

static gboolean on_signal(gpointer data)
{
	struct server *s = data;
	LOG_I("shutting down");
	ws_server_stop(s->ws);
	g_main_loop_quit(s->loop);
	return G_SOURCE_REMOVE;
}

static void watch_signal(struct server *s, int signum)
{
	GSource *src = g_unix_signal_source_new(signum);
	g_source_set_callback(src, on_signal, s, NULL);
	g_source_attach(src, s->ctx);
	g_source_unref(src);
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

static int init(struct server *s, const struct mcu_config *c)
{
	char err[256] = "";
	s->cfg = c;
	pthread_mutex_init(&s->snap_lock, NULL);
	if (c->netsim[0]) { /* --netsim: checked here, applied per peer (session/peer.c) */
		struct netsim_cfg ns;
		if (netsim_parse(c->netsim, &ns, err, sizeof(err)) < 0) {
			LOG_E("netsim spec '%s': %s", c->netsim, err);
			return -EINVAL;
		}
		netsim_describe(&ns, err, sizeof(err));
		LOG_W("netsim: impairing every peer's SRTP/SRTCP both ways (test option): %s", err);
	}
	int rc = dtls_cert_new(&s->cert, c->dtls_cert[0] ? c->dtls_cert : NULL,
	                       c->dtls_key[0] ? c->dtls_key : NULL, err, sizeof(err));
	if (rc < 0) {
		LOG_E("DTLS certificate: %s", err);
		return rc;
	}
	s->ctx = g_main_context_new();
	s->loop = g_main_loop_new(s->ctx, FALSE);
	return start_ws(s, c);
}

static void fini(struct server *s)
{
	ws_server_free(&s->ws);
	if (s->loop)
		g_main_loop_unref(s->loop);
	if (s->ctx)
		g_main_context_unref(s->ctx);
	dtls_cert_free(&s->cert);
	free(s->rooms);
	free(s->peers);
	free(s->rooms_json);
	free(s->recs_json);
	pthread_mutex_destroy(&s->snap_lock);
}

int main(int argc, char **argv)
{
	static struct mcu_config cfg;
	static struct server srv;
	if (argc > 1 && !strcmp(argv[1], "token"))
		return token_cli(argc - 1, argv + 1);
	int rc = mcu_config_load(&cfg, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	enum mcu_log_level lvl;
	if (mcu_log_parse_level(cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "mcu: unknown log level '%s'\n", cfg.log_level);
		return 2;
	}
	mcu_log_set_level(lvl);
	signal(SIGPIPE, SIG_IGN);
	if (init(&srv, &cfg) < 0) {
		fini(&srv);
		return 1;
	}
	server_update_snapshot(&srv);
	watch_signal(&srv, SIGINT);
	watch_signal(&srv, SIGTERM);
	pthread_t media;
	pthread_create(&media, NULL, media_main, &srv);
	LOG_I("mcu listening on %s://%s:%d/ (WebSocket /ws), DTLS fingerprint sha-256 %s",
	      cfg.tls_cert[0] ? "https" : "http", cfg.bind, ws_server_port(srv.ws),
	      dtls_cert_fingerprint(srv.cert));
	ws_server_run(srv.ws);
	g_main_loop_quit(srv.loop);
	pthread_join(media, NULL);
	fini(&srv);
	return 0;
}
