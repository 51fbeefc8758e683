/*
 * Packing and parsing of the worker IPC payloads; see ipc_msg.h.  The
 * framing (header, per-type length limits) is ipc.c's job.
 */
#include <limits.h>
#include <string.h>

#include "common/ipc.h"
#include "common/ipc_msg.h"
#include "common/wire.h"

static int
ipc_msg_done(const struct wire_w *w)
{
	if (w->err || w->off > INT_MAX)
		return -1;
	return (int)w->off;
}

int
ipc_hello_pack(void *out, size_t cap, const char *proc)
{
	struct wire_w	w;

	wire_w_init(&w, out, cap);
	wire_put_le32(&w, IPC_VERSION);
	wire_put_str(&w, proc, strlen(proc));
	return ipc_msg_done(&w);
}

int
ipc_hello_parse(const void *p, size_t n, struct ipc_hello *h)
{
	struct wire_r	r;

	wire_r_init(&r, p, n);
	h->version = wire_le32(&r);
	wire_str(&r, &h->proc, &h->proc_len);
	return wire_end(&r);
}

static void
ipc_put_s(struct wire_w *w, const struct ipc_str *s)
{
	wire_put_str(w, s->len > 0 ? s->p : "", s->len);
}

static void
ipc_profile_put(struct wire_w *w, const struct ipc_profile *p)
{
	wire_put_u8(w, p->video_copy);
	ipc_put_s(w, &p->vcodec);
	wire_put_le32(w, p->width);
	wire_put_le32(w, p->height);
	wire_put_le32(w, p->fps_num);
	wire_put_le32(w, p->fps_den);
	wire_put_le32(w, p->vbitrate_bps);
	wire_put_le32(w, p->maxrate_bps);
	wire_put_le32(w, p->bufsize_bps);
	wire_put_le32(w, p->keyint_ms);
	wire_put_le32(w, p->keyint_frames);
	ipc_put_s(w, &p->preset);
	ipc_put_s(w, &p->tune);
	ipc_put_s(w, &p->vprofile);
	ipc_put_s(w, &p->level);
	ipc_put_s(w, &p->pix_fmt);
	wire_put_u8(w, p->audio_copy);
	ipc_put_s(w, &p->acodec);
	wire_put_le32(w, p->abitrate_bps);
	wire_put_le32(w, p->sample_rate);
	wire_put_le32(w, p->channels);
}

static void
ipc_profile_get(struct wire_r *r, struct ipc_profile *p)
{
	p->video_copy = wire_u8(r);
	wire_str(r, &p->vcodec.p, &p->vcodec.len);
	p->width = wire_le32(r);
	p->height = wire_le32(r);
	p->fps_num = wire_le32(r);
	p->fps_den = wire_le32(r);
	p->vbitrate_bps = wire_le32(r);
	p->maxrate_bps = wire_le32(r);
	p->bufsize_bps = wire_le32(r);
	p->keyint_ms = wire_le32(r);
	p->keyint_frames = wire_le32(r);
	wire_str(r, &p->preset.p, &p->preset.len);
	wire_str(r, &p->tune.p, &p->tune.len);
	wire_str(r, &p->vprofile.p, &p->vprofile.len);
	wire_str(r, &p->level.p, &p->level.len);
	wire_str(r, &p->pix_fmt.p, &p->pix_fmt.len);
	p->audio_copy = wire_u8(r);
	wire_str(r, &p->acodec.p, &p->acodec.len);
	p->abitrate_bps = wire_le32(r);
	p->sample_rate = wire_le32(r);
	p->channels = wire_le32(r);
}

int
ipc_config_pack(void *out, size_t cap, const struct ipc_config *c)
{
	struct wire_w	w;

	wire_w_init(&w, out, cap);
	wire_put_str(&w, c->stream, c->stream_len);
	wire_put_str(&w, c->relay, c->relay_len);
	wire_put_str(&w, c->url, c->url_len);
	wire_put_str(&w, c->profile, c->profile_len);
	wire_put_le32(&w, c->connect_timeout_ms);
	wire_put_le32(&w, c->io_timeout_ms);
	wire_put_le32(&w, c->backoff_min_ms);
	wire_put_le32(&w, c->backoff_max_ms);
	wire_put_u8(&w, c->log_level);
	wire_put_u8(&w, c->log_format);
	ipc_profile_put(&w, &c->prof);
	wire_put_u8(&w, c->on_loss);
	wire_put_le32(&w, c->grace_ms);
	ipc_put_s(&w, &c->slate_image);
	ipc_put_s(&w, &c->slate_audio);
	return ipc_msg_done(&w);
}

int
ipc_config_parse(const void *p, size_t n, struct ipc_config *c)
{
	struct wire_r	r;

	wire_r_init(&r, p, n);
	wire_str(&r, &c->stream, &c->stream_len);
	wire_str(&r, &c->relay, &c->relay_len);
	wire_str(&r, &c->url, &c->url_len);
	wire_str(&r, &c->profile, &c->profile_len);
	c->connect_timeout_ms = wire_le32(&r);
	c->io_timeout_ms = wire_le32(&r);
	c->backoff_min_ms = wire_le32(&r);
	c->backoff_max_ms = wire_le32(&r);
	c->log_level = wire_u8(&r);
	c->log_format = wire_u8(&r);
	ipc_profile_get(&r, &c->prof);
	c->on_loss = wire_u8(&r);
	c->grace_ms = wire_le32(&r);
	wire_str(&r, &c->slate_image.p, &c->slate_image.len);
	wire_str(&r, &c->slate_audio.p, &c->slate_audio.len);
	if (c->prof.video_copy > 1 || c->prof.audio_copy > 1 ||
	    c->on_loss > IPC_LOSS_HOLD)
		return -1;
	return wire_end(&r);
}

int
ipc_status_pack(void *out, size_t cap, const struct ipc_status *s)
{
	struct wire_w	w;
	size_t		elen;

	elen = s->last_error_len;
	if (elen > IPC_STATUS_ERR_MAX)
		elen = IPC_STATUS_ERR_MAX;
	wire_w_init(&w, out, cap);
	wire_put_u8(&w, s->state);
	wire_put_le64(&w, s->bytes_out);
	wire_put_le32(&w, s->kbps);
	wire_put_le32(&w, s->fps_x100);
	wire_put_le64(&w, s->packets_out);
	wire_put_le64(&w, s->packets_dropped);
	wire_put_le32(&w, s->reconnects);
	wire_put_le32(&w, s->state_ms);
	wire_put_u8(&w, s->error_class);
	wire_put_str(&w, s->last_error != NULL ? s->last_error : "", elen);
	wire_put_le32(&w, s->speed_x100);
	wire_put_le64(&w, s->frames_dropped);
	wire_put_le64(&w, s->frames_duped);
	return ipc_msg_done(&w);
}

int
ipc_status_parse(const void *p, size_t n, struct ipc_status *s)
{
	struct wire_r	r;

	wire_r_init(&r, p, n);
	s->state = wire_u8(&r);
	s->bytes_out = wire_le64(&r);
	s->kbps = wire_le32(&r);
	s->fps_x100 = wire_le32(&r);
	s->packets_out = wire_le64(&r);
	s->packets_dropped = wire_le64(&r);
	s->reconnects = wire_le32(&r);
	s->state_ms = wire_le32(&r);
	s->error_class = wire_u8(&r);
	wire_str(&r, &s->last_error, &s->last_error_len);
	s->speed_x100 = wire_le32(&r);
	s->frames_dropped = wire_le64(&r);
	s->frames_duped = wire_le64(&r);
	if (s->state > IPC_ST_HOLDING || s->error_class > IPC_ERR_CONFIG ||
	    s->last_error_len > IPC_STATUS_ERR_MAX)
		return -1;
	return wire_end(&r);
}

int
ipc_source_pack(void *out, size_t cap, const struct ipc_source *s)
{
	struct wire_w	w;

	wire_w_init(&w, out, cap);
	wire_put_u8(&w, s->what);
	wire_put_le32(&w, s->grace_ms);
	ipc_put_s(&w, &s->label);
	return ipc_msg_done(&w);
}

int
ipc_source_parse(const void *p, size_t n, struct ipc_source *s)
{
	struct wire_r	r;

	wire_r_init(&r, p, n);
	s->what = wire_u8(&r);
	s->grace_ms = wire_le32(&r);
	wire_str(&r, &s->label.p, &s->label.len);
	if (s->what > IPC_SRC_NEW || s->label.len > 64)
		return -1;
	return wire_end(&r);
}

int
ipc_media_parse(const void *p, size_t n, struct ipc_media *m)
{
	struct wire_r	r;

	wire_r_init(&r, p, n);
	m->type = wire_u8(&r);
	m->flags = wire_u8(&r);
	m->ts_ms = wire_le32(&r);
	m->len = wire_left(&r);
	m->data = wire_bytes(&r, m->len);
	return wire_end(&r);
}
