/*
 * test_ifaddr.c - net/ifaddr.c and its use by net/ice.c for a wildcard bind: the addresses
 * picked from an interface list (up IPv4 ones, no duplicates, loopback only when alone, at
 * most max), wildcards recognised, and a real libnice agent created on 0.0.0.0 gathering host
 * candidates on this machine's addresses, never on 0.0.0.0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <glib.h>

#include "net/ice.h"
#include "net/ifaddr.h"

/* A fake interface list: up to 8 entries, linked in order. */
struct fake {
	struct ifaddrs ifa[8];
	struct sockaddr_in sin[8];
	struct sockaddr_in6 sin6[8];
	int n;
};

static void add4(struct fake *f, const char *ip, unsigned flags)
{
	int i = f->n++;
	f->sin[i] = (struct sockaddr_in){.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, ip, &f->sin[i].sin_addr), 1);
	f->ifa[i] = (struct ifaddrs){
	    .ifa_name = "x", .ifa_flags = flags, .ifa_addr = (struct sockaddr *)&f->sin[i]};
	if (i)
		f->ifa[i - 1].ifa_next = &f->ifa[i];
}

static void add6(struct fake *f, unsigned flags)
{
	int i = f->n++;
	f->sin6[i] = (struct sockaddr_in6){.sin6_family = AF_INET6};
	f->ifa[i] = (struct ifaddrs){
	    .ifa_name = "x", .ifa_flags = flags, .ifa_addr = (struct sockaddr *)&f->sin6[i]};
	if (i)
		f->ifa[i - 1].ifa_next = &f->ifa[i];
}

static void test_pick(void **state)
{
	(void)state;
	struct fake f = {0};
	char out[IFADDR_MAX][IFADDR_LEN];
	add4(&f, "127.0.0.1", IFF_UP | IFF_LOOPBACK);
	add6(&f, IFF_UP);
	add4(&f, "192.168.1.5", IFF_UP);
	add4(&f, "10.0.0.9", 0); /* down */
	add4(&f, "172.16.0.2", IFF_UP);
	add4(&f, "192.168.1.5", IFF_UP); /* the same address twice */
	assert_int_equal(ifaddr_pick_ipv4(f.ifa, out, IFADDR_MAX), 2);
	assert_string_equal(out[0], "192.168.1.5");
	assert_string_equal(out[1], "172.16.0.2");
	assert_int_equal(ifaddr_pick_ipv4(f.ifa, out, 1), 1); /* at most max */
	assert_string_equal(out[0], "192.168.1.5");
}

static void test_pick_loopback_alone(void **state)
{
	(void)state;
	struct fake f = {0};
	char out[IFADDR_MAX][IFADDR_LEN];
	add4(&f, "10.0.0.9", 0); /* down: does not count */
	add4(&f, "127.0.0.1", IFF_UP | IFF_LOOPBACK);
	add4(&f, "127.0.0.2", IFF_UP | IFF_LOOPBACK);
	assert_int_equal(ifaddr_pick_ipv4(f.ifa, out, IFADDR_MAX), 1);
	assert_string_equal(out[0], "127.0.0.1");
	assert_int_equal(ifaddr_pick_ipv4(NULL, out, IFADDR_MAX), 0);
	struct fake down = {0};
	add4(&down, "127.0.0.1", IFF_LOOPBACK);
	assert_int_equal(ifaddr_pick_ipv4(down.ifa, out, IFADDR_MAX), 0);
}

static void test_wildcard(void **state)
{
	(void)state;
	assert_true(ifaddr_is_wildcard("0.0.0.0"));
	assert_true(ifaddr_is_wildcard("::"));
	assert_true(ifaddr_is_wildcard("0:0::0"));
	assert_false(ifaddr_is_wildcard("127.0.0.1"));
	assert_false(ifaddr_is_wildcard("::1"));
	assert_false(ifaddr_is_wildcard("0.0.0"));
	assert_false(ifaddr_is_wildcard(""));
}

struct gathered {
	char cand[IFADDR_MAX * 2][256];
	int n;
	bool done;
};

static void on_candidate(void *opaque, const char *candidate)
{
	struct gathered *g = opaque;
	if (!candidate)
		g->done = true;
	else if (g->n < IFADDR_MAX * 2)
		snprintf(g->cand[g->n++], sizeof(g->cand[0]), "%s", candidate);
}

static void on_state(void *opaque, enum ice_state st)
{
}

static void on_recv(void *opaque, uint8_t *data, size_t len)
{
}

/* "candidate:F 1 udp PRIO ADDR PORT typ host": ADDR. */
static void cand_addr(const char *c, char *addr, size_t n)
{
	char a[64] = "";
	assert_int_equal(sscanf(c, "candidate:%*s %*s %*s %*s %63s", a), 1);
	snprintf(addr, n, "%s", a);
}

static void test_ice_gathers_on_interfaces(void **state)
{
	(void)state;
	char ips[IFADDR_MAX][IFADDR_LEN];
	int n = ifaddr_ipv4(ips, IFADDR_MAX);
	assert_true(n >= 1); /* lo at least (a network namespace has it) */
	GMainContext *ctx = g_main_context_new();
	struct gathered g = {0};
	struct ice_callbacks cb = {&g, on_candidate, on_state, on_recv};
	struct ice *ice = NULL;
	assert_int_equal(ice_new(&ice, ctx, "0.0.0.0", "", &cb), 0);
	assert_int_equal(ice_gather(ice), 0);
	for (int i = 0; i < 500 && !g.done; i++)
		g_main_context_iteration(ctx, FALSE), g_usleep(1000);
	assert_true(g.done);
	assert_int_equal(g.n, n); /* one host candidate per address */
	for (int i = 0; i < g.n; i++) {
		char addr[64];
		cand_addr(g.cand[i], addr, sizeof(addr));
		assert_string_not_equal(addr, "0.0.0.0");
		bool known = false;
		for (int k = 0; k < n; k++)
			known = known || !strcmp(addr, ips[k]);
		if (!known)
			fail_msg("candidate %s is on no interface address", g.cand[i]);
	}
	ice_free(&ice);
	for (int i = 0; i < 50; i++)
		g_main_context_iteration(ctx, FALSE);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pick),
	    cmocka_unit_test(test_pick_loopback_alone),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_ice_gathers_on_interfaces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
