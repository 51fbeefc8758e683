/*
 * The in-memory key table; see keys.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "supervisor/db.h"
#include "supervisor/keys.h"

int
keys_load(struct keys *k, struct db *db, char *err, size_t errlen)
{
	struct db_key	*dk;
	struct keys	 nk;
	size_t		 n, i;

	if (db_keys_load(db, &dk, &n, err, errlen) == -1)
		return -1;
	nk.n = 0;
	if ((nk.v = calloc(n ? n : 1, sizeof(*nk.v))) == NULL)
		goto oom;
	for (i = 0; i < n; i++, nk.n++) {
		nk.v[i].name = strdup(dk[i].name);
		nk.v[i].key = strdup(dk[i].key);
		if (nk.v[i].name == NULL || nk.v[i].key == NULL) {
			nk.n++;
			goto oom;
		}
		nk.v[i].key_len = strlen(dk[i].key);
		nk.v[i].enabled = dk[i].enabled;
	}
	db_keys_free(dk, n);
	keys_clear(k);
	*k = nk;
	return 0;
oom:
	db_keys_free(dk, n);
	keys_clear(&nk);
	strncpy(err, "out of memory", errlen - 1);
	err[errlen - 1] = '\0';
	return -1;
}

void
keys_clear(struct keys *k)
{
	size_t	i;

	for (i = 0; i < k->n; i++) {
		free(k->v[i].name);
		if (k->v[i].key != NULL)
			explicit_bzero(k->v[i].key, k->v[i].key_len);
		free(k->v[i].key);
	}
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

const struct key_entry *
keys_match(const struct keys *k, const uint8_t *key, size_t len)
{
	const struct key_entry	*found = NULL;
	size_t			 i;

	for (i = 0; i < k->n; i++)
		if (util_ct_equal(k->v[i].key, k->v[i].key_len, key, len))
			found = &k->v[i];
	return found;
}

const struct key_entry *
keys_find(const struct keys *k, const char *name)
{
	size_t	i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->v[i].name, name) == 0)
			return &k->v[i];
	return NULL;
}
