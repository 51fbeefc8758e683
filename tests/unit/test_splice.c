/*
 * The worker's timestamp splicing (worker/splice.c): the first source
 * maps as is; after a switch the new source's keyframe lands one frame
 * after the last picture shown (B-frames included), its audio keeps its
 * offset to it, and what would go before the keyframe or behind the
 * audio already written is dropped; the slate starts after both.
 */
#include <libavcodec/avcodec.h>

#include "worker/splice.h"
#include "tap.h"

static AVPacket	pkt;

static enum splice_res
feed(struct splice *sp, int t, int64_t dts, int64_t pts, bool key,
    bool mapped)
{
	pkt.stream_index = t;
	pkt.dts = dts;
	pkt.pts = pts;
	pkt.flags = key ? AV_PKT_FLAG_KEY : 0;
	return splice_source(sp, &pkt, mapped, true);
}

int
main(void)
{
	struct splice	sp;
	AVRational	fps;
	int64_t		i;

	splice_init(&sp);
	fps = splice_fps(&sp);
	is_int(fps.num * 1000 / fps.den, 30000, "no video yet: 30 fps");
	/* the first source at 30 fps with one B-frame's delay */
	for (i = 0; i < 30; i++) {
		is_int(feed(&sp, INPUT_VIDEO, 1000 + i * 33 + i / 3,
		    1033 + i * 33 + i / 3, i == 0, true), SPLICE_PASS,
		    "first source: video %lld passes", (long long)i);
		is_int(pkt.dts, 1000 + i * 33 + i / 3, "and keeps its time");
		feed(&sp, INPUT_AUDIO, 1000 + i * 33, 1000 + i * 33, false,
		    true);
	}
	fps = splice_fps(&sp);
	is_int(fps.num, 30, "the frame rate is the source's: 30");
	is_int(fps.den, 1, "a whole one");
	/* last video dts 1966, shown at 1999 */
	is_int(splice_next_ms(&sp, INPUT_VIDEO, 33), 1999,
	    "the slate's video starts one frame after the last dts");
	is_int(splice_cts_ms(&sp, INPUT_VIDEO), 33,
	    "and its pts keep the source's B-frame delay");
	is_int(splice_next_ms(&sp, INPUT_AUDIO, 23), 1957 + 23,
	    "its audio after the last audio");
	splice_wrote(&sp, INPUT_VIDEO, 5000, 5000);
	splice_wrote(&sp, INPUT_AUDIO, 5050, 5050);

	/* a new source on a clock from 0: audio and a P-frame before its
	 * keyframe are dropped */
	splice_new_source(&sp);
	is_int(feed(&sp, INPUT_AUDIO, 0, 0, false, true), SPLICE_DROP,
	    "new source: audio before the keyframe is dropped");
	is_int(feed(&sp, INPUT_VIDEO, 0, 0, false, true), SPLICE_DROP,
	    "a P-frame before it too");
	is_int(feed(&sp, INPUT_VIDEO, 40, 40, true, true), SPLICE_SWITCH,
	    "its keyframe switches");
	is_int(pkt.dts, 5033, "one frame after the slate's last picture");
	is_int(feed(&sp, INPUT_AUDIO, 20, 20, false, true), SPLICE_DROP,
	    "its audio from before the keyframe is dropped");
	is_int(feed(&sp, INPUT_AUDIO, 45, 45, false, true), SPLICE_DROP,
	    "and what would land behind the slate's last audio");
	is_int(feed(&sp, INPUT_AUDIO, 70, 70, false, true), SPLICE_PASS,
	    "the next audio passes");
	is_int(pkt.dts, 70 + 4993, "with the keyframe's offset");
	is_int(feed(&sp, INPUT_AUDIO, 60, 60, false, true), SPLICE_PASS,
	    "later, the source's own steps back are not ours to drop");
	is_int(feed(&sp, INPUT_VIDEO, 73, 73, false, true), SPLICE_PASS,
	    "video goes on");
	is_int(pkt.dts, 5066, "on the same offset");

	/* a keyframe shown later than decoded, after pictures shown late */
	splice_wrote(&sp, INPUT_VIDEO, 9000, 9100);
	splice_new_source(&sp);
	is_int(feed(&sp, INPUT_VIDEO, 0, 20, true, true), SPLICE_SWITCH,
	    "a keyframe with a small cts switches");
	is_int(pkt.pts, 9133, "its pts follow the last picture shown");
	is_int(pkt.dts, 9113, "its dts keep its cts");

	/* an encoded track: the gate only, times as they are */
	splice_new_source(&sp);
	is_int(feed(&sp, INPUT_VIDEO, 9, 9, false, false), SPLICE_DROP,
	    "encoded: a P-frame before the keyframe is dropped");
	is_int(feed(&sp, INPUT_VIDEO, 10, 10, true, false), SPLICE_SWITCH,
	    "encoded: the keyframe switches");
	is_int(pkt.dts, 10, "and keeps its time (xcode makes the output's)");
	return tap_done();
}
