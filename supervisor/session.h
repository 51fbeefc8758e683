/*
 * One RTMP connection: handshake, chunk stream, the NetConnection and
 * NetStream commands of a publisher, and the key check (a stream's key or
 * its backup key).  Media of an accepted publish goes to its stream; the
 * session owns nothing of it.
 */
#ifndef SESSION_H
#define SESSION_H

#include <sys/socket.h>
#include <sys/queue.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/rtmp_chunk.h"
#include "common/rtmp_hs.h"

struct bufferevent;
struct event;
struct server;
struct source;

#define SESSION_STALE_MS	3000	/* a silent publisher a new one replaces */
#define SESSION_MAX_OUT		(256u * 1024)	/* unread replies: close */
#define SESSION_LINGER_MS	2000	/* flush an error reply, then close */
#define SESSION_WINDOW		5000000	/* our Window Ack Size / peer BW */
#define SESSION_CHUNK_SIZE	4096	/* what we send with */

enum session_state {
	SESSION_HANDSHAKE,
	SESSION_CHUNKS,
	SESSION_DRAINING,		/* error reply queued; then close */
	SESSION_CLOSED,			/* freed on the next loop pass */
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	struct server		*srv;		/* borrowed: outlives us */
	uint64_t		 id;
	char			 addr[64];	/* "ip:port" / "[ip6]:port" */
	char			 host[48];	/* the ip alone */
	struct bufferevent	*bev;
	struct event		*timer_ev;	/* handshake, linger, free */
	enum session_state	 state;
	struct rtmp_hs		 hs;
	struct rtmp_chunk	 chunks;
	uint32_t		 out_chunk_size;
	uint64_t		 bytes_in;
	uint64_t		 acked;		/* bytes_in at our last ack */
	uint32_t		 peer_window;	/* 0 = the peer wants no acks */
	bool			 connected;	/* connect accepted */
	uint32_t		 next_stream_id;
	struct source		*source;	/* while publishing; its
						   stream owns it */
	const char		*drain_reason;
	uint64_t		 last_read_ms;	/* monotonic */
	char			 why[128];	/* a close reason we own */
};

/* Takes ownership of fd.  NULL (fd closed) when out of memory. */
struct session	*session_new(struct server *, int fd, const struct sockaddr *,
		    socklen_t);
/* Ends the connection: ends its publish, logs conn.closed once with
 * reason (at warn when protocol_error), frees it on the next loop pass.
 * Safe to call from the session's own callbacks, and more than once. */
void		 session_close(struct session *, const char *reason,
		    bool protocol_error);
/* The numeric host of sa, for per-host limits. */
void		 session_peer_host(const struct sockaddr *, char *, size_t);
/* Frees a closed session at once (server shutdown). */
void		 session_free(struct session *);

#endif
