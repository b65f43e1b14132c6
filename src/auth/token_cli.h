/*
 * token_cli.h - `mcu token ROOM [--role participant|admin] [--ttl SECONDS]
 * [--secret-file FILE | --config FILE]`: prints an access token signed with the server's
 * secret (MCU_SECRET in the environment, else the file given). Main thread, before anything
 * else starts.
 */
#ifndef MCU_TOKEN_CLI_H
#define MCU_TOKEN_CLI_H

/* argv[0] is "token". Returns the process exit status (0, 1 error, 2 usage). */
int token_cli(int argc, char **argv);

#endif
