/*
 * Server side of the RTMP simple handshake; see rtmp_hs.h.  This file
 * builds S0+S1+S2 and counts C2's bytes; sending the reply and timing the
 * handshake out are the session's job.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/rtmp_hs.h"
#include "common/wire.h"

#define RTMP_HS_VERSION_RTMPE	6	/* encrypted RTMP (rtmpe://) */

void
rtmp_hs_init(struct rtmp_hs *hs, uint32_t now_ms, const uint8_t *random)
{
	struct wire_w	w;

	memset(hs, 0, sizeof(*hs));
	hs->state = RTMP_HS_C0;
	hs->now_ms = now_ms;
	/* 5.2.3: S1 = time, four zero bytes, random.  The zero bytes tell
	 * librtmp and ffmpeg not to look for a digest (see rtmp_hs.h). */
	wire_w_init(&w, hs->reply, 1 + RTMP_HS_SIZE);
	wire_put_u8(&w, RTMP_HS_VERSION);
	wire_put_be32(&w, now_ms);
	wire_put_be32(&w, 0);
	wire_put_bytes(&w, random, RTMP_HS_SIZE - 8);
}

static enum rtmp_hs_res
rtmp_hs_fail(struct rtmp_hs *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static enum rtmp_hs_res
rtmp_hs_fail(struct rtmp_hs *hs, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(hs->errbuf, sizeof(hs->errbuf), fmt, ap);
	va_end(ap);
	hs->err = hs->errbuf;
	hs->state = RTMP_HS_FAILED;
	return RTMP_HS_ERR;
}

/* Copies up to one part's missing bytes into dst (NULL: count only). */
static size_t
rtmp_hs_take(struct rtmp_hs *hs, uint8_t *dst, const uint8_t *s, size_t n)
{
	size_t	k = RTMP_HS_SIZE - hs->got;

	if (k > n)
		k = n;
	if (dst != NULL)
		memcpy(dst + hs->got, s, k);
	hs->got += k;
	return k;
}

enum rtmp_hs_res
rtmp_hs_feed(struct rtmp_hs *hs, const uint8_t *s, size_t n, size_t *used)
{
	size_t	off = 0;

	*used = 0;
	if (n == 0 && hs->state != RTMP_HS_FAILED)
		return RTMP_HS_NEED;
	switch (hs->state) {
	case RTMP_HS_C0:
		off = 1;
		if (s[0] == RTMP_HS_VERSION_RTMPE)
			return rtmp_hs_fail(hs, "encrypted handshake "
			    "(version %u) not supported", s[0]);
		if (s[0] != RTMP_HS_VERSION)
			return rtmp_hs_fail(hs, "unsupported RTMP version %u",
			    s[0]);
		hs->state = RTMP_HS_C1;
		hs->got = 0;
		/* FALLTHROUGH */
	case RTMP_HS_C1:
		off += rtmp_hs_take(hs, hs->c1, s + off, n - off);
		*used = off;
		if (hs->got < RTMP_HS_SIZE)
			return RTMP_HS_NEED;
		/* 5.2.4: S2 echoes C1; every publisher accepts an exact
		 * echo, as most servers send */
		memcpy(hs->reply + 1 + RTMP_HS_SIZE, hs->c1, RTMP_HS_SIZE);
		hs->state = RTMP_HS_C2;
		hs->got = 0;
		return RTMP_HS_REPLY;
	case RTMP_HS_C2:
		/* not compared with S1: GStreamer rtmp2 rewrites bytes 4-7 */
		*used = rtmp_hs_take(hs, NULL, s, n);
		if (hs->got < RTMP_HS_SIZE)
			return RTMP_HS_NEED;
		hs->state = RTMP_HS_DONE;
		return RTMP_HS_OK;
	case RTMP_HS_DONE:
		return rtmp_hs_fail(hs, "handshake fed after it ended");
	default:
		return RTMP_HS_ERR;
	}
}

const uint8_t *
rtmp_hs_reply(const struct rtmp_hs *hs, size_t *len)
{
	if (hs->state != RTMP_HS_C2 && hs->state != RTMP_HS_DONE) {
		*len = 0;
		return NULL;
	}
	*len = sizeof(hs->reply);
	return hs->reply;
}

const char *
rtmp_hs_error(const struct rtmp_hs *hs)
{
	return hs->err;
}
