/*
 * Small helpers every binary needs: clocks, randomness, constant-time
 * comparison.  No policy; errors are returned.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC, for durations. */
uint64_t	 util_mono_ms(void);
/* Unix seconds, for records that outlive the process. */
int64_t		 util_wall_s(void);
/* Fills buf from getrandom(2); 0 or -1 with errno. */
int		 util_random(void *buf, size_t n);
/* Equal lengths and bytes; the time taken depends on the lengths only. */
bool		 util_ct_equal(const void *a, size_t alen, const void *b,
		    size_t blen);
/* Formats unix seconds as 2025-03-01T20:14:03Z into buf (>= 21 bytes). */
const char	*util_iso8601(char *buf, size_t n, int64_t unix_s);

#endif
