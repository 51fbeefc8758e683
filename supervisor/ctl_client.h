/*
 * Blocking client of the supervisor's control socket (state_dir/
 * control.sock), for the CLI only.  One request, one reply, both framed
 * as IPC_CTL_REQ / IPC_CTL_REPLY (common/ipc.h).
 */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_SOCK_NAME	"control.sock"
#define CTL_TIMEOUT_MS	5000

/*
 * Sends command with argc arguments and waits up to CTL_TIMEOUT_MS for
 * the reply.  Returns 0 with *ok and *text (malloc'd, NUL-terminated,
 * caller frees) set; -1 with errno (ENOENT/ECONNREFUSED when no
 * supervisor runs, ETIMEDOUT, EPROTO on a bad reply).
 */
int	ctl_client_request(const char *state_dir, const char *command,
	    int argc, char *const argv[], bool *ok, char **text);

#endif
