/*
 * env.c - the helpers of env.h. Any thread (the services they call are).
 */
#include "log.h"
#include "session/env.h"
#include "signal/msg.h"

void env_send_error(const struct env *e, uint64_t conn, const char *code, const char *msg)
{
	LOG_D("conn %llu: error %s: %s", (unsigned long long)conn, code, msg);
	e->ops->error_sent(e->up, code);
	env_send(e, conn, sig_error(code, msg));
}
