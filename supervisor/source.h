/*
 * One publisher of a stream, its primary or its backup: the codecs, its
 * sequence headers and metadata, a GOP cache from the last keyframe (what
 * a relay switching to it or starting mid-stream begins with), and the
 * counters `status` and the logs show.  Its session feeds it; its stream
 * owns it and decides where its media goes (stream.c).
 */
#ifndef SOURCE_H
#define SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flv.h"

struct session;
struct stream;
struct tag;

#define SOURCE_GOP_MAX_BYTES	(32u * 1024 * 1024)
#define SOURCE_GOP_MAX_TAGS	8192
#define SOURCE_RATE_TICKS	5	/* kbit/s and fps over this many s */

enum source_role {
	SOURCE_PRIMARY,			/* the stream's key */
	SOURCE_BACKUP,			/* its backup_key */
	SOURCE_N
};

struct source {
	struct stream		*st;		/* borrowed: owns us */
	struct session		*session;	/* borrowed: the publisher */
	enum source_role	 role;
	uint64_t		 conn;		/* the session's id, for logs */
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

	uint64_t		 rate_ms[SOURCE_RATE_TICKS];
	uint64_t		 rate_bytes[SOURCE_RATE_TICKS];
	uint64_t		 rate_frames[SOURCE_RATE_TICKS];
	uint32_t		 rate_vts[SOURCE_RATE_TICKS];	/* video ts_ms */
	uint32_t		 video_ts;	/* of the last coded frame */
	uint32_t		 first_video_ts;
	unsigned		 rate_i;
};

/* "primary" or "backup". */
const char	*source_label(enum source_role);
/* A publish of st starts: logs publish.started, opens its history row.
 * NULL when out of memory. */
struct source	*source_new(struct stream *st, enum source_role,
		    const char *key, struct session *, uint64_t conn,
		    const char *client);
/* The publish ended: logs publish.stopped with the counters, closes the
 * history row, frees.  The stream must drop its pointer. */
void		 source_end(struct source *, const char *reason);
/* One audio or video message (copied) into the caches: 0 with *out the
 * new tag (the caller's reference) or NULL when it was dropped; -1 with
 * *why only when out of memory. */
int		 source_on_media(struct source *, uint8_t type, uint32_t ts_ms,
		    const uint8_t *, size_t, struct tag **out,
		    const char **why);
/* body: an FLV script tag body ("onMetaData", then the values). */
int		 source_on_metadata(struct source *, uint32_t ts_ms,
		    const uint8_t *, size_t, const char **why);
void		 source_tick(struct source *, uint64_t now_ms);
/* Ingest kbit/s and video fps over the last SOURCE_RATE_TICKS ticks. */
void		 source_rates(const struct source *, double *kbps,
		    double *fps);

#endif
