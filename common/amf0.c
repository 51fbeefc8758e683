/*
 * AMF0 iterator and encoder; see amf0.h.  The iterator only walks and
 * bounds-checks; what a command means is the session's business.  Values
 * point into the caller's buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/amf0.h"
#include "common/wire.h"

static enum amf0_res
amf0_fail(struct amf0_it *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static enum amf0_res
amf0_fail(struct amf0_it *it, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(it->errbuf, sizeof(it->errbuf), fmt, ap);
	va_end(ap);
	it->err = it->errbuf;
	return AMF0_ERR;
}

void
amf0_it_init(struct amf0_it *it, const uint8_t *p, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->p = p;
	it->len = len;
}

const char *
amf0_error(const struct amf0_it *it)
{
	return it->err;
}

static const char *
amf0_type_name(unsigned type)
{
	static const char *const names[] = {
		"number", "boolean", "string", "object", "movieclip", "null",
		"undefined", "reference", "ECMA array", "object end",
		"strict array", "date", "long string", "unsupported",
		"recordset", "XML document", "typed object", "AVM+ (AMF3)",
	};

	return type < sizeof(names) / sizeof(*names) ? names[type] : "unknown";
}

/* A u16 (or, long, u32) length and that many bytes; the length is checked
 * against the input before anything reads them.  A short length field is
 * left in r->err for the caller. */
static enum amf0_res
amf0_str(struct amf0_it *it, struct wire_r *r, bool long_len,
    struct amf0_val *v)
{
	size_t	n = long_len ? wire_be32(r) : wire_be16(r);

	if (r->err)
		return AMF0_VAL;
	if (n > wire_left(r))
		return amf0_fail(it, "string length %zu past end of input", n);
	v->str = (const char *)wire_bytes(r, n);
	v->str_len = n;
	return AMF0_VAL;
}

static enum amf0_res
amf0_push(struct amf0_it *it, struct amf0_val *v, uint32_t left)
{
	if (it->depth == AMF0_MAX_DEPTH)
		return amf0_fail(it, "nesting deeper than %d", AMF0_MAX_DEPTH);
	it->kind[it->depth] = (uint8_t)v->type;
	it->left[it->depth] = left;
	it->depth++;
	return AMF0_VAL;
}

/* Reads one marker and its payload (AMF0 2.2-2.18) into v. */
static enum amf0_res
amf0_value(struct amf0_it *it, struct wire_r *r, struct amf0_val *v)
{
	enum amf0_res	res = AMF0_VAL;
	uint8_t		marker = wire_u8(r);

	if (r->err)
		return amf0_fail(it, "input ended before a value at offset %zu",
		    it->off + r->off);
	v->type = (enum amf0_type)marker;
	switch (marker) {
	case AMF0_NUMBER:
		v->num = wire_be_double(r);
		break;
	case AMF0_BOOLEAN:
		v->boolean = wire_u8(r) != 0;
		break;
	case AMF0_STRING:
		res = amf0_str(it, r, false, v);
		break;
	case AMF0_LONG_STRING:
	case AMF0_XML_DOCUMENT:
		res = amf0_str(it, r, true, v);
		break;
	case AMF0_NULL:
	case AMF0_UNDEFINED:
	case AMF0_UNSUPPORTED:
		break;
	case AMF0_REFERENCE:
		v->count = wire_be16(r);
		break;
	case AMF0_DATE:
		v->num = wire_be_double(r);
		(void)wire_be16(r);	/* time zone: "should be 0" (2.13) */
		break;
	case AMF0_OBJECT:
		res = amf0_push(it, v, 0);
		break;
	case AMF0_TYPED_OBJECT:
		res = amf0_str(it, r, false, v);
		if (res == AMF0_VAL && !r->err)
			res = amf0_push(it, v, 0);
		break;
	case AMF0_ECMA_ARRAY:
		/* a hint only: ffmpeg writes it, the end marker decides */
		v->count = wire_be32(r);
		if (!r->err)
			res = amf0_push(it, v, 0);
		break;
	case AMF0_STRICT_ARRAY:
		v->count = wire_be32(r);
		if (r->err)
			break;
		/* each item takes at least its marker byte */
		if (v->count > wire_left(r))
			return amf0_fail(it, "strict array count %u past end "
			    "of input", v->count);
		res = amf0_push(it, v, v->count);
		break;
	case AMF0_OBJECT_END:
		return amf0_fail(it, "object end marker outside an object");
	default:
		return amf0_fail(it, "%s marker 0x%02x not supported",
		    amf0_type_name(marker), marker);
	}
	if (res == AMF0_VAL && r->err)
		return amf0_fail(it, "%s truncated at offset %zu",
		    amf0_type_name(marker), it->off);
	return res;
}

/* Inside an object: a property name, or the end marker (2.11). */
static enum amf0_res
amf0_prop(struct amf0_it *it, struct wire_r *r, struct amf0_val *v)
{
	uint16_t	n = wire_be16(r);

	if (r->err)
		return amf0_fail(it, "input ended inside %s at offset %zu",
		    amf0_type_name(it->kind[it->depth - 1]), it->off);
	if (n == 0 && r->off < r->len && r->p[r->off] == AMF0_OBJECT_END) {
		r->off++;
		it->depth--;
		v->type = AMF0_OBJECT_END;
		v->depth = it->depth;
		return AMF0_VAL;
	}
	if (wire_left(r) < n)
		return amf0_fail(it, "property name length %u past end of "
		    "input", n);
	v->key = (const char *)wire_bytes(r, n);
	v->key_len = n;
	return amf0_value(it, r, v);
}

enum amf0_res
amf0_next(struct amf0_it *it, struct amf0_val *v)
{
	struct wire_r	r;
	enum amf0_res	res;

	if (it->err != NULL)
		return AMF0_ERR;
	if (it->depth == 0 && it->off == it->len)
		return AMF0_DONE;
	memset(v, 0, sizeof(*v));
	v->depth = it->depth;
	wire_r_init(&r, it->p + it->off, it->len - it->off);
	if (it->depth == 0) {
		res = amf0_value(it, &r, v);
	} else if (it->kind[it->depth - 1] != AMF0_STRICT_ARRAY) {
		res = amf0_prop(it, &r, v);
	} else if (it->left[it->depth - 1] == 0) {
		it->depth--;	/* no end marker on the wire */
		v->type = AMF0_OBJECT_END;
		v->depth = it->depth;
		res = AMF0_VAL;
	} else {
		it->left[it->depth - 1]--;
		res = wire_left(&r) == 0 ? amf0_fail(it, "input ended inside "
		    "strict array at offset %zu", it->off) :
		    amf0_value(it, &r, v);
	}
	if (res == AMF0_VAL)
		it->off += r.off;
	return res;
}

enum amf0_res
amf0_skip(struct amf0_it *it, const struct amf0_val *open)
{
	struct amf0_val	v;
	enum amf0_res	res;

	if (open->type != AMF0_OBJECT && open->type != AMF0_ECMA_ARRAY &&
	    open->type != AMF0_STRICT_ARRAY &&
	    open->type != AMF0_TYPED_OBJECT)
		return AMF0_VAL;	/* a scalar has nothing to skip */
	while ((res = amf0_next(it, &v)) == AMF0_VAL)
		if (v.type == AMF0_OBJECT_END && v.depth == open->depth)
			return AMF0_VAL;
	if (res == AMF0_DONE)	/* open was not the last value returned */
		return amf0_fail(it, "skip: container already closed");
	return res;
}

static bool
amf0_mem_eq(const char *a, size_t alen, const char *s)
{
	size_t	n = strlen(s);

	return a != NULL && alen == n && memcmp(a, s, n) == 0;
}

bool
amf0_str_eq(const struct amf0_val *v, const char *s)
{
	return (v->type == AMF0_STRING || v->type == AMF0_LONG_STRING) &&
	    amf0_mem_eq(v->str, v->str_len, s);
}

bool
amf0_key_eq(const struct amf0_val *v, const char *s)
{
	return amf0_mem_eq(v->key, v->key_len, s);
}

void
amf0_put_number(struct wire_w *w, double d)
{
	wire_put_u8(w, AMF0_NUMBER);
	wire_put_be_double(w, d);
}

void
amf0_put_bool(struct wire_w *w, bool b)
{
	wire_put_u8(w, AMF0_BOOLEAN);
	wire_put_u8(w, b ? 1 : 0);
}

/* Strings over 65535 bytes need the long form (2.14). */
void
amf0_put_string(struct wire_w *w, const char *s)
{
	size_t	n = strlen(s);

	if (n <= UINT16_MAX) {
		wire_put_u8(w, AMF0_STRING);
		wire_put_be16(w, (uint16_t)n);
	} else if (n <= UINT32_MAX) {
		wire_put_u8(w, AMF0_LONG_STRING);
		wire_put_be32(w, (uint32_t)n);
	} else {
		w->err = true;
		return;
	}
	wire_put_bytes(w, s, n);
}

void
amf0_put_null(struct wire_w *w)
{
	wire_put_u8(w, AMF0_NULL);
}

void
amf0_put_object_begin(struct wire_w *w)
{
	wire_put_u8(w, AMF0_OBJECT);
}

void
amf0_put_ecma_begin(struct wire_w *w, uint32_t count)
{
	wire_put_u8(w, AMF0_ECMA_ARRAY);
	wire_put_be32(w, count);
}

void
amf0_put_key(struct wire_w *w, const char *key)
{
	size_t	n = strlen(key);

	if (n > UINT16_MAX) {
		w->err = true;
		return;
	}
	wire_put_be16(w, (uint16_t)n);
	wire_put_bytes(w, key, n);
}

void
amf0_put_object_end(struct wire_w *w)
{
	wire_put_be16(w, 0);
	wire_put_u8(w, AMF0_OBJECT_END);
}

void
amf0_put_prop_string(struct wire_w *w, const char *key, const char *val)
{
	amf0_put_key(w, key);
	amf0_put_string(w, val);
}

void
amf0_put_prop_number(struct wire_w *w, const char *key, double d)
{
	amf0_put_key(w, key);
	amf0_put_number(w, d);
}
