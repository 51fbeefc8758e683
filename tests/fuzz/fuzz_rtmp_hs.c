/*
 * Fuzz target for the server handshake: the first byte picks a piece size
 * (0: all at once), the rest is fed in pieces until OK or an error.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/rtmp_hs.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 rnd[RTMP_HS_SIZE - 8];
	struct rtmp_hs		 hs;
	enum rtmp_hs_res	 res = RTMP_HS_NEED;
	const uint8_t		*r;
	size_t			 piece, off, len, at, used, rlen, total = 0;
	unsigned		 replies = 0;

	if (size == 0)
		return 0;
	piece = data[0] == 0 ? size : data[0];
	data++;
	size--;
	rtmp_hs_init(&hs, 1000, rnd);
	for (off = 0; off < size && res != RTMP_HS_ERR && res != RTMP_HS_OK;
	    off += len) {
		len = size - off < piece ? size - off : piece;
		for (at = 0; at < len; at += used) {
			res = rtmp_hs_feed(&hs, data + off + at, len - at,
			    &used);
			if (res == RTMP_HS_ERR) {
				check(rtmp_hs_error(&hs) != NULL);
				break;
			}
			check(used > 0 && used <= len - at);
			check(res != RTMP_HS_NEED || used == len - at);
			total += used;
			if (res == RTMP_HS_REPLY) {
				r = rtmp_hs_reply(&hs, &rlen);
				check(++replies == 1 && r != NULL &&
				    rlen == 1 + 2 * RTMP_HS_SIZE && r[0] == 3 &&
				    total == 1 + RTMP_HS_SIZE);
			}
			if (res == RTMP_HS_OK) {
				check(replies == 1 &&
				    total == 1 + 2 * RTMP_HS_SIZE);
				break;
			}
		}
	}
	return 0;
}
