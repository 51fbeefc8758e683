/*
 * wire.h readers and writers: every field type written to its exact
 * bytes and read back, one byte short on both sides, sticky errors,
 * wire_end with leftovers, strings up to the u16 limit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#include "tap.h"

enum kind { U8, BE16, BE24, BE32, BEDBL, LE16, LE32, LE64 };

static const struct {
	enum kind	 kind;
	uint64_t	 v;		/* integers */
	double		 d;		/* BEDBL */
	size_t		 size;
	uint8_t		 bytes[8];
	const char	*what;
} cases[] = {
	{ U8, 0, 0, 1, { 0x00 }, "u8 0" },
	{ U8, 0xfe, 0, 1, { 0xfe }, "u8 0xfe" },
	{ BE16, 0x1234, 0, 2, { 0x12, 0x34 }, "be16" },
	{ BE16, 0xffff, 0, 2, { 0xff, 0xff }, "be16 max" },
	{ BE24, 0x123456, 0, 3, { 0x12, 0x34, 0x56 }, "be24" },
	{ BE24, 0xffffff, 0, 3, { 0xff, 0xff, 0xff }, "be24 max" },
	{ BE32, 0x12345678, 0, 4, { 0x12, 0x34, 0x56, 0x78 }, "be32" },
	{ BE32, 0xfedcba98, 0, 4, { 0xfe, 0xdc, 0xba, 0x98 }, "be32 high" },
	{ LE16, 0x1234, 0, 2, { 0x34, 0x12 }, "le16" },
	{ LE16, 0x8001, 0, 2, { 0x01, 0x80 }, "le16 high" },
	{ LE32, 0x12345678, 0, 4, { 0x78, 0x56, 0x34, 0x12 }, "le32" },
	{ LE32, 0xfedcba98, 0, 4, { 0x98, 0xba, 0xdc, 0xfe }, "le32 high" },
	{ LE64, 0x0123456789abcdefull, 0, 8,
	    { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 }, "le64" },
	{ LE64, 0xffffffff00000001ull, 0, 8,
	    { 0x01, 0, 0, 0, 0xff, 0xff, 0xff, 0xff }, "le64 halves" },
	/* AMF0 numbers: IEEE 754 big-endian */
	{ BEDBL, 0, 1.0, 8, { 0x3f, 0xf0 }, "double 1.0" },
	{ BEDBL, 0, -2.5, 8, { 0xc0, 0x04 }, "double -2.5" },
	{ BEDBL, 0, 0.0, 8, { 0 }, "double 0" },
	{ BEDBL, 0, 1e300, 8, { 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75,
	    0x9c }, "double 1e300" },
	{ BEDBL, 0, INFINITY, 8, { 0x7f, 0xf0 }, "double inf" },
};

static void
put(struct wire_w *w, size_t i)
{
	switch (cases[i].kind) {
	case U8:	wire_put_u8(w, (uint8_t)cases[i].v); break;
	case BE16:	wire_put_be16(w, (uint16_t)cases[i].v); break;
	case BE24:	wire_put_be24(w, (uint32_t)cases[i].v); break;
	case BE32:	wire_put_be32(w, (uint32_t)cases[i].v); break;
	case BEDBL:	wire_put_be_double(w, cases[i].d); break;
	case LE16:	wire_put_le16(w, (uint16_t)cases[i].v); break;
	case LE32:	wire_put_le32(w, (uint32_t)cases[i].v); break;
	case LE64:	wire_put_le64(w, cases[i].v); break;
	}
}

/* Reads case i's field; true when it equals the case's value. */
static bool
get(struct wire_r *r, size_t i)
{
	double	d;

	switch (cases[i].kind) {
	case U8:	return wire_u8(r) == cases[i].v;
	case BE16:	return wire_be16(r) == cases[i].v;
	case BE24:	return wire_be24(r) == cases[i].v;
	case BE32:	return wire_be32(r) == cases[i].v;
	case LE16:	return wire_le16(r) == cases[i].v;
	case LE32:	return wire_le32(r) == cases[i].v;
	case LE64:	return wire_le64(r) == cases[i].v;
	case BEDBL:
		d = wire_be_double(r);
		return memcmp(&d, &cases[i].d, sizeof(d)) == 0;
	}
	return false;
}

/* The value 0 a failed read must return. */
static bool
get_zero(struct wire_r *r, size_t i)
{
	switch (cases[i].kind) {
	case U8:	return wire_u8(r) == 0;
	case BE16:	return wire_be16(r) == 0;
	case BE24:	return wire_be24(r) == 0;
	case BE32:	return wire_be32(r) == 0;
	case LE16:	return wire_le16(r) == 0;
	case LE32:	return wire_le32(r) == 0;
	case LE64:	return wire_le64(r) == 0;
	case BEDBL:	return wire_be_double(r) == 0.0;
	}
	return false;
}

static void
test_fields(void)
{
	struct wire_w	w;
	struct wire_r	r;
	uint8_t		buf[16], *exact;
	size_t		i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = cases[i].size;
		memset(buf, 0xaa, sizeof(buf));
		wire_w_init(&w, buf, n);
		put(&w, i);
		ok(!w.err && w.off == n &&
		    memcmp(buf, cases[i].bytes, n) == 0 && buf[n] == 0xaa, "%s: writes its %zu bytes", cases[i].what,
		    n);

		/* Read from an exact-size copy: ASan sees any overrun. */
		if ((exact = malloc(n)) == NULL)
			abort();
		memcpy(exact, cases[i].bytes, n);
		wire_r_init(&r, exact, n);
		ok(get(&r, i) && !r.err && wire_left(&r) == 0 &&
		    wire_end(&r) == 0, "%s: reads back", cases[i].what);

		wire_r_init(&r, exact, n - 1);
		ok(get_zero(&r, i) && r.err && wire_left(&r) == 0 &&
		    wire_end(&r) == -1, "%s: one byte short reads 0, sets err",
		    cases[i].what);
		free(exact);

		/* Whether a failed write leaves part of the field is not
		 * promised (wire_put_le64 does); only err and the bound. */
		memset(buf, 0xaa, sizeof(buf));
		wire_w_init(&w, buf, n - 1);
		put(&w, i);
		ok(w.err && w.off < n && buf[n - 1] == 0xaa,
		    "%s: one byte short sets err, stays in bounds",
		    cases[i].what);
	}
}

/* A run of mixed fields, as a message would be built and parsed. */
static void
test_sequence(void)
{
	struct wire_w	 w;
	struct wire_r	 r;
	uint8_t		 buf[64];
	const uint8_t	*p;
	const char	*s;
	size_t		 i, total = 0, len;
	bool		 good = true;

	wire_w_init(&w, buf, sizeof(buf));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]) && total < 40; i++) {
		put(&w, i);
		total += cases[i].size;
	}
	wire_put_str(&w, "abc", 3);
	wire_put_bytes(&w, "xyz", 3);
	ok(!w.err && w.off == total + 2 + 3 + 3, "sequence: written, off %zu",
	    w.off);

	wire_r_init(&r, buf, w.off);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]) && r.off < total;
	    i++)
		good = good && get(&r, i);
	ok(good && !r.err && r.off == total, "sequence: fields read back");
	ok(wire_str(&r, &s, &len) == 0 && len == 3 && memcmp(s, "abc", 3) == 0,
	    "sequence: string");
	is_int(wire_left(&r), 3, "sequence: 3 bytes left");
	is_int(wire_end(&r), -1, "sequence: wire_end fails with leftovers");
	p = wire_bytes(&r, 3);
	ok(p == buf + total + 5 && memcmp(p, "xyz", 3) == 0,
	    "sequence: wire_bytes points into the input");
	is_int(wire_end(&r), 0, "sequence: wire_end after the last byte");
	ok(wire_bytes(&r, 0) != NULL && !r.err, "sequence: 0 bytes at the end");
	ok(wire_bytes(&r, 1) == NULL && r.err, "sequence: 1 byte past the end");
}

/* After a short read every later read fails, even one that would fit. */
static void
test_sticky(void)
{
	static const uint8_t	in[] = { 1, 2, 3, 4, 5 };
	struct wire_r		r;
	struct wire_w		w;
	uint8_t			out[4];

	wire_r_init(&r, in, sizeof(in));
	is_int(wire_be16(&r), 0x0102, "sticky: first field");
	is_int(wire_be32(&r), 0, "sticky: short be32 reads 0");
	is_int(wire_u8(&r), 0, "sticky: u8 after an error reads 0");
	ok(r.err && wire_left(&r) == 0 && wire_end(&r) == -1,
	    "sticky: err stays set");
	ok(wire_bytes(&r, 0) == NULL, "sticky: even 0 bytes fail");

	wire_w_init(&w, out, sizeof(out));
	wire_put_be24(&w, 0x010203);
	wire_put_be16(&w, 0x0405);
	wire_put_u8(&w, 6);
	ok(w.err && w.off == 3, "sticky: u8 after a failed be16 not written");

	/* be24 keeps the low 24 bits */
	wire_w_init(&w, out, sizeof(out));
	wire_put_be24(&w, 0xff123456);
	ok(!w.err && w.off == 3 && out[0] == 0x12 && out[2] == 0x56,
	    "be24 drops bits above 24");

	wire_r_init(&r, NULL, 0);
	ok(wire_left(&r) == 0 && wire_end(&r) == 0, "empty input: wire_end 0");
	is_int(wire_u8(&r), 0, "empty input: u8 reads 0");
	ok(r.err, "empty input: u8 sets err");
}

static void
test_strings(void)
{
	static const struct {
		const char	*hex_in;
		size_t		 n;
		int		 rc;
		size_t		 len;
		const char	*what;
	} reads[] = {
		{ "\x00\x00", 2, 0, 0, "empty string" },
		{ "\x03\x00" "abc", 5, 0, 3, "abc" },
		{ "\x03\x00" "ab", 4, -1, 0, "length past the end" },
		{ "\x03", 1, -1, 0, "half a length" },
		{ "", 0, -1, 0, "no length" },
		{ "\xff\xff" "abc", 5, -1, 0, "65535 promised, 3 there" },
	};
	struct wire_r	 r;
	struct wire_w	 w;
	uint8_t		*big, *out, buf[8];
	const char	*s;
	size_t		 i, len;
	int		 rc;

	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		wire_r_init(&r, reads[i].hex_in, reads[i].n);
		s = NULL;
		len = 99;
		rc = wire_str(&r, &s, &len);
		if (reads[i].rc == 0)
			ok(rc == 0 && len == reads[i].len &&
			    s == reads[i].hex_in + 2 && wire_end(&r) == 0,
			    "wire_str: %s", reads[i].what);
		else
			ok(rc == -1 && r.err, "wire_str: %s fails",
			    reads[i].what);
	}

	wire_w_init(&w, buf, sizeof(buf));
	wire_put_str(&w, "", 0);
	ok(!w.err && w.off == 2 && buf[0] == 0 && buf[1] == 0,
	    "wire_put_str: empty");
	wire_put_str(&w, "abcdefg", 7);
	ok(w.err, "wire_put_str: does not fit");

	/* The u16 limit: 65535 bytes round-trip, 65536 set err. */
	if ((big = malloc(65536)) == NULL || (out = malloc(65540)) == NULL)
		abort();
	memset(big, 'k', 65536);
	wire_w_init(&w, out, 65540);
	wire_put_str(&w, (const char *)big, 65535);
	ok(!w.err && w.off == 65537 && out[0] == 0xff && out[1] == 0xff,
	    "wire_put_str: 65535 bytes");
	wire_r_init(&r, out, w.off);
	ok(wire_str(&r, &s, &len) == 0 && len == 65535 &&
	    memcmp(s, big, len) == 0 && wire_end(&r) == 0,
	    "wire_str: 65535 bytes back");
	wire_w_init(&w, out, 65540);
	wire_put_str(&w, (const char *)big, 65536);
	ok(w.err, "wire_put_str: 65536 bytes sets err");
	len = w.off;
	wire_put_u8(&w, 1);
	ok(w.err && w.off == len, "wire_put_str: nothing written after it");
	free(big);
	free(out);
}

int
main(void)
{
	test_fields();
	test_sequence();
	test_sticky();
	test_strings();
	return tap_done();
}
