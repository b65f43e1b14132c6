/*
 * relay.h - the connections whose signaling crosses nodes (cluster.c): on the node a client is
 * connected to, its connection relayed to the room's node ("out"); on the room's node, a
 * virtual connection id standing for (origin node, its connection) ("in"), which the server
 * handles like any WebSocket connection (RELAY_VCONN_BIT tells them apart).
 *
 * Threads: any (a pthread mutex: the signaling thread, the loops and the cluster's loop all
 * look connections up). Ownership: the relay owns its tables; ids are copied in and out.
 */
#ifndef MCU_RELAY_H
#define MCU_RELAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define RELAY_VCONN_BIT (1ULL << 62) /* WebSocket connection ids stay far below */
/* in: an /api/ call's id from another node, told from its connection ids (another counter) */
#define RELAY_HTTP_BIT (1ULL << 61)
#define RELAY_MAX_ID   64
#define RELAY_MAX      4096 /* relayed connections each way */

struct relay_entry {
	uint64_t conn; /* out: our client's connection; in: the virtual id */
	uint64_t far;  /* in: the connection on the origin node; out: unused */
	char node[RELAY_MAX_ID + 1];
};

struct relay {
	pthread_mutex_t lock;
	struct relay_entry out[RELAY_MAX], in[RELAY_MAX];
	int nout, nin;
	uint64_t next_vconn;
};

void relay_init(struct relay *r);
void relay_fini(struct relay *r);

static inline bool relay_is_vconn(uint64_t conn)
{
	return (conn & RELAY_VCONN_BIT) != 0;
}

/* out: conn's signaling now goes to node. -ENOSPC when full. */
int relay_out_add(struct relay *r, uint64_t conn, const char *node);
/* out: the node conn is relayed to (copied into node), or false. */
bool relay_out_node(struct relay *r, uint64_t conn, char node[RELAY_MAX_ID + 1]);
/* out: forgets conn; false if it was not relayed. */
bool relay_out_del(struct relay *r, uint64_t conn);
/* out: takes up to max connections relayed to node out of the table (a node that died). */
int relay_out_take_node(struct relay *r, const char *node, uint64_t *conns, int max);

/* Both ways: the distinct nodes in the tables (at most max); how many. */
int relay_nodes(struct relay *r, char (*nodes)[RELAY_MAX_ID + 1], int max);

/* in: the virtual id of (node, far), made on first sight when create; 0 if none or full. */
uint64_t relay_in_vconn(struct relay *r, const char *node, uint64_t far, bool create);
/* in: the origin of a virtual id, or false. */
bool relay_in_origin(struct relay *r, uint64_t vconn, char node[RELAY_MAX_ID + 1], uint64_t *far);
/* in: forgets a virtual id; false if unknown. */
bool relay_in_del(struct relay *r, uint64_t vconn);
/* in: takes up to max virtual ids from node out of the table (its client node died). */
int relay_in_take_node(struct relay *r, const char *node, uint64_t *vconns, int max);

#endif
