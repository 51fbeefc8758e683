/*
 * Name lookups that do not block a worker's loop.  getaddrinfo blocks for
 * as long as the resolver takes (seconds per nameserver and try when one
 * does not answer), and a worker that blocks sends no STATUS: the
 * supervisor would kill it as silent.  Here the lookup runs in glibc's
 * getaddrinfo_a helper thread and the worker polls it from its loop,
 * under the connect deadline.  Numeric hosts are answered at once.
 *
 * A lookup given up at its deadline cannot always be cancelled (glibc may
 * be inside it); it is kept until glibc is done with it, at most
 * RESOLVE_ABANDONED_MAX at a time.
 */
#ifndef RESOLVE_H
#define RESOLVE_H

#include <stddef.h>
#include <stdint.h>

struct addrinfo;
struct resolve_req;

#define RESOLVE_ABANDONED_MAX	8

struct resolve {
	struct resolve_req	*req;	/* in flight or answered; NULL: none */
	uint64_t		 deadline_ms;
	uint32_t		 timeout_ms;
};

/* Starts looking up host:port (TCP), to be answered within timeout_ms of
 * now_ms.  0, or -1 and the reason in why ("name lookup of HOST: ..."). */
int	resolve_start(struct resolve *, const char *host, const char *port,
	    uint32_t timeout_ms, uint64_t now_ms, char *why, size_t whylen);
/* 1: the addresses in *ai (valid until resolve_clear), 0: still looking,
 * -1: failed or past the deadline, the reason in why ("name lookup of
 * HOST timed out after N ms", "name lookup of HOST: <gai_strerror>"). */
int	resolve_poll(struct resolve *, uint64_t now_ms,
	    const struct addrinfo **ai, char *why, size_t whylen);
/* Forgets the lookup, answered or not (one still running is kept until
 * glibc finishes it). */
void	resolve_clear(struct resolve *);

#endif
