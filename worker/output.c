/*
 * The destination session: picks the muxer from the URL (flv for RTMP and
 * RTMPS, mpegts for SRT, the file name's extension for files, with
 * strftime() applied once per session), rebases timestamps so each session
 * starts at 0 with A/V offsets kept and dts monotonic, and resumes at a
 * video keyframe.  Knows nothing of IPC, backoff or status.
 */
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "worker/output.h"

static const AVRational ms_tb = { 1, 1000 };

int
output_url_kind(const char *url)
{
	if (strncmp(url, "rtmp://", 7) == 0 || strncmp(url, "rtmps://", 8) == 0)
		return OUTPUT_RTMP;
	if (strncmp(url, "srt://", 6) == 0)
		return OUTPUT_SRT;
	if (strncmp(url, "file:", 5) == 0 || strstr(url, "://") == NULL)
		return *url != '\0' ? OUTPUT_FILE : -1;
	return -1;
}

void
output_init(struct output *o, const struct worker_cfg *cfg,
    int (*cb)(void *), void *opaque)
{
	memset(o, 0, sizeof(*o));
	o->cfg = cfg;
	o->icb.callback = cb;
	o->icb.opaque = opaque;
}

const AVOutputFormat *
output_format(const char *url)
{
	switch (output_url_kind(url)) {
	case OUTPUT_RTMP:
		return av_guess_format("flv", NULL, NULL);
	case OUTPUT_SRT:
		return av_guess_format("mpegts", NULL, NULL);
	case OUTPUT_FILE:
		return av_guess_format(NULL, strncmp(url, "file:", 5) == 0 ?
		    url + 5 : url, NULL);
	default:
		return NULL;
	}
}

void
output_set_encoder(struct output *o, int t, const AVCodecContext *enc)
{
	o->enc[t] = enc;
}

/* The file name of this session: the URL through strftime(). */
static int
output_path(struct output *o)
{
	struct tm	tm;
	time_t		now = time(NULL);

	localtime_r(&now, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	/* the pattern is the operator's, from the relay's URL */
	if (strftime(o->path, sizeof(o->path), o->cfg->url, &tm) == 0)
		return AVERROR(ENAMETOOLONG);
#pragma GCC diagnostic pop
	return 0;
}

/*
 * The protocol's options: libsrt drops unsent data at close in live mode,
 * so linger for the last packets before EOS to reach the receiver; RTMP
 * sends its handshake and every chunk header in small writes that Nagle
 * would hold back a round trip each (the handshake's first byte ~100 ms
 * late), so TCP_NODELAY (libavformat's tcp option, passed down through
 * rtmp and tls).
 */
static int
output_proto_opts(const char *url, AVDictionary **opts)
{
	int	ret = 0;

	switch (output_url_kind(url)) {
	case OUTPUT_SRT:
		ret = av_dict_set(opts, "linger", "2", 0);
		break;
	case OUTPUT_RTMP:
		ret = av_dict_set(opts, "tcp_nodelay", "1", 0);
		break;
	default:
		break;
	}
	return ret < 0 ? AVERROR(ENOMEM) : 0;
}

static int
output_add_streams(struct output *o, const struct input *in)
{
	AVStream	*st;
	int		 t, ret;

	for (t = 0; t < INPUT_NTRACKS; t++) {
		o->idx[t] = -1;
		o->last_dts[t] = INT64_MIN;
		if (in->par[t] == NULL)
			continue;
		if ((st = avformat_new_stream(o->oc, NULL)) == NULL)
			return AVERROR(ENOMEM);
		if (o->enc[t] != NULL)
			ret = avcodec_parameters_from_context(st->codecpar,
			    o->enc[t]);
		else
			ret = avcodec_parameters_copy(st->codecpar, in->par[t]);
		if (ret < 0)
			return ret;
		st->codecpar->codec_tag = 0;
		st->time_base = ms_tb;
		o->idx[t] = st->index;
		o->gen[t] = in->gen[t];
	}
	return 0;
}

int
output_open(struct output *o, const struct input *in, bool resuming,
    uint64_t now_ms)
{
	const char	*fmt = NULL, *target = o->cfg->url;
	AVDictionary	*opts = NULL;
	int		 ret;

	o->deadline_ms = now_ms + o->cfg->connect_timeout_ms;
	o->started = false;
	switch (output_url_kind(o->cfg->url)) {
	case OUTPUT_RTMP:
		fmt = "flv";
		break;
	case OUTPUT_SRT:
		fmt = "mpegts";
		break;
	case OUTPUT_FILE:
		if ((ret = output_path(o)) < 0)
			return ret;
		target = o->path;
		break;
	default:
		return AVERROR(EINVAL);
	}
	if ((ret = avformat_alloc_output_context2(&o->oc, NULL, fmt,
	    target)) < 0)
		return ret;
	o->oc->interrupt_callback = o->icb;
	if (o->enc[INPUT_VIDEO] != NULL || o->enc[INPUT_AUDIO] != NULL)
		o->oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_MAKE_NON_NEGATIVE;
	if ((ret = output_add_streams(o, in)) < 0)
		goto fail;
	if ((ret = output_proto_opts(o->cfg->url, &opts)) < 0)
		goto fail;
	if (!(o->oc->oformat->flags & AVFMT_NOFILE) &&
	    (ret = avio_open2(&o->oc->pb, target, AVIO_FLAG_WRITE,
	    &o->oc->interrupt_callback, &opts)) < 0)
		goto fail;
	if ((ret = avformat_write_header(o->oc, NULL)) < 0)
		goto fail;
	av_dict_free(&opts);
	o->need_key = o->idx[INPUT_VIDEO] >= 0;
	o->gate_audio = resuming;
	return 0;
fail:
	av_dict_free(&opts);
	output_close(o, false, 0, NULL);
	return ret;
}

int
output_write(struct output *o, AVPacket *pkt)
{
	int		 t = pkt->stream_index;
	int64_t		 dts, pts, floor;
	AVStream	*st;

	if (o->idx[t] < 0)
		goto drop;
	if (o->need_key) {
		/* when resuming, audio waits too: the session opens on a
		 * picture; from the start, encoders (ffmpeg's flv muxer) often
		 * send audio at 0 before the first frame, and it is kept */
		if (t == INPUT_VIDEO && (pkt->flags & AV_PKT_FLAG_KEY))
			o->need_key = false;
		else if (t == INPUT_VIDEO || o->gate_audio)
			goto drop;
	}
	if (!o->started) {
		o->base_ms = pkt->dts;
		o->started = true;
	}
	dts = pkt->dts - o->base_ms;
	pts = pkt->pts - o->base_ms;
	if (dts < 0 && o->enc[t] == NULL)
		goto drop;	/* older than the session's first frame */
	/* an encoder's first dts may precede the first packet of the other
	 * track (B-frame delay, audio priming); the muxer shifts all tracks
	 * by the same amount (avoid_negative_ts) */
	if (o->last_dts[t] != INT64_MIN) {
		floor = o->last_dts[t] +
		    ((o->oc->oformat->flags & AVFMT_TS_NONSTRICT) ? 0 : 1);
		if (dts < floor)
			dts = floor;
	}
	if (pts < dts)
		pts = dts;
	o->last_dts[t] = dts;
	pkt->dts = dts;
	pkt->pts = pts;
	pkt->stream_index = o->idx[t];
	st = o->oc->streams[o->idx[t]];
	av_packet_rescale_ts(pkt, ms_tb, st->time_base);
	o->deadline_ms = util_mono_ms() + o->cfg->io_timeout_ms;
	return av_interleaved_write_frame(o->oc, pkt);
drop:
	av_packet_unref(pkt);
	return 1;
}

int
output_close(struct output *o, bool trailer, uint32_t timeout_ms,
    int64_t *bytes)
{
	struct stat	sb;
	int64_t		n;
	int		ret = 0, r;

	if (bytes != NULL)
		*bytes = 0;
	if (o->oc == NULL)
		return 0;
	o->deadline_ms = util_mono_ms() + timeout_ms;
	if (trailer)
		ret = av_write_trailer(o->oc);
	n = output_bytes(o);
	if (!(o->oc->oformat->flags & AVFMT_NOFILE) &&
	    (r = avio_closep(&o->oc->pb)) < 0 && ret == 0)
		ret = r;
	/* a muxer that seeks back (Matroska, MP4) leaves the position short
	 * of the end: a file's size is what was written */
	if (output_url_kind(o->cfg->url) == OUTPUT_FILE &&
	    stat(o->path, &sb) == 0)
		n = sb.st_size;
	avformat_free_context(o->oc);
	o->oc = NULL;
	if (bytes != NULL)
		*bytes = n;
	return ret;
}

int64_t
output_bytes(const struct output *o)
{
	int64_t	n;

	if (o->oc == NULL || o->oc->pb == NULL)
		return 0;
	n = avio_tell(o->oc->pb);
	return n < 0 ? 0 : n;
}

bool
output_stale(const struct output *o, const struct input *in)
{
	int	t;

	/* an encoded track follows a new source format by itself */
	for (t = 0; t < INPUT_NTRACKS; t++)
		if (o->idx[t] >= 0 && o->enc[t] == NULL &&
		    in->gen[t] != o->gen[t])
			return true;
	return false;
}

void
output_adopt(struct output *o, const struct input *in)
{
	int	t;

	for (t = 0; t < INPUT_NTRACKS; t++)
		o->gen[t] = in->gen[t];
}
