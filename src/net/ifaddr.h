/*
 * ifaddr.h - the machine's own addresses, for ICE when the server is bound to every interface
 * (--bind 0.0.0.0): a host candidate on 0.0.0.0 is useless to a browser, so ice.c gathers on
 * each IPv4 address of the interfaces that are up instead, loopback left out unless it is the
 * only one (a machine, or network namespace, with nothing but lo).
 * Pure functions (ifaddr_pick_ipv4) and one getifaddrs call: any thread.
 */
#ifndef MCU_IFADDR_H
#define MCU_IFADDR_H

#include <stdbool.h>

#define IFADDR_LEN 16 /* INET_ADDRSTRLEN */
#define IFADDR_MAX 8  /* addresses gathered on at most */

struct ifaddrs;

/* Whether addr is a wildcard address ("0.0.0.0" or "::"): every interface. */
bool ifaddr_is_wildcard(const char *addr);

/*
 * The IPv4 addresses of list's interfaces that are up, without duplicates, in list order:
 * loopback ones only when there is no other. Writes at most max into out; returns how many.
 */
int ifaddr_pick_ipv4(const struct ifaddrs *list, char out[][IFADDR_LEN], int max);

/* ifaddr_pick_ipv4 over this machine's interfaces (getifaddrs): the count, or -errno. */
int ifaddr_ipv4(char out[][IFADDR_LEN], int max);

#endif
