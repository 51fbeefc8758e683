/*
 * The migrations of schema/NNNN_name.sql, embedded at build time by
 * embed.py into schema_migrations.c.  Only supervisor/db.c applies them.
 */
#ifndef SCHEMA_H
#define SCHEMA_H

#include <stddef.h>

struct schema_migration {
	int		 version;	/* NNNN: 1, 2, ... without gaps */
	const char	*name;		/* "0001_init.sql" */
	const char	*sql;		/* the file's text, NUL-terminated */
};

/* Ordered by version; schema_migrations[i].version == i + 1. */
extern const struct schema_migration	schema_migrations[];
extern const size_t			schema_nmigrations;

#endif
