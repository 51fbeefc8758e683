/*
 * Bounds-checked byte readers and writers.  RTMP and AMF0 are big-endian,
 * our IPC is little-endian.  A short read or a full buffer sets err and
 * returns zeros, so a parser checks once at the end instead of at each
 * field.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_r {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	bool		 err;
};

struct wire_w {
	uint8_t		*p;
	size_t		 cap;
	size_t		 off;
	bool		 err;		/* a write did not fit */
};

void		 wire_r_init(struct wire_r *, const void *, size_t);
size_t		 wire_left(const struct wire_r *);
uint8_t		 wire_u8(struct wire_r *);
uint16_t	 wire_be16(struct wire_r *);
uint32_t	 wire_be24(struct wire_r *);
uint32_t	 wire_be32(struct wire_r *);
double		 wire_be_double(struct wire_r *);
uint16_t	 wire_le16(struct wire_r *);
uint32_t	 wire_le32(struct wire_r *);
uint64_t	 wire_le64(struct wire_r *);
/* Returns a pointer into the input, or NULL (and err) when short. */
const uint8_t	*wire_bytes(struct wire_r *, size_t);
/* IPC string: u16 LE length + bytes, no NUL.  0 or -1 (err set). */
int		 wire_str(struct wire_r *, const char **, size_t *);
/* 0 when nothing failed and every byte was read, else -1. */
int		 wire_end(const struct wire_r *);

void		 wire_w_init(struct wire_w *, void *, size_t);
void		 wire_put_u8(struct wire_w *, uint8_t);
void		 wire_put_be16(struct wire_w *, uint16_t);
void		 wire_put_be24(struct wire_w *, uint32_t);
void		 wire_put_be32(struct wire_w *, uint32_t);
void		 wire_put_be_double(struct wire_w *, double);
void		 wire_put_le16(struct wire_w *, uint16_t);
void		 wire_put_le32(struct wire_w *, uint32_t);
void		 wire_put_le64(struct wire_w *, uint64_t);
void		 wire_put_bytes(struct wire_w *, const void *, size_t);
/* IPC string; a string over 65535 bytes sets err. */
void		 wire_put_str(struct wire_w *, const char *, size_t);

#endif
