/*
 * Session timestamps of mirroring-copy (see retime.h).
 */
#include <string.h>

#include "worker/retime.h"

void
retime_start(struct retime *rt, bool has_video, bool resuming)
{
	memset(rt, 0, sizeof(*rt));
	rt->has_video = has_video;
	rt->need_key = has_video;
	rt->gate_audio = resuming && has_video;
}

void
retime_switch(struct retime *rt)
{
	/* before anything was sent the session has no clock to continue */
	if (rt->started)
		rt->switching = true;
}

uint32_t
retime_now(const struct retime *rt)
{
	if (rt->have[RETIME_VIDEO])
		return rt->last[RETIME_VIDEO];
	return rt->have[RETIME_AUDIO] ? rt->last[RETIME_AUDIO] : 0;
}

/* Joins a new source at ts: it goes out one frame after the last video
 * (or just after the last audio without video). */
static void
retime_join(struct retime *rt, uint32_t ts)
{
	uint32_t	next;

	if (rt->have[RETIME_VIDEO])
		next = rt->last[RETIME_VIDEO] + (rt->frame_ms != 0 ?
		    rt->frame_ms : RETIME_FRAME_MS);
	else
		next = retime_now(rt) + 1;
	rt->base = ts - next;
	rt->switching = false;
}

enum retime_res
retime_media(struct retime *rt, enum retime_track t, bool keyframe,
    uint32_t ts, uint32_t *out_ts)
{
	enum retime_res	 res = RETIME_SEND;
	uint32_t	 out;
	int32_t		 d;

	if (rt->switching) {
		if (rt->has_video ? t != RETIME_VIDEO || !keyframe : false)
			return RETIME_DROP;
		retime_join(rt, ts);
		res = RETIME_JOINED;
	} else if (rt->need_key) {
		/* from the start, encoders often send audio at 0 before the
		 * first frame, and it is kept */
		if (t == RETIME_VIDEO && keyframe)
			rt->need_key = false;
		else if (t == RETIME_VIDEO || rt->gate_audio)
			return RETIME_DROP;
	}
	if (!rt->started) {
		rt->base = ts;
		rt->started = true;
	}
	if ((d = (int32_t)(ts - rt->base)) < 0 && res != RETIME_JOINED &&
	    !rt->have[t])
		return RETIME_DROP;	/* older than the session's start */
	out = (uint32_t)d;
	if (rt->have[t] && (int32_t)(out - rt->last[t]) < 0)
		out = rt->last[t];	/* never backwards */
	if (t == RETIME_VIDEO && rt->have[t] && out != rt->last[t] &&
	    out - rt->last[t] <= 1000)
		rt->frame_ms = out - rt->last[t];
	rt->have[t] = true;
	rt->last[t] = out;
	*out_ts = out;
	return res;
}
