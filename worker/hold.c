/*
 * Slate hold and source switches (see hold.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>

#include "common/log.h"
#include "common/util.h"
#include "worker/hold.h"

void
hold_init(struct hold *h, const struct worker_cfg *cfg,
    const struct ipc_config *c, struct xcode *xc, const AVOutputFormat *of)
{
	char	*img, *aud;

	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->xc = xc;
	h->on_loss = c->on_loss;
	h->can_splice = (of != NULL && strcmp(of->name, "flv") == 0) ||
	    (xcode_track(xc, INPUT_VIDEO) && xcode_track(xc, INPUT_AUDIO));
	splice_init(&h->sp);
	snprintf(h->label, sizeof(h->label), "primary");
	if (h->on_loss != IPC_LOSS_HOLD)
		return;
	img = strndup(c->slate_image.p != NULL ? c->slate_image.p : "",
	    c->slate_image.len);
	aud = strndup(c->slate_audio.p != NULL ? c->slate_audio.p : "",
	    c->slate_audio.len);
	if (img == NULL || aud == NULL || (h->sl = slate_new(img, aud)) ==
	    NULL)
		fatal("worker.oom", "what=slate");
	free(img);
	free(aud);
	if (!h->can_splice)
		log_warnx("relay.hold_unsupported", "stream=%s relay=%s "
		    "why=\"a copy relay holds through flv (rtmp) only: the "
		    "destination session ends with the publisher\"",
		    cfg->stream, cfg->relay);
}

void
hold_clear(struct hold *h)
{
	slate_free(h->sl);
	h->sl = NULL;
}

/* The destination's last timestamp (ms of the session), -1 closed. */
static long long
hold_at_ms(const struct output *o)
{
	int64_t	v = o->last_dts[INPUT_VIDEO], a = o->last_dts[INPUT_AUDIO];

	if (o->oc == NULL || !o->started)
		return -1;
	return (long long)(v != INT64_MIN ? v : a != INT64_MIN ? a : 0);
}

static void
hold_label(char *dst, const struct ipc_str *s)
{
	size_t	n = s->len < HOLD_LABEL_MAX - 1 ? s->len : HOLD_LABEL_MAX - 1;

	if (n == 0) {
		snprintf(dst, HOLD_LABEL_MAX, "source");
		return;
	}
	memcpy(dst, s->p, n);
	dst[n] = '\0';
}

/* The slate's parameters: the source's last configuration. */
static void
hold_params(const struct hold *h, const struct input *in,
    struct slate_params *p)
{
	const AVCodecParameters	*v = in->par[INPUT_VIDEO];
	const AVCodecParameters	*a = in->par[INPUT_AUDIO];

	memset(p, 0, sizeof(*p));
	if (v != NULL) {
		p->track[INPUT_VIDEO] = true;
		p->encode[INPUT_VIDEO] = !xcode_track(h->xc, INPUT_VIDEO);
		p->width = v->width;
		p->height = v->height;
		p->profile = v->profile;
		p->level = v->level;
		p->fps = splice_fps(&h->sp);
		p->avcc = v->extradata;
		p->avcc_len = (size_t)v->extradata_size;
	}
	if (a != NULL) {
		p->track[INPUT_AUDIO] = true;
		p->encode[INPUT_AUDIO] = !xcode_track(h->xc, INPUT_AUDIO);
		p->sample_rate = a->sample_rate;
		p->channels = a->ch_layout.nb_channels;
	}
}

static void
hold_start(struct hold *h, const struct ipc_source *s,
    const struct input *in, const struct output *o, uint64_t now)
{
	struct slate_params	p;
	char			warn[SLATE_WHY_MAX], why[SLATE_WHY_MAX];
	int64_t			v0, a0;

	hold_params(h, in, &p);
	if (!p.track[INPUT_VIDEO] && !p.track[INPUT_AUDIO]) {
		log_warnx("relay.hold_failed", "stream=%s relay=%s why=\"no "
		    "source configuration to match\"", h->cfg->stream,
		    h->cfg->relay);
		return;
	}
	/* a copied track's slate follows the destination's clock; xcode
	 * puts an encoded one's on its own timeline */
	v0 = splice_next_ms(&h->sp, INPUT_VIDEO, p.fps.num > 0 ?
	    (int64_t)(1000 * p.fps.den / p.fps.num) : 33);
	a0 = splice_next_ms(&h->sp, INPUT_AUDIO, p.sample_rate > 0 ?
	    1024 * 1000 / p.sample_rate : 23);
	h->cts_ms = splice_cts_ms(&h->sp, INPUT_VIDEO);
	xcode_splice(h->xc);
	if (slate_start(h->sl, &p, v0, a0, now, warn, why) == -1) {
		log_error("relay.hold_failed", "stream=%s relay=%s why=%s",
		    h->cfg->stream, h->cfg->relay, LQ(why));
		return;
	}
	if (*warn != '\0' && !h->warned) {
		h->warned = true;
		log_warnx("relay.slate_fallback", "stream=%s relay=%s why=%s "
		    "using=\"black and silence\"", h->cfg->stream,
		    h->cfg->relay, LQ(warn));
	}
	h->holding = true;
	h->since_ms = now;
	log_info("relay.hold", "stream=%s relay=%s grace_ms=%u video=%dx%d "
	    "fps=%.2f audio_hz=%d", h->cfg->stream, h->cfg->relay,
	    s->grace_ms, p.width, p.height, p.fps.num > 0 ? av_q2d(p.fps) : 0,
	    p.sample_rate);
	log_info("relay.switch", "stream=%s relay=%s from=%s to=slate "
	    "at_ms=%lld", h->cfg->stream, h->cfg->relay, h->label,
	    hold_at_ms(o));
}

void
hold_source(struct hold *h, const struct ipc_source *s,
    const struct input *in, const struct output *o, uint64_t now)
{
	if (s->what == IPC_SRC_NEW) {
		hold_label(h->next, &s->label);
		if (h->can_splice)
			splice_new_source(&h->sp);
		log_info("relay.source_new", "stream=%s relay=%s source=%s "
		    "holding=%s", h->cfg->stream, h->cfg->relay, h->next,
		    h->holding ? "yes" : "no");
		return;
	}
	if (s->what != IPC_SRC_LOST)
		return;
	if (h->on_loss != IPC_LOSS_HOLD || !h->can_splice) {
		/* today's end: the supervisor's EOS follows */
		log_info("relay.source_lost", "stream=%s relay=%s "
		    "on_loss=end", h->cfg->stream, h->cfg->relay);
		return;
	}
	if (h->holding) {
		log_info("relay.source_lost", "stream=%s relay=%s "
		    "grace_ms=%u holding=yes", h->cfg->stream, h->cfg->relay,
		    s->grace_ms);
		return;
	}
	hold_start(h, s, in, o, now);
}

static void
hold_end_log(const struct hold *h, const char *why, uint64_t now)
{
	log_info("relay.hold_end", "stream=%s relay=%s reason=%s held_ms=%llu",
	    h->cfg->stream, h->cfg->relay, why,
	    (unsigned long long)(now - h->since_ms));
}

/* The new source's keyframe goes out now. */
static void
hold_switch(struct hold *h, const struct input *in, struct output *o)
{
	uint64_t	now = util_mono_ms();
	int		t;

	log_info("relay.switch", "stream=%s relay=%s from=%s to=%s "
	    "at_ms=%lld", h->cfg->stream, h->cfg->relay, h->holding ?
	    "slate" : h->label, h->next, hold_at_ms(o));
	if (h->holding) {
		slate_stop(h->sl);
		h->holding = false;
		hold_end_log(h, "source", now);
	}
	memcpy(h->label, h->next, sizeof(h->label));
	xcode_splice(h->xc);
	output_adopt(o, in);
	for (t = 0; t < INPUT_NTRACKS; t++)
		h->extra[t] = !xcode_track(h->xc, t);
}

/* The source's configuration with its first packet after a switch: the
 * flv muxer writes it as a new sequence header. */
static void
hold_extra(struct hold *h, const struct input *in, AVPacket *pkt)
{
	const AVCodecParameters	*par = in->par[pkt->stream_index];
	uint8_t			*sd;

	h->extra[pkt->stream_index] = false;
	if (par == NULL || par->extradata_size <= 0)
		return;
	if ((sd = av_packet_new_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA,
	    (size_t)par->extradata_size)) != NULL)
		memcpy(sd, par->extradata, (size_t)par->extradata_size);
}

bool
hold_media(struct hold *h, const struct input *in, struct output *o,
    AVPacket *pkt)
{
	int	t = pkt->stream_index;

	if (!h->can_splice)
		return true;
	if (h->holding && !h->sp.waiting)
		return false;	/* media without SOURCE NEW: not ours */
	switch (splice_source(&h->sp, pkt, !xcode_track(h->xc, t),
	    in->par[INPUT_VIDEO] != NULL)) {
	case SPLICE_DROP:
		return false;
	case SPLICE_SWITCH:
		hold_switch(h, in, o);
		break;
	case SPLICE_PASS:
		break;
	}
	if (h->extra[t])
		hold_extra(h, in, pkt);
	return true;
}

enum hold_res
hold_tick(struct hold *h, uint64_t now, AVPacket *pkt)
{
	AVFrame	*f = NULL;
	int	 t = 0;

	switch (slate_next(h->sl, now, &t, pkt, &f)) {
	case SLATE_PACKET:
		if (t == INPUT_VIDEO)
			pkt->pts += h->cts_ms;
		splice_wrote(&h->sp, t, pkt->dts, pkt->pts);
		return HOLD_PACKET;
	case SLATE_FRAME:
		if (xcode_send_frame(h->xc, t, f, now) < 0)
			return HOLD_NONE;
		return HOLD_FED;
	default:
		return HOLD_NONE;
	}
}

bool
hold_active(const struct hold *h)
{
	return h->holding && slate_running(h->sl);
}

bool
hold_switching(const struct hold *h)
{
	return h->holding || h->sp.waiting;
}

unsigned
hold_wait_ms(const struct hold *h, uint64_t now)
{
	return hold_active(h) ? slate_wait_ms(h->sl, now) : 1000;
}

void
hold_session(struct hold *h)
{
	if (hold_active(h))
		slate_force_key(h->sl);
}

void
hold_stop(struct hold *h, const char *why, uint64_t now)
{
	if (!h->holding)
		return;
	slate_stop(h->sl);
	h->holding = false;
	hold_end_log(h, why, now);
}
