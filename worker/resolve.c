/*
 * Non-blocking name lookups over getaddrinfo_a: see resolve.h.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/resolve.h"

/* glibc keeps pointers to all of it until the lookup is done. */
struct resolve_req {
	struct gaicb	 cb;
	struct gaicb	*list[1];
	struct addrinfo	 hints;
	bool		 numeric;	/* answered by getaddrinfo at once */
	char		 names[];	/* host NUL port NUL */
};

static struct resolve_req	*abandoned[RESOLVE_ABANDONED_MAX];

static void
resolve_free(struct resolve_req *r)
{
	if (r->cb.ar_result != NULL)
		freeaddrinfo(r->cb.ar_result);
	free(r);
}

/* Frees the abandoned lookups glibc is done with; true when a slot is
 * free. */
static bool
resolve_reap(void)
{
	bool	room = false;
	size_t	i;

	for (i = 0; i < RESOLVE_ABANDONED_MAX; i++) {
		if (abandoned[i] != NULL &&
		    gai_error(&abandoned[i]->cb) != EAI_INPROGRESS) {
			resolve_free(abandoned[i]);
			abandoned[i] = NULL;
		}
		if (abandoned[i] == NULL)
			room = true;
	}
	return room;
}

int
resolve_start(struct resolve *rs, const char *host, const char *port,
    uint32_t timeout_ms, uint64_t now_ms, char *why, size_t whylen)
{
	struct resolve_req	*r;
	size_t			 hl = strlen(host), pl = strlen(port);
	struct addrinfo		*ai;
	int			 rc;

	resolve_clear(rs);
	rs->deadline_ms = now_ms + timeout_ms;
	rs->timeout_ms = timeout_ms;
	if (!resolve_reap()) {
		snprintf(why, whylen, "name lookup of %s: earlier lookups "
		    "still hang", host);
		return -1;
	}
	if ((r = calloc(1, sizeof(*r) + hl + pl + 2)) == NULL) {
		snprintf(why, whylen, "name lookup of %s: out of memory", host);
		return -1;
	}
	memcpy(r->names, host, hl + 1);
	memcpy(r->names + hl + 1, port, pl + 1);
	r->hints.ai_family = AF_UNSPEC;
	r->hints.ai_socktype = SOCK_STREAM;
	r->hints.ai_flags = AI_NUMERICHOST;
	/* an address needs no resolver: answered here, never blocks */
	if (getaddrinfo(r->names, r->names + hl + 1, &r->hints, &ai) == 0) {
		r->cb.ar_result = ai;
		r->numeric = true;
		rs->req = r;
		return 0;
	}
	r->hints.ai_flags = 0;	/* as libav asks: no AI_ADDRCONFIG, which
				 * would refuse 127.0.0.1 on a box with
				 * loopback only */
	r->cb.ar_name = r->names;
	r->cb.ar_service = r->names + hl + 1;
	r->cb.ar_request = &r->hints;
	r->list[0] = &r->cb;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, r->list, 1, NULL)) != 0) {
		snprintf(why, whylen, "name lookup of %s: %s", host,
		    gai_strerror(rc));
		free(r);
		return -1;
	}
	rs->req = r;
	return 0;
}

int
resolve_poll(struct resolve *rs, uint64_t now_ms, const struct addrinfo **ai,
    char *why, size_t whylen)
{
	struct resolve_req	*r = rs->req;
	int			 rc;

	if (r == NULL) {
		snprintf(why, whylen, "name lookup: none started");
		return -1;
	}
	rc = r->numeric ? 0 : gai_error(&r->cb);
	if (rc == EAI_INPROGRESS) {
		if (now_ms < rs->deadline_ms)
			return 0;
		snprintf(why, whylen, "name lookup of %s timed out after %u ms",
		    r->names, rs->timeout_ms);
		return -1;
	}
	if (rc != 0 || r->cb.ar_result == NULL) {
		snprintf(why, whylen, "name lookup of %s: %s", r->names,
		    rc != 0 ? gai_strerror(rc) : "no address");
		return -1;
	}
	*ai = r->cb.ar_result;
	return 1;
}

void
resolve_clear(struct resolve *rs)
{
	struct resolve_req	*r = rs->req;
	size_t			 i;

	if (r == NULL)
		return;
	rs->req = NULL;
	if (r->numeric || gai_cancel(&r->cb) == EAI_CANCELED ||
	    gai_error(&r->cb) != EAI_INPROGRESS) {
		resolve_free(r);
		return;
	}
	(void)resolve_reap();
	for (i = 0; i < RESOLVE_ABANDONED_MAX; i++)
		if (abandoned[i] == NULL) {
			abandoned[i] = r;
			return;
		}
	/* glibc still writes into it: leaked, not freed under it (cannot
	 * happen while resolve_start refuses a lookup without a slot) */
}
