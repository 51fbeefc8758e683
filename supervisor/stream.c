/*
 * One live publish; see stream.h.  Media arrives as RTMP messages from
 * the session, becomes refcounted FLV tags, and is kept in a GOP cache
 * from the last keyframe.  Fan-out to relays attaches here.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/tag.h"
#include "common/util.h"
#include "config/cfg.h"
#include "supervisor/db.h"
#include "supervisor/server.h"
#include "supervisor/stream.h"

static void
stream_gop_clear(struct stream *st)
{
	size_t	i;

	for (i = 0; i < st->ngop; i++)
		tag_unref(st->gop[i]);
	st->ngop = 0;
	st->gop_bytes = 0;
}

/*
 * What the stream should relay to: the YAML's relays, then those added
 * with `mirroring relay add` (views borrowing the config and the server's
 * relay table, valid until either changes).
 */
static size_t
stream_relay_specs(const struct stream *st, struct cfg_relay *v, size_t cap)
{
	const struct cfg_stream	*cs = cfg_stream_find(st->srv->cfg, st->name);
	const struct db_relay	*d;
	size_t			 i, n = 0;

	for (i = 0; cs != NULL && i < cs->nrelays && n < cap; i++)
		v[n++] = cs->relays[i];
	for (i = 0; i < st->srv->nrelays && n < cap; i++) {
		d = &st->srv->relays[i];
		if (strcmp(d->stream, st->name) != 0)
			continue;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].name = d->name;
		v[n].url.value = d->url;
		v[n].profile = d->profile;
		v[n].prof = server_profile_find(st->srv, d->profile);
		v[n].enabled = d->enabled;
		if (v[n].prof == NULL && strcmp(d->profile, "copy") != 0) {
			/* its profile is gone: not relayed as copy */
			log_warnx("relay.skipped", "stream=%s relay=%s "
			    "why=\"unknown profile %s\"", st->name, d->name,
			    LQ(d->profile));
			continue;
		}
		n++;
	}
	return n;
}

static const struct cfg_relay *
stream_spec_find(const struct cfg_relay *v, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

void
stream_relays_apply(struct stream *st)
{
	struct cfg_relay	 specs[STREAM_MAX_RELAYS];
	const struct cfg_relay	*cr;
	struct relay		*r, *next;
	size_t			 i, n;

	n = stream_relay_specs(st, specs, STREAM_MAX_RELAYS);
	for (r = TAILQ_FIRST(&st->relays); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		cr = stream_spec_find(specs, n, r->name);
		if (cr != NULL && cr->enabled && strcmp(cr->url.value, r->url) ==
		    0 && strcmp(cr->profile, r->profile) == 0 &&
		    cfg_profile_same(cr->prof, r->prof)) {
			/* the queue is ours: a new size needs no restart */
			relay_set_budget(r, relay_budget(st->srv, cr));
			continue;	/* unchanged: not a packet lost */
		}
		log_info("relay.stopping", "stream=%s relay=%s reason=%s",
		    st->name, r->name, cr == NULL ? "removed" : !cr->enabled ?
		    "disabled" : "changed");
		relay_drain(r);
	}
	for (i = 0; i < n; i++) {
		if (!specs[i].enabled ||
		    stream_spec_find(specs, i, specs[i].name) != NULL)
			continue;	/* off, or a name the YAML took first */
		TAILQ_FOREACH(r, &st->relays, entry)
			if (strcmp(r->name, specs[i].name) == 0)
				break;
		if (r == NULL)
			(void)relay_new(st, &specs[i]);
	}
}

struct stream *
stream_new(struct server *srv, const char *name, const char *key,
    struct session *sess, uint64_t conn, const char *client)
{
	struct stream	*st;
	uint8_t		 rnd[16];
	size_t		 i;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->srv = srv;
	st->session = sess;
	st->conn = conn;
	st->acodec = FLV_ACODEC_NONE;
	snprintf(st->client, sizeof(st->client), "%s", client);
	if ((st->name = strdup(name)) == NULL ||
	    (st->key = strdup(key)) == NULL ||
	    (st->gop = calloc(STREAM_GOP_MAX_TAGS, sizeof(*st->gop))) == NULL ||
	    util_random(rnd, sizeof(rnd)) == -1) {
		free(st->gop);
		free(st->key);
		free(st->name);
		free(st);
		return NULL;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(st->id + 2 * i, 3, "%02x", rnd[i]);
	st->started_ms = util_mono_ms();
	st->rate_ms[0] = st->started_ms;	/* rates start from here */
	TAILQ_INIT(&st->relays);
	TAILQ_INSERT_TAIL(&srv->streams, st, entry);
	db_session_start(srv->db, st->id, st->name, st->client,
	    util_wall_s());
	db_key_touch(srv->db, st->name, util_wall_s());
	server_count_publish(srv, st->name);
	log_info("publish.started", "conn=%llu stream=%s key=%s client=%s",
	    (unsigned long long)conn, st->name, MASK(key), st->client);
	stream_relays_apply(st);	/* starts them all */
	return st;
}

void
stream_end(struct stream *st, const char *reason)
{
	struct server	*srv = st->srv;
	int64_t		 now = util_wall_s();

	log_info("publish.stopped", "conn=%llu stream=%s reason=%s "
	    "duration_ms=%llu video_frames=%llu video_bytes=%llu "
	    "audio_frames=%llu audio_bytes=%llu bytes_in=%llu bad_tags=%llu",
	    (unsigned long long)st->conn, st->name, LQ(reason),
	    (unsigned long long)(util_mono_ms() - st->started_ms),
	    (unsigned long long)st->video_frames,
	    (unsigned long long)st->video_bytes,
	    (unsigned long long)st->audio_frames,
	    (unsigned long long)st->audio_bytes,
	    (unsigned long long)st->bytes_in,
	    (unsigned long long)st->bad_tags);
	while (!TAILQ_EMPTY(&st->relays))
		relay_drain(TAILQ_FIRST(&st->relays));
	db_session_end(srv->db, st->id, now, st->bytes_in, reason);
	db_key_touch(srv->db, st->name, now);
	TAILQ_REMOVE(&srv->streams, st, entry);
	stream_gop_clear(st);
	free(st->gop);
	tag_unref(st->video_seq);
	tag_unref(st->audio_seq);
	tag_unref(st->meta);
	explicit_bzero(st->key, strlen(st->key));
	free(st->key);
	free(st->name);
	free(st);
}

static void
stream_log_codecs(struct stream *st)
{
	char	video[96], audio[96];

	if (st->vcodec == FLV_VCODEC_NONE)
		snprintf(video, sizeof(video), "video=none");
	else
		snprintf(video, sizeof(video), "video=%s width=%u height=%u",
		    flv_vcodec_name(st->vcodec), st->vfmt.width,
		    st->vfmt.height);
	if (st->acodec == FLV_ACODEC_NONE)
		snprintf(audio, sizeof(audio), "audio=none");
	else
		snprintf(audio, sizeof(audio), "audio=%s rate=%u channels=%u",
		    flv_acodec_name(st->acodec), st->afmt.rate_hz,
		    st->afmt.channels);
	log_info("publish.codecs", "conn=%llu stream=%s %s %s",
	    (unsigned long long)st->conn, st->name, video, audio);
	st->codecs_logged = true;
}

/* Keeps t as the latest decoder configuration in *slot. */
static void
stream_set_seq(struct tag **slot, struct tag *t)
{
	tag_unref(*slot);
	*slot = tag_ref(t);
}

/* Classifies a video body; returns its TAG_F_* flags, or -1 to drop it. */
static int
stream_video(struct stream *st, uint32_t ts_ms, const uint8_t *p, size_t n,
    bool *seq)
{
	struct flv_video	v;

	if (flv_video_parse(p, n, &v) == -1)
		return -1;
	st->vcodec = v.codec;
	if (v.seq_header) {
		*seq = true;
		if (v.codec == FLV_VCODEC_AVC &&
		    flv_avc_config_parse(p + v.payload_off, n - v.payload_off,
		    &st->vfmt) == -1)
			memset(&st->vfmt, 0, sizeof(st->vfmt));
		st->codecs_logged = false;
		return TAG_F_SEQHDR;
	}
	if (v.info_frame || v.end_of_seq)
		return 0;
	if (st->video_frames++ == 0)
		st->first_video_ts = ts_ms;
	st->video_bytes += n - v.payload_off;
	st->video_ts = ts_ms;
	return v.keyframe ? TAG_F_KEYFRAME : 0;
}

static int
stream_audio(struct stream *st, const uint8_t *p, size_t n, bool *seq)
{
	struct flv_audio	a;

	if (flv_audio_parse(p, n, &a) == -1)
		return -1;
	if (st->acodec != a.codec || a.codec != FLV_ACODEC_AAC) {
		/* without a config record the tag header is the format */
		st->afmt.rate_hz = a.rate_hz;
		st->afmt.channels = a.channels;
	}
	if (st->acodec != a.codec)
		st->codecs_logged = false;
	st->acodec = a.codec;
	if (a.seq_header) {
		*seq = true;
		if (flv_aac_config_parse(p + a.payload_off, n - a.payload_off,
		    &st->afmt) == -1)
			memset(&st->afmt, 0, sizeof(st->afmt));
		st->codecs_logged = false;
		return TAG_F_SEQHDR;
	}
	st->audio_frames++;
	st->audio_bytes += n - a.payload_off;
	return 0;
}

/* The GOP cache restarts at each keyframe; past its bounds it is dropped
 * until the next one, so a relay never starts from a partial GOP. */
static void
stream_gop_add(struct stream *st, struct tag *t)
{
	if (t->flags & TAG_F_KEYFRAME) {
		stream_gop_clear(st);
		st->gop_valid = true;
	}
	if (!st->gop_valid || (t->flags & TAG_F_SEQHDR))
		return;
	if (st->ngop == STREAM_GOP_MAX_TAGS ||
	    st->gop_bytes + t->len > STREAM_GOP_MAX_BYTES) {
		log_warnx("stream.gop_overflow", "stream=%s tags=%zu bytes=%zu",
		    st->name, st->ngop, st->gop_bytes);
		stream_gop_clear(st);
		st->gop_valid = false;
		return;
	}
	st->gop[st->ngop++] = tag_ref(t);
	st->gop_bytes += t->len;
}

int
stream_on_media(struct stream *st, uint8_t type, uint32_t ts_ms,
    const uint8_t *p, size_t n, const char **why)
{
	struct relay	*r;
	struct tag	*t;
	bool		 seq = false;
	int		 flags;

	if (n == 0)		/* some encoders send empty media messages */
		return 0;
	st->bytes_in += n;
	flags = type == TAG_VIDEO ? stream_video(st, ts_ms, p, n, &seq) :
	    stream_audio(st, p, n, &seq);
	if (flags == -1) {
		if (st->bad_tags++ == 0)
			log_warnx("publish.bad_tag", "conn=%llu stream=%s "
			    "type=%u len=%zu", (unsigned long long)st->conn,
			    st->name, type, n);
		return 0;
	}
	if ((t = tag_new(type, (uint8_t)flags, ts_ms, p, (uint32_t)n)) ==
	    NULL) {
		*why = "out of memory";
		return -1;
	}
	if (seq)
		stream_set_seq(type == TAG_VIDEO ? &st->video_seq :
		    &st->audio_seq, t);
	stream_gop_add(st, t);
	TAILQ_FOREACH(r, &st->relays, entry)
		relay_send(r, t);
	if (!st->codecs_logged && st->video_seq != NULL &&
	    (st->audio_seq != NULL || st->acodec != FLV_ACODEC_NONE) &&
	    !seq)
		stream_log_codecs(st);
	tag_unref(t);
	return 0;
}

int
stream_on_metadata(struct stream *st, uint32_t ts_ms, const uint8_t *p,
    size_t n, const char **why)
{
	struct tag	*t;

	if ((t = tag_new(TAG_SCRIPT, 0, ts_ms, p, (uint32_t)n)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	st->bytes_in += n;
	tag_unref(st->meta);
	st->meta = t;
	return 0;
}

void
stream_tick(struct stream *st, uint64_t now_ms)
{
	struct relay	*r;

	TAILQ_FOREACH(r, &st->relays, entry)
		relay_tick(r, now_ms);
	st->rate_i = (st->rate_i + 1) % STREAM_RATE_TICKS;
	st->rate_ms[st->rate_i] = now_ms;
	st->rate_bytes[st->rate_i] = st->bytes_in;
	st->rate_frames[st->rate_i] = st->video_frames;
	st->rate_vts[st->rate_i] = st->video_ts;
	/* audio-only or video-only streams say so after two seconds */
	if (!st->codecs_logged && now_ms - st->started_ms >= 2000 &&
	    (st->video_frames > 0 || st->audio_frames > 0))
		stream_log_codecs(st);
}

void
stream_rates(const struct stream *st, double *kbps, double *fps)
{
	unsigned	oldest = (st->rate_i + 1) % STREAM_RATE_TICKS;
	uint64_t	ms, frames;
	uint32_t	vms;

	if (st->rate_ms[oldest] == 0)	/* fewer ticks so far */
		oldest = 0;
	ms = st->rate_ms[st->rate_i] - st->rate_ms[oldest];
	if (st->rate_ms[oldest] == 0 || ms == 0) {
		*kbps = *fps = 0;
		return;
	}
	*kbps = (double)(st->rate_bytes[st->rate_i] -
	    st->rate_bytes[oldest]) * 8 / (double)ms;
	/* fps from the frames' own timestamps: arrival times jitter (ffmpeg
	 * -re bursts at start, networks bunch packets), the stream does not */
	frames = st->rate_frames[st->rate_i] - st->rate_frames[oldest];
	vms = st->rate_vts[st->rate_i] - st->rate_vts[oldest];
	if (st->rate_frames[oldest] == 0 && frames > 0) {
		frames--;	/* n frames from the first span n - 1 gaps */
		vms = st->rate_vts[st->rate_i] - st->first_video_ts;
	}
	*fps = vms > 0 ? (double)frames * 1000 / vms : 0;
}

void
stream_status(const struct stream *st, struct evbuffer *out, bool json,
    uint64_t now_ms)
{
	const struct relay *r;
	char		 key[LOG_QMAX];
	double		 kbps, fps;
	uint64_t	 up = (now_ms - st->started_ms) / 1000;

	stream_rates(st, &kbps, &fps);
	log_mask_raw(key, sizeof(key), st->key);
	if (json) {
		evbuffer_add_printf(out, "{\"name\":\"%s\",\"key\":\"%s\","
		    "\"client\":\"%s\",\"uptime_s\":%llu,", st->name, key,
		    st->client, (unsigned long long)up);
		if (st->vcodec == FLV_VCODEC_NONE)
			evbuffer_add_printf(out, "\"video\":null,");
		else
			evbuffer_add_printf(out, "\"video\":{\"codec\":\"%s\","
			    "\"width\":%u,\"height\":%u,\"fps\":%.1f},",
			    flv_vcodec_name(st->vcodec), st->vfmt.width,
			    st->vfmt.height, fps);
		if (st->acodec == FLV_ACODEC_NONE)
			evbuffer_add_printf(out, "\"audio\":null,");
		else
			evbuffer_add_printf(out, "\"audio\":{\"codec\":\"%s\","
			    "\"rate\":%u,\"channels\":%u},",
			    flv_acodec_name(st->acodec), st->afmt.rate_hz,
			    st->afmt.channels);
		evbuffer_add_printf(out, "\"relays\":[");
		TAILQ_FOREACH(r, &st->relays, entry) {
			relay_status(r, out, true);
			if (TAILQ_NEXT(r, entry) != NULL)
				evbuffer_add_printf(out, ",");
		}
		evbuffer_add_printf(out, "],\"ingest_kbps\":%.0f,"
		    "\"video_frames\":%llu,\"video_bytes\":%llu,"
		    "\"audio_frames\":%llu,\"audio_bytes\":%llu,"
		    "\"bytes_in\":%llu}", kbps,
		    (unsigned long long)st->video_frames,
		    (unsigned long long)st->video_bytes,
		    (unsigned long long)st->audio_frames,
		    (unsigned long long)st->audio_bytes,
		    (unsigned long long)st->bytes_in);
		return;
	}
	evbuffer_add_printf(out, "%-16s %-21s %3llu:%02llu:%02llu  ", st->name,
	    st->client, (unsigned long long)(up / 3600),
	    (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60));
	if (st->vcodec == FLV_VCODEC_NONE)
		evbuffer_add_printf(out, "%-26s", "no video");
	else
		evbuffer_add_printf(out, "%-5s %4ux%-4u %5.1f fps  ",
		    flv_vcodec_name(st->vcodec), st->vfmt.width,
		    st->vfmt.height, fps);
	if (st->acodec == FLV_ACODEC_NONE)
		evbuffer_add_printf(out, "%-20s", "no audio");
	else
		evbuffer_add_printf(out, "%-5s %5u Hz %u ch  ",
		    flv_acodec_name(st->acodec), st->afmt.rate_hz,
		    st->afmt.channels);
	evbuffer_add_printf(out, "%6.0f kbit/s\n", kbps);
	TAILQ_FOREACH(r, &st->relays, entry)
		relay_status(r, out, false);
}
