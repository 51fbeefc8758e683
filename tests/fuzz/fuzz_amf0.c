/*
 * Fuzz target for the AMF0 iterator: walks the input to its end twice,
 * once value by value and once skipping every container, checking depth
 * and that every string and key lies inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/amf0.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_in(const uint8_t *p, size_t n, const char *s, size_t len)
{
	const uint8_t	*b = (const uint8_t *)s;

	if (s == NULL) {
		check(len == 0);
		return;
	}
	check(b >= p && len <= n && b - p <= (ptrdiff_t)(n - len));
}

static void
walk(const uint8_t *data, size_t size, int skip)
{
	struct amf0_it	it;
	struct amf0_val	v;
	enum amf0_res	res;

	amf0_it_init(&it, data, size);
	while ((res = amf0_next(&it, &v)) == AMF0_VAL) {
		check(v.depth <= AMF0_MAX_DEPTH && it.off <= size);
		check_in(data, size, v.str, v.str_len);
		check_in(data, size, v.key, v.key_len);
		(void)amf0_str_eq(&v, "publish");
		(void)amf0_key_eq(&v, "app");
		if (skip && amf0_skip(&it, &v) != AMF0_VAL) {
			res = AMF0_ERR;
			break;
		}
	}
	check(res == AMF0_DONE ? it.off == size && it.depth == 0 :
	    amf0_error(&it) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(data, size, 0);
	walk(data, size, 1);
	return 0;
}
