/*
 * Non-blocking name lookups over getaddrinfo_a: see resolve.h.
 */
#include <sys/socket.h>

#include <netdb.h>
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
    const char **why)
{
	struct resolve_req	*r;
	size_t			 hl = strlen(host), pl = strlen(port);
	struct addrinfo		*ai;
	int			 rc;

	resolve_clear(rs);
	if (!resolve_reap()) {
		*why = "earlier name lookups still hang";
		return -1;
	}
	if ((r = calloc(1, sizeof(*r) + hl + pl + 2)) == NULL) {
		*why = "out of memory";
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
		*why = gai_strerror(rc);
		free(r);
		return -1;
	}
	rs->req = r;
	return 0;
}

int
resolve_poll(struct resolve *rs, const struct addrinfo **ai,
    const char **why)
{
	struct resolve_req	*r = rs->req;
	int			 rc;

	if (r == NULL) {
		*why = "no lookup";
		return -1;
	}
	rc = r->numeric ? 0 : gai_error(&r->cb);
	if (rc == EAI_INPROGRESS)
		return 0;
	if (rc != 0 || r->cb.ar_result == NULL) {
		*why = rc != 0 ? gai_strerror(rc) : "no address";
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
