/*
 * Source switches on the destination's clock (see splice.h).  The first
 * source maps with offset 0, so a relay that never switches writes the
 * source's times as before.  At a switch the new source's keyframe is
 * placed one frame after the last video the destination got; its audio
 * takes the same offset, so the source's own A/V alignment is kept, and
 * what of it would land before that keyframe or behind the last audio
 * written is dropped.
 */
#include <math.h>
#include <string.h>

#include "worker/splice.h"

#define SPLICE_FPS_DEFAULT	30

void
splice_init(struct splice *sp)
{
	int	t;

	memset(sp, 0, sizeof(*sp));
	for (t = 0; t < INPUT_NTRACKS; t++)
		sp->last_out[t] = sp->last_pts[t] = INT64_MIN;
}

void
splice_new_source(struct splice *sp)
{
	sp->waiting = true;
	sp->nv = 0;		/* the frame rate is the new source's */
}

static void
splice_note_video(struct splice *sp, int64_t dts)
{
	if (sp->nv == SPLICE_NFPS) {
		memmove(sp->vdts, sp->vdts + 1, sizeof(sp->vdts[0]) *
		    (SPLICE_NFPS - 1));
		sp->nv--;
	}
	sp->vdts[sp->nv++] = dts;
}

AVRational
splice_fps(const struct splice *sp)
{
	double	fps, r;
	int64_t	span;

	if (sp->nv < 2 || (span = sp->vdts[sp->nv - 1] - sp->vdts[0]) <= 0)
		return (AVRational){ SPLICE_FPS_DEFAULT, 1 };
	fps = (double)(sp->nv - 1) * 1000 / (double)span;
	if (fps < 1 || fps > 120)
		return (AVRational){ SPLICE_FPS_DEFAULT, 1 };
	/* ms timestamps jitter: a rate within 3% of a whole one is that */
	r = round(fps);
	if (fabs(fps - r) < 0.03 * r)
		return (AVRational){ (int)r, 1 };
	return (AVRational){ (int)lrint(fps * 1000), 1000 };
}

int64_t
splice_next_ms(const struct splice *sp, int t, int64_t dur_ms)
{
	int64_t	v = sp->last_pts[INPUT_VIDEO], a = sp->last_pts[INPUT_AUDIO];

	if (sp->last_out[t] != INT64_MIN)
		return sp->last_out[t] + dur_ms;
	/* after the other track, or 0 when nothing went out yet */
	if (v == INT64_MIN && a == INT64_MIN)
		return 0;
	return (v > a ? v : a) + dur_ms;
}

int64_t
splice_cts_ms(const struct splice *sp, int t)
{
	if (sp->last_out[t] == INT64_MIN ||
	    sp->last_pts[t] <= sp->last_out[t])
		return 0;
	return sp->last_pts[t] - sp->last_out[t];
}

void
splice_wrote(struct splice *sp, int t, int64_t dts_ms, int64_t pts_ms)
{
	if (sp->last_out[t] == INT64_MIN || dts_ms > sp->last_out[t])
		sp->last_out[t] = dts_ms;
	if (pts_ms < dts_ms)
		pts_ms = dts_ms;
	if (sp->last_pts[t] == INT64_MIN || pts_ms > sp->last_pts[t])
		sp->last_pts[t] = pts_ms;
}

/* The offset that puts the keyframe one frame after what went out last
 * on its track, in decoding and in display order (B-frames). */
static void
splice_place(struct splice *sp, int t, const AVPacket *key)
{
	AVRational	fps = splice_fps(sp);
	int64_t		dur = t == INPUT_VIDEO ?
			    (int64_t)lrint(1000.0 * fps.den / fps.num) : 23;
	int64_t		by_pts;

	if (sp->last_pts[t] == INT64_MIN && sp->last_pts[!t] == INT64_MIN) {
		sp->off_ms = 0;		/* nothing went out: nothing to follow */
		return;
	}
	sp->off_ms = splice_next_ms(sp, t, dur) - key->dts;
	if (sp->last_pts[t] != INT64_MIN && key->pts != AV_NOPTS_VALUE &&
	    (by_pts = sp->last_pts[t] + dur - key->pts) > sp->off_ms)
		sp->off_ms = by_pts;
}

enum splice_res
splice_source(struct splice *sp, AVPacket *pkt, bool mapped, bool has_video)
{
	int		 t = pkt->stream_index;
	bool		 key = t == INPUT_VIDEO ?
			    (pkt->flags & AV_PKT_FLAG_KEY) != 0 : !has_video;
	enum splice_res	 res = SPLICE_PASS;
	int64_t		 dts;

	if (sp->waiting) {
		if (!key)
			return SPLICE_DROP;
		sp->waiting = false;
		sp->fresh[INPUT_VIDEO] = sp->fresh[INPUT_AUDIO] = true;
		sp->key_in = pkt->dts;
		/* an encoded video track: the offset is the copied audio's,
		 * placed after the last audio written */
		splice_place(sp, t, pkt);
		res = SPLICE_SWITCH;
	} else if (sp->fresh[t] && pkt->dts < sp->key_in)
		return SPLICE_DROP;	/* audio from before the keyframe */
	dts = pkt->dts + (mapped ? sp->off_ms : 0);
	/* right after a switch only: later steps back are the source's */
	if (mapped && res != SPLICE_SWITCH && sp->fresh[t] &&
	    sp->last_out[t] != INT64_MIN && dts <= sp->last_out[t])
		return SPLICE_DROP;	/* behind what went out (the slate's) */
	sp->fresh[t] = false;
	if (t == INPUT_VIDEO)
		splice_note_video(sp, pkt->dts);
	if (!mapped)
		return res;
	pkt->dts = dts;
	if (pkt->pts != AV_NOPTS_VALUE)
		pkt->pts += sp->off_ms;
	splice_wrote(sp, t, dts, pkt->pts != AV_NOPTS_VALUE ? pkt->pts : dts);
	return res;
}
