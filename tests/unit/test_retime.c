/*
 * mirroring-copy's session timestamps (worker/retime.c): a session starts
 * at 0 on a keyframe, keeps audio before it from the start but not when
 * resuming, never goes backwards, and joins a new source one frame after
 * the last video, its audio at the same offset, across a 32-bit wrap.
 */
#include <stdint.h>

#include "worker/retime.h"
#include "tap.h"

static uint32_t
out(struct retime *rt, enum retime_track t, int key, uint32_t ts, int want)
{
	uint32_t	o = 0xdeadbeef;
	int		r = retime_media(rt, t, key != 0, ts, &o);

	is_int(r, want, "%s ts %u: result", t == RETIME_VIDEO ? "video" :
	    "audio", ts);
	return o;
}

static void
case_start(void)
{
	struct retime	rt;

	retime_start(&rt, true, false);
	out(&rt, RETIME_VIDEO, 0, 900, RETIME_DROP);
	is_int(out(&rt, RETIME_AUDIO, 0, 990, RETIME_SEND), 0,
	    "audio before the first keyframe is kept from the start, at 0");
	is_int(out(&rt, RETIME_VIDEO, 1, 1000, RETIME_SEND), 10,
	    "the keyframe keeps its offset to the audio");
	is_int(out(&rt, RETIME_VIDEO, 0, 1033, RETIME_SEND), 43, "next frame");
	is_int(out(&rt, RETIME_VIDEO, 0, 1020, RETIME_SEND), 43,
	    "never backwards");
	is_int(out(&rt, RETIME_AUDIO, 0, 1013, RETIME_SEND), 23, "audio");
}

static void
case_resume(void)
{
	struct retime	rt;

	retime_start(&rt, true, true);
	out(&rt, RETIME_AUDIO, 0, 5000, RETIME_DROP);
	out(&rt, RETIME_VIDEO, 0, 5010, RETIME_DROP);
	is_int(out(&rt, RETIME_VIDEO, 1, 5033, RETIME_SEND), 0,
	    "a resumed session starts at its keyframe");
	out(&rt, RETIME_AUDIO, 0, 5020, RETIME_DROP);
	is_int(out(&rt, RETIME_AUDIO, 0, 5040, RETIME_SEND), 7,
	    "audio after it keeps its offset");
}

static void
case_switch(void)
{
	struct retime	rt;

	retime_start(&rt, true, false);
	out(&rt, RETIME_VIDEO, 1, 100, RETIME_SEND);
	out(&rt, RETIME_VIDEO, 0, 140, RETIME_SEND);
	is_int(out(&rt, RETIME_VIDEO, 0, 180, RETIME_SEND), 80, "old source");
	out(&rt, RETIME_AUDIO, 0, 170, RETIME_SEND);
	retime_switch(&rt);
	out(&rt, RETIME_AUDIO, 0, 0xfffffff0u, RETIME_DROP);
	out(&rt, RETIME_VIDEO, 0, 0xfffffff8u, RETIME_DROP);
	is_int(out(&rt, RETIME_VIDEO, 1, 0xfffffffcu, RETIME_JOINED), 120,
	    "the new source joins one frame (40 ms) after the last video");
	is_int(out(&rt, RETIME_VIDEO, 0, 0x00000024u, RETIME_SEND), 160,
	    "its clock wraps: 40 ms later");
	is_int(out(&rt, RETIME_AUDIO, 0, 0x00000010u, RETIME_SEND), 140,
	    "its audio at the same offset");
	is_int(out(&rt, RETIME_AUDIO, 0, 0xfffffff0u, RETIME_SEND), 140,
	    "audio from before its keyframe does not go back");
	is_int(retime_now(&rt), 160, "the clock is at the last video");
}

static void
case_audio_only(void)
{
	struct retime	rt;

	retime_start(&rt, false, true);
	is_int(out(&rt, RETIME_AUDIO, 0, 7000, RETIME_SEND), 0,
	    "audio only: no keyframe to wait for");
	out(&rt, RETIME_AUDIO, 0, 7023, RETIME_SEND);
	retime_switch(&rt);
	is_int(out(&rt, RETIME_AUDIO, 0, 50, RETIME_JOINED), 24,
	    "a new audio-only source joins just after the last audio");
}

int
main(void)
{
	case_start();
	case_resume();
	case_switch();
	case_audio_only();
	return tap_done();
}
