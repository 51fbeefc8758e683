/*
 * RTMP server handshake: whole, split at every byte, one byte at a time;
 * S0/S1/S2 layout; bytes after C2 left alone; bad versions.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rtmp_hs.h"
#include "tap.h"

#define NOW_MS	0x01020304u
#define EXTRA	5		/* chunk stream bytes right after C2 */
#define IN_LEN	(1 + 2 * RTMP_HS_SIZE + EXTRA)

static uint8_t	rnd[RTMP_HS_SIZE - 8];
static uint8_t	in[IN_LEN];

static void
setup(void)
{
	size_t	i;

	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 13 + 5);
	in[0] = 3;
	/* C1 as ffmpeg sends it: time, version 9.0.124.2, digest bytes */
	for (i = 1; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	memcpy(in + 5, "\x09\x00\x7c\x02", 4);
}

struct run {
	unsigned	replies, oks, bad_used;
	size_t		used_at_reply, used_at_ok;
	bool		reply_ok;
	enum rtmp_hs_res last;
};

/* The layout of S0 S1 S2 (RTMP 5.2.2-5.2.4). */
static bool
reply_ok(const struct rtmp_hs *hs)
{
	const uint8_t	*r;
	size_t		 len;

	r = rtmp_hs_reply(hs, &len);
	return r != NULL && len == 1 + 2 * RTMP_HS_SIZE && r[0] == 3 &&
	    memcmp(r + 1, "\x01\x02\x03\x04\0\0\0\0", 8) == 0 &&
	    memcmp(r + 9, rnd, sizeof(rnd)) == 0 &&
	    memcmp(r + 1 + RTMP_HS_SIZE, in + 1, RTMP_HS_SIZE) == 0;
}

/* Feeds in[] in pieces (first, then step; 0 = the rest) until OK. */
static struct run
feed(size_t first, size_t step)
{
	struct rtmp_hs	hs;
	struct run	r = { 0 };
	size_t		off = 0, len, used, at;

	rtmp_hs_init(&hs, NOW_MS, rnd);
	while (off < sizeof(in) && r.oks == 0) {
		len = off == 0 && first > 0 ? first : step > 0 ? step :
		    sizeof(in) - off;
		if (len > sizeof(in) - off)
			len = sizeof(in) - off;
		for (at = 0; at < len; at += used) {
			r.last = rtmp_hs_feed(&hs, in + off + at, len - at,
			    &used);
			if (r.last == RTMP_HS_ERR)
				return r;
			if (used == 0 || used > len - at ||
			    (r.last == RTMP_HS_NEED && used != len - at))
				r.bad_used++;
			if (r.last == RTMP_HS_REPLY) {
				r.replies++;
				r.used_at_reply = off + at + used;
				r.reply_ok = reply_ok(&hs);
			}
			if (r.last == RTMP_HS_OK) {
				r.oks++;
				r.used_at_ok = off + at + used;
				break;
			}
		}
		off += len;
	}
	return r;
}

static bool
run_good(const struct run *r)
{
	return r->bad_used == 0 && r->replies == 1 && r->oks == 1 &&
	    r->reply_ok && r->used_at_reply == 1 + RTMP_HS_SIZE &&
	    r->used_at_ok == 1 + 2 * RTMP_HS_SIZE;
}

static void
test_good(void)
{
	struct rtmp_hs	hs;
	struct run	r;
	size_t		k, used, len, bad = 0;

	r = feed(0, 0);
	ok(run_good(&r), "whole: one REPLY after C1, OK at the end of C2");
	r = feed(0, 1);
	ok(run_good(&r), "one byte at a time");
	for (k = 1; k < sizeof(in); k++) {
		r = feed(k, 0);
		if (!run_good(&r)) {
			if (bad++ == 0)
				printf("#   split at %zu fails\n", k);
		}
	}
	ok(bad == 0, "two pieces, split at each byte");

	rtmp_hs_init(&hs, NOW_MS, rnd);
	ok(rtmp_hs_reply(&hs, &len) == NULL && len == 0,
	    "no reply before C1");
	ok(rtmp_hs_feed(&hs, in, 0, &used) == RTMP_HS_NEED && used == 0,
	    "empty feed");
	ok(rtmp_hs_feed(&hs, in, sizeof(in), &used) == RTMP_HS_REPLY &&
	    used == 1 + RTMP_HS_SIZE, "REPLY stops after C1");
	ok(rtmp_hs_feed(&hs, in + used, sizeof(in) - used, &used) ==
	    RTMP_HS_OK && used == RTMP_HS_SIZE,
	    "OK leaves the %d bytes after C2", EXTRA);
	ok(rtmp_hs_reply(&hs, &len) != NULL && len == 3073,
	    "reply still there after OK");
	ok(rtmp_hs_feed(&hs, in, 1, &used) == RTMP_HS_ERR,
	    "feeding after OK is an error");
	ok(rtmp_hs_error(&hs) != NULL, "  with a reason");
}

static void
test_bad_version(void)
{
	static const struct {
		uint8_t		 v;
		const char	*err;
	} t[] = {
		{ 6, "encrypted handshake (version 6) not supported" },
		{ 0, "unsupported RTMP version 0" },
		{ 2, "unsupported RTMP version 2" },
		{ 8, "unsupported RTMP version 8" },
		{ 0x16, "unsupported RTMP version 22" },	/* TLS */
		{ 'G', "unsupported RTMP version 71" },		/* HTTP */
		{ 255, "unsupported RTMP version 255" },
	};
	struct rtmp_hs	hs;
	uint8_t		buf[8];
	size_t		i, used;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		rtmp_hs_init(&hs, NOW_MS, rnd);
		memset(buf, 3, sizeof(buf));
		buf[0] = t[i].v;
		ok(rtmp_hs_feed(&hs, buf, sizeof(buf), &used) == RTMP_HS_ERR &&
		    rtmp_hs_feed(&hs, buf + 1, 1, &used) == RTMP_HS_ERR,
		    "version %u refused, stays failed", t[i].v);
		is_str(rtmp_hs_error(&hs), t[i].err, "  reason");
	}
}

int
main(void)
{
	setup();
	test_good();
	test_bad_version();
	return tap_done();
}
