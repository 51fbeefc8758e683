/*
 * IPC framing shared by supervisor<->worker and CLI<->supervisor sockets:
 * a 12-byte little-endian header (type, flags, len, id) and a payload.
 * Pure code: ipc_hdr_parse checks a header against the per-type length
 * table before the caller allocates or waits for anything.
 */
#ifndef IPC_H
#define IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_VERSION	3	/* 2: profiles in CONFIG, xcode STATUS;
				   3: SOURCE, continuity in CONFIG */
#define IPC_HDR_LEN	12
#define IPC_WORKER_FD	3		/* the worker's end of its socketpair */

enum ipc_type {
	IPC_HELLO = 1,		/* u32 version, str proc */
	IPC_CONFIG,		/* relay settings, defined with the worker */
	IPC_MEDIA,		/* one FLV tag: u8 type, u32 ts_ms, data */
	IPC_EOS,		/* publisher ended; empty */
	IPC_STATUS,		/* worker state, defined with the worker */
	IPC_CTL_REQ,		/* str command, u16 argc, argc x str */
	IPC_CTL_REPLY,		/* u8 ok, then text to the end */
	IPC_SOURCE,		/* the relay's source changed: u8 what,
				   u32 grace_ms, str label */
	IPC_TYPE_END
};

#define IPC_F_FD	0x0001	/* reserved: fd passing is not supported */
#define IPC_F_KNOWN	0x0000	/* the flags a reader accepts today */

#define IPC_MEDIA_MAX	(8u * 1024 * 1024 + 16)	/* RTMP_MAX_MSG_LEN + header */
#define IPC_CTL_REPLY_MAX (1u * 1024 * 1024)

struct ipc_hdr {
	uint16_t	type;	/* enum ipc_type */
	uint16_t	flags;	/* IPC_F_*; an unknown bit is an error */
	uint32_t	len;	/* payload bytes after the header */
	uint32_t	id;	/* relay or request id; 0 = none */
};

enum ipc_res {
	IPC_OK,
	IPC_NEED,		/* fewer than IPC_HDR_LEN bytes */
	IPC_BAD,		/* close the peer; *why says why */
};

enum ipc_res	 ipc_hdr_parse(const uint8_t *, size_t, struct ipc_hdr *,
		    const char **why);
void		 ipc_hdr_pack(uint8_t out[IPC_HDR_LEN], uint16_t type,
		    uint16_t flags, uint32_t len, uint32_t id);
const char	*ipc_type_name(uint16_t);

#endif
