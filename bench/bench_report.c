/*
 * bench_report.c - mcu-bench's output: medians, the table, the ratios, JSON and the chart.
 *
 * "cores" everywhere is CPU seconds per media second (1.0 = one core busy in real time).
 * The JSON has one object per scenario with every field always present (null when a peer
 * did not run), so a checker can assert the schema. The chart is drawn by gnuplot from a
 * small data file (participants, our cores, ffmpeg's, GStreamer's) with bench/plot.gp.
 * Single-threaded; writes only the files it is given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_median(const double *v, int n)
{
	double s[BENCH_MAX_RUNS];
	if (n <= 0)
		return 0;
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

#define MED(field)                                                                                 \
	do {                                                                                       \
		for (int i_ = 0; i_ < n; i_++)                                                     \
			v[i_] = (double)res->run[i_].field;                                        \
		m->field = bench_median(v, n);                                                     \
	} while (0)

void bench_median_run(struct bench_result *res)
{
	int n = res->nrun;
	double v[BENCH_MAX_RUNS] = {0};
	struct bench_run *m = &res->med;
	*m = res->run[0];
	MED(cpu_s);
	MED(user_s);
	MED(sys_s);
	MED(wall_s);
	MED(rss_peak_kib);
	MED(floor.video_decode_s);
	MED(floor.video_encode_s);
	MED(floor.audio_s);
	MED(floor.total_s);
	for (int s = 0; s < MIX_STAGE_COUNT; s++)
		MED(stage_s[s]);
	for (int i = 0; i < n; i++)
		m->ok = m->ok && res->run[i].ok;
}

static double cores(const struct bench_result *r, double cpu)
{
	return r->med.media_s > 0 ? cpu / r->med.media_s : 0;
}

void bench_print_header(FILE *f)
{
	fprintf(f, "%-22s %4s %4s %5s %6s %6s %6s %6s %7s %8s %7s %7s %6s %6s\n", "scenario", "N",
	        "rcpt", "enc", "cores", "RTF", "floor", "xfloor", "RSS MiB", "KiB/part", "ffmpeg",
	        "gst", "/ff", "/gst");
}

static void peer_cols(FILE *f, const struct bench_result *r, const struct bench_peer *p)
{
	if (p->ran && p->ok)
		fprintf(f, " %7.3f", cores(r, p->cpu_med));
	else
		fprintf(f, " %7s", p->ran ? "FAIL" : "-");
}

static void ratio_col(FILE *f, const struct bench_result *r, const struct bench_peer *p)
{
	if (p->ran && p->ok && p->cpu_med > 0)
		fprintf(f, " %6.2f", r->med.cpu_s / p->cpu_med);
	else
		fprintf(f, " %6s", "-");
}

void bench_print_row(FILE *f, const struct bench_result *r)
{
	const struct bench_run *m = &r->med;
	char enc[16];
	snprintf(enc, sizeof(enc), "%d/%d", m->video_encoders, m->audio_encoders);
	long eng = m->rss_peak_kib - m->rss_base_kib;
	fprintf(f, "%-22s %4d %4d %5s %6.3f %6.1f %6.3f %6.2f %7.1f %8.1f", r->sc.name, r->sc.n,
	        m->recipients, enc, cores(r, m->cpu_s), m->wall_s > 0 ? m->media_s / m->wall_s : 0,
	        cores(r, m->floor.total_s), m->floor.total_s > 0 ? m->cpu_s / m->floor.total_s : 0,
	        m->rss_peak_kib / 1024.0, (double)eng / r->sc.n);
	peer_cols(f, r, &r->ffmpeg);
	peer_cols(f, r, &r->gst);
	ratio_col(f, r, &r->ffmpeg);
	ratio_col(f, r, &r->gst);
	fprintf(f, "%s\n", m->ok ? "" : "  (FAILED)");
}

/* Ratios against the peers; per-recipient mixes cost them one process per distinct output. */
void bench_print_ratios(FILE *f, const struct bench_result *r)
{
	const struct bench_peer *peers[2] = {&r->ffmpeg, &r->gst};
	const char *names[2] = {"ffmpeg", "GStreamer"};
	int outputs = r->sc.mode == BENCH_RECORD ? 1 : r->sc.n;
	for (int i = 0; i < 2; i++) {
		const struct bench_peer *p = peers[i];
		if (!p->ran || !p->ok || p->cpu_med <= 0)
			continue;
		fprintf(f, "  %s: ours/%s %.2f (one process)", r->sc.name, names[i],
		        r->med.cpu_s / p->cpu_med);
		if (outputs > 1)
			fprintf(f, ", %.3f against %d processes (one per distinct output)",
			        r->med.cpu_s / (p->cpu_med * outputs), outputs);
		fprintf(f, "\n");
	}
	if (r->sc.psnr)
		fprintf(f,
		        "  %s: Y-PSNR vs lossless reference: ours %.2f dB, ffmpeg %.2f dB, "
		        "GStreamer %.2f dB\n",
		        r->sc.name, r->psnr_ours, r->ffmpeg.psnr_y, r->gst.psnr_y);
}

/* ---- JSON ---- */

static void json_num(FILE *f, const char *k, double v, bool ok)
{
	if (ok)
		fprintf(f, "\"%s\": %.6g", k, v);
	else
		fprintf(f, "\"%s\": null", k);
}

static void json_peer(FILE *f, const char *name, const struct bench_result *r,
                      const struct bench_peer *p)
{
	bool ok = p->ran && p->ok;
	int outputs = r->sc.mode == BENCH_RECORD ? 1 : r->sc.n;
	fprintf(f, "\"%s\": {\"ran\": %s, \"ok\": %s, ", name, p->ran ? "true" : "false",
	        ok ? "true" : "false");
	json_num(f, "cpu_s", p->cpu_med, ok);
	fprintf(f, ", ");
	json_num(f, "cores", cores(r, p->cpu_med), ok);
	fprintf(f, ", ");
	json_num(f, "peak_rss_kib", p->rss_peak_kib, ok);
	fprintf(f, ", ");
	json_num(f, "ours_over_theirs", p->cpu_med > 0 ? r->med.cpu_s / p->cpu_med : 0, ok);
	fprintf(f, ", ");
	json_num(f, "ours_over_theirs_per_output",
	         p->cpu_med > 0 ? r->med.cpu_s / (p->cpu_med * outputs) : 0, ok);
	fprintf(f, ", ");
	json_num(f, "psnr_y", p->psnr_y, ok && r->sc.psnr);
	fprintf(f, "}");
}

static void json_runs(FILE *f, const struct bench_result *r)
{
	fprintf(f, "\"cpu_s_runs\": [");
	for (int i = 0; i < r->nrun; i++)
		fprintf(f, "%s%.4f", i ? ", " : "", r->run[i].cpu_s);
	fprintf(f, "], \"wall_s_runs\": [");
	for (int i = 0; i < r->nrun; i++)
		fprintf(f, "%s%.4f", i ? ", " : "", r->run[i].wall_s);
	fprintf(f, "], ");
}

static void json_stages(FILE *f, const struct bench_result *r)
{
	fprintf(f, "\"stage_cores\": {");
	for (int s = 0; s < MIX_STAGE_COUNT; s++)
		fprintf(f, "%s\"%s\": %.5f", s ? ", " : "", mix_stage_name(s),
		        cores(r, r->med.stage_s[s]));
	fprintf(f, "}, ");
}

static void json_floor(FILE *f, const struct bench_result *r)
{
	const struct bench_floor *fl = &r->med.floor;
	fprintf(f,
	        "\"floor\": {\"video_decode_cores\": %.5f, \"video_encode_cores\": %.5f, "
	        "\"audio_cores\": %.5f, \"cores\": %.5f, \"engine_over_floor\": %.4f}, ",
	        cores(r, fl->video_decode_s), cores(r, fl->video_encode_s), cores(r, fl->audio_s),
	        cores(r, fl->total_s), fl->total_s > 0 ? r->med.cpu_s / fl->total_s : 0);
}

static void json_scenario(FILE *f, const struct bench_result *r)
{
	const struct bench_scenario *sc = &r->sc;
	const struct bench_run *m = &r->med;
	fprintf(f,
	        "{\"name\": \"%s\", \"ok\": %s, \"participants\": %d, \"sender\": \"%s\", "
	        "\"width\": %d, \"height\": %d, \"fps\": %d, \"bitrate\": %d, \"layout\": \"%s\", "
	        "\"exclude_self\": %s, \"talkers\": %d, \"max_visible\": %d, \"mixed\": %d, "
	        "\"mode\": \"%s\", \"runs\": %d, \"threads\": %d, \"recipients\": %d, ",
	        sc->name, m->ok ? "true" : "false", sc->n, sc->res, sc->width, sc->height, sc->fps,
	        sc->bitrate, mix_layout_name(sc->layout), sc->exclude_self ? "true" : "false",
	        sc->talkers, sc->visible, sc->mixed,
	        sc->mode == BENCH_RECORD ? "record" : "per-recipient", r->nrun,
	        sc->threads > 1 ? sc->threads : 1, m->recipients);
	fprintf(f,
	        "\"media_s\": %.3f, \"cpu_s\": %.4f, \"user_s\": %.4f, \"sys_s\": %.4f, "
	        "\"wall_s\": %.4f, \"cores\": %.5f, \"realtime_factor\": %.3f, ",
	        m->media_s, m->cpu_s, m->user_s, m->sys_s, m->wall_s, cores(r, m->cpu_s),
	        m->wall_s > 0 ? m->media_s / m->wall_s : 0);
	json_runs(f, r);
	json_stages(f, r);
	fprintf(f,
	        "\"video_encoders\": %d, \"audio_encoders\": %d, \"visible_sources\": %d, "
	        "\"video_decoders\": %d, \"frames_decoded\": %llu, \"frames_encoded\": %llu, "
	        "\"audio_packets_encoded\": %llu, \"frames_dropped_invisible\": %llu, "
	        "\"video_kbps_per_recipient\": %.1f, ",
	        m->video_encoders, m->audio_encoders, m->visible_sources, m->video_decoders,
	        (unsigned long long)m->frames_decoded, (unsigned long long)m->frames_encoded,
	        (unsigned long long)m->audio_packets,
	        (unsigned long long)m->frames_dropped_invisible,
	        m->media_s > 0 ? m->video_bytes * 8 / 1000.0 / m->media_s / m->recipients : 0);
	fprintf(
	    f, "\"peak_rss_kib\": %ld, \"base_rss_kib\": %ld, \"rss_per_participant_kib\": %.1f, ",
	    m->rss_peak_kib, m->rss_base_kib, (double)(m->rss_peak_kib - m->rss_base_kib) / sc->n);
	json_floor(f, r);
	fprintf(
	    f,
	    "\"turn_ms\": %d, \"layer_frames\": {\"180p\": %llu, \"360p\": %llu, \"720p\": %llu}, "
	    "\"layer_switches\": %d, \"speaker_changes\": %d, ",
	    sc->turn_ms, (unsigned long long)m->layer_frames[0],
	    (unsigned long long)m->layer_frames[1], (unsigned long long)m->layer_frames[2],
	    m->layer_switches, m->speaker_changes);
	json_num(f, "psnr_y", r->psnr_ours, sc->psnr);
	fprintf(f, ", ");
	json_peer(f, "ffmpeg", r, &r->ffmpeg);
	fprintf(f, ", ");
	json_peer(f, "gstreamer", r, &r->gst);
	fprintf(f, "}");
}

int bench_write_json(const char *path, const struct bench_result *res, int n, const char *machine)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "{\"machine\": \"%s\", \"scenarios\": [\n", machine);
	for (int i = 0; i < n; i++) {
		json_scenario(f, &res[i]);
		fprintf(f, "%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "]}\n");
	return fclose(f) == 0 ? 0 : -EIO;
}

/* ---- chart ---- */

static void plot_col(FILE *f, double v)
{
	if (v < 0)
		fprintf(f, " ?");
	else
		fprintf(f, " %.4f", v);
}

int bench_write_plot(const char *svg_path, const char *gp_script, const char *out_dir,
                     const struct bench_result *res, int n)
{
	char dat[1024], cmd[4096];
	snprintf(dat, sizeof(dat), "%s/plot.dat", out_dir);
	FILE *f = fopen(dat, "w");
	if (!f)
		return -errno;
	fprintf(f, "# participants ours_record ffmpeg gstreamer ours_per_recipient\n");
	for (int i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];
		if (strncmp(r->sc.name, "sweep-", 6) != 0 || r->sc.mode != BENCH_RECORD)
			continue;
		double pr = -1;
		for (int j = 0; j < n; j++)
			if (!strncmp(res[j].sc.name, "sweep-", 6) && res[j].sc.n == r->sc.n &&
			    res[j].sc.mode == BENCH_PER_RECIPIENT)
				pr = cores(&res[j], res[j].med.cpu_s);
		fprintf(f, "%d", r->sc.n);
		plot_col(f, cores(r, r->med.cpu_s));
		plot_col(f, r->ffmpeg.ok ? cores(r, r->ffmpeg.cpu_med) : -1);
		plot_col(f, r->gst.ok ? cores(r, r->gst.cpu_med) : -1);
		plot_col(f, pr);
		fprintf(f, "\n");
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "gnuplot -e \"datafile='%s'; outfile='%s'\" %s", dat, svg_path,
	         gp_script);
	return system(cmd) == 0 ? 0 : -ECHILD;
}
