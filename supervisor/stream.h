/*
 * One stream (by name) while it has a publisher or a relay holding for
 * one: its primary and backup sources (source.h), which of them relays
 * follow, and its relays.  A stream with no publisher left lives on while
 * some relay holds its destination on the slate (on_publisher_loss:
 * hold), until a publisher returns or the grace period ends.  Sessions
 * feed it; the server owns it.
 */
#ifndef STREAM_H
#define STREAM_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisor/relay.h"
#include "supervisor/source.h"

struct evbuffer;
struct server;
struct session;
struct tag;

#define STREAM_MAX_RELAYS	64	/* relays of one stream */

struct stream {
	TAILQ_ENTRY(stream)	 entry;
	struct server		*srv;		/* borrowed: outlives us */
	char			*name;
	uint64_t		 started_ms;
	struct source		*src[SOURCE_N];	/* owned; NULL: not live */
	int			 active;	/* enum source_role; -1: none */
	bool			 pending;	/* back to the primary at its
						   first keyframe */
	bool			 ending;	/* no hold, no switch: closing */
	struct tag		*held_vseq;	/* the last active source's */
	struct tag		*held_aseq;	/* decoder configs: a held
						   relay's new worker needs
						   them for its slate */
	uint64_t		 bytes_in;	/* of all its sources */
	uint64_t		 lost_ms;	/* when the last publisher left */
	struct relay_list	 relays;	/* owned: one per enabled relay */
};

/*
 * A publish of stream name starts, as its primary or backup: the stream
 * is created (its relays started) or, when it exists (held, or the other
 * publisher live), the new source joins it.  NULL when out of memory.
 */
struct source	*stream_attach(struct server *, const char *name,
		    enum source_role, const char *key, struct session *,
		    uint64_t conn, const char *client);
/*
 * A publish ended (the session must drop its pointer): relays switch to
 * the other source if it is live, else hold or end; the stream may be
 * freed.
 */
void		 stream_detach(struct source *, const char *reason);
/* Ends everything at once (key removed or disabled, shutdown): closes
 * the publishers' sessions, EOS to every relay, frees the stream. */
void		 stream_close(struct stream *, const char *reason);
/* Takes one audio or video message (copied) of src.  -1 with *why only
 * when out of memory; malformed tags are counted and dropped. */
int		 stream_on_media(struct source *, uint8_t type, uint32_t ts_ms,
		    const uint8_t *, size_t, const char **why);
/* body: an FLV script tag body ("onMetaData", then the values). */
int		 stream_on_metadata(struct source *, uint32_t ts_ms,
		    const uint8_t *, size_t, const char **why);
/* The source relays follow, NULL when none is live. */
struct source	*stream_active(const struct stream *);
/* A held relay's grace ran out (relay.c): EOS to it; the stream ends
 * with its last relay when no publisher is back. */
void		 stream_hold_expired(struct stream *, struct relay *);
void		 stream_tick(struct stream *, uint64_t now_ms);
/* The active source's ingest kbit/s and video fps (0 without one). */
void		 stream_rates(const struct stream *, double *kbps, double *fps);
/* Makes the stream's workers match the YAML and CLI relays: stops those
 * removed, disabled or changed, starts new and changed ones; unchanged
 * ones keep streaming.  At publish start it starts them all; without a
 * publisher it starts none.  The stream may be freed (held, and its last
 * relay was removed). */
void		 stream_relays_apply(struct stream *);
void		 stream_status(const struct stream *, struct evbuffer *,
		    bool json, uint64_t now_ms);

#endif
