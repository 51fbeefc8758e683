/*
 * Timestamp splicing for source switches (issue #7): the destination's
 * clock stays continuous and monotonic when the slate starts, and when
 * another source (a returning publisher, a backup) takes over on its own
 * clock.  Pure: packets in ms, stream_index = track; no I/O, no libav
 * calls beyond reading AVPacket fields.
 */
#ifndef SPLICE_H
#define SPLICE_H

#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/packet.h>
#include <libavutil/rational.h>

#include "worker/input.h"

#define SPLICE_NFPS	16	/* video times kept for the frame rate */

struct splice {
	int64_t		 off_ms;	/* out = source + off (mapped tracks) */
	int64_t		 last_out[INPUT_NTRACKS];	/* dts; INT64_MIN: none */
	int64_t		 last_pts[INPUT_NTRACKS];	/* the latest shown */
	int64_t		 key_in;	/* the new source's first keyframe */
	bool		 waiting;	/* for the new source's keyframe */
	bool		 fresh[INPUT_NTRACKS];	/* no packet since the switch */
	int64_t		 vdts[SPLICE_NFPS];	/* recent source video dts */
	unsigned	 nv;
};

enum splice_res {
	SPLICE_DROP,		/* not for the destination */
	SPLICE_PASS,		/* timestamps mapped: write it */
	SPLICE_SWITCH,		/* the new source's keyframe: switch now */
};

void		 splice_init(struct splice *);
/* The next source is another one: hold it back until its first
 * keyframe (the first audio packet without video). */
void		 splice_new_source(struct splice *);
/*
 * A packet of the source.  mapped: its track goes to the destination as
 * is (copy), so its timestamps move onto the destination's clock; else
 * (an encoded track) only the gate applies.  has_video: the source has a
 * video track to switch on.
 */
enum splice_res	 splice_source(struct splice *, AVPacket *, bool mapped,
		    bool has_video);
/* A slate packet of track t went out (destination clock). */
void		 splice_wrote(struct splice *, int t, int64_t dts_ms,
		    int64_t pts_ms);
/* Where a slate of frames of dur_ms on track t starts (dts). */
int64_t		 splice_next_ms(const struct splice *, int t, int64_t dur_ms);
/* How far the last picture shown runs past the last dts (a source's
 * B-frame delay): the slate's pts keep that offset, so they follow the
 * source's in display order too. */
int64_t		 splice_cts_ms(const struct splice *, int t);
/* The source's frame rate from its recent video times (30 without). */
AVRational	 splice_fps(const struct splice *);

#endif
