/*
 * The client side of an RTMP publish, without I/O: the caller moves bytes
 * between the socket and this state machine.  Simple handshake (C0 C1,
 * S0 S1 S2, C2 = S1), Set Chunk Size, connect, releaseStream, FCPublish,
 * createStream, publish; then each audio, video or metadata tag as one
 * message.  Server messages (acks, pings, _result, _error, onStatus) are
 * handled as they come.  Pure: the time and the handshake's random bytes
 * are arguments; no fds, no logging; failures leave a reason.
 */
#ifndef RTMP_PUB_H
#define RTMP_PUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rtmp_chunk.h"
#include "common/rtmp_hs.h"

#define RTMP_PUB_CHUNK_SIZE	60000	/* outgoing: a frame is one chunk */

/* rtmp://host[:port]/app/name: app is the first path element, the name
 * the rest (query string kept). */
struct rtmp_pub_url {
	char	host[256];
	char	port[8];
	char	app[256];
	char	name[512];
	char	tcurl[1024];	/* rtmp://host[:port]/app */
};

enum rtmp_pub_state {
	RTMP_PUB_HANDSHAKE,	/* C0 C1 sent, waiting for S0 S1 S2 */
	RTMP_PUB_CONNECT,	/* connect sent */
	RTMP_PUB_CREATE,	/* createStream sent */
	RTMP_PUB_PUBLISH,	/* publish sent */
	RTMP_PUB_LIVE,		/* NetStream.Publish.Start came */
	RTMP_PUB_FAILED,	/* why says why */
};

struct rtmp_pub {
	enum rtmp_pub_state	 state;
	bool			 refused;	/* the server said no */
	const struct rtmp_pub_url *url;		/* borrowed */
	uint8_t			 s012[1 + 2 * RTMP_HS_SIZE];
	size_t			 hs_got;
	struct rtmp_chunk	 rx;
	uint64_t		 rx_bytes, rx_acked;
	uint32_t		 rx_window;
	uint32_t		 stream_id;
	double			 want_txn;	/* the _result awaited */
	/* bytes for the server: out[off..len) */
	uint8_t			*out;
	size_t			 out_off, out_len, out_cap;
	char			 why[256];
};

/* 0, or -1 when url is not rtmp://host[:port]/app/name. */
int	rtmp_pub_url_parse(struct rtmp_pub_url *, const char *url);
/* Starts a session: C0 C1 are queued.  random: RTMP_HS_SIZE - 8 bytes. */
void	rtmp_pub_init(struct rtmp_pub *, const struct rtmp_pub_url *,
	    uint32_t now_ms, const uint8_t *random);
void	rtmp_pub_clear(struct rtmp_pub *);
/* n bytes from the server: 0, or -1 (state FAILED, why; refused when the
 * server answered no rather than broke the protocol). */
int	rtmp_pub_feed(struct rtmp_pub *, const uint8_t *, size_t n);
/* Queues an audio, video or data (metadata: @setDataFrame is prefixed)
 * message on the published stream.  0, or -1 out of memory. */
int	rtmp_pub_media(struct rtmp_pub *, uint8_t type, uint32_t ts_ms,
	    const uint8_t *body, size_t len);
/* Queues FCUnpublish and deleteStream. */
void	rtmp_pub_unpublish(struct rtmp_pub *);
/* The queued bytes for the server, and how many of them were sent. */
size_t	rtmp_pub_pending(const struct rtmp_pub *, const uint8_t **);
void	rtmp_pub_sent(struct rtmp_pub *, size_t n);

#endif
