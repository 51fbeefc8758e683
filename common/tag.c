/*
 * Refcounted immutable FLV tags; see tag.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/tag.h"

struct tag *
tag_new(uint8_t type, uint8_t flags, uint32_t ts_ms, const uint8_t *data,
    uint32_t len)
{
	struct tag	*t;

	if ((t = malloc(sizeof(*t) + len)) == NULL)
		return NULL;
	t->refs = 1;
	t->type = type;
	t->flags = flags;
	t->ts_ms = ts_ms;
	t->len = len;
	if (len > 0)
		memcpy(t->data, data, len);
	return t;
}

struct tag *
tag_ref(struct tag *t)
{
	t->refs++;
	return t;
}

void
tag_unref(struct tag *t)
{
	if (t != NULL && --t->refs == 0)
		free(t);
}

void
tag_unref_cb(const void *data, size_t len, void *extra)
{
	tag_unref(extra);
}
