/*
 * Shared by the files of config/ only: the YAML node tree (cfg_yaml.c),
 * secret resolution (cfg_secret.c) and the error formatter.  Callers
 * outside config/ use cfg.h.
 */
#ifndef CFG_INT_H
#define CFG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/cfg.h"

#define CFG_MAX_INPUT	(1024 * 1024)	/* bytes of YAML */
#define CFG_MAX_DEPTH	32		/* nested mappings and sequences */
#define CFG_MAX_NODES	20000		/* keeps duplicate-key checks cheap */
#define CFG_MAX_KEYFILE	4096		/* bytes of a key_file: */
#define CFG_KEY_MAX	256		/* characters of a stream key */

enum cfg_ntype {
	CFG_N_SCALAR,
	CFG_N_MAP,
	CFG_N_SEQ,
};

/*
 * A map's children are its keys (scalars) in file order, each pointing at
 * its value; a sequence's children are its items.  Every node is also on
 * the document's allocation list, so freeing needs no recursion.
 */
struct cfg_node {
	enum cfg_ntype	 type;
	unsigned	 line, col;	/* 1-based, where the node starts */
	char		*str;		/* scalars: NUL-terminated value */
	bool		 plain;		/* scalars: unquoted, so may be null */
	struct cfg_node	*kids, *tail;	/* maps: keys; sequences: items */
	size_t		 n;		/* maps: pairs; sequences: items */
	struct cfg_node	*val;		/* map keys: their value */
	struct cfg_node	*next;		/* next sibling */
	struct cfg_node	*all;		/* allocation list */
};

struct cfg_doc {
	struct cfg_node	*root;		/* NULL for an empty document */
	struct cfg_node	*all;
	size_t		 nnodes;
};

/*
 * Builds the node tree of text.  Refuses anchors, aliases, tags, several
 * documents, duplicate keys, non-scalar keys and input past the limits
 * above.  Returns 0, or -1 with err filled and doc cleared.
 */
int		 cfg_doc_parse(struct cfg_doc *, const char *name,
		    const char *text, size_t len, struct cfg_err *);
void		 cfg_doc_clear(struct cfg_doc *);
/* True for a plain "", "~" or "null": YAML's way of writing nothing. */
bool		 cfg_node_null(const struct cfg_node *);

/*
 * Fills err with "name:line:col: path: message"; line 0 leaves out the
 * position and an empty or NULL path leaves out the path.
 */
void		 cfg_errf(struct cfg_err *, const char *name, unsigned line,
		    unsigned col, const char *path, const char *fmt, ...)
		    __attribute__((format(printf, 6, 7)));
/* Writes s into buf double-quoted, escaped and shortened to fit. */
const char	*cfg_quote(char *buf, size_t n, const char *s);

/*
 * Replaces each ${NAME} of in with getenv(NAME) ("$${" stands for "${")
 * into out->value, and says in out->origin where it came from.  Returns 0,
 * or -1 with a message in why that never holds the value.
 */
int		 cfg_secret_expand(const char *in, struct secret *out,
		    char *why, size_t whylen);
/*
 * Reads the key file path (relative to base_dir unless absolute or
 * base_dir is NULL), trimmed of trailing whitespace, into out.  Refuses
 * files others may read.  Returns 0 or -1 with why filled.
 */
int		 cfg_secret_file(const char *path, const char *base_dir,
		    struct secret *out, char *why, size_t whylen);
/* Checks a stream key; returns 0 or -1 with why filled (without it). */
int		 cfg_secret_key_ok(const char *key, char *why, size_t whylen);
void		 cfg_secret_clear(struct secret *);

/*
 * The profiles: section (cfg_profile.c): nd into cfg->profiles, 0 or -1
 * with err filled.  cfg_profiles_link then points each relay naming a
 * profile at it (after the whole file: profiles may come last);
 * cfg_profiles_free releases what parse made.
 */
int		 cfg_profiles_parse(const char *name,
		    const struct cfg_node *nd, struct cfg *cfg,
		    struct cfg_err *err);
int		 cfg_profiles_link(const char *name, struct cfg *cfg,
		    struct cfg_err *err);
void		 cfg_profiles_free(struct cfg *);

#endif
