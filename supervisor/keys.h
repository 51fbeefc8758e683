/*
 * The stream keys the ingest accepts, held in memory so a publish is
 * checked without touching SQLite.  Loaded from the database at start and
 * whenever it changes.
 */
#ifndef KEYS_H
#define KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct key_entry {
	char		*name;		/* the stream's name */
	char		*key;		/* secret: mask it before showing */
	size_t		 key_len;
	bool		 enabled;
};

struct keys {
	struct key_entry	*v;
	size_t			 n;
};

/* Replaces k's contents with the database's keys; on failure k is kept
 * and -1 returned with err. */
int		 keys_load(struct keys *k, struct db *, char *err, size_t errlen);
void		 keys_clear(struct keys *);
/* The entry whose key equals key[0..len): every entry is compared in
 * constant time, so the time taken does not tell how close a guess was. */
const struct key_entry *keys_match(const struct keys *, const uint8_t *key,
		    size_t len);
const struct key_entry *keys_find(const struct keys *, const char *name);

#endif
