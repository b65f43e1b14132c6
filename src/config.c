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
	c->max_participants = 25;
	snprintf(c->layout, sizeof(c->layout), "grid");
	c->width = 1280;
	c->height = 720;
	c->fps = 30;
	c->video_bitrate = 1500000;
	c->audio_bitrate = 32000;
	c->max_mixed = 4;
	c->playout_delay_ms = 80;
	c->uplink_bitrate = 1500000;
	snprintf(c->ice_servers_json, sizeof(c->ice_servers_json), "[]");
	snprintf(c->recordings_dir, sizeof(c->recordings_dir), "recordings");
}

static void usage(FILE *f)
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
	    "  --record ROOM=PATH   record ROOM from its first participant into PATH (.webm or\n"
	    "                       .mkv); may be repeated for other rooms\n"
	    "  -h, --help           this help\n\n"
	    "Config file keys (JSON object): bind, port, www, public_ip, tls_cert, tls_key,\n"
	    "dtls_cert, dtls_key (PEM; generated at start if absent), log_level, max_rooms (64),\n"
	    "max_participants (25), layout (\"grid\" | \"speaker\"), exclude_self (false),\n"
	    "width (1280), height (720), fps (30), video_bitrate (1500000), audio_bitrate "
	    "(32000),\n"
	    "max_mixed (4), playout_delay_ms (80), uplink_bitrate (1500000),\n"
	    "recordings_dir (\"recordings\"), participant_recording (false: whether participants\n"
	    "may start and stop recordings with a \"record\" message),\n"
	    "ice_servers (array of RTCIceServer objects handed to the demo page, e.g.\n"
	    "[{\"urls\":\"stun:stun.example.org:3478\"}]).\n");
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
	rc = rc ?: file_str(o, "layout", c->layout, sizeof(c->layout));
	rc = rc ?: file_bool(o, "exclude_self", &c->exclude_self);
	rc = rc ?: file_int(o, "width", &c->width, 16, 4096);
	rc = rc ?: file_int(o, "height", &c->height, 16, 4096);
	rc = rc ?: file_int(o, "fps", &c->fps, 1, 60);
	rc = rc ?: file_int(o, "video_bitrate", &c->video_bitrate, 30000, 50000000);
	rc = rc ?: file_int(o, "audio_bitrate", &c->audio_bitrate, 6000, 510000);
	rc = rc ?: file_int(o, "max_mixed", &c->max_mixed, 1, 64);
	rc = rc ?: file_int(o, "playout_delay_ms", &c->playout_delay_ms, 0, 1000);
	rc = rc ?: file_int(o, "uplink_bitrate", &c->uplink_bitrate, 30000, 50000000);
	rc = rc ?: file_str(o, "recordings_dir", c->recordings_dir, sizeof(c->recordings_dir));
	rc = rc ?: file_bool(o, "participant_recording", &c->participant_recording);
	rc = rc ?: file_ice_servers(o, c);
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
	OPT_RECORD
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
	ok = ok && dot && (!strcasecmp(dot, ".webm") || !strcasecmp(dot, ".mkv"));
	if (!ok || c->nrecord == CFG_MAX_RECORD) {
		fprintf(stderr,
		        "mcu: --record wants ROOM=PATH.webm or ROOM=PATH.mkv (at most %d)\n",
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
	default:
		return 0;
	}
}

int mcu_config_load(struct mcu_config *cfg, int argc, char **argv)
{
	defaults(cfg);
	const char *file = find_config_flag(argc, argv);
	if (file && load_file(cfg, file) < 0)
		return -EINVAL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
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
	return 0;
}
