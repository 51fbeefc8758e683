/*
 * The RTMP listener: binds the configured address and turns each accepted
 * connection into a session.
 */
#ifndef INGEST_H
#define INGEST_H

#include <stddef.h>

struct server;

#define INGEST_REFUSED_LOG_MS	1000	/* one conn.refused line per second */

/* Binds host:port (resolved here, before the server serves).  0, or -1
 * with err. */
int	ingest_listen(struct server *, const char *host, unsigned port,
	    char *err, size_t errlen);
void	ingest_close(struct server *);

#endif
