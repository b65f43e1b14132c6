/*
 * report.h - mcu-load's figures: CPU and memory of a process from /proc (the server, given by
 * --server-pid) and of mcu-load itself (getrusage), the table printed per window and the JSON
 * file (--json). Called from the GLib loop thread; no state of its own.
 */
#ifndef LOAD_REPORT_H
#define LOAD_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "load.h"

struct client;

struct proc_sample {
	bool ok;
	double cpu_s;            /* user + system */
	double rss_mib, hwm_mib; /* resident now, and its peak */
};

/* Reads /proc/PID/stat and /proc/PID/status. 0 or -errno (ok false). */
int proc_sample(int pid, struct proc_sample *out);
/*
 * Datagrams the kernel dropped on the UDP sockets PID holds (its receive buffers were full:
 * it did not read in time), from /proc/PID/fd and /proc/PID/net/udp. -1 if unreadable.
 */
int64_t proc_udp_drops(int pid);
/* This process's user + system CPU seconds (every thread). */
double self_cpu_s(void);

void report_header(FILE *f);
void report_row(FILE *f, const struct step_result *r);
/* One line per client over its whole run: state, frames, keyframes, fps, longest gap, abuse. */
void report_clients(FILE *f, struct client *const *clients, int nclients);

/*
 * Writes the run as JSON: config, every window, the largest load held (held, NULL if none)
 * and one object per client. 0 or -errno.
 */
int report_json(const char *path, const struct load_cfg *cfg, const struct step_result *rows,
                int nrows, const struct step_result *held, const char *verdict,
                struct client *const *clients, int nclients);

#endif
