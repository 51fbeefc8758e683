/*
 * The optional HTTP server (`http:` in the config), on libevent's evhttp:
 * GET /api/v1/streams and /api/v1/relays (JSON, secrets masked) and
 * /metrics (Prometheus text, see metrics.c).  With http_token set every
 * request needs "Authorization: Bearer TOKEN".  Answers from memory only.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

struct server;
struct http;

#define HTTP_TIMEOUT_S		10	/* per connection, read and write */
#define HTTP_MAX_HEADERS	8192	/* bytes of request headers */

/* Binds addr ("host:port", "[v6]:port"; checked by config/).  NULL with
 * err on failure.  The token is read from srv->cfg at each request, so a
 * reload that changes it applies at once. */
struct http	*http_new(struct server *, const char *addr, char *err,
		    size_t errlen);
/* Closes the listener and every connection.  NULL is a no-op. */
void		 http_free(struct http *);

#endif
