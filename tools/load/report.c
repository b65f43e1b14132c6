/*
 * report.c - /proc sampling, the window table and the JSON file (see report.h).
 *
 * /proc/PID/stat fields 14 and 15 (utime, stime, in clock ticks) after the ")" that ends the
 * command name (which may hold spaces); VmRSS and VmHWM from /proc/PID/status. The JSON is
 * built with jansson and written in one go. GLib loop thread (or any single thread).
 */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"

static int read_stat(int pid, double *cpu_s)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long ut, st;
	/* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime(14) stime(15) */
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -EINVAL;
	long tck = sysconf(_SC_CLK_TCK);
	*cpu_s = (double)(ut + st) / (tck > 0 ? tck : 100);
	return 0;
}

static void read_status(int pid, struct proc_sample *s)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	unsigned long kb;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			s->rss_mib = kb / 1024.0;
		else if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
			s->hwm_mib = kb / 1024.0;
	}
	fclose(f);
}

int proc_sample(int pid, struct proc_sample *out)
{
	memset(out, 0, sizeof(*out));
	out->rss_mib = out->hwm_mib = -1;
	if (pid <= 0)
		return -EINVAL;
	int rc = read_stat(pid, &out->cpu_s);
	if (rc < 0)
		return rc;
	read_status(pid, out);
	out->ok = true;
	return 0;
}

#define MAX_SOCKETS 16384

static int cmp_ino(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
	return x < y ? -1 : x > y;
}

/* The socket inodes PID holds, sorted. Their count, or -errno. */
static int socket_inodes(int pid, unsigned long *ino, int max)
{
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while (n < max && (e = readdir(d))) {
		char fp[352];
		snprintf(fp, sizeof(fp), "%s/%s", path, e->d_name);
		ssize_t l = readlink(fp, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino[n]) == 1)
			n++;
	}
	closedir(d);
	qsort(ino, (size_t)n, sizeof(*ino), cmp_ino);
	return n;
}

/* Sums the drops column of /proc/PID/net/udp lines whose inode is in ino. */
static int64_t sum_drops(int pid, const unsigned long *ino, int n)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/net/udp", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int64_t sum = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long inode, drops;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops */
		if (sscanf(line, " %*d: %*s %*s %*s %*s %*s %*s %*u %*u %lu %*u %*s %lu", &inode,
		           &drops) == 2 &&
		    bsearch(&inode, ino, (size_t)n, sizeof(*ino), cmp_ino))
			sum += (int64_t)drops;
	}
	fclose(f);
	return sum;
}

int64_t proc_udp_drops(int pid)
{
	if (pid <= 0)
		return -1;
	unsigned long *ino = malloc(MAX_SOCKETS * sizeof(*ino));
	if (!ino)
		return -1;
	int n = socket_inodes(pid, ino, MAX_SOCKETS);
	int64_t d = n < 0 ? -1 : sum_drops(pid, ino, n);
	free(ino);
	return d;
}

double self_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- table ---- */

void report_header(FILE *f)
{
	fprintf(f, "%4s %6s %5s %7s %5s %6s %6s %6s %8s %6s %6s %6s %6s %6s %9s %6s %6s  %s\n",
	        "step", "t_s", "rooms", "clients", "conn", "fpsmin", "fpsavg", "audmin", "freez_ms",
	        "vloss%", "aloss%", "uplos%", "srvcpu", "srvrss", "drops s/g", "gencpu", "lag_ms",
	        "verdict");
}

/* "-" for a figure that is unknown (negative). */
static void fmt_or_dash(char *buf, size_t n, double v, const char *unit)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.0f%s", v, unit);
}

void report_row(FILE *f, const struct step_result *r)
{
	char cpu[16], rss[16], sd[16], gd[16], drops[40];
	fmt_or_dash(cpu, sizeof(cpu), r->srv_cpu_pct, "%");
	fmt_or_dash(rss, sizeof(rss), r->srv_rss_mib, "M");
	fmt_or_dash(sd, sizeof(sd), (double)r->srv_udp_drops, "");
	fmt_or_dash(gd, sizeof(gd), (double)r->gen_udp_drops, "");
	snprintf(drops, sizeof(drops), "%s/%s", sd, gd);
	fprintf(f,
	        "%4d %6.1f %5d %7d %5d %6.1f %6.1f %6.1f %8.0f %6.2f %6.2f %6.2f %6s %6s %9s "
	        "%5.0f%% %6.0f  %s%s%s\n",
	        r->step, r->t_s, r->rooms, r->clients, r->connected, r->fps_min, r->fps_mean,
	        r->audio_min, r->freeze_max_ms, r->vloss_max_pct, r->aloss_max_pct,
	        r->uploss_max_pct, cpu, rss, drops, r->gen_cpu_pct, r->send_lag_max_ms,
	        r->pass ? "held" : "FAILED", r->reason[0] ? ": " : "", r->reason);
	fflush(f);
}

/* Video frames per second from the first frame to the last (0 before two frames). */
static double client_fps(const struct recv *r)
{
	int64_t span = r->last_frame_us - r->first_frame_us;
	return r->frames > 1 && span > 0 ? (double)(r->frames - 1) * 1e6 / (double)span : 0;
}

static double media_s(const struct recv *r)
{
	return r->frames > 1 ? (r->last_frame_us - r->first_frame_us) / 1e6 : 0;
}

void report_clients(FILE *f, struct client *const *clients, int nclients)
{
	fprintf(f, "%6s %-12s %-8s %7s %6s %6s %8s %7s %7s  %s\n", "client", "room", "state",
	        "frames", "keyfr", "fps", "maxgapms", "media_s", "srtperr", "abuse / error");
	for (int i = 0; i < nclients; i++) {
		const struct client *c = clients[i];
		const struct recv *r = &c->rcv;
		fprintf(f, "%6d %-12.12s %-8s %7llu %6llu %6.1f %8.0f %7.1f %7llu  %s%s%s\n",
		        c->index, c->room, client_state_name(c->state),
		        (unsigned long long)r->frames, (unsigned long long)r->keyframes,
		        client_fps(r), r->max_gap_us / 1000.0, media_s(r),
		        (unsigned long long)c->n.srtp_errors,
		        c->abuse.mode != ABUSE_NONE ? abuse_name(c->abuse.mode) : "",
		        c->abuse.mode != ABUSE_NONE && c->error[0] ? " / " : "", c->error);
	}
	fflush(f);
}

/* ---- JSON ---- */

static json_t *cfg_json(const struct load_cfg *c)
{
	static const char *const modes[] = {"fixed", "ramp-clients", "ramp-rooms"};
	return json_pack(
	    "{s:s, s:s?, s:s?, s:s, s:i, s:i, s:i, s:f, s:f, s:f, s:i, s:b, s:b, "
	    "s:f, s:f, s:f, s:f, s:i, s:s}",
	    "url", c->url, "video", c->video, "audio", c->audio, "mode", modes[c->mode], "rooms",
	    c->rooms, "clients_per_room", c->clients, "ramp_step", c->ramp_step, "ramp_interval_s",
	    c->ramp_interval_s, "settle_s", c->settle_s, "duration_s", c->duration_s, "server_pid",
	    c->server_pid, "send", c->send, "recv", c->recv, "expected_fps", c->fps,
	    "min_fps_ratio", c->min_fps_ratio, "max_freeze_s", c->max_freeze_s, "max_loss_pct",
	    c->max_loss_pct, "decode", c->decode, "abuse", abuse_name(c->abuse));
}

static json_t *row_json(const struct step_result *r)
{
	json_t *o = json_pack(
	    "{s:i, s:f, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:I, s:f, s:f, s:f, "
	    "s:f}",
	    "step", r->step, "t_s", r->t_s, "rooms", r->rooms, "clients", r->clients, "connected",
	    r->connected, "failed", r->failed, "measured", r->measured, "window_s", r->window_s,
	    "fps_min", r->fps_min, "fps_mean", r->fps_mean, "audio_pps_min", r->audio_min,
	    "freeze_max_ms", r->freeze_max_ms, "freezes", (json_int_t)r->freezes,
	    "video_loss_max_pct", r->vloss_max_pct, "audio_loss_max_pct", r->aloss_max_pct,
	    "loss_mean_pct", r->loss_mean_pct, "connect_ms_max", r->connect_ms_max);
	json_t *more = json_pack(
	    "{s:f, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:b, s:s}",
	    "uplink_loss_max_pct", r->uploss_max_pct, "server_udp_drops",
	    (json_int_t)r->srv_udp_drops, "gen_udp_drops", (json_int_t)r->gen_udp_drops,
	    "server_cpu_pct", r->srv_cpu_pct, "server_rss_mib", r->srv_rss_mib, "server_hwm_mib",
	    r->srv_hwm_mib, "gen_cpu_pct", r->gen_cpu_pct, "send_lag_max_ms", r->send_lag_max_ms,
	    "send_errors", (json_int_t)r->send_errors, "decoded_frames",
	    (json_int_t)r->decoded_frames, "decode_errors", (json_int_t)r->decode_errors,
	    "other_pt_packets", (json_int_t)r->other_pkts, "pass", r->pass, "reason", r->reason);
	json_object_update(o, more);
	json_decref(more);
	return o;
}

static json_t *client_json(const struct client *c)
{
	const struct recv *r = &c->rcv;
	struct recv_snap s;
	recv_snap(r, r->last_frame_us, &s);
	json_t *o = json_pack(
	    "{s:i, s:s, s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "index",
	    c->index, "room", c->room, "id", c->id, "state", client_state_name(c->state), "error",
	    c->error, "connect_ms", client_connect_ms(c), "video_packets",
	    (json_int_t)r->video_pkts, "audio_packets", (json_int_t)r->audio_pkts, "other_packets",
	    (json_int_t)r->other_pkts, "video_frames", (json_int_t)r->frames, "keyframes",
	    (json_int_t)r->keyframes, "video_expected", (json_int_t)s.vexpected, "video_received",
	    (json_int_t)s.vreceived, "audio_expected", (json_int_t)s.aexpected, "audio_received",
	    (json_int_t)s.areceived);
	json_t *more = json_pack(
	    "{s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "freezes", (json_int_t)r->freezes, "decoded_frames", (json_int_t)r->decoded_frames,
	    "decode_errors", (json_int_t)r->decode_errors, "decoded_audio",
	    (json_int_t)r->decoded_audio, "width", r->width, "height", r->height, "rtp_sent",
	    (json_int_t)c->n.rtp_sent, "send_errors", (json_int_t)c->n.send_errors, "srtp_errors",
	    (json_int_t)c->n.srtp_errors, "nack_in", (json_int_t)c->n.nack_in, "rtx_sent",
	    (json_int_t)c->n.rtx_sent, "pli_in", (json_int_t)c->n.pli_in, "sr_in",
	    (json_int_t)c->n.sr_in, "keyframe_skips", (json_int_t)c->replay.keyframe_skips,
	    "pli_out", (json_int_t)c->n.pli_out);
	json_object_update(o, more);
	json_decref(more);
	json_object_update_new(
	    o, json_pack("{s:I, s:f, s:f, s:f, s:s, s:I}", "bytes", (json_int_t)r->bytes, "fps",
	                 client_fps(r), "media_s", media_s(r), "max_gap_ms", r->max_gap_us / 1000.0,
	                 "server_error", c->server_error, "rtcp_in", (json_int_t)c->n.rtcp_in));
	if (c->abuse.mode != ABUSE_NONE) {
		const struct abuse_counters *a = &c->abuse.n;
		json_object_set_new(
		    o, "abuse",
		    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		              "mode", abuse_name(c->abuse.mode), "packets", (json_int_t)a->packets,
		              "nacks", (json_int_t)a->nacks, "nack_seqs", (json_int_t)a->nack_seqs,
		              "plis", (json_int_t)a->plis, "firs", (json_int_t)a->firs,
		              "duplicates", (json_int_t)a->duplicates, "old", (json_int_t)a->old,
		              "garbage", (json_int_t)a->garbage, "garbage_stun",
		              (json_int_t)a->garbage_stun, "garbage_dtls",
		              (json_int_t)a->garbage_dtls, "garbage_rtp",
		              (json_int_t)a->garbage_rtp));
	}
	if (c->t_failed)
		json_object_set_new(o, "failed_after_s",
		                    json_real((c->t_failed - c->t_start) / 1e6));
	return o;
}

int report_json(const char *path, const struct load_cfg *cfg, const struct step_result *rows,
                int nrows, const struct step_result *held, const char *verdict,
                struct client *const *clients, int nclients)
{
	json_t *root = json_object(), *steps = json_array(), *cl = json_array();
	for (int i = 0; i < nrows; i++)
		json_array_append_new(steps, row_json(&rows[i]));
	for (int i = 0; i < nclients; i++)
		json_array_append_new(cl, client_json(clients[i]));
	json_object_set_new(root, "config", cfg_json(cfg));
	json_object_set_new(root, "steps", steps);
	json_object_set_new(root, "held", held ? row_json(held) : json_null());
	json_object_set_new(root, "verdict", json_string(verdict));
	json_object_set_new(root, "clients", cl);
	int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
	json_decref(root);
	return rc == 0 ? 0 : -EIO;
}
