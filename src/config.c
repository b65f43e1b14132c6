/*
 * config.c - defaults, the JSON config file and the command-line flags (see config.h).
 * Main thread, at start-up only.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"

static void defaults(struct mcu_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
	c->port = 8080;
	snprintf(c->www, sizeof(c->www), "assets/www");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->max_rooms = 64;
	c->max_participants = 100;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	c->loops = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
	snprintf(c->layout, sizeof(c->layout), "grid");
	c->width = 1280;
	c->height = 720;
	c->fps = 30;
	c->video_bitrate = 1500000;
	c->audio_bitrate = 32000;
	c->max_mixed = 4;
	c->playout_delay_ms = 80;
	c->playout_delay_min_ms = 0;
	c->uplink_bitrate = 1500000;
	c->transport_cc = false;
	c->uplink_transport_cc = false;
	c->rtx = true;
	c->opus_dtx = false;
	snprintf(c->ice_servers_json, sizeof(c->ice_servers_json), "[]");
	snprintf(c->recordings_dir, sizeof(c->recordings_dir), "recordings");
	c->tile_names = true;
	c->ws_msg_rate = 20;
	c->ws_msg_burst = 50;
}

static void usage(FILE *f, const struct mcu_config *c)
{
	fprintf(
	    f,
	    "usage: mcu [options]\n"
	    "A WebRTC MCU: browsers join rooms and get one mixed video and audio stream back.\n\n"
	    "  --bind ADDR          address for HTTP/WebSocket and media (default 127.0.0.1)\n"
	    "  --port N             HTTP/WebSocket port (default 8080)\n"
	    "  --config FILE        JSON config file with any of the keys below\n"
	    "  --public-ip ADDR     address to advertise in ICE candidates (behind NAT)\n"
	    "  --www DIR            demo page directory (default assets/www)\n"
	    "  --tls-cert PEM --tls-key PEM   serve HTTPS/WSS\n"
	    "  --log-level LEVEL    error | warn | info | debug (default info)\n"
	    "  --recordings-dir DIR where API and participant recordings go (default recordings)\n"
	    "  --record ROOM=PATH   record ROOM from its first participant into PATH (.webm,\n"
	    "                       .mkv or .mp4); may be repeated for other rooms\n"
	    "  --secret-file FILE   shared secret for access tokens (or MCU_SECRET in the\n"
	    "                       environment); with a secret, joins and /api need a token\n"
	    "  --ladder SPEC        the video outputs recipients are placed on, best first, by\n"
	    "                       their device's receive profile and their link:\n"
	    "                       WxH@FPS:KBITS[:AUDIO_KBITS],... (default from width, height,\n"
	    "                       fps, video_bitrate, audio_bitrate: 1280x720@30:1500:32,\n"
	    "                       640x360@30:600:32,640x360@15:375:24,320x180@15:150:16);\n"
	    "                       AUDIO_KBITS is the rung's Opus bitrate, 6 up to\n"
	    "                       audio_bitrate / 1000 (default audio_bitrate on the top two\n"
	    "                       rungs, 24 between, 16 on the lowest, which audio only uses)\n"
	    "  --loops N            event loops (threads running rooms; default: one per core,\n"
	    "                       here %d); 1 runs every room on one media thread\n"
	    "  --netsim SPEC        test option: impair media packets on every peer, both ways,\n"
	    "                       e.g. loss=5,delay=30,jitter=10,reorder=2 (percent, ms)\n"
	    "  -h, --help           this help\n\n"
	    "Config file keys (JSON object): bind, port, www, public_ip, tls_cert, tls_key,\n"
	    "dtls_cert, dtls_key (PEM; generated at start if absent), log_level, max_rooms (64),\n"
	    "max_participants (100), loops (one per core), layout (\"grid\" | \"speaker\"), "
	    "exclude_self (false),\n"
	    "width (1280), height (720), fps (30), video_bitrate (1500000), audio_bitrate "
	    "(32000),\n"
	    "max_mixed (4), playout_delay_ms (80: the most the adaptive playout delay may grow "
	    "to),\n"
	    "playout_delay_min_ms (0: the least; min = max gives a fixed delay), uplink_bitrate "
	    "(1500000), ladder (as "
	    "--ladder),\n"
	    "uplink_transport_cc (false; true, experimental: where the browser offers "
	    "transport-wide\n"
	    "congestion control on video, take it and send feedback on what it sends, for its own\n"
	    "uplink estimate; the browser keeps sending REMB for our downlink),\n"
	    "transport_cc (false: the browser's REMB estimates our downlink; true, experimental: "
	    "our\n"
	    "packets carry transport-wide seqs and our own estimate from its feedback moves the\n"
	    "ladder, with padding probes before each step up),\n"
	    "rtx (true: retransmissions on an RTX stream, RFC 4588, where the browser offers it),\n"
	    "opus_dtx (false: true asks browsers for Opus DTX, usedtx=1: a silent one sends a "
	    "packet\n"
	    "every 400 ms, but a tone-like voice loses more under packet loss),\n"
	    "recordings_dir (\"recordings\"), participant_recording (false: whether participants\n"
	    "may start and stop recordings with a \"record\" message),\n"
	    "ice_servers (array of RTCIceServer objects handed to the demo page, e.g.\n"
	    "[{\"urls\":\"stun:stun.example.org:3478\"}]),\n"
	    "tile_names (true), ws_msg_rate (20 messages/s per connection), ws_msg_burst (50),\n"
	    "secret (shared secret for access tokens, \"\" = open), netsim (as --netsim).\n"
	    "\n"
	    "  mcu token ROOM [--role participant|admin] [--ttl SECONDS] prints a token signed\n"
	    "  with the secret (--secret-file or MCU_SECRET); admin tokens allow every /api "
	    "call.\n",
	    c->loops);
}

static int set_str(char *dst, size_t n, const char *v, const char *key)
{
	if (strlen(v) >= n) {
		fprintf(stderr, "mcu: value of %s is too long\n", key);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int file_str(json_t *o, const char *key, char *dst, size_t n)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		fprintf(stderr, "mcu: config: %s must be a string\n", key);
		return -EINVAL;
	}
	return set_str(dst, n, json_string_value(v), key);
}

static int file_int(json_t *o, const char *key, int *dst, int lo, int hi)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		fprintf(stderr, "mcu: config: %s must be an integer in %d..%d\n", key, lo, hi);
		return -EINVAL;
	}
	*dst = (int)json_integer_value(v);
	return 0;
}

static int file_bool(json_t *o, const char *key, bool *dst)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		fprintf(stderr, "mcu: config: %s must be true or false\n", key);
		return -EINVAL;
	}
	*dst = json_is_true(v);
	return 0;
}

static int file_ice_servers(json_t *o, struct mcu_config *c)
{
	json_t *v = json_object_get(o, "ice_servers");
	if (!v)
		return 0;
	char *s = json_is_array(v) ? json_dumps(v, JSON_COMPACT) : NULL;
	int rc = s ? set_str(c->ice_servers_json, sizeof(c->ice_servers_json), s, "ice_servers")
	           : -EINVAL;
	if (!s)
		fprintf(stderr, "mcu: config: ice_servers must be an array\n");
	free(s);
	return rc;
}

static int load_file(struct mcu_config *c, const char *path)
{
	json_error_t je;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!o || !json_is_object(o)) {
		fprintf(stderr, "mcu: %s:%d: %s\n", path, je.line, o ? "not an object" : je.text);
		json_decref(o);
		return -EINVAL;
	}
	int rc = file_str(o, "bind", c->bind, sizeof(c->bind));
	rc = rc ?: file_int(o, "port", &c->port, 0, 65535);
	rc = rc ?: file_str(o, "www", c->www, sizeof(c->www));
	rc = rc ?: file_str(o, "public_ip", c->public_ip, sizeof(c->public_ip));
	rc = rc ?: file_str(o, "tls_cert", c->tls_cert, sizeof(c->tls_cert));
	rc = rc ?: file_str(o, "tls_key", c->tls_key, sizeof(c->tls_key));
	rc = rc ?: file_str(o, "dtls_cert", c->dtls_cert, sizeof(c->dtls_cert));
	rc = rc ?: file_str(o, "dtls_key", c->dtls_key, sizeof(c->dtls_key));
	rc = rc ?: file_str(o, "log_level", c->log_level, sizeof(c->log_level));
	rc = rc ?: file_int(o, "max_rooms", &c->max_rooms, 1, 10000);
	rc = rc ?: file_int(o, "max_participants", &c->max_participants, 1, 1000);
	rc = rc ?: file_int(o, "loops", &c->loops, 1, 64);
	rc = rc ?: file_str(o, "layout", c->layout, sizeof(c->layout));
	rc = rc ?: file_bool(o, "exclude_self", &c->exclude_self);
	rc = rc ?: file_int(o, "width", &c->width, 16, 4096);
	rc = rc ?: file_int(o, "height", &c->height, 16, 4096);
	rc = rc ?: file_int(o, "fps", &c->fps, 1, 60);
	rc = rc ?: file_int(o, "video_bitrate", &c->video_bitrate, 30000, 50000000);
	rc = rc ?: file_int(o, "audio_bitrate", &c->audio_bitrate, 6000, 510000);
	rc = rc ?: file_int(o, "max_mixed", &c->max_mixed, 1, 64);
	rc = rc ?: file_int(o, "playout_delay_ms", &c->playout_delay_ms, 0, 1000);
	rc = rc ?: file_int(o, "playout_delay_min_ms", &c->playout_delay_min_ms, 0, 1000);
	rc = rc ?: file_int(o, "uplink_bitrate", &c->uplink_bitrate, 30000, 50000000);
	rc = rc ?: file_str(o, "recordings_dir", c->recordings_dir, sizeof(c->recordings_dir));
	rc = rc ?: file_bool(o, "participant_recording", &c->participant_recording);
	rc = rc ?: file_ice_servers(o, c);
	rc = rc ?: file_bool(o, "tile_names", &c->tile_names);
	rc = rc ?: file_int(o, "ws_msg_rate", &c->ws_msg_rate, 1, 100000);
	rc = rc ?: file_int(o, "ws_msg_burst", &c->ws_msg_burst, 1, 100000);
	rc = rc ?: file_str(o, "secret", c->secret, sizeof(c->secret));
	rc = rc ?: file_str(o, "netsim", c->netsim, sizeof(c->netsim));
	rc = rc ?: file_str(o, "ladder", c->ladder_spec, sizeof(c->ladder_spec));
	rc = rc ?: file_bool(o, "transport_cc", &c->transport_cc);
	rc = rc ?: file_bool(o, "uplink_transport_cc", &c->uplink_transport_cc);
	rc = rc ?: file_bool(o, "rtx", &c->rtx);
	rc = rc ?: file_bool(o, "opus_dtx", &c->opus_dtx);
	json_decref(o);
	return rc;
}

enum {
	OPT_BIND = 256,
	OPT_PORT,
	OPT_CONFIG,
	OPT_PUBLIC_IP,
	OPT_WWW,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_LOG_LEVEL,
	OPT_RECORDINGS_DIR,
	OPT_RECORD,
	OPT_SECRET_FILE,
	OPT_NETSIM,
	OPT_LOOPS,
	OPT_LADDER
};

static const struct option long_opts[] = {{"bind", 1, 0, OPT_BIND},
                                          {"port", 1, 0, OPT_PORT},
                                          {"config", 1, 0, OPT_CONFIG},
                                          {"public-ip", 1, 0, OPT_PUBLIC_IP},
                                          {"www", 1, 0, OPT_WWW},
                                          {"tls-cert", 1, 0, OPT_TLS_CERT},
                                          {"tls-key", 1, 0, OPT_TLS_KEY},
                                          {"log-level", 1, 0, OPT_LOG_LEVEL},
                                          {"recordings-dir", 1, 0, OPT_RECORDINGS_DIR},
                                          {"record", 1, 0, OPT_RECORD},
                                          {"secret-file", 1, 0, OPT_SECRET_FILE},
                                          {"netsim", 1, 0, OPT_NETSIM},
                                          {"loops", 1, 0, OPT_LOOPS},
                                          {"ladder", 1, 0, OPT_LADDER},
                                          {"help", 0, 0, 'h'},
                                          {0, 0, 0, 0}};

/* The config file is read first, so flags given anywhere override it. */
static const char *find_config_flag(int argc, char **argv)
{
	for (int i = 1; i < argc - 1; i++)
		if (!strcmp(argv[i], "--config"))
			return argv[i + 1];
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	return NULL;
}

/* ROOM=PATH with a valid room name and a .webm/.mkv path. */
static int add_record(struct mcu_config *c, const char *v)
{
	const char *eq = strchr(v, '=');
	size_t n = eq ? (size_t)(eq - v) : 0;
	bool ok = eq && n >= 1 && n < sizeof(c->record[0].room) && eq[1];
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)v[i]) || v[i] == '_' || v[i] == '.' || v[i] == '-';
	const char *dot = ok ? strrchr(eq + 1, '.') : NULL;
	ok = ok && dot &&
	     (!strcasecmp(dot, ".webm") || !strcasecmp(dot, ".mkv") || !strcasecmp(dot, ".mp4"));
	if (!ok || c->nrecord == CFG_MAX_RECORD) {
		fprintf(stderr, "mcu: --record wants ROOM=PATH.webm, .mkv or .mp4 (at most %d)\n",
		        CFG_MAX_RECORD);
		return -EINVAL;
	}
	struct cfg_record *r = &c->record[c->nrecord];
	memcpy(r->room, v, n);
	r->room[n] = '\0';
	if (set_str(r->path, sizeof(r->path), eq + 1, "--record") < 0)
		return -EINVAL;
	c->nrecord++;
	return 0;
}

/* The first line of FILE, without its newline, is the secret. */
static int read_secret(struct mcu_config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "mcu: --secret-file %s: %s\n", path, strerror(errno));
		return -EINVAL;
	}
	char line[sizeof(c->secret) + 2] = "";
	bool ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!ok || !line[0]) {
		fprintf(stderr, "mcu: --secret-file %s: empty\n", path);
		return -EINVAL;
	}
	return set_str(c->secret, sizeof(c->secret), line, "--secret-file");
}

static int apply_flag(struct mcu_config *c, int opt, const char *v)
{
	char *end;
	switch (opt) {
	case OPT_BIND:
		return set_str(c->bind, sizeof(c->bind), v, "--bind");
	case OPT_PORT:
		c->port = (int)strtol(v, &end, 10);
		return (*end || c->port < 0 || c->port > 65535) ? -EINVAL : 0;
	case OPT_PUBLIC_IP:
		return set_str(c->public_ip, sizeof(c->public_ip), v, "--public-ip");
	case OPT_WWW:
		return set_str(c->www, sizeof(c->www), v, "--www");
	case OPT_TLS_CERT:
		return set_str(c->tls_cert, sizeof(c->tls_cert), v, "--tls-cert");
	case OPT_TLS_KEY:
		return set_str(c->tls_key, sizeof(c->tls_key), v, "--tls-key");
	case OPT_LOG_LEVEL:
		return set_str(c->log_level, sizeof(c->log_level), v, "--log-level");
	case OPT_RECORDINGS_DIR:
		return set_str(c->recordings_dir, sizeof(c->recordings_dir), v, "--recordings-dir");
	case OPT_RECORD:
		return add_record(c, v);
	case OPT_SECRET_FILE:
		return read_secret(c, v);
	case OPT_NETSIM:
		return set_str(c->netsim, sizeof(c->netsim), v, "--netsim");
	case OPT_LOOPS:
		c->loops = (int)strtol(v, &end, 10);
		return (*end || c->loops < 1 || c->loops > 64) ? -EINVAL : 0;
	case OPT_LADDER:
		return set_str(c->ladder_spec, sizeof(c->ladder_spec), v, "--ladder");
	default:
		return 0;
	}
}

/* Defaults, then the environment (MCU_SECRET), then the config file if any. */
static int load_base(struct mcu_config *cfg, const char *file)
{
	defaults(cfg);
	const char *env = getenv("MCU_SECRET");
	if (env && set_str(cfg->secret, sizeof(cfg->secret), env, "MCU_SECRET") < 0)
		return -EINVAL;
	return file ? load_file(cfg, file) : 0;
}

int mcu_config_secret(const char *config_file, const char *secret_file, char *out, size_t n)
{
	struct mcu_config *c = malloc(sizeof(*c));
	int rc = c ? load_base(c, config_file) : -ENOMEM;
	if (rc == 0 && secret_file)
		rc = read_secret(c, secret_file);
	if (rc == 0 && (size_t)snprintf(out, n, "%s", c->secret) >= n)
		rc = -ENOSPC;
	free(c);
	return rc;
}

/* The ladder: parsed from ladder_spec, else the default for the configured output; the rungs'
 * Opus bitrates at most audio_bitrate. */
static int load_ladder(struct mcu_config *c)
{
	char err[160];
	if (!c->ladder_spec[0]) {
		ladder_default(&c->ladder, c->width, c->height, c->fps, c->video_bitrate,
		               c->audio_bitrate);
		return 0;
	}
	int rc =
	    ladder_parse(c->ladder_spec, c->fps, c->audio_bitrate, &c->ladder, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "mcu: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

int mcu_config_load(struct mcu_config *cfg, int argc, char **argv)
{
	if (load_base(cfg, find_config_flag(argc, argv)) < 0)
		return -EINVAL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout, cfg);
			return 1;
		}
		if (opt == '?' || apply_flag(cfg, opt, optarg) < 0) {
			fprintf(stderr, "mcu: bad option (see --help)\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mcu: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!!cfg->tls_cert[0] != !!cfg->tls_key[0]) {
		fprintf(stderr, "mcu: --tls-cert and --tls-key go together\n");
		return -EINVAL;
	}
	return load_ladder(cfg);
}
