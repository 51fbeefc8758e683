/*
 * RTMP chunk stream parser and encoder; see rtmp_chunk.h.  The parser
 * owns the partial messages and the last completed one; what a message
 * means (other than Set Chunk Size and Abort) is the session's business.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rtmp_chunk.h"
#include "common/wire.h"

#define RTMP_TS_EXT	0xffffffu	/* 5.3.1.3: extended ts follows */
#define RTMP_LEN_MAX	0xffffffu	/* 24-bit message length field */

/* Message header bytes after the basic header, by fmt (5.3.1.2). */
static const uint8_t	rtmp_msghdr_len[4] = { 11, 7, 3, 0 };

/* data of a zero-length message: never NULL, so memcmp/memcpy are safe */
static const uint8_t	rtmp_empty[1];

static enum rtmp_res
rtmp_chunk_fail(struct rtmp_chunk *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum rtmp_res
rtmp_chunk_fail(struct rtmp_chunk *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(p->errbuf, sizeof(p->errbuf), fmt, ap);
	va_end(ap);
	p->err = p->errbuf;
	return RTMP_ERR;
}

void
rtmp_chunk_init(struct rtmp_chunk *p)
{
	memset(p, 0, sizeof(*p));
	p->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
	p->state = RTMP_CS_BASIC;
	p->hdr_need = 1;
	p->max_msg_len = RTMP_MAX_MSG_LEN;
	p->max_pending = RTMP_MAX_PENDING;
	p->max_chunk_size = RTMP_MAX_CHUNK_SIZE;
}

void
rtmp_chunk_set_max_chunk_size(struct rtmp_chunk *p, uint32_t n)
{
	p->max_chunk_size = n >= 1 && n < RTMP_MAX_CHUNK_SIZE ? n :
	    RTMP_MAX_CHUNK_SIZE;
}

void
rtmp_chunk_set_limits(struct rtmp_chunk *p, uint32_t max_msg_len,
    size_t max_pending)
{
	p->max_msg_len = max_msg_len < RTMP_MAX_MSG_LEN ? max_msg_len :
	    RTMP_MAX_MSG_LEN;
	p->max_pending = max_pending < RTMP_MAX_PENDING ? max_pending :
	    RTMP_MAX_PENDING;
}

void
rtmp_chunk_clear(struct rtmp_chunk *p)
{
	size_t	i;

	for (i = 0; i < RTMP_MAX_CSIDS; i++) {
		free(p->cs[i].buf);
		p->cs[i].buf = NULL;
	}
	free(p->done);
	p->done = NULL;
	p->pending = 0;
	p->cur = NULL;
}

const char *
rtmp_chunk_error(const struct rtmp_chunk *p)
{
	return p->err;
}

/* Slot of csid, or NULL.  Consecutive chunks mostly share a chunk stream
 * (librtmp's 128-byte media chunks), so the last one is tried first. */
static struct rtmp_cs *
rtmp_chunk_find(struct rtmp_chunk *p, uint32_t csid)
{
	size_t	i;

	if (p->cur != NULL && p->cur->csid == csid)
		return p->cur;
	for (i = 0; i < RTMP_MAX_CSIDS; i++)
		if (p->cs[i].csid == csid)
			return &p->cs[i];
	return NULL;
}

static struct rtmp_cs *
rtmp_chunk_alloc(struct rtmp_chunk *p, uint32_t csid)
{
	size_t	i;

	for (i = 0; i < RTMP_MAX_CSIDS; i++)
		if (p->cs[i].csid == 0) {
			memset(&p->cs[i], 0, sizeof(p->cs[i]));
			p->cs[i].csid = csid;
			return &p->cs[i];
		}
	return NULL;
}

static size_t
rtmp_chunk_basic_len(uint8_t b0)
{
	switch (b0 & 0x3f) {
	case 0:
		return 2;
	case 1:
		return 3;
	default:
		return 1;
	}
}

/*
 * The basic header is complete: find the chunk stream and work out how
 * long the rest of the header is.  An fmt-3 header carries an extended
 * timestamp when the stream's last fmt 0-2 header did (5.3.1.3): ffmpeg
 * and librtmp both repeat it.
 */
static enum rtmp_res
rtmp_chunk_on_basic(struct rtmp_chunk *p)
{
	unsigned	 fmt = p->hdr[0] >> 6;
	uint32_t	 csid = p->hdr[0] & 0x3f;
	struct rtmp_cs	*cs;

	if (p->hdr_got == 2)
		csid = 64 + (uint32_t)p->hdr[1];
	else if (p->hdr_got == 3)
		csid = 64 + (uint32_t)p->hdr[1] + ((uint32_t)p->hdr[2] << 8);
	if ((cs = rtmp_chunk_find(p, csid)) == NULL) {
		if (fmt != 0)
			return rtmp_chunk_fail(p, "chunk stream %u: fmt %u "
			    "header without a previous fmt 0", csid, fmt);
		if ((cs = rtmp_chunk_alloc(p, csid)) == NULL)
			return rtmp_chunk_fail(p, "too many chunk streams "
			    "(over %d)", RTMP_MAX_CSIDS);
	}
	/* 5.3.1.2.4: only fmt 3 may continue a partial message */
	if (fmt != 3 && cs->buf != NULL)
		return rtmp_chunk_fail(p, "chunk stream %u: fmt %u header in "
		    "the middle of a message", csid, fmt);
	p->cur = cs;
	p->hdr_need += rtmp_msghdr_len[fmt];
	if (fmt == 3 && cs->ext_ts)
		p->hdr_need += 4;
	p->state = RTMP_CS_MSGHDR;
	return RTMP_NEED;
}

/* Applies a complete header to its chunk stream; a new message gets its
 * buffer here, after the limits are checked. */
static enum rtmp_res
rtmp_chunk_on_header(struct rtmp_chunk *p)
{
	struct rtmp_cs	*cs = p->cur;
	unsigned	 fmt = p->hdr[0] >> 6;
	size_t		 basic = rtmp_chunk_basic_len(p->hdr[0]);
	struct wire_r	 r;
	uint32_t	 ts = 0, len = cs->msg_len;

	wire_r_init(&r, p->hdr + basic, p->hdr_got - basic);
	if (fmt < 3) {
		ts = wire_be24(&r);
		if (fmt < 2) {
			len = wire_be24(&r);
			if (len > p->max_msg_len)
				return rtmp_chunk_fail(p, "message length %u "
				    "over limit %u", len, p->max_msg_len);
			cs->msg_len = len;
			cs->type = wire_u8(&r);
		}
		if (fmt == 0)
			cs->stream_id = wire_le32(&r);	/* 5.3.1.2.1 */
		cs->ext_ts = ts == RTMP_TS_EXT;
		if (cs->ext_ts)
			ts = wire_be32(&r);
	}
	/* else: a repeated extended timestamp is read and ignored */

	switch (fmt) {
	case 0:
		cs->ts_ms = ts;
		cs->ts_delta = 0;	/* rtmp2: fmt 3 after fmt 0 = same ts */
		break;
	case 1:
	case 2:
		cs->ts_delta = ts;
		cs->ts_ms += ts;
		break;
	default:
		if (cs->buf == NULL)	/* new message: repeat the delta */
			cs->ts_ms += cs->ts_delta;
		break;
	}
	if (cs->buf == NULL && cs->msg_len > 0) {
		if (p->pending > p->max_pending ||
		    cs->msg_len > p->max_pending - p->pending)
			return rtmp_chunk_fail(p, "chunk stream %u: %u more "
			    "bytes put partial messages over limit %zu",
			    cs->csid, cs->msg_len, p->max_pending);
		if ((cs->buf = malloc(cs->msg_len)) == NULL)
			return rtmp_chunk_fail(p, "out of memory");
		p->pending += cs->msg_len;
		cs->got = 0;
	}
	p->chunk_left = cs->msg_len - cs->got;
	if (p->chunk_left > p->chunk_size)
		p->chunk_left = p->chunk_size;
	p->state = RTMP_CS_DATA;
	return RTMP_NEED;
}

/* The parser's own control messages (5.4.1, 5.4.2).  They are applied
 * whatever chunk stream they came on, since the peer's chunking follows
 * them anyway. */
static enum rtmp_res
rtmp_chunk_control(struct rtmp_chunk *p, const struct rtmp_msg *m)
{
	struct wire_r	 r;
	struct rtmp_cs	*cs;
	uint32_t	 v;

	wire_r_init(&r, m->data, m->len);
	v = wire_be32(&r);
	if (r.err)
		return rtmp_chunk_fail(p, "%s: message of %u bytes too short",
		    m->type == RTMP_MSG_SET_CHUNK_SIZE ? "set chunk size" :
		    "abort", m->len);
	if (m->type == RTMP_MSG_SET_CHUNK_SIZE) {
		if (v == 0 || v > RTMP_MAX_CHUNK_SIZE)
			return rtmp_chunk_fail(p, "set chunk size: invalid "
			    "size %u", v);
		if (v > p->max_chunk_size)
			return rtmp_chunk_fail(p, "set chunk size: %u over "
			    "limit %u", v, p->max_chunk_size);
		p->chunk_size = v;
	} else if (v >= 2 && v <= RTMP_MAX_CSID &&
	    (cs = rtmp_chunk_find(p, v)) != NULL && cs->buf != NULL) {
		free(cs->buf);
		cs->buf = NULL;
		p->pending -= cs->msg_len;
		cs->got = 0;
	}
	return RTMP_MSG;
}

/* The current message is complete: hand its buffer over to p->done. */
static enum rtmp_res
rtmp_chunk_emit(struct rtmp_chunk *p, struct rtmp_msg *m)
{
	struct rtmp_cs	*cs = p->cur;

	m->csid = cs->csid;
	m->type = cs->type;
	m->stream_id = cs->stream_id;
	m->ts_ms = cs->ts_ms;
	m->len = cs->msg_len;
	m->data = cs->buf != NULL ? cs->buf : rtmp_empty;
	p->done = cs->buf;
	p->pending -= cs->msg_len;
	cs->buf = NULL;
	cs->got = 0;
	if (m->type == RTMP_MSG_SET_CHUNK_SIZE || m->type == RTMP_MSG_ABORT)
		return rtmp_chunk_control(p, m);
	return RTMP_MSG;
}

/* Copies header bytes; returns how many were taken from s. */
static size_t
rtmp_chunk_take_hdr(struct rtmp_chunk *p, const uint8_t *s, size_t n)
{
	size_t	k = p->hdr_need - p->hdr_got;

	if (k > n)
		k = n;
	memcpy(p->hdr + p->hdr_got, s, k);
	p->hdr_got += k;
	return k;
}

/* The whole header is in: for fmt 0-2, the 24-bit timestamp field may
 * still call for 4 more bytes. */
static bool
rtmp_chunk_hdr_more(struct rtmp_chunk *p)
{
	unsigned	 fmt = p->hdr[0] >> 6;
	size_t		 base = rtmp_chunk_basic_len(p->hdr[0]) +
			    rtmp_msghdr_len[fmt];
	const uint8_t	*t;

	if (fmt == 3 || p->hdr_need != base)
		return false;
	t = p->hdr + rtmp_chunk_basic_len(p->hdr[0]);
	if (((uint32_t)t[0] << 16 | (uint32_t)t[1] << 8 | t[2]) != RTMP_TS_EXT)
		return false;
	p->hdr_need += 4;
	return true;
}

enum rtmp_res
rtmp_chunk_feed(struct rtmp_chunk *p, const uint8_t *s, size_t n,
    size_t *used, struct rtmp_msg *m)
{
	struct rtmp_cs	*cs;
	enum rtmp_res	 res = RTMP_NEED;
	size_t		 off = 0, k;

	*used = 0;
	if (p->err != NULL)
		return RTMP_ERR;
	free(p->done);
	p->done = NULL;
	while (off < n && res == RTMP_NEED) {
		switch (p->state) {
		case RTMP_CS_BASIC:
			off += rtmp_chunk_take_hdr(p, s + off, n - off);
			if (p->hdr_got == 1)
				p->hdr_need = rtmp_chunk_basic_len(p->hdr[0]);
			if (p->hdr_got == p->hdr_need)
				res = rtmp_chunk_on_basic(p);
			break;
		case RTMP_CS_MSGHDR:
			off += rtmp_chunk_take_hdr(p, s + off, n - off);
			break;
		case RTMP_CS_DATA:
			cs = p->cur;
			k = n - off < p->chunk_left ? n - off : p->chunk_left;
			memcpy(cs->buf + cs->got, s + off, k);
			cs->got += (uint32_t)k;
			p->chunk_left -= (uint32_t)k;
			off += k;
			break;
		}
		if (res != RTMP_NEED)
			break;
		/* a header without payload (fmt 3, no ext ts; or a
		 * zero-length message) completes without further input */
		if (p->state == RTMP_CS_MSGHDR && p->hdr_got == p->hdr_need &&
		    !rtmp_chunk_hdr_more(p))
			res = rtmp_chunk_on_header(p);
		if (res == RTMP_NEED && p->state == RTMP_CS_DATA &&
		    p->chunk_left == 0) {
			p->state = RTMP_CS_BASIC;
			p->hdr_got = 0;
			p->hdr_need = 1;
			if (p->cur->got == p->cur->msg_len)
				res = rtmp_chunk_emit(p, m);
		}
	}
	*used = off;
	return res;
}

size_t
rtmp_chunk_encode(uint8_t *out, size_t cap, uint32_t chunk_size,
    uint32_t csid, const struct rtmp_msg *msg)
{
	struct wire_w	 w;
	bool		 ext = msg->ts_ms >= RTMP_TS_EXT;
	size_t		 chunks, need, off, k;

	if (csid < 2 || csid > 63 || chunk_size == 0 ||
	    chunk_size > RTMP_MAX_CHUNK_SIZE ||
	    msg->len > RTMP_LEN_MAX)
		return 0;
	chunks = msg->len == 0 ? 1 : (msg->len - 1) / chunk_size + 1;
	need = 12 + (ext ? 4 : 0) + msg->len + (chunks - 1) * (ext ? 5 : 1);
	if (need > cap)
		return need;
	wire_w_init(&w, out, cap);
	wire_put_u8(&w, (uint8_t)csid);		/* fmt 0 */
	wire_put_be24(&w, ext ? RTMP_TS_EXT : msg->ts_ms);
	wire_put_be24(&w, msg->len);
	wire_put_u8(&w, msg->type);
	wire_put_le32(&w, msg->stream_id);
	off = 0;
	do {
		if (off > 0)
			wire_put_u8(&w, (uint8_t)(3 << 6 | csid));
		if (ext)
			wire_put_be32(&w, msg->ts_ms);
		k = msg->len - off < chunk_size ? msg->len - off : chunk_size;
		if (k > 0)
			wire_put_bytes(&w, msg->data + off, k);
		off += k;
	} while (off < msg->len);
	return w.off;
}
