/*
 * Timestamps of one destination session of mirroring-copy: the session
 * starts at 0 (at a video keyframe, or at the first audio before it when
 * the stream starts), A/V offsets kept, each track never going backwards;
 * a new source (SOURCE NEW) is joined at its first video keyframe, which
 * goes out one frame after the last video written, its audio at the same
 * offset.  Pure: RTMP's 32-bit millisecond clock, wrapping.
 */
#ifndef RETIME_H
#define RETIME_H

#include <stdbool.h>
#include <stdint.h>

enum retime_track {
	RETIME_VIDEO,
	RETIME_AUDIO,
	RETIME_NTRACKS,
};

#define RETIME_FRAME_MS	33	/* one frame when no interval is known */

enum retime_res {
	RETIME_DROP,		/* not in this session (before its start) */
	RETIME_SEND,		/* send at *out_ts */
	RETIME_JOINED,		/* a new source starts here: its sequence
				   headers first, then this at *out_ts */
};

struct retime {
	bool		 started;	/* base is set */
	uint32_t	 base;		/* source ts of session ts 0 */
	bool		 need_key;	/* video waits for a keyframe */
	bool		 gate_audio;	/* and audio with it */
	bool		 switching;	/* a new source: wait for its key */
	bool		 has_video;
	bool		 have[RETIME_NTRACKS];
	uint32_t	 last[RETIME_NTRACKS];	/* last ts sent */
	uint32_t	 frame_ms;	/* last video interval */
};

/* A new destination session; resuming: it does not see the stream from
 * its start, so audio waits for the keyframe too. */
void		 retime_start(struct retime *, bool has_video, bool resuming);
/* The media that follows is on a new source's clock. */
void		 retime_switch(struct retime *);
enum retime_res	 retime_media(struct retime *, enum retime_track,
		    bool keyframe, uint32_t ts_ms, uint32_t *out_ts);
/* Where the session's clock is (for in-band headers): the last video ts
 * sent, else the last audio, else 0. */
uint32_t	 retime_now(const struct retime *);

#endif
