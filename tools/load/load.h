/*
 * load.h - mcu-load's run configuration (from the command line) and the result of one
 * measured window (a ramp step or the fixed run), shared by main.c (which fills them) and
 * report.c (which prints and writes them). Plain data, owned by main.c's struct load.
 */
#ifndef LOAD_LOAD_H
#define LOAD_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "abuse.h"

#define LOAD_MAX_CLIENTS 2000
#define LOAD_MAX_STEPS   200

enum load_mode { MODE_FIXED, MODE_RAMP_CLIENTS, MODE_RAMP_ROOMS };

struct load_cfg {
	const char *url;
	const char *video, *audio;
	const char *json;
	const char *room_prefix;
	const char *bind_ip;
	enum load_mode mode;
	int rooms;     /* fixed: rooms; ramp-rooms: the most rooms; ramp-clients: rooms */
	int clients;   /* per room; ramp-clients: the most per room */
	int ramp_step; /* clients (per room) or rooms added per step */
	double ramp_interval_s, settle_s, duration_s;
	int retries;    /* a failed step is measured again this many times */
	int server_pid; /* 0: no server figures */
	int decode;     /* this many clients (the first ones) decode what they receive */
	bool send, recv;
	double fps; /* the server's output frame rate */
	double min_fps_ratio, max_freeze_s, max_loss_pct, connect_s;
	int join_rate;         /* clients started per second at most */
	enum abuse_mode abuse; /* what the last client does wrong (not measured in windows) */
};

/* One measured window. Rates are per receiver (clients in media when the window opened). */
struct step_result {
	int step;
	double t_s;         /* window end, seconds since start */
	int rooms, clients; /* load: rooms and clients started */
	int connected;      /* clients in media at the window's end */
	int failed;         /* clients that failed (error), cumulative */
	int measured;       /* receivers measured in this window */
	double window_s;
	double fps_min, fps_mean;
	double audio_min; /* audio packets per second, lowest receiver */
	double freeze_max_ms;
	uint64_t freezes; /* gaps over the freeze threshold in the window, all receivers */
	double vloss_max_pct, aloss_max_pct, loss_mean_pct;
	double uploss_max_pct; /* our streams' loss as the server's receiver reports say, worst */
	int64_t srv_udp_drops, gen_udp_drops; /* datagrams the kernel dropped: socket buffer full */
	double connect_ms_max;
	double srv_cpu_pct, srv_rss_mib, srv_hwm_mib; /* -1 when unknown */
	double gen_cpu_pct;
	double send_lag_max_ms;
	uint64_t send_errors, decoded_frames, decode_errors, other_pkts;
	bool pass;
	char reason[256];
};

#endif
