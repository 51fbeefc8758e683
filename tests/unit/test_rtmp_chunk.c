/*
 * RTMP chunk stream: golden streams (tests/data/chunk_*.in/.out, written
 * by tests/fuzz/gen_corpus_parsers.py) fed whole, in two pieces split at
 * every byte and one byte at a time; feed contract; encoder round trip.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rtmp_chunk.h"
#include "tap.h"
#include "testutil.h"


/*
 * Feeds in: a first piece of `first` bytes (0: none), then pieces of
 * `step` bytes (0: the rest), each copied to its own allocation so ASan
 * sees a read past a piece.  Returns the messages as text, one per line,
 * then "error: ..." if the parser failed; the caller frees it.
 */
static char *
dump(const uint8_t *in, size_t n, size_t first, size_t step)
{
	struct sbuf		 b = { 0 };
	struct rtmp_chunk	 p;
	struct rtmp_msg		 m;
	enum rtmp_res		 res = RTMP_NEED;
	uint8_t			*piece;
	size_t			 off = 0, len, used, at;

	sb_printf(&b, "%s", "");
	rtmp_chunk_init(&p);
	while (off < n && res != RTMP_ERR) {
		len = off == 0 && first > 0 ? first : step > 0 ? step : n - off;
		if (len > n - off)
			len = n - off;
		if ((piece = malloc(len)) == NULL)
			abort();
		memcpy(piece, in + off, len);
		for (at = 0; at < len; at += used) {
			res = rtmp_chunk_feed(&p, piece + at, len - at, &used,
			    &m);
			if (res != RTMP_ERR && (used == 0 || used > len - at ||
			    (res == RTMP_NEED && used != len - at))) {
				sb_printf(&b, "bad used %zu of %zu\n", used,
				    len - at);
				res = RTMP_ERR;
			}
			if (res == RTMP_ERR)
				break;
			if (res == RTMP_MSG)
				sb_printf(&b, "csid=%u type=%u msid=%u ts=%u "
				    "len=%u fnv=%08x\n", m.csid, m.type,
				    m.stream_id, m.ts_ms, m.len,
				    fnv(m.data, m.len));
		}
		if (res == RTMP_ERR && rtmp_chunk_error(&p) != NULL)
			sb_printf(&b, "error: %s\n", rtmp_chunk_error(&p));
		free(piece);
		off += len;
	}
	rtmp_chunk_clear(&p);
	return b.p;
}

static const char *const golden[] = {
	"fmt0_basic", "fmt_all", "basic_hdr", "ext_ts", "interleave_librtmp",
	"fmt3_after_fmt0", "set_chunk_size", "abort", "zero_len", "ts_wrap",
	"err_size0", "err_size_top", "err_size_max", "err_size_short",
	"err_msg_len", "err_fmt1_unknown", "err_fmt2_unknown",
	"err_fmt3_unknown", "err_csids", "err_mid_msg", "err_pending",
};

static void
test_golden(void)
{
	char	 path[256], *got;
	uint8_t	*in, *out;
	size_t	 ilen, olen, i, k;
	bool	 same;

	for (i = 0; i < sizeof(golden) / sizeof(*golden); i++) {
		snprintf(path, sizeof(path), "../data/chunk_%s.in", golden[i]);
		in = read_file(path, &ilen);
		snprintf(path, sizeof(path), "../data/chunk_%s.out", golden[i]);
		out = read_file(path, &olen);
		if (in == NULL || out == NULL) {
			ok(0, "golden %s: read %s", golden[i], path);
			free(in);
			free(out);
			continue;
		}
		got = dump(in, ilen, 0, 0);
		is_str(got, (char *)out, "%s: whole", golden[i]);
		free(got);

		same = true;
		for (k = 1; k < ilen && same; k++) {
			got = dump(in, ilen, k, 0);
			if (strcmp(got, (char *)out) != 0) {
				printf("#   split at %zu:\n%s", k, got);
				same = false;
			}
			free(got);
		}
		ok(same, "%s: two pieces, split at each of %zu bytes",
		    golden[i], ilen);

		got = dump(in, ilen, 0, 1);
		is_str(got, (char *)out, "%s: one byte at a time", golden[i]);
		free(got);
		free(in);
		free(out);
	}
}

/* Two messages in one buffer come out one per call; errors stick. */
static void
test_feed_contract(void)
{
	static const uint8_t	 in[] = {
		0x03, 0, 0, 1, 0, 0, 2, 20, 0, 0, 0, 0, 'h', 'i',
		0xc3, 'y', 'o',
		0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct rtmp_chunk	 p;
	struct rtmp_msg		 m;
	size_t			 used;

	rtmp_chunk_init(&p);
	ok(rtmp_chunk_feed(&p, in, 0, &used, &m) == RTMP_NEED && used == 0,
	    "empty feed: NEED, nothing used");
	ok(rtmp_chunk_feed(&p, in, sizeof(in), &used, &m) == RTMP_MSG &&
	    used == 14 && m.len == 2 && memcmp(m.data, "hi", 2) == 0 &&
	    m.ts_ms == 1, "first message stops the feed after 14 bytes");
	ok(rtmp_chunk_feed(&p, in + 14, sizeof(in) - 14, &used, &m) ==
	    RTMP_MSG && used == 3 && memcmp(m.data, "yo", 2) == 0 &&
	    m.ts_ms == 1, "fmt 3 header starts the next message");
	ok(rtmp_chunk_feed(&p, in + 17, sizeof(in) - 17, &used, &m) ==
	    RTMP_ERR && used == 16, "chunk size 0 refused");
	is_str(rtmp_chunk_error(&p), "set chunk size: invalid size 0",
	    "  reason");
	ok(rtmp_chunk_feed(&p, in, sizeof(in), &used, &m) == RTMP_ERR &&
	    used == 0, "parser stays failed");
	rtmp_chunk_clear(&p);

	/* partial messages are freed by clear (ASan checks the leak) */
	rtmp_chunk_init(&p);
	ok(rtmp_chunk_feed(&p, in, 13, &used, &m) == RTMP_NEED &&
	    p.pending == 2, "a partial message is pending");
	rtmp_chunk_clear(&p);
	is_int(p.pending, 0, "clear drops it");
	rtmp_chunk_init(&p);
	ok(rtmp_chunk_feed(&p, in, sizeof(in), &used, &m) == RTMP_MSG,
	    "init after clear works");
	rtmp_chunk_clear(&p);
}

static uint8_t *
pattern(size_t n, unsigned seed)
{
	uint8_t	*p = malloc(n > 0 ? n : 1);
	size_t	 i;

	if (p == NULL)
		abort();
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
	return p;
}

/* Feeds a whole buffer; expects exactly one message, returned in *m. */
static bool
parse_one(struct rtmp_chunk *p, const uint8_t *in, size_t n,
    struct rtmp_msg *m)
{
	size_t	used;

	if (rtmp_chunk_feed(p, in, n, &used, m) != RTMP_MSG || used != n)
		return false;
	return true;
}

static void
test_encode(void)
{
	static const struct {
		uint8_t		type;
		uint32_t	msid, ts, len, csid;
	} t[] = {
		{ 20, 0, 0, 0, 3 },
		{ 9, 1, 40, 127, 4 },
		{ 9, 1, 40, 128, 6 },
		{ 9, 1, 40, 129, 63 },
		{ 8, 1, 0xfffffe, 300, 4 },
		{ 8, 1, 0xffffff, 300, 4 },
		{ 9, 0x01020304, 0xffffffff, 5000, 5 },
		{ 18, 1, 1000, 9000, 2 },
		{ 9, 1, 7, RTMP_MAX_MSG_LEN, 7 },
	};
	static const uint32_t	 sizes[] = { 128, 4096 };
	struct rtmp_chunk	 p;
	struct rtmp_msg		 in, out;
	uint8_t			*data, *buf, scs[64], sz[4];
	size_t			 need, n, i, j;
	bool			 good;

	for (j = 0; j < sizeof(sizes) / sizeof(*sizes); j++) {
		rtmp_chunk_init(&p);
		if (sizes[j] != RTMP_DEFAULT_CHUNK_SIZE) {
			sz[0] = (uint8_t)(sizes[j] >> 24);
			sz[1] = (uint8_t)(sizes[j] >> 16);
			sz[2] = (uint8_t)(sizes[j] >> 8);
			sz[3] = (uint8_t)sizes[j];
			in = (struct rtmp_msg){ .type = RTMP_MSG_SET_CHUNK_SIZE,
			    .data = sz, .len = 4 };
			n = rtmp_chunk_encode(scs, 16, 128, 2, &in);
			ok(n == 16 && parse_one(&p, scs, n, &out) &&
			    out.type == RTMP_MSG_SET_CHUNK_SIZE &&
			    p.chunk_size == sizes[j], "set chunk size %u",
			    sizes[j]);
		}
		for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
			data = pattern(t[i].len, (unsigned)i);
			in = (struct rtmp_msg){ .type = t[i].type,
			    .stream_id = t[i].msid, .ts_ms = t[i].ts,
			    .data = data, .len = t[i].len };
			need = rtmp_chunk_encode(NULL, 0, sizes[j], t[i].csid,
			    &in);
			if ((buf = malloc(need)) == NULL)
				abort();
			memset(buf, 0xee, need);
			good = rtmp_chunk_encode(buf, need - 1, sizes[j],
			    t[i].csid, &in) == need && buf[0] == 0xee;
			n = rtmp_chunk_encode(buf, need, sizes[j], t[i].csid,
			    &in);
			good = good && n == need &&
			    parse_one(&p, buf, n, &out) &&
			    out.csid == t[i].csid && out.type == t[i].type &&
			    out.stream_id == t[i].msid &&
			    out.ts_ms == t[i].ts && out.len == t[i].len &&
			    memcmp(out.data, data, t[i].len) == 0;
			ok(good, "encode/parse chunk size %u: type %u ts %u "
			    "len %u csid %u (%zu bytes)", sizes[j], t[i].type,
			    t[i].ts, t[i].len, t[i].csid, n);
			free(buf);
			free(data);
		}
		rtmp_chunk_clear(&p);
	}

	in = (struct rtmp_msg){ .type = 20, .data = sz, .len = 4 };
	ok(rtmp_chunk_encode(scs, sizeof(scs), 128, 1, &in) == 0 &&
	    rtmp_chunk_encode(scs, sizeof(scs), 128, 64, &in) == 0 &&
	    rtmp_chunk_encode(scs, sizeof(scs), 0, 3, &in) == 0,
	    "encode refuses csid 1, 64 and chunk size 0");
	/* 5.3.1.2.1: the message stream id is little-endian */
	in = (struct rtmp_msg){ .type = 20, .stream_id = 1, .ts_ms = 0x123456,
	    .data = sz, .len = 4 };
	memcpy(sz, "abcd", 4);
	n = rtmp_chunk_encode(scs, sizeof(scs), 128, 3, &in);
	is_mem(scs, "\x03\x12\x34\x56\x00\x00\x04\x14\x01\x00\x00\x00" "abcd",
	    16, "fmt 0 header layout");
	is_int(n, 16, "  size");
	in.ts_ms = 0x1000000;
	n = rtmp_chunk_encode(scs, sizeof(scs), 2, 3, &in);
	is_int(n, 12 + 4 + 2 + 1 + 4 + 2, "extended ts on each chunk: size");
	ok(n <= sizeof(scs) && memcmp(scs + 1, "\xff\xff\xff", 3) == 0 &&
	    memcmp(scs + 12, "\x01\x00\x00\x00" "ab" "\xc3\x01\x00\x00\x00"
	    "cd", 11) == 0, "extended ts on each chunk: bytes");
}

/* A stranger gets the pre-auth limits; raising them lets media through. */
static void
test_limits(void)
{
	static uint8_t		 payload[RTMP_PREAUTH_MSG_LEN + 1];
	static uint8_t		 wire[RTMP_PREAUTH_MSG_LEN + 1024];
	struct rtmp_msg		 in = { .type = RTMP_MSG_VIDEO, .stream_id = 1,
				    .data = payload, .len = sizeof(payload) };
	struct rtmp_chunk	 p;
	struct rtmp_msg		 m;
	size_t			 n, used, off;
	enum rtmp_res		 res;
	int			 raise;

	n = rtmp_chunk_encode(wire, sizeof(wire), 128, 6, &in);
	ok(n > 0 && n <= sizeof(wire), "limits: encoded %zu bytes", n);
	for (raise = 0; raise < 2; raise++) {
		rtmp_chunk_init(&p);
		rtmp_chunk_set_limits(&p, RTMP_PREAUTH_MSG_LEN,
		    RTMP_PREAUTH_PENDING);
		if (raise)
			rtmp_chunk_set_limits(&p, UINT32_MAX, SIZE_MAX);
		is_int(p.max_msg_len, raise ? RTMP_MAX_MSG_LEN :
		    RTMP_PREAUTH_MSG_LEN, "limits: capped at the maxima");
		off = 0;
		do {
			res = rtmp_chunk_feed(&p, wire + off, n - off, &used,
			    &m);
			off += used;
		} while (res == RTMP_NEED && off < n);
		if (raise)
			ok(res == RTMP_MSG && m.len == sizeof(payload),
			    "limits: raised, a %zu-byte message passes",
			    sizeof(payload));
		else
			ok(res == RTMP_ERR && strstr(rtmp_chunk_error(&p),
			    "over limit 65536") != NULL,
			    "limits: pre-auth refuses %zu bytes: %s",
			    sizeof(payload), rtmp_chunk_error(&p));
		rtmp_chunk_clear(&p);
	}
}

int
main(void)
{
	test_golden();
	test_feed_contract();
	test_encode();
	test_limits();
	return tap_done();
}
