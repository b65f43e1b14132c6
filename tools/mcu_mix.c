/*
 * mcu_mix.c - mcu-mix: mixes recorded participant files into one conference recording.
 *
 *   mcu-mix a.webm b.webm ... -o out.webm [--layout grid|speaker] [--size WxH] [--fps N]
 *           [--bitrate 2M] [--audio-bitrate 32k] [--max-mixed K] [--opus-complexity N]
 *           [--opus-fec] [--names] [--realtime] [--threads N] [--quiet]
 *
 * Each input is one participant (tiles in input order), named after its file name without
 * directory and extension; --names draws those names on the tiles. The engine runs as fast as
 * the inputs can be read; the output is written to a temporary name beside the output and
 * renamed only on success, so a failure leaves nothing half-written. With --realtime the mixing
 * clock is paced by the wall clock instead (the output is the same). With --threads N > 1 the
 * engine's video ticks use a worker pool of N - 1 threads besides the main one (the output is
 * the same byte for byte); everything else, reading and writing included, is on the main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mix/engine.h"
#include "mix/media_file.h"
#include "mix/opus.h"
#include "mix/pool.h"

#define MAX_INPUTS   100
#define LOOKAHEAD_US 200000 /* inputs are read this far ahead of the mixing clock */
#define STEP_US      20000

struct input {
	const char *path;
	struct mix_reader *rd;
	uint32_t id;
	bool eof, left;
	int64_t read_pts; /* pts of the last packet pushed */
	int64_t end_us;   /* end of the media (last pts + duration) */
};

struct opts {
	const char *out;
	struct mix_engine_cfg ecfg;
	bool quiet;
	bool realtime;
	bool stats;
	int threads; /* 1: no pool */
};

struct job {
	struct opts o;
	struct input in[MAX_INPUTS];
	int nin;
	struct mix_engine *eng;
	struct mix_pool *pool; /* NULL with --threads 1 */
	struct mix_writer *wr;
	char tmp[4096];
	char err[512];
	int write_rc;
	int64_t written_us;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mcu-mix INPUT... -o OUTPUT [options]\n"
	    "Mixes participant recordings (WebM, MKV, Ogg, IVF with VP8 and/or Opus) into one\n"
	    "conference recording (WebM or MKV, VP8 + Opus): a tiled video and the audio mix.\n\n"
	    "  -o, --output PATH        output file, .webm or .mkv (required)\n"
	    "  -l, --layout grid|speaker  tile layout (default grid)\n"
	    "  -s, --size WxH           canvas size (default 1280x720)\n"
	    "  -r, --fps N              frame rate (default 30)\n"
	    "  -b, --bitrate R          video bitrate, e.g. 2M or 800k (default 2M)\n"
	    "  -a, --audio-bitrate R    audio bitrate (default 32k)\n"
	    "  -k, --max-mixed K        mix the K loudest participants (default 4)\n"
	    "  -c, --opus-complexity N  Opus encoder complexity 0..10 (default 5)\n"
	    "  -f, --opus-fec           Opus inband forward error correction\n"
	    "  -n, --names              draw each participant's name (its input's file name\n"
	    "                           without directory and extension) on its tile\n"
	    "  -t, --realtime           pace the mix by the wall clock, as a live room does\n"
	    "  -L, --tick-lock          video ticks follow the lead participant's frames, as a\n"
	    "                           live room's do (compose on arrival; default: fixed grid)\n"
	    "  -S, --stats              print the engine's counters and CPU per stage at the end\n"
	    "  -j, --threads N          decode and encode video on N threads (default 1; the\n"
	    "                           output is the same byte for byte)\n"
	    "  -q, --quiet              no progress on stderr\n"
	    "  -h, --help               this help\n"
	    "Exit status: 0 success, 1 a file could not be read or written, 2 bad usage.\n");
}

static int parse_rate(const char *s, int *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v <= 0)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6, end++;
	if (*end || v > 1e9)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct job *j)
{
	static const struct option lo[] = {{"output", 1, 0, 'o'},
	                                   {"layout", 1, 0, 'l'},
	                                   {"size", 1, 0, 's'},
	                                   {"fps", 1, 0, 'r'},
	                                   {"bitrate", 1, 0, 'b'},
	                                   {"audio-bitrate", 1, 0, 'a'},
	                                   {"max-mixed", 1, 0, 'k'},
	                                   {"quiet", 0, 0, 'q'},
	                                   {"help", 0, 0, 'h'},
	                                   {"opus-complexity", 1, 0, 'c'},
	                                   {"opus-fec", 0, 0, 'f'},
	                                   {"names", 0, 0, 'n'},
	                                   {"realtime", 0, 0, 't'},
	                                   {"stats", 0, 0, 'S'},
	                                   {"threads", 1, 0, 'j'},
	                                   {"tick-lock", 0, 0, 'L'},
	                                   {0, 0, 0, 0}};
	struct opts *o = &j->o;
	mix_engine_cfg_default(&o->ecfg);
	o->threads = 1;
	int c, bad = 0;
	while ((c = getopt_long(argc, argv, "o:l:s:r:b:a:k:c:j:fntLSqh", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'l':
			bad |= mix_layout_parse(optarg, &o->ecfg.layout) < 0;
			break;
		case 's':
			bad |= sscanf(optarg, "%dx%d", &o->ecfg.width, &o->ecfg.height) != 2;
			break;
		case 'r':
			o->ecfg.fps = atoi(optarg);
			break;
		case 'b':
			bad |= parse_rate(optarg, &o->ecfg.video_bitrate) < 0;
			break;
		case 'a':
			bad |= parse_rate(optarg, &o->ecfg.audio_bitrate) < 0;
			break;
		case 'k':
			o->ecfg.max_mixed = atoi(optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'c':
			o->ecfg.opus_complexity = atoi(optarg);
			bad |= o->ecfg.opus_complexity < 0 || o->ecfg.opus_complexity > 10;
			break;
		case 'f':
			o->ecfg.opus_fec = true;
			break;
		case 'n':
			o->ecfg.tile_names = true;
			break;
		case 't':
			o->realtime = true;
			break;
		case 'L':
			o->ecfg.tick_lock = true;
			break;
		case 'S':
			o->stats = true;
			break;
		case 'j':
			o->threads = atoi(optarg);
			bad |= o->threads < 1 || o->threads > MIX_POOL_MAX_THREADS + 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "mcu-mix: bad value for -%c: %s\n", c, optarg);
			return -EINVAL;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (j->nin == MAX_INPUTS) {
			fprintf(stderr, "mcu-mix: at most %d inputs\n", MAX_INPUTS);
			return -EINVAL;
		}
		j->in[j->nin++].path = argv[i];
	}
	if (!o->out || j->nin == 0) {
		fprintf(stderr, "mcu-mix: need at least one input and -o OUTPUT\n");
		return -EINVAL;
	}
	return 0;
}

/* Display name of a participant: the file name without directory and extension. */
static void name_of(const char *path, char *out, size_t n)
{
	const char *b = strrchr(path, '/');
	snprintf(out, n, "%s", b ? b + 1 : path);
	char *dot = strrchr(out, '.');
	if (dot && dot != out)
		*dot = '\0';
}

static int open_inputs(struct job *j)
{
	for (int i = 0; i < j->nin; i++) {
		struct input *in = &j->in[i];
		int rc = mix_reader_open(&in->rd, in->path, j->err, sizeof(j->err));
		if (rc < 0) {
			fprintf(stderr, "mcu-mix: %s\n", j->err);
			return rc;
		}
		char name[64];
		name_of(in->path, name, sizeof(name));
		in->id = (uint32_t)i + 1;
		rc = mix_engine_add_source(j->eng, in->id, name);
		if (rc == 0)
			rc = mix_engine_set_audio_preskip(j->eng, in->id,
			                                  mix_reader_preskip(in->rd));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct job *j = opaque;
	if (j->write_rc < 0)
		return;
	j->write_rc = mix_writer_write(j->wr, p, j->err, sizeof(j->err));
	if (p->pts_us + p->duration_us > j->written_us)
		j->written_us = p->pts_us + p->duration_us;
}

static const char *format_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && !strcmp(dot, ".webm"))
		return "webm";
	if (dot && (!strcmp(dot, ".mkv") || !strcmp(dot, ".mka")))
		return "matroska";
	return NULL;
}

static int open_output(struct job *j)
{
	const char *fmt = format_of(j->o.out);
	if (!fmt) {
		fprintf(stderr, "mcu-mix: %s: output must end in .webm or .mkv\n", j->o.out);
		return -EINVAL;
	}
	/* The temporary file sits beside the output, so the final rename is atomic. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", j->o.out);
	snprintf(j->tmp, sizeof(j->tmp), "%s/.%s.part-%ld", dirname(dir),
	         strrchr(j->o.out, '/') ? strrchr(j->o.out, '/') + 1 : j->o.out, (long)getpid());
	struct mix_opus_enc *probe = NULL;
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	int rc = mix_opus_enc_alloc(&probe, &oc);
	if (rc < 0)
		return rc;
	struct mix_writer_cfg wc = {.path = j->tmp,
	                            .format = fmt,
	                            .video = true,
	                            .width = j->o.ecfg.width,
	                            .height = j->o.ecfg.height,
	                            .fps = j->o.ecfg.fps,
	                            .audio = true,
	                            .opus_preskip = mix_opus_enc_lookahead(probe)};
	mix_opus_enc_free(&probe);
	rc = mix_writer_open(&j->wr, &wc, j->err, sizeof(j->err));
	if (rc < 0)
		fprintf(stderr, "mcu-mix: cannot write %s: %s\n", j->o.out, j->err);
	return rc;
}

/* Pushes each input's packets up to `until`; marks inputs that reached their end. */
static int feed(struct job *j, int64_t until)
{
	for (int i = 0; i < j->nin; i++) {
		struct input *in = &j->in[i];
		while (!in->eof && in->read_pts <= until) {
			struct mix_reader_packet pk;
			int rc = mix_reader_read(in->rd, &pk, j->err, sizeof(j->err));
			if (rc < 0) {
				fprintf(stderr, "mcu-mix: %s\n", j->err);
				return rc;
			}
			if (rc == 1) {
				in->eof = true;
				break;
			}
			in->read_pts = pk.pts_us;
			int64_t dur =
			    pk.kind == MIX_VIDEO
			        ? 1000000 / j->o.ecfg.fps
			        : mix_opus_packet_samples(pk.data, pk.size) * 1000000LL / 48000;
			if (pk.pts_us + dur > in->end_us)
				in->end_us = pk.pts_us + dur;
			if (pk.kind == MIX_VIDEO)
				mix_engine_push_video(j->eng, in->id, pk.data, pk.size, pk.pts_us,
				                      false);
			else
				mix_engine_push_audio(j->eng, in->id, pk.data, pk.size, pk.pts_us,
				                      -1, false);
		}
	}
	return 0;
}

/* Participants whose file has ended leave the grid; returns how many are still present. */
static int retire(struct job *j, int64_t now)
{
	int present = 0;
	for (int i = 0; i < j->nin; i++) {
		struct input *in = &j->in[i];
		if (!in->left && in->eof && now >= in->end_us) {
			mix_engine_remove_source(j->eng, in->id);
			in->left = true;
		}
		present += !in->left;
	}
	return present;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* In real-time mode, sleeps until the wall clock reaches media time t (absolute, no drift). */
static void pace(double start, int64_t t)
{
	double at = start + t / 1e6;
	struct timespec ts = {.tv_sec = (time_t)at, .tv_nsec = (long)((at - (time_t)at) * 1e9)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int64_t longest_input(const struct job *j)
{
	int64_t d = 0;
	for (int i = 0; i < j->nin; i++)
		if (mix_reader_duration_us(j->in[i].rd) > d)
			d = mix_reader_duration_us(j->in[i].rd);
	return d;
}

static int run(struct job *j)
{
	double start = wall_now(), last = start;
	int64_t total = longest_input(j);
	for (int64_t t = 0;; t += STEP_US) {
		int rc = feed(j, t + LOOKAHEAD_US);
		if (rc < 0)
			return rc;
		if (retire(j, t) == 0)
			return 0;
		if (j->o.realtime)
			pace(start, t + STEP_US);
		rc = mix_engine_run_until(j->eng, t + STEP_US);
		if (rc < 0 || j->write_rc < 0) {
			fprintf(stderr, "mcu-mix: %s\n", j->write_rc < 0 ? j->err : "engine error");
			return rc < 0 ? rc : j->write_rc;
		}
		if (!j->o.quiet && wall_now() - last >= 1.0) {
			last = wall_now();
			fprintf(stderr, "mcu-mix: %.1f s of %.1f s mixed (%.1fx real time)\n",
			        t / 1e6, total / 1e6, t / 1e6 / (last - start));
		}
	}
}

static void print_stats(const struct job *j)
{
	struct mix_engine_stats st;
	mix_engine_get_stats(j->eng, &st);
	fprintf(
	    stderr,
	    "mcu-mix: %llu video ticks (%llu moved by --tick-lock), %llu audio ticks, %llu frames "
	    "decoded, %llu encoded, %llu audio packets encoded, %llu PLC samples, %llu decode "
	    "errors\n",
	    (unsigned long long)st.video_ticks, (unsigned long long)st.video_ticks_moved,
	    (unsigned long long)st.audio_ticks, (unsigned long long)st.frames_decoded,
	    (unsigned long long)st.frames_encoded, (unsigned long long)st.audio_packets_encoded,
	    (unsigned long long)st.plc_samples, (unsigned long long)st.decode_errors);
	for (int s = 0; s < MIX_STAGE_COUNT; s++)
		fprintf(stderr, "mcu-mix: cpu %-13s %.3f s\n", mix_stage_name(s),
		        st.stage_cpu_s[s]);
}

static void cleanup(struct job *j)
{
	for (int i = 0; i < j->nin; i++)
		mix_reader_close(&j->in[i].rd);
	mix_engine_free(&j->eng);
	mix_pool_free(&j->pool);
}

int main(int argc, char **argv)
{
	static struct job j;
	if (parse_args(argc, argv, &j) < 0) {
		usage(stderr);
		return 2;
	}
	j.o.ecfg.cb = (struct mix_engine_callbacks){.opaque = &j, .on_packet = on_packet};
	if (j.o.threads > 1 && mix_pool_new(&j.pool, j.o.threads - 1) < 0) {
		fprintf(stderr, "mcu-mix: cannot start %d threads\n", j.o.threads);
		return 1;
	}
	j.o.ecfg.pool = j.pool;
	if (mix_engine_alloc(&j.eng, &j.o.ecfg) < 0) {
		mix_pool_free(&j.pool);
		fprintf(stderr, "mcu-mix: invalid size, frame rate, bitrate or max-mixed\n");
		return 2;
	}
	struct mix_recipient_opts ro;
	mix_recipient_opts_default(&ro);
	int rc = open_inputs(&j);
	if (rc == 0)
		rc = mix_engine_add_recipient(j.eng, 1, &ro);
	if (rc == 0)
		rc = open_output(&j);
	if (rc == 0)
		rc = run(&j);
	int crc = j.wr ? mix_writer_close(&j.wr, j.err, sizeof(j.err)) : 0;
	if (rc == 0 && crc < 0) {
		fprintf(stderr, "mcu-mix: %s\n", j.err);
		rc = crc;
	}
	if (rc == 0 && rename(j.tmp, j.o.out) < 0) {
		fprintf(stderr, "mcu-mix: cannot rename %s to %s: %s\n", j.tmp, j.o.out,
		        strerror(errno));
		rc = -errno;
	}
	if (rc < 0 && j.tmp[0])
		unlink(j.tmp);
	if (rc == 0 && !j.o.quiet)
		fprintf(stderr, "mcu-mix: wrote %s (%.2f s)\n", j.o.out, j.written_us / 1e6);
	if (j.o.stats && j.eng)
		print_stats(&j);
	cleanup(&j);
	return rc < 0 ? 1 : 0;
}
