/*
 * cluster_int.h - the cluster's state and the functions its files share (cluster.c: life cycle
 * and membership; cluster_place.c: rooms' placement and claims; cluster_relay.c: relayed
 * signaling). Private to src/cluster/. Fields are the cluster loop's unless marked.
 */
#ifndef MCU_CLUSTER_INT_H
#define MCU_CLUSTER_INT_H

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster/cluster.h"
#include "cluster/redis.h"
#include "cluster/relay.h"

struct cluster {
	struct server *s;
	const struct mcu_config *cfg;
	char id[CLUSTER_MAX_ID + 1]; /* node_id, or "<hostname>:<port>" */
	char url[160];               /* how clients reach this node */
	struct loop *l;
	struct redis *redis;
	struct redis *sub; /* subscribed to mcu:relay:<id> */
	char channel[CLUSTER_MAX_ID + 16];
	struct relay relay;
	unsigned timer;
	bool reading; /* an SMEMBERS/MGET round is in flight */
	int nids;
	char ids[CLUSTER_MAX_NODES][CLUSTER_MAX_ID + 1]; /* the members being read */
	pthread_mutex_t snap_lock;
	json_t *nodes;     /* the last membership read (snap_lock) */
	json_t *rooms;     /* the other nodes' rooms in it, each with its node (snap_lock) */
	json_t *recs;      /* the other nodes' recordings in it, each with its node (snap_lock) */
	bool up;           /* Redis, as last seen on the loop (snap_lock) */
	int64_t up_since;  /* when the connection last came up (monotonic us) */
	json_t *claims;    /* our rooms' claim values ("<id>/<epoch>"), by room name */
	int64_t last_beat; /* when the beat last ran (monotonic us): a late one means we stalled */
	GQueue held;       /* relayed messages kept while Redis is away (struct pub *) */
	size_t held_bytes;
	atomic_uint_fast64_t relay_lost; /* relayed messages dropped: too many held, too old */
};

/* cluster.c */
void cluster_ignore_reply(void *arg, struct redisReply *r);
/* A string member of o, "" if absent. */
const char *cluster_str(json_t *o, const char *k);
/* Whether node id is in the last membership read. */
bool cluster_is_member(const struct cluster *c, const char *id);
/* The node of a claim value "<id>/<epoch>" into node (n bytes): 0, or -1 if it is too long. */
int cluster_claim_node(const char *value, char *node, size_t n);

/* cluster_relay.c */
/* Publishes {"t": t, "from": us, "conn": conn, "text": text} to node's channel (any thread). */
void cluster_publish(struct cluster *c, const char *node, const char *t, uint64_t conn,
                     const char *text);
/* A message on our channel. */
void cluster_on_relay(void *arg, const char *payload, size_t len);
/* Publishes the messages held while Redis was away (the beat, once it is back); frees them all
 * when `drop` (shutting down). */
void cluster_flush_held(struct cluster *c, bool drop);
/* After a membership read: relayed connections of nodes that left are closed. */
void cluster_check_relayed(struct cluster *c);

/* cluster_place.c */
/* Renews the claims of the rooms we run (fencing those another node took). */
void cluster_renew_claims(struct cluster *c);
/* Ends every room here: we stalled past our claims' expiry, another node may mix them now. */
void cluster_fence_all(struct cluster *c, const char *why);

#endif
