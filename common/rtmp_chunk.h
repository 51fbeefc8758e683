/*
 * RTMP chunk stream (RTMP specification 5.3) for a server: the parser
 * reassembles messages from chunks in all four header formats, with
 * extended timestamps and Set Chunk Size / Abort applied to itself; the
 * encoder cuts one message into chunks.  Pure code: no fds, no logging, no
 * recursion; every length is checked against a named limit first.
 */
#ifndef RTMP_CHUNK_H
#define RTMP_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTMP_DEFAULT_CHUNK_SIZE	128
/* RTMP 5.4.1: 1..0x7FFFFFFF are legal; above 0xFFFFFF all are equivalent
 * since no message is longer. 0 and the top bit set are protocol errors. */
#define RTMP_MAX_CHUNK_SIZE	0x7fffffffu
#define RTMP_MAX_MSG_LEN	(8u * 1024 * 1024)	/* one message */
#define RTMP_MAX_PENDING	(16u * 1024 * 1024)	/* all partial messages */
/* Until a publish is accepted a peer only sends commands: a stranger
 * without a key gets these smaller limits (rtmp_chunk_set_limits). */
#define RTMP_PREAUTH_MSG_LEN	(64u * 1024)
#define RTMP_PREAUTH_PENDING	(128u * 1024)
#define RTMP_MAX_CSIDS		32	/* chunk streams open at once */
#define RTMP_MAX_CSID		65599	/* 3-byte basic header maximum */

enum rtmp_msg_type {
	RTMP_MSG_SET_CHUNK_SIZE = 1,
	RTMP_MSG_ABORT = 2,
	RTMP_MSG_ACK = 3,
	RTMP_MSG_USER_CONTROL = 4,
	RTMP_MSG_WINDOW_ACK_SIZE = 5,
	RTMP_MSG_SET_PEER_BW = 6,
	RTMP_MSG_AUDIO = 8,
	RTMP_MSG_VIDEO = 9,
	RTMP_MSG_DATA_AMF3 = 15,
	RTMP_MSG_SHARED_OBJ_AMF3 = 16,
	RTMP_MSG_COMMAND_AMF3 = 17,
	RTMP_MSG_DATA_AMF0 = 18,
	RTMP_MSG_SHARED_OBJ_AMF0 = 19,
	RTMP_MSG_COMMAND_AMF0 = 20,
	RTMP_MSG_AGGREGATE = 22,
};

struct rtmp_msg {
	uint32_t	 csid;		/* chunk stream it arrived on */
	uint8_t		 type;		/* RTMP_MSG_* */
	uint32_t	 stream_id;
	uint32_t	 ts_ms;		/* wraps at 2^32: compare with ts_after() */
	const uint8_t	*data;		/* parser-owned, valid until the next feed */
	uint32_t	 len;
};

/* Per chunk stream state: the last header seen and a partial message. */
struct rtmp_cs {
	uint32_t	 csid;		/* 0 = slot free */
	uint8_t		 type;
	uint32_t	 stream_id;
	uint32_t	 ts_ms;		/* timestamp of the current message */
	uint32_t	 ts_delta;	/* for fmt 3 starting a new message */
	uint32_t	 msg_len;
	bool		 ext_ts;	/* last header had an extended timestamp */
	uint8_t		*buf;		/* msg_len bytes once a message starts */
	uint32_t	 got;		/* bytes of it received */
};

enum rtmp_chunk_state {
	RTMP_CS_BASIC,		/* reading the basic header */
	RTMP_CS_MSGHDR,		/* reading the message header (+ ext ts) */
	RTMP_CS_DATA,		/* reading chunk payload */
};

struct rtmp_chunk {
	uint32_t		 chunk_size;	/* incoming, set by the peer */
	enum rtmp_chunk_state	 state;
	uint8_t			 hdr[18];	/* basic + message + extended ts */
	size_t			 hdr_got;
	size_t			 hdr_need;
	struct rtmp_cs		*cur;		/* chunk stream being read */
	uint32_t		 chunk_left;	/* payload bytes left in chunk */
	size_t			 pending;	/* bytes held in partial messages */
	struct rtmp_cs		 cs[RTMP_MAX_CSIDS];
	uint8_t			*done;		/* last message's buffer, freed
						   on the next feed */
	uint32_t		 max_msg_len;	/* <= RTMP_MAX_MSG_LEN */
	size_t			 max_pending;	/* <= RTMP_MAX_PENDING */
	uint32_t		 max_chunk_size; /* a larger Set Chunk Size
						   is an error */
	const char		*err;
	char			 errbuf[80];	/* err naming a value */
};

enum rtmp_res {
	RTMP_NEED,		/* all of the input was used; feed more */
	RTMP_MSG,		/* *msg is a complete message */
	RTMP_ERR,		/* protocol error; rtmp_chunk_error() says why */
};

/* Starts with the full limits, RTMP_MAX_MSG_LEN and RTMP_MAX_PENDING. */
void		 rtmp_chunk_init(struct rtmp_chunk *);
/* Lowers or restores the limits (capped at the maxima above); applies to
 * messages whose first chunk arrives from now on. */
void		 rtmp_chunk_set_limits(struct rtmp_chunk *, uint32_t max_msg_len,
		    size_t max_pending);
/* The largest chunk size the peer may set (1..RTMP_MAX_CHUNK_SIZE, the
 * default). */
void		 rtmp_chunk_set_max_chunk_size(struct rtmp_chunk *, uint32_t);
/* Frees partial messages; the struct can be inited again. */
void		 rtmp_chunk_clear(struct rtmp_chunk *);
/*
 * Consumes at most n bytes (*used > 0 when n > 0) and stops after the first
 * complete message.  Set Chunk Size and Abort are applied here and also
 * returned (the session may ignore them).  Any split of the same input
 * gives the same messages.  After RTMP_ERR the parser stays failed.
 */
enum rtmp_res	 rtmp_chunk_feed(struct rtmp_chunk *, const uint8_t *, size_t n,
		    size_t *used, struct rtmp_msg *);
const char	*rtmp_chunk_error(const struct rtmp_chunk *);

/*
 * Encodes msg as chunks of chunk_size bytes on chunk stream csid (2..63):
 * a fmt-0 header, then fmt-3 continuation headers, with the extended
 * timestamp repeated on each when ts_ms >= 0xFFFFFF.  Writes nothing and
 * returns the size needed when it exceeds cap; else returns bytes written.
 */
size_t		 rtmp_chunk_encode(uint8_t *out, size_t cap, uint32_t chunk_size,
		    uint32_t csid, const struct rtmp_msg *msg);

/* a is after b in RTMP's wrapping 32-bit millisecond clock. */
static inline bool
ts_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

#endif
