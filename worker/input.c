/*
 * FLV tag bodies to packets (FLV 10.1 E.4.2/E.4.3): an AVC sequence header
 * becomes the video extradata (the AVCDecoderConfigurationRecord as is),
 * an AAC one the audio extradata (AudioSpecificConfig); NALU and raw AAC
 * tags become packets whose data are the codec bytes, unchanged, so a
 * remux is packet-exact.
 */
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/mem.h>

#include "common/flv.h"
#include "common/tag.h"
#include "worker/input.h"

void
input_init(struct input *in)
{
	memset(in, 0, sizeof(*in));
}

void
input_clear(struct input *in)
{
	int	i;

	for (i = 0; i < INPUT_NTRACKS; i++)
		avcodec_parameters_free(&in->par[i]);
}

/* Replaces the track's parameters when the configuration changed. */
static int
input_set_config(struct input *in, enum input_track t,
    AVCodecParameters *par, const uint8_t *cfg, size_t len)
{
	AVCodecParameters	*old = in->par[t];

	if (old != NULL && (size_t)old->extradata_size == len &&
	    memcmp(old->extradata, cfg, len) == 0) {
		avcodec_parameters_free(&par);
		return 0;	/* a repeated header: nothing changes */
	}
	par->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
	if (par->extradata == NULL) {
		avcodec_parameters_free(&par);
		return -1;
	}
	memcpy(par->extradata, cfg, len);
	par->extradata_size = (int)len;
	avcodec_parameters_free(&in->par[t]);
	in->par[t] = par;
	in->gen[t]++;
	return 0;
}

static enum input_res
input_video(struct input *in, const struct ipc_media *m, AVPacket *pkt,
    const char **why)
{
	struct flv_video	 v;
	struct flv_video_format	 f;
	AVCodecParameters	*par;
	const uint8_t		*p;
	size_t			 n;

	if (flv_video_parse(m->data, m->len, &v) == -1) {
		*why = "malformed video tag";
		return INPUT_SKIP;
	}
	if (v.codec != FLV_VCODEC_AVC) {
		*why = "video codec not supported (H.264 only)";
		return INPUT_SKIP;
	}
	if (v.end_of_seq || v.info_frame)
		return INPUT_NONE;
	p = m->data + v.payload_off;
	n = m->len - v.payload_off;
	if (v.seq_header) {
		if (flv_avc_config_parse(p, n, &f) == -1) {
			*why = "malformed AVC sequence header";
			return INPUT_SKIP;
		}
		if ((par = avcodec_parameters_alloc()) == NULL) {
			*why = "out of memory";
			return INPUT_SKIP;
		}
		par->codec_type = AVMEDIA_TYPE_VIDEO;
		par->codec_id = AV_CODEC_ID_H264;
		par->width = (int)f.width;
		par->height = (int)f.height;
		par->profile = (int)f.profile;
		par->level = (int)f.level;
		if (input_set_config(in, INPUT_VIDEO, par, p, n) == -1) {
			*why = "out of memory";
			return INPUT_SKIP;
		}
		return INPUT_NONE;
	}
	if (in->par[INPUT_VIDEO] == NULL) {
		*why = "video before its sequence header";
		return INPUT_SKIP;
	}
	if (av_new_packet(pkt, (int)n) < 0) {
		*why = "out of memory";
		return INPUT_SKIP;
	}
	memcpy(pkt->data, p, n);
	pkt->dts = m->ts_ms;
	pkt->pts = (int64_t)m->ts_ms + v.cts_ms;
	if (v.keyframe)
		pkt->flags |= AV_PKT_FLAG_KEY;
	pkt->stream_index = INPUT_VIDEO;
	return INPUT_PACKET;
}

static enum input_res
input_audio(struct input *in, const struct ipc_media *m, AVPacket *pkt,
    const char **why)
{
	struct flv_audio	 a;
	struct flv_audio_format	 f;
	AVCodecParameters	*par;
	const uint8_t		*p;
	size_t			 n;

	if (flv_audio_parse(m->data, m->len, &a) == -1) {
		*why = "malformed audio tag";
		return INPUT_SKIP;
	}
	if (a.codec != FLV_ACODEC_AAC) {
		*why = "audio codec not supported (AAC only)";
		return INPUT_SKIP;
	}
	p = m->data + a.payload_off;
	n = m->len - a.payload_off;
	if (a.seq_header) {
		if (flv_aac_config_parse(p, n, &f) == -1 || f.channels == 0) {
			*why = "malformed AAC sequence header";
			return INPUT_SKIP;
		}
		if ((par = avcodec_parameters_alloc()) == NULL) {
			*why = "out of memory";
			return INPUT_SKIP;
		}
		par->codec_type = AVMEDIA_TYPE_AUDIO;
		par->codec_id = AV_CODEC_ID_AAC;
		par->sample_rate = (int)f.rate_hz;
		av_channel_layout_default(&par->ch_layout, (int)f.channels);
		par->frame_size = 1024;
		if (input_set_config(in, INPUT_AUDIO, par, p, n) == -1) {
			*why = "out of memory";
			return INPUT_SKIP;
		}
		return INPUT_NONE;
	}
	if (in->par[INPUT_AUDIO] == NULL) {
		*why = "audio before its sequence header";
		return INPUT_SKIP;
	}
	if (av_new_packet(pkt, (int)n) < 0) {
		*why = "out of memory";
		return INPUT_SKIP;
	}
	memcpy(pkt->data, p, n);
	pkt->dts = pkt->pts = m->ts_ms;
	pkt->flags |= AV_PKT_FLAG_KEY;
	pkt->stream_index = INPUT_AUDIO;
	return INPUT_PACKET;
}

enum input_res
input_feed(struct input *in, const struct ipc_media *m, uint64_t now_ms,
    AVPacket *pkt, const char **why)
{
	if (in->first_ms == 0 && m->type != TAG_SCRIPT)
		in->first_ms = now_ms;
	switch (m->type) {
	case TAG_VIDEO:
		return input_video(in, m, pkt, why);
	case TAG_AUDIO:
		return input_audio(in, m, pkt, why);
	case TAG_SCRIPT:
		/* onMetaData: the muxer writes its own */
		return INPUT_NONE;
	default:
		*why = "unknown tag type";
		return INPUT_SKIP;
	}
}

bool
input_ready(const struct input *in, uint64_t now_ms, uint64_t wait_ms)
{
	bool	v = in->par[INPUT_VIDEO] != NULL;
	bool	a = in->par[INPUT_AUDIO] != NULL;

	if (v && a)
		return true;
	return (v || a) && now_ms - in->first_ms >= wait_ms;
}
