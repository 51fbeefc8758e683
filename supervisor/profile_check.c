/*
 * The libav half of profile validation: does the linked libavcodec have
 * the encoder, of the right kind, with that pixel format and sample rate,
 * and can the relay's container (flv for rtmp, mpegts for srt, the file's
 * extension) carry it.  Only looks up tables: never opens an encoder.
 */
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include "supervisor/profile_check.h"

static int
profile_check_encoder(const char *name, enum AVMediaType type,
    const AVCodec **out, char *why, size_t whylen)
{
	const AVCodec	*c = avcodec_find_encoder_by_name(name);

	if (c == NULL) {
		snprintf(why, whylen, "unknown encoder \"%s\" (not in the "
		    "linked libavcodec %s)", name,
		    AV_STRINGIFY(LIBAVCODEC_VERSION));
		return -1;
	}
	if (c->type != type) {
		snprintf(why, whylen, "\"%s\" is not a%s encoder", name,
		    type == AVMEDIA_TYPE_VIDEO ? " video" : "n audio");
		return -1;
	}
	*out = c;
	return 0;
}

static int
profile_check_video(const struct cfg_video *v, enum cfg_pf *f, char *why,
    size_t whylen)
{
	const AVCodec		*c;
	const enum AVPixelFormat *pf;
	enum AVPixelFormat	 want;

	*f = CFG_PF_VCODEC;
	if (profile_check_encoder(v->codec, AVMEDIA_TYPE_VIDEO, &c, why,
	    whylen) == -1)
		return -1;
	if (v->pix_fmt == NULL)
		return 0;
	*f = CFG_PF_PIX_FMT;
	if ((want = av_get_pix_fmt(v->pix_fmt)) == AV_PIX_FMT_NONE) {
		snprintf(why, whylen, "unknown pixel format \"%s\"",
		    v->pix_fmt);
		return -1;
	}
	for (pf = c->pix_fmts; pf != NULL && *pf != AV_PIX_FMT_NONE; pf++)
		if (*pf == want)
			return 0;
	if (c->pix_fmts == NULL)
		return 0;
	snprintf(why, whylen, "%s cannot encode pixel format %s", c->name,
	    v->pix_fmt);
	return -1;
}

static int
profile_check_audio(const struct cfg_audio *a, enum cfg_pf *f, char *why,
    size_t whylen)
{
	const AVCodec	*c;
	const int	*r;

	*f = CFG_PF_ACODEC;
	if (profile_check_encoder(a->codec, AVMEDIA_TYPE_AUDIO, &c, why,
	    whylen) == -1)
		return -1;
	if (a->sample_rate == 0 || c->supported_samplerates == NULL)
		return 0;
	for (r = c->supported_samplerates; *r != 0; r++)
		if (*r == (int)a->sample_rate)
			return 0;
	*f = CFG_PF_RATE;
	snprintf(why, whylen, "%s cannot encode at %u Hz", c->name,
	    a->sample_rate);
	return -1;
}

/* The muxer the worker picks for url (see worker/output.c). */
static const AVOutputFormat *
profile_check_muxer(const char *url)
{
	if (strncmp(url, "rtmp://", 7) == 0 || strncmp(url, "rtmps://", 8) == 0)
		return av_guess_format("flv", NULL, NULL);
	if (strncmp(url, "srt://", 6) == 0)
		return av_guess_format("mpegts", NULL, NULL);
	if (strncmp(url, "file:", 5) == 0)
		url += 5;
	return av_guess_format(NULL, url, NULL);
}

static int
profile_check_carry(const AVOutputFormat *of, const char *name,
    enum cfg_pf field, enum cfg_pf *f, char *why, size_t whylen)
{
	const AVCodec	*c = avcodec_find_encoder_by_name(name);

	/* 0 is a definite no; a negative answer means "not known" */
	if (c == NULL || avformat_query_codec(of, c->id,
	    FF_COMPLIANCE_NORMAL) != 0)
		return 0;
	*f = field;
	snprintf(why, whylen, "the %s container of this relay cannot carry "
	    "%s (from %s)", of->name, avcodec_get_name(c->id), name);
	return -1;
}

int
profile_check(const struct cfg_profile *p, const char *url, enum cfg_pf *f,
    char *why, size_t whylen)
{
	const AVOutputFormat	*of;

	if (url == NULL)
		return (p->video.codec != NULL && profile_check_video(&p->video,
		    f, why, whylen) == -1) || (p->audio.codec != NULL &&
		    profile_check_audio(&p->audio, f, why, whylen) == -1) ?
		    -1 : 0;
	if ((of = profile_check_muxer(url)) == NULL)
		return 0;	/* the worker reports an unknown extension */
	if (p->video.codec != NULL && profile_check_carry(of, p->video.codec,
	    CFG_PF_VCODEC, f, why, whylen) == -1)
		return -1;
	if (p->audio.codec != NULL && profile_check_carry(of, p->audio.codec,
	    CFG_PF_ACODEC, f, why, whylen) == -1)
		return -1;
	return 0;
}

int
profile_check_load(const char *path, struct cfg **out, struct cfg_err *err)
{
	struct cfg	*cfg;

	if (cfg_load(path, &cfg, err) == -1)
		return -1;
	if (cfg_profiles_check(cfg, profile_check, err) == -1) {
		cfg_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}
