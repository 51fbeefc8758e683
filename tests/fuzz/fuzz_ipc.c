/*
 * ipc_hdr_parse over the input and each of its suffixes.  What IPC_OK
 * promises is checked: a known type, no flags, a length within the
 * type's limit, and the same 12 bytes when packed again.  Seeds in
 * corpus/ipc/ are one header of each type plus bad types, flags and
 * lengths.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(bool cond)
{
	if (!cond)
		abort();
}

static void
fuzz_hdr(const uint8_t *p, size_t n)
{
	struct ipc_hdr	 h;
	const char	*why = NULL;
	uint8_t		 again[IPC_HDR_LEN];
	enum ipc_res	 res;

	res = ipc_hdr_parse(p, n, &h, &why);
	fuzz_check((res == IPC_NEED) == (n < IPC_HDR_LEN));
	if (res == IPC_BAD)
		fuzz_check(why != NULL && *why != '\0');
	if (res != IPC_OK)
		return;
	fuzz_check(h.type >= IPC_HELLO && h.type < IPC_TYPE_END);
	fuzz_check(h.flags == 0 && (h.flags & ~IPC_F_KNOWN) == 0);
	fuzz_check(h.len <= IPC_MEDIA_MAX);
	if (h.type == IPC_CTL_REPLY)
		fuzz_check(h.len <= IPC_CTL_REPLY_MAX);
	if (h.type == IPC_EOS)
		fuzz_check(h.len == 0);
	fuzz_check(ipc_type_name(h.type) != NULL);
	ipc_hdr_pack(again, h.type, h.flags, h.len, h.id);
	fuzz_check(memcmp(again, p, IPC_HDR_LEN) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i <= n; i++)
		fuzz_hdr(p + i, n - i);
	return 0;
}
