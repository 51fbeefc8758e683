/*
 * AMF0 (Adobe AMF0 specification) decoder as a flat iterator and a small
 * encoder.  No recursion: nesting is tracked on a fixed stack of
 * AMF0_MAX_DEPTH levels, and every length is checked against the input.
 * Values point into the input buffer, which must outlive them.
 */
#ifndef AMF0_H
#define AMF0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_w;

#define AMF0_MAX_DEPTH	16	/* objects/arrays nested deeper are refused */

enum amf0_type {
	AMF0_NUMBER = 0x00,
	AMF0_BOOLEAN = 0x01,
	AMF0_STRING = 0x02,
	AMF0_OBJECT = 0x03,
	AMF0_MOVIECLIP = 0x04,		/* reserved: refused */
	AMF0_NULL = 0x05,
	AMF0_UNDEFINED = 0x06,
	AMF0_REFERENCE = 0x07,
	AMF0_ECMA_ARRAY = 0x08,
	AMF0_OBJECT_END = 0x09,
	AMF0_STRICT_ARRAY = 0x0a,
	AMF0_DATE = 0x0b,
	AMF0_LONG_STRING = 0x0c,
	AMF0_UNSUPPORTED = 0x0d,
	AMF0_RECORDSET = 0x0e,		/* reserved: refused */
	AMF0_XML_DOCUMENT = 0x0f,
	AMF0_TYPED_OBJECT = 0x10,
	AMF0_AVMPLUS = 0x11,		/* AMF3 switch: refused */
};

/*
 * One step of the walk.  Containers (OBJECT, ECMA_ARRAY, STRICT_ARRAY,
 * TYPED_OBJECT) are reported when they open; their members follow at
 * depth + 1; then an AMF0_OBJECT_END value at the container's own depth
 * closes every kind of container (strict arrays have no end marker on the
 * wire, the iterator reports one anyway).
 */
struct amf0_val {
	enum amf0_type	 type;
	unsigned	 depth;		/* 0 = top level */
	const char	*key;		/* property name inside an object or */
	size_t		 key_len;	/* ECMA array; NULL elsewhere */
	double		 num;		/* NUMBER, DATE (ms since epoch) */
	bool		 boolean;
	const char	*str;		/* STRING, LONG_STRING, XML_DOCUMENT, */
	size_t		 str_len;	/* TYPED_OBJECT class name; not NUL-ended */
	uint32_t	 count;		/* ECMA/STRICT array count; REFERENCE */
};

struct amf0_it {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	unsigned	 depth;
	uint8_t		 kind[AMF0_MAX_DEPTH];	/* open container types */
	uint32_t	 left[AMF0_MAX_DEPTH];	/* strict array items left */
	const char	*err;
	char		 errbuf[80];	/* err's text when it names a value */
};

enum amf0_res {
	AMF0_VAL,		/* *val holds the next value */
	AMF0_DONE,		/* input ended cleanly at top level */
	AMF0_ERR,		/* malformed; amf0_error() says why */
};

void		 amf0_it_init(struct amf0_it *, const uint8_t *, size_t);
enum amf0_res	 amf0_next(struct amf0_it *, struct amf0_val *);
/* After a container's open value: skips to just past its end. */
enum amf0_res	 amf0_skip(struct amf0_it *, const struct amf0_val *);
const char	*amf0_error(const struct amf0_it *);
/* True when val is a STRING/LONG_STRING equal to s (length included). */
bool		 amf0_str_eq(const struct amf0_val *, const char *s);
bool		 amf0_key_eq(const struct amf0_val *, const char *s);

/* Encoder: appends to w; a value that does not fit sets w->err. */
void		 amf0_put_number(struct wire_w *, double);
void		 amf0_put_bool(struct wire_w *, bool);
void		 amf0_put_string(struct wire_w *, const char *);
void		 amf0_put_null(struct wire_w *);
void		 amf0_put_object_begin(struct wire_w *);
void		 amf0_put_ecma_begin(struct wire_w *, uint32_t count);
/* Property name inside an object or ECMA array; the value follows. */
void		 amf0_put_key(struct wire_w *, const char *);
void		 amf0_put_object_end(struct wire_w *);
/* Convenience: key + string value / key + number value. */
void		 amf0_put_prop_string(struct wire_w *, const char *key,
		    const char *val);
void		 amf0_put_prop_number(struct wire_w *, const char *key, double);

#endif
