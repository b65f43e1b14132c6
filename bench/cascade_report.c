/*
 * cascade_report.c - mcu-cascade's output: a table row per node count and one JSON line.
 * Figures per node are means over the nodes (cores: mean and max); delays are over every
 * frame followed, all nodes together. Caller's thread; prints only what it is given.
 */
#include <math.h>

#include "cascade.h"

void cascade_print_header(FILE *f, const struct cascade_cfg *cfg)
{
	fprintf(f,
	        "mcu-cascade: %d participants, %d shown, %d loudest mixed, %.1f s of media, "
	        "%dx%d outputs, link %.1f ms + jitter budget %.1f ms; offline (CPU per media "
	        "second, not real time)\n",
	        cfg->participants, cfg->shown, cfg->loud, cfg->media_us / 1e6, cfg->width,
	        cfg->height, cfg->link_us / 1e3, cfg->jitter_us / 1e3);
	fprintf(f, "%5s %8s %8s %8s %8s %8s %7s %7s %13s %13s %13s %7s\n", "nodes", "per-node",
	        "vdec/nd", "adec/nd", "venc/nd", "aenc/nd", "cores", "max", "mix ms", "local ms",
	        "remote ms", "wall s");
	fprintf(f, "%5s %8s %8s %8s %8s %8s %7s %7s %13s %13s %13s %7s\n", "", "", "", "", "", "",
	        "mean", "", "med/p95", "med/p95", "med/p95", "");
}

struct means {
	double locals, vdec, adec, venc, aenc;
};

static struct means means_of(const struct cascade_result *r)
{
	struct means m = {0};
	for (int i = 0; i < r->nodes; i++) {
		const struct cascade_node_result *n = &r->node[i];
		m.locals += (double)n->locals / r->nodes;
		m.vdec += (double)n->video_decoders / r->nodes;
		m.adec += n->audio_decodes / r->nodes;
		m.venc += (double)n->video_encoders / r->nodes;
		m.aenc += (double)n->audio_encoders / r->nodes;
	}
	return m;
}

void cascade_print_row(FILE *f, const struct cascade_result *r)
{
	struct means m = means_of(r);
	fprintf(f,
	        "%5d %8.0f %8.1f %8.1f %8.1f %8.1f %7.3f %7.3f %6.1f/%-6.1f %6.1f/%-6.1f "
	        "%6.1f/%-6.1f %7.1f\n",
	        r->nodes, m.locals, m.vdec, m.adec, m.venc, m.aenc, r->cores_mean, r->cores_max,
	        r->mix.med_ms, r->mix.p95_ms, r->local.med_ms, r->local.p95_ms, r->remote.med_ms,
	        r->remote.p95_ms, r->wall_s);
}

/* JSON has no NaN: an empty delay is null. */
static void num(FILE *f, const char *key, double v, const char *tail)
{
	if (isfinite(v))
		fprintf(f, "\"%s\":%.3f%s", key, v, tail);
	else
		fprintf(f, "\"%s\":null%s", key, tail);
}

static void delay_json(FILE *f, const char *key, const struct cascade_delay *d)
{
	fprintf(f, "\"%s\":{", key);
	num(f, "median_ms", d->med_ms, ",");
	num(f, "p95_ms", d->p95_ms, ",");
	fprintf(f, "\"n\":%d}", d->n);
}

static void node_json(FILE *f, const struct cascade_node_result *n, int i)
{
	fprintf(f,
	        "{\"node\":%d,\"locals\":%d,\"shown_local\":%d,\"mix_sources\":%d,"
	        "\"rx_sources\":%d,\"rx_recipients\":%d,\"video_decoders\":%d,"
	        "\"audio_decodes\":%.2f,\"video_encoders\":%d,\"audio_encoders\":%d,"
	        "\"cpu_s\":%.3f,\"cores\":%.4f,\"mix_video_frames\":%llu,\"rx_video_frames\":%llu,"
	        "\"rx_frames_decoded\":%llu,\"remote_frames_pushed\":%llu}",
	        i, n->locals, n->shown_local, n->mix_sources, n->rx_sources, n->rx_recipients,
	        n->video_decoders, n->audio_decodes, n->video_encoders, n->audio_encoders, n->cpu_s,
	        n->cores, (unsigned long long)n->mix_video_frames,
	        (unsigned long long)n->rx_video_frames, (unsigned long long)n->rx_frames_decoded,
	        (unsigned long long)n->remote_frames_pushed);
}

static void run_json(FILE *f, const struct cascade_result *r)
{
	struct means m = means_of(r);
	fprintf(f,
	        "{\"nodes\":%d,\"participants_per_node\":%.1f,\"video_decodes_per_node\":%.2f,"
	        "\"audio_decodes_per_node\":%.2f,\"video_encodes_per_node\":%.2f,"
	        "\"audio_encodes_per_node\":%.2f,\"cores_mean\":%.4f,\"cores_max\":%.4f,"
	        "\"cpu_s\":%.3f,\"wall_s\":%.3f,",
	        r->nodes, m.locals, m.vdec, m.adec, m.venc, m.aenc, r->cores_mean, r->cores_max,
	        r->cpu_s, r->wall_s);
	delay_json(f, "mix_delay", &r->mix);
	fputc(',', f);
	delay_json(f, "local_delay", &r->local);
	fputc(',', f);
	delay_json(f, "remote_delay", &r->remote);
	fprintf(f, ",\"per_node\":[");
	for (int i = 0; i < r->nodes; i++) {
		node_json(f, &r->node[i], i);
		fputs(i + 1 < r->nodes ? "," : "", f);
	}
	fprintf(f, "]}");
}

void cascade_print_json(FILE *f, const struct cascade_cfg *cfg, const struct cascade_result *r,
                        int n)
{
	fprintf(f,
	        "{\"tool\":\"mcu-cascade\",\"offline\":true,\"participants\":%d,\"shown\":%d,"
	        "\"loudest\":%d,\"talkers\":%d,\"media_s\":%.3f,\"width\":%d,\"height\":%d,"
	        "\"link_ms\":%.3f,\"jitter_ms\":%.3f,\"runs\":[",
	        cfg->participants, cfg->shown, cfg->loud, cfg->talkers, cfg->media_us / 1e6,
	        cfg->width, cfg->height, cfg->link_us / 1e3, cfg->jitter_us / 1e3);
	for (int i = 0; i < n; i++) {
		run_json(f, &r[i]);
		fputs(i + 1 < n ? "," : "", f);
	}
	fprintf(f, "]}\n");
}
