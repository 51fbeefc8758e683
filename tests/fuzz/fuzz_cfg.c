/*
 * cfg_parse over arbitrary bytes: it must fail cleanly with a positioned
 * message or return a configuration that holds its own promises.  Key
 * files resolve against a folder that does not exist.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct cfg *cfg)
{
	const struct cfg_stream	*st;
	size_t			 i, j;

	if (cfg->listen_host == NULL || cfg->listen_port == 0 ||
	    !cfg_name_ok(cfg->app) || cfg->state_dir == NULL)
		abort();
	for (i = 0; i < cfg->nstreams; i++) {
		st = &cfg->streams[i];
		if (!cfg_name_ok(st->name) || st->key.value == NULL ||
		    st->key.origin == NULL ||
		    strlen(st->key.value) < CFG_KEY_MIN ||
		    cfg_stream_find(cfg, st->name) != st)
			abort();
		for (j = 0; j < st->nrelays; j++)
			if (!cfg_name_ok(st->relays[j].name) ||
			    st->relays[j].url.value == NULL ||
			    st->relays[j].profile == NULL)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_err	 err;
	struct cfg	*cfg = NULL;
	const char	*p;

	memset(&err, 0, sizeof(err));
	if (cfg_parse("fuzz.yaml", (const char *)data, size,
	    "/nonexistent-fuzz-dir", &cfg, &err) == 0) {
		check(cfg);
		cfg_free(cfg);
	} else if (cfg != NULL || strncmp(err.msg, "fuzz.yaml:", 10) != 0 ||
	    memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
		abort();
	else	/* one line, whatever the input */
		for (p = err.msg; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20)
				abort();
	return 0;
}
