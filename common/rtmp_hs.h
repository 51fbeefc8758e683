/*
 * Server side of the RTMP simple handshake (RTMP specification 5.2):
 * reads C0 and C1, produces S0+S1+S2 in one buffer, then reads C2.  Pure:
 * the time and S1's random bytes are arguments.  C2 is not compared with
 * S1 (GStreamer rtmp2 rewrites bytes 4-7), and the complex (digest) C1
 * that ffmpeg sends is answered with a simple S1, which every publisher
 * we know accepts (see rtmp-interop-notes).
 */
#ifndef RTMP_HS_H
#define RTMP_HS_H

#include <stddef.h>
#include <stdint.h>

#define RTMP_HS_SIZE	1536
#define RTMP_HS_VERSION	3

enum rtmp_hs_state {
	RTMP_HS_C0,
	RTMP_HS_C1,
	RTMP_HS_C2,
	RTMP_HS_DONE,
	RTMP_HS_FAILED,
};

struct rtmp_hs {
	enum rtmp_hs_state	 state;
	size_t			 got;		/* bytes of the current part */
	uint32_t		 now_ms;
	uint8_t			 c1[RTMP_HS_SIZE];
	uint8_t			 reply[1 + 2 * RTMP_HS_SIZE];	/* S0 S1 S2 */
	const char		*err;
	char			 errbuf[48];	/* err naming a value */
};

enum rtmp_hs_res {
	RTMP_HS_NEED,		/* all input used; feed more */
	RTMP_HS_REPLY,		/* send rtmp_hs_reply() now, keep feeding */
	RTMP_HS_OK,		/* C2 read: the chunk stream starts after *used */
	RTMP_HS_ERR,		/* rtmp_hs_error() says why */
};

/* random: RTMP_HS_SIZE - 8 bytes for S1's random field. */
void		 rtmp_hs_init(struct rtmp_hs *, uint32_t now_ms,
		    const uint8_t *random);
/* Consumes up to n bytes (*used, > 0 unless n == 0); stops at each result
 * other than RTMP_HS_NEED so the caller can act on it. */
enum rtmp_hs_res rtmp_hs_feed(struct rtmp_hs *, const uint8_t *, size_t n,
		    size_t *used);
/* S0+S1+S2, valid after RTMP_HS_REPLY until rtmp_hs_init. */
const uint8_t	*rtmp_hs_reply(const struct rtmp_hs *, size_t *len);
const char	*rtmp_hs_error(const struct rtmp_hs *);

#endif
