/*
 * RTMP publish client state machine (see rtmp_pub.h), built on common/'s
 * chunk parser and encoder and AMF0 writer and iterator.  Every message
 * goes out in chunks of RTMP_PUB_CHUNK_SIZE (announced first), so a video
 * frame is one header and its body: a few bytes added to what the
 * publisher sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/amf0.h"
#include "common/wire.h"
#include "worker/rtmp_pub.h"

#define RP_CSID_CTL	2
#define RP_CSID_CMD	3
#define RP_CSID_AUDIO	4
#define RP_CSID_DATA	5
#define RP_CSID_VIDEO	6
#define RP_CSID_PUBLISH	8
#define RP_CMD_MAX	4096
#define RP_TXN_CONNECT	1
#define RP_TXN_CREATE	4
#define RP_TXN_PUBLISH	5

int
rtmp_pub_url_parse(struct rtmp_pub_url *u, const char *url)
{
	const char	*h = url + 7, *slash, *colon, *name;
	size_t		 n;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "rtmp://", 7) != 0 ||
	    (slash = strchr(h, '/')) == NULL ||
	    (name = strchr(slash + 1, '/')) == NULL || name[1] == '\0' ||
	    name == slash + 1)
		return -1;
	colon = memchr(h, ':', (size_t)(slash - h));
	n = (size_t)((colon != NULL ? colon : slash) - h);
	if (n == 0 || n >= sizeof(u->host))
		return -1;
	memcpy(u->host, h, n);
	if (colon != NULL) {
		n = (size_t)(slash - colon - 1);
		if (n == 0 || n >= sizeof(u->port) ||
		    strspn(colon + 1, "0123456789") != n)
			return -1;
		memcpy(u->port, colon + 1, n);
	} else
		snprintf(u->port, sizeof(u->port), "1935");
	if ((size_t)(name - slash - 1) >= sizeof(u->app) ||
	    strlen(name + 1) >= sizeof(u->name) ||
	    (size_t)(name - url) >= sizeof(u->tcurl))
		return -1;
	memcpy(u->app, slash + 1, (size_t)(name - slash - 1));
	memcpy(u->name, name + 1, strlen(name + 1));
	memcpy(u->tcurl, url, (size_t)(name - url));
	return 0;
}

static void
rp_fail(struct rtmp_pub *rp, bool refused, const char *why)
{
	if (rp->state == RTMP_PUB_FAILED)
		return;
	rp->state = RTMP_PUB_FAILED;
	rp->refused = refused;
	snprintf(rp->why, sizeof(rp->why), "%s", why);
}

/* Makes room for n more bytes at the end of out: 0 or -1. */
static int
rp_reserve(struct rtmp_pub *rp, size_t n)
{
	uint8_t	*p;
	size_t	 cap;

	if (rp->out_off > 0 && rp->out_off == rp->out_len)
		rp->out_off = rp->out_len = 0;
	if (rp->out_len + n <= rp->out_cap)
		return 0;
	if (rp->out_off > 0) {
		memmove(rp->out, rp->out + rp->out_off,
		    rp->out_len - rp->out_off);
		rp->out_len -= rp->out_off;
		rp->out_off = 0;
		if (rp->out_len + n <= rp->out_cap)
			return 0;
	}
	cap = rp->out_len + n;
	if (cap < 2 * rp->out_cap)
		cap = 2 * rp->out_cap;
	if ((p = realloc(rp->out, cap)) == NULL)
		return -1;
	rp->out = p;
	rp->out_cap = cap;
	return 0;
}

static int
rp_put(struct rtmp_pub *rp, const void *p, size_t n)
{
	if (rp_reserve(rp, n) == -1)
		return -1;
	memcpy(rp->out + rp->out_len, p, n);
	rp->out_len += n;
	return 0;
}

/* Queues one message in chunks. */
static int
rp_msg(struct rtmp_pub *rp, uint32_t csid, uint8_t type, uint32_t stream_id,
    uint32_t ts, const uint8_t *data, size_t len)
{
	struct rtmp_msg	m = { .csid = csid, .type = type,
	    .stream_id = stream_id, .ts_ms = ts, .data = data,
	    .len = (uint32_t)len };
	size_t		need;

	if (len > RTMP_MAX_MSG_LEN)
		return -1;
	need = rtmp_chunk_encode(NULL, 0, RTMP_PUB_CHUNK_SIZE, csid, &m);
	if (rp_reserve(rp, need) == -1)
		return -1;
	rp->out_len += rtmp_chunk_encode(rp->out + rp->out_len, need,
	    RTMP_PUB_CHUNK_SIZE, csid, &m);
	return 0;
}

static int
rp_u32(struct rtmp_pub *rp, uint8_t type, uint32_t v)
{
	uint8_t		b[4];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	wire_put_be32(&w, v);
	return rp_msg(rp, RP_CSID_CTL, type, 0, 0, b, sizeof(b));
}

/* A command: name, txn, then connect's object or null, then the strings
 * in args (NULL-ended). */
static int
rp_command(struct rtmp_pub *rp, uint32_t csid, uint32_t stream_id,
    const char *name, double txn, const char *const *args)
{
	uint8_t		b[RP_CMD_MAX];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, name);
	amf0_put_number(&w, txn);
	if (strcmp(name, "connect") == 0) {
		amf0_put_object_begin(&w);
		amf0_put_prop_string(&w, "app", rp->url->app);
		amf0_put_prop_string(&w, "type", "nonprivate");
		amf0_put_prop_string(&w, "flashVer",
		    "FMLE/3.0 (compatible; mirroring)");
		amf0_put_prop_string(&w, "tcUrl", rp->url->tcurl);
		amf0_put_object_end(&w);
	} else
		amf0_put_null(&w);
	for (; args != NULL && *args != NULL; args++)
		amf0_put_string(&w, *args);
	if (w.err)
		return -1;
	return rp_msg(rp, csid, RTMP_MSG_COMMAND_AMF0, stream_id, 0, b, w.off);
}

void
rtmp_pub_init(struct rtmp_pub *rp, const struct rtmp_pub_url *url,
    uint32_t now_ms, const uint8_t *random)
{
	uint8_t		c01[9];
	struct wire_w	w;

	memset(rp, 0, sizeof(*rp));
	rp->url = url;
	rp->state = RTMP_PUB_HANDSHAKE;
	rtmp_chunk_init(&rp->rx);
	wire_w_init(&w, c01, sizeof(c01));
	wire_put_u8(&w, RTMP_HS_VERSION);
	wire_put_be32(&w, now_ms);
	wire_put_be32(&w, 0);
	if (rp_put(rp, c01, sizeof(c01)) == -1 ||
	    rp_put(rp, random, RTMP_HS_SIZE - 8) == -1)
		rp_fail(rp, false, "out of memory");
}

void
rtmp_pub_clear(struct rtmp_pub *rp)
{
	rtmp_chunk_clear(&rp->rx);
	free(rp->out);
	rp->out = NULL;
	rp->out_off = rp->out_len = rp->out_cap = 0;
}

/* The reason in an onStatus or _error info object: refuses when its level
 * is error; true when it is NetStream.Publish.Start. */
static bool
rp_info(struct rtmp_pub *rp, struct amf0_it *it, bool is_error)
{
	struct amf0_val	v;
	bool		error = is_error;
	char		code[96] = "", desc[96] = "", why[240];

	while (amf0_next(it, &v) == AMF0_VAL) {
		if (v.depth != 1 || (v.type != AMF0_STRING &&
		    v.type != AMF0_LONG_STRING))
			continue;
		if (amf0_key_eq(&v, "level") && amf0_str_eq(&v, "error"))
			error = true;
		else if (amf0_key_eq(&v, "code"))
			snprintf(code, sizeof(code), "%.*s", (int)v.str_len,
			    v.str);
		else if (amf0_key_eq(&v, "description"))
			snprintf(desc, sizeof(desc), "%.*s", (int)v.str_len,
			    v.str);
	}
	if (error) {
		snprintf(why, sizeof(why), "server refused: %s%s%s",
		    code[0] != '\0' ? code : "_error",
		    desc[0] != '\0' ? ": " : "", desc);
		rp_fail(rp, true, why);
		return false;
	}
	return strcmp(code, "NetStream.Publish.Start") == 0;
}

static int
rp_on_result(struct rtmp_pub *rp, struct amf0_it *it)
{
	const char *const	name[] = { rp->url->name, NULL };
	const char *const	live[] = { rp->url->name, "live", NULL };
	struct amf0_val		v;

	if (rp->state == RTMP_PUB_CONNECT) {
		rp->want_txn = RP_TXN_CREATE;
		rp->state = RTMP_PUB_CREATE;
		return rp_command(rp, RP_CSID_CMD, 0, "releaseStream", 2,
		    name) == -1 || rp_command(rp, RP_CSID_CMD, 0, "FCPublish",
		    3, name) == -1 || rp_command(rp, RP_CSID_CMD, 0,
		    "createStream", RP_TXN_CREATE, NULL) == -1 ? -1 : 0;
	}
	if (rp->state != RTMP_PUB_CREATE)
		return 0;
	/* createStream's _result: null (or an object), then the id */
	while (amf0_next(it, &v) == AMF0_VAL)
		if (v.depth == 0 && v.type == AMF0_NUMBER)
			rp->stream_id = (uint32_t)v.num;
		else if (v.type == AMF0_OBJECT || v.type == AMF0_ECMA_ARRAY)
			(void)amf0_skip(it, &v);
	rp->want_txn = RP_TXN_PUBLISH;
	rp->state = RTMP_PUB_PUBLISH;
	return rp_command(rp, RP_CSID_PUBLISH, rp->stream_id, "publish",
	    RP_TXN_PUBLISH, live);
}

static int
rp_on_command(struct rtmp_pub *rp, const struct rtmp_msg *m)
{
	struct amf0_it	it;
	struct amf0_val	name, txn;
	bool		err;

	amf0_it_init(&it, m->data, m->len);
	if (amf0_next(&it, &name) != AMF0_VAL ||
	    amf0_next(&it, &txn) != AMF0_VAL)
		return 0;
	if (amf0_str_eq(&name, "onStatus")) {
		if (rp_info(rp, &it, false) && rp->state == RTMP_PUB_PUBLISH)
			rp->state = RTMP_PUB_LIVE;
		return 0;
	}
	err = amf0_str_eq(&name, "_error");
	if ((!err && !amf0_str_eq(&name, "_result")) ||
	    txn.type != AMF0_NUMBER || txn.num != rp->want_txn)
		return 0;
	if (err) {
		(void)rp_info(rp, &it, true);
		return 0;
	}
	return rp_on_result(rp, &it);
}

static int
rp_on_msg(struct rtmp_pub *rp, const struct rtmp_msg *m)
{
	struct wire_r	r;
	struct wire_w	w;
	uint8_t		pong[6];

	wire_r_init(&r, m->data, m->len);
	switch (m->type) {
	case RTMP_MSG_WINDOW_ACK_SIZE:
		if (m->len >= 4)
			rp->rx_window = wire_be32(&r);
		return 0;
	case RTMP_MSG_USER_CONTROL:
		if (m->len < 6 || wire_be16(&r) != 6)
			return 0;	/* not a ping request */
		wire_w_init(&w, pong, sizeof(pong));
		wire_put_be16(&w, 7);
		wire_put_be32(&w, wire_be32(&r));
		return rp_msg(rp, RP_CSID_CTL, RTMP_MSG_USER_CONTROL, 0, 0,
		    pong, sizeof(pong));
	case RTMP_MSG_COMMAND_AMF0:
		return rp_on_command(rp, m);
	default:
		return 0;	/* acks, peer bandwidth, chunk size */
	}
}

/* S0 S1 S2 complete: C2, then everything up to connect. */
static int
rp_shaken(struct rtmp_pub *rp)
{
	if (rp->s012[0] != RTMP_HS_VERSION) {
		rp_fail(rp, false, "server handshake: not RTMP version 3");
		return -1;
	}
	rp->state = RTMP_PUB_CONNECT;
	rp->want_txn = RP_TXN_CONNECT;
	if (rp_put(rp, rp->s012 + 1, RTMP_HS_SIZE) == -1 ||
	    rp_u32(rp, RTMP_MSG_SET_CHUNK_SIZE, RTMP_PUB_CHUNK_SIZE) == -1 ||
	    rp_command(rp, RP_CSID_CMD, 0, "connect", RP_TXN_CONNECT,
	    NULL) == -1) {
		rp_fail(rp, false, "out of memory");
		return -1;
	}
	return 0;
}

int
rtmp_pub_feed(struct rtmp_pub *rp, const uint8_t *p, size_t n)
{
	struct rtmp_msg	m;
	size_t		k, used;

	if (rp->state == RTMP_PUB_FAILED)
		return -1;
	if (rp->state == RTMP_PUB_HANDSHAKE) {
		k = sizeof(rp->s012) - rp->hs_got;
		if (k > n)
			k = n;
		memcpy(rp->s012 + rp->hs_got, p, k);
		rp->hs_got += k;
		p += k;
		n -= k;
		if (rp->hs_got < sizeof(rp->s012))
			return 0;
		if (rp_shaken(rp) == -1)
			return -1;
	}
	rp->rx_bytes += n;
	while (n > 0 && rp->state != RTMP_PUB_FAILED) {
		switch (rtmp_chunk_feed(&rp->rx, p, n, &used, &m)) {
		case RTMP_ERR:
			rp_fail(rp, false, rtmp_chunk_error(&rp->rx));
			return -1;
		case RTMP_MSG:
			if (rp_on_msg(rp, &m) == -1)
				rp_fail(rp, false, "out of memory");
			break;
		case RTMP_NEED:
			break;
		}
		p += used;
		n -= used;
	}
	if (rp->state == RTMP_PUB_FAILED)
		return -1;
	if (rp->rx_window > 0 && rp->rx_bytes - rp->rx_acked >=
	    rp->rx_window / 2) {
		rp->rx_acked = rp->rx_bytes;
		if (rp_u32(rp, RTMP_MSG_ACK, (uint32_t)rp->rx_bytes) == -1) {
			rp_fail(rp, false, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
rtmp_pub_media(struct rtmp_pub *rp, uint8_t type, uint32_t ts_ms,
    const uint8_t *body, size_t len)
{
	static const uint8_t	set_data_frame[16] = "\x02\x00\x0d"
	    "@setDataFrame";
	uint8_t			*b;
	int			 rc;

	if (type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO)
		return rp_msg(rp, type == RTMP_MSG_AUDIO ? RP_CSID_AUDIO :
		    RP_CSID_VIDEO, type, rp->stream_id, ts_ms, body, len);
	if (type != RTMP_MSG_DATA_AMF0)
		return 0;
	if ((b = malloc(sizeof(set_data_frame) + len)) == NULL)
		return -1;
	memcpy(b, set_data_frame, sizeof(set_data_frame));
	memcpy(b + sizeof(set_data_frame), body, len);
	rc = rp_msg(rp, RP_CSID_DATA, type, rp->stream_id, ts_ms, b,
	    sizeof(set_data_frame) + len);
	free(b);
	return rc;
}

void
rtmp_pub_unpublish(struct rtmp_pub *rp)
{
	const char *const	name[] = { rp->url->name, NULL };
	uint8_t			b[64];
	struct wire_w		w;

	if (rp->stream_id == 0)
		return;
	(void)rp_command(rp, RP_CSID_CMD, 0, "FCUnpublish", 6, name);
	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, "deleteStream");
	amf0_put_number(&w, 7);
	amf0_put_null(&w);
	amf0_put_number(&w, rp->stream_id);
	(void)rp_msg(rp, RP_CSID_CMD, RTMP_MSG_COMMAND_AMF0, 0, 0, b, w.off);
}

size_t
rtmp_pub_pending(const struct rtmp_pub *rp, const uint8_t **p)
{
	*p = rp->out + rp->out_off;
	return rp->out_len - rp->out_off;
}

void
rtmp_pub_sent(struct rtmp_pub *rp, size_t n)
{
	rp->out_off += n;
	if (rp->out_off == rp->out_len)
		rp->out_off = rp->out_len = 0;
}
