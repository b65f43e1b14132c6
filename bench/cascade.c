/*
 * cascade.c - mcu-cascade: simulates one large room cascaded over N nodes in one process
 * (docs/SCALING.md, "Beyond a node: cascading"), with real engines and real VP8/Opus decodes
 * and encodes, offline, and reports cores per node and the delay a second mixer adds.
 *
 *   mcu-cascade [--participants 1000] [--nodes 2,4,8] [--shown 25] [--loud 3] [--talkers K]
 *               [--seconds S] [--media build/bench-media] [--res 180p] [--size 1280x720]
 *               [--bitrate 2000000] [--link-ms 1] [--jitter-ms 0] [--json PATH|-] [--quiet]
 *
 * Clips come from bench/gen-bench-media.sh (the same as mcu-bench's) and loop when --seconds
 * is longer. Main thread only; owns the media and the results.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"

#define MAX_RUNS 16

struct args {
	struct cascade_cfg cfg;
	int nodes[MAX_RUNS], nruns;
	double seconds;
	const char *media, *res, *json;
	bool quiet;
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: mcu-cascade [--participants P] [--nodes N[,N...]] [--shown S] "
	        "[--loud K] [--talkers T] [--seconds S] [--media DIR] [--res 180p|360p|720p] "
	        "[--size WxH] [--bitrate BPS] [--link-ms MS] [--jitter-ms MS] "
	        "[--json PATH|-] [--quiet]\n");
}

static int parse_nodes(struct args *a, const char *s)
{
	a->nruns = 0;
	char *end = NULL;
	while (*s && a->nruns < MAX_RUNS) {
		long v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > 64)
			return -EINVAL;
		a->nodes[a->nruns++] = (int)v;
		s = *end == ',' ? end + 1 : end;
	}
	return *s || a->nruns == 0 ? -EINVAL : 0;
}

static int parse_one(struct args *a, const char *k, const char *v)
{
	struct cascade_cfg *c = &a->cfg;
	if (!strcmp(k, "--participants"))
		c->participants = atoi(v);
	else if (!strcmp(k, "--nodes"))
		return parse_nodes(a, v);
	else if (!strcmp(k, "--shown"))
		c->shown = atoi(v);
	else if (!strcmp(k, "--loud"))
		c->loud = atoi(v);
	else if (!strcmp(k, "--talkers"))
		c->talkers = atoi(v);
	else if (!strcmp(k, "--seconds"))
		a->seconds = atof(v);
	else if (!strcmp(k, "--media"))
		a->media = v;
	else if (!strcmp(k, "--res"))
		a->res = v;
	else if (!strcmp(k, "--size"))
		return sscanf(v, "%dx%d", &c->width, &c->height) == 2 ? 0 : -EINVAL;
	else if (!strcmp(k, "--bitrate"))
		c->bitrate = atoi(v);
	else if (!strcmp(k, "--link-ms"))
		c->link_us = (int64_t)(atof(v) * 1000);
	else if (!strcmp(k, "--jitter-ms"))
		c->jitter_us = (int64_t)(atof(v) * 1000);
	else if (!strcmp(k, "--json"))
		a->json = v;
	else
		return -EINVAL;
	return 0;
}

static int parse_args(struct args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	*a = (struct args){.cfg = {.participants = 1000,
	                           .shown = 25,
	                           .loud = 3,
	                           .talkers = -1,
	                           .link_us = 1000,
	                           .width = 1280,
	                           .height = 720,
	                           .bitrate = 2000000},
	                   .nodes = {2, 4, 8},
	                   .nruns = 3,
	                   .media = "build/bench-media",
	                   .res = "180p"};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet")) {
			a->quiet = true;
			continue;
		}
		if (i + 1 >= argc || parse_one(a, argv[i], argv[i + 1]) < 0)
			return -EINVAL;
		i++;
	}
	struct cascade_cfg *c = &a->cfg;
	if (c->talkers < 0)
		c->talkers = c->loud;
	bool ok = c->participants >= 1 && c->shown >= 1 && c->loud >= 1 && c->loud <= 16 &&
	          c->talkers <= c->participants && c->width >= 16 && c->height >= 16 &&
	          c->bitrate > 0 && a->seconds >= 0;
	for (int i = 0; i < a->nruns; i++)
		ok = ok && a->nodes[i] <= c->participants;
	return ok ? 0 : -EINVAL;
}

static int write_json(const struct args *a, const struct cascade_result *r, int n)
{
	if (!a->json)
		return 0;
	if (!strcmp(a->json, "-")) {
		cascade_print_json(stdout, &a->cfg, r, n);
		return 0;
	}
	FILE *f = fopen(a->json, "w");
	if (!f)
		return -errno;
	cascade_print_json(f, &a->cfg, r, n);
	return fclose(f) == 0 ? 0 : -EIO;
}

static int run_all(struct args *a, struct cascade_result *res)
{
	cascade_print_header(stdout, &a->cfg);
	fflush(stdout);
	int rc = 0, n = 0;
	for (; n < a->nruns && rc == 0; n++) {
		a->cfg.nodes = a->nodes[n];
		rc = cascade_room_run(&a->cfg, !a->quiet, &res[n]);
		if (rc == 0) {
			cascade_print_row(stdout, &res[n]);
			fflush(stdout);
		} else {
			fprintf(stderr, "mcu-cascade: %d nodes: %s\n", a->nodes[n], strerror(-rc));
		}
	}
	if (rc == 0)
		rc = write_json(a, res, n);
	for (int i = 0; i < n; i++)
		cascade_result_free(&res[i]);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	if (parse_args(&a, argc, argv) < 0) {
		usage();
		return 2;
	}
	struct bench_media m;
	char err[512] = "";
	if (bench_media_load(&m, a.media, a.res, err, sizeof(err)) < 0) {
		fprintf(stderr, "mcu-cascade: %s (make %s/.stamp?)\n", err, a.media);
		return 1;
	}
	a.cfg.m = &m;
	a.cfg.media_us = a.seconds > 0 ? (int64_t)(a.seconds * 1e6) : m.dur_us;
	struct cascade_result res[MAX_RUNS];
	int rc = run_all(&a, res);
	bench_media_free(&m);
	return rc == 0 ? 0 : 1;
}
