/*
 * A refcounted, immutable FLV tag (audio, video or script data).  The
 * stream's GOP cache and every relay's output hold references; nobody
 * copies media.  Not thread-safe: the supervisor has one thread.
 */
#ifndef TAG_H
#define TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tag_kind {
	TAG_AUDIO = 8,		/* FLV tag types */
	TAG_VIDEO = 9,
	TAG_SCRIPT = 18,
};

#define TAG_F_KEYFRAME	0x01	/* a video frame a decoder can start from */
#define TAG_F_SEQHDR	0x02	/* AVC/HEVC/AAC decoder configuration */

struct tag {
	unsigned	 refs;
	uint8_t		 type;		/* enum tag_kind */
	uint8_t		 flags;		/* TAG_F_* */
	uint32_t	 ts_ms;
	uint32_t	 len;
	uint8_t		 data[];
};

/* Copies len bytes; returns NULL when out of memory. refs = 1. */
struct tag	*tag_new(uint8_t type, uint8_t flags, uint32_t ts_ms,
		    const uint8_t *data, uint32_t len);
struct tag	*tag_ref(struct tag *);
void		 tag_unref(struct tag *);
/* evbuffer_add_reference cleanup: unrefs the tag passed as extra. */
void		 tag_unref_cb(const void *data, size_t len, void *extra);

#endif
