/*
 * Turns MEDIA messages (FLV tag bodies) into AVPackets without a demuxer,
 * and keeps the latest decoder configuration of each track as
 * AVCodecParameters.  Supports H.264 (AVC) and AAC; other codecs are
 * reported once and dropped.
 */
#ifndef INPUT_H
#define INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "common/ipc_msg.h"

enum input_track {
	INPUT_VIDEO,
	INPUT_AUDIO,
	INPUT_NTRACKS,
};

struct input {
	AVCodecParameters	*par[INPUT_NTRACKS];	/* NULL until known */
	unsigned		 gen[INPUT_NTRACKS];	/* bumps on a change */
	uint64_t		 first_ms;		/* first MEDIA, 0 none */
	bool			 warned[INPUT_NTRACKS];
};

enum input_res {
	INPUT_NONE,		/* consumed: configuration or metadata */
	INPUT_PACKET,		/* *pkt filled, stream_index = track */
	INPUT_SKIP,		/* unsupported or malformed: count a drop */
};

void		 input_init(struct input *);
void		 input_clear(struct input *);
/* pkt gets its own copy of the data; dts/pts in ms of the tag clock.
 * *why is set on INPUT_SKIP.  Never blocks. */
enum input_res	 input_feed(struct input *, const struct ipc_media *,
		    uint64_t now_ms, AVPacket *pkt, const char **why);
/* Both tracks configured, or one and the other missing for wait_ms. */
bool		 input_ready(const struct input *, uint64_t now_ms,
		    uint64_t wait_ms);

#endif
