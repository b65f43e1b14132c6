/*
 * main.c - mcu-load: WebRTC load generator for the mcu server (issue 6). Many participants in
 * one process, each with real signaling (WebSocket JSON), ICE (libnice, controlling),
 * DTLS-SRTP and RTP/RTCP, sending a pre-encoded clip read once (nothing is encoded per
 * client) and measuring what the mix delivers: frame rate, freezes, loss.
 *
 * Modes: fixed (R rooms of N clients for --duration seconds, one measured window), ramp
 * clients (grow every room by --ramp-step clients per step) and ramp rooms (add --ramp-step
 * rooms of N clients per step). Each step settles, then measures a window; a step holds when
 * every client is connected, every receiver gets video at >= min-fps-ratio x --fps and audio
 * at >= that ratio of 50 packets/s, no video gap exceeds --max-freeze, loss stays under
 * --max-loss both ways (downlink from sequence gaps at our receivers, uplink from the server's
 * RTCP receiver reports about our streams). A ramp stops at the first step that fails (after
 * --retries re-measurements), at the largest load asked for, or at --duration; it reports the
 * largest load held, with the server's CPU and RSS (/proc, --server-pid) and the datagrams the
 * kernel dropped on the server's and on our own UDP sockets (receive buffers full).
 *
 * Threads: everything runs on the main thread's GLib loop (a GMainContext of its own, which
 * libnice needs): clients, a 5 ms tick that drives their media and timers, and the 100 ms
 * controller below. The only other thread is sigws's libwebsockets service thread, which
 * posts signaling events to this loop (see sigws.h). Ownership: struct load owns everything;
 * no globals, so two instances could share a process.
 */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "flags.h"
#include "load.h"
#include "log.h"
#include "media.h"
#include "net/dtls.h"
#include "report.h"
#include "sigws.h"

#define TICK_MS    5
#define CONTROL_MS 100
#define AUDIO_PPS  50.0

enum phase { PH_STARTING, PH_SETTLE, PH_WINDOW, PH_DONE };

struct load {
	struct load_cfg cfg;
	GMainContext *ctx;
	GMainLoop *loop;
	struct sigws *ws;
	struct dtls_cert *cert;
	struct clip *clip;
	struct client_env env;
	struct client *clients[LOAD_MAX_CLIENTS];
	int nclients, nstarted;
	int rooms, per_room; /* the load asked for now */
	int64_t t0;
	enum phase phase;
	int64_t phase_at;
	int tries;
	bool interrupted;
	/* the open window */
	bool in_window[LOAD_MAX_CLIENTS];
	struct recv_snap snap0[LOAD_MAX_CLIENTS];
	struct client_uplink up0[LOAD_MAX_CLIENTS][2];
	struct proc_sample srv0;
	double gen0;
	int64_t srv_drops0, gen_drops0;
	/* results */
	struct step_result rows[LOAD_MAX_STEPS];
	int nrows, held;
	unsigned sources[4]; /* tick, controller, SIGINT, SIGTERM: removed when the run ends */
	int nsources;
};

static int64_t now_us(void)
{
	return g_get_monotonic_time();
}

/* ---- load plan ---- */

static int add_client(struct load *l, int room)
{
	char rname[65], name[32];
	if (l->nclients >= LOAD_MAX_CLIENTS)
		return -ENOSPC;
	snprintf(rname, sizeof(rname), "%s-%d", l->cfg.room_prefix, room + 1);
	snprintf(name, sizeof(name), "c%d", l->nclients + 1);
	int i = l->nclients;
	int rc = client_new(&l->clients[i], &l->env, i, rname, name, i < l->cfg.decode);
	if (rc == 0)
		l->nclients++;
	return rc;
}

/* Creates the clients of rooms x per_room that do not exist yet (started by the controller). */
static int grow_to(struct load *l, int rooms, int per_room)
{
	int have_per_room = l->per_room;
	for (int r = 0; r < rooms; r++) {
		int from = r < l->rooms ? have_per_room : 0;
		for (int k = from; k < per_room; k++)
			if (add_client(l, r) < 0)
				return -ENOSPC;
	}
	l->rooms = rooms;
	l->per_room = per_room;
	return 0;
}

/* The next step's load, or false when the ramp is at its end. */
static bool next_load(const struct load *l, int *rooms, int *per_room)
{
	const struct load_cfg *c = &l->cfg;
	*rooms = l->rooms;
	*per_room = l->per_room;
	if (c->mode == MODE_RAMP_CLIENTS && l->per_room < c->clients)
		*per_room = l->per_room + c->ramp_step > c->clients ? c->clients
		                                                    : l->per_room + c->ramp_step;
	else if (c->mode == MODE_RAMP_ROOMS && l->rooms < c->rooms)
		*rooms = l->rooms + c->ramp_step > c->rooms ? c->rooms : l->rooms + c->ramp_step;
	else
		return false;
	return *rooms * *per_room <= LOAD_MAX_CLIENTS;
}

/* ---- the measured window ---- */

static void open_window(struct load *l, int64_t now)
{
	for (int i = 0; i < l->nclients; i++) {
		struct client *c = l->clients[i];
		l->in_window[i] = c->state == CL_MEDIA && c->abuse.mode == ABUSE_NONE;
		recv_window_reset(&c->rcv, now);
		recv_snap(&c->rcv, now, &l->snap0[i]);
		memcpy(l->up0[i], c->up, sizeof(c->up));
		c->replay.max_lag_us = 0;
	}
	proc_sample(l->cfg.server_pid, &l->srv0);
	l->gen0 = self_cpu_s();
	l->srv_drops0 = proc_udp_drops(l->cfg.server_pid);
	l->gen_drops0 = proc_udp_drops(getpid());
	l->phase = PH_WINDOW;
	l->phase_at = now;
}

static double pct_lost(uint64_t expected, uint64_t received)
{
	if (expected == 0 || received >= expected)
		return 0;
	return 100.0 * (double)(expected - received) / (double)expected;
}

/* Our streams' loss in the window as the server's receiver reports say (-1: no reports). */
static double uplink_loss(const struct client_uplink *a, const struct client_uplink *b)
{
	if (!a->have || !b->have || (int32_t)(b->ext_max - a->ext_max) <= 0)
		return -1;
	double lost = b->lost - a->lost, expected = (int32_t)(b->ext_max - a->ext_max);
	return lost <= 0 ? 0 : 100.0 * lost / expected;
}

/* Per-receiver figures of the window, folded into r. */
static void measure_client(struct load *l, int i, int64_t now, struct step_result *r,
                           uint64_t tot[2])
{
	struct client *c = l->clients[i];
	struct recv_snap s, *s0 = &l->snap0[i];
	recv_snap(&c->rcv, now, &s);
	double dt = (now - s0->t_us) / 1e6;
	double fps = (s.frames - s0->frames) / dt, aps = (s.audio_pkts - s0->audio_pkts) / dt;
	double vl = pct_lost(s.vexpected - s0->vexpected, s.vreceived - s0->vreceived);
	double al = pct_lost(s.aexpected - s0->aexpected, s.areceived - s0->areceived);
	if (r->measured == 0 || fps < r->fps_min)
		r->fps_min = fps;
	if (r->measured == 0 || aps < r->audio_min)
		r->audio_min = aps;
	r->fps_mean += fps;
	r->measured++;
	r->freezes += s.freezes - s0->freezes;
	if (s.max_gap_us / 1000.0 > r->freeze_max_ms)
		r->freeze_max_ms = s.max_gap_us / 1000.0;
	if (vl > r->vloss_max_pct)
		r->vloss_max_pct = vl;
	if (al > r->aloss_max_pct)
		r->aloss_max_pct = al;
	tot[0] += (s.vexpected - s0->vexpected) + (s.aexpected - s0->aexpected);
	tot[1] += (s.vreceived - s0->vreceived) + (s.areceived - s0->areceived);
	r->decoded_frames += s.decoded_frames - s0->decoded_frames;
	for (int k = 0; k < 2; k++) {
		double up = uplink_loss(&l->up0[i][k], &c->up[k]);
		if (up > r->uploss_max_pct)
			r->uploss_max_pct = up;
	}
}

static void add_reason(struct step_result *r, const char *fmt, double a, double b)
{
	size_t n = strlen(r->reason);
	if (n + 2 >= sizeof(r->reason))
		return;
	snprintf(r->reason + n, sizeof(r->reason) - n, n ? "; " : "");
	n = strlen(r->reason);
	snprintf(r->reason + n, sizeof(r->reason) - n, fmt, a, b);
}

static void judge(const struct load *l, struct step_result *r, int lost_clients)
{
	const struct load_cfg *c = &l->cfg;
	if (r->connected < r->clients)
		add_reason(r, "%.0f of %.0f clients not in media", r->clients - r->connected,
		           r->clients);
	if (lost_clients > 0)
		add_reason(r, "%.0f receivers failed in the window%.0s", lost_clients, 0);
	if (c->recv && r->measured == 0)
		add_reason(r, "no receiver to measure%.0s%.0s", 0, 0);
	if (c->recv && r->measured > 0) {
		if (r->fps_min < c->min_fps_ratio * c->fps)
			add_reason(r, "video %.1f fps < %.1f", r->fps_min,
			           c->min_fps_ratio * c->fps);
		if (r->audio_min < c->min_fps_ratio * AUDIO_PPS)
			add_reason(r, "audio %.1f pkt/s < %.1f", r->audio_min,
			           c->min_fps_ratio * AUDIO_PPS);
		if (r->freeze_max_ms > c->max_freeze_s * 1000)
			add_reason(r, "freeze %.0f ms > %.0f", r->freeze_max_ms,
			           c->max_freeze_s * 1000);
		double loss =
		    r->vloss_max_pct > r->aloss_max_pct ? r->vloss_max_pct : r->aloss_max_pct;
		if (loss > c->max_loss_pct)
			add_reason(r, "loss %.1f%% > %.1f%%", loss, c->max_loss_pct);
	}
	if (r->uploss_max_pct > c->max_loss_pct)
		add_reason(r, "uplink loss %.1f%% > %.1f%% (server's reports)", r->uploss_max_pct,
		           c->max_loss_pct);
	r->pass = r->reason[0] == '\0';
	if (r->gen_cpu_pct > 90 || r->send_lag_max_ms > 200)
		add_reason(r, "note: mcu-load itself at %.0f%% CPU, send lag %.0f ms",
		           r->gen_cpu_pct, r->send_lag_max_ms);
}

static void close_window(struct load *l, int64_t now)
{
	struct step_result *r = &l->rows[l->nrows];
	memset(r, 0, sizeof(*r));
	r->step = l->nrows + 1;
	r->t_s = (now - l->t0) / 1e6;
	r->rooms = l->rooms;
	r->clients = l->nclients;
	r->window_s = (now - l->phase_at) / 1e6;
	uint64_t tot[2] = {0, 0};
	int lost = 0;
	for (int i = 0; i < l->nclients; i++) {
		struct client *c = l->clients[i];
		r->connected += c->state == CL_MEDIA;
		r->failed += c->state == CL_FAILED;
		r->send_errors += c->n.send_errors;
		r->other_pkts += c->rcv.other_pkts;
		r->decode_errors += c->rcv.decode_errors;
		if (client_connect_ms(c) > r->connect_ms_max)
			r->connect_ms_max = client_connect_ms(c);
		if (c->replay.max_lag_us / 1000.0 > r->send_lag_max_ms)
			r->send_lag_max_ms = c->replay.max_lag_us / 1000.0;
		if (l->in_window[i] && c->state != CL_MEDIA)
			lost++;
		else if (l->in_window[i] && l->cfg.recv)
			measure_client(l, i, now, r, tot);
	}
	if (r->measured > 0)
		r->fps_mean /= r->measured;
	r->loss_mean_pct = pct_lost(tot[0], tot[1]);
	struct proc_sample s1;
	r->srv_cpu_pct = r->srv_rss_mib = r->srv_hwm_mib = -1;
	if (proc_sample(l->cfg.server_pid, &s1) == 0 && l->srv0.ok) {
		r->srv_cpu_pct = 100.0 * (s1.cpu_s - l->srv0.cpu_s) / r->window_s;
		r->srv_rss_mib = s1.rss_mib;
		r->srv_hwm_mib = s1.hwm_mib;
	}
	r->gen_cpu_pct = 100.0 * (self_cpu_s() - l->gen0) / r->window_s;
	int64_t sd = proc_udp_drops(l->cfg.server_pid), gd = proc_udp_drops(getpid());
	r->srv_udp_drops = sd >= 0 && l->srv_drops0 >= 0 ? sd - l->srv_drops0 : -1;
	r->gen_udp_drops = gd >= 0 && l->gen_drops0 >= 0 ? gd - l->gen_drops0 : -1;
	judge(l, r, lost);
	l->nrows++;
	report_row(stdout, r);
}

/* ---- controller ---- */

static void start_step(struct load *l, int64_t now)
{
	l->phase = PH_STARTING;
	l->phase_at = now;
	l->tries = 0;
}

/* After a window: the next step, a re-measurement, or the end. */
static void after_window(struct load *l, int64_t now)
{
	const struct load_cfg *c = &l->cfg;
	struct step_result *r = &l->rows[l->nrows - 1];
	int rooms, per_room;
	bool time_left = (now - l->t0) / 1e6 + c->ramp_interval_s <= c->duration_s;
	if (c->mode == MODE_FIXED || l->nrows >= LOAD_MAX_STEPS || l->interrupted) {
		l->phase = PH_DONE;
	} else if (r->pass) {
		l->held = l->nrows - 1;
		if (time_left && next_load(l, &rooms, &per_room) &&
		    grow_to(l, rooms, per_room) == 0)
			start_step(l, now);
		else
			l->phase = PH_DONE;
	} else if (l->tries < c->retries && time_left && r->connected == r->clients) {
		l->tries++; /* measure the same load again, at once */
		l->phase = PH_SETTLE;
		l->phase_at = now - (int64_t)(c->settle_s * 1e6);
	} else {
		l->phase = PH_DONE;
	}
}

static void start_clients(struct load *l, int64_t now)
{
	int budget = l->cfg.join_rate * CONTROL_MS / 1000;
	if (budget < 1)
		budget = 1;
	while (l->nstarted < l->nclients && budget-- > 0)
		client_start(l->clients[l->nstarted++], now);
	if (l->nstarted == l->nclients) {
		l->phase = PH_SETTLE;
		l->phase_at = now;
	}
}

static gboolean on_control(gpointer data)
{
	struct load *l = data;
	int64_t now = now_us();
	const struct load_cfg *c = &l->cfg;
	double window_s =
	    (c->mode == MODE_FIXED ? c->duration_s : c->ramp_interval_s) - c->settle_s;
	if (l->interrupted && l->phase != PH_WINDOW)
		l->phase = PH_DONE;
	if (l->phase == PH_STARTING)
		start_clients(l, now);
	else if (l->phase == PH_SETTLE && now - l->phase_at >= (int64_t)(c->settle_s * 1e6))
		open_window(l, now);
	else if (l->phase == PH_WINDOW &&
	         (now - l->phase_at >= (int64_t)(window_s * 1e6) || l->interrupted)) {
		close_window(l, now);
		after_window(l, now);
	}
	if (l->phase == PH_DONE) {
		g_main_loop_quit(l->loop);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_tick(gpointer data)
{
	struct load *l = data;
	int64_t now = now_us();
	for (int i = 0; i < l->nstarted; i++)
		client_tick(l->clients[i], now);
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	struct load *l = data;
	l->interrupted = true;
	return G_SOURCE_CONTINUE;
}

/* ---- set-up and tear-down ---- */

static int load_setup(struct load *l)
{
	char err[256] = "";
	const struct load_cfg *c = &l->cfg;
	int rc = c->send ? clip_load(&l->clip, c->video, c->audio, err, sizeof(err)) : 0;
	if (rc == 0 && dtls_cert_new(&l->cert, NULL, NULL, err, sizeof(err)) < 0)
		rc = -EIO;
	if (rc < 0) {
		fprintf(stderr, "mcu-load: %s\n", err);
		return rc;
	}
	l->ctx = g_main_context_new();
	l->loop = g_main_loop_new(l->ctx, FALSE);
	if (sigws_new(&l->ws, l->ctx) < 0) {
		fprintf(stderr, "mcu-load: cannot start the WebSocket client\n");
		return -EIO;
	}
	l->env = (struct client_env){.ctx = l->ctx,
	                             .ws = l->ws,
	                             .cert = l->cert,
	                             .clip = l->clip,
	                             .url = c->url,
	                             .bind_ip = c->bind_ip,
	                             .freeze_us = (int64_t)(1e6 / c->fps) * 3 > 183000
	                                              ? (int64_t)(1e6 / c->fps) * 3
	                                              : 183000,
	                             .connect_us = (int64_t)(c->connect_s * 1e6),
	                             .send = c->send,
	                             .recv = c->recv};
	return 0;
}

static void add_source(struct load *l, GSource *s, GSourceFunc fn)
{
	g_source_set_callback(s, fn, l, NULL);
	l->sources[l->nsources++] = g_source_attach(s, l->ctx);
	g_source_unref(s);
}

static void remove_sources(struct load *l)
{
	for (int i = 0; i < l->nsources; i++) {
		GSource *s = g_main_context_find_source_by_id(l->ctx, l->sources[i]);
		if (s)
			g_source_destroy(s);
	}
	l->nsources = 0;
}

/* Runs the loop for ms milliseconds (lets closes and libnice's async frees finish). */
static void spin(struct load *l, int ms)
{
	int64_t end = now_us() + ms * 1000LL;
	while (now_us() < end)
		g_main_context_iteration(l->ctx, FALSE) ? (void)0 : g_usleep(2000);
}

static void load_teardown(struct load *l)
{
	for (int i = 0; i < l->nclients; i++)
		client_stop(l->clients[i]);
	if (l->ctx)
		spin(l, 300);
	sigws_free(&l->ws);
	if (l->ctx)
		spin(l, 100);
	for (int i = 0; i < l->nclients; i++)
		client_free(&l->clients[i]);
	if (l->ctx)
		spin(l, 50);
	if (l->loop)
		g_main_loop_unref(l->loop);
	if (l->ctx)
		g_main_context_unref(l->ctx);
	dtls_cert_free(&l->cert);
	clip_free(&l->clip);
}

static void print_summary(const struct load *l)
{
	const struct step_result *h = l->held >= 0 ? &l->rows[l->held] : NULL;
	if (!h) {
		printf("held: nothing (the first window failed)\n");
		return;
	}
	printf("held: %d rooms, %d clients: video >= %.1f fps (mean %.1f), longest freeze %.0f "
	       "ms, loss <= %.2f%%, server %.0f%% CPU, %.0f MiB RSS\n",
	       h->rooms, h->clients, h->fps_min, h->fps_mean, h->freeze_max_ms,
	       h->vloss_max_pct > h->aloss_max_pct ? h->vloss_max_pct : h->aloss_max_pct,
	       h->srv_cpu_pct, h->srv_rss_mib);
}

static int run(struct load *l)
{
	const struct load_cfg *c = &l->cfg;
	int rooms = c->rooms, per_room = c->clients;
	if (c->mode == MODE_RAMP_CLIENTS)
		per_room = c->ramp_step < c->clients ? c->ramp_step : c->clients;
	else if (c->mode == MODE_RAMP_ROOMS)
		rooms = c->ramp_step < c->rooms ? c->ramp_step : c->rooms;
	if (grow_to(l, rooms, per_room) < 0)
		return -ENOSPC;
	if (c->abuse != ABUSE_NONE && client_set_abuse(l->clients[l->nclients - 1], c->abuse) < 0)
		return -ENOMEM;
	l->held = -1;
	l->t0 = now_us();
	start_step(l, l->t0);
	add_source(l, g_timeout_source_new(TICK_MS), on_tick);
	add_source(l, g_timeout_source_new(CONTROL_MS), on_control);
	add_source(l, g_unix_signal_source_new(SIGINT), on_signal);
	add_source(l, g_unix_signal_source_new(SIGTERM), on_signal);
	report_header(stdout);
	g_main_loop_run(l->loop);
	remove_sources(l);
	if (c->mode == MODE_FIXED && l->nrows > 0 && l->rows[0].pass)
		l->held = 0;
	print_summary(l);
	report_clients(stdout, l->clients, l->nclients);
	return 0;
}

int main(int argc, char **argv)
{
	struct load *l = calloc(1, sizeof(*l));
	if (!l)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	mcu_log_set_level(MCU_LOG_WARN);
	int rc = load_parse_args(&l->cfg, argc, argv);
	if (rc != 0) {
		free(l);
		return rc > 0 ? 0 : 2;
	}
	rc = load_setup(l);
	if (rc == 0)
		rc = run(l);
	const char *verdict = rc < 0 ? "error" : l->held >= 0 ? "held" : "not-held";
	if (rc == 0 && l->cfg.json &&
	    report_json(l->cfg.json, &l->cfg, l->rows, l->nrows,
	                l->held >= 0 ? &l->rows[l->held] : NULL, verdict, l->clients,
	                l->nclients) < 0) {
		fprintf(stderr, "mcu-load: cannot write %s\n", l->cfg.json);
		rc = -EIO;
	}
	load_teardown(l);
	free(l);
	return rc < 0 ? 1 : !strcmp(verdict, "held") ? 0 : 3;
}
