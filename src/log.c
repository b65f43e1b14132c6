/*
 * log.c - leveled logging to stderr (see log.h). The level is written once at start-up and
 * read by every thread afterwards.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum mcu_log_level g_level = MCU_LOG_INFO;

void mcu_log_set_level(enum mcu_log_level l)
{
	g_level = l;
}

int mcu_log_parse_level(const char *s, enum mcu_log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum mcu_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void mcu_log(enum mcu_log_level l, const char *fmt, ...)
{
	static const char tag[] = "EWID";
	if (l > g_level)
		return;
	char line[1024];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %c ", tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, ts.tv_nsec / 1000000, tag[l]);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
