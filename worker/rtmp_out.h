/*
 * A native RTMP publisher for rtmp:// copy relays: takes the FLV byte
 * stream libavformat's flv muxer writes (through a custom AVIOContext, so
 * the tags are the ones libavformat's own rtmp protocol would send) and
 * publishes each tag as one RTMP message in one write, with a large
 * outgoing chunk size.  Connect, handshake and publish block under the
 * interrupt callback (the caller's deadlines and stop checks); server
 * messages (acks, pings, onStatus) are read without blocking the send
 * path.  Failures are AVERRORs with the reason in av_log at error level.
 */
#ifndef RTMP_OUT_H
#define RTMP_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <libavformat/avio.h>

#define RTMP_OUT_CHUNK_SIZE	60000

struct rtmp_out;

/* Connects to url (rtmp://host[:port]/app/name) and publishes name:
 * *ro, or an AVERROR: a network one (ECONNREFUSED, ETIMEDOUT, ...,
 * AVERROR_EXIT when icb said stop), AVERROR(EACCES) when the server
 * refused (_error, an error onStatus), AVERROR_EOF when it closed. */
int	rtmp_out_open(struct rtmp_out **ro, const char *url,
	    const AVIOInterruptCB *icb);
/* n bytes of the FLV stream (header, tags; any split): 0 or an AVERROR. */
int	rtmp_out_write(struct rtmp_out *, const uint8_t *buf, size_t n);
/* FCUnpublish and deleteStream (best effort), then closes; NULL is
 * fine. */
void	rtmp_out_close(struct rtmp_out *);

#endif
