/*
 * config.c - defaults, the JSON config file and the command-line flags (see config.h).
 *
 * One table (keys[]) names every config file key, the flag that sets it (if any), its type,
 * its field and what values it takes; the file parser, the flags and --help all go through it,
 * so a key cannot be parsed without being checked. Unknown keys and bad values are refused with
 * a message on stderr that names the key (or flag), the value and the reason; the cross-key
 * rules (pairs, the ladder) are checked once everything is in. docs/CONFIG.md documents each
 * key; test_config keeps the two in step. Main thread, at start-up only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster/redis.h"
#include "config.h"
#include "log.h"
#include "mix/layout.h"
#include "net/netsim.h"

/* ---- defaults ---- */

static int online_cores(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
}

static void defaults(struct mcu_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
	c->port = 8080;
	snprintf(c->www, sizeof(c->www), "assets/www");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->max_rooms = 64;
	c->max_participants = 100;
	c->room_idle_timeout_s = 300;
	c->loops = 0; /* one per core, resolved by finish() */
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
	c->simulcast = true;
	c->opus_dtx = false;
	snprintf(c->ice_servers_json, sizeof(c->ice_servers_json), "[]");
	snprintf(c->recordings_dir, sizeof(c->recordings_dir), "recordings");
	c->tile_names = true;
	c->compose_on_arrival = true;
	c->ws_msg_rate = 20;
	c->ws_msg_burst = 50;
}

/* ---- value checks: 0, or -EINVAL with the reason in why ---- */

static int check_ip(const char *v, char *why, size_t n)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
		return 0;
	snprintf(why, n, "not a numeric IPv4 or IPv6 address");
	return -EINVAL;
}

static int check_ip_or_empty(const char *v, char *why, size_t n)
{
	return v[0] ? check_ip(v, why, n) : 0;
}

static int check_log_level(const char *v, char *why, size_t n)
{
	enum mcu_log_level l;
	if (mcu_log_parse_level(v, &l) == 0)
		return 0;
	snprintf(why, n, "must be error, warn, info or debug");
	return -EINVAL;
}

static int check_layout(const char *v, char *why, size_t n)
{
	enum mix_layout_kind k;
	if (mix_layout_parse(v, &k) == 0)
		return 0;
	snprintf(why, n, "must be grid or speaker");
	return -EINVAL;
}

static int check_netsim(const char *v, char *why, size_t n)
{
	struct netsim_cfg ns;
	return v[0] ? netsim_parse(v, &ns, why, n) : 0;
}

static int check_url_or_empty(const char *v, char *why, size_t n)
{
	if (!v[0] || !strncmp(v, "http://", 7) || !strncmp(v, "https://", 8))
		return 0;
	snprintf(why, n, "must be an http:// or https:// URL");
	return -EINVAL;
}

static int check_cluster(const char *v, char *why, size_t n)
{
	char host[256];
	int port;
	return v[0] ? redis_parse_url(v, host, sizeof(host), &port, why, n) : 0;
}

/* Letters, digits and ._:- (a Redis key part and a log word), or empty. */
static int check_node_id(const char *v, char *why, size_t n)
{
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._:-", *p)) {
			snprintf(why, n, "may hold letters, digits and . _ : - only");
			return -EINVAL;
		}
	return 0;
}

static int check_not_empty(const char *v, char *why, size_t n)
{
	if (v[0])
		return 0;
	snprintf(why, n, "must not be empty");
	return -EINVAL;
}

/* ---- the keys ---- */

enum key_type { K_STR, K_INT, K_BOOL, K_ICE_SERVERS };

struct key {
	const char *name; /* in the config file */
	const char *flag; /* the command-line flag that sets it too (without "--"), or NULL */
	enum key_type type;
	size_t off, size; /* the field in struct mcu_config, and its size */
	int lo, hi;       /* K_INT: the range */
	bool even;        /* K_INT: even values only */
	int (*check)(const char *v, char *why, size_t n); /* K_STR: NULL, or what it takes */
};

#define FIELD(f) .off = offsetof(struct mcu_config, f), .size = sizeof(((struct mcu_config *)0)->f)

/* The ranges are the ones the code behind each key takes (the engine: mixer/engine.c
 * check_cfg and mix_layout_parse; the ladder: session/ladder.c). */
static const struct key keys[] = {
    {.name = "bind", .flag = "bind", .type = K_STR, FIELD(bind), .check = check_ip},
    {.name = "port", .flag = "port", .type = K_INT, FIELD(port), .lo = 1, .hi = 65535},
    {.name = "www", .flag = "www", .type = K_STR, FIELD(www)},
    {.name = "public_ip",
     .flag = "public-ip",
     .type = K_STR,
     FIELD(public_ip),
     .check = check_ip_or_empty},
    {.name = "tls_cert", .flag = "tls-cert", .type = K_STR, FIELD(tls_cert)},
    {.name = "tls_key", .flag = "tls-key", .type = K_STR, FIELD(tls_key)},
    {.name = "dtls_cert", .type = K_STR, FIELD(dtls_cert)},
    {.name = "dtls_key", .type = K_STR, FIELD(dtls_key)},
    {.name = "log_level",
     .flag = "log-level",
     .type = K_STR,
     FIELD(log_level),
     .check = check_log_level},
    {.name = "max_rooms", .type = K_INT, FIELD(max_rooms), .lo = 1, .hi = 10000},
    {.name = "max_participants", .type = K_INT, FIELD(max_participants), .lo = 1, .hi = 1000},
    {.name = "loops", .flag = "loops", .type = K_INT, FIELD(loops), .lo = 0, .hi = 64},
    {.name = "layout", .type = K_STR, FIELD(layout), .check = check_layout},
    {.name = "exclude_self", .type = K_BOOL, FIELD(exclude_self)},
    {.name = "width", .type = K_INT, FIELD(width), .lo = 16, .hi = 4096, .even = true},
    {.name = "height", .type = K_INT, FIELD(height), .lo = 16, .hi = 4096, .even = true},
    {.name = "fps", .type = K_INT, FIELD(fps), .lo = 1, .hi = 60},
    {.name = "video_bitrate", .type = K_INT, FIELD(video_bitrate), .lo = 30000, .hi = 50000000},
    {.name = "audio_bitrate", .type = K_INT, FIELD(audio_bitrate), .lo = 6000, .hi = 510000},
    {.name = "max_mixed", .type = K_INT, FIELD(max_mixed), .lo = 1, .hi = 64},
    {.name = "playout_delay_ms", .type = K_INT, FIELD(playout_delay_ms), .lo = 0, .hi = 1000},
    {.name = "playout_delay_min_ms",
     .type = K_INT,
     FIELD(playout_delay_min_ms),
     .lo = 0,
     .hi = 1000},
    {.name = "uplink_bitrate", .type = K_INT, FIELD(uplink_bitrate), .lo = 30000, .hi = 50000000},
    {.name = "transport_cc", .type = K_BOOL, FIELD(transport_cc)},
    {.name = "uplink_transport_cc", .type = K_BOOL, FIELD(uplink_transport_cc)},
    {.name = "rtx", .type = K_BOOL, FIELD(rtx)},
    {.name = "simulcast", .type = K_BOOL, FIELD(simulcast)},
    {.name = "opus_dtx", .type = K_BOOL, FIELD(opus_dtx)},
    {.name = "ladder", .flag = "ladder", .type = K_STR, FIELD(ladder_spec)},
    {.name = "recordings_dir",
     .flag = "recordings-dir",
     .type = K_STR,
     FIELD(recordings_dir),
     .check = check_not_empty},
    {.name = "participant_recording", .type = K_BOOL, FIELD(participant_recording)},
    {.name = "ice_servers", .type = K_ICE_SERVERS, FIELD(ice_servers_json)},
    {.name = "tile_names", .type = K_BOOL, FIELD(tile_names)},
    {.name = "compose_on_arrival", .type = K_BOOL, FIELD(compose_on_arrival)},
    {.name = "ws_msg_rate", .type = K_INT, FIELD(ws_msg_rate), .lo = 1, .hi = 100000},
    {.name = "ws_msg_burst", .type = K_INT, FIELD(ws_msg_burst), .lo = 1, .hi = 100000},
    {.name = "secret", .type = K_STR, FIELD(secret)},
    {.name = "netsim", .flag = "netsim", .type = K_STR, FIELD(netsim), .check = check_netsim},
    {.name = "webhook_url",
     .flag = "webhook-url",
     .type = K_STR,
     FIELD(webhook_url),
     .check = check_url_or_empty},
    {.name = "webhook_secret", .type = K_STR, FIELD(webhook_secret)},
    {.name = "cluster", .flag = "cluster", .type = K_STR, FIELD(cluster), .check = check_cluster},
    {.name = "node_id", .flag = "node-id", .type = K_STR, FIELD(node_id), .check = check_node_id},
    {.name = "room_idle_timeout_s",
     .type = K_INT,
     FIELD(room_idle_timeout_s),
     .lo = 0,
     .hi = 86400},
};
#define NKEYS ((int)(sizeof(keys) / sizeof(keys[0])))

const char *mcu_config_key(int i)
{
	return i >= 0 && i < NKEYS ? keys[i].name : NULL;
}

static const struct key *key_named(const char *name)
{
	for (int i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* ---- where a value came from, for the messages ---- */

struct src {
	const char *file; /* the config file, or NULL for a flag */
	const struct key *k;
	const char *value; /* as given: the flag's argument, or the JSON text */
};

static void bad(const struct src *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "mcu: config FILE: KEY VALUE: why" or "mcu: --FLAG VALUE: why" */
static void bad(const struct src *s, const char *fmt, ...)
{
	if (s->file)
		fprintf(stderr, "mcu: config %s: %s %s: ", s->file, s->k->name, s->value);
	else
		fprintf(stderr, "mcu: --%s %s: ", s->k->flag, s->value);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- setting a key ---- */

static int set_str(struct mcu_config *c, const struct src *s, const char *v)
{
	char why[256] = "";
	if (strlen(v) >= s->k->size) {
		bad(s, "longer than %zu bytes", s->k->size - 1);
		return -EINVAL;
	}
	if (s->k->check && s->k->check(v, why, sizeof(why)) < 0) {
		bad(s, "%s", why);
		return -EINVAL;
	}
	memcpy((char *)c + s->k->off, v, strlen(v) + 1);
	return 0;
}

static int set_int(struct mcu_config *c, const struct src *s, long long v)
{
	const struct key *k = s->k;
	if (v < k->lo || v > k->hi || (k->even && v % 2)) {
		bad(s, "must be %s%d..%d", k->even ? "even, " : "", k->lo, k->hi);
		return -EINVAL;
	}
	*(int *)((char *)c + k->off) = (int)v;
	return 0;
}

/* Whether o has only the keys named in allowed (NULL-terminated); the first other in *other. */
static bool only_keys(json_t *o, const char *const *allowed, const char **other)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		const char *const *a = allowed;
		while (*a && strcmp(*a, key))
			a++;
		if (!*a) {
			*other = key;
			return false;
		}
	}
	return true;
}

static bool ice_url_ok(json_t *u)
{
	static const char *const schemes[] = {"stun:", "stuns:", "turn:", "turns:"};
	const char *url = json_string_value(u);
	for (size_t i = 0; url && i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (!strncmp(url, schemes[i], strlen(schemes[i])) && url[strlen(schemes[i])])
			return true;
	return false;
}

/* One RTCIceServer: {"urls": URL or [URL, ...], "username", "credential"}, as browsers take
 * it (stun:, stuns:, turn:, turns: URLs; a TURN server needs both credentials). */
static int check_ice_server(json_t *srv, char *why, size_t n)
{
	static const char *const allowed[] = {"urls", "username", "credential", NULL};
	const char *other = NULL;
	if (!json_is_object(srv)) {
		snprintf(why, n, "must be an object");
		return -EINVAL;
	}
	if (!only_keys(srv, allowed, &other)) {
		snprintf(why, n, "unknown key \"%s\" (urls, username, credential)", other);
		return -EINVAL;
	}
	json_t *urls = json_object_get(srv, "urls"), *u;
	size_t i, nurls = json_is_array(urls) ? json_array_size(urls) : 1;
	bool ok = nurls > 0, turn = false;
	for (i = 0; ok && i < nurls; i++) {
		u = json_is_array(urls) ? json_array_get(urls, i) : urls;
		ok = ice_url_ok(u);
		turn = turn || (ok && !strncmp(json_string_value(u), "turn", 4));
	}
	if (!ok) {
		snprintf(why, n,
		         "urls must be a stun:, stuns:, turn: or turns: URL, or an array of them");
		return -EINVAL;
	}
	if (turn && !(json_is_string(json_object_get(srv, "username")) &&
	              json_is_string(json_object_get(srv, "credential")))) {
		snprintf(why, n, "a TURN server needs username and credential strings");
		return -EINVAL;
	}
	return 0;
}

static int set_ice_servers(struct mcu_config *c, const struct src *s, json_t *v)
{
	char why[160] = "";
	size_t i;
	json_t *srv;
	if (!json_is_array(v)) {
		bad(s, "must be an array of RTCIceServer objects");
		return -EINVAL;
	}
	json_array_foreach(v, i, srv)
	{
		if (check_ice_server(srv, why, sizeof(why)) < 0) {
			bad(s, "element %zu: %s", i, why);
			return -EINVAL;
		}
	}
	char *text = json_dumps(v, JSON_COMPACT);
	int rc = text ? set_str(c, s, text) : -ENOMEM;
	free(text);
	return rc;
}

/* A config file value, by the key's type. */
static int set_json(struct mcu_config *c, const struct src *s, json_t *v)
{
	switch (s->k->type) {
	case K_STR:
		if (json_is_string(v))
			return set_str(c, s, json_string_value(v));
		bad(s, "must be a string");
		return -EINVAL;
	case K_INT:
		if (json_is_integer(v))
			return set_int(c, s, json_integer_value(v));
		bad(s, "must be an integer");
		return -EINVAL;
	case K_BOOL:
		if (json_is_boolean(v)) {
			*(bool *)((char *)c + s->k->off) = json_is_true(v);
			return 0;
		}
		bad(s, "must be true or false");
		return -EINVAL;
	case K_ICE_SERVERS:
		return set_ice_servers(c, s, v);
	}
	return -EINVAL;
}

/* A flag's value (the keys flags set are strings and integers). */
static int set_flag(struct mcu_config *c, const struct key *k, const char *v)
{
	struct src s = {NULL, k, v};
	if (k->type != K_INT)
		return set_str(c, &s, v);
	char *end;
	long long n = strtoll(v, &end, 10);
	if (!v[0] || *end || isspace((unsigned char)v[0])) {
		bad(&s, "not a number");
		return -EINVAL;
	}
	return set_int(c, &s, n); /* an overflow (LLONG_MAX/MIN) is out of range too */
}

/* ---- the config file ---- */

/* One key of the config file at path: known, and its value one it takes. */
static int load_key(struct mcu_config *c, const char *path, const char *name, json_t *v)
{
	const struct key *k = key_named(name);
	if (!k) {
		fprintf(stderr, "mcu: config %s: unknown key \"%s\" (see docs/CONFIG.md)\n", path,
		        name);
		return -EINVAL;
	}
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	struct src s = {path, k, text ? text : "?"};
	int rc = set_json(c, &s, v);
	free(text);
	return rc;
}

static int load_file(struct mcu_config *c, const char *path)
{
	json_error_t je;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	if (!o || !json_is_object(o)) {
		if (o || je.line < 1)
			fprintf(stderr, "mcu: config %s: %s\n", path,
			        o ? "not a JSON object" : je.text);
		else
			fprintf(stderr, "mcu: config %s:%d: %s\n", path, je.line, je.text);
		json_decref(o);
		return -EINVAL;
	}
	const char *name;
	int rc = 0;
	json_object_foreach(o, name, v)
	{
		if ((rc = load_key(c, path, name, v)) < 0)
			break;
	}
	json_decref(o);
	return rc;
}

/* ---- --help ---- */

/* A key's value in c as JSON text ("grid", 1280, true, []). */
static void value_text(const struct mcu_config *c, const struct key *k, char *buf, size_t n)
{
	const char *p = (const char *)c + k->off;
	if (k->type == K_INT)
		snprintf(buf, n, "%d", *(const int *)p);
	else if (k->type == K_BOOL)
		snprintf(buf, n, "%s", *(const bool *)p ? "true" : "false");
	else if (k->type == K_ICE_SERVERS)
		snprintf(buf, n, "%s", p);
	else
		snprintf(buf, n, "\"%s\"", p);
}

/* The keys with their defaults, several to a line. */
static void usage_keys(FILE *f)
{
	struct mcu_config d;
	defaults(&d);
	int col = 0;
	for (int i = 0; i < NKEYS; i++) {
		char v[1100], item[1200];
		value_text(&d, &keys[i], v, sizeof(v));
		int w = snprintf(item, sizeof(item), "%s (%s)%s", keys[i].name, v,
		                 i + 1 < NKEYS ? "," : "");
		if (col && col + w + 1 > 92) {
			fputc('\n', f);
			col = 0;
		}
		col += fprintf(f, "%s%s", col ? " " : "  ", item);
	}
	fputc('\n', f);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mcu [options]\n"
	    "A WebRTC MCU: browsers join rooms and get one mixed video and audio stream back.\n\n"
	    "  --bind ADDR          address for HTTP/WebSocket and media (default 127.0.0.1);\n"
	    "                       0.0.0.0: every interface, ICE candidates on each IPv4 one\n"
	    "  --port N             HTTP/WebSocket port, 1..65535 (default 8080)\n"
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
	    "  --ladder SPEC        the video outputs recipients are placed on, best first:\n"
	    "                       WxH@FPS:KBITS[:AUDIO_KBITS],... (default from width, height,\n"
	    "                       fps, video_bitrate, audio_bitrate: 1280x720@30:1500:32,\n"
	    "                       640x360@30:600:32,640x360@15:375:24,320x180@15:150:16)\n"
	    "  --loops N            event loops (threads running rooms), 1..64; 0 (default):\n"
	    "                       one per core, here %d\n"
	    "  --netsim SPEC        test option: impair media packets on every peer, both ways,\n"
	    "                       e.g. loss=5,delay=30,jitter=10,reorder=2 (percent, ms)\n"
	    "  -h, --help           this help\n\n"
	    "Config file keys (a JSON object; flags win over it) and their defaults; each key's\n"
	    "type, range and meaning are in docs/CONFIG.md, docs/mcu.example.json has them all:\n",
	    online_cores());
	usage_keys(f);
	fprintf(f, "\n  mcu token ROOM [--role participant|admin] [--ttl SECONDS] prints a token "
	           "signed\n  with the secret (--secret-file or MCU_SECRET); admin tokens allow "
	           "every /api call.\n");
}

/* ---- flags ---- */

enum { OPT_CONFIG = 1000, OPT_RECORD, OPT_SECRET_FILE, OPT_KEY = 2000 };

/* getopt's table: the keys' flags (OPT_KEY + index) and the flags that are not keys. */
static void long_opts(struct option *o)
{
	int n = 0;
	for (int i = 0; i < NKEYS; i++)
		if (keys[i].flag)
			o[n++] = (struct option){keys[i].flag, required_argument, 0, OPT_KEY + i};
	o[n++] = (struct option){"config", required_argument, 0, OPT_CONFIG};
	o[n++] = (struct option){"record", required_argument, 0, OPT_RECORD};
	o[n++] = (struct option){"secret-file", required_argument, 0, OPT_SECRET_FILE};
	o[n++] = (struct option){"help", no_argument, 0, 'h'};
	o[n] = (struct option){0, 0, 0, 0};
}

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

/* ROOM=PATH with a valid room name and a .webm/.mkv/.mp4 path. */
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
	if (!ok || c->nrecord == CFG_MAX_RECORD || strlen(eq + 1) >= sizeof(c->record[0].path)) {
		fprintf(stderr,
		        "mcu: --record %s: wants ROOM=PATH.webm, .mkv or .mp4 (at most %d)\n", v,
		        CFG_MAX_RECORD);
		return -EINVAL;
	}
	struct cfg_record *r = &c->record[c->nrecord++];
	memcpy(r->room, v, n);
	r->room[n] = '\0';
	snprintf(r->path, sizeof(r->path), "%s", eq + 1);
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
	if (!ok || !line[0] || strlen(line) >= sizeof(c->secret)) {
		fprintf(stderr, "mcu: --secret-file %s: %s\n", path,
		        line[0] ? "longer than 255 bytes" : "empty");
		return -EINVAL;
	}
	memcpy(c->secret, line, strlen(line) + 1);
	return 0;
}

static int apply_flag(struct mcu_config *c, int opt, const char *v)
{
	if (opt >= OPT_KEY)
		return set_flag(c, &keys[opt - OPT_KEY], v);
	if (opt == OPT_RECORD)
		return add_record(c, v);
	if (opt == OPT_SECRET_FILE)
		return read_secret(c, v);
	return 0; /* --config: read first */
}

/* getopt's complaint, in our words: ':' a flag without its value, '?' an unknown one. */
static void flag_error(int opt, char **argv)
{
	const char *arg = argv[optind - 1];
	if (opt == ':')
		fprintf(stderr, "mcu: %s: needs a value (see --help)\n", arg);
	else
		fprintf(stderr, "mcu: unknown flag '%s' (see --help)\n", arg);
}

static int parse_flags(struct mcu_config *c, int argc, char **argv)
{
	struct option opts[NKEYS + 5];
	long_opts(opts);
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			flag_error(opt, argv);
			return -EINVAL;
		}
		if (apply_flag(c, opt, optarg) < 0)
			return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "mcu: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* ---- after the file and the flags: the rules between keys ---- */

/* Two keys that are set together or not at all: the cert and key of TLS or DTLS. */
static int check_pair(const char *a, const char *b, const char *name_a, const char *name_b,
                      const char *flags)
{
	if (!a[0] == !b[0])
		return 0;
	fprintf(stderr, "mcu: %s and %s%s go together: only %s is set\n", name_a, name_b, flags,
	        a[0] ? name_a : name_b);
	return -EINVAL;
}

/* The ladder: parsed from ladder_spec, else the default for the configured output; the rungs'
 * Opus bitrates at most audio_bitrate. */
static int load_ladder(struct mcu_config *c)
{
	char err[256];
	if (!c->ladder_spec[0]) {
		ladder_default(&c->ladder, c->width, c->height, c->fps, c->video_bitrate,
		               c->audio_bitrate);
		return 0;
	}
	int rc =
	    ladder_parse(c->ladder_spec, c->fps, c->audio_bitrate, &c->ladder, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "mcu: %s (config key ladder or --ladder)\n", err);
		return -EINVAL;
	}
	return 0;
}

static int finish(struct mcu_config *c)
{
	if (c->loops == 0)
		c->loops = online_cores();
	int rc =
	    check_pair(c->tls_cert, c->tls_key, "tls_cert", "tls_key", " (--tls-cert, --tls-key)");
	rc = rc ?: check_pair(c->dtls_cert, c->dtls_key, "dtls_cert", "dtls_key", "");
	if (rc == 0 && c->playout_delay_min_ms > c->playout_delay_ms) {
		fprintf(stderr, "mcu: playout_delay_min_ms %d is above playout_delay_ms %d\n",
		        c->playout_delay_min_ms, c->playout_delay_ms);
		rc = -EINVAL;
	}
	return rc ?: load_ladder(c);
}

/* Defaults, then the environment (MCU_SECRET), then the config file if any. */
static int load_base(struct mcu_config *cfg, const char *file)
{
	defaults(cfg);
	const char *env = getenv("MCU_SECRET");
	if (env && strlen(env) >= sizeof(cfg->secret)) {
		fprintf(stderr, "mcu: MCU_SECRET: longer than %zu bytes\n",
		        sizeof(cfg->secret) - 1);
		return -EINVAL;
	}
	if (env)
		snprintf(cfg->secret, sizeof(cfg->secret), "%s", env);
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

int mcu_config_load(struct mcu_config *cfg, int argc, char **argv)
{
	if (load_base(cfg, find_config_flag(argc, argv)) < 0)
		return -EINVAL;
	int rc = parse_flags(cfg, argc, argv);
	if (rc != 0)
		return rc;
	return finish(cfg) < 0 ? -EINVAL : 0;
}
