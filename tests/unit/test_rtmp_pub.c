/*
 * mirroring-copy's RTMP publish state machine (worker/rtmp_pub.c) against
 * a server built from common/ (rtmp_hs, rtmp_chunk, amf0), bytes passed
 * in memory in odd-sized pieces: it publishes, sends Set Chunk Size 60000
 * first, answers a ping, sends each message intact (metadata with
 * @setDataFrame, an extended timestamp kept, a 150000-byte frame over
 * several chunks), says FCUnpublish and deleteStream at the end; an error
 * onStatus or an _error is a refusal with the server's reason; a broken
 * handshake is a failure that is not; URLs parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/amf0.h"
#include "common/rtmp_chunk.h"
#include "common/rtmp_hs.h"
#include "common/wire.h"
#include "worker/rtmp_pub.h"
#include "tap.h"

enum srv_mode { SRV_ACCEPT, SRV_REFUSE, SRV_CONNECT_ERROR };

#define SRV_MAX_MSGS	16

static struct {
	enum srv_mode	 mode;
	struct rtmp_hs	 hs;
	struct rtmp_chunk ch;
	bool		 shaken;
	uint8_t		 out[65536];	/* to the client */
	size_t		 out_len;
	int		 nmsgs;
	struct {
		uint8_t	 type;
		uint32_t ts, len, stream_id;
		uint8_t	*data;
	}		 msgs[SRV_MAX_MSGS];	/* media and data */
	char		 cmds[512];	/* command names, in order */
	int		 pongs;
} srv;

static void
srv_put(const void *p, size_t n)
{
	if (srv.out_len + n > sizeof(srv.out)) {
		ok(0, "server output fits");
		return;
	}
	memcpy(srv.out + srv.out_len, p, n);
	srv.out_len += n;
}

static void
srv_send(uint8_t type, uint32_t csid, uint32_t stream_id, const uint8_t *p,
    size_t n)
{
	struct rtmp_msg	m = { .csid = csid, .type = type,
	    .stream_id = stream_id, .data = p, .len = (uint32_t)n };
	uint8_t		out[2048];
	size_t		k = rtmp_chunk_encode(out, sizeof(out),
	    RTMP_DEFAULT_CHUNK_SIZE, csid, &m);

	if (k <= sizeof(out))
		srv_put(out, k);
}

static void
srv_info(const char *name, double txn, const char *level, const char *code)
{
	uint8_t		b[512];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, name);
	amf0_put_number(&w, txn);
	amf0_put_null(&w);
	amf0_put_object_begin(&w);
	amf0_put_prop_string(&w, "level", level);
	amf0_put_prop_string(&w, "code", code);
	amf0_put_prop_string(&w, "description", "no such key");
	amf0_put_object_end(&w);
	srv_send(RTMP_MSG_COMMAND_AMF0, 5, 1, b, w.off);
}

static void
srv_result(double txn, bool with_id)
{
	uint8_t		b[256];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, "_result");
	amf0_put_number(&w, txn);
	amf0_put_null(&w);
	if (with_id)
		amf0_put_number(&w, 1);
	srv_send(RTMP_MSG_COMMAND_AMF0, 3, 0, b, w.off);
}

static void
srv_command(const struct rtmp_msg *m)
{
	struct amf0_it	it;
	struct amf0_val	name, txn;
	char		s[64];
	uint8_t		ping[6] = { 0, 6, 0, 0, 0, 42 };
	uint8_t		win[4] = { 0, 0, 0x10, 0 };

	amf0_it_init(&it, m->data, m->len);
	if (amf0_next(&it, &name) != AMF0_VAL ||
	    amf0_next(&it, &txn) != AMF0_VAL)
		return;
	snprintf(s, sizeof(s), "%.*s ", (int)name.str_len, name.str);
	strncat(srv.cmds, s, sizeof(srv.cmds) - strlen(srv.cmds) - 1);
	if (amf0_str_eq(&name, "connect")) {
		srv_send(RTMP_MSG_WINDOW_ACK_SIZE, 2, 0, win, sizeof(win));
		if (srv.mode == SRV_CONNECT_ERROR)
			srv_info("_error", txn.num, "error",
			    "NetConnection.Connect.Rejected");
		else
			srv_result(txn.num, false);
	} else if (amf0_str_eq(&name, "createStream")) {
		srv_send(RTMP_MSG_USER_CONTROL, 2, 0, ping, sizeof(ping));
		srv_result(txn.num, true);
	} else if (amf0_str_eq(&name, "publish"))
		srv_info("onStatus", 0, srv.mode == SRV_ACCEPT ? "status" :
		    "error", srv.mode == SRV_ACCEPT ?
		    "NetStream.Publish.Start" : "NetStream.Publish.BadName");
}

static void
srv_msg(const struct rtmp_msg *m)
{
	if (m->type == RTMP_MSG_COMMAND_AMF0) {
		srv_command(m);
		return;
	}
	if (m->type == RTMP_MSG_USER_CONTROL && m->len == 6 &&
	    m->data[1] == 7 && m->data[5] == 42)
		srv.pongs++;
	if (m->type != RTMP_MSG_AUDIO && m->type != RTMP_MSG_VIDEO &&
	    m->type != RTMP_MSG_DATA_AMF0)
		return;
	if (srv.nmsgs == SRV_MAX_MSGS)
		return;
	srv.msgs[srv.nmsgs].type = m->type;
	srv.msgs[srv.nmsgs].ts = m->ts_ms;
	srv.msgs[srv.nmsgs].len = m->len;
	srv.msgs[srv.nmsgs].stream_id = m->stream_id;
	srv.msgs[srv.nmsgs].data = malloc(m->len);
	memcpy(srv.msgs[srv.nmsgs].data, m->data, m->len);
	srv.nmsgs++;
}

/* The server reads n bytes from the client. */
static void
srv_feed(const uint8_t *b, size_t n)
{
	struct rtmp_msg	 m;
	const uint8_t	*reply;
	size_t		 off, used, k;

	for (off = 0; off < n; off += used) {
		if (!srv.shaken) {
			switch (rtmp_hs_feed(&srv.hs, b + off, n - off,
			    &used)) {
			case RTMP_HS_REPLY:
				reply = rtmp_hs_reply(&srv.hs, &k);
				srv_put(reply, k);
				break;
			case RTMP_HS_OK:
				srv.shaken = true;
				break;
			case RTMP_HS_ERR:
				ok(0, "server handshake: %s",
				    rtmp_hs_error(&srv.hs));
				return;
			default:
				break;
			}
			continue;
		}
		if (rtmp_chunk_feed(&srv.ch, b + off, n - off, &used, &m) ==
		    RTMP_MSG)
			srv_msg(&m);
	}
}

static void
srv_start(enum srv_mode mode)
{
	uint8_t	rnd[RTMP_HS_SIZE - 8] = { 0 };
	int	i;

	for (i = 0; i < srv.nmsgs; i++)
		free(srv.msgs[i].data);
	rtmp_chunk_clear(&srv.ch);
	memset(&srv, 0, sizeof(srv));
	srv.mode = mode;
	rtmp_hs_init(&srv.hs, 0, rnd);
	rtmp_chunk_init(&srv.ch);
}

/* Moves bytes both ways, in pieces of 1000 (the client's) and 7 (the
 * server's), until neither has any. */
static void
pump(struct rtmp_pub *rp)
{
	const uint8_t	*p;
	size_t		 n, k, off;

	for (;;) {
		n = rtmp_pub_pending(rp, &p);
		if (n == 0 && srv.out_len == 0)
			return;
		k = n < 1000 ? n : 1000;
		if (k > 0) {
			srv_feed(p, k);
			rtmp_pub_sent(rp, k);
		}
		for (off = 0; off < srv.out_len; off += k) {
			k = srv.out_len - off < 7 ? srv.out_len - off : 7;
			if (rtmp_pub_feed(rp, srv.out + off, k) == -1)
				break;
		}
		srv.out_len = 0;
		if (rp->state == RTMP_PUB_FAILED)
			return;
	}
}

static const struct rtmp_pub_url *
url(const char *s)
{
	static struct rtmp_pub_url	u;

	if (rtmp_pub_url_parse(&u, s) == -1)
		ok(0, "url %s", s);
	return &u;
}

static const uint8_t *
body(uint8_t type, uint32_t len)
{
	static uint8_t	b[200000];
	uint32_t	i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 7 + type);
	return b;
}

static bool
intact(int k, uint8_t type, uint32_t ts, uint32_t len, uint32_t skip)
{
	uint32_t	i;

	if (k >= srv.nmsgs || srv.msgs[k].type != type ||
	    srv.msgs[k].ts != ts || srv.msgs[k].len != len + skip ||
	    srv.msgs[k].stream_id != 1)
		return false;
	for (i = 0; i < len; i++)
		if (srv.msgs[k].data[skip + i] != (uint8_t)(i * 7 + type))
			return false;
	return true;
}

static void
case_publish(void)
{
	uint8_t		rnd[RTMP_HS_SIZE - 8] = { 1 };
	struct rtmp_pub	rp;

	srv_start(SRV_ACCEPT);
	rtmp_pub_init(&rp, url("rtmp://127.0.0.1:1935/live/key1?x=y"), 5,
	    rnd);
	pump(&rp);
	is_int(rp.state, RTMP_PUB_LIVE, "publish accepted: %s", rp.why);
	is_int(rp.stream_id, 1, "on createStream's stream id");
	is_int(srv.ch.chunk_size, RTMP_PUB_CHUNK_SIZE, "Set Chunk Size 60000");
	is_int(srv.pongs, 1, "the ping is answered");
	rtmp_pub_media(&rp, RTMP_MSG_DATA_AMF0, 0, body(RTMP_MSG_DATA_AMF0,
	    30), 30);
	rtmp_pub_media(&rp, RTMP_MSG_AUDIO, 0, body(RTMP_MSG_AUDIO, 200), 200);
	rtmp_pub_media(&rp, RTMP_MSG_VIDEO, 40, body(RTMP_MSG_VIDEO, 50000),
	    50000);
	rtmp_pub_media(&rp, RTMP_MSG_VIDEO, 0x1000010,
	    body(RTMP_MSG_VIDEO, 150000), 150000);
	rtmp_pub_unpublish(&rp);
	pump(&rp);
	is_str(srv.cmds, "connect releaseStream FCPublish createStream "
	    "publish FCUnpublish deleteStream ", "the command sequence");
	is_int(srv.nmsgs, 4, "four messages");
	ok(srv.nmsgs > 0 && srv.msgs[0].len > 16 &&
	    memcmp(srv.msgs[0].data, "\x02\x00\x0d@setDataFrame", 16) == 0 &&
	    intact(0, RTMP_MSG_DATA_AMF0, 0, 30, 16),
	    "metadata goes as @setDataFrame + the tag's body");
	ok(intact(1, RTMP_MSG_AUDIO, 0, 200, 0), "audio intact");
	ok(intact(2, RTMP_MSG_VIDEO, 40, 50000, 0), "a 50000-byte frame "
	    "intact, ts 40");
	ok(intact(3, RTMP_MSG_VIDEO, 0x1000010, 150000, 0), "a 150000-byte "
	    "frame over several chunks intact, extended timestamp kept");
	rtmp_pub_clear(&rp);
}

static void
case_refused(enum srv_mode mode, const char *code)
{
	uint8_t		rnd[RTMP_HS_SIZE - 8] = { 0 };
	struct rtmp_pub	rp;

	srv_start(mode);
	rtmp_pub_init(&rp, url("rtmp://h/live/key1"), 0, rnd);
	pump(&rp);
	ok(rp.state == RTMP_PUB_FAILED && rp.refused, "%s is a refusal",
	    code);
	ok(strstr(rp.why, code) != NULL && strstr(rp.why, "no such key") !=
	    NULL, "with the server's code and reason: %s", rp.why);
	is_int(rtmp_pub_feed(&rp, (const uint8_t *)"x", 1), -1,
	    "and it stays failed");
	rtmp_pub_clear(&rp);
}

static void
case_bad_handshake(void)
{
	uint8_t		rnd[RTMP_HS_SIZE - 8] = { 0 };
	uint8_t		s012[1 + 2 * RTMP_HS_SIZE] = { 6 };
	struct rtmp_pub	rp;

	rtmp_pub_init(&rp, url("rtmp://h/live/key1"), 0, rnd);
	is_int(rtmp_pub_feed(&rp, s012, sizeof(s012)), -1,
	    "a server handshake of another version fails");
	ok(!rp.refused, "and is not a refusal: %s", rp.why);
	rtmp_pub_clear(&rp);
}

static void
case_urls(void)
{
	struct rtmp_pub_url	u;

	is_int(rtmp_pub_url_parse(&u, "rtmp://a.example:1936/app/k/x?y=1"), 0,
	    "host, port, app, name with / and a query");
	is_str(u.host, "a.example", "host");
	is_str(u.port, "1936", "port");
	is_str(u.app, "app", "app");
	is_str(u.name, "k/x?y=1", "name");
	is_str(u.tcurl, "rtmp://a.example:1936/app", "tcUrl");
	is_int(rtmp_pub_url_parse(&u, "rtmp://h/app/k"), 0, "no port");
	is_str(u.port, "1935", "port 1935");
	is_int(rtmp_pub_url_parse(&u, "rtmps://h/app/k"), -1, "not rtmps");
	is_int(rtmp_pub_url_parse(&u, "rtmp://h/app"), -1, "no name");
	is_int(rtmp_pub_url_parse(&u, "rtmp://h/app/"), -1, "empty name");
	is_int(rtmp_pub_url_parse(&u, "rtmp://h//k"), -1, "empty app");
	is_int(rtmp_pub_url_parse(&u, "rtmp://h:x/app/k"), -1, "bad port");
	is_int(rtmp_pub_url_parse(&u, "rtmp://:1/app/k"), -1, "no host");
}

int
main(void)
{
	case_publish();
	case_refused(SRV_REFUSE, "NetStream.Publish.BadName");
	case_refused(SRV_CONNECT_ERROR, "NetConnection.Connect.Rejected");
	case_bad_handshake();
	case_urls();
	srv_start(SRV_ACCEPT);
	rtmp_chunk_clear(&srv.ch);
	return tap_done();
}
