/*
 * The RTMP listener; see ingest.h.  Accepting is all it does: the
 * session takes the connection from there.
 */
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "config/cfg.h"
#include "supervisor/ingest.h"
#include "supervisor/server.h"
#include "supervisor/session.h"

/* Why a new connection from host is refused, or NULL. */
static const char *
ingest_refusal(struct server *srv, const char *host)
{
	struct session	*s;
	size_t		 all = 0, same = 0;

	if (srv->stopping)
		return "stopping";
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (s->state == SESSION_CLOSED)
			continue;	/* freed on the next loop turn */
		all++;
		if (strcmp(s->host, host) == 0)
			same++;
	}
	if (all >= srv->cfg->limits.connections)
		return "too-many-connections";
	if (same >= srv->cfg->limits.connections_per_host)
		return "too-many-from-host";
	return NULL;
}

/* A flood of refused connections gets one line a second, with a count. */
static void
ingest_log_refused(struct server *srv, const char *host, const char *why)
{
	uint64_t	now = util_mono_ms();

	if (now - srv->refused_log_ms < INGEST_REFUSED_LOG_MS) {
		srv->refused_quiet++;
		return;
	}
	log_warnx("conn.refused", "host=%s reason=%s suppressed=%u "
	    "limit_total=%zu limit_host=%zu", host, why, srv->refused_quiet,
	    srv->cfg->limits.connections,
	    srv->cfg->limits.connections_per_host);
	srv->refused_log_ms = now;
	srv->refused_quiet = 0;
}

static void
ingest_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server	*srv = arg;
	const char	*why;
	char		 host[48];
	int		 one = 1;

	session_peer_host(sa, host, sizeof(host));
	if ((why = ingest_refusal(srv, host)) != NULL) {
		ingest_log_refused(srv, host, why);
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (session_new(srv, fd, sa, (socklen_t)salen) == NULL)
		log_warn("conn.refused", "reason=out-of-memory");
}

static void
ingest_on_error(struct evconnlistener *l, void *arg)
{
	/* EMFILE and friends: keep listening, the next accept may work */
	log_warn("ingest.accept_failed", "%s", "");
}

int
ingest_listen(struct server *srv, const char *host, unsigned port,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 svc[8];
	int		 r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(svc, sizeof(svc), "%u", port);
	if ((r = getaddrinfo(host, svc, &hints, &res)) != 0) {
		snprintf(err, errlen, "listen %s:%u: %s", host, port,
		    gai_strerror(r));
		return -1;
	}
	srv->listener = evconnlistener_new_bind(srv->base, ingest_on_accept,
	    srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC, 128, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (srv->listener == NULL) {
		snprintf(err, errlen, "listen %s:%u: %s", host, port,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, ingest_on_error);
	return 0;
}

void
ingest_close(struct server *srv)
{
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	srv->listener = NULL;
}
