/*
 * bench_peers.c - the same job done by the tools a user would pick instead, and quality.
 *
 * ffmpeg CLI: N inputs -> scale (fast bilinear) into the engine's own grid rectangles ->
 * xstack -> pad, amix -> libvpx realtime CBR cpu-used -8, one thread, same bitrate and fps,
 * libopus 32k mono. GStreamer (gst-launch-1.0): matroskademux/vp8dec/opusdec per input ->
 * compositor (pads placed and sized on the same rectangles) + audiomixer -> vp8enc
 * (deadline=1 cpu-used=-8 end-usage=cbr, one thread) + opusenc -> webmmux.
 * CPU is the child's user+sys from wait4. Y-PSNR compares an output with ffmpeg's lossless
 * xstack of the raw decoded inputs (bicubic scale, no encode) through ffmpeg's psnr filter.
 * Single-threaded; child processes are waited for before returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ARGS 4096
#define GRAPH_SZ 16384

struct argv_buf {
	char *v[MAX_ARGS];
	int n;
	char store[262144];
	size_t used;
};

static void arg(struct argv_buf *a, const char *s)
{
	size_t len = strlen(s) + 1;
	if (a->n >= MAX_ARGS - 1 || a->used + len > sizeof(a->store))
		return;
	memcpy(a->store + a->used, s, len);
	a->v[a->n++] = a->store + a->used;
	a->v[a->n] = NULL;
	a->used += len;
}

int bench_spawn(char *const argv[], const char *log_path, double *cpu_s, long *rss_kib)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	*cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
	         ru.ru_stime.tv_usec * 1e-6;
	*rss_kib = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* The grid rectangles our engine uses for this scenario. */
static int rects_of(const struct bench_scenario *sc, struct mix_rect *r)
{
	int n = sc->n < sc->visible ? sc->n : sc->visible;
	return mix_layout_compute(MIX_LAYOUT_GRID, n, sc->width, sc->height, r,
	                          MIX_LAYOUT_MAX_TILES);
}

static void append(char *g, const char *fmt, ...)
{
	size_t len = strlen(g);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g + len, GRAPH_SZ - len, fmt, ap);
	va_end(ap);
}

/* [first+i:v] scaled into each tile, stacked and padded to the canvas, labelled [out]. */
static void video_graph(const struct bench_scenario *sc, int first, const char *flags, char *g)
{
	struct mix_rect r[MIX_LAYOUT_MAX_TILES];
	int n = rects_of(sc, r);
	for (int i = 0; i < n; i++)
		append(g, "[%d:v]scale=%d:%d:flags=%s[t%d];", first + i, r[i].w, r[i].h, flags, i);
	for (int i = 0; i < n; i++)
		append(g, "[t%d]", i);
	if (n == 1) {
		append(g, "null");
	} else {
		append(g, "xstack=inputs=%d:fill=black:layout=", n);
		for (int i = 0; i < n; i++)
			append(g, i ? "|%d_%d" : "%d_%d", r[i].x, r[i].y);
	}
	append(g, ",pad=%d:%d:0:0,format=yuv420p[out]", sc->width, sc->height);
}

static void inputs(struct argv_buf *a, const struct bench_scenario *sc, const struct bench_paths *p)
{
	int n = sc->n < sc->visible ? sc->n : sc->visible;
	for (int i = 0; i < n; i++) {
		char path[1024];
		bench_clip_path(p, sc->res, i, path, sizeof(path));
		arg(a, "-i");
		arg(a, path);
	}
}

static char *log_path(const struct bench_paths *p, const char *tool, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s.log", p->out_dir, tool);
	return buf;
}

int bench_peer_ffmpeg(const struct bench_scenario *sc, const struct bench_paths *p,
                      const char *out_path, double *cpu_s, long *rss_kib)
{
	static const char *head[] = {"ffmpeg",    "-nostdin", "-hide_banner",
	                             "-loglevel", "error",    "-y"};
	struct argv_buf *a = calloc(1, sizeof(*a));
	char *g = calloc(1, GRAPH_SZ), num[64], lp[1024];
	if (!a || !g) {
		free(a);
		free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(head) / sizeof(*head); i++)
		arg(a, head[i]);
	inputs(a, sc, p);
	video_graph(sc, 0, "fast_bilinear", g);
	int n = sc->n < sc->visible ? sc->n : sc->visible;
	strcat(g, ";");
	for (int i = 0; i < n; i++)
		append(g, "[%d:a]", i);
	append(g, "amix=inputs=%d:normalize=0[aout]", n);
	arg(a, "-filter_complex");
	arg(a, g);
	const char *tail[] = {
	    "-map",          "[out]",    "-map",           "[aout]",  "-c:v",     "libvpx",
	    "-deadline",     "realtime", "-cpu-used",      "-8",      "-qmin",    "2",
	    "-qmax",         "56",       "-lag-in-frames", "0",       "-threads", "1",
	    "-auto-alt-ref", "0",        "-c:a",           "libopus", "-b:a",     "32k",
	    "-ac",           "1"};
	for (size_t i = 0; i < sizeof(tail) / sizeof(*tail); i++)
		arg(a, tail[i]);
	snprintf(num, sizeof(num), "%d", sc->bitrate);
	const char *rate[] = {"-b:v", "-minrate", "-maxrate"};
	for (int i = 0; i < 3; i++) {
		arg(a, rate[i]);
		arg(a, num);
	}
	snprintf(num, sizeof(num), "%d", sc->fps);
	arg(a, "-r");
	arg(a, num);
	arg(a, out_path);
	int rc = bench_spawn(a->v, log_path(p, "ffmpeg", lp, sizeof(lp)), cpu_s, rss_kib);
	free(a);
	free(g);
	return rc;
}

static void gst_input(struct argv_buf *a, const char *path, int i)
{
	char s[1400];
	snprintf(s, sizeof(s),
	         "filesrc location=%s ! matroskademux name=d%d d%d.video_0 ! queue ! vp8dec "
	         "threads=1 ! c.sink_%d d%d.audio_0 ! queue ! opusdec ! audioconvert ! "
	         "audioresample ! am.sink_%d",
	         path, i, i, i, i, i);
	for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " "))
		arg(a, tok);
}

static void gst_compositor(struct argv_buf *a, const struct mix_rect *r, int n)
{
	arg(a, "compositor");
	arg(a, "name=c");
	arg(a, "background=black");
	for (int i = 0; i < n; i++) {
		char s[96];
		snprintf(s, sizeof(s), "sink_%d::xpos=%d", i, r[i].x);
		arg(a, s);
		snprintf(s, sizeof(s), "sink_%d::ypos=%d", i, r[i].y);
		arg(a, s);
		snprintf(s, sizeof(s), "sink_%d::width=%d", i, r[i].w);
		arg(a, s);
		snprintf(s, sizeof(s), "sink_%d::height=%d", i, r[i].h);
		arg(a, s);
	}
}

int bench_peer_gst(const struct bench_scenario *sc, const struct bench_paths *p,
                   const char *out_path, double *cpu_s, long *rss_kib)
{
	struct argv_buf *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	struct mix_rect r[MIX_LAYOUT_MAX_TILES];
	int n = rects_of(sc, r);
	char s[1400], lp[1024];
	arg(a, "gst-launch-1.0");
	arg(a, "-q");
	gst_compositor(a, r, n);
	snprintf(s, sizeof(s),
	         "! video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1 ! vp8enc deadline=1 "
	         "cpu-used=-8 end-usage=cbr target-bitrate=%d threads=1 lag-in-frames=0 "
	         "min-quantizer=2 max-quantizer=56 ! queue ! m. audiomixer name=am ! "
	         "audioconvert ! audioresample ! audio/x-raw,channels=1,rate=48000 ! opusenc "
	         "bitrate=32000 ! queue ! m. webmmux name=m ! filesink location=%s",
	         sc->width, sc->height, sc->fps, sc->bitrate, out_path);
	for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " "))
		arg(a, tok);
	for (int i = 0; i < n; i++) {
		char path[1024];
		bench_clip_path(p, sc->res, i, path, sizeof(path));
		gst_input(a, path, i);
	}
	int rc = bench_spawn(a->v, log_path(p, "gst", lp, sizeof(lp)), cpu_s, rss_kib);
	free(a);
	return rc;
}

static int parse_psnr(const char *log, double *db)
{
	FILE *f = fopen(log, "r");
	if (!f)
		return -errno;
	char line[1024];
	int rc = -EBADMSG;
	while (fgets(line, sizeof(line), f)) {
		char *y = strstr(line, "PSNR y:");
		if (!y)
			continue;
		if (!strncmp(y + 7, "inf", 3)) {
			*db = 99.0;
			rc = 0;
		} else if (sscanf(y + 7, "%lf", db) == 1) {
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

int bench_psnr_y(const struct bench_scenario *sc, const struct bench_paths *p, const char *path,
                 double *db)
{
	struct argv_buf *a = calloc(1, sizeof(*a));
	char *g = calloc(1, GRAPH_SZ), lp[1024];
	if (!a || !g) {
		free(a);
		free(g);
		return -ENOMEM;
	}
	const char *head[] = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info",
	                      "-i",     path};
	for (size_t i = 0; i < sizeof(head) / sizeof(*head); i++)
		arg(a, head[i]);
	inputs(a, sc, p);
	video_graph(sc, 1, "bicubic", g);
	strcat(g, ";[0:v]format=yuv420p[o];[o][out]psnr");
	arg(a, "-filter_complex");
	arg(a, g);
	arg(a, "-f");
	arg(a, "null");
	arg(a, "-");
	double cpu;
	long rss;
	log_path(p, "psnr", lp, sizeof(lp));
	int rc = bench_spawn(a->v, lp, &cpu, &rss);
	if (rc == 0)
		rc = parse_psnr(lp, db);
	free(a);
	free(g);
	return rc;
}
