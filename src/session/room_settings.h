/*
 * room_settings.h - what may differ from room to room: the layout, the canvas, the ladder of
 * outputs, the participant limit, automatic recording and how long an empty room created
 * through the API (PUT /api/rooms/{room}) lives. A room without its own takes the server's
 * configuration (room_settings_default).
 *
 * Threads: pure functions, any thread. The registry's slot owns a room's settings
 * (session/server.h); the room reads them on its loop.
 */
#ifndef MCU_ROOM_SETTINGS_H
#define MCU_ROOM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "session/ladder.h"

struct mcu_config;

struct room_settings {
	char layout[16]; /* "grid" | "speaker" */
	int width, height, fps;
	struct ladder ladder; /* the outputs a recipient may be placed on, best first */
	int max_participants;
	char record[8];     /* "" = no automatic recording, else its format: webm, mkv, mp4 */
	int idle_timeout_s; /* an empty room made by PUT is freed after this long */
};

/* The server's configuration as room settings. */
void room_settings_default(struct room_settings *s, const struct mcu_config *c);

/*
 * A PUT body over the defaults in *s: {"layout", "width", "height", "ladder", "max_participants",
 * "record" (false, true = webm, or a format), "idle_timeout_s"}, every key optional, others
 * refused. Width and height go together and, without "ladder", make the default ladder for
 * that size. 0, or -EINVAL with what is wrong in err.
 */
int room_settings_parse(struct room_settings *s, const struct mcu_config *c, const char *body,
                        size_t len, char *err, size_t errlen);

/* The settings as the API shows them. */
json_t *room_settings_json(const struct room_settings *s);

#endif
