/*
 * ifaddr.c - the machine's IPv4 interface addresses for a wildcard bind (see ifaddr.h).
 * Any thread; no state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "net/ifaddr.h"

bool ifaddr_is_wildcard(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
}

/* The interface's IPv4 address as text, if it is up and has one. */
static bool up_ipv4(const struct ifaddrs *ifa, char text[IFADDR_LEN])
{
	if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || !(ifa->ifa_flags & IFF_UP))
		return false;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ifa->ifa_addr;
	return inet_ntop(AF_INET, &sin->sin_addr, text, IFADDR_LEN) != NULL;
}

/* Appends text to out[0..*n) unless it is there or out is full. */
static void add_once(char out[][IFADDR_LEN], int *n, int max, const char *text)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(out[i], text))
			return;
	if (*n < max)
		memcpy(out[(*n)++], text, IFADDR_LEN);
}

int ifaddr_pick_ipv4(const struct ifaddrs *list, char out[][IFADDR_LEN], int max)
{
	char text[IFADDR_LEN], loop[IFADDR_LEN] = "";
	int n = 0;
	for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!up_ipv4(ifa, text))
			continue;
		if (!(ifa->ifa_flags & IFF_LOOPBACK))
			add_once(out, &n, max, text);
		else if (!loop[0])
			memcpy(loop, text, sizeof(loop));
	}
	if (n == 0 && loop[0])
		add_once(out, &n, max, loop);
	return n;
}

int ifaddr_ipv4(char out[][IFADDR_LEN], int max)
{
	struct ifaddrs *list = NULL;
	if (getifaddrs(&list) < 0)
		return -errno;
	int n = ifaddr_pick_ipv4(list, out, max);
	freeifaddrs(list);
	return n;
}
