/*
 * The control socket (state_dir/control.sock, 0600): answers `mirroring
 * status`, "reload" (refused with the config error, or applied) and
 * "stop", and hears "keys-changed" from the CLI.  Requests and replies
 * are IPC_CTL_REQ / IPC_CTL_REPLY messages.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <stddef.h>

struct server;
struct control;

#define CONTROL_MAX_CLIENTS	16
#define CONTROL_IDLE_S		10

/* Binds the socket; refuses when another supervisor answers on it and
 * removes a stale one.  NULL with err on failure. */
struct control	*control_new(struct server *, const char *state_dir,
		    char *err, size_t errlen);
/* Closes clients and the socket, and unlinks it.  NULL is a no-op. */
void		 control_free(struct control *);

#endif
