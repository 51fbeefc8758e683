/*
 * One live publish: the stream's codecs, its sequence headers and
 * metadata, a GOP cache from the last keyframe (what a relay starting
 * mid-stream begins with), and the counters `status` and the logs show.
 * The session that publishes feeds it; the server owns it.
 */
#ifndef STREAM_H
#define STREAM_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flv.h"
#include "supervisor/relay.h"

struct evbuffer;
struct server;
struct session;
struct tag;

#define STREAM_GOP_MAX_BYTES	(32u * 1024 * 1024)
#define STREAM_GOP_MAX_TAGS	8192
#define STREAM_RATE_TICKS	5	/* kbit/s and fps over this many s */
#define STREAM_MAX_RELAYS	64	/* relays of one stream */

struct stream {
	TAILQ_ENTRY(stream)	 entry;
	struct server		*srv;		/* borrowed: outlives us */
	struct session		*session;	/* borrowed: the publisher */
	uint64_t		 conn;		/* the session's id, for logs */
	char			*name;
	char			*key;		/* to notice a key change */
	char			 client[64];
	char			 id[33];	/* history row id */
	uint64_t		 started_ms;

	struct tag		*video_seq;	/* latest decoder configs */
	struct tag		*audio_seq;
	struct tag		*meta;		/* onMetaData script tag */
	struct tag		**gop;		/* from the last keyframe */
	size_t			 ngop;
	size_t			 gop_bytes;
	bool			 gop_valid;	/* false until a keyframe */

	enum flv_vcodec		 vcodec;
	enum flv_acodec		 acodec;
	struct flv_video_format	 vfmt;
	struct flv_audio_format	 afmt;
	bool			 codecs_logged;

	uint64_t		 video_frames, video_bytes;
	uint64_t		 audio_frames, audio_bytes;
	uint64_t		 bytes_in;	/* media + metadata bodies */
	uint64_t		 bad_tags;	/* unparseable, dropped */

	uint64_t		 rate_ms[STREAM_RATE_TICKS];
	uint64_t		 rate_bytes[STREAM_RATE_TICKS];
	uint64_t		 rate_frames[STREAM_RATE_TICKS];
	uint32_t		 rate_vts[STREAM_RATE_TICKS];	/* video ts_ms */
	uint32_t		 video_ts;	/* of the last coded frame */
	uint32_t		 first_video_ts;
	unsigned		 rate_i;

	struct relay_list	 relays;	/* owned: one per enabled relay */
};

/* A new live stream published by session; linked into srv->streams. */
struct stream	*stream_new(struct server *, const char *name,
		    const char *key, struct session *, uint64_t conn,
		    const char *client);
/* Logs publish.stopped with the counters, records the history row,
 * unlinks and frees.  The session must drop its pointer. */
void		 stream_end(struct stream *, const char *reason);
/* Takes one audio or video message (copied).  -1 with *why only when
 * out of memory; malformed tags are counted and dropped. */
int		 stream_on_media(struct stream *, uint8_t type, uint32_t ts_ms,
		    const uint8_t *, size_t, const char **why);
/* body: an FLV script tag body ("onMetaData", then the values). */
int		 stream_on_metadata(struct stream *, uint32_t ts_ms,
		    const uint8_t *, size_t, const char **why);
void		 stream_tick(struct stream *, uint64_t now_ms);
/* Ingest kbit/s and video fps over the last STREAM_RATE_TICKS ticks. */
void		 stream_rates(const struct stream *, double *kbps, double *fps);
/* Makes the stream's workers match the YAML and CLI relays: stops those
 * removed, disabled or changed, starts new and changed ones; unchanged
 * ones keep streaming.  At publish start it starts them all. */
void		 stream_relays_apply(struct stream *);
void		 stream_status(const struct stream *, struct evbuffer *,
		    bool json, uint64_t now_ms);

#endif
