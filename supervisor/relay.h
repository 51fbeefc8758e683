/*
 * One relay of a stream: its mirroring-worker process, the socket to it,
 * the byte budget of media queued for it, its latest STATUS, and its hold
 * (no publisher: the worker keeps the destination on the slate for the
 * grace period).  The stream owns its relays; when they end (EOS) they
 * move to the server's draining list until their workers have flushed
 * and exited.
 */
#ifndef RELAY_H
#define RELAY_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/ipc_msg.h"

struct bufferevent;
struct cfg_profile;
struct cfg_relay;
struct event;
struct evbuffer;
struct server;
struct source;
struct stream;
struct tag;

#define RELAY_BACKOFF_MIN_MS	500
#define RELAY_BACKOFF_MAX_MS	30000
#define RELAY_HEALTHY_MS	60000	/* up this long: backoff resets */
#define RELAY_SILENT_MS		5000	/* no STATUS this long: kill it */
#define RELAY_START_MS		15000	/* nor HELLO: a loaded machine
					   starting many workers */
#define RELAY_GRACE_MS		5000	/* after EOS/SIGTERM, then SIGKILL */
#define RELAY_STATS_MS		10000	/* relay.stats log interval */
#define RELAY_EX_CONFIG		78	/* worker: bad config, no restart */

TAILQ_HEAD(relay_list, relay);

struct relay {
	TAILQ_ENTRY(relay)	 entry;
	struct server		*srv;		/* borrowed: outlives us */
	struct stream		*st;		/* borrowed; NULL once draining */
	char			*stream_name;
	char			*name;
	char			*url;		/* secret: MASK() it */
	char			*profile;
	struct cfg_profile	*prof;		/* own copy; NULL: copy */
	uint32_t		 id;
	pid_t			 pid;		/* -1: no worker */
	struct bufferevent	*bev;		/* our end of the socketpair */
	struct event		*timer_ev;	/* restart backoff / kill grace */
	struct event		*hold_ev;	/* the grace of a hold */
	struct event		*batch_ev;	/* writes media batched */
	uint8_t			 on_loss;	/* enum ipc_on_loss */
	uint32_t		 grace_ms;
	char			*slate_image;	/* NULL: black */
	char			*slate_audio;	/* NULL: silence */
	bool			 holding;	/* SOURCE LOST sent: slate */
	uint64_t		 hold_until_ms;
	bool			 draining;	/* EOS sent: exit expected */
	bool			 dropping;	/* until the next keyframe */
	bool			 hello;		/* worker said HELLO */
	unsigned		 attempts;	/* workers spawned */
	uint32_t		 backoff_ms;
	uint64_t		 spawned_ms;
	uint64_t		 status_ms;	/* last STATUS (or spawn) */
	uint64_t		 stats_ms;	/* last relay.stats line */
	size_t			 budget_bytes;	/* media queued to the worker */
	uint64_t		 dropped;	/* tags the budget cost us */
	/* what earlier workers of this relay reported (metrics counters
	 * keep counting across restarts) */
	uint64_t		 prev_bytes_out;
	uint64_t		 prev_packets_out;
	uint64_t		 prev_dropped;
	uint32_t		 prev_reconnects;
	char			 session_id[33];	/* the publish's history row */
	int64_t			 started_s;	/* unix seconds */
	struct ipc_status	 status;	/* latest from the worker */
	char			 last_error[IPC_STATUS_ERR_MAX + 1];
};

/* A relay of st per cr, worker started at once.  NULL when out of memory
 * (logged). */
struct relay	*relay_new(struct stream *st, const struct cfg_relay *cr);
/* A relay spec's queue budget: its queue:, else relay_queue:. */
size_t		 relay_budget(const struct server *, const struct cfg_relay *);
/* A new budget for a live relay: its supervisor-side queue follows at once,
 * its worker's own queue from the next worker (no restart for it). */
void		 relay_set_budget(struct relay *, size_t budget_bytes);
/* A relay spec's on_publisher_loss as the worker knows it (enum
 * ipc_on_loss): a change of it needs a new worker (the slate is set up,
 * and the kind of worker chosen, at its start). */
uint8_t		 relay_loss(const struct cfg_relay *);
/* A live relay's grace follows the config (the supervisor decides when a
 * hold ends: no restart). */
void		 relay_set_loss(struct relay *, const struct cfg_relay *);
/* No publisher left: SOURCE LOST to the worker (and to each restarted
 * one), which keeps its destination on the slate; the grace timer then
 * calls stream_hold_expired. */
void		 relay_hold(struct relay *);
/* The relay follows src from here: SOURCE NEW, src's decoder configs and
 * GOP cache, then its live media.  Ends a hold. */
void		 relay_source_new(struct relay *, const struct source *src);
/* What is left of a hold, 0 when not holding. */
uint64_t	 relay_hold_left_ms(const struct relay *, uint64_t now_ms);
/* Queues one tag to the worker (by reference), within the budget. */
void		 relay_send(struct relay *, struct tag *);
/* The publish ended: EOS to the worker, then it flushes and exits.  The
 * relay moves to srv->draining and frees itself when the worker is gone. */
void		 relay_drain(struct relay *);
/* A child exited; true when it was one of ours (then handled). */
bool		 relay_reap(struct server *, pid_t, int wstatus);
/* The 1 s tick: watchdog and stats lines. */
void		 relay_tick(struct relay *, uint64_t now_ms);
void		 relay_status(const struct relay *, struct evbuffer *, bool json);
/* "starting", "connecting", "live", "backoff", "stopped", "stalled",
 * "holding" (a hold, the worker up), or "down" with no worker: the state
 * status and metrics show. */
const char	*relay_state(const struct relay *);
/* Shutdown: SIGKILL the worker and free at once. */
void		 relay_free(struct relay *);
/* The relay runs in mirroring-copy, the lean worker: a copy profile to
 * rtmp://, with the lean binary there.  The one place that decides. */
bool		 relay_use_copy_worker(const struct relay *);
/* The worker binary: $MIRRORING_WORKER, else mirroring-worker beside our
 * own executable, else ../worker/mirroring-worker (a build tree). */
const char	*relay_worker_path(void);

#endif
