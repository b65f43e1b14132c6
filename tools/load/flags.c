/*
 * flags.c - mcu-load's command line (see flags.h): getopt_long, ranges checked, defaults.
 * Main thread, once at start; no state besides the caller's struct load_cfg (which keeps
 * pointers into argv).
 */
#include "flags.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mcu-load --video FILE [options]\n"
	    "  --url URL            signaling WebSocket (ws://127.0.0.1:8080/ws)\n"
	    "  --video FILE         VP8 clip (WebM/MKV/IVF), replayed in a loop\n"
	    "  --audio FILE         Opus clip (WebM/MKV/Ogg); default: the --video file\n"
	    "  --no-audio           send video only\n"
	    "  --rooms R            rooms (fixed, ramp clients) or the most rooms (ramp rooms) "
	    "(1)\n"
	    "  --clients N          clients per room; the most per room with --ramp clients (2)\n"
	    "  --duration S         fixed: run length; ramp: time cap (20; ramp 300)\n"
	    "  --ramp clients|rooms grow clients per room, or rooms of N, step by step\n"
	    "  --ramp-step K        clients (per room) or rooms added per step (1)\n"
	    "  --ramp-interval S    seconds per step (10), of which --settle S (4) unmeasured\n"
	    "  --retries N          re-measure a failed step N times before stopping (1)\n"
	    "  --server-pid PID     report this process's CPU and RSS (the server)\n"
	    "  --json FILE          write every window and every client as JSON\n"
	    "  --recv / --no-recv   count and check what the mix delivers (on)\n"
	    "  --recv-only          clients send nothing (viewers)\n"
	    "  --decode N           the first N clients also decode the mix (VP8, Opus)\n"
	    "  --fps F              the server's output frame rate (30)\n"
	    "  --min-fps-ratio X    held if video fps >= X * F and audio >= X * 50/s (0.8)\n"
	    "  --max-freeze S       held if no gap between video frames exceeds S (1.0)\n"
	    "  --max-loss PCT       held if packet loss stays under PCT (5)\n"
	    "  --connect-timeout S  a client not in media after S seconds fails (20)\n"
	    "  --join-rate N        clients started per second at most (20)\n"
	    "  --room-prefix P      rooms are P-1, P-2, ... (load)\n"
	    "  --bind IP            local address for ICE (127.0.0.1)\n"
	    "  --log-level L        error|warn|info|debug (warn)\n"
	    "  --abuse MODE         the last client misbehaves: nack-flood, pli-flood, "
	    "srtp-replay,\n"
	    "                       garbage or wrong-fingerprint (it is left out of the "
	    "windows)\n"
	    "Exit: 0 when the load held (ramp: at least the first step), 3 when not, 1 on "
	    "error.\n");
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *e;
	double v = strtod(s, &e);
	if (e == s || *e || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	double v;
	if (parse_double(s, lo, hi, &v) < 0 || v != (int)v)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static void cfg_defaults(struct load_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->url = "ws://127.0.0.1:8080/ws";
	c->room_prefix = "load";
	c->bind_ip = "127.0.0.1";
	c->rooms = 1;
	c->clients = 2;
	c->ramp_step = 1;
	c->ramp_interval_s = 10;
	c->settle_s = 4;
	c->duration_s = -1;
	c->retries = 1;
	c->send = c->recv = true;
	c->fps = 30;
	c->min_fps_ratio = 0.8;
	c->max_freeze_s = 1.0;
	c->max_loss_pct = 5;
	c->connect_s = 20;
	c->join_rate = 20;
}

enum {
	OPT_URL = 256,
	OPT_VIDEO,
	OPT_AUDIO,
	OPT_NOAUDIO,
	OPT_ROOMS,
	OPT_CLIENTS,
	OPT_DURATION,
	OPT_RAMP,
	OPT_STEP,
	OPT_INTERVAL,
	OPT_SETTLE,
	OPT_RETRIES,
	OPT_PID,
	OPT_JSON,
	OPT_RECV,
	OPT_NORECV,
	OPT_RECVONLY,
	OPT_DECODE,
	OPT_FPS,
	OPT_RATIO,
	OPT_FREEZE,
	OPT_LOSS,
	OPT_CONNECT,
	OPT_JOINRATE,
	OPT_PREFIX,
	OPT_BIND,
	OPT_LOG,
	OPT_ABUSE,
	OPT_HELP
};

static const struct option options[] = {{"url", 1, 0, OPT_URL},
                                        {"video", 1, 0, OPT_VIDEO},
                                        {"audio", 1, 0, OPT_AUDIO},
                                        {"no-audio", 0, 0, OPT_NOAUDIO},
                                        {"rooms", 1, 0, OPT_ROOMS},
                                        {"clients", 1, 0, OPT_CLIENTS},
                                        {"duration", 1, 0, OPT_DURATION},
                                        {"ramp", 1, 0, OPT_RAMP},
                                        {"ramp-step", 1, 0, OPT_STEP},
                                        {"ramp-interval", 1, 0, OPT_INTERVAL},
                                        {"settle", 1, 0, OPT_SETTLE},
                                        {"retries", 1, 0, OPT_RETRIES},
                                        {"server-pid", 1, 0, OPT_PID},
                                        {"json", 1, 0, OPT_JSON},
                                        {"recv", 0, 0, OPT_RECV},
                                        {"no-recv", 0, 0, OPT_NORECV},
                                        {"recv-only", 0, 0, OPT_RECVONLY},
                                        {"decode", 1, 0, OPT_DECODE},
                                        {"fps", 1, 0, OPT_FPS},
                                        {"min-fps-ratio", 1, 0, OPT_RATIO},
                                        {"max-freeze", 1, 0, OPT_FREEZE},
                                        {"max-loss", 1, 0, OPT_LOSS},
                                        {"connect-timeout", 1, 0, OPT_CONNECT},
                                        {"join-rate", 1, 0, OPT_JOINRATE},
                                        {"room-prefix", 1, 0, OPT_PREFIX},
                                        {"bind", 1, 0, OPT_BIND},
                                        {"log-level", 1, 0, OPT_LOG},
                                        {"abuse", 1, 0, OPT_ABUSE},
                                        {"help", 0, 0, OPT_HELP},
                                        {0, 0, 0, 0}};

static int parse_ramp(const char *s, enum load_mode *m)
{
	if (!strcmp(s, "clients"))
		*m = MODE_RAMP_CLIENTS;
	else if (!strcmp(s, "rooms"))
		*m = MODE_RAMP_ROOMS;
	else
		return -EINVAL;
	return 0;
}

static int parse_opt(struct load_cfg *c, int o, const char *a, bool *no_audio)
{
	enum mcu_log_level lv;
	switch (o) {
	case OPT_URL:
		c->url = a;
		return 0;
	case OPT_VIDEO:
		c->video = a;
		return 0;
	case OPT_AUDIO:
		c->audio = a;
		return 0;
	case OPT_NOAUDIO:
		*no_audio = true;
		return 0;
	case OPT_ROOMS:
		return parse_int(a, 1, LOAD_MAX_CLIENTS, &c->rooms);
	case OPT_CLIENTS:
		return parse_int(a, 1, LOAD_MAX_CLIENTS, &c->clients);
	case OPT_DURATION:
		return parse_double(a, 1, 86400, &c->duration_s);
	case OPT_RAMP:
		return parse_ramp(a, &c->mode);
	case OPT_STEP:
		return parse_int(a, 1, LOAD_MAX_CLIENTS, &c->ramp_step);
	case OPT_INTERVAL:
		return parse_double(a, 1, 3600, &c->ramp_interval_s);
	case OPT_SETTLE:
		return parse_double(a, 0, 3600, &c->settle_s);
	case OPT_RETRIES:
		return parse_int(a, 0, 10, &c->retries);
	case OPT_PID:
		return parse_int(a, 1, 1 << 30, &c->server_pid);
	case OPT_JSON:
		c->json = a;
		return 0;
	case OPT_RECV:
		c->recv = true;
		return 0;
	case OPT_NORECV:
		c->recv = false;
		return 0;
	case OPT_RECVONLY:
		c->send = false;
		return 0;
	case OPT_DECODE:
		return parse_int(a, 0, LOAD_MAX_CLIENTS, &c->decode);
	case OPT_FPS:
		return parse_double(a, 1, 120, &c->fps);
	case OPT_RATIO:
		return parse_double(a, 0, 1, &c->min_fps_ratio);
	case OPT_FREEZE:
		return parse_double(a, 0.01, 3600, &c->max_freeze_s);
	case OPT_LOSS:
		return parse_double(a, 0, 100, &c->max_loss_pct);
	case OPT_CONNECT:
		return parse_double(a, 1, 3600, &c->connect_s);
	case OPT_JOINRATE:
		return parse_int(a, 1, 10000, &c->join_rate);
	case OPT_PREFIX:
		c->room_prefix = a;
		return 0;
	case OPT_BIND:
		c->bind_ip = a;
		return 0;
	case OPT_ABUSE:
		return abuse_parse(a, &c->abuse);
	case OPT_LOG:
		if (mcu_log_parse_level(a, &lv) < 0)
			return -EINVAL;
		mcu_log_set_level(lv);
		return 0;
	default:
		return -EINVAL;
	}
}

int load_parse_args(struct load_cfg *c, int argc, char **argv)
{
	bool no_audio = false;
	int o;
	cfg_defaults(c);
	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (o == OPT_HELP) {
			usage(stdout);
			return 1;
		}
		if (parse_opt(c, o, optarg, &no_audio) < 0) {
			fprintf(stderr, "mcu-load: bad option %s%s%s\n", argv[optind - 1],
			        optarg ? " " : "", optarg ? optarg : "");
			return -EINVAL;
		}
	}
	if (optind < argc || (!c->video && !c->audio && c->send)) {
		usage(stderr);
		return -EINVAL;
	}
	if (!c->audio && !no_audio)
		c->audio = c->video;
	if (no_audio)
		c->audio = NULL;
	if (c->duration_s < 0)
		c->duration_s = c->mode == MODE_FIXED ? 20 : 300;
	double span = c->mode == MODE_FIXED ? c->duration_s : c->ramp_interval_s;
	if (span <= c->settle_s + 0.5 || (long)c->rooms * c->clients > LOAD_MAX_CLIENTS) {
		fprintf(stderr,
		        "mcu-load: the window (duration or ramp interval minus settle) "
		        "must exceed 0.5 s, and rooms x clients <= %d\n",
		        LOAD_MAX_CLIENTS);
		return -EINVAL;
	}
	return 0;
}
