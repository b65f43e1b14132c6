/*
 * relay.c - the tables of connections relayed between nodes (see relay.h). Linear scans of
 * at most RELAY_MAX entries under one mutex, any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/relay.h"

void relay_init(struct relay *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->next_vconn = RELAY_VCONN_BIT | 1;
}

void relay_fini(struct relay *r)
{
	pthread_mutex_destroy(&r->lock);
}

static int find(const struct relay_entry *t, int n, uint64_t conn)
{
	for (int i = 0; i < n; i++)
		if (t[i].conn == conn)
			return i;
	return -1;
}

static void drop(struct relay_entry *t, int *n, int i)
{
	t[i] = t[--*n];
}

int relay_out_add(struct relay *r, uint64_t conn, const char *node)
{
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	int i = find(r->out, r->nout, conn);
	if (i < 0 && r->nout == RELAY_MAX)
		rc = -ENOSPC;
	else {
		if (i < 0)
			i = r->nout++;
		r->out[i] = (struct relay_entry){.conn = conn};
		snprintf(r->out[i].node, sizeof(r->out[i].node), "%s", node);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

bool relay_out_node(struct relay *r, uint64_t conn, char node[RELAY_MAX_ID + 1])
{
	pthread_mutex_lock(&r->lock);
	int i = find(r->out, r->nout, conn);
	if (i >= 0)
		memcpy(node, r->out[i].node, RELAY_MAX_ID + 1);
	pthread_mutex_unlock(&r->lock);
	return i >= 0;
}

bool relay_out_del(struct relay *r, uint64_t conn)
{
	pthread_mutex_lock(&r->lock);
	int i = find(r->out, r->nout, conn);
	if (i >= 0)
		drop(r->out, &r->nout, i);
	pthread_mutex_unlock(&r->lock);
	return i >= 0;
}

/* Takes the entries of node out of table t: their conn into out (at most max). */
static int take_node(struct relay *r, struct relay_entry *t, int *n, const char *node,
                     uint64_t *out, int max)
{
	int k = 0;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < *n && k < max;)
		if (!strcmp(t[i].node, node)) {
			out[k++] = t[i].conn;
			drop(t, n, i);
		} else {
			i++;
		}
	pthread_mutex_unlock(&r->lock);
	return k;
}

int relay_out_take_node(struct relay *r, const char *node, uint64_t *conns, int max)
{
	return take_node(r, r->out, &r->nout, node, conns, max);
}

uint64_t relay_in_vconn(struct relay *r, const char *node, uint64_t far, bool create)
{
	uint64_t v = 0;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < r->nin && !v; i++)
		if (r->in[i].far == far && !strcmp(r->in[i].node, node))
			v = r->in[i].conn;
	if (!v && create && r->nin < RELAY_MAX) {
		struct relay_entry *e = &r->in[r->nin++];
		*e = (struct relay_entry){.conn = r->next_vconn++, .far = far};
		snprintf(e->node, sizeof(e->node), "%s", node);
		v = e->conn;
	}
	pthread_mutex_unlock(&r->lock);
	return v;
}

bool relay_in_origin(struct relay *r, uint64_t vconn, char node[RELAY_MAX_ID + 1], uint64_t *far)
{
	pthread_mutex_lock(&r->lock);
	int i = find(r->in, r->nin, vconn);
	if (i >= 0) {
		memcpy(node, r->in[i].node, RELAY_MAX_ID + 1);
		*far = r->in[i].far;
	}
	pthread_mutex_unlock(&r->lock);
	return i >= 0;
}

bool relay_in_del(struct relay *r, uint64_t vconn)
{
	pthread_mutex_lock(&r->lock);
	int i = find(r->in, r->nin, vconn);
	if (i >= 0)
		drop(r->in, &r->nin, i);
	pthread_mutex_unlock(&r->lock);
	return i >= 0;
}

int relay_in_take_node(struct relay *r, const char *node, uint64_t *vconns, int max)
{
	return take_node(r, r->in, &r->nin, node, vconns, max);
}

/* Adds t's nodes not in nodes[0..n) (at most max in all); the new n. */
static int add_nodes(const struct relay_entry *t, int nt, char (*nodes)[RELAY_MAX_ID + 1], int n,
                     int max)
{
	for (int i = 0; i < nt && n < max; i++) {
		int k = 0;
		while (k < n && strcmp(nodes[k], t[i].node))
			k++;
		if (k == n)
			memcpy(nodes[n++], t[i].node, RELAY_MAX_ID + 1);
	}
	return n;
}

int relay_nodes(struct relay *r, char (*nodes)[RELAY_MAX_ID + 1], int max)
{
	pthread_mutex_lock(&r->lock);
	int n = add_nodes(r->out, r->nout, nodes, 0, max);
	n = add_nodes(r->in, r->nin, nodes, n, max);
	pthread_mutex_unlock(&r->lock);
	return n;
}
