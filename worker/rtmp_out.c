/*
 * Native RTMP publish (see rtmp_out.h): client simple handshake (C0 C1,
 * S0 S1 S2, C2 = S1), Set Chunk Size, connect, releaseStream, FCPublish,
 * createStream, publish, then one message per FLV tag.  Built on
 * common/'s chunk parser and encoder and AMF0 writer and iterator.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "common/amf0.h"
#include "common/rtmp_chunk.h"
#include "common/rtmp_hs.h"
#include "common/util.h"
#include "common/wire.h"
#include "worker/rtmp_out.h"

#define RO_CSID_CTL	2
#define RO_CSID_CMD	3
#define RO_CSID_AUDIO	4
#define RO_CSID_DATA	5
#define RO_CSID_VIDEO	6
#define RO_CSID_PUBLISH	8
#define RO_POLL_MS	100	/* server messages are read this often */
#define RO_FLV_HDR	13	/* FLV header + PreviousTagSize0 */
#define RO_TAG_HDR	11
#define RO_CMD_MAX	4096
#define RO_TXN_PUBLISH	5	/* onStatus answers it, or _error */

struct rtmp_out {
	int			 fd;
	const AVIOInterruptCB	*icb;
	struct rtmp_chunk	 rx;
	uint64_t		 rx_bytes, rx_acked;
	uint32_t		 rx_window;
	uint64_t		 next_poll_ms;
	uint32_t		 stream_id;
	double			 want_txn;	/* its _result */
	bool			 got;		/* and it came */
	bool			 refused;
	char			 app[256], name[512], tcurl[1024];
	uint8_t			*tx;		/* one message */
	size_t			 tx_cap;
	uint8_t			*in;		/* a partial tag */
	size_t			 in_len, in_cap;
	size_t			 skip;		/* of FLV header */
};

static int
ro_errno(void)
{
	return AVERROR(errno != 0 ? errno : EIO);
}

/* Waits for events on the socket in short slices, asking icb each time:
 * 0, or AVERROR_EXIT. */
static int
ro_wait(struct rtmp_out *ro, short events)
{
	struct pollfd	pfd = { .fd = ro->fd, .events = events };
	int		r;

	for (;;) {
		if (ro->icb->callback != NULL &&
		    ro->icb->callback(ro->icb->opaque))
			return AVERROR_EXIT;
		if ((r = poll(&pfd, 1, RO_POLL_MS)) > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return ro_errno();
	}
}

static int
ro_send_all(struct rtmp_out *ro, const uint8_t *p, size_t n)
{
	ssize_t	r;
	int	ret;

	while (n > 0) {
		r = send(ro->fd, p, n, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((ret = ro_wait(ro, POLLOUT)) < 0)
				return ret;
			continue;
		}
		return ro_errno();
	}
	return 0;
}

/* Encodes one message into ro->tx and sends it with one send(). */
static int
ro_send_msg(struct rtmp_out *ro, uint32_t csid, uint8_t type,
    uint32_t stream_id, uint32_t ts, const uint8_t *data, size_t len)
{
	struct rtmp_msg	 m = { .csid = csid, .type = type,
	    .stream_id = stream_id, .ts_ms = ts, .data = data,
	    .len = (uint32_t)len };
	size_t		 need;
	uint8_t		*p;

	need = rtmp_chunk_encode(ro->tx, ro->tx_cap, RTMP_OUT_CHUNK_SIZE,
	    csid, &m);
	if (need > ro->tx_cap) {
		if ((p = realloc(ro->tx, need)) == NULL)
			return AVERROR(ENOMEM);
		ro->tx = p;
		ro->tx_cap = need;
		need = rtmp_chunk_encode(ro->tx, ro->tx_cap,
		    RTMP_OUT_CHUNK_SIZE, csid, &m);
	}
	return ro_send_all(ro, ro->tx, need);
}

static int
ro_send_u32(struct rtmp_out *ro, uint8_t type, uint32_t v)
{
	uint8_t		b[4];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	wire_put_be32(&w, v);
	return ro_send_msg(ro, RO_CSID_CTL, type, 0, 0, b, sizeof(b));
}

/* A command: name, txn, null, then the strings in args (NULL-ended);
 * connect instead carries its object. */
static int
ro_command(struct rtmp_out *ro, uint32_t csid, uint32_t stream_id,
    const char *name, double txn, const char *const *args)
{
	uint8_t		b[RO_CMD_MAX];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, name);
	amf0_put_number(&w, txn);
	if (strcmp(name, "connect") == 0) {
		amf0_put_object_begin(&w);
		amf0_put_prop_string(&w, "app", ro->app);
		amf0_put_prop_string(&w, "type", "nonprivate");
		amf0_put_prop_string(&w, "flashVer",
		    "FMLE/3.0 (compatible; mirroring)");
		amf0_put_prop_string(&w, "tcUrl", ro->tcurl);
		amf0_put_object_end(&w);
	} else
		amf0_put_null(&w);
	for (; args != NULL && *args != NULL; args++)
		amf0_put_string(&w, *args);
	if (w.err)
		return AVERROR(ENAMETOOLONG);
	return ro_send_msg(ro, csid, RTMP_MSG_COMMAND_AMF0, stream_id, 0, b,
	    w.off);
}

/* Copies a string value into buf (cap bytes, NUL-ended). */
static void
ro_str(const struct amf0_val *v, char *buf, size_t cap)
{
	if (v->type == AMF0_STRING || v->type == AMF0_LONG_STRING)
		snprintf(buf, cap, "%.*s", (int)v->str_len, v->str);
}

/* The level, code and description of an onStatus info object. */
static void
ro_on_status(struct rtmp_out *ro, struct amf0_it *it)
{
	struct amf0_val	v;
	bool		error = false;
	char		code[128] = "", desc[256] = "";

	while (amf0_next(it, &v) == AMF0_VAL) {
		if (v.depth != 1)
			continue;
		if (amf0_key_eq(&v, "level") && amf0_str_eq(&v, "error"))
			error = true;
		else if (amf0_key_eq(&v, "code"))
			ro_str(&v, code, sizeof(code));
		else if (amf0_key_eq(&v, "description"))
			ro_str(&v, desc, sizeof(desc));
	}
	if (error) {
		av_log(NULL, AV_LOG_ERROR, "server refused: %s%s%s\n", code,
		    desc[0] != '\0' ? ": " : "", desc);
		ro->refused = true;
	} else if (strcmp(code, "NetStream.Publish.Start") == 0)
		ro->got = true;
}

static void
ro_on_command(struct rtmp_out *ro, const struct rtmp_msg *m)
{
	struct amf0_it	it;
	struct amf0_val	name, txn, v;
	bool		result, err;

	amf0_it_init(&it, m->data, m->len);
	if (amf0_next(&it, &name) != AMF0_VAL ||
	    amf0_next(&it, &txn) != AMF0_VAL)
		return;
	if (amf0_str_eq(&name, "onStatus")) {
		ro_on_status(ro, &it);
		return;
	}
	result = amf0_str_eq(&name, "_result");
	err = amf0_str_eq(&name, "_error");
	if ((!result && !err) || txn.type != AMF0_NUMBER ||
	    txn.num != ro->want_txn)
		return;
	if (err) {
		/* its info object names the reason like onStatus's */
		ro_on_status(ro, &it);
		if (!ro->refused)
			av_log(NULL, AV_LOG_ERROR, "server refused: _error\n");
		ro->refused = true;
		return;
	}
	if (txn.num == RO_TXN_PUBLISH)
		return;
	ro->got = true;
	/* createStream's _result: null (or an object), then the id */
	while (amf0_next(&it, &v) == AMF0_VAL)
		if (v.depth == 0 && v.type == AMF0_NUMBER)
			ro->stream_id = (uint32_t)v.num;
		else if (v.type == AMF0_OBJECT)
			(void)amf0_skip(&it, &v);
}

static int
ro_on_msg(struct rtmp_out *ro, const struct rtmp_msg *m)
{
	struct wire_r	r;
	uint16_t	ev;
	uint8_t		pong[6];
	struct wire_w	w;

	wire_r_init(&r, m->data, m->len);
	switch (m->type) {
	case RTMP_MSG_WINDOW_ACK_SIZE:
		if (m->len >= 4)
			ro->rx_window = wire_be32(&r);
		break;
	case RTMP_MSG_USER_CONTROL:
		ev = wire_be16(&r);
		if (ev != 6 || m->len < 6)
			break;		/* not a ping request */
		wire_w_init(&w, pong, sizeof(pong));
		wire_put_be16(&w, 7);
		wire_put_be32(&w, wire_be32(&r));
		return ro_send_msg(ro, RO_CSID_CTL, RTMP_MSG_USER_CONTROL, 0,
		    0, pong, sizeof(pong));
	case RTMP_MSG_COMMAND_AMF0:
		ro_on_command(ro, m);
		break;
	default:
		break;		/* acks, peer bandwidth, chunk size */
	}
	return 0;
}

/* Up to n bytes from the server, waiting for some when block: the
 * count, 0 (nothing yet, !block), or an AVERROR (AVERROR_EOF: closed). */
static ssize_t
ro_recv(struct rtmp_out *ro, uint8_t *p, size_t n, bool block)
{
	ssize_t	r;
	int	ret;

	for (;;) {
		if ((r = recv(ro->fd, p, n, MSG_DONTWAIT)) > 0)
			return r;
		if (r == 0) {
			av_log(NULL, AV_LOG_ERROR, "server closed the "
			    "connection\n");
			return AVERROR_EOF;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return ro_errno();
		if (!block)
			return 0;
		if ((ret = ro_wait(ro, POLLIN)) < 0)
			return ret;
	}
}

/* Reads what the server sent (waiting for it when block) and handles
 * every message in it: 0 or an AVERROR. */
static int
ro_read(struct rtmp_out *ro, bool block)
{
	uint8_t		b[16384];
	struct rtmp_msg	m;
	size_t		off = 0, used;
	ssize_t		r;
	int		ret;

	if ((r = ro_recv(ro, b, sizeof(b), block)) <= 0)
		return (int)r;
	ro->rx_bytes += (uint64_t)r;
	while (off < (size_t)r) {
		switch (rtmp_chunk_feed(&ro->rx, b + off, (size_t)r - off,
		    &used, &m)) {
		case RTMP_ERR:
			av_log(NULL, AV_LOG_ERROR, "server: %s\n",
			    rtmp_chunk_error(&ro->rx));
			return AVERROR_INVALIDDATA;
		case RTMP_MSG:
			if ((ret = ro_on_msg(ro, &m)) < 0)
				return ret;
			break;
		case RTMP_NEED:
			break;
		}
		off += used;
	}
	if (ro->rx_window > 0 && ro->rx_bytes - ro->rx_acked >=
	    ro->rx_window / 2) {
		ro->rx_acked = ro->rx_bytes;
		return ro_send_u32(ro, RTMP_MSG_ACK, (uint32_t)ro->rx_bytes);
	}
	return 0;
}

/* Reads until what was asked for came: 0, AVERROR(EACCES) when refused. */
static int
ro_await(struct rtmp_out *ro)
{
	int	ret;

	ro->got = false;
	while (!ro->got) {
		if ((ret = ro_read(ro, true)) < 0)
			return ret;
		if (ro->refused)
			return AVERROR(EACCES);
	}
	return 0;
}

static int
ro_read_full(struct rtmp_out *ro, uint8_t *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = ro_recv(ro, p, n, true)) < 0)
			return (int)r;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
ro_handshake(struct rtmp_out *ro)
{
	uint8_t		c01[1 + RTMP_HS_SIZE];
	uint8_t		s012[1 + 2 * RTMP_HS_SIZE];
	struct wire_w	w;
	int		ret;

	wire_w_init(&w, c01, sizeof(c01));
	wire_put_u8(&w, RTMP_HS_VERSION);
	wire_put_be32(&w, (uint32_t)util_mono_ms());
	wire_put_be32(&w, 0);
	if (util_random(c01 + 9, RTMP_HS_SIZE - 8) == -1)
		memset(c01 + 9, 0x5a, RTMP_HS_SIZE - 8);
	if ((ret = ro_send_all(ro, c01, sizeof(c01))) < 0 ||
	    (ret = ro_read_full(ro, s012, sizeof(s012))) < 0)
		return ret;
	if (s012[0] != RTMP_HS_VERSION) {
		av_log(NULL, AV_LOG_ERROR, "server handshake version %u\n",
		    s012[0]);
		return AVERROR_INVALIDDATA;
	}
	return ro_send_all(ro, s012 + 1, RTMP_HS_SIZE);	/* C2 = S1 */
}

/* rtmp://host[:port]/app/name: app is the first path element, the name
 * the rest (query strings kept). */
static int
ro_parse_url(struct rtmp_out *ro, const char *url, char *host, size_t hlen,
    char *port, size_t plen)
{
	const char	*h = url + 7, *slash, *colon, *name;
	size_t		 n;

	if (strncmp(url, "rtmp://", 7) != 0 ||
	    (slash = strchr(h, '/')) == NULL ||
	    (name = strchr(slash + 1, '/')) == NULL || name[1] == '\0')
		return -1;
	colon = memchr(h, ':', (size_t)(slash - h));
	n = (size_t)((colon != NULL ? colon : slash) - h);
	if (n == 0 || n >= hlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (colon != NULL)
		snprintf(port, plen, "%.*s", (int)(slash - colon - 1),
		    colon + 1);
	else
		snprintf(port, plen, "1935");
	if ((size_t)(name - slash - 1) >= sizeof(ro->app) ||
	    strlen(name + 1) >= sizeof(ro->name) ||
	    (size_t)(name - url) >= sizeof(ro->tcurl))
		return -1;
	snprintf(ro->app, sizeof(ro->app), "%.*s", (int)(name - slash - 1),
	    slash + 1);
	snprintf(ro->name, sizeof(ro->name), "%s", name + 1);
	snprintf(ro->tcurl, sizeof(ro->tcurl), "%.*s", (int)(name - url),
	    url);
	return 0;
}

static int
ro_connect(struct rtmp_out *ro, const char *host, const char *port)
{
	struct addrinfo	 hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM }, *ai;
	socklen_t	 sl = sizeof(int);
	int		 one = 1, err = 0, ret, rc;

	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		av_log(NULL, AV_LOG_ERROR, "%s: %s\n", host,
		    gai_strerror(rc));
		return AVERROR(EIO);
	}
	ro->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (ro->fd == -1) {
		freeaddrinfo(ai);
		return ro_errno();
	}
	(void)setsockopt(ro->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	rc = connect(ro->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc == 0)
		return 0;
	if (errno != EINPROGRESS)
		return ro_errno();
	if ((ret = ro_wait(ro, POLLOUT)) < 0)
		return ret;
	if (getsockopt(ro->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		return ro_errno();
	return err != 0 ? AVERROR(err) : 0;
}

static int
ro_publish(struct rtmp_out *ro)
{
	const char *const	name[] = { ro->name, NULL };
	const char *const	live[] = { ro->name, "live", NULL };
	int			ret;

	if ((ret = ro_send_u32(ro, RTMP_MSG_SET_CHUNK_SIZE,
	    RTMP_OUT_CHUNK_SIZE)) < 0 ||
	    (ret = ro_command(ro, RO_CSID_CMD, 0, "connect", 1, NULL)) < 0)
		return ret;
	ro->want_txn = 1;
	if ((ret = ro_await(ro)) < 0)
		return ret;
	ro->want_txn = 4;
	if ((ret = ro_command(ro, RO_CSID_CMD, 0, "releaseStream", 2,
	    name)) < 0 ||
	    (ret = ro_command(ro, RO_CSID_CMD, 0, "FCPublish", 3, name)) < 0 ||
	    (ret = ro_command(ro, RO_CSID_CMD, 0, "createStream", 4,
	    NULL)) < 0 || (ret = ro_await(ro)) < 0)
		return ret;
	ro->want_txn = RO_TXN_PUBLISH;
	if ((ret = ro_command(ro, RO_CSID_PUBLISH, ro->stream_id, "publish",
	    RO_TXN_PUBLISH, live)) < 0)
		return ret;
	return ro_await(ro);
}

int
rtmp_out_open(struct rtmp_out **rop, const char *url,
    const AVIOInterruptCB *icb)
{
	struct rtmp_out	*ro;
	char		 host[256], port[16];
	int		 ret;

	*rop = NULL;
	if ((ro = calloc(1, sizeof(*ro))) == NULL)
		return AVERROR(ENOMEM);
	ro->fd = -1;
	ro->icb = icb;
	ro->skip = RO_FLV_HDR;
	rtmp_chunk_init(&ro->rx);
	if (ro_parse_url(ro, url, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		av_log(NULL, AV_LOG_ERROR, "not rtmp://host[:port]/app/name\n");
		ret = AVERROR(EINVAL);
	} else if ((ret = ro_connect(ro, host, port)) == 0 &&
	    (ret = ro_handshake(ro)) == 0)
		ret = ro_publish(ro);
	if (ret < 0) {
		rtmp_out_close(ro);
		return ret;
	}
	*rop = ro;
	return 0;
}

/* One FLV tag (header at p) as one message; data gets @setDataFrame. */
static int
ro_send_tag(struct rtmp_out *ro, const uint8_t *p, size_t len)
{
	uint8_t		 type = p[0] & 0x1f, *b;
	uint32_t	 ts = ((uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 |
	    p[6]) | (uint32_t)p[7] << 24;
	struct wire_w	 w;
	int		 ret;

	p += RO_TAG_HDR;
	if (type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO)
		return ro_send_msg(ro, type == RTMP_MSG_AUDIO ? RO_CSID_AUDIO :
		    RO_CSID_VIDEO, type, ro->stream_id, ts, p, len);
	if (type != RTMP_MSG_DATA_AMF0)
		return 0;
	if ((b = malloc(len + 16)) == NULL)
		return AVERROR(ENOMEM);
	wire_w_init(&w, b, len + 16);
	amf0_put_string(&w, "@setDataFrame");
	wire_put_bytes(&w, p, len);
	ret = ro_send_msg(ro, RO_CSID_DATA, type, ro->stream_id, ts, b, w.off);
	free(b);
	return ret;
}

/* Sends the whole tags at p (n bytes): the bytes used. */
static int
ro_tags(struct rtmp_out *ro, const uint8_t *p, size_t n, size_t *used)
{
	size_t	len, off = 0;
	int	ret;

	while (n - off >= RO_TAG_HDR) {
		len = (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 |
		    p[off + 3];
		if (n - off < RO_TAG_HDR + len + 4)
			break;
		if ((ret = ro_send_tag(ro, p + off, len)) < 0)
			return ret;
		off += RO_TAG_HDR + len + 4;
	}
	*used = off;
	return 0;
}

int
rtmp_out_write(struct rtmp_out *ro, const uint8_t *buf, size_t n)
{
	uint64_t	 now = util_mono_ms();
	size_t		 used, k;
	uint8_t		*p;
	int		 ret;

	if (now >= ro->next_poll_ms) {
		ro->next_poll_ms = now + RO_POLL_MS;
		if ((ret = ro_read(ro, false)) < 0)
			return ret;
	}
	k = ro->skip < n ? ro->skip : n;
	ro->skip -= k;
	buf += k;
	n -= k;
	if (ro->in_len == 0) {
		/* the usual case: whole tags, sent from the muxer's buffer */
		if ((ret = ro_tags(ro, buf, n, &used)) < 0)
			return ret;
		buf += used;
		n -= used;
	}
	if (n == 0)
		return 0;
	if (ro->in_len + n > ro->in_cap) {
		if ((p = realloc(ro->in, ro->in_len + n)) == NULL)
			return AVERROR(ENOMEM);
		ro->in = p;
		ro->in_cap = ro->in_len + n;
	}
	memcpy(ro->in + ro->in_len, buf, n);
	ro->in_len += n;
	if ((ret = ro_tags(ro, ro->in, ro->in_len, &used)) < 0)
		return ret;
	memmove(ro->in, ro->in + used, ro->in_len - used);
	ro->in_len -= used;
	return 0;
}

void
rtmp_out_close(struct rtmp_out *ro)
{
	const char *const	name[] = { ro != NULL ? ro->name : "", NULL };
	uint8_t			b[64];
	struct wire_w		w;

	if (ro == NULL)
		return;
	if (ro->fd != -1 && ro->stream_id != 0) {
		(void)ro_command(ro, RO_CSID_CMD, 0, "FCUnpublish", 6, name);
		wire_w_init(&w, b, sizeof(b));
		amf0_put_string(&w, "deleteStream");
		amf0_put_number(&w, 7);
		amf0_put_null(&w);
		amf0_put_number(&w, ro->stream_id);
		(void)ro_send_msg(ro, RO_CSID_CMD, RTMP_MSG_COMMAND_AMF0, 0, 0,
		    b, w.off);
	}
	if (ro->fd != -1)
		close(ro->fd);
	rtmp_chunk_clear(&ro->rx);
	free(ro->tx);
	free(ro->in);
	free(ro);
}
