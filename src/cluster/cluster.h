/*
 * cluster.h - this node's membership of a cluster of mcu nodes coordinated through Redis
 * (config cluster = redis://HOST:PORT, node_id). Every CLUSTER_BEAT_MS the node writes its record,
 * key mcu:node:<id> = {"id", "url", "rooms", "participants", "load", "loops": [...]}, with an
 * expiry of CLUSTER_TTL_MS (a node that stops, dies or loses Redis drops out within that), adds
 * its id to the set mcu:nodes, and reads every member's record back (a member whose record
 * expired is removed from the set). The result is the membership the API shows
 * (GET /api/cluster). Without Redis the node keeps serving; it writes its record again as soon
 * as Redis is back.
 *
 * Rooms: a join from one of our clients for a room not running here is placed: the room's
 * claim, key mcu:room:<name> = "<node id>/<epoch>" with an expiry of CLUSTER_CLAIM_MS, names
 * its node; without one (or when its node is gone) the least loaded live node is claimed with an
 * atomic compare-and-set (Lua). Joined here, or relayed: the client's messages are published
 * on the room node's channel mcu:relay:<id> and its replies come back on ours (cluster/relay.h:
 * a virtual connection there), so its media goes to the room's node straight. Each beat a node
 * renews the claims of its rooms, accepting only the value (epoch) it holds; a claim found
 * changed ends the room here (fencing: its clients are told to reconnect), and so does a beat
 * that comes later than the claims live (this node stalled). A node that leaves the membership: our
 * clients relayed to it are told (node-lost) and disconnected, its clients' virtual
 * connections here close.
 *
 * Threads: a loop of its own (net/loop.h) runs the Redis connections and the timer;
 * cluster_json may be called from any thread (the membership is a snapshot under a mutex),
 * the relay entry points from the threads they name.
 * Ownership: main owns the cluster; it reads the server's counters (server_counts, the loops'
 * load), so it is freed before the server.
 */
#ifndef MCU_CLUSTER_H
#define MCU_CLUSTER_H

#define CLUSTER_BEAT_MS        1000
#define CLUSTER_TTL_MS         3000
#define CLUSTER_MAX_NODES      64
#define CLUSTER_MAX_ID         64
#define CLUSTER_CLAIM_MS       5000  /* a room's claim expires unless its node renews it */
#define CLUSTER_MAX_RECORDINGS 100   /* a node's record lists its newest files, by name */
#define CLUSTER_SETTINGS_MS    60000 /* a PUT room's settings outlive its node's last renewal */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cluster;
struct server;
struct json_t;

/* Starts this node's membership (cfg->cluster set): 0, or -errno (a bad URL is logged). */
int cluster_new(struct cluster **out, struct server *s);
void cluster_free(struct cluster **c);

/*
 * Any thread: {"node": our id, "redis": "up"|"down", "nodes": [{"id", "url", "rooms",
 * "participants", "load", "loops", "self"}...]} (the last membership read).
 */
struct json_t *cluster_json(struct cluster *c);
/* Any thread: the URLs of the live nodes, ours first (ours alone while Redis is away). */
struct json_t *cluster_urls(struct cluster *c);

/*
 * Signaling thread: a join from our client conn for a room not running here. True: the
 * cluster took it (placed asynchronously: joined here through server_join_here, or relayed to
 * the room's node, or refused with cluster-unavailable while Redis is away).
 */
bool cluster_take_join(struct cluster *c, uint64_t conn, const char *room, const char *text,
                       size_t len);
/* Signaling thread: true if conn is relayed to another node (the message is forwarded). */
bool cluster_take_message(struct cluster *c, uint64_t conn, const char *text, size_t len);
/* Signaling thread: true if conn was relayed (the room's node is told it closed). */
bool cluster_take_close(struct cluster *c, uint64_t conn);
/*
 * Signaling thread: an /api/ call about room, which does not run here: true if the cluster took
 * it (deferred: forwarded to the room's node, or handled here when it runs nowhere).
 */
struct ws_http_request;
struct ws_http_reply;
bool cluster_take_http(struct cluster *c, const struct ws_http_request *req, const char *room);
/* Any thread: the reply to a call forwarded to us (a virtual request id), sent back to its
 * node. Takes the reply's body and file. */
void cluster_http_reply(struct cluster *c, uint64_t vreq, struct ws_http_reply *reply);
/* Any thread: our node id; the other nodes' rooms as of the last beat (an array, each room
 * with its "node"). */
const char *cluster_id(const struct cluster *c);
struct json_t *cluster_rooms(struct cluster *c);
/* Any thread: keeps the settings a PUT gave a room made here (its body, len bytes) in Redis
 * (mcu:settings:<room>, renewed with the claim), so a node the room is placed on after this one
 * dies makes it with them (automatic recording included). */
void cluster_room_settings(struct cluster *c, const char *room, const char *body, size_t len);
/* Any thread: the other nodes' recordings as of the last beat (an array, each file with its
 * "node" and its "url" on that node). */
struct json_t *cluster_recordings(struct cluster *c);
/* Any thread: a message to, or the close of, a virtual connection (a client of another node). */
void cluster_send(struct cluster *c, uint64_t vconn, const char *text);
void cluster_close(struct cluster *c, uint64_t vconn);

#endif
