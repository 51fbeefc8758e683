/*
 * The supervisor's root object: the loaded config, the database, the key
 * table, the RTMP listener, the control socket, and every live session
 * and stream.  One event loop; nothing here may block.
 */
#ifndef SERVER_H
#define SERVER_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stdint.h>

#include "supervisor/keys.h"
#include "supervisor/relay.h"

struct cfg;
struct db;
struct evbuffer;
struct event;
struct event_base;
struct evconnlistener;
struct control;
struct http;
struct session;
struct stream;

TAILQ_HEAD(session_list, session);
TAILQ_HEAD(stream_list, stream);

/* Publishes per stream name since the supervisor started (metrics). */
struct server_count {
	char		*name;
	uint64_t	 n;
};

struct server {
	struct event_base	*base;
	struct cfg		*cfg;		/* owned; swapped on reload */
	struct db		*db;
	struct keys		 keys;		/* from the db; never blocks */
	struct db_relay		*relays;	/* CLI relays, from the db */
	size_t			 nrelays;
	struct cfg_profile	*profiles;	/* CLI profiles, from the db */
	size_t			 nprofiles;
	struct evconnlistener	*listener;
	struct control		*control;
	struct http		*http;		/* NULL when http: is off */
	struct event		*tick_ev;
	struct event		*sig_ev[4];	/* TERM, INT, HUP, CHLD */
	struct event		*stop_ev;	/* stop waiting for workers */
	struct session_list	 sessions;	/* owned */
	struct stream_list	 streams;	/* owned */
	struct relay_list	 draining;	/* owned: after EOS, until exit */
	uint32_t		 next_relay;
	uint64_t		 next_conn;
	uint64_t		 refused_log_ms;	/* see ingest.c */
	unsigned		 refused_quiet;
	int64_t			 db_version;
	int			 pid_fd;	/* locked pid file */
	int			 ready_fd;	/* to `mirroring start`; -1 */
	uint64_t		 started_ms;
	uint64_t		 stats_ms;	/* last stream.stats lines */
	struct server_count	*publishes;
	size_t			 npublishes;
	bool			 stopping;
};

/* Runs the supervisor until SIGTERM/SIGINT or `mirroring stop`; returns
 * the process exit status.  cfg is owned by the server from here on.
 * ready_fd (-1 for none) hears daemon_ready() once it serves or failed
 * to. */
int		 server_run(struct cfg *cfg, int ready_fd);
/* Parses and validates the config file anew and applies the difference;
 * an invalid file changes nothing.  0, or -1 with err (file:line:col:
 * path: message).  SIGHUP and `mirroring reload` land here. */
int		 server_reload(struct server *, char *err, size_t errlen);
/* Starts a graceful stop: publishers closed, workers given EOS and
 * RELAY_GRACE_MS to close their destinations, then the loop ends. */
void		 server_stop(struct server *, const char *why);
/* Counts one publish of stream name (for /metrics). */
void		 server_count_publish(struct server *, const char *name);
struct stream	*server_stream_find(struct server *, const char *name);
/* Live streams (publishes) at the moment. */
size_t		 server_stream_count(const struct server *);
/* A profile a CLI relay may name: the YAML's or a preset, else one added
 * with `mirroring profile add`.  NULL for copy or an unknown name. */
const struct cfg_profile *server_profile_find(const struct server *,
		    const char *name);
/* Re-reads the key table and ends every publish whose key was removed,
 * disabled or changed.  Called on "keys-changed", and when the database
 * changed under us. */
void		 server_keys_changed(struct server *);
/* A draining relay is gone: the last one ends a graceful stop. */
void		 server_relay_gone(struct server *);
/* Appends `mirroring status` output (text or JSON) to out. */
void		 server_status(struct server *, struct evbuffer *out, bool json);

#endif
