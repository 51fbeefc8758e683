/*
 * The slate (see slate.h).  The picture and the sound are decoded once
 * and kept as one yuv420p frame and a planar float buffer; each frame
 * due is a reference to the picture or a slice of the buffer, stamped
 * from its frame count, so timestamps are exact however late the caller
 * polls.  A caller more than SLATE_BEHIND_MS late (a blocked write) gets
 * the frames on from where they were, not a burst to catch up.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "worker/slate.h"

#define SLATE_AFRAME		1024	/* samples per audio frame */
#define SLATE_BEHIND_MS		3000
#define SLATE_AUDIO_MAX_S	60	/* of the audio file kept */
#define SLATE_CRF		"28"
#define SLATE_MAXRATE		1000000
#define SLATE_ABITRATE_CH	48000	/* per channel */

struct slate {
	char			*image, *audio;	/* NULL: black, silence */
	struct slate_params	 p;
	bool			 running;
	AVFrame			*pic;		/* the picture at p's size */
	float			**pcm;		/* planar, pcm_ch x pcm_n */
	int			 pcm_n, pcm_ch, pcm_rate, pcm_pos;
	bool			 pcm_loaded;
	AVCodecContext		*enc[INPUT_NTRACKS];
	AVFrame			*out;		/* the frame last returned */
	int64_t			 v0_ms, a0_ms;
	uint64_t		 wall0_ms;
	int64_t			 nv, na;	/* frames made */
	bool			 force_key;
};

static char *
slate_path(const char *s)
{
	return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

struct slate *
slate_new(const char *image, const char *audio)
{
	struct slate	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->image = slate_path(image);
	s->audio = slate_path(audio);
	return s;
}

static void
slate_free_pcm(struct slate *s)
{
	int	c;

	for (c = 0; s->pcm != NULL && c < s->pcm_ch; c++)
		free(s->pcm[c]);
	free(s->pcm);
	s->pcm = NULL;
	s->pcm_n = s->pcm_ch = s->pcm_rate = s->pcm_pos = 0;
	s->pcm_loaded = false;
}

void
slate_stop(struct slate *s)
{
	int	t;

	if (s == NULL)
		return;
	for (t = 0; t < INPUT_NTRACKS; t++)
		avcodec_free_context(&s->enc[t]);
	av_frame_free(&s->out);
	s->running = false;
}

void
slate_free(struct slate *s)
{
	if (s == NULL)
		return;
	slate_stop(s);
	av_frame_free(&s->pic);
	slate_free_pcm(s);
	free(s->image);
	free(s->audio);
	free(s);
}

bool
slate_running(const struct slate *s)
{
	return s != NULL && s->running;
}

/* A decoder for the best stream of type in ic: its index, or -1. */
static int
slate_open_dec(AVFormatContext *ic, enum AVMediaType type,
    AVCodecContext **dc, char *warn)
{
	const AVCodec	*d;
	int		 si, ret;

	if ((ret = avformat_find_stream_info(ic, NULL)) < 0 ||
	    (si = ret = av_find_best_stream(ic, type, -1, -1, &d, 0)) < 0) {
		snprintf(warn, SLATE_WHY_MAX, "no %s in it: %s",
		    av_get_media_type_string(type), av_err2str(ret));
		return -1;
	}
	if ((*dc = avcodec_alloc_context3(d)) == NULL ||
	    (ret = avcodec_parameters_to_context(*dc,
	    ic->streams[si]->codecpar)) < 0 ||
	    (ret = avcodec_open2(*dc, d, NULL)) < 0) {
		snprintf(warn, SLATE_WHY_MAX, "cannot decode it: %s",
		    av_err2str(ret < 0 ? ret : AVERROR(ENOMEM)));
		return -1;
	}
	return si;
}

/* The next decoded frame of stream si into f: 0, or -1 at the end. */
static int
slate_decode(AVFormatContext *ic, AVCodecContext *dc, int si, AVPacket *pkt,
    AVFrame *f, bool *eof)
{
	int	ret;

	while ((ret = avcodec_receive_frame(dc, f)) == AVERROR(EAGAIN)) {
		if (*eof)
			return -1;
		if (av_read_frame(ic, pkt) < 0) {
			*eof = true;
			avcodec_send_packet(dc, NULL);
			continue;
		}
		if (pkt->stream_index == si)
			avcodec_send_packet(dc, pkt);
		av_packet_unref(pkt);
	}
	return ret < 0 ? -1 : 0;
}

static AVFrame *
slate_black(int w, int h)
{
	AVFrame	*f;

	if ((f = av_frame_alloc()) == NULL)
		return NULL;
	f->format = AV_PIX_FMT_YUV420P;
	f->width = w;
	f->height = h;
	if (av_frame_get_buffer(f, 0) < 0) {
		av_frame_free(&f);
		return NULL;
	}
	memset(f->data[0], 16, (size_t)f->linesize[0] * h);
	memset(f->data[1], 128, (size_t)f->linesize[1] * ((h + 1) / 2));
	memset(f->data[2], 128, (size_t)f->linesize[2] * ((h + 1) / 2));
	return f;
}

/* The image file scaled into dst (yuv420p, allocated): 0 or -1, *warn. */
static int
slate_load_image(const char *path, AVFrame *dst, char *warn)
{
	AVFormatContext		*ic = NULL;
	AVCodecContext		*dc = NULL;
	AVPacket		*pkt = av_packet_alloc();
	AVFrame			*f = av_frame_alloc();
	struct SwsContext	*sws = NULL;
	bool			 eof = false;
	int			 si, ret, rc = -1;

	if (pkt == NULL || f == NULL) {
		snprintf(warn, SLATE_WHY_MAX, "out of memory");
		goto out;
	}
	if ((ret = avformat_open_input(&ic, path, NULL, NULL)) < 0) {
		snprintf(warn, SLATE_WHY_MAX, "%s", av_err2str(ret));
		goto out;
	}
	if ((si = slate_open_dec(ic, AVMEDIA_TYPE_VIDEO, &dc, warn)) < 0)
		goto out;
	if (slate_decode(ic, dc, si, pkt, f, &eof) == -1) {
		snprintf(warn, SLATE_WHY_MAX, "no picture decoded");
		goto out;
	}
	sws = sws_getContext(f->width, f->height, f->format, dst->width,
	    dst->height, dst->format, SWS_BICUBIC, NULL, NULL, NULL);
	if (sws == NULL || sws_scale_frame(sws, dst, f) < 0) {
		snprintf(warn, SLATE_WHY_MAX, "cannot scale %dx%d %s", f->width,
		    f->height, av_get_pix_fmt_name(f->format));
		goto out;
	}
	rc = 0;
out:
	sws_freeContext(sws);
	av_frame_free(&f);
	av_packet_free(&pkt);
	avcodec_free_context(&dc);
	avformat_close_input(&ic);
	return rc;
}

static void
slate_prefix(char *warn, const char *what)
{
	char	tmp[SLATE_WHY_MAX];
	int	n;

	n = snprintf(tmp, sizeof(tmp), "%s: ", what);
	snprintf(tmp + n, sizeof(tmp) - (size_t)n, "%.*s",
	    (int)(sizeof(tmp) - (size_t)n - 1), warn);
	memcpy(warn, tmp, sizeof(tmp));
}

/* The picture at the slate's size, made once per size. */
static int
slate_picture(struct slate *s, char *warn)
{
	if (s->pic != NULL && s->pic->width == s->p.width &&
	    s->pic->height == s->p.height)
		return 0;
	av_frame_free(&s->pic);
	if ((s->pic = slate_black(s->p.width, s->p.height)) == NULL)
		return -1;
	if (s->image != NULL && slate_load_image(s->image, s->pic, warn) ==
	    -1) {
		slate_prefix(warn, "image");
		av_frame_free(&s->pic);	/* a partial scale: black again */
		s->pic = slate_black(s->p.width, s->p.height);
	}
	return s->pic != NULL ? 0 : -1;
}

/* Appends n samples of the planar float buffers in to the PCM. */
static int
slate_pcm_add(struct slate *s, uint8_t **in, int n)
{
	float	*p;
	int	 c;

	for (c = 0; c < s->pcm_ch; c++) {
		if ((p = realloc(s->pcm[c], sizeof(float) *
		    (size_t)(s->pcm_n + n))) == NULL)
			return -1;
		memcpy(p + s->pcm_n, in[c], sizeof(float) * (size_t)n);
		s->pcm[c] = p;
	}
	s->pcm_n += n;
	return 0;
}

/* The audio file decoded and resampled to fltp at the slate's rate and
 * channels, up to SLATE_AUDIO_MAX_S: 0 or -1, *warn. */
static int
slate_load_audio(struct slate *s, char *warn)
{
	AVFormatContext	*ic = NULL;
	AVCodecContext	*dc = NULL;
	AVPacket	*pkt = av_packet_alloc();
	AVFrame		*f = av_frame_alloc();
	SwrContext	*swr = NULL;
	AVChannelLayout	 lay;
	uint8_t		**buf = NULL;
	bool		 eof = false;
	int		 si, ret, n, cap, rc = -1;

	av_channel_layout_default(&lay, s->p.channels);
	if (pkt == NULL || f == NULL || (s->pcm = calloc((size_t)s->p.channels,
	    sizeof(*s->pcm))) == NULL) {
		snprintf(warn, SLATE_WHY_MAX, "out of memory");
		goto out;
	}
	s->pcm_ch = s->p.channels;
	s->pcm_rate = s->p.sample_rate;
	if ((ret = avformat_open_input(&ic, s->audio, NULL, NULL)) < 0) {
		snprintf(warn, SLATE_WHY_MAX, "%s", av_err2str(ret));
		goto out;
	}
	if ((si = slate_open_dec(ic, AVMEDIA_TYPE_AUDIO, &dc, warn)) < 0)
		goto out;
	while (s->pcm_n < SLATE_AUDIO_MAX_S * s->pcm_rate &&
	    slate_decode(ic, dc, si, pkt, f, &eof) == 0) {
		if (swr == NULL && (swr_alloc_set_opts2(&swr, &lay,
		    AV_SAMPLE_FMT_FLTP, s->pcm_rate, &f->ch_layout, f->format,
		    f->sample_rate, 0, NULL) < 0 || swr_init(swr) < 0)) {
			snprintf(warn, SLATE_WHY_MAX, "cannot resample it");
			goto out;
		}
		cap = swr_get_out_samples(swr, f->nb_samples);
		if (cap <= 0 || av_samples_alloc_array_and_samples(&buf, NULL,
		    s->pcm_ch, cap, AV_SAMPLE_FMT_FLTP, 0) < 0)
			goto oom;
		n = swr_convert(swr, buf, cap,
		    (const uint8_t **)f->extended_data, f->nb_samples);
		if (n > 0 && slate_pcm_add(s, buf, n) == -1)
			goto oom;
		av_freep(&buf[0]);
		av_freep(&buf);
		av_frame_unref(f);
	}
	if (s->pcm_n == 0) {
		snprintf(warn, SLATE_WHY_MAX, "no sound decoded");
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(warn, SLATE_WHY_MAX, "out of memory");
out:
	if (buf != NULL)
		av_freep(&buf[0]);
	av_freep(&buf);
	swr_free(&swr);
	av_frame_free(&f);
	av_packet_free(&pkt);
	avcodec_free_context(&dc);
	avformat_close_input(&ic);
	av_channel_layout_uninit(&lay);
	return rc;
}

/* The sound at the slate's rate and channels, made once per format. */
static void
slate_sound(struct slate *s, char *warn)
{
	if (s->pcm_loaded && s->pcm_rate == s->p.sample_rate &&
	    s->pcm_ch == s->p.channels)
		return;
	slate_free_pcm(s);
	s->pcm_loaded = true;
	if (s->audio != NULL && slate_load_audio(s, warn) == -1) {
		slate_prefix(warn, "audio");
		slate_free_pcm(s);
		/* silence for this format, without trying the file again */
		s->pcm_loaded = true;
		s->pcm_rate = s->p.sample_rate;
		s->pcm_ch = s->p.channels;
	}
}

static const char *
slate_x264_profile(int profile)
{
	switch (profile) {
	case FF_PROFILE_H264_BASELINE:
	case FF_PROFILE_H264_CONSTRAINED_BASELINE:
		return "baseline";
	case FF_PROFILE_H264_MAIN:
	case FF_PROFILE_H264_EXTENDED:
		return "main";
	default:
		return "high";
	}
}

/* An Exp-Golomb ue(v) at bit *pos of p (n bytes); -1 past the end. */
static long
slate_ue(const uint8_t *p, size_t n, size_t *pos)
{
	unsigned	zeros = 0;
	long		v = 1;

	while (*pos < 8 * n && !(p[*pos / 8] & (0x80 >> (*pos % 8)))) {
		if (++zeros > 30)
			return -1;
		(*pos)++;
	}
	for ((*pos)++; zeros > 0; zeros--, (*pos)++) {
		if (*pos >= 8 * n)
			return -1;
		v = v << 1 | ((p[*pos / 8] >> (7 - *pos % 8)) & 1);
	}
	return *pos > 8 * n ? -1 : v - 1;
}

/*
 * The parameter set ids the source's AVC config (ISO 14496-15 5.2.4.1)
 * uses, as a mask.  The slate takes another, so a parser that keeps the
 * stream's first configuration (and never sees a new sequence header)
 * still knows the source's sets after the slate, and learns the slate's
 * from its keyframes (they repeat them in-band).
 */
static uint32_t
slate_avcc_ids(const uint8_t *p, size_t n)
{
	uint32_t	mask = 1;	/* 0: the usual one */
	size_t		off = 6, len, pos;
	unsigned	i, cnt;
	long		id;
	int		k;

	if (p == NULL || n < 7 || p[0] != 1)
		return mask;
	for (k = 0; k < 2; k++) {
		if (off >= n)
			break;
		cnt = k == 0 ? (p[5] & 0x1f) : p[off++];
		for (i = 0; i < cnt && off + 2 <= n; i++) {
			len = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
			if (len > n - off)
				return mask;
			/* SPS: the id follows profile, flags, level; PPS: it
			 * comes first */
			pos = k == 0 ? 32 : 8;
			if ((id = slate_ue(p + off, len, &pos)) >= 0 && id < 32)
				mask |= 1u << id;
			off += len;
		}
	}
	return mask;
}

static int
slate_open_enc(AVCodecContext *c, AVDictionary **opts, char *why)
{
	int	ret;

	c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	c->thread_count = 1;
	if ((ret = avcodec_open2(c, c->codec, opts)) < 0)
		snprintf(why, SLATE_WHY_MAX, "cannot open slate encoder %s: %s",
		    c->codec->name, av_err2str(ret));
	av_dict_free(opts);
	return ret;
}

static int
slate_video_enc(struct slate *s, char *why)
{
	const AVCodec	*codec = avcodec_find_encoder_by_name("libx264");
	AVCodecContext	*c;
	AVDictionary	*opts = NULL;
	uint32_t	 used = slate_avcc_ids(s->p.avcc, s->p.avcc_len);
	char		 x264[64];
	int		 id;

	for (id = 1; id < 31 && (used & (1u << id)); id++)
		;
	snprintf(x264, sizeof(x264), "sps-id=%d:repeat-headers=1", id);
	if (codec == NULL) {
		snprintf(why, SLATE_WHY_MAX, "no libx264 encoder");
		return AVERROR_ENCODER_NOT_FOUND;
	}
	if ((s->enc[INPUT_VIDEO] = c = avcodec_alloc_context3(codec)) == NULL)
		return AVERROR(ENOMEM);
	c->width = s->p.width;
	c->height = s->p.height;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->sample_aspect_ratio = (AVRational){ 1, 1 };
	c->framerate = s->p.fps;
	c->time_base = (AVRational){ 1, 1000 };
	c->gop_size = (int)lrint(av_q2d(s->p.fps));	/* a keyframe a second */
	c->max_b_frames = 0;
	c->rc_max_rate = SLATE_MAXRATE;
	c->rc_buffer_size = 2 * SLATE_MAXRATE;
	if (s->p.level > 0)
		c->level = s->p.level;
	if (av_dict_set(&opts, "preset", "veryfast", 0) < 0 ||
	    av_dict_set(&opts, "tune", "zerolatency", 0) < 0 ||
	    av_dict_set(&opts, "crf", SLATE_CRF, 0) < 0 ||
	    av_dict_set(&opts, "x264-params", x264, 0) < 0 ||
	    av_dict_set(&opts, "profile", slate_x264_profile(s->p.profile),
	    0) < 0) {
		av_dict_free(&opts);
		return AVERROR(ENOMEM);
	}
	return slate_open_enc(c, &opts, why);
}

static int
slate_audio_enc(struct slate *s, char *why)
{
	const AVCodec	*codec = avcodec_find_encoder_by_name("aac");
	AVCodecContext	*c;
	AVDictionary	*opts = NULL;

	if (codec == NULL) {
		snprintf(why, SLATE_WHY_MAX, "no aac encoder");
		return AVERROR_ENCODER_NOT_FOUND;
	}
	if ((s->enc[INPUT_AUDIO] = c = avcodec_alloc_context3(codec)) == NULL)
		return AVERROR(ENOMEM);
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	c->sample_rate = s->p.sample_rate;
	av_channel_layout_default(&c->ch_layout, s->p.channels);
	c->time_base = (AVRational){ 1, s->p.sample_rate };
	c->bit_rate = SLATE_ABITRATE_CH * s->p.channels;
	return slate_open_enc(c, &opts, why);
}

int
slate_start(struct slate *s, const struct slate_params *p, int64_t v0_ms,
    int64_t a0_ms, uint64_t now_ms, char *warn, char *why)
{
	char	spare[SLATE_WHY_MAX];

	*warn = *why = '\0';
	slate_stop(s);
	s->p = *p;
	if (s->p.track[INPUT_VIDEO] && (s->p.width <= 0 || s->p.height <= 0 ||
	    s->p.fps.num <= 0 || s->p.fps.den <= 0))
		s->p.track[INPUT_VIDEO] = false;
	if (s->p.track[INPUT_AUDIO] && (s->p.sample_rate <= 0 ||
	    s->p.channels <= 0))
		s->p.track[INPUT_AUDIO] = false;
	if (s->p.track[INPUT_VIDEO] && (slate_picture(s, warn) == -1 ||
	    (s->p.encode[INPUT_VIDEO] && slate_video_enc(s, why) < 0)))
		goto fail;
	if (s->p.track[INPUT_AUDIO]) {
		/* one warning is enough: the picture's comes first */
		slate_sound(s, *warn == '\0' ? warn : spare);
		if (s->p.encode[INPUT_AUDIO] && slate_audio_enc(s, why) < 0)
			goto fail;
	}
	s->v0_ms = v0_ms;
	s->a0_ms = a0_ms;
	s->wall0_ms = now_ms;
	s->nv = s->na = 0;
	s->force_key = true;
	s->running = true;
	return 0;
fail:
	if (*why == '\0')
		snprintf(why, SLATE_WHY_MAX, "out of memory");
	slate_stop(s);
	return -1;
}

void
slate_force_key(struct slate *s)
{
	if (s != NULL)
		s->force_key = true;
}

/* When frame n of track t is due, in ms after wall0. */
static uint64_t
slate_due(const struct slate *s, int t, int64_t n)
{
	if (t == INPUT_VIDEO)
		return (uint64_t)llrint((double)n * 1000 * s->p.fps.den /
		    s->p.fps.num);
	return (uint64_t)((n * SLATE_AFRAME * 1000) / s->p.sample_rate);
}

/* The track whose next frame is due first, or -1 without tracks. */
static int
slate_first(const struct slate *s, uint64_t *at)
{
	uint64_t	d;
	int		t, best = -1;

	for (t = 0; t < INPUT_NTRACKS; t++) {
		if (!s->p.track[t])
			continue;
		d = s->wall0_ms + slate_due(s, t, t == INPUT_VIDEO ? s->nv :
		    s->na);
		if (best == -1 || d < *at) {
			best = t;
			*at = d;
		}
	}
	return best;
}

unsigned
slate_wait_ms(const struct slate *s, uint64_t now_ms)
{
	uint64_t	at = 0;

	if (!slate_running(s) || slate_first(s, &at) == -1)
		return 1000;
	return at <= now_ms ? 0 : (unsigned)(at - now_ms);
}

static AVFrame *
slate_video_frame(struct slate *s)
{
	AVFrame	*f;

	if ((f = av_frame_clone(s->pic)) == NULL)
		return NULL;
	f->pts = s->v0_ms + (int64_t)slate_due(s, INPUT_VIDEO, s->nv);
	f->pict_type = s->force_key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	s->force_key = false;
	s->nv++;
	return f;
}

static AVFrame *
slate_audio_frame(struct slate *s)
{
	AVFrame	*f;
	int	 c, i, k;

	if ((f = av_frame_alloc()) == NULL)
		return NULL;
	f->format = AV_SAMPLE_FMT_FLTP;
	f->sample_rate = s->p.sample_rate;
	f->nb_samples = SLATE_AFRAME;
	av_channel_layout_default(&f->ch_layout, s->p.channels);
	if (av_frame_get_buffer(f, 0) < 0) {
		av_frame_free(&f);
		return NULL;
	}
	for (c = 0; c < s->p.channels; c++) {
		if (s->pcm_n == 0) {
			memset(f->data[c], 0, sizeof(float) * SLATE_AFRAME);
			continue;
		}
		for (i = 0, k = s->pcm_pos; i < SLATE_AFRAME; i++) {
			((float *)f->data[c])[i] = s->pcm[c][k];
			if (++k == s->pcm_n)
				k = 0;
		}
	}
	if (s->pcm_n > 0)
		s->pcm_pos = (int)((s->pcm_pos + SLATE_AFRAME) % s->pcm_n);
	/* an encoded track counts samples, a raw one is in ms */
	f->pts = s->p.encode[INPUT_AUDIO] ? s->na * SLATE_AFRAME :
	    s->a0_ms + (int64_t)slate_due(s, INPUT_AUDIO, s->na);
	s->na++;
	return f;
}

/* An encoder's packet onto the slate's ms clock, with its config. */
static void
slate_stamp(struct slate *s, int t, AVPacket *pkt)
{
	AVCodecContext	*c = s->enc[t];
	uint8_t		*sd;
	int64_t		 ms;

	if (t == INPUT_AUDIO) {
		/* the priming samples are not ours: the first packet is 0 */
		ms = s->a0_ms + llrint((double)(pkt->pts + c->initial_padding) *
		    1000 / c->sample_rate);
		pkt->pts = pkt->dts = ms;
		pkt->duration = av_rescale(pkt->duration, 1000,
		    c->sample_rate);
	}
	pkt->stream_index = t;
	if ((t == INPUT_AUDIO || (pkt->flags & AV_PKT_FLAG_KEY)) &&
	    c->extradata_size > 0 && (sd = av_packet_new_side_data(pkt,
	    AV_PKT_DATA_NEW_EXTRADATA, (size_t)c->extradata_size)) != NULL)
		memcpy(sd, c->extradata, (size_t)c->extradata_size);
}

/* Re-anchors the clock when the caller fell far behind. */
static void
slate_catch_up(struct slate *s, uint64_t now_ms)
{
	uint64_t	at = 0;

	if (slate_first(s, &at) != -1 && now_ms > at + SLATE_BEHIND_MS)
		s->wall0_ms += now_ms - at;
}

enum slate_res
slate_next(struct slate *s, uint64_t now_ms, int *track, AVPacket *pkt,
    AVFrame **frame)
{
	AVFrame		*f;
	uint64_t	 at = 0;
	int		 t;

	if (!slate_running(s))
		return SLATE_NONE;
	slate_catch_up(s, now_ms);
	for (;;) {
		for (t = 0; t < INPUT_NTRACKS; t++)
			if (s->enc[t] != NULL &&
			    avcodec_receive_packet(s->enc[t], pkt) == 0) {
				slate_stamp(s, t, pkt);
				*track = t;
				return SLATE_PACKET;
			}
		if ((t = slate_first(s, &at)) == -1 || at > now_ms)
			return SLATE_NONE;
		f = t == INPUT_VIDEO ? slate_video_frame(s) :
		    slate_audio_frame(s);
		if (f == NULL)
			return SLATE_NONE;
		if (s->p.encode[t]) {
			avcodec_send_frame(s->enc[t], f);
			av_frame_free(&f);
			continue;
		}
		av_frame_free(&s->out);
		*frame = s->out = f;
		*track = t;
		return SLATE_FRAME;
	}
}
