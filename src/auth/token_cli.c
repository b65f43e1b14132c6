/*
 * token_cli.c - the `mcu token` subcommand (see token_cli.h). Main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "auth/token.h"
#include "auth/token_cli.h"

#define SECRET_MAX 256

static void usage(FILE *f)
{
	fprintf(f, "usage: mcu token ROOM [--role participant|admin] [--ttl SECONDS]\n"
	           "                      [--secret-file FILE | --config FILE]\n"
	           "Prints an access token for ROOM (\"*\" = every room), signed with the secret\n"
	           "from MCU_SECRET, --secret-file (first line) or the config file's \"secret\".\n"
	           "Default role participant, default ttl 86400 s.\n");
}

static int secret_from_file(const char *path, char *out)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "mcu token: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[SECRET_MAX + 2] = "";
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	size_t n = strnlen(line, SECRET_MAX - 1);
	memcpy(out, line, n);
	out[n] = '\0';
	return 0;
}

static int secret_from_config(const char *path, char *out)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	const char *v = json_string_value(json_object_get(o, "secret"));
	if (!v)
		fprintf(stderr, "mcu token: %s: %s\n", path, o ? "no \"secret\" string" : je.text);
	else
		snprintf(out, SECRET_MAX, "%s", v);
	json_decref(o);
	return v ? 0 : -1;
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
	const char *env = getenv("MCU_SECRET");
	if (a.secret_file && secret_from_file(a.secret_file, secret) < 0)
		return 1;
	if (!a.secret_file && a.config && secret_from_config(a.config, secret) < 0)
		return 1;
	if (!secret[0] && env)
		snprintf(secret, sizeof(secret), "%s", env);
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
