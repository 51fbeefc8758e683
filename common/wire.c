/*
 * Bounds-checked byte readers and writers; see wire.h.  Every reader
 * returns zero and sets err once the input runs short, so callers check
 * err (or wire_end) once after a run of fields.
 */
#include <string.h>

#include "common/wire.h"

void
wire_r_init(struct wire_r *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = false;
}

size_t
wire_left(const struct wire_r *r)
{
	return r->err ? 0 : r->len - r->off;
}

const uint8_t *
wire_bytes(struct wire_r *r, size_t n)
{
	const uint8_t	*p;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t
wire_u8(struct wire_r *r)
{
	const uint8_t	*p = wire_bytes(r, 1);

	return p ? p[0] : 0;
}

uint16_t
wire_be16(struct wire_r *r)
{
	const uint8_t	*p = wire_bytes(r, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t
wire_be24(struct wire_r *r)
{
	const uint8_t	*p = wire_bytes(r, 3);

	return p ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
}

uint32_t
wire_be32(struct wire_r *r)
{
	const uint8_t	*p = wire_bytes(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3] : 0;
}

double
wire_be_double(struct wire_r *r)
{
	const uint8_t	*p = wire_bytes(r, 8);
	uint64_t	 u = 0;
	double		 d;
	int		 i;

	if (p == NULL)
		return 0;
	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	memcpy(&d, &u, sizeof(d));
	return d;
}

uint16_t
wire_le16(struct wire_r *r)
{
	const uint8_t	*p = wire_bytes(r, 2);

	return p ? (uint16_t)(p[1] << 8 | p[0]) : 0;
}

uint32_t
wire_le32(struct wire_r *r)
{
	const uint8_t	*p = wire_bytes(r, 4);

	return p ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0] : 0;
}

uint64_t
wire_le64(struct wire_r *r)
{
	uint64_t	 lo = wire_le32(r), hi = wire_le32(r);

	return r->err ? 0 : lo | hi << 32;
}

int
wire_str(struct wire_r *r, const char **s, size_t *len)
{
	size_t		 n = wire_le16(r);
	const uint8_t	*p = wire_bytes(r, n);

	if (p == NULL)
		return -1;
	*s = (const char *)p;
	*len = n;
	return 0;
}

int
wire_end(const struct wire_r *r)
{
	return r->err || r->off != r->len ? -1 : 0;
}

void
wire_w_init(struct wire_w *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->off = 0;
	w->err = false;
}

void
wire_put_bytes(struct wire_w *w, const void *p, size_t n)
{
	if (w->err || n > w->cap - w->off) {
		w->err = true;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->off, p, n);
	w->off += n;
}

void
wire_put_u8(struct wire_w *w, uint8_t v)
{
	wire_put_bytes(w, &v, 1);
}

void
wire_put_be16(struct wire_w *w, uint16_t v)
{
	uint8_t	b[2] = { v >> 8, v & 0xff };

	wire_put_bytes(w, b, sizeof(b));
}

void
wire_put_be24(struct wire_w *w, uint32_t v)
{
	uint8_t	b[3] = { v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff };

	wire_put_bytes(w, b, sizeof(b));
}

void
wire_put_be32(struct wire_w *w, uint32_t v)
{
	uint8_t	b[4] = { v >> 24, v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff };

	wire_put_bytes(w, b, sizeof(b));
}

void
wire_put_be_double(struct wire_w *w, double d)
{
	uint64_t	u;
	uint8_t		b[8];
	int		i;

	memcpy(&u, &d, sizeof(u));
	for (i = 7; i >= 0; i--, u >>= 8)
		b[i] = u & 0xff;
	wire_put_bytes(w, b, sizeof(b));
}

void
wire_put_le16(struct wire_w *w, uint16_t v)
{
	uint8_t	b[2] = { v & 0xff, v >> 8 };

	wire_put_bytes(w, b, sizeof(b));
}

void
wire_put_le32(struct wire_w *w, uint32_t v)
{
	uint8_t	b[4] = { v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 };

	wire_put_bytes(w, b, sizeof(b));
}

void
wire_put_le64(struct wire_w *w, uint64_t v)
{
	wire_put_le32(w, (uint32_t)v);
	wire_put_le32(w, (uint32_t)(v >> 32));
}

void
wire_put_str(struct wire_w *w, const char *s, size_t n)
{
	if (n > UINT16_MAX) {
		w->err = true;
		return;
	}
	wire_put_le16(w, (uint16_t)n);
	wire_put_bytes(w, s, n);
}
