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
	if (s->state > IPC_ST_STALLED || s->error_class > IPC_ERR_CONFIG ||
	    s->last_error_len > IPC_STATUS_ERR_MAX)
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
