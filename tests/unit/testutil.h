/*
 * Helpers the parser unit tests share: a growable string for printing
 * parsed values, whole-file reads of golden data, and a short hash.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void __attribute__((format(printf, 2, 3), unused))
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static __attribute__((unused)) uint8_t *
read_file(const char *path, size_t *len)
{
	FILE	*f;
	uint8_t	*p = NULL;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

static __attribute__((unused)) uint32_t
fnv(const void *p, size_t n)
{
	const uint8_t	*b = p;
	uint32_t	 h = 0x811c9dc5;

	while (n-- > 0)
		h = (h ^ *b++) * 0x01000193;
	return h;
}

#endif
