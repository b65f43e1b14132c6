/*
 * api_int.h - what the HTTP API's files share: api.c (server-wide calls, recordings, stats,
 * routing) and api_rooms.c (one room and its participants). Any thread unless noted.
 */
#ifndef MCU_API_INT_H
#define MCU_API_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "signal/msg.h"

struct server;
struct ws_http_request;
struct ws_http_reply;
struct rec_status;
struct peer_stats;

/* A JSON reply: the body text is owned by the reply. */
void api_reply_owned(struct ws_http_reply *r, int status, char *text);
/* {"error": code, "message": msg} with status. */
void api_reply_error(struct ws_http_reply *r, int status, const char *code, const char *msg);
/* A recording's status as the API shows it. */
json_t *api_rec_json(const struct rec_status *st);
/* A peer's counters as the API shows them. */
json_t *api_peer_stats_json(const struct peer_stats *t);
/* v rounded to three decimals (milliseconds of seconds, and the like). */
double api_round3(double v);

/* api_rooms.c, signaling thread: whether path is "/api/rooms/{room}[/...]" (copies room). */
bool api_rooms_path(const char *path, char room[SIG_MAX_ROOM + 1]);
/* api_rooms.c, signaling thread: serves a request under /api/rooms/{room} (see api_rooms.c). */
void api_rooms(struct server *s, const struct ws_http_request *req, const char *room,
               struct ws_http_reply *reply);

#endif
