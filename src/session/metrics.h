/*
 * metrics.h - GET /metrics: the figures of GET /api/stats in the Prometheus text exposition
 * format (version 0.0.4), for scraping.
 * Any thread: a pure function of the stats object it is given (api.c builds it).
 */
#ifndef MCU_METRICS_H
#define MCU_METRICS_H

#include <jansson.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The exposition of stats (the object /api/stats replies with); malloc'd, NULL on failure. */
char *metrics_render(const json_t *stats);

#endif
