/*
 * One publisher of a stream; see source.h.  Media arrives as RTMP
 * messages from the session and becomes refcounted FLV tags, kept in a
 * GOP cache from the last keyframe; the stream fans them out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/tag.h"
#include "common/util.h"
#include "supervisor/db.h"
#include "supervisor/server.h"
#include "supervisor/source.h"
#include "supervisor/stream.h"

const char *
source_label(enum source_role role)
{
	return role == SOURCE_BACKUP ? "backup" : "primary";
}

static void
source_gop_clear(struct source *src)
{
	size_t	i;

	for (i = 0; i < src->ngop; i++)
		tag_unref(src->gop[i]);
	src->ngop = 0;
	src->gop_bytes = 0;
}

struct source *
source_new(struct stream *st, enum source_role role, const char *key,
    struct session *sess, uint64_t conn, const char *client)
{
	struct server	*srv = st->srv;
	struct source	*src;
	uint8_t		 rnd[16];
	size_t		 i;

	if ((src = calloc(1, sizeof(*src))) == NULL)
		return NULL;
	src->st = st;
	src->role = role;
	src->session = sess;
	src->conn = conn;
	src->acodec = FLV_ACODEC_NONE;
	snprintf(src->client, sizeof(src->client), "%s", client);
	if ((src->key = strdup(key)) == NULL ||
	    (src->gop = calloc(SOURCE_GOP_MAX_TAGS, sizeof(*src->gop))) ==
	    NULL || util_random(rnd, sizeof(rnd)) == -1) {
		free(src->gop);
		free(src->key);
		free(src);
		return NULL;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(src->id + 2 * i, 3, "%02x", rnd[i]);
	src->started_ms = util_mono_ms();
	src->rate_ms[0] = src->started_ms;	/* rates start from here */
	db_session_start(srv->db, src->id, st->name, src->client,
	    util_wall_s());
	db_key_touch(srv->db, st->name, util_wall_s());
	server_count_publish(srv, st->name);
	log_info("publish.started", "conn=%llu stream=%s key=%s client=%s "
	    "source=%s", (unsigned long long)conn, st->name, MASK(key),
	    src->client, source_label(role));
	return src;
}

void
source_end(struct source *src, const char *reason)
{
	struct server	*srv = src->st->srv;
	int64_t		 now = util_wall_s();

	log_info("publish.stopped", "conn=%llu stream=%s reason=%s "
	    "duration_ms=%llu video_frames=%llu video_bytes=%llu "
	    "audio_frames=%llu audio_bytes=%llu bytes_in=%llu bad_tags=%llu "
	    "source=%s", (unsigned long long)src->conn, src->st->name,
	    LQ(reason),
	    (unsigned long long)(util_mono_ms() - src->started_ms),
	    (unsigned long long)src->video_frames,
	    (unsigned long long)src->video_bytes,
	    (unsigned long long)src->audio_frames,
	    (unsigned long long)src->audio_bytes,
	    (unsigned long long)src->bytes_in,
	    (unsigned long long)src->bad_tags, source_label(src->role));
	db_session_end(srv->db, src->id, now, src->bytes_in, reason);
	db_key_touch(srv->db, src->st->name, now);
	source_gop_clear(src);
	free(src->gop);
	tag_unref(src->video_seq);
	tag_unref(src->audio_seq);
	tag_unref(src->meta);
	explicit_bzero(src->key, strlen(src->key));
	free(src->key);
	free(src);
}

static void
source_log_codecs(struct source *src)
{
	char	video[96], audio[96];

	if (src->vcodec == FLV_VCODEC_NONE)
		snprintf(video, sizeof(video), "video=none");
	else
		snprintf(video, sizeof(video), "video=%s width=%u height=%u",
		    flv_vcodec_name(src->vcodec), src->vfmt.width,
		    src->vfmt.height);
	if (src->acodec == FLV_ACODEC_NONE)
		snprintf(audio, sizeof(audio), "audio=none");
	else
		snprintf(audio, sizeof(audio), "audio=%s rate=%u channels=%u",
		    flv_acodec_name(src->acodec), src->afmt.rate_hz,
		    src->afmt.channels);
	log_info("publish.codecs", "conn=%llu stream=%s %s %s",
	    (unsigned long long)src->conn, src->st->name, video, audio);
	src->codecs_logged = true;
}

/* Keeps t as the latest decoder configuration in *slot. */
static void
source_set_seq(struct tag **slot, struct tag *t)
{
	tag_unref(*slot);
	*slot = tag_ref(t);
}

/* Classifies a video body; returns its TAG_F_* flags, or -1 to drop it. */
static int
source_video(struct source *src, uint32_t ts_ms, const uint8_t *p, size_t n,
    bool *seq)
{
	struct flv_video	v;

	if (flv_video_parse(p, n, &v) == -1)
		return -1;
	src->vcodec = v.codec;
	if (v.seq_header) {
		*seq = true;
		if (v.codec == FLV_VCODEC_AVC &&
		    flv_avc_config_parse(p + v.payload_off, n - v.payload_off,
		    &src->vfmt) == -1)
			memset(&src->vfmt, 0, sizeof(src->vfmt));
		src->codecs_logged = false;
		return TAG_F_SEQHDR;
	}
	if (v.info_frame || v.end_of_seq)
		return 0;
	if (src->video_frames++ == 0)
		src->first_video_ts = ts_ms;
	src->video_bytes += n - v.payload_off;
	src->video_ts = ts_ms;
	return v.keyframe ? TAG_F_KEYFRAME : 0;
}

static int
source_audio(struct source *src, const uint8_t *p, size_t n, bool *seq)
{
	struct flv_audio	a;

	if (flv_audio_parse(p, n, &a) == -1)
		return -1;
	if (src->acodec != a.codec || a.codec != FLV_ACODEC_AAC) {
		/* without a config record the tag header is the format */
		src->afmt.rate_hz = a.rate_hz;
		src->afmt.channels = a.channels;
	}
	if (src->acodec != a.codec)
		src->codecs_logged = false;
	src->acodec = a.codec;
	if (a.seq_header) {
		*seq = true;
		if (flv_aac_config_parse(p + a.payload_off, n - a.payload_off,
		    &src->afmt) == -1)
			memset(&src->afmt, 0, sizeof(src->afmt));
		src->codecs_logged = false;
		return TAG_F_SEQHDR;
	}
	src->audio_frames++;
	src->audio_bytes += n - a.payload_off;
	return 0;
}

/* The GOP cache restarts at each keyframe; past its bounds it is dropped
 * until the next one, so a relay never starts from a partial GOP. */
static void
source_gop_add(struct source *src, struct tag *t)
{
	if (t->flags & TAG_F_KEYFRAME) {
		source_gop_clear(src);
		src->gop_valid = true;
	}
	if (!src->gop_valid || (t->flags & TAG_F_SEQHDR))
		return;
	if (src->ngop == SOURCE_GOP_MAX_TAGS ||
	    src->gop_bytes + t->len > SOURCE_GOP_MAX_BYTES) {
		log_warnx("stream.gop_overflow", "stream=%s tags=%zu bytes=%zu",
		    src->st->name, src->ngop, src->gop_bytes);
		source_gop_clear(src);
		src->gop_valid = false;
		return;
	}
	src->gop[src->ngop++] = tag_ref(t);
	src->gop_bytes += t->len;
}

int
source_on_media(struct source *src, uint8_t type, uint32_t ts_ms,
    const uint8_t *p, size_t n, struct tag **out, const char **why)
{
	struct tag	*t;
	bool		 seq = false;
	int		 flags;

	*out = NULL;
	if (n == 0)		/* some encoders send empty media messages */
		return 0;
	src->bytes_in += n;
	flags = type == TAG_VIDEO ? source_video(src, ts_ms, p, n, &seq) :
	    source_audio(src, p, n, &seq);
	if (flags == -1) {
		if (src->bad_tags++ == 0)
			log_warnx("publish.bad_tag", "conn=%llu stream=%s "
			    "type=%u len=%zu", (unsigned long long)src->conn,
			    src->st->name, type, n);
		return 0;
	}
	if ((t = tag_new(type, (uint8_t)flags, ts_ms, p, (uint32_t)n)) ==
	    NULL) {
		*why = "out of memory";
		return -1;
	}
	if (seq)
		source_set_seq(type == TAG_VIDEO ? &src->video_seq :
		    &src->audio_seq, t);
	source_gop_add(src, t);
	if (!src->codecs_logged && src->video_seq != NULL &&
	    (src->audio_seq != NULL || src->acodec != FLV_ACODEC_NONE) &&
	    !seq)
		source_log_codecs(src);
	*out = t;
	return 0;
}

int
source_on_metadata(struct source *src, uint32_t ts_ms, const uint8_t *p,
    size_t n, const char **why)
{
	struct tag	*t;

	if ((t = tag_new(TAG_SCRIPT, 0, ts_ms, p, (uint32_t)n)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	src->bytes_in += n;
	tag_unref(src->meta);
	src->meta = t;
	return 0;
}

void
source_tick(struct source *src, uint64_t now_ms)
{
	src->rate_i = (src->rate_i + 1) % SOURCE_RATE_TICKS;
	src->rate_ms[src->rate_i] = now_ms;
	src->rate_bytes[src->rate_i] = src->bytes_in;
	src->rate_frames[src->rate_i] = src->video_frames;
	src->rate_vts[src->rate_i] = src->video_ts;
	/* audio-only or video-only streams say so after two seconds */
	if (!src->codecs_logged && now_ms - src->started_ms >= 2000 &&
	    (src->video_frames > 0 || src->audio_frames > 0))
		source_log_codecs(src);
}

void
source_rates(const struct source *src, double *kbps, double *fps)
{
	unsigned	oldest = (src->rate_i + 1) % SOURCE_RATE_TICKS;
	uint64_t	ms, frames;
	uint32_t	vms;

	if (src->rate_ms[oldest] == 0)	/* fewer ticks so far */
		oldest = 0;
	ms = src->rate_ms[src->rate_i] - src->rate_ms[oldest];
	if (src->rate_ms[oldest] == 0 || ms == 0) {
		*kbps = *fps = 0;
		return;
	}
	*kbps = (double)(src->rate_bytes[src->rate_i] -
	    src->rate_bytes[oldest]) * 8 / (double)ms;
	/* fps from the frames' own timestamps: arrival times jitter (ffmpeg
	 * -re bursts at start, networks bunch packets), the stream does not */
	frames = src->rate_frames[src->rate_i] - src->rate_frames[oldest];
	vms = src->rate_vts[src->rate_i] - src->rate_vts[oldest];
	if (src->rate_frames[oldest] == 0 && frames > 0) {
		frames--;	/* n frames from the first span n - 1 gaps */
		vms = src->rate_vts[src->rate_i] - src->first_video_ts;
	}
	*fps = vms > 0 ? (double)frames * 1000 / vms : 0;
}

