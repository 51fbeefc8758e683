/*
 * IPC framing over libevent buffers, shared by the supervisor's control
 * socket and (later) its workers' sockets.  The only part of common/ that
 * knows libevent.
 */
#ifndef IPC_EV_H
#define IPC_EV_H

#include <stddef.h>
#include <stdint.h>

#include "common/ipc.h"

struct evbuffer;

/*
 * Looks at the front of in: 1 when a whole message is buffered (*h set,
 * *payload contiguous and valid until ipc_ev_drain), 0 when more bytes
 * are needed, -1 on a bad header (*why says why; close the peer).
 */
int	ipc_ev_next(struct evbuffer *in, struct ipc_hdr *h,
	    const uint8_t **payload, const char **why);
/* Removes the message ipc_ev_next returned. */
void	ipc_ev_drain(struct evbuffer *in, const struct ipc_hdr *h);
/* Appends one message; 0 or -1 (out of memory). */
int	ipc_ev_add(struct evbuffer *out, uint16_t type, uint32_t id,
	    const void *payload, size_t len);

#endif
