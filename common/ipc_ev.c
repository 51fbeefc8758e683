/*
 * IPC messages in and out of evbuffers; see ipc_ev.h.  The header is
 * checked before the payload is waited for, so a peer can never make us
 * buffer more than its type's limit.
 */
#include <event2/buffer.h>

#include "common/ipc_ev.h"

int
ipc_ev_next(struct evbuffer *in, struct ipc_hdr *h, const uint8_t **payload,
    const char **why)
{
	uint8_t	raw[IPC_HDR_LEN];

	if (evbuffer_copyout(in, raw, sizeof(raw)) < (ev_ssize_t)sizeof(raw))
		return 0;
	if (ipc_hdr_parse(raw, sizeof(raw), h, why) != IPC_OK)
		return -1;
	if (evbuffer_get_length(in) < IPC_HDR_LEN + (size_t)h->len)
		return 0;
	*payload = evbuffer_pullup(in, IPC_HDR_LEN + (ev_ssize_t)h->len);
	if (*payload == NULL) {
		*why = "out of memory";
		return -1;
	}
	*payload += IPC_HDR_LEN;
	return 1;
}

void
ipc_ev_drain(struct evbuffer *in, const struct ipc_hdr *h)
{
	evbuffer_drain(in, IPC_HDR_LEN + (size_t)h->len);
}

int
ipc_ev_add(struct evbuffer *out, uint16_t type, uint32_t id,
    const void *payload, size_t len)
{
	uint8_t	hdr[IPC_HDR_LEN];

	ipc_hdr_pack(hdr, type, 0, (uint32_t)len, id);
	if (evbuffer_add(out, hdr, sizeof(hdr)) == -1 ||
	    (len > 0 && evbuffer_add(out, payload, len) == -1))
		return -1;
	return 0;
}
