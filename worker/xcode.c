/*
 * The transcoder (see xcode.h).  Output timestamps are made here, not
 * taken from the source: video counts frame slots of the profile's frame
 * rate (or keeps the source's times, made strictly increasing, when it has
 * none), audio counts samples, each from the first frame's time.  So they
 * stay monotonic across publisher timestamp jumps (a jump of a second or
 * more is absorbed, the timeline goes on) while a shorter gap is kept, so
 * audio and video stay together.  What a slow encoder cannot take is
 * dropped before the encoder and counted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "worker/xcode.h"

#define XCODE_QMAX	1024	/* encoded packets of a track waiting */
#define XCODE_JUMP_MS	1000	/* a source time step this big is a jump */
#define XCODE_LAG_DROP_MS 3000	/* behind real time: drop frames */
#define XCODE_LAG_OK_MS	1000	/* ... until caught up to this */
#define XCODE_FPS_HINT	30	/* rate control's guess without fps: */
#define XCODE_THREADS_MAX 16

static const AVRational ms_tb = { 1, 1000 };

struct xtrack {
	bool		 on;		/* encoded here */
	const AVCodec	*codec;		/* the encoder */
	AVCodecContext	*dec, *enc;
	unsigned	 dec_gen;	/* input gen the decoder was made for */
	AVFrame		*frame;		/* decoded */
	int64_t		 base_ms;	/* output time of slot/sample 0 */
	int64_t		 next;		/* next slot (video), sample (audio) */
	int64_t		 fresh;		/* encoder pts below: a dead session's */
	int64_t		 t0_ms;		/* video: source time of slot 0 */
	int64_t		 last_in_ms;	/* last source time */
	bool		 have_last;
	int64_t		 off_ms;	/* output time = source time + off */
	int64_t		 expect_us;	/* audio: next frame's source time */
	bool		 splice;	/* another clock: treat as a jump */
};

struct xcode {
	char			*vcodec, *preset, *tune, *vprofile, *level;
	char			*pix_fmt, *acodec;
	struct ipc_profile	 p;	/* numbers only; strings above */
	struct xtrack		 tr[INPUT_NTRACKS];
	struct SwsContext	*sws;
	AVFrame			*spare;		/* scaled picture to reuse */
	struct SwrContext	*swr;
	AVChannelLayout		 swr_layout;	/* what swr was made for */
	int			 swr_fmt, swr_rate;
	AVAudioFifo		*fifo;
	struct xqueue {
		AVPacket	*p[XCODE_QMAX];
		size_t		 head, n;
	}			 q[INPUT_NTRACKS];
	bool			 hold_audio;	/* until a video keyframe */
	int			 threads;
	bool			 need_key;	/* video decoder */
	bool			 force_key;	/* video encoder */
	bool			 resumed;	/* no duplicates for the gap */
	bool			 audio_resync;	/* samples restart from the clock */
	int64_t			 next_key;	/* keyint_ms without fps */
	uint64_t		 now_ms;	/* of the current send */
	int64_t			 jump_off_ms;	/* the last jump's new offset, */
	bool			 jump_valid;	/* until the other track took it */
	/* lag: how far decoding runs behind the source's clock */
	bool			 anchored, lagging, behind_new;
	uint64_t		 wall0_ms;
	int64_t			 pts0_ms, lag_last_ms;
	/* stats */
	uint64_t		 dropped, duped;
	uint64_t		 busy_us, st_busy_us;
	int64_t			 media_ms, st_media_ms, media_first;
	uint64_t		 st_ms;
	uint32_t		 speed_x100;
};

static uint64_t
xcode_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static char *
xcode_str(const struct ipc_str *s, bool *oom)
{
	char	*p;

	if (s->len == 0)
		return NULL;
	if ((p = strndup(s->p, s->len)) == NULL)
		*oom = true;
	return p;
}

static int
xcode_find(const char *name, enum AVMediaType type, const AVCodec **out,
    char *why, size_t whylen)
{
	if (name == NULL || strlen(name) == 0) {
		snprintf(why, whylen, "no %s codec", av_get_media_type_string(
		    type));
		return -1;
	}
	*out = avcodec_find_encoder_by_name(name);
	if (*out == NULL || (*out)->type != type) {
		snprintf(why, whylen, "unknown %s encoder \"%s\"",
		    av_get_media_type_string(type), name);
		return -1;
	}
	return 0;
}

int
xcode_new(const struct ipc_profile *p, struct xcode **out, char *why,
    size_t whylen)
{
	struct xcode	*x;
	bool		 oom = false;
	long		 n;

	*out = NULL;
	if (p->video_copy && p->audio_copy)
		return 0;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	x->p = *p;
	x->vcodec = xcode_str(&p->vcodec, &oom);
	x->preset = xcode_str(&p->preset, &oom);
	x->tune = xcode_str(&p->tune, &oom);
	x->vprofile = xcode_str(&p->vprofile, &oom);
	x->level = xcode_str(&p->level, &oom);
	x->pix_fmt = xcode_str(&p->pix_fmt, &oom);
	x->acodec = xcode_str(&p->acodec, &oom);
	/* x->p's strings point into the CONFIG payload: use the copies */
	x->tr[INPUT_VIDEO].on = !p->video_copy;
	x->tr[INPUT_AUDIO].on = !p->audio_copy;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	x->threads = n < 1 ? 1 : n > XCODE_THREADS_MAX ? XCODE_THREADS_MAX :
	    (int)n;
	x->need_key = x->force_key = true;
	x->media_first = INT64_MIN;
	if (oom) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if ((x->tr[INPUT_VIDEO].on && xcode_find(x->vcodec,
	    AVMEDIA_TYPE_VIDEO, &x->tr[INPUT_VIDEO].codec, why, whylen) ==
	    -1) || (x->tr[INPUT_AUDIO].on && xcode_find(x->acodec,
	    AVMEDIA_TYPE_AUDIO, &x->tr[INPUT_AUDIO].codec, why, whylen) == -1))
		goto fail;
	if (x->pix_fmt != NULL && av_get_pix_fmt(x->pix_fmt) ==
	    AV_PIX_FMT_NONE) {
		snprintf(why, whylen, "unknown pixel format \"%s\"",
		    x->pix_fmt);
		goto fail;
	}
	*out = x;
	return 0;
fail:
	xcode_free(x);
	return -1;
}

void
xcode_free(struct xcode *x)
{
	size_t	i;
	int	t;

	if (x == NULL)
		return;
	for (t = 0; t < INPUT_NTRACKS; t++) {
		avcodec_free_context(&x->tr[t].dec);
		avcodec_free_context(&x->tr[t].enc);
		av_frame_free(&x->tr[t].frame);
	}
	for (t = 0; t < INPUT_NTRACKS; t++)
		for (i = 0; i < x->q[t].n; i++)
			av_packet_free(&x->q[t].p[(x->q[t].head + i) %
			    XCODE_QMAX]);
	av_frame_free(&x->spare);
	sws_freeContext(x->sws);
	swr_free(&x->swr);
	av_channel_layout_uninit(&x->swr_layout);
	if (x->fifo != NULL)
		av_audio_fifo_free(x->fifo);
	free(x->vcodec);
	free(x->preset);
	free(x->tune);
	free(x->vprofile);
	free(x->level);
	free(x->pix_fmt);
	free(x->acodec);
	free(x);
}

bool
xcode_track(const struct xcode *x, int t)
{
	return x != NULL && t >= 0 && t < INPUT_NTRACKS && x->tr[t].on;
}

const AVCodecContext *
xcode_encoder(const struct xcode *x, int t)
{
	return xcode_track(x, t) ? x->tr[t].enc : NULL;
}

/* An even size from the profile, keeping the source's aspect when only
 * one side is given. */
static void
xcode_size(const struct xcode *x, int sw, int sh, int *w, int *h)
{
	int	ow = (int)x->p.width, oh = (int)x->p.height;

	if (ow == 0 && oh == 0) {
		ow = sw;
		oh = sh;
	} else if (oh == 0)
		oh = (int)lrint((double)sh * ow / sw / 2) * 2;
	else if (ow == 0)
		ow = (int)lrint((double)sw * oh / sh / 2) * 2;
	*w = ow & ~1;
	*h = oh & ~1;
	if (*w < 2)
		*w = 2;
	if (*h < 2)
		*h = 2;
}

static enum AVPixelFormat
xcode_pix_fmt(const struct xcode *x, const AVCodec *c)
{
	const enum AVPixelFormat	*f;

	if (x->pix_fmt != NULL)
		return av_get_pix_fmt(x->pix_fmt);
	for (f = c->pix_fmts; f != NULL && *f != AV_PIX_FMT_NONE; f++)
		if (*f == AV_PIX_FMT_YUV420P)
			return *f;
	return c->pix_fmts != NULL ? c->pix_fmts[0] : AV_PIX_FMT_YUV420P;
}

/* avcodec_open2 with opts; an option the encoder did not take is an
 * error rather than silently ignored. */
static int
xcode_open(AVCodecContext *c, AVDictionary **opts, char *why, size_t whylen)
{
	const AVDictionaryEntry	*e;
	int			 ret;

	ret = avcodec_open2(c, c->codec, opts);
	if (ret < 0)
		snprintf(why, whylen, "cannot open encoder %s: %s",
		    c->codec->name, av_err2str(ret));
	else if ((e = av_dict_get(*opts, "", NULL, AV_DICT_IGNORE_SUFFIX)) !=
	    NULL) {
		snprintf(why, whylen, "encoder %s does not take %s=%s",
		    c->codec->name, e->key, e->value);
		ret = AVERROR(EINVAL);
	}
	av_dict_free(opts);
	return ret;
}

static int
xcode_open_video(struct xcode *x, const AVCodecParameters *par,
    const AVOutputFormat *of, char *why, size_t whylen)
{
	struct xtrack	*tr = &x->tr[INPUT_VIDEO];
	AVCodecContext	*c;
	AVDictionary	*opts = NULL;
	double		 fps;

	if (par->width <= 0 || par->height <= 0) {
		snprintf(why, whylen, "source video size unknown");
		return AVERROR(EINVAL);
	}
	if ((tr->enc = c = avcodec_alloc_context3(tr->codec)) == NULL)
		return AVERROR(ENOMEM);
	xcode_size(x, par->width, par->height, &c->width, &c->height);
	c->pix_fmt = xcode_pix_fmt(x, tr->codec);
	c->sample_aspect_ratio = (AVRational){ 1, 1 };
	if (x->p.fps_num != 0) {
		c->framerate = (AVRational){ (int)x->p.fps_num,
		    (int)x->p.fps_den };
		c->time_base = av_inv_q(c->framerate);
	} else {
		c->framerate = (AVRational){ XCODE_FPS_HINT, 1 };
		c->time_base = ms_tb;
	}
	fps = av_q2d(c->framerate);
	c->bit_rate = x->p.vbitrate_bps;
	c->rc_max_rate = x->p.maxrate_bps;
	c->rc_buffer_size = (int)(x->p.bufsize_bps != 0 ? x->p.bufsize_bps :
	    2 * (uint64_t)x->p.maxrate_bps > INT32_MAX ? INT32_MAX :
	    2 * x->p.maxrate_bps);
	if (x->p.keyint_frames != 0)
		c->gop_size = (int)x->p.keyint_frames;
	else if (x->p.keyint_ms != 0)
		c->gop_size = (int)lrint(x->p.keyint_ms * fps / 1000);
	if (c->gop_size < 1 && (x->p.keyint_frames || x->p.keyint_ms))
		c->gop_size = 1;
	c->thread_count = x->threads;
	if (of->flags & AVFMT_GLOBALHEADER)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if ((x->preset && av_dict_set(&opts, "preset", x->preset, 0) < 0) ||
	    (x->tune && av_dict_set(&opts, "tune", x->tune, 0) < 0) ||
	    (x->vprofile && av_dict_set(&opts, "profile", x->vprofile, 0) <
	    0) || (x->level && av_dict_set(&opts, "level", x->level, 0) < 0))
		return AVERROR(ENOMEM);
	/* a fixed keyframe interval: no extra keyframes at scene cuts */
	if ((x->p.keyint_frames || x->p.keyint_ms) && c->priv_data != NULL &&
	    av_opt_find(c->priv_data, "sc_threshold", NULL, 0, 0) != NULL)
		av_opt_set_int(c->priv_data, "sc_threshold", 0, 0);
	tr->base_ms = INT64_MIN;
	return xcode_open(c, &opts, why, whylen);
}

static int
xcode_rate(const AVCodec *c, int want)
{
	const int	*r;
	int		 best = 0;

	if (c->supported_samplerates == NULL)
		return want;
	for (r = c->supported_samplerates; *r != 0; r++) {
		if (*r == want)
			return want;
		if (best == 0 || abs(*r - want) < abs(best - want))
			best = *r;
	}
	return best;
}

static int
xcode_open_audio(struct xcode *x, const AVCodecParameters *par,
    const AVOutputFormat *of, char *why, size_t whylen)
{
	struct xtrack	*tr = &x->tr[INPUT_AUDIO];
	AVCodecContext	*c;
	AVDictionary	*opts = NULL;
	int		 ch, ret;

	if ((tr->enc = c = avcodec_alloc_context3(tr->codec)) == NULL)
		return AVERROR(ENOMEM);
	c->sample_rate = xcode_rate(tr->codec, x->p.sample_rate != 0 ?
	    (int)x->p.sample_rate : par->sample_rate);
	ch = x->p.channels != 0 ? (int)x->p.channels :
	    par->ch_layout.nb_channels;
	av_channel_layout_default(&c->ch_layout, ch > 0 ? ch : 2);
	c->sample_fmt = tr->codec->sample_fmts != NULL ?
	    tr->codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
	c->bit_rate = x->p.abitrate_bps;
	c->time_base = (AVRational){ 1, c->sample_rate };
	if (of->flags & AVFMT_GLOBALHEADER)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if ((ret = xcode_open(c, &opts, why, whylen)) < 0)
		return ret;
	if (c->frame_size <= 0)
		c->frame_size = 1024;
	if ((x->fifo = av_audio_fifo_alloc(c->sample_fmt,
	    c->ch_layout.nb_channels, 4 * c->frame_size)) == NULL)
		return AVERROR(ENOMEM);
	tr->base_ms = INT64_MIN;
	return 0;
}

int
xcode_prepare(struct xcode *x, const struct input *in,
    const AVOutputFormat *of, char *why, size_t whylen)
{
	int	ret;

	if (x->tr[INPUT_VIDEO].on && x->tr[INPUT_VIDEO].enc == NULL &&
	    in->par[INPUT_VIDEO] != NULL && (ret = xcode_open_video(x,
	    in->par[INPUT_VIDEO], of, why, whylen)) < 0)
		return ret;
	if (x->tr[INPUT_AUDIO].on && x->tr[INPUT_AUDIO].enc == NULL &&
	    in->par[INPUT_AUDIO] != NULL && (ret = xcode_open_audio(x,
	    in->par[INPUT_AUDIO], of, why, whylen)) < 0)
		return ret;
	return 0;
}

/* Encoded packets of track t, in ms from the track's base, to the queue. */
static void
xcode_drain_enc(struct xcode *x, int t)
{
	struct xtrack	*tr = &x->tr[t];
	AVPacket	*pkt;

	for (;;) {
		if ((pkt = av_packet_alloc()) == NULL)
			return;
		if (avcodec_receive_packet(tr->enc, pkt) < 0) {
			av_packet_free(&pkt);
			return;
		}
		if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < tr->fresh) {
			/* held in the encoder's delay when the destination
			 * went away: it belongs before the gap, not after */
			av_packet_free(&pkt);
			x->dropped++;
			continue;
		}
		av_packet_rescale_ts(pkt, tr->enc->time_base, ms_tb);
		pkt->pts += tr->base_ms;
		pkt->dts += tr->base_ms;
		pkt->stream_index = t;
		if (x->q[t].n == XCODE_QMAX) {
			av_packet_free(&pkt);	/* nobody is receiving */
			continue;
		}
		x->q[t].p[(x->q[t].head + x->q[t].n++) % XCODE_QMAX] = pkt;
	}
}

static void
xcode_encode(struct xcode *x, int t, AVFrame *f)
{
	if (avcodec_send_frame(x->tr[t].enc, f) >= 0 || f == NULL)
		xcode_drain_enc(x, t);
}

static AVPacket *
xcode_q_head(struct xcode *x, int t)
{
	return x->q[t].n > 0 ? x->q[t].p[x->q[t].head % XCODE_QMAX] : NULL;
}

static AVPacket *
xcode_q_pop(struct xcode *x, int t)
{
	AVPacket	*p = xcode_q_head(x, t);

	x->q[t].head = (x->q[t].head + 1) % XCODE_QMAX;
	x->q[t].n--;
	return p;
}

/*
 * The two tracks' packets in dts order as far as both have some.  After
 * a resume, audio waits for the video keyframe that opens the session
 * (the video encoder runs some frames behind) and what is older than
 * that keyframe goes, so the session starts with both together.
 */
int
xcode_receive(struct xcode *x, AVPacket *pkt)
{
	AVPacket	*v, *a, *p;
	int		 t;

	if (x == NULL)
		return 0;
	v = xcode_q_head(x, INPUT_VIDEO);
	if (x->hold_audio) {
		if (v == NULL)
			return 0;
		if (v->flags & AV_PKT_FLAG_KEY) {
			x->hold_audio = false;
			while ((a = xcode_q_head(x, INPUT_AUDIO)) != NULL &&
			    a->pts < v->pts) {
				a = xcode_q_pop(x, INPUT_AUDIO);
				av_packet_free(&a);
			}
		}
		t = INPUT_VIDEO;
	} else {
		a = xcode_q_head(x, INPUT_AUDIO);
		if (v == NULL && a == NULL)
			return 0;
		t = v == NULL || (a != NULL && a->dts < v->dts) ? INPUT_AUDIO :
		    INPUT_VIDEO;
	}
	p = xcode_q_pop(x, t);
	av_packet_move_ref(pkt, p);
	av_packet_free(&p);
	return 1;
}

/*
 * True when this frame should not be encoded: decoding runs more than
 * XCODE_LAG_DROP_MS behind the source's clock (until back within
 * XCODE_LAG_OK_MS).  The anchor follows the source whenever it is ahead
 * (a burst of cached frames) or jumps from one frame to the next.
 */
static bool
xcode_lagging(struct xcode *x, int64_t pts)
{
	int64_t	lag;

	if (!x->anchored || pts - x->lag_last_ms > XCODE_JUMP_MS ||
	    pts - x->lag_last_ms < -XCODE_JUMP_MS) {
		x->anchored = true;	/* the source jumped: start again */
		x->wall0_ms = x->now_ms;
		x->pts0_ms = pts;
	}
	x->lag_last_ms = pts;
	lag = (int64_t)(x->now_ms - x->wall0_ms) - (pts - x->pts0_ms);
	if (lag < 0) {
		x->wall0_ms = x->now_ms;
		x->pts0_ms = pts;
		lag = 0;
	}
	if (!x->lagging && lag > XCODE_LAG_DROP_MS) {
		x->lagging = true;
		x->behind_new = true;
	} else if (x->lagging && lag < XCODE_LAG_OK_MS)
		x->lagging = false;
	return x->lagging;
}

/*
 * The picture to encode: in itself when it has the encoder's size and
 * format, else scaled into the spare frame of the last call once the
 * encoder has let go of it (a 720p picture a frame is a lot to allocate).
 */
static AVFrame *
xcode_scale(struct xcode *x, AVFrame *in, bool *scaled)
{
	AVCodecContext	*c = x->tr[INPUT_VIDEO].enc;
	AVFrame		*out;

	*scaled = !(in->width == c->width && in->height == c->height &&
	    in->format == c->pix_fmt);
	if (!*scaled) {
		if ((out = av_frame_alloc()) != NULL && av_frame_ref(out, in) < 0)
			av_frame_free(&out);
		return out;
	}
	if ((out = x->spare) != NULL)
		x->spare = NULL;
	else if ((out = av_frame_alloc()) == NULL)
		return NULL;
	if (out->buf[0] != NULL && !av_frame_is_writable(out))
		av_frame_unref(out);
	/* rebuilt by libswscale when the source's size or format changed */
	x->sws = sws_getCachedContext(x->sws, in->width, in->height,
	    in->format, c->width, c->height, c->pix_fmt, SWS_BICUBIC, NULL,
	    NULL, NULL);
	out->format = c->pix_fmt;
	out->width = c->width;
	out->height = c->height;
	if (x->sws == NULL || (out->buf[0] == NULL &&
	    av_frame_get_buffer(out, 0) < 0) ||
	    sws_scale_frame(x->sws, out, in) < 0) {
		av_frame_free(&out);
		return NULL;
	}
	return out;
}

/* The profile's frame rate: slots of 1/fps from the first frame. */
static void
xcode_video_cfr(struct xcode *x, AVFrame *f, int64_t pts)
{
	struct xtrack	*tr = &x->tr[INPUT_VIDEO];
	double		 per_ms = (double)x->p.fps_num / x->p.fps_den / 1000;
	int64_t		 slot, one_s = (int64_t)(per_ms * 1000) + 1;

	slot = llrint((double)(pts - tr->t0_ms) * per_ms);
	if (x->resumed && slot > tr->next)
		tr->next = slot;	/* after a gap of ours: keep it, unfilled */
	if (slot < tr->next - one_s || slot > tr->next + one_s) {
		/* a jump: the timeline goes on from here */
		tr->t0_ms = pts - (int64_t)llrint(tr->next / per_ms);
		slot = tr->next;
	}
	x->resumed = false;
	if (slot < tr->next) {
		x->dropped++;	/* faster than the profile's rate */
		return;
	}
	for (; tr->next <= slot; tr->next++) {
		f->pts = tr->next;
		if (tr->next < slot)
			x->duped++;	/* a frame too few: repeat this one */
		if (x->force_key)
			f->pict_type = AV_PICTURE_TYPE_I;
		xcode_encode(x, INPUT_VIDEO, f);
		f->pict_type = AV_PICTURE_TYPE_NONE;
		x->force_key = false;
	}
}

/* No frame rate in the profile: the source's times, strictly rising. */
static void
xcode_video_vfr(struct xcode *x, AVFrame *f, int64_t pts)
{
	struct xtrack	*tr = &x->tr[INPUT_VIDEO];
	int64_t		 p = pts - tr->t0_ms;

	if (x->resumed && p > tr->next)
		tr->next = p;		/* after a gap of ours: keep it */
	x->resumed = false;
	if (p > tr->next + XCODE_JUMP_MS || p < tr->next - XCODE_JUMP_MS) {
		tr->t0_ms = pts - tr->next;	/* a jump */
		p = tr->next;
	}
	if (p < tr->next)
		p = tr->next;
	f->pts = p;
	tr->next = p + 1;
	if (x->force_key || (x->p.keyint_ms != 0 && p >= x->next_key)) {
		f->pict_type = AV_PICTURE_TYPE_I;
		x->next_key = p + x->p.keyint_ms;
		x->force_key = false;
	}
	xcode_encode(x, INPUT_VIDEO, f);
	f->pict_type = AV_PICTURE_TYPE_NONE;
}

static void
xcode_video(struct xcode *x, AVFrame *in, int64_t pts)
{
	struct xtrack	*tr = &x->tr[INPUT_VIDEO];
	AVFrame		*f;
	bool		 scaled;

	if (tr->base_ms == INT64_MIN) {
		tr->base_ms = tr->t0_ms = pts;
		tr->next = 0;
		tr->fresh = INT64_MIN;
	}
	if (xcode_lagging(x, pts)) {
		x->dropped++;
		/* skip the slot, so no duplicates fill it */
		if (x->p.fps_num != 0)
			tr->next = llrint((double)(pts - tr->t0_ms) *
			    x->p.fps_num / x->p.fps_den / 1000) + 1;
		return;
	}
	if ((f = xcode_scale(x, in, &scaled)) == NULL) {
		x->dropped++;
		return;
	}
	f->pict_type = AV_PICTURE_TYPE_NONE;
	if (x->p.fps_num != 0)
		xcode_video_cfr(x, f, pts);
	else
		xcode_video_vfr(x, f, pts);
	if (scaled && x->spare == NULL)
		x->spare = f;	/* its buffer is reused once writable */
	else
		av_frame_free(&f);
}

/* (Re)builds the resampler for frames like f. */
static int
xcode_swr(struct xcode *x, AVFrame *f)
{
	AVCodecContext	*c = x->tr[INPUT_AUDIO].enc;

	if (x->swr != NULL && x->swr_fmt == f->format &&
	    x->swr_rate == f->sample_rate &&
	    av_channel_layout_compare(&x->swr_layout, &f->ch_layout) == 0)
		return 0;
	swr_free(&x->swr);
	av_channel_layout_uninit(&x->swr_layout);
	if (swr_alloc_set_opts2(&x->swr, &c->ch_layout, c->sample_fmt,
	    c->sample_rate, &f->ch_layout, f->format, f->sample_rate, 0,
	    NULL) < 0 || swr_init(x->swr) < 0 ||
	    av_channel_layout_copy(&x->swr_layout, &f->ch_layout) < 0) {
		swr_free(&x->swr);
		return -1;
	}
	x->swr_fmt = f->format;
	x->swr_rate = f->sample_rate;
	return 0;
}

/* Encodes what the FIFO holds in encoder-sized frames (and, at the end,
 * a short last one when the encoder allows it). */
static void
xcode_audio_out(struct xcode *x, bool last)
{
	struct xtrack	*tr = &x->tr[INPUT_AUDIO];
	AVCodecContext	*c = tr->enc;
	AVFrame		*f;
	int		 n;

	while ((n = av_audio_fifo_size(x->fifo)) >= c->frame_size ||
	    (last && n > 0 && (c->codec->capabilities &
	    (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE)))) {
		if (n > c->frame_size)
			n = c->frame_size;
		if ((f = av_frame_alloc()) == NULL)
			return;
		f->nb_samples = n;
		f->format = c->sample_fmt;
		f->sample_rate = c->sample_rate;
		if (av_channel_layout_copy(&f->ch_layout, &c->ch_layout) < 0 ||
		    av_frame_get_buffer(f, 0) < 0 ||
		    av_audio_fifo_read(x->fifo, (void **)f->data, n) != n) {
			av_frame_free(&f);
			return;
		}
		f->pts = tr->next;
		tr->next += n;
		xcode_encode(x, INPUT_AUDIO, f);
		av_frame_free(&f);
	}
}

/* Resamples in (NULL: flush the resampler) into the FIFO. */
static void
xcode_resample(struct xcode *x, const AVFrame *in)
{
	AVCodecContext	*c = x->tr[INPUT_AUDIO].enc;
	uint8_t		**buf = NULL;
	int		 cap, n;

	if (x->swr == NULL)
		return;
	cap = swr_get_out_samples(x->swr, in != NULL ? in->nb_samples : 0);
	if (cap <= 0 || av_samples_alloc_array_and_samples(&buf, NULL,
	    c->ch_layout.nb_channels, cap, c->sample_fmt, 0) < 0)
		return;
	n = swr_convert(x->swr, buf, cap, in != NULL ?
	    (const uint8_t **)in->extended_data : NULL, in != NULL ?
	    in->nb_samples : 0);
	if (n > 0)
		av_audio_fifo_write(x->fifo, (void **)buf, n);
	av_freep(&buf[0]);
	av_freep(&buf);
}

static void
xcode_audio(struct xcode *x, AVFrame *in, int64_t pts)
{
	struct xtrack	*tr = &x->tr[INPUT_AUDIO];
	AVCodecContext	*c = tr->enc;
	int64_t		 gap_ms, tol_ms;

	if (tr->base_ms == INT64_MIN) {
		tr->base_ms = pts;
		tr->next = 0;
		tr->fresh = INT64_MIN;
		tr->expect_us = pts * 1000;
	}
	if (x->audio_resync) {
		/* after a gap of ours: the sample count follows the clock */
		x->audio_resync = false;
		if ((pts - tr->base_ms) * c->sample_rate / 1000 > tr->next)
			tr->next = (pts - tr->base_ms) * c->sample_rate / 1000;
		tr->expect_us = pts * 1000;
	}
	tol_ms = 2 * 1000 * (int64_t)c->frame_size / c->sample_rate;
	gap_ms = pts - tr->expect_us / 1000;
	if (gap_ms >= XCODE_JUMP_MS || gap_ms <= -XCODE_JUMP_MS) {
		tr->expect_us = pts * 1000;	/* beyond repair: go on */
	} else if (gap_ms > tol_ms) {
		/* missing audio: leave the same gap, so video stays with us */
		tr->next += gap_ms * c->sample_rate / 1000;
		tr->expect_us = pts * 1000;
	} else if (gap_ms < -tol_ms) {
		/* more samples than time (a drifting source clock): leave
		 * this frame out to fall back in step with the video */
		x->dropped++;
		return;
	}
	tr->expect_us += (int64_t)in->nb_samples * 1000000 /
	    (in->sample_rate > 0 ? in->sample_rate : 1);
	if (xcode_swr(x, in) == -1) {
		x->dropped++;
		return;
	}
	xcode_resample(x, in);
	xcode_audio_out(x, false);
}

static void
xcode_account(struct xcode *x, int t, int64_t pts)
{
	int	speed_t = x->tr[INPUT_VIDEO].on ? INPUT_VIDEO : INPUT_AUDIO;

	if (t != speed_t)
		return;
	if (x->media_first == INT64_MIN || pts < x->media_first ||
	    pts - x->media_first - x->media_ms > XCODE_JUMP_MS)
		x->media_first = pts - x->media_ms;
	if (pts - x->media_first > x->media_ms)
		x->media_ms = pts - x->media_first;
}

/*
 * Source time src of a frame of dur_ms on track tr to output time.  A
 * step of XCODE_JUMP_MS or more from the track's previous frame is a jump
 * (or a 32-bit wrap): the track goes on where it was.  The other track
 * takes the same new offset when it fits its own timeline within a jump,
 * so audio and video keep the source's alignment across it.  After
 * xcode_splice (the slate, another source) the next frame is such a jump
 * whatever its time.
 */
static int64_t
xcode_map(struct xcode *x, struct xtrack *tr, int64_t src, int64_t dur_ms)
{
	int64_t	want;

	if (tr->have_last && (tr->splice || src - tr->last_in_ms >=
	    XCODE_JUMP_MS || src - tr->last_in_ms <= -XCODE_JUMP_MS)) {
		want = tr->last_in_ms + tr->off_ms + dur_ms;
		if (x->jump_valid && src + x->jump_off_ms - want <
		    XCODE_JUMP_MS && src + x->jump_off_ms - want >
		    -XCODE_JUMP_MS) {
			tr->off_ms = x->jump_off_ms;
			x->jump_valid = false;
		} else {
			tr->off_ms = want - src;
			x->jump_off_ms = tr->off_ms;
			x->jump_valid = true;
		}
	}
	tr->last_in_ms = src;
	tr->have_last = true;
	tr->splice = false;
	return src + tr->off_ms;
}

/* One frame of track t at source time pts (ms) through the track. */
static void
xcode_frame(struct xcode *x, int t, AVFrame *f, int64_t pts)
{
	struct xtrack	*tr = &x->tr[t];

	pts = xcode_map(x, tr, pts, t == INPUT_VIDEO ? (x->p.fps_num ?
	    1000 * (int64_t)x->p.fps_den / x->p.fps_num : 33) :
	    1000 * (int64_t)f->nb_samples /
	    (f->sample_rate > 0 ? f->sample_rate : 1));
	xcode_account(x, t, pts);
	if (t == INPUT_VIDEO)
		xcode_video(x, f, pts);
	else
		xcode_audio(x, f, pts);
}

/* Every frame the decoder of track t has ready, through the track. */
static void
xcode_drain_dec(struct xcode *x, int t)
{
	struct xtrack	*tr = &x->tr[t];
	int64_t		 pts;

	if (tr->frame == NULL && (tr->frame = av_frame_alloc()) == NULL)
		return;
	while (avcodec_receive_frame(tr->dec, tr->frame) >= 0) {
		pts = tr->frame->best_effort_timestamp;
		if (pts == AV_NOPTS_VALUE)
			pts = tr->frame->pts != AV_NOPTS_VALUE ?
			    tr->frame->pts : tr->last_in_ms + 1;
		xcode_frame(x, t, tr->frame, pts);
		av_frame_unref(tr->frame);
	}
}

int
xcode_send_frame(struct xcode *x, int t, AVFrame *f, uint64_t now_ms)
{
	uint64_t	t0 = xcode_us();

	if (!xcode_track(x, t) || x->tr[t].enc == NULL)
		return AVERROR(EINVAL);
	x->now_ms = now_ms;
	xcode_frame(x, t, f, f->pts);
	x->busy_us += xcode_us() - t0;
	return 0;
}

/* Every open decoder gives up what it holds (end of stream, or a source
 * switch); reopen: ready for more input afterwards. */
static void
xcode_drain_decoders(struct xcode *x, bool reopen)
{
	int	t;

	for (t = 0; t < INPUT_NTRACKS; t++) {
		if (x->tr[t].dec == NULL || x->tr[t].enc == NULL)
			continue;
		avcodec_send_packet(x->tr[t].dec, NULL);
		xcode_drain_dec(x, t);
		if (reopen)
			avcodec_flush_buffers(x->tr[t].dec);
	}
}

void
xcode_splice(struct xcode *x)
{
	int	t;

	if (x == NULL)
		return;
	/* what the decoders still hold belongs before the switch */
	xcode_drain_decoders(x, true);
	for (t = 0; t < INPUT_NTRACKS; t++)
		x->tr[t].splice = true;
	x->jump_valid = false;
	x->need_key = true;
}

static int
xcode_decoder(struct xcode *x, const struct input *in, int t, char *why,
    size_t whylen)
{
	struct xtrack	*tr = &x->tr[t];
	const AVCodec	*d;
	int		 ret;

	if (tr->dec != NULL) {
		/* a new sequence header: what the old one holds comes first */
		avcodec_send_packet(tr->dec, NULL);
		xcode_drain_dec(x, t);
		avcodec_free_context(&tr->dec);
	}
	if ((d = avcodec_find_decoder(in->par[t]->codec_id)) == NULL) {
		snprintf(why, whylen, "no decoder for %s",
		    avcodec_get_name(in->par[t]->codec_id));
		return AVERROR_DECODER_NOT_FOUND;
	}
	if ((tr->dec = avcodec_alloc_context3(d)) == NULL)
		return AVERROR(ENOMEM);
	if ((ret = avcodec_parameters_to_context(tr->dec, in->par[t])) < 0)
		return ret;
	tr->dec->pkt_timebase = ms_tb;
	tr->dec->thread_count = t == INPUT_VIDEO ? x->threads : 1;
	if ((ret = avcodec_open2(tr->dec, d, NULL)) < 0) {
		snprintf(why, whylen, "cannot open decoder %s: %s", d->name,
		    av_err2str(ret));
		avcodec_free_context(&tr->dec);
		return ret;
	}
	tr->dec_gen = in->gen[t];
	if (t == INPUT_VIDEO)
		x->need_key = true;
	return 0;
}

int
xcode_send(struct xcode *x, const struct input *in, AVPacket *pkt,
    uint64_t now_ms, char *why, size_t whylen)
{
	int		 t = pkt->stream_index, ret = 0;
	uint64_t	 t0 = xcode_us();
	struct xtrack	*tr = &x->tr[t];

	x->now_ms = now_ms;
	if (tr->enc == NULL)
		goto out;	/* the track came after the session opened */
	if ((tr->dec == NULL || tr->dec_gen != in->gen[t]) &&
	    (ret = xcode_decoder(x, in, t, why, whylen)) < 0)
		goto out;
	if (t == INPUT_VIDEO && x->need_key) {
		if (!(pkt->flags & AV_PKT_FLAG_KEY))
			goto out;	/* the decoder starts at a keyframe */
		x->need_key = false;
	}
	if ((ret = avcodec_send_packet(tr->dec, pkt)) < 0) {
		snprintf(why, whylen, "decode: %s", av_err2str(ret));
		goto out;
	}
	xcode_drain_dec(x, t);
out:
	av_packet_unref(pkt);
	x->busy_us += xcode_us() - t0;
	return ret;
}

void
xcode_resume(struct xcode *x)
{
	int	t;

	if (x == NULL)
		return;
	x->need_key = x->force_key = x->resumed = x->audio_resync = true;
	x->hold_audio = x->tr[INPUT_VIDEO].enc != NULL &&
	    x->tr[INPUT_AUDIO].enc != NULL;
	/* what the encoders still hold was meant for the session that
	 * failed; every frame from now on gets a pts of next or later */
	for (t = 0; t < INPUT_NTRACKS; t++)
		x->tr[t].fresh = x->tr[t].base_ms == INT64_MIN ? INT64_MIN :
		    x->tr[t].next;
	x->anchored = false;
	/* the input's gap is ours (not live), not a jump of the source's
	 * clock: both tracks keep their offsets, so they keep the gap alike */
	x->tr[INPUT_VIDEO].have_last = x->tr[INPUT_AUDIO].have_last = false;
	x->jump_valid = false;
	if (x->fifo != NULL)
		av_audio_fifo_reset(x->fifo);
	if (x->tr[INPUT_VIDEO].dec != NULL)
		avcodec_flush_buffers(x->tr[INPUT_VIDEO].dec);
}

void
xcode_flush(struct xcode *x)
{
	int	t;

	if (x == NULL)
		return;
	xcode_drain_decoders(x, false);
	if (x->tr[INPUT_AUDIO].enc != NULL && x->fifo != NULL) {
		xcode_resample(x, NULL);
		xcode_audio_out(x, true);
	}
	for (t = 0; t < INPUT_NTRACKS; t++)
		if (x->tr[t].enc != NULL)
			xcode_encode(x, t, NULL);
}

void
xcode_stats(struct xcode *x, uint64_t now_ms, struct xcode_stats *s)
{
	uint64_t	busy;
	int64_t		media;

	if (now_ms - x->st_ms >= 1000) {
		busy = x->busy_us - x->st_busy_us;
		media = x->media_ms - x->st_media_ms;
		if (busy > 0 && media >= 0)
			x->speed_x100 = (uint32_t)((uint64_t)media * 100000 /
			    busy);
		x->st_ms = now_ms;
		x->st_busy_us = x->busy_us;
		x->st_media_ms = x->media_ms;
	}
	s->speed_x100 = x->speed_x100;
	s->frames_dropped = x->dropped;
	s->frames_duped = x->duped;
}

bool
xcode_behind(struct xcode *x)
{
	bool	b = x != NULL && x->behind_new;

	if (b)
		x->behind_new = false;
	return b;
}
