/*
 * token_cli.c - the `mcu token` subcommand (see token_cli.h). Main thread only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/token.h"
#include "auth/token_cli.h"
#include "config.h"

#define SECRET_MAX 256 /* as struct mcu_config's secret */

static void usage(FILE *f)
{
	fprintf(f, "usage: mcu token ROOM [--role participant|admin] [--ttl SECONDS]\n"
	           "                      [--secret-file FILE | --config FILE]\n"
	           "Prints an access token for ROOM (\"*\" = every room), signed with the secret\n"
	           "from MCU_SECRET, --secret-file (first line) or the config file's \"secret\".\n"
	           "Default role participant, default ttl 86400 s.\n");
}

struct args {
	const char *room, *secret_file, *config;
	int role;
	long long ttl;
};

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {{"role", 1, 0, 'r'},        {"ttl", 1, 0, 't'},
	                                     {"secret-file", 1, 0, 's'}, {"config", 1, 0, 'c'},
	                                     {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
	int opt;
	char *end;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'r' && (a->role = token_role_parse(optarg)) < 0)
			return 2;
		if (opt == 't' && ((a->ttl = strtoll(optarg, &end, 10)) <= 0 || *end))
			return 2;
		if (opt == 's')
			a->secret_file = optarg;
		if (opt == 'c')
			a->config = optarg;
		if (opt == 'h' || opt == '?')
			return opt == 'h' ? 1 : 2;
	}
	if (optind != argc - 1)
		return 2;
	a->room = argv[optind];
	return 0;
}

int token_cli(int argc, char **argv)
{
	struct args a = {.role = TOKEN_PARTICIPANT, .ttl = 86400};
	int rc = parse(argc, argv, &a);
	if (rc) {
		usage(rc == 1 ? stdout : stderr);
		return rc == 1 ? 0 : 2;
	}
	char secret[SECRET_MAX] = "";
	if (mcu_config_secret(a.config, a.secret_file, secret, sizeof(secret)) < 0)
		return 1;
	if (!secret[0]) {
		fprintf(stderr, "mcu token: no secret (MCU_SECRET, --secret-file or --config)\n");
		return 1;
	}
	char tok[TOKEN_MAX + 1];
	if (token_make(secret, a.room, (enum token_role)a.role, (int64_t)time(NULL) + a.ttl, tok,
	               sizeof(tok)) < 0) {
		fprintf(stderr, "mcu token: bad room name '%s'\n", a.room);
		return 2;
	}
	printf("%s\n", tok);
	return 0;
}
