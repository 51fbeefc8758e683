/*
 * One stream; see stream.h.  Which source relays follow, switches between
 * the primary and the backup publisher, and holds: everything here runs
 * in the loop, from session callbacks and relay timers, and waits on
 * nothing.  A switch sends each relay SOURCE NEW, the new source's
 * decoder configs and its GOP from the last keyframe, then its live
 * media (relay_source_new).
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
#include "supervisor/session.h"
#include "supervisor/stream.h"

/*
 * What the stream should relay to: the YAML's relays, then those added
 * with `mirroring relay add` (views borrowing the config and the server's
 * relay table, valid until either changes).  CLI relays take the stream's
 * on_publisher_loss and grace.
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
		v[n].on_loss = cs != NULL ? cs->on_loss : CFG_LOSS_END;
		v[n].grace_ms = cs != NULL ? cs->grace_ms :
		    CFG_DEFAULT_GRACE_MS;
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

struct source *
stream_active(const struct stream *st)
{
	return st->active < 0 ? NULL : st->src[st->active];
}

static bool
stream_live(const struct stream *st)
{
	return st->src[SOURCE_PRIMARY] != NULL ||
	    st->src[SOURCE_BACKUP] != NULL;
}

static void
stream_free(struct stream *st)
{
	struct server	*srv = st->srv;

	while (!TAILQ_EMPTY(&st->relays))
		relay_drain(TAILQ_FIRST(&st->relays));
	TAILQ_REMOVE(&srv->streams, st, entry);
	tag_unref(st->held_vseq);
	tag_unref(st->held_aseq);
	free(st->name);
	free(st);
}

/* Without a publisher and a held relay, nothing is left to wait for. */
static bool
stream_gc(struct stream *st)
{
	if (stream_live(st) || !TAILQ_EMPTY(&st->relays))
		return false;
	log_info("stream.ended", "stream=%s", st->name);
	stream_free(st);
	return true;
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
		    cfg_profile_same(cr->prof, r->prof) &&
		    relay_loss(cr) == r->on_loss) {
			/* the queue is ours: a new size needs no restart, nor
			 * a new grace (we decide when a hold ends) */
			relay_set_budget(r, relay_budget(st->srv, cr));
			relay_set_loss(r, cr);
			continue;	/* unchanged: not a packet lost */
		}
		log_info("relay.stopping", "stream=%s relay=%s reason=%s",
		    st->name, r->name, cr == NULL ? "removed" : !cr->enabled ?
		    "disabled" : "changed");
		relay_drain(r);
	}
	if (stream_active(st) == NULL) {
		/* held: new relays start with the next publisher */
		(void)stream_gc(st);
		return;
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

static struct stream *
stream_new(struct server *srv, const char *name)
{
	struct stream	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->name = strdup(name)) == NULL) {
		free(st);
		return NULL;
	}
	st->srv = srv;
	st->active = -1;
	st->started_ms = util_mono_ms();
	TAILQ_INIT(&st->relays);
	TAILQ_INSERT_TAIL(&srv->streams, st, entry);
	return st;
}

static enum cfg_prefer
stream_prefer(const struct stream *st)
{
	const struct cfg_stream	*cs = cfg_stream_find(st->srv->cfg, st->name);

	return cs != NULL ? cs->prefer : CFG_PREFER_PRIMARY;
}

/* Every relay follows to (already st->active); returns how many were
 * holding. */
static unsigned
stream_switch_relays(struct stream *st, struct source *to)
{
	struct relay	*r;
	unsigned	 held = 0;

	TAILQ_FOREACH(r, &st->relays, entry) {
		held += r->holding;
		relay_source_new(r, to);
	}
	return held;
}

/* from: the source the relays followed, -1 for none. */
static void
stream_switch(struct stream *st, int from, enum source_role to,
    const char *reason)
{
	st->active = (int)to;
	st->pending = false;
	log_info("stream.switch", "stream=%s from=%s to=%s reason=%s "
	    "conn=%llu", st->name, from < 0 ? "none" : source_label(from),
	    source_label(to), LQ(reason),
	    (unsigned long long)st->src[to]->conn);
	(void)stream_switch_relays(st, st->src[to]);
}

struct source *
stream_attach(struct server *srv, const char *name, enum source_role role,
    const char *key, struct session *sess, uint64_t conn, const char *client)
{
	struct stream	*st;
	struct source	*src;
	unsigned	 held;
	bool		 fresh = false;

	if ((st = server_stream_find(srv, name)) == NULL) {
		if ((st = stream_new(srv, name)) == NULL)
			return NULL;
		fresh = true;
	}
	if ((src = source_new(st, role, key, sess, conn, client)) == NULL) {
		if (fresh)
			stream_free(st);
		return NULL;
	}
	st->src[role] = src;
	if (st->active < 0) {
		/* the first publisher, or one back while relays hold: they
		 * take its media as it comes (the worker switches on its
		 * first keyframe) */
		st->active = (int)role;
		held = stream_switch_relays(st, src);
		if (held > 0)
			log_info("stream.resumed", "stream=%s source=%s "
			    "conn=%llu relays=%u held_ms=%llu", st->name,
			    source_label(role), (unsigned long long)conn,
			    held, (unsigned long long)(util_mono_ms() -
			    st->lost_ms));
		stream_relays_apply(st);	/* starts the others */
	} else if (role == SOURCE_PRIMARY &&
	    stream_prefer(st) == CFG_PREFER_PRIMARY) {
		/* relays stay on the backup until the primary's cache can
		 * start a decoder: its first keyframe */
		st->pending = true;
		log_info("stream.switch_pending", "stream=%s to=primary "
		    "conn=%llu", st->name, (unsigned long long)conn);
	}
	return src;
}

/* No publisher left: relays that hold keep their workers for the grace
 * period, the others end (EOS). */
static void
stream_lose(struct stream *st, const char *reason)
{
	struct relay	*r, *next;
	unsigned	 held = 0;
	uint32_t	 grace = 0;

	st->lost_ms = util_mono_ms();
	for (r = TAILQ_FIRST(&st->relays); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->on_loss == IPC_LOSS_HOLD && !st->ending &&
		    !st->srv->stopping) {
			relay_hold(r);
			held++;
			if (r->grace_ms > grace)
				grace = r->grace_ms;
		} else
			relay_drain(r);
	}
	if (held > 0)
		log_info("stream.hold", "stream=%s relays=%u grace_ms=%u "
		    "reason=%s", st->name, held, grace, LQ(reason));
	else
		(void)stream_gc(st);
}

static void
stream_keep_seq(struct tag **slot, struct tag *t)
{
	if (t == NULL)
		return;
	tag_unref(*slot);
	*slot = tag_ref(t);
}

void
stream_detach(struct source *src, const char *reason)
{
	struct stream	*st = src->st;
	enum source_role role = src->role, other = role == SOURCE_PRIMARY ?
			    SOURCE_BACKUP : SOURCE_PRIMARY;
	bool		 was_active = st->active == (int)role;

	st->src[role] = NULL;
	if (role == SOURCE_PRIMARY)
		st->pending = false;
	if (was_active) {
		/* a held relay's next worker needs the last decoder configs
		 * (a source that sent none leaves the earlier ones) */
		stream_keep_seq(&st->held_vseq, src->video_seq);
		stream_keep_seq(&st->held_aseq, src->audio_seq);
		st->active = -1;
	}
	source_end(src, reason);
	if (st->ending)
		return;
	if (!was_active) {
		(void)stream_gc(st);	/* the active one may have gone */
		return;
	}
	if (st->src[other] != NULL && !st->srv->stopping) {
		stream_switch(st, (int)role, other, role == SOURCE_PRIMARY ?
		    "primary lost" : "backup lost");
		return;
	}
	stream_lose(st, reason);
}

void
stream_close(struct stream *st, const char *reason)
{
	int	i;

	st->ending = true;
	for (i = 0; i < SOURCE_N; i++)
		if (st->src[i] != NULL)	/* detaches it */
			session_close(st->src[i]->session, reason, false);
	log_info("stream.ended", "stream=%s reason=%s", st->name, LQ(reason));
	stream_free(st);
}

void
stream_hold_expired(struct stream *st, struct relay *r)
{
	log_info("stream.hold_expired", "stream=%s relay=%s held_ms=%llu",
	    st->name, r->name, (unsigned long long)(util_mono_ms() -
	    st->lost_ms));
	relay_drain(r);
	(void)stream_gc(st);
}

int
stream_on_media(struct source *src, uint8_t type, uint32_t ts_ms,
    const uint8_t *p, size_t n, const char **why)
{
	struct stream	*st = src->st;
	struct relay	*r;
	struct tag	*t;

	if (source_on_media(src, type, ts_ms, p, n, &t, why) == -1)
		return -1;
	st->bytes_in += n;
	if (t == NULL)
		return 0;
	if (st->active == (int)src->role) {
		TAILQ_FOREACH(r, &st->relays, entry)
			relay_send(r, t);
	} else if (st->pending && src->role == SOURCE_PRIMARY &&
	    src->gop_valid) {
		/* its cache now starts at a keyframe (t is in it) */
		stream_switch(st, st->active, SOURCE_PRIMARY, "primary back");
	}
	tag_unref(t);
	return 0;
}

int
stream_on_metadata(struct source *src, uint32_t ts_ms, const uint8_t *p,
    size_t n, const char **why)
{
	src->st->bytes_in += n;
	return source_on_metadata(src, ts_ms, p, n, why);
}

void
stream_tick(struct stream *st, uint64_t now_ms)
{
	struct relay	*r;
	int		 i;

	TAILQ_FOREACH(r, &st->relays, entry)
		relay_tick(r, now_ms);
	for (i = 0; i < SOURCE_N; i++)
		if (st->src[i] != NULL)
			source_tick(st->src[i], now_ms);
}

void
stream_rates(const struct stream *st, double *kbps, double *fps)
{
	const struct source	*src = stream_active(st);

	if (src == NULL) {
		*kbps = *fps = 0;
		return;
	}
	source_rates(src, kbps, fps);
}

/* What status shows for a stream without a live publisher. */
static const struct source stream_no_source = {
	.vcodec = FLV_VCODEC_NONE, .acodec = FLV_ACODEC_NONE,
};

static const char *
stream_active_label(const struct stream *st)
{
	return st->active < 0 ? "none" : source_label(st->active);
}

static void
stream_status_publisher(const struct source *src, struct evbuffer *out,
    uint64_t now_ms)
{
	if (src == NULL) {
		evbuffer_add_printf(out, "null");
		return;
	}
	evbuffer_add_printf(out, "{\"conn\":%llu,\"client\":\"%s\","
	    "\"uptime_s\":%llu,\"bytes_in\":%llu,\"keyframe\":%s}",
	    (unsigned long long)src->conn, src->client,
	    (unsigned long long)(now_ms - src->started_ms) / 1000,
	    (unsigned long long)src->bytes_in,
	    src->gop_valid ? "true" : "false");
}

static void
stream_status_json(const struct stream *st, const struct source *src,
    struct evbuffer *out, uint64_t now_ms)
{
	const struct relay *r;
	char		 key[LOG_QMAX];
	double		 kbps, fps;
	uint64_t	 t0 = src == &stream_no_source ? st->started_ms :
			    src->started_ms;

	stream_rates(st, &kbps, &fps);
	log_mask_raw(key, sizeof(key), src->key != NULL ? src->key : "");
	evbuffer_add_printf(out, "{\"name\":\"%s\",\"key\":\"%s\","
	    "\"client\":\"%s\",\"uptime_s\":%llu,\"active\":\"%s\","
	    "\"primary\":", st->name, key, src->client,
	    (unsigned long long)(now_ms - t0) / 1000,
	    stream_active_label(st));
	stream_status_publisher(st->src[SOURCE_PRIMARY], out, now_ms);
	evbuffer_add_printf(out, ",\"backup\":");
	stream_status_publisher(st->src[SOURCE_BACKUP], out, now_ms);
	evbuffer_add_printf(out, ",");
	if (src->vcodec == FLV_VCODEC_NONE)
		evbuffer_add_printf(out, "\"video\":null,");
	else
		evbuffer_add_printf(out, "\"video\":{\"codec\":\"%s\","
		    "\"width\":%u,\"height\":%u,\"fps\":%.1f},",
		    flv_vcodec_name(src->vcodec), src->vfmt.width,
		    src->vfmt.height, fps);
	if (src->acodec == FLV_ACODEC_NONE)
		evbuffer_add_printf(out, "\"audio\":null,");
	else
		evbuffer_add_printf(out, "\"audio\":{\"codec\":\"%s\","
		    "\"rate\":%u,\"channels\":%u},",
		    flv_acodec_name(src->acodec), src->afmt.rate_hz,
		    src->afmt.channels);
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
	    (unsigned long long)src->video_frames,
	    (unsigned long long)src->video_bytes,
	    (unsigned long long)src->audio_frames,
	    (unsigned long long)src->audio_bytes,
	    (unsigned long long)src->bytes_in);
}

/*
 * The JSON fields and the first text line are the active publisher's, as
 * before backups existed; the publishers line shows both, and relays
 * holding show the grace left.
 */
void
stream_status(const struct stream *st, struct evbuffer *out, bool json,
    uint64_t now_ms)
{
	const struct cfg_stream	*cs = cfg_stream_find(st->srv->cfg, st->name);
	const struct source	*src = stream_active(st);
	const struct relay	*r;
	double			 kbps, fps;
	uint64_t		 up;

	if (src == NULL)
		src = &stream_no_source;
	if (json) {
		stream_status_json(st, src, out, now_ms);
		return;
	}
	stream_rates(st, &kbps, &fps);
	up = (now_ms - (src == &stream_no_source ? st->started_ms :
	    src->started_ms)) / 1000;
	evbuffer_add_printf(out, "%-16s %-21s %3llu:%02llu:%02llu  ", st->name,
	    src == &stream_no_source ? "(no publisher)" : src->client,
	    (unsigned long long)(up / 3600),
	    (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60));
	if (src->vcodec == FLV_VCODEC_NONE)
		evbuffer_add_printf(out, "%-26s", "no video");
	else
		evbuffer_add_printf(out, "%-5s %4ux%-4u %5.1f fps  ",
		    flv_vcodec_name(src->vcodec), src->vfmt.width,
		    src->vfmt.height, fps);
	if (src->acodec == FLV_ACODEC_NONE)
		evbuffer_add_printf(out, "%-20s", "no audio");
	else
		evbuffer_add_printf(out, "%-5s %5u Hz %u ch  ",
		    flv_acodec_name(src->acodec), src->afmt.rate_hz,
		    src->afmt.channels);
	evbuffer_add_printf(out, "%6.0f kbit/s\n", kbps);
	if (st->active < 0 || st->src[SOURCE_BACKUP] != NULL ||
	    (cs != NULL && cs->backup_key.value != NULL))
		evbuffer_add_printf(out, "  publishers   primary %s  backup %s  "
		    "active %s\n", st->src[SOURCE_PRIMARY] != NULL ? "live" :
		    "-", st->src[SOURCE_BACKUP] != NULL ? "live" : "-",
		    stream_active_label(st));
	TAILQ_FOREACH(r, &st->relays, entry)
		relay_status(r, out, false);
}
