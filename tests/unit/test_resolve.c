/*
 * worker/resolve.c: an address is answered at once, without a lookup; a
 * name from /etc/hosts ("localhost") is answered by polling; a second
 * start forgets the first; lookups cleared right after their start leave
 * room for more.  A resolver that never answers (the deadline, and the
 * lookups kept until glibc is done with them) needs a DNS server of its
 * own: relay_dns.py, in namespaces of its own.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <netdb.h>
#include <time.h>

#include "worker/resolve.h"
#include "tap.h"

/* Polls up to 5 s: the poll's last result. */
static int
poll_done(struct resolve *rs, const struct addrinfo **ai)
{
	struct timespec	ts = { 0, 5 * 1000 * 1000 };
	char		why[256];
	int		i, rc = 0;

	for (i = 0; i < 1000 && (rc = resolve_poll(rs, 0, ai, why,
	    sizeof(why))) == 0; i++)
		nanosleep(&ts, NULL);
	return rc;
}

static int
port_of(const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)
		    ai->ai_addr)->sin_port);
	if (ai->ai_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)
		    ai->ai_addr)->sin6_port);
	return -1;
}

int
main(void)
{
	struct resolve		 rs = { 0 };
	const struct addrinfo	*ai = NULL;
	char			 why[256];

	is_int(resolve_poll(&rs, 0, &ai, why, sizeof(why)), -1,
	    "nothing started: -1");
	is_int(resolve_start(&rs, "127.0.0.1", "1935", 5000, 0, why,
	    sizeof(why)), 0,
	    "start 127.0.0.1");
	is_int(resolve_poll(&rs, 0, &ai, why, sizeof(why)), 1,
	    "an address: answered at once");
	ok(ai != NULL && ai->ai_family == AF_INET && port_of(ai) == 1935,
	    "127.0.0.1 port 1935, TCP");
	ok(ai != NULL && ai->ai_socktype == SOCK_STREAM, "a stream socket");
	is_int(resolve_start(&rs, "::1", "443", 5000, 0, why,
	    sizeof(why)), 0, "start ::1");
	is_int(resolve_poll(&rs, 0, &ai, why, sizeof(why)), 1,
	    "IPv6 answered at once");
	ok(ai != NULL && ai->ai_family == AF_INET6 && port_of(ai) == 443,
	    "::1 port 443");
	is_int(resolve_start(&rs, "localhost", "1935", 5000, 0, why,
	    sizeof(why)), 0,
	    "start localhost");
	is_int(poll_done(&rs, &ai), 1, "localhost answered");
	ok(ai != NULL && port_of(ai) == 1935, "localhost port 1935");
	resolve_clear(&rs);
	is_int(resolve_poll(&rs, 0, &ai, why, sizeof(why)), -1,
	    "cleared: nothing to poll");
	/* started and cleared at once, many times over: a lookup that ends
	 * soon never uses up the room kept for ones that hang */
	for (int i = 0; i < 3 * RESOLVE_ABANDONED_MAX; i++) {
		struct timespec	ts = { 0, 20 * 1000 * 1000 };

		if (resolve_start(&rs, "localhost", "80", 5000, 0, why,
	    sizeof(why)) != 0) {
			ok(0, "start %d: %s", i, why);
			break;
		}
		resolve_clear(&rs);
		nanosleep(&ts, NULL);	/* a lookup of /etc/hosts ends */
	}
	is_int(resolve_start(&rs, "localhost", "80", 5000, 0, why,
	    sizeof(why)), 0,
	    "a start after many cleared ones");
	is_int(poll_done(&rs, &ai), 1, "and it is answered");
	resolve_clear(&rs);
	return tap_done();
}
