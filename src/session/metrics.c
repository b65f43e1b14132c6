/*
 * metrics.c - the Prometheus text format of the /api/stats object (see metrics.h).
 *
 * Names: mcu_ + the section + the field (webhooks: mcu_webhook_). Fields that count since start are
 * counters (suffix _total); figures of the moment are gauges. Loops carry a loop="N" label; the
 * latency stages are gauges in seconds with medium, stage and percentile (50, 95) labels. Every
 * family has HELP and TYPE lines (promtool check metrics judges a live scrape in the access and
 * latency e2e tests). Any thread; it reads the object only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/metrics.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void number(FILE *f, const json_t *v);

/* A gauge family of one unlabelled sample. */
static void gauge(FILE *f, const char *name, const char *help, const json_t *v)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s ", name);
	number(f, v);
}

static void number(FILE *f, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "%lld\n", (long long)json_integer_value(v));
	else
		fprintf(f, "%.6g\n", json_number_value(v));
}

/* Every numeric field of a section object: counters but for the gauges listed. */
static void section(FILE *f, const json_t *obj, const char *prefix, const char *const *gauges)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (!json_is_number(v))
			continue;
		bool gauge = false;
		for (int i = 0; gauges[i]; i++)
			gauge = gauge || !strcmp(gauges[i], key);
		char name[128], help[160];
		snprintf(name, sizeof(name), "mcu_%s%s%s", prefix, key, gauge ? "" : "_total");
		snprintf(help, sizeof(help), "%s%s of GET /api/stats (docs/PROTOCOL.md)%s", prefix,
		         key, gauge ? "" : ", since start");
		family(f, name, gauge ? "gauge" : "counter", help);
		fprintf(f, "%s ", name);
		number(f, v);
	}
}

/* One family over the loops: field of each loop object, labelled with its index. */
static void per_loop(FILE *f, const json_t *loops, const char *field, const char *name,
                     const char *type, const char *help)
{
	family(f, name, type, help);
	size_t i;
	const json_t *l;
	json_array_foreach((json_t *)loops, i, l)
	{
		const json_t *v = json_object_get(l, field);
		if (!json_is_number(v))
			continue;
		fprintf(f, "%s{loop=\"%zu\"} ", name, i);
		number(f, v);
	}
}

static void loops(FILE *f, const json_t *a)
{
	per_loop(f, a, "load", "mcu_loop_load", "gauge",
	         "CPU of the event loop's thread over the last second, in cores");
	per_loop(f, a, "cpu_s", "mcu_loop_cpu_seconds_total", "counter",
	         "CPU seconds the event loop's thread has used");
	per_loop(f, a, "rooms", "mcu_loop_rooms", "gauge", "rooms on the event loop");
	per_loop(f, a, "participants", "mcu_loop_participants", "gauge",
	         "participants on the event loop");
	per_loop(f, a, "posted", "mcu_loop_posted_total", "counter",
	         "commands posted to the event loop");
	per_loop(f, a, "max_queued", "mcu_loop_max_queued", "gauge",
	         "the most commands ever waiting at once for the event loop");
	family(f, "mcu_loop_lag_seconds", "gauge",
	       "how far behind real time the mixing of the loop's rooms was at its last tick (the "
	       "furthest of its rooms)");
	size_t i;
	const json_t *l;
	json_array_foreach((json_t *)a, i, l)
	{
		const json_t *v = json_object_get(l, "lag_ms");
		if (json_is_number(v))
			fprintf(f, "mcu_loop_lag_seconds{loop=\"%zu\"} %.6g\n", i,
			        json_number_value(v) / 1000.0);
	}
	per_loop(f, a, "lag_skips", "mcu_loop_lag_skips_total", "counter",
	         "times a room's mixing on the loop fell 0.5 s behind and skipped ahead");
}

/* One labelled sample: name{label="value"} v. */
static void labelled(FILE *f, const char *name, const char *label, const char *value,
                     const json_t *v)
{
	fprintf(f, "%s{%s=\"%s\"} ", name, label, value);
	number(f, v);
}

static void errors(FILE *f, const json_t *server)
{
	family(f, "mcu_errors_by_code_total", "counter",
	       "signaling error messages sent, by code (docs/PROTOCOL.md), since start");
	const char *code;
	const json_t *v;
	json_object_foreach(json_object_get(server, "errors_by_code"), code, v)
	    labelled(f, "mcu_errors_by_code_total", "code", code, v);
}

/* The "media" object: peers by state, bit rates, encoders, active recordings. */
static void media(FILE *f, const json_t *m)
{
	const char *key;
	const json_t *v;
	family(f, "mcu_peers", "gauge", "participants by the state of their media session");
	json_object_foreach(json_object_get(m, "peers_by_state"), key, v)
	    labelled(f, "mcu_peers", "state", key, v);
	static const char *const dir[][2] = {{"bitrate_in", "in"}, {"bitrate_out", "out"}};
	for (int d = 0; d < 2; d++) {
		char name[64];
		snprintf(name, sizeof(name), "mcu_media_%s_bytes_per_second", dir[d][1]);
		family(f, name, "gauge",
		       d ? "RTP the server sends the participants, over the last second"
		         : "RTP the participants send the server, over the last second");
		json_object_foreach(json_object_get(m, dir[d][0]), key, v)
		    fprintf(f, "%s{medium=\"%s\"} %.6g\n", name, key, json_number_value(v) / 8);
	}
	family(f, "mcu_video_encoders", "gauge", "live video encoders by codec, size and rate");
	size_t i;
	json_array_foreach(json_object_get(m, "video_encoders"), i, v)
	{
		fprintf(
		    f,
		    "mcu_video_encoders{codec=\"%s\",width=\"%lld\",height=\"%lld\",fps=\"%lld\"} ",
		    json_string_value(json_object_get(v, "codec")),
		    (long long)json_integer_value(json_object_get(v, "width")),
		    (long long)json_integer_value(json_object_get(v, "height")),
		    (long long)json_integer_value(json_object_get(v, "fps")));
		number(f, json_object_get(v, "count"));
	}
	gauge(f, "mcu_audio_encoders", "live audio encoders (Opus and AAC)",
	      json_object_get(m, "audio_encoders"));
	gauge(f, "mcu_recordings_active", "recordings being written",
	      json_object_get(m, "recordings_active"));
}

static void process(FILE *f, const json_t *p)
{
	gauge(f, "mcu_process_open_fds", "open file descriptors", json_object_get(p, "fds"));
	gauge(f, "mcu_process_max_fds", "the open file limit", json_object_get(p, "fd_limit"));
	family(f, "mcu_process_resident_memory_bytes", "gauge", "resident memory");
	fprintf(f, "mcu_process_resident_memory_bytes %lld\n",
	        (long long)json_integer_value(json_object_get(p, "rss_kib")) * 1024);
}

/*
 * mcu_latency_seconds{medium,stage,percentile} and mcu_latency_samples{medium,stage}: gauges,
 * not a summary (that would need the sum of the samples, which the histograms do not keep).
 */
static void latency(FILE *f, const json_t *lat)
{
	static const char *const media[] = {"video", "audio"};
	family(f, "mcu_latency_seconds", "gauge",
	       "delay a stage of the server adds, over the last 10 to 20 s (ARCHITECTURE.md)");
	for (int m = 0; m < 2; m++) {
		const char *stage;
		const json_t *s;
		json_object_foreach(json_object_get(lat, media[m]), stage, s)
		{
			static const char *const q[][2] = {{"p50_ms", "50"}, {"p95_ms", "95"}};
			for (int i = 0; i < 2; i++) {
				const json_t *v = json_object_get(s, q[i][0]);
				if (json_is_number(v))
					fprintf(f,
					        "mcu_latency_seconds{medium=\"%s\",stage=\"%s\","
					        "percentile=\"%s\"} %.6g\n",
					        media[m], stage, q[i][1],
					        json_number_value(v) / 1000.0);
			}
		}
	}
	family(f, "mcu_latency_samples", "gauge", "samples behind mcu_latency_seconds");
	for (int m = 0; m < 2; m++) {
		const char *stage;
		const json_t *s;
		json_object_foreach(json_object_get(lat, media[m]), stage, s)
		{
			fprintf(f, "mcu_latency_samples{medium=\"%s\",stage=\"%s\"} ", media[m],
			        stage);
			number(f, json_object_get(s, "n"));
		}
	}
}

char *metrics_render(const json_t *stats)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	static const char *const server_gauges[] = {"rooms", "participants", NULL};
	static const char *const none[] = {NULL};
	section(f, json_object_get(stats, "server"), "", server_gauges);
	errors(f, json_object_get(stats, "server"));
	media(f, json_object_get(stats, "media"));
	section(f, json_object_get(stats, "signaling"), "signaling_", none);
	section(f, json_object_get(stats, "peers"), "peer_", none);
	static const char *const webhook_gauges[] = {"pending", NULL};
	section(f, json_object_get(stats, "webhooks"), "webhook_", webhook_gauges);
	loops(f, json_object_get(stats, "loops"));
	process(f, json_object_get(stats, "process"));
	latency(f, json_object_get(stats, "latency"));
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
