/*
 * `mirroring run`, `check` and `status`; see cli.h.  Errors are one line
 * on stderr and a non-zero exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "config/cfg.h"
#include "supervisor/cli.h"
#include "supervisor/ctl_client.h"
#include "supervisor/db.h"
#include "supervisor/profile_check.h"
#include "supervisor/server.h"

const char *
cli_config_path(const char *opt)
{
	const char	*env;

	if (opt != NULL)
		return opt;
	if ((env = getenv(CLI_ENV_CONFIG)) != NULL && *env != '\0')
		return env;
	return CFG_DEFAULT_PATH;
}

int
cli_db_open(const char *who, const char *config, struct cfg **cfg,
    struct db **db)
{
	struct cfg_err	 cerr;
	char		 err[DB_ERR_MAX];

	*db = NULL;
	if (profile_check_load(config, cfg, &cerr) == -1) {
		fprintf(stderr, "mirroring %s: %s\n", who, cerr.msg);
		return 1;
	}
	if ((*db = db_open((*cfg)->state_dir, CLI_BUSY_MS, err,
	    sizeof(err))) == NULL ||
	    db_sync_file_keys(*db, *cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "mirroring %s: %s\n", who, err);
		cli_db_close(*cfg, *db);
		return 1;
	}
	return 0;
}

void
cli_db_close(struct cfg *cfg, struct db *db)
{
	db_close(db, CLI_BUSY_MS);
	cfg_free(cfg);
}

void
cli_notify(const struct cfg *cfg, const char *who)
{
	char	*text = NULL;
	bool	 ok = false;

	if (ctl_client_request(cfg->state_dir, "keys-changed", 0, NULL, &ok,
	    &text) == -1) {
		if (errno != ENOENT && errno != ECONNREFUSED)
			fprintf(stderr, "mirroring %s: warning: saved, but "
			    "the supervisor was not told: %s\n", who,
			    strerror(errno));
		return;
	}
	if (!ok)
		fprintf(stderr, "mirroring %s: warning: saved, but the "
		    "supervisor said: %s\n", who, text);
	free(text);
}

size_t
cli_width(const char *s)
{
	size_t	w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
cli_json_str(const char *s)
{
	const unsigned char	*p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* Parses -c/--config and --help (and --json when json != NULL); 0 to go
 * on, else the exit status to return. */
static int
cli_opts(int argc, char **argv, const char *usage, const char **config,
    bool *json)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*cpath = NULL;
	int		 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 'h':
			printf("%s", usage);
			return -1;
		case 'j':
			if (json != NULL) {
				*json = true;
				break;
			}
			/* FALLTHROUGH */
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mirroring %s: unexpected argument %s\n%s",
		    argv[0], argv[optind], usage);
		return 2;
	}
	*config = cli_config_path(cpath);
	return 0;
}

static struct cfg *
cli_load(const char *path)
{
	struct cfg	*cfg;
	struct cfg_err	 err;

	if (profile_check_load(path, &cfg, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return cfg;
}

int
cli_run_main(int argc, char **argv)
{
	static const char usage[] =
	    "usage: mirroring run [-c FILE]\n"
	    "  Runs the supervisor in the foreground, logging to stderr.\n"
	    "  -c, --config FILE  config file (default $MIRRORING_CONFIG,\n"
	    "                     else ./mirroring.yaml)\n";
	const char	*path;
	struct cfg	*cfg;
	int		 r;

	if ((r = cli_opts(argc, argv, usage, &path, NULL)) != 0)
		return r < 0 ? 0 : r;
	if ((cfg = cli_load(path)) == NULL)
		return 1;
	log_init("supervisor", cfg->log_level, cfg->log_format);
	return server_run(cfg);
}

int
cli_check_main(int argc, char **argv)
{
	static const char usage[] =
	    "usage: mirroring check [-c FILE]\n"
	    "  Validates the config; errors name file:line:column.\n";
	const char	*path;
	struct cfg	*cfg;
	int		 r;

	if ((r = cli_opts(argc, argv, usage, &path, NULL)) != 0)
		return r < 0 ? 0 : r;
	if ((cfg = cli_load(path)) == NULL)
		return 1;
	printf("%s: ok\n", path);
	cfg_free(cfg);
	return 0;
}

int
cli_status_main(int argc, char **argv)
{
	static const char usage[] =
	    "usage: mirroring status [-c FILE] [--json]\n"
	    "  Shows the live streams of the running supervisor.\n";
	char		*args[1] = { "json" }, *text = NULL;
	const char	*path;
	struct cfg	*cfg;
	bool		 json = false, ok;
	int		 r;

	if ((r = cli_opts(argc, argv, usage, &path, &json)) != 0)
		return r < 0 ? 0 : r;
	if ((cfg = cli_load(path)) == NULL)
		return 1;
	r = ctl_client_request(cfg->state_dir, "status", json ? 1 : 0, args,
	    &ok, &text);
	if (r == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			fprintf(stderr, "mirroring status: not running (no "
			    "supervisor on %s/%s)\n", cfg->state_dir,
			    CTL_SOCK_NAME);
		else
			fprintf(stderr, "mirroring status: %s/%s: %s\n",
			    cfg->state_dir, CTL_SOCK_NAME, strerror(errno));
		cfg_free(cfg);
		return 1;
	}
	cfg_free(cfg);
	fputs(text, ok ? stdout : stderr);
	free(text);
	return ok ? 0 : 1;
}
