/*
 * config.h - the server's settings: defaults, a JSON config file, then command-line flags
 * (flags win). Parsed once on the main thread before anything starts; read-only afterwards.
 * Every key is checked as it is read (docs/CONFIG.md lists them): an unknown key or a value the
 * server cannot use stops the start with a message naming it.
 */
#ifndef MCU_CONFIG_H
#define MCU_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "session/ladder.h"

#define CFG_MAX_ICE_SERVERS 4
#define CFG_MAX_RECORD      8 /* --record flags */

/* --record ROOM=PATH: record ROOM from its first participant into PATH. */
struct cfg_record {
	char room[65];
	char path[1024];
};

struct mcu_config {
	char bind[64];      /* --bind, default 127.0.0.1; 0.0.0.0: every interface (ice.c) */
	int port;           /* --port, default 8080 */
	char www[256];      /* --www, default assets/www */
	char public_ip[64]; /* --public-ip: address advertised in candidates, "" = none */
	char tls_cert[256], tls_key[256];   /* HTTPS/WSS, "" = plain HTTP */
	char dtls_cert[256], dtls_key[256]; /* DTLS certificate, "" = generate at start */
	char log_level[16];
	/* rooms */
	int max_rooms;           /* default 64 */
	int max_participants;    /* per room, default 100 */
	int room_idle_timeout_s; /* an empty room made by PUT is freed after this, default 300 */
	int loops; /* event loops running rooms, 1..64; 0 in the file or flag: online cores */
	/* media */
	char layout[16]; /* grid | speaker */
	bool exclude_self;
	int width, height, fps;
	int video_bitrate, audio_bitrate;
	int max_mixed;
	/* each participant's playout delay adapts to its jitter within [min, max] (peer_in.c) */
	int playout_delay_ms;     /* the most, default 80 */
	int playout_delay_min_ms; /* the least, default 0 */
	int uplink_bitrate;       /* REMB we send so browsers ramp their uplink, default 1500000 */
	bool transport_cc; /* our downlink estimate from transport-cc feedback, default false */
	bool uplink_transport_cc; /* transport-cc feedback for what browsers send, default false */
	bool rtx;                 /* negotiate RTX (RFC 4588) for video, default true */
	bool simulcast;           /* take simulcast (rids) on a VP8 camera m-line, default true */
	bool opus_dtx;            /* ask browsers for Opus DTX (usedtx=1), default false */
	/* the outputs a recipient may be placed on, each with its Opus bitrate (--ladder /
	 * "ladder", default ladder_default() of width x height at fps, video_bitrate and
	 * audio_bitrate) */
	char ladder_spec[512];
	struct ladder ladder;
	/* recording */
	char recordings_dir[1024];  /* --recordings-dir, default "recordings" */
	bool participant_recording; /* participants may send "record" messages, default false */
	struct cfg_record record[CFG_MAX_RECORD];
	int nrecord;
	/* ICE servers for the demo page (JSON array text of RTCIceServer objects) */
	char ice_servers_json[1024];
	/* video */
	bool tile_names; /* draw participants' names on their tiles, default true */
	/* the video ticks follow the lead source's frames (mix_engine_cfg.tick_lock), default true
	 */
	bool compose_on_arrival;
	/* limits */
	int ws_msg_rate;  /* signaling messages per second per connection (sustained), default 20 */
	int ws_msg_burst; /* ... and the burst allowed above it, default 50 */
	/* access: with a secret set, joining and every /api call need a token (see token.h) */
	char secret[256]; /* "secret" key, --secret-file FILE or MCU_SECRET; "" = open */
	/* webhooks (net/webhook.h): events POSTed to this URL, "" = off */
	char webhook_url[1024];
	char webhook_secret[256]; /* their HMAC key; "" = the secret above (neither: unsigned) */
	/* test option: impairment of media packets, e.g. "loss=5,delay=30,jitter=10,reorder=2" */
	char netsim[128];
	/* a cluster of nodes (cluster/cluster.h): "redis://HOST:PORT", "" = a single node */
	char cluster[160];
	char node_id[65]; /* this node's id in it; "" = "<hostname>:<port>" */
};

/*
 * Fills cfg from defaults, then the file named by --config (if any), then the flags.
 * Returns 0, 1 if --help was printed (exit 0), or -EINVAL after printing an error that names
 * the key or flag, the value and why it was refused.
 */
int mcu_config_load(struct mcu_config *cfg, int argc, char **argv);

/* The config file's keys, in order: the i-th one's name, NULL past the last. */
const char *mcu_config_key(int i);

/*
 * The secret the server would use given these (either may be NULL): MCU_SECRET, then the
 * config file's "secret", then the first line of secret_file, each overriding the one before;
 * "" if none. For `mcu token`. 0, or -EINVAL after printing an error, -ENOSPC, -ENOMEM.
 */
int mcu_config_secret(const char *config_file, const char *secret_file, char *out, size_t n);

#endif
