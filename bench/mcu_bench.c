/*
 * mcu_bench.c - mcu-bench: what a participant costs the media engine, against ffmpeg/GStreamer.
 *
 *   mcu-bench --suite full|quick|simulcast [--json PATH] [--plot PATH.svg]  (the lists below)
 *   mcu-bench -n 9 [--sender 180p|360p|720p|sim] [--size 1280x720] [--fps 30]
 *             [--layout grid|speaker] [--exclude-self] [--talkers 4] [--turns MS]
 *             [--visible 25] [--mixed 4] [--per-recipient]
 *             [--runs 3] [--peers] [--psnr] [--threads N]               (one scenario)
 *
 * Sender "sim": simulcast senders (issue 14), every participant sends 180p, 360p and 720p of
 * its clip and one layer is decoded, as the server does (bench_run.c). The simulcast suite
 * (also part of full) compares them with single-layer 720p and 180p senders.
 *
 * Each run of our engine happens in a forked child (its own peak RSS), the runs of all
 * scenarios interleaved (run 1 of each, then run 2, ...); peers are child
 * processes too (wait4 gives their CPU). Prints a table, ratios, a summary of the issue's
 * targets, and optionally JSON and an SVG chart. Progress goes to stderr. --threads N (N > 1)
 * runs the one scenario twice, without and with an engine worker pool (N threads in all), and
 * compares their real-time factors (media s per wall s) and CPU.
 * Exit status: 0 when every scenario (and every requested peer run) succeeded, 1 otherwise,
 * 2 on bad usage. Single-threaded; all state lives in main's struct opts and the results.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "mix/h264.h"
#include "mix/pool.h"
#include "session/ladder.h"

#define MAX_SCEN 32
#define TURN_MS  2500 /* the simulcast suite's speaker layouts: talkers take turns this long */

struct opts {
	struct bench_paths paths;
	const char *suite, *json, *plot, *gp;
	bool quiet;
	struct bench_scenario one;
	bool have_one;
	bool both_codecs;                      /* --codec both */
	int rung_list[LADDER_MAX], nrung_list; /* --rungs 1,2,4: one scenario per count */
};

/* "1,2,4": rung counts, each 1..4 (the default ladder's rungs). */
static int parse_rungs(const char *v, struct opts *o)
{
	o->nrung_list = 0;
	for (const char *p = v; *p;) {
		char *end;
		long k = strtol(p, &end, 10);
		if (end == p || k < 1 || k > 4 || o->nrung_list == LADDER_MAX)
			return -EINVAL;
		o->rung_list[o->nrung_list++] = (int)k;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -EINVAL;
	}
	return o->nrung_list ? 0 : -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mcu-bench --suite full|quick|simulcast | -n N [scenario options] [options]\n"
	    "  --suite full|quick|simulcast   the built-in scenario lists (docs/BENCHMARKS.md)\n"
	    "  -n, --participants N   one scenario with N participants\n"
	    "  --sender 180p|360p|720p|sim  sender resolution (default 360p); sim: simulcast,\n"
	    "                         all three sent, the one the largest tile needs decoded\n"
	    "  --turns MS             the talkers take turns of MS ms (default: all talk)\n"
	    "  --size WxH --fps N --bitrate BPS   output (default 1280x720, 30, 2000000)\n"
	    "  --layout grid|speaker  --exclude-self  (one encoder per recipient)\n"
	    "  --talkers T --visible V --mixed K   (defaults 4, 25, 4)\n"
	    "  --per-recipient        one recipient per participant (default: one recording)\n"
	    "  --runs R               runs, the median is reported (default 1)\n"
	    "  --rungs 1,2,4          with --per-recipient: recipients spread over the first K\n"
	    "                         rungs of the server's default ladder, one scenario per K\n"
	    "  --codec vp8|h264|both  the outputs' video codec (h264: libx264, an MP4 recording);\n"
	    "                         both: the scenario with VP8, then H.264, and compare\n"
	    "  --threads N            N > 1: run the scenario on 1 thread, then with an engine\n"
	    "                         worker pool (N threads in all), and compare\n"
	    "  --peers                also run ffmpeg and GStreamer on the same job\n"
	    "  --psnr                 Y-PSNR of each output (needs --peers)\n"
	    "  --media DIR            clips (default build/bench-media)\n"
	    "  --out DIR              outputs and logs (default build/bench-out)\n"
	    "  --json PATH  --plot PATH.svg  --gp SCRIPT (default bench/plot.gp)  -q, --quiet\n");
}

static void scen(struct bench_scenario *s, const char *name, int n, const char *res,
                 enum bench_mode mode)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->res, sizeof(s->res), "%s", res);
	s->n = n;
	s->width = 1280;
	s->height = 720;
	s->fps = 30;
	s->bitrate = 2000000;
	s->layout = MIX_LAYOUT_GRID;
	s->talkers = n < 4 ? n : 4;
	s->visible = MIX_LAYOUT_MAX_TILES;
	s->mixed = 4;
	s->mode = mode;
	s->runs = 1;
}

static struct bench_scenario *add(struct bench_scenario *list, int *n, const char *name, int np,
                                  const char *res, enum bench_mode mode)
{
	struct bench_scenario *s = &list[(*n)++];
	scen(s, name, np, res, mode);
	return s;
}

static void sweep(struct bench_scenario *l, int *k, const int *ns, int count, int skip, bool peers)
{
	for (int i = 0; i < count; i++) {
		if (ns[i] == skip)
			continue;
		char name[48];
		snprintf(name, sizeof(name), "sweep-record-%d", ns[i]);
		struct bench_scenario *s = add(l, k, name, ns[i], "360p", BENCH_RECORD);
		s->peers = peers;
		s->sweep = true;
		snprintf(name, sizeof(name), "sweep-per-recipient-%d", ns[i]);
		add(l, k, name, ns[i], "360p", BENCH_PER_RECIPIENT)->sweep = true;
	}
}

/*
 * Issue 14: a grid and a speaker layout of n per-recipient participants (mix-minus, as the
 * server), each with simulcast senders, single-layer 720p and single-layer 180p senders. In the
 * speaker layout the talkers take turns, so the active speaker (and its layer) changes.
 */
static void simulcast_suite(struct bench_scenario *l, int *k, int n, int runs)
{
	static const char *const res[] = {"sim", "720p", "180p"};
	for (int lay = 0; lay < 2; lay++)
		for (int i = 0; i < 3; i++) {
			char name[48];
			snprintf(name, sizeof(name), "sc-%s-%d-%s", lay ? "speaker" : "grid", n,
			         res[i]);
			struct bench_scenario *s = add(l, k, name, n, res[i], BENCH_PER_RECIPIENT);
			s->layout = lay ? MIX_LAYOUT_SPEAKER : MIX_LAYOUT_GRID;
			s->turn_ms = lay ? TURN_MS : 0;
			s->runs = runs;
		}
}

/* The headline scenarios; quick uses small sizes and one run but the same kinds. */
static int suite(const char *which, struct bench_scenario *l)
{
	int k = 0;
	if (!strcmp(which, "simulcast")) {
		simulcast_suite(l, &k, 25, 5);
		return k;
	}
	bool full = !strcmp(which, "full");
	int runs = full ? 3 : 1, n9 = full ? 9 : 4;
	struct bench_scenario *s;
	char name[48];
	snprintf(name, sizeof(name), "record-%d", n9);
	s = add(l, &k, name, n9, "360p", BENCH_RECORD);
	s->peers = s->psnr = s->sweep = true;
	s->runs = runs;
	snprintf(name, sizeof(name), "per-recipient-%d", n9);
	s = add(l, &k, name, n9, "360p", BENCH_PER_RECIPIENT);
	s->peers = s->sweep = true;
	s->runs = runs;
	snprintf(name, sizeof(name), "exclude-self-%d", n9);
	add(l, &k, name, n9, "360p", BENCH_PER_RECIPIENT)->exclude_self = true;
	snprintf(name, sizeof(name), "large-room-%d", full ? 100 : 20);
	s = add(l, &k, name, full ? 100 : 20, "360p", BENCH_PER_RECIPIENT);
	s->visible = full ? 9 : 4;
	s->runs = runs;
	snprintf(name, sizeof(name), "speaker-%d", full ? 25 : 9);
	s = add(l, &k, name, full ? 25 : 9, "360p", BENCH_PER_RECIPIENT);
	s->layout = MIX_LAYOUT_SPEAKER;
	s->runs = runs;
	if (!full) { /* simulcast senders: the code path only (1 s clips have one keyframe) */
		add(l, &k, "sc-grid-9-sim", 9, "sim", BENCH_PER_RECIPIENT);
		s = add(l, &k, "sc-speaker-9-sim", 9, "sim", BENCH_PER_RECIPIENT);
		s->layout = MIX_LAYOUT_SPEAKER;
		s->turn_ms = TURN_MS;
		return k;
	}
	s = add(l, &k, "sender-180p-9", 9, "180p", BENCH_RECORD);
	s->peers = true;
	s = add(l, &k, "sender-720p-9", 9, "720p", BENCH_RECORD);
	s->peers = true;
	static const int ns[] = {2, 4, 9, 16, 25};
	sweep(l, &k, ns, 5, 9, true);
	simulcast_suite(l, &k, 25, runs);
	return k;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		O_SENDER = 256,
		O_SIZE,
		O_FPS,
		O_BR,
		O_LAYOUT,
		O_EXCL,
		O_TALK,
		O_VIS,
		O_MIX,
		O_PERR,
		O_RUNS,
		O_PEERS,
		O_PSNR,
		O_MEDIA,
		O_OUT,
		O_JSON,
		O_PLOT,
		O_GP,
		O_SUITE,
		O_THREADS,
		O_CODEC,
		O_RUNGS,
		O_TURNS
	};
	static const struct option lo[] = {{"participants", 1, 0, 'n'},
	                                   {"sender", 1, 0, O_SENDER},
	                                   {"size", 1, 0, O_SIZE},
	                                   {"fps", 1, 0, O_FPS},
	                                   {"bitrate", 1, 0, O_BR},
	                                   {"layout", 1, 0, O_LAYOUT},
	                                   {"exclude-self", 0, 0, O_EXCL},
	                                   {"talkers", 1, 0, O_TALK},
	                                   {"visible", 1, 0, O_VIS},
	                                   {"mixed", 1, 0, O_MIX},
	                                   {"per-recipient", 0, 0, O_PERR},
	                                   {"runs", 1, 0, O_RUNS},
	                                   {"peers", 0, 0, O_PEERS},
	                                   {"psnr", 0, 0, O_PSNR},
	                                   {"media", 1, 0, O_MEDIA},
	                                   {"out", 1, 0, O_OUT},
	                                   {"json", 1, 0, O_JSON},
	                                   {"plot", 1, 0, O_PLOT},
	                                   {"gp", 1, 0, O_GP},
	                                   {"suite", 1, 0, O_SUITE},
	                                   {"threads", 1, 0, O_THREADS},
	                                   {"codec", 1, 0, O_CODEC},
	                                   {"rungs", 1, 0, O_RUNGS},
	                                   {"turns", 1, 0, O_TURNS},
	                                   {"quiet", 0, 0, 'q'},
	                                   {"help", 0, 0, 'h'},
	                                   {0, 0, 0, 0}};
	struct bench_scenario *s = &o->one;
	scen(s, "custom", 9, "360p", BENCH_RECORD);
	int c, talkers = -1;
	while ((c = getopt_long(argc, argv, "n:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			s->n = atoi(optarg), o->have_one = true;
			break;
		case O_SENDER:
			snprintf(s->res, sizeof(s->res), "%s", optarg);
			break;
		case O_SIZE:
			if (sscanf(optarg, "%dx%d", &s->width, &s->height) != 2)
				return -EINVAL;
			break;
		case O_FPS:
			s->fps = atoi(optarg);
			break;
		case O_BR:
			s->bitrate = atoi(optarg);
			break;
		case O_LAYOUT: {
			enum mix_layout_kind k;
			if (mix_layout_parse(optarg, &k) < 0)
				return -EINVAL;
			s->layout = k;
			break;
		}
		case O_EXCL:
			s->exclude_self = true;
			break;
		case O_TALK:
			talkers = atoi(optarg);
			break;
		case O_VIS:
			s->visible = atoi(optarg);
			break;
		case O_MIX:
			s->mixed = atoi(optarg);
			break;
		case O_PERR:
			s->mode = BENCH_PER_RECIPIENT;
			break;
		case O_RUNS:
			s->runs = atoi(optarg);
			break;
		case O_PEERS:
			s->peers = true;
			break;
		case O_PSNR:
			s->psnr = true;
			break;
		case O_MEDIA:
			o->paths.media_dir = optarg;
			break;
		case O_OUT:
			o->paths.out_dir = optarg;
			break;
		case O_JSON:
			o->json = optarg;
			break;
		case O_PLOT:
			o->plot = optarg;
			break;
		case O_GP:
			o->gp = optarg;
			break;
		case O_SUITE:
			o->suite = optarg;
			break;
		case O_THREADS:
			s->threads = atoi(optarg);
			break;
		case O_TURNS:
			s->turn_ms = atoi(optarg);
			break;
		case O_RUNGS:
			if (parse_rungs(optarg, o) < 0)
				return -EINVAL;
			break;
		case O_CODEC:
			if (!strcmp(optarg, "both"))
				o->both_codecs = true;
			else if (!strcmp(optarg, "h264"))
				s->vcodec = MIX_VCODEC_H264;
			else if (strcmp(optarg, "vp8"))
				return -EINVAL;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	s->talkers = talkers >= 0 ? talkers : s->n < 4 ? s->n : 4;
	s->psnr = s->psnr && s->peers;
	bool bad_suite = o->suite && strcmp(o->suite, "full") && strcmp(o->suite, "quick") &&
	                 strcmp(o->suite, "simulcast");
	bool bad_res = bench_layer_of(s->res) < 0 && strcmp(s->res, "sim");
	if (bad_suite || bad_res || s->turn_ms < 0 || (!o->suite && !o->have_one) || s->n < 1 ||
	    s->runs < 1 || s->runs > BENCH_MAX_RUNS || s->talkers > s->n || optind != argc ||
	    s->threads < 0 || s->threads > MIX_POOL_MAX_THREADS + 1 || (o->suite && s->threads > 1))
		return -EINVAL;
	if (o->nrung_list &&
	    (s->mode != BENCH_PER_RECIPIENT || o->suite || o->both_codecs || s->threads > 1))
		return -EINVAL;
	if (!strcmp(s->res, "sim") && s->peers) /* the peers read one file per participant */
		return -EINVAL;
	bool h264 = s->vcodec == MIX_VCODEC_H264 || o->both_codecs;
	if (h264 && (o->suite || s->peers || s->threads > 1)) /* peers and suites are VP8 */
		return -EINVAL;
	if (h264 && !mix_h264_available()) {
		fprintf(stderr, "mcu-bench: this FFmpeg has no libx264 encoder\n");
		return -EINVAL;
	}
	return 0;
}

static void peer_run(struct bench_result *r, const struct bench_paths *p, bool gst, int runs)
{
	struct bench_peer *pe = gst ? &r->gst : &r->ffmpeg;
	char out[1024];
	snprintf(out, sizeof(out), "%s/%s-%s.webm", p->out_dir, r->sc.name, gst ? "gst" : "ffmpeg");
	pe->ran = pe->ok = true;
	long rss = 0;
	for (int i = 0; i < runs && pe->ok; i++) {
		int rc = gst ? bench_peer_gst(&r->sc, p, out, &pe->cpu_s[i], &rss)
		             : bench_peer_ffmpeg(&r->sc, p, out, &pe->cpu_s[i], &rss);
		pe->ok = rc == 0;
		pe->rss_peak_kib = (double)rss;
	}
	if (pe->ok) {
		pe->cpu_med = bench_median(pe->cpu_s, runs);
		if (r->sc.psnr)
			pe->ok = bench_psnr_y(&r->sc, p, out, &pe->psnr_y) == 0;
	}
	if (!pe->ok)
		fprintf(stderr, "mcu-bench: %s: %s failed (see %s/%s.log)\n", r->sc.name,
		        gst ? "gst-launch-1.0" : "ffmpeg", p->out_dir, gst ? "gst" : "ffmpeg");
}

static void out_path(const struct bench_result *r, const struct opts *o, char *out, size_t n)
{
	snprintf(out, n, "%s/%s-ours.%s", o->paths.out_dir, r->sc.name,
	         r->sc.vcodec == MIX_VCODEC_H264 ? "mp4" : "webm");
}

/* Run i of our engine on one scenario (forked). false on failure. */
static bool run_ours(struct bench_result *r, const struct opts *o, int idx, int total, int i)
{
	const struct bench_scenario *sc = &r->sc;
	char out[1024];
	out_path(r, o, out, sizeof(out));
	if (!o->quiet)
		fprintf(stderr, "\rmcu-bench: [%d/%d] %s run %d/%d%30s", idx + 1, total, sc->name,
		        i + 1, sc->runs, "");
	int rc = bench_run_forked(sc, &o->paths, sc->mode == BENCH_RECORD ? out : NULL, !o->quiet,
	                          &r->run[i]);
	r->nrun = i + 1;
	return rc == 0;
}

/* After our runs (ok: all succeeded): their medians, PSNR, then the peers. false on failure. */
static bool finish_scenario(struct bench_result *r, const struct opts *o, int idx, int total,
                            bool ok)
{
	const struct bench_scenario *sc = &r->sc;
	char out[1024];
	out_path(r, o, out, sizeof(out));
	bench_median_run(r);
	if (ok && sc->psnr)
		ok = bench_psnr_y(sc, &o->paths, out, &r->psnr_ours) == 0;
	if (sc->peers) {
		if (!o->quiet)
			fprintf(stderr, "\rmcu-bench: [%d/%d] %s: ffmpeg and GStreamer%30s",
			        idx + 1, total, sc->name, "");
		peer_run(r, &o->paths, false, sc->runs);
		peer_run(r, &o->paths, true, sc->runs);
		ok = ok && r->ffmpeg.ok && r->gst.ok;
	}
	return ok && r->med.ok;
}

static const struct bench_result *find(const struct bench_result *res, int n, const char *pfx,
                                       int mode, int layout)
{
	for (int i = 0; i < n; i++)
		if (!strncmp(res[i].sc.name, pfx, strlen(pfx)) && (int)res[i].sc.mode == mode &&
		    res[i].sc.layout == layout)
			return &res[i];
	return NULL;
}

static double cores_of(const struct bench_result *r)
{
	return r->med.media_s > 0 ? r->med.cpu_s / r->med.media_s : 0;
}

/* The targets, computed from what ran. */
static void summary(FILE *f, const struct bench_result *res, int n)
{
	const struct bench_result *rec = find(res, n, "record-", BENCH_RECORD, 0);
	const struct bench_result *per = find(res, n, "per-recipient-", BENCH_PER_RECIPIENT, 0);
	const struct bench_result *big = find(res, n, "large-room-", BENCH_PER_RECIPIENT, 0);
	const struct bench_result *spk = find(res, n, "speaker-", BENCH_PER_RECIPIENT, 1);
	fprintf(f, "\ntargets:\n");
	if (rec && rec->ffmpeg.ok && rec->gst.ok)
		fprintf(f,
		        "  recording %s: ours/ffmpeg %.2f, ours/GStreamer %.2f (target <= 0.65)\n",
		        rec->sc.name, rec->med.cpu_s / rec->ffmpeg.cpu_med,
		        rec->med.cpu_s / rec->gst.cpu_med);
	if (rec && per)
		fprintf(f, "  per-recipient/one output: %.2f (target <= 1.3)\n",
		        per->med.cpu_s / rec->med.cpu_s);
	for (const struct bench_result *r = rec; r; r = r == rec ? per : NULL)
		fprintf(f, "  %s engine/floor: %.2f (target <= 1.15)\n", r->sc.name,
		        r->med.cpu_s / r->med.floor.total_s);
	if (big) {
		fprintf(f, "  %s: %.3f cores, %.1fx real time on one core", big->sc.name,
		        cores_of(big), big->med.media_s / big->med.wall_s);
		if (per && big->sc.n > per->sc.n)
			fprintf(f, ", %.0f KiB per extra (invisible) participant",
			        (double)(big->med.rss_peak_kib - per->med.rss_peak_kib) /
			            (big->sc.n - per->sc.n));
		fprintf(f, " (targets: < 1 core, < 1024 KiB)\n");
	}
	if (spk && per)
		fprintf(f, "  %s / %s: %.2f (target <= 1.0)\n", spk->sc.name, per->sc.name,
		        spk->med.cpu_s / per->med.cpu_s);
	int best = 0;
	for (int i = 0; i < n; i++)
		if (res[i].sc.sweep && res[i].sc.mode == BENCH_PER_RECIPIENT &&
		    cores_of(&res[i]) < 1.0 && res[i].sc.n > best)
			best = res[i].sc.n;
	if (best)
		fprintf(f,
		        "  largest measured per-recipient grid room in real time on one core: %d "
		        "(without a worker pool a room is one thread: %ld such rooms on all %ld "
		        "cores)\n",
		        best, sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_ONLN));
}

static void machine(char *out, size_t n)
{
	char line[256], model[200] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c) {
			snprintf(model, sizeof(model), "%s", c + 2);
			model[strcspn(model, "\n\"")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	snprintf(out, n, "%s, %ld cores", model, sysconf(_SC_NPROCESSORS_ONLN));
}

/* The single scenario, or with --threads N > 1 the same on 1 thread and then on N. */
static int one_scenario(const struct opts *o, const struct bench_scenario *one,
                        struct bench_scenario *l)
{
	l[0] = *one;
	for (int i = 0; i < o->nrung_list; i++) { /* the same job over 1, 2, ... rungs */
		l[i] = *one;
		l[i].rungs = o->rung_list[i];
		snprintf(l[i].name, sizeof(l[i].name), "%.38s-r%d", one->name, o->rung_list[i]);
	}
	if (o->nrung_list)
		return o->nrung_list;
	if (o->both_codecs) { /* VP8, then H.264, same job */
		l[1] = *one;
		l[1].vcodec = MIX_VCODEC_H264;
		snprintf(l[0].name, sizeof(l[0].name), "%.40s-vp8", one->name);
		snprintf(l[1].name, sizeof(l[1].name), "%.40s-h264", one->name);
		return 2;
	}
	if (one->threads <= 1)
		return 1;
	l[1] = *one;
	l[0].threads = 1;
	snprintf(l[0].name, sizeof(l[0].name), "%.40s-t1", one->name);
	snprintf(l[1].name, sizeof(l[1].name), "%.40s-t%d", one->name, one->threads);
	return 2;
}

static double rtf_of(const struct bench_result *r)
{
	return r->med.wall_s > 0 ? r->med.media_s / r->med.wall_s : 0;
}

/* With and without the worker pool: wall-clock speed and CPU, when both ran. */
static void threads_summary(FILE *f, const struct bench_result *res, int n)
{
	if (n != 2 || res[1].sc.threads <= 1 || res[0].sc.threads > 1)
		return;
	const struct bench_result *a = &res[0], *b = &res[1];
	fprintf(f,
	        "\nworker pool (%d participants, %d video encoders): 1 thread %.2fx real time, "
	        "%.3f cores; %d threads %.2fx real time, %.3f cores; speed-up %.2f, CPU %+.1f %%\n",
	        a->sc.n, a->med.video_encoders, rtf_of(a), cores_of(a), b->sc.threads, rtf_of(b),
	        cores_of(b), rtf_of(a) > 0 ? rtf_of(b) / rtf_of(a) : 0,
	        a->med.cpu_s > 0 ? 100.0 * (b->med.cpu_s / a->med.cpu_s - 1) : 0);
}

/* VP8 against H.264 outputs of the same job, when both ran. */
static void codecs_summary(FILE *f, const struct bench_result *res, int n)
{
	if (n != 2 || res[0].sc.vcodec != MIX_VCODEC_VP8 || res[1].sc.vcodec != MIX_VCODEC_H264)
		return;
	const struct bench_result *a = &res[0], *b = &res[1];
	double ea = a->med.stage_s[MIX_STAGE_VIDEO_ENCODE],
	       eb = b->med.stage_s[MIX_STAGE_VIDEO_ENCODE];
	double ma = a->med.media_s > 0 ? a->med.media_s : 1,
	       mb = b->med.media_s > 0 ? b->med.media_s : 1;
	fprintf(
	    f,
	    "\ncodecs (%d participants, %d video encoders, %dx%d): VP8 %.3f cores in all, video "
	    "encode %.3f cores, %.0f kbit/s; H.264 %.3f cores, video encode %.3f cores, %.0f "
	    "kbit/s; H.264/VP8 encode %.2fx, in all %.2fx\n",
	    a->sc.n, a->med.video_encoders, a->sc.width, a->sc.height, cores_of(a), ea / ma,
	    a->med.video_bytes * 8.0 / ma / 1000, cores_of(b), eb / mb,
	    b->med.video_bytes * 8.0 / mb / 1000, ea > 0 ? (eb / mb) / (ea / ma) : 0,
	    cores_of(a) > 0 ? cores_of(b) / cores_of(a) : 0);
}

/* The simulcast suite's run with this layout and sender resolution, if it ran. */
static const struct bench_result *find_sc(const struct bench_result *res, int n, int layout,
                                          const char *sres)
{
	for (int i = 0; i < n; i++)
		if (!strncmp(res[i].sc.name, "sc-", 3) && res[i].sc.layout == layout &&
		    !strcmp(res[i].sc.res, sres) && res[i].med.ok)
			return &res[i];
	return NULL;
}

static void sc_row(FILE *f, const struct bench_result *r)
{
	const struct bench_run *m = &r->med;
	double ms = m->media_s > 0 ? m->media_s : 1, st = 0;
	for (int s = 0; s < MIX_STAGE_COUNT; s++)
		st += m->stage_s[s];
	double au = m->stage_s[MIX_STAGE_AUDIO_DECODE] + m->stage_s[MIX_STAGE_AUDIO_MIX] +
	            m->stage_s[MIX_STAGE_AUDIO_ENCODE];
	fprintf(f, "  %-20s %6llu %6llu %6llu %4d %4d  %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f\n",
	        r->sc.name, (unsigned long long)m->layer_frames[0],
	        (unsigned long long)m->layer_frames[1], (unsigned long long)m->layer_frames[2],
	        m->layer_switches, m->speaker_changes, m->cpu_s / ms,
	        m->stage_s[MIX_STAGE_VIDEO_DECODE] / ms, m->stage_s[MIX_STAGE_COMPOSE] / ms,
	        m->stage_s[MIX_STAGE_VIDEO_ENCODE] / ms, au / ms, (m->cpu_s - st) / ms,
	        m->floor.video_decode_s / ms);
}

/* Issue 14's targets, from the simulcast suite's runs; dec720: one 720p decode (cores, or < 0) */
static void simulcast_summary(FILE *f, const struct bench_result *res, int n, double dec720)
{
	int shown = 0;
	for (int i = 0; i < n; i++) {
		if (strncmp(res[i].sc.name, "sc-", 3) && strcmp(res[i].sc.res, "sim"))
			continue;
		if (!shown++)
			fprintf(
			    f,
			    "\nsimulcast senders (issue 14): video frames pushed while shown, per "
			    "layer; layer switches; active-speaker changes; cores in all and by "
			    "engine stage (audio: decode+mix+encode; other: outside the stages); "
			    "floor-dec: the floor's video decodes\n  %-20s %6s %6s %6s %4s %4s  "
			    "%6s %6s %6s %6s %6s %6s %6s\n",
			    "scenario", "180p", "360p", "720p", "sw", "spk", "cores", "v-dec",
			    "compo", "v-enc", "audio", "other", "fl-dec");
		sc_row(f, &res[i]);
	}
	const struct bench_result *g = find_sc(res, n, MIX_LAYOUT_GRID, "sim"),
	                          *g180 = find_sc(res, n, MIX_LAYOUT_GRID, "180p"),
	                          *g720 = find_sc(res, n, MIX_LAYOUT_GRID, "720p"),
	                          *s = find_sc(res, n, MIX_LAYOUT_SPEAKER, "sim"),
	                          *s180 = find_sc(res, n, MIX_LAYOUT_SPEAKER, "180p"),
	                          *s720 = find_sc(res, n, MIX_LAYOUT_SPEAKER, "720p");
	if (g && g180)
		fprintf(
		    f,
		    "  grid: simulcast / 180p senders = %.3f / %.3f cores = %.2f (target <= 1.1)%s",
		    cores_of(g), cores_of(g180), cores_of(g) / cores_of(g180), g720 ? "" : "\n");
	if (g && g180 && g720)
		fprintf(f, "; simulcast / 720p senders = %.2f\n", cores_of(g) / cores_of(g720));
	if (dec720 >= 0)
		fprintf(f,
		        "  one 720p decode (clips c1..c3 decoded alone, in memory): %.3f cores\n",
		        dec720);
	if (s && s180 && dec720 >= 0)
		fprintf(f,
		        "  speaker: simulcast / (180p senders + one 720p decode) = %.3f / (%.3f + "
		        "%.3f) cores = %.2f (target <= 1.1)%s",
		        cores_of(s), cores_of(s180), dec720,
		        cores_of(s) / (cores_of(s180) + dec720), s720 ? "" : "\n");
	if (s && s180 && s720 && dec720 >= 0)
		fprintf(f, "; simulcast / 720p senders = %.2f\n", cores_of(s) / cores_of(s720));
	if (s && s180 && s720 && s720->med.visible_sources > 0) { /* 720p decodes in a room */
		double d =
		    s720->med.floor.video_decode_s / s720->med.media_s / s720->med.visible_sources;
		fprintf(f,
		        "  one 720p decode from the 720p speaker run's floor (its %d decodes, "
		        "per decode): %.3f cores; speaker: simulcast / (180p senders + that) = "
		        "%.2f (target <= "
		        "1.1)\n",
		        s720->med.visible_sources, d, cores_of(s) / (cores_of(s180) + d));
	}
}

static int report(const struct opts *o, struct bench_result *res, int n)
{
	printf("\n");
	bench_print_header(stdout);
	for (int i = 0; i < n; i++)
		bench_print_row(stdout, &res[i]);
	printf("\ncores = CPU s per media s; floor = visible decodes + one encode per distinct "
	       "output, timed alone\nratios against peers:\n");
	for (int i = 0; i < n; i++)
		bench_print_ratios(stdout, &res[i]);
	summary(stdout, res, n);
	threads_summary(stdout, res, n);
	codecs_summary(stdout, res, n);
	double dec720 = -1;
	if (find_sc(res, n, MIX_LAYOUT_SPEAKER, "sim") &&
	    bench_decode_cost(o->paths.media_dir, "720p", &dec720) < 0)
		dec720 = -1;
	simulcast_summary(stdout, res, n, dec720);
	char m[256];
	machine(m, sizeof(m));
	int rc = 0;
	if (o->json && (rc = bench_write_json(o->json, res, n, m)) < 0)
		fprintf(stderr, "mcu-bench: cannot write %s\n", o->json);
	if (rc == 0 && o->plot &&
	    (rc = bench_write_plot(o->plot, o->gp, o->paths.out_dir, res, n)) < 0)
		fprintf(stderr, "mcu-bench: gnuplot failed for %s\n", o->plot);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {.paths = {.media_dir = "build/bench-media", .out_dir = "build/bench-out"},
	                 .gp = "bench/plot.gp"};
	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	struct bench_scenario list[MAX_SCEN];
	int n = o.suite ? suite(o.suite, list) : one_scenario(&o, &o.one, list);
	mkdir(o.paths.out_dir, 0755);
	struct bench_result *res = calloc((size_t)n, sizeof(*res));
	bool ok = true, *ran = calloc((size_t)n, sizeof(*ran)); /* our runs all succeeded */
	if (!res || !ran) {
		free(res);
		free(ran);
		return 1;
	}
	/* Runs interleaved (run 1 of every scenario, then run 2, ...), so that other load on the
	 * machine falls on all scenarios alike rather than on one of a compared pair. */
	int most = 0;
	for (int i = 0; i < n; i++) {
		res[i].sc = list[i];
		ran[i] = true;
		most = list[i].runs > most ? list[i].runs : most;
	}
	for (int k = 0; k < most; k++)
		for (int i = 0; i < n; i++)
			if (k < res[i].sc.runs)
				ran[i] = run_ours(&res[i], &o, i, n, k) && ran[i];
	for (int i = 0; i < n; i++)
		ok = finish_scenario(&res[i], &o, i, n, ran[i]) && ok;
	free(ran);
	if (!o.quiet)
		fprintf(stderr, "\rmcu-bench: %d scenarios done%50s\n", n, "");
	ok = report(&o, res, n) == 0 && ok;
	free(res);
	return ok ? 0 : 1;
}
