/*
 * IPC header packing and checking; see ipc.h.  The length limits per type
 * live in one table so a reader never allocates or waits for more than a
 * legal message.
 */
#include "common/ipc.h"
#include "common/wire.h"

static const struct {
	const char	*name;
	uint32_t	 min, max;
} ipc_types[IPC_TYPE_END] = {
	[IPC_HELLO] =		{ "hello", 6, 6 + 64 },
	[IPC_CONFIG] =		{ "config", 0, 64 * 1024 },
	[IPC_MEDIA] =		{ "media", 5, IPC_MEDIA_MAX },
	[IPC_EOS] =		{ "eos", 0, 0 },
	[IPC_STATUS] =		{ "status", 0, 4096 },
	[IPC_CTL_REQ] =		{ "ctl_req", 4, 64 * 1024 },
	[IPC_CTL_REPLY] =	{ "ctl_reply", 1, IPC_CTL_REPLY_MAX },
	[IPC_SOURCE] =		{ "source", 7, 7 + 64 },
};

enum ipc_res
ipc_hdr_parse(const uint8_t *p, size_t n, struct ipc_hdr *h, const char **why)
{
	struct wire_r	r;

	if (n < IPC_HDR_LEN)
		return IPC_NEED;
	wire_r_init(&r, p, IPC_HDR_LEN);
	h->type = wire_le16(&r);
	h->flags = wire_le16(&r);
	h->len = wire_le32(&r);
	h->id = wire_le32(&r);
	if (h->type == 0 || h->type >= IPC_TYPE_END) {
		*why = "unknown message type";
		return IPC_BAD;
	}
	if (h->flags & ~IPC_F_KNOWN) {
		*why = (h->flags & IPC_F_FD) ? "fd passing is not supported" :
		    "unknown flag bits";
		return IPC_BAD;
	}
	if (h->len < ipc_types[h->type].min) {
		*why = "payload shorter than its type allows";
		return IPC_BAD;
	}
	if (h->len > ipc_types[h->type].max) {
		*why = "payload longer than its type allows";
		return IPC_BAD;
	}
	return IPC_OK;
}

void
ipc_hdr_pack(uint8_t out[IPC_HDR_LEN], uint16_t type, uint16_t flags,
    uint32_t len, uint32_t id)
{
	struct wire_w	w;

	wire_w_init(&w, out, IPC_HDR_LEN);
	wire_put_le16(&w, type);
	wire_put_le16(&w, flags);
	wire_put_le32(&w, len);
	wire_put_le32(&w, id);
}

const char *
ipc_type_name(uint16_t type)
{
	if (type == 0 || type >= IPC_TYPE_END)
		return "unknown";
	return ipc_types[type].name;
}
