/*
 * The slate (issue #7): what a holding relay sends while no publisher is
 * live.  A picture (an image file scaled to the source's size, or black)
 * and sound (an audio file resampled and looped, or silence), made as
 * frames paced on the monotonic clock.  A track the destination gets as
 * the source's copy is encoded here (libx264 at the source's size,
 * profile, level and frame rate; FFmpeg's aac at its rate and channels);
 * a transcoded track's frames go to xcode.c's encoders instead.  Knows
 * nothing of IPC or sessions; never logs (warnings come back as text).
 */
#ifndef SLATE_H
#define SLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "worker/input.h"

#define SLATE_WHY_MAX	256

struct slate;

/* What to make: from the source's last sequence headers. */
struct slate_params {
	bool		 track[INPUT_NTRACKS];	/* made at all */
	bool		 encode[INPUT_NTRACKS];	/* packets, not frames */
	int		 width, height;
	AVRational	 fps;
	int		 profile, level;	/* H.264, from the AVC config */
	const uint8_t	*avcc;		/* the source's AVC config: its */
	size_t		 avcc_len;	/* parameter set ids are avoided */
	int		 sample_rate, channels;
};

enum slate_res {
	SLATE_NONE,		/* nothing due yet */
	SLATE_PACKET,		/* pkt: an encoded track's packet (ms) */
	SLATE_FRAME,		/* *frame: a raw frame (pts in ms), borrowed
				   until the next call */
};

/* image, audio: file paths, NULL or "" for black and silence. */
struct slate	*slate_new(const char *image, const char *audio);
void		 slate_free(struct slate *);
/*
 * Starts making frames now_ms on: video from v0_ms, audio from a0_ms
 * (timestamps in ms).  The files are decoded once per size and format;
 * one that cannot be used is replaced by black or silence and *warn says
 * why (else it is left empty).  0, or -1 with why filled when an encoder
 * cannot be opened.
 */
int		 slate_start(struct slate *, const struct slate_params *,
		    int64_t v0_ms, int64_t a0_ms, uint64_t now_ms,
		    char *warn, char *why);
void		 slate_stop(struct slate *);
bool		 slate_running(const struct slate *);
/* The next packet or frame due by now_ms, in time order.  Encoded video
 * keyframes and every encoded audio packet carry the encoder's
 * configuration as AV_PKT_DATA_NEW_EXTRADATA. */
enum slate_res	 slate_next(struct slate *, uint64_t now_ms, int *track,
		    AVPacket *pkt, AVFrame **frame);
/* Milliseconds until the next frame is due (0: now). */
unsigned	 slate_wait_ms(const struct slate *, uint64_t now_ms);
/* The next encoded picture is a keyframe (a new session opens). */
void		 slate_force_key(struct slate *);

#endif
