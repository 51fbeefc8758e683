/*
 * IPC header: pack/parse round trips for every type, the exact wire
 * bytes, IPC_NEED below 12 bytes, and each reason for IPC_BAD (type,
 * flags, IPC_F_FD, length outside the type's limits).
 */
#include <string.h>

#include "common/ipc.h"
#include "tap.h"

/* The lengths ipc.h promises per type (its comments): a payload that
 * cannot hold the type's fixed fields, or over its limit, is refused. */
static const struct {
	uint16_t	 type;
	const char	*name;
	uint32_t	 ok_len;	/* a legal length */
	uint32_t	 short_len;	/* UINT32_MAX: no minimum to test */
	uint32_t	 max;		/* UINT32_MAX: not stated in ipc.h */
} types[] = {
	/* u32 version, str proc: 4 + 2 bytes at least */
	{ IPC_HELLO, "hello", 6 + 10, 5, UINT32_MAX },
	{ IPC_CONFIG, "config", 100, UINT32_MAX, UINT32_MAX },
	/* u8 type, u32 ts_ms, data: at most one RTMP message */
	{ IPC_MEDIA, "media", 5 + 1000, 4, IPC_MEDIA_MAX },
	{ IPC_EOS, "eos", 0, UINT32_MAX, 0 },
	{ IPC_STATUS, "status", 50, UINT32_MAX, UINT32_MAX },
	/* str command, u16 argc: 2 + 2 bytes at least */
	{ IPC_CTL_REQ, "ctl_req", 4 + 6, 3, UINT32_MAX },
	/* u8 ok, then text */
	{ IPC_CTL_REPLY, "ctl_reply", 1 + 20, 0, IPC_CTL_REPLY_MAX },
};

#define NTYPES	(sizeof(types) / sizeof(types[0]))

static enum ipc_res
parse(uint16_t type, uint16_t flags, uint32_t len, uint32_t id,
    struct ipc_hdr *h, const char **why)
{
	uint8_t	buf[IPC_HDR_LEN];

	ipc_hdr_pack(buf, type, flags, len, id);
	*why = NULL;
	return ipc_hdr_parse(buf, sizeof(buf), h, why);
}

static void
test_round_trip(void)
{
	static const uint32_t	ids[] = { 0, 1, 0x11223344, UINT32_MAX };
	struct ipc_hdr		h;
	const char		*why;
	enum ipc_res		res;
	size_t			i, j;

	for (i = 0; i < NTYPES; i++) {
		for (j = 0; j < sizeof(ids) / sizeof(ids[0]); j++) {
			memset(&h, 0xee, sizeof(h));
			res = parse(types[i].type, 0, types[i].ok_len, ids[j],
			    &h, &why);
			ok(res == IPC_OK && h.type == types[i].type &&
			    h.flags == 0 && h.len == types[i].ok_len &&
			    h.id == ids[j], "%s: len %u id %u round trip",
			    types[i].name, types[i].ok_len, ids[j]);
		}
		if (types[i].max != UINT32_MAX) {
			res = parse(types[i].type, 0, types[i].max, 7, &h,
			    &why);
			ok(res == IPC_OK && h.len == types[i].max,
			    "%s: len at the maximum %u", types[i].name,
			    types[i].max);
		}
		is_str(ipc_type_name(types[i].type), types[i].name,
		    "ipc_type_name(%u)", types[i].type);
	}
}

/* 12 bytes, little-endian: type, flags, len, id. */
static void
test_bytes(void)
{
	static const uint8_t	want[IPC_HDR_LEN] = {
		0x03, 0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01,
		0xdd, 0xcc, 0xbb, 0xaa,
	};
	uint8_t			buf[IPC_HDR_LEN + 4], big[64];
	struct ipc_hdr		h;
	const char		*why = NULL;
	size_t			n;

	memset(buf, 0x5a, sizeof(buf));
	ipc_hdr_pack(buf, IPC_MEDIA, 0, 0x01020304, 0xaabbccdd);
	ok(memcmp(buf, want, sizeof(want)) == 0, "pack: little-endian bytes");
	ok(buf[IPC_HDR_LEN] == 0x5a, "pack: writes 12 bytes only");

	for (n = 0; n < IPC_HDR_LEN; n++)
		if (ipc_hdr_parse(want, n, &h, &why) != IPC_NEED)
			break;
	is_int(n, IPC_HDR_LEN, "parse: IPC_NEED for 0 to 11 bytes");

	/* The payload may follow in the same buffer: only 12 are read. */
	memset(big, 0xff, sizeof(big));
	ipc_hdr_pack(big, IPC_MEDIA, 0, 0x00020304, 0xaabbccdd);
	ok(ipc_hdr_parse(big, sizeof(big), &h, &why) == IPC_OK &&
	    h.type == IPC_MEDIA && h.len == 0x00020304 && h.id == 0xaabbccdd,
	    "parse: header followed by payload bytes");
}

static void
test_bad(void)
{
	static const uint16_t	bad_types[] = { 0, IPC_TYPE_END,
	    IPC_TYPE_END + 1, 0x0100, UINT16_MAX };
	static const uint16_t	bad_flags[] = { IPC_F_FD, 0x0002, 0x8000,
	    UINT16_MAX, IPC_F_FD | 0x0004 };
	struct ipc_hdr		h;
	const char		*why, *fd_why = NULL, *flag_why = NULL;
	enum ipc_res		res;
	size_t			i;

	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		res = parse(bad_types[i], 0, 0, 1, &h, &why);
		ok(res == IPC_BAD && why != NULL && *why != '\0',
		    "type %u: IPC_BAD (%s)", bad_types[i], why ? why : "-");
		ok(ipc_type_name(bad_types[i]) != NULL,
		    "ipc_type_name(%u) = %s", bad_types[i],
		    ipc_type_name(bad_types[i]));
	}
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		res = parse(IPC_EOS, bad_flags[i], 0, 1, &h, &why);
		ok(res == IPC_BAD && why != NULL && *why != '\0',
		    "flags 0x%04x: IPC_BAD (%s)", bad_flags[i],
		    why ? why : "-");
		if (bad_flags[i] == IPC_F_FD)
			fd_why = why;
		else if (bad_flags[i] == 0x0002)
			flag_why = why;
	}
	/* fd passing is reserved, not unknown: it says so. */
	ok(fd_why != NULL && flag_why != NULL && strcmp(fd_why, flag_why) != 0,
	    "IPC_F_FD has its own reason");

	for (i = 0; i < NTYPES; i++) {
		res = parse(types[i].type, 0, UINT32_MAX, 1, &h, &why);
		ok(res == IPC_BAD && why != NULL && *why != '\0',
		    "%s: len 0xffffffff IPC_BAD (%s)", types[i].name,
		    why ? why : "-");
		if (types[i].max != UINT32_MAX) {
			res = parse(types[i].type, 0, types[i].max + 1, 1, &h,
			    &why);
			ok(res == IPC_BAD && why != NULL,
			    "%s: len max + 1 IPC_BAD (%s)", types[i].name,
			    why ? why : "-");
		}
		if (types[i].short_len != UINT32_MAX) {
			res = parse(types[i].type, 0, types[i].short_len, 1,
			    &h, &why);
			ok(res == IPC_BAD && why != NULL,
			    "%s: len %u too short for its fields (%s)",
			    types[i].name, types[i].short_len,
			    why ? why : "-");
		}
	}
	/* The unknown-type name differs from every real one. */
	for (i = 0; i < NTYPES; i++)
		if (strcmp(ipc_type_name(0), types[i].name) == 0)
			break;
	is_int(i, NTYPES, "ipc_type_name(0) is no real type's name");
}

int
main(void)
{
	test_round_trip();
	test_bytes();
	test_bad();
	return tap_done();
}
