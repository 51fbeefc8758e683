/*
 * Fuzz target for the chunk stream parser: the first byte picks a piece
 * size (0: all at once), the rest is fed in pieces.  Asserts the feed
 * contract and the limits, and that a short message survives an encode
 * and parse round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rtmp_chunk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define ROUND_TRIP_MAX	4096	/* longer messages are not re-encoded */

static volatile uint8_t	sink;

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
round_trip(const struct rtmp_msg *m)
{
	static uint8_t		 buf[2 * ROUND_TRIP_MAX];
	struct rtmp_chunk	 p;
	struct rtmp_msg		 out;
	size_t			 n, used;

	/* re-parsing a control message would change the chunk size */
	if (m->len > ROUND_TRIP_MAX || m->type == RTMP_MSG_SET_CHUNK_SIZE ||
	    m->type == RTMP_MSG_ABORT)
		return;
	n = rtmp_chunk_encode(buf, sizeof(buf), RTMP_DEFAULT_CHUNK_SIZE,
	    m->csid <= 63 ? m->csid : 3, m);
	check(n > 0 && n <= sizeof(buf));
	rtmp_chunk_init(&p);
	check(rtmp_chunk_feed(&p, buf, n, &used, &out) == RTMP_MSG);
	check(used == n && out.type == m->type && out.len == m->len &&
	    out.stream_id == m->stream_id && out.ts_ms == m->ts_ms &&
	    memcmp(out.data, m->data, m->len) == 0);
	rtmp_chunk_clear(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtmp_chunk	p;
	struct rtmp_msg		m;
	enum rtmp_res		res = RTMP_NEED;
	size_t			piece, off, len, at, used;

	if (size == 0)
		return 0;
	piece = data[0] == 0 ? size : data[0];
	data++;
	size--;
	rtmp_chunk_init(&p);
	for (off = 0; off < size && res != RTMP_ERR; off += len) {
		len = size - off < piece ? size - off : piece;
		for (at = 0; at < len; at += used) {
			res = rtmp_chunk_feed(&p, data + off + at, len - at,
			    &used, &m);
			if (res == RTMP_ERR) {
				check(rtmp_chunk_error(&p) != NULL);
				break;
			}
			check(used > 0 && used <= len - at);
			check(res == RTMP_MSG || used == len - at);
			check(p.pending <= RTMP_MAX_PENDING);
			if (res == RTMP_MSG) {
				check(m.len <= RTMP_MAX_MSG_LEN &&
				    m.data != NULL);
				if (m.len > 0)
					sink ^= m.data[0] ^ m.data[m.len - 1];
				round_trip(&m);
			}
		}
	}
	rtmp_chunk_clear(&p);
	return 0;
}
