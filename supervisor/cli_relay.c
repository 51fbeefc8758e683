/*
 * `mirroring relay ...`: loads the YAML, syncs its keys into SQLite (a
 * relay hangs off a stream, and a stream is a key), applies one edit to
 * the CLI relays and tells a running supervisor through the control
 * socket.  YAML relays are listed but never copied into SQLite, and only
 * the YAML changes them.  Results go to stdout, errors to stderr as one
 * "mirroring relay: reason" line.  URLs may hold a destination key: they
 * are masked everywhere unless `list --show`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "config/cfg.h"
#include "supervisor/cli.h"
#include "supervisor/cli_relay.h"
#include "supervisor/ctl_client.h"
#include "supervisor/db.h"
#include "supervisor/profile_check.h"

#define CLI_RELAY_EXIT_ERR	1
#define CLI_RELAY_EXIT_USAGE	2
#define CLI_RELAY_URL_MAX	2048
#define CLI_RELAY_NCOLS		6

/* Which options a sub-command takes, beyond -c and --help. */
#define CLI_RELAY_F_PROFILE	0x01
#define CLI_RELAY_F_DISABLED	0x02
#define CLI_RELAY_F_SHOW	0x04
#define CLI_RELAY_F_JSON	0x08

enum {
	CLI_RELAY_OPT_DISABLED = 256,
	CLI_RELAY_OPT_SHOW,
	CLI_RELAY_OPT_JSON,
};

struct cli_relay_ctx {
	const char	*config;
	const char	*stream;	/* the STREAM operand */
	const char	*name;		/* the NAME operand */
	const char	*url;		/* the URL operand */
	const char	*profile;	/* --profile */
	bool		 disabled, show, json;
	struct cfg	*cfg;
	struct db	*db;
};

struct cli_relay_cmd {
	const char	*name;
	const char	*args;		/* operands and options for usage */
	const char	*help;		/* one line on what it does */
	unsigned	 flags;		/* CLI_RELAY_F_* */
	unsigned	 nargs_min;	/* of STREAM, NAME, URL, in order */
	unsigned	 nargs_max;
	int		(*run)(struct cli_relay_ctx *);
};

static int	cli_relay_add(struct cli_relay_ctx *);
static int	cli_relay_list(struct cli_relay_ctx *);
static int	cli_relay_enable(struct cli_relay_ctx *);
static int	cli_relay_disable(struct cli_relay_ctx *);
static int	cli_relay_rm(struct cli_relay_ctx *);

static const struct cli_relay_cmd cli_relay_cmds[] = {
	{ "add", "STREAM NAME URL [--profile NAME] [--disabled]",
	    "add a relay of a stream to URL (rtmp://, rtmps://, srt:// or "
	    "file:)",
	    CLI_RELAY_F_PROFILE | CLI_RELAY_F_DISABLED, 3, 3, cli_relay_add },
	{ "list", "[STREAM] [--show] [--json]",
	    "list the relays of the config file and of `relay add`, URLs "
	    "masked unless --show",
	    CLI_RELAY_F_SHOW | CLI_RELAY_F_JSON, 0, 1, cli_relay_list },
	{ "enable", "STREAM NAME", "start a relay added with `relay add`",
	    0, 2, 2, cli_relay_enable },
	{ "disable", "STREAM NAME", "stop a relay added with `relay add`",
	    0, 2, 2, cli_relay_disable },
	{ "rm", "STREAM NAME", "remove a relay added with `relay add`", 0,
	    2, 2, cli_relay_rm },
};

#define CLI_RELAY_NCMDS	(sizeof(cli_relay_cmds) / sizeof(cli_relay_cmds[0]))

static const char *const cli_relay_operands[3] = { "STREAM", "NAME", "URL" };

static const struct option cli_relay_longopts[] = {
	{ "config",	required_argument,	NULL, 'c' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "profile",	required_argument,	NULL, 'p' },
	{ "disabled",	no_argument,		NULL, CLI_RELAY_OPT_DISABLED },
	{ "show",	no_argument,		NULL, CLI_RELAY_OPT_SHOW },
	{ "json",	no_argument,		NULL, CLI_RELAY_OPT_JSON },
	{ NULL,		0,			NULL, 0 }
};

static int	cli_relay_fail(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Prints the one error line; returns status for `return cli_relay_fail()`. */
static int
cli_relay_fail(int status, const char *fmt, ...)
{
	va_list	ap;

	fputs("mirroring relay: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static void
cli_relay_usage(FILE *f, const struct cli_relay_cmd *only)
{
	size_t	i;

	for (i = 0; i < CLI_RELAY_NCMDS; i++) {
		if (only != NULL && only != &cli_relay_cmds[i])
			continue;
		fprintf(f, "%s mirroring relay %s %s [-c FILE]\n",
		    only != NULL || i == 0 ? "usage:" : "      ",
		    cli_relay_cmds[i].name, cli_relay_cmds[i].args);
	}
	if (only != NULL)
		fprintf(f, "\n%s.\n", only->help);
	if (f == stdout)
		fputs("\n  -c, --config FILE  configuration (default: "
		    "$MIRRORING_CONFIG, else ./" CFG_DEFAULT_PATH ")\n"
		    "  -h, --help         this help\n", f);
}

/* Rejects an option the sub-command does not take. */
static int
cli_relay_allow(const struct cli_relay_cmd *cmd, unsigned flag,
    const char *opt)
{
	if (cmd->flags & flag)
		return 0;
	return cli_relay_fail(CLI_RELAY_EXIT_USAGE, "%s: %s does not apply",
	    cmd->name, opt);
}

/*
 * Fills ctx from the sub-command's own argv (argv[0] is its name).
 * 0 to go on, else an exit status (--help printed: 0 via *done).
 */
static int
cli_relay_parse(const struct cli_relay_cmd *cmd, int argc, char **argv,
    struct cli_relay_ctx *ctx, bool *done)
{
	const char	**operand[3] = { &ctx->stream, &ctx->name, &ctx->url };
	const char	*bad;
	unsigned	 n;
	int		 c;

	optind = 0;			/* glibc: reset, maybe used before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:hp:", cli_relay_longopts,
	    NULL)) != -1) {
		bad = argv[optind - 1];
		switch (c) {
		case 'c':
			ctx->config = optarg;
			break;
		case 'h':
			cli_relay_usage(stdout, cmd);
			*done = true;
			return 0;
		case 'p':
			ctx->profile = optarg;
			if (cli_relay_allow(cmd, CLI_RELAY_F_PROFILE,
			    "--profile"))
				return CLI_RELAY_EXIT_USAGE;
			break;
		case CLI_RELAY_OPT_DISABLED:
			ctx->disabled = true;
			if (cli_relay_allow(cmd, CLI_RELAY_F_DISABLED, bad))
				return CLI_RELAY_EXIT_USAGE;
			break;
		case CLI_RELAY_OPT_SHOW:
			ctx->show = true;
			if (cli_relay_allow(cmd, CLI_RELAY_F_SHOW, bad))
				return CLI_RELAY_EXIT_USAGE;
			break;
		case CLI_RELAY_OPT_JSON:
			ctx->json = true;
			if (cli_relay_allow(cmd, CLI_RELAY_F_JSON, bad))
				return CLI_RELAY_EXIT_USAGE;
			break;
		case ':':
			return cli_relay_fail(CLI_RELAY_EXIT_USAGE,
			    "%s: %s needs a value", cmd->name, bad);
		default:
			if (optopt != 0)
				return cli_relay_fail(CLI_RELAY_EXIT_USAGE,
				    "%s: unknown option -%c", cmd->name,
				    optopt);
			return cli_relay_fail(CLI_RELAY_EXIT_USAGE,
			    "%s: unknown option %s", cmd->name, bad);
		}
	}
	for (n = 0; n < cmd->nargs_max && optind < argc; n++)
		*operand[n] = argv[optind++];
	if (n < cmd->nargs_min)
		return cli_relay_fail(CLI_RELAY_EXIT_USAGE, "%s: %s missing "
		    "(usage: mirroring relay %s %s)", cmd->name,
		    cli_relay_operands[n], cmd->name, cmd->args);
	/* Not echoed: a stray argument may be a URL with its key. */
	if (optind < argc)
		return cli_relay_fail(CLI_RELAY_EXIT_USAGE, "%s: too many "
		    "arguments (usage: mirroring relay %s %s)", cmd->name,
		    cmd->name, cmd->args);
	return 0;
}

/* The YAML relay stream/name, or NULL when the YAML declares none. */
static const struct cfg_relay *
cli_relay_file_find(const struct cfg *cfg, const char *stream,
    const char *name)
{
	const struct cfg_stream	*s;
	size_t			 i;

	if ((s = cfg_stream_find(cfg, stream)) == NULL)
		return NULL;
	for (i = 0; i < s->nrelays; i++)
		if (strcmp(s->relays[i].name, name) == 0)
			return &s->relays[i];
	return NULL;
}

/* What the worker can open: the schemes it has an output for. */
static bool
cli_relay_url_ok(const char *url)
{
	static const char *const prefix[] = {
		"rtmp://", "rtmps://", "srt://", "file:"
	};
	const unsigned char	*p;
	size_t			 i, len = strlen(url);

	if (len > CLI_RELAY_URL_MAX)
		return false;
	for (p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (strncmp(url, prefix[i], strlen(prefix[i])) == 0 &&
		    len > strlen(prefix[i]))
			return true;
	return false;
}


/* Refuses stream/name when the YAML declares it; verb for the message. */
static int
cli_relay_not_file(struct cli_relay_ctx *ctx, const char *verb)
{
	if (cli_relay_file_find(ctx->cfg, ctx->stream, ctx->name) == NULL)
		return 0;
	return cli_relay_fail(CLI_RELAY_EXIT_ERR, "%s is declared in %s; %s "
	    "it there", ctx->name, ctx->cfg->path, verb);
}

/* A profile added with `mirroring profile add` into p: 0, or -1 when
 * there is none of that name (or it no longer parses). */
static int
cli_relay_db_profile(const struct cli_relay_ctx *ctx, const char *name,
    struct cfg_profile *p)
{
	struct db_profile	*d;
	struct cfg_err		 cerr;
	char			 err[DB_ERR_MAX];
	size_t			 i, n;
	int			 rc = -1;

	if (db_profiles_load(ctx->db, &d, &n, err, sizeof(err)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(d[i].name, name) == 0)
			rc = cfg_profile_parse_spec(name, d[i].spec, p, &cerr);
	db_profiles_free(d, n);
	return rc;
}

/* copy, or a profile of the config (presets included) or of the
 * database, that the URL's container can carry. */
static int
cli_relay_profile_ok(const struct cli_relay_ctx *ctx, const char *name)
{
	const struct cfg_profile	*p;
	struct cfg_profile		 dp;
	enum cfg_pf			 f;
	char				 why[CFG_ERR_MAX / 2];
	int				 rc = 0;

	if (strcmp(name, "copy") == 0)
		return 0;
	memset(&dp, 0, sizeof(dp));
	if ((p = cfg_profile_find(ctx->cfg, name)) == NULL &&
	    cli_relay_db_profile(ctx, name, &dp) == 0)
		p = &dp;
	if (p == NULL)
		return cli_relay_fail(-1, "unknown profile \"%s\": copy or "
		    "one of `mirroring profile list`", cfg_name_ok(name) ?
		    name : "?");
	if (profile_check(p, NULL, &f, why, sizeof(why)) == -1 ||
	    profile_check(p, ctx->url, &f, why, sizeof(why)) == -1)
		rc = cli_relay_fail(-1, "profile \"%s\": %s", name, why);
	cfg_profile_clear(&dp);
	return rc;
}

static int
cli_relay_add(struct cli_relay_ctx *ctx)
{
	const char	*profile = ctx->profile != NULL ? ctx->profile : "copy";
	char		 err[DB_ERR_MAX];

	if (!cfg_name_ok(ctx->stream))
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "invalid stream "
		    "name \"%s\": use 1-%d of A-Z a-z 0-9 _ -", ctx->stream,
		    CFG_NAME_MAX);
	if (!cfg_name_ok(ctx->name))
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "invalid name "
		    "\"%s\": use 1-%d of A-Z a-z 0-9 _ -", ctx->name,
		    CFG_NAME_MAX);
	if (!cli_relay_url_ok(ctx->url))
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "invalid URL: use "
		    "rtmp://, rtmps://, srt:// or file:, at most %d "
		    "characters, no spaces or control characters",
		    CLI_RELAY_URL_MAX);
	if (cli_relay_profile_ok(ctx, profile) == -1)
		return CLI_RELAY_EXIT_ERR;
	if (cli_relay_not_file(ctx, "change") != 0)
		return CLI_RELAY_EXIT_ERR;
	if (db_relay_add(ctx->db, ctx->stream, ctx->name, ctx->url, profile,
	    !ctx->disabled, err, sizeof(err)) == -1)
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "%s", err);
	cli_notify(ctx->cfg, "relay");
	return 0;
}



/* The displayed fields of one relay, from the YAML or the database. */
struct cli_relay_row {
	const char	*cell[CLI_RELAY_NCOLS];	/* as cli_relay_heads */
	bool		 enabled;
	bool		 masked;		/* cell[5] is url */
	char		 url[LOG_QMAX];		/* masked */
};

static const char *const cli_relay_heads[CLI_RELAY_NCOLS] = {
	"STREAM", "NAME", "ENABLED", "SOURCE", "PROFILE", "URL"
};

static void
cli_relay_row_fill(struct cli_relay_row *r, const char *stream,
    const char *name, const char *url, const char *profile, bool enabled,
    bool cli, bool show)
{
	r->enabled = enabled;
	r->cell[0] = stream;
	r->cell[1] = name;
	r->cell[2] = enabled ? "yes" : "no";
	r->cell[3] = cli ? "cli" : "file";
	r->cell[4] = profile != NULL ? profile : "copy";
	r->masked = !show;
	if (show)
		r->cell[5] = url;
	else
		r->cell[5] = log_mask_raw(r->url, sizeof(r->url), url);
}

static int
cli_relay_row_cmp(const void *a, const void *b)
{
	const struct cli_relay_row	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->cell[0], y->cell[0])) != 0)
		return c;
	return strcmp(x->cell[1], y->cell[1]);
}

static void
cli_relay_print_table(const struct cli_relay_row *rows, size_t n)
{
	const char	*s;
	size_t		 w[CLI_RELAY_NCOLS], i, c, dw;

	for (c = 0; c < CLI_RELAY_NCOLS; c++)
		w[c] = cli_width(cli_relay_heads[c]);
	for (i = 0; i < n; i++)
		for (c = 0; c < CLI_RELAY_NCOLS; c++)
			if ((dw = cli_width(rows[i].cell[c])) > w[c])
				w[c] = dw;
	for (i = 0; i <= n; i++) {
		for (c = 0; c < CLI_RELAY_NCOLS; c++) {
			s = i == 0 ? cli_relay_heads[c] : rows[i - 1].cell[c];
			fputs(s, stdout);
			/* No padding after the last column. */
			if (c == CLI_RELAY_NCOLS - 1)
				break;
			printf("%*s", (int)(w[c] - cli_width(s) + 2), "");
		}
		putchar('\n');
	}
}

static void
cli_relay_print_json(const struct cli_relay_row *rows, size_t n)
{
	size_t	i;

	putchar('[');
	for (i = 0; i < n; i++) {
		fputs(i == 0 ? "\n  {\"stream\": " : ",\n  {\"stream\": ",
		    stdout);
		cli_json_str(rows[i].cell[0]);
		fputs(", \"name\": ", stdout);
		cli_json_str(rows[i].cell[1]);
		printf(", \"enabled\": %s, \"source\": \"%s\", \"profile\": ",
		    rows[i].enabled ? "true" : "false", rows[i].cell[3]);
		cli_json_str(rows[i].cell[4]);
		fputs(", \"url\": ", stdout);
		cli_json_str(rows[i].cell[5]);
		putchar('}');
	}
	fputs(n > 0 ? "\n]\n" : "]\n", stdout);
}

/* The YAML relays of ctx->stream (all streams when NULL). */
static size_t
cli_relay_count_file(const struct cli_relay_ctx *ctx)
{
	size_t	i, n = 0;

	for (i = 0; i < ctx->cfg->nstreams; i++)
		if (ctx->stream == NULL ||
		    strcmp(ctx->cfg->streams[i].name, ctx->stream) == 0)
			n += ctx->cfg->streams[i].nrelays;
	return n;
}

static int
cli_relay_list(struct cli_relay_ctx *ctx)
{
	const struct cfg_stream	*s;
	const struct cfg_relay	*fr;
	struct cli_relay_row	*rows;
	struct db_relay		*relays;
	size_t			 n, nrows = 0, i, j;
	char			 err[DB_ERR_MAX];

	if (db_relays_load(ctx->db, ctx->stream, &relays, &n, err,
	    sizeof(err)) == -1)
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "%s", err);
	if ((rows = calloc(n + cli_relay_count_file(ctx) + 1,
	    sizeof(*rows))) == NULL) {
		db_relays_free(relays, n);
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "%s",
		    strerror(errno));
	}
	for (i = 0; i < ctx->cfg->nstreams; i++) {
		s = &ctx->cfg->streams[i];
		if (ctx->stream != NULL && strcmp(s->name, ctx->stream) != 0)
			continue;
		for (j = 0; j < s->nrelays; j++) {
			fr = &s->relays[j];
			cli_relay_row_fill(&rows[nrows++], s->name, fr->name,
			    fr->url.value, fr->profile, fr->enabled, false,
			    ctx->show);
		}
	}
	for (i = 0; i < n; i++)
		cli_relay_row_fill(&rows[nrows++], relays[i].stream,
		    relays[i].name, relays[i].url, relays[i].profile,
		    relays[i].enabled, true, ctx->show);
	qsort(rows, nrows, sizeof(*rows), cli_relay_row_cmp);
	/* The masked URLs moved with their rows. */
	for (i = 0; i < nrows; i++)
		if (rows[i].masked)
			rows[i].cell[5] = rows[i].url;
	if (ctx->json)
		cli_relay_print_json(rows, nrows);
	else
		cli_relay_print_table(rows, nrows);
	free(rows);
	db_relays_free(relays, n);
	if (fflush(stdout) == EOF || ferror(stdout))
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "stdout: %s",
		    strerror(errno));
	return 0;
}

static int
cli_relay_set_enabled(struct cli_relay_ctx *ctx, bool enabled)
{
	char	err[DB_ERR_MAX];

	if (cli_relay_not_file(ctx, "change") != 0)
		return CLI_RELAY_EXIT_ERR;
	if (db_relay_set_enabled(ctx->db, ctx->stream, ctx->name, enabled,
	    err, sizeof(err)) == -1)
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "%s", err);
	cli_notify(ctx->cfg, "relay");
	return 0;
}

static int
cli_relay_enable(struct cli_relay_ctx *ctx)
{
	return cli_relay_set_enabled(ctx, true);
}

static int
cli_relay_disable(struct cli_relay_ctx *ctx)
{
	return cli_relay_set_enabled(ctx, false);
}

static int
cli_relay_rm(struct cli_relay_ctx *ctx)
{
	char	err[DB_ERR_MAX];

	if (cli_relay_not_file(ctx, "remove") != 0)
		return CLI_RELAY_EXIT_ERR;
	if (db_relay_rm(ctx->db, ctx->stream, ctx->name, err,
	    sizeof(err)) == -1)
		return cli_relay_fail(CLI_RELAY_EXIT_ERR, "%s", err);
	cli_notify(ctx->cfg, "relay");
	return 0;
}

/* Loads the YAML, opens and syncs the database, runs cmd. */
static int
cli_relay_run(const struct cli_relay_cmd *cmd, struct cli_relay_ctx *ctx)
{
	int	status;

	ctx->config = cli_config_path(ctx->config);
	if ((status = cli_db_open("relay", ctx->config, &ctx->cfg,
	    &ctx->db)) != 0)
		return status;
	status = cmd->run(ctx);
	cli_db_close(ctx->cfg, ctx->db);
	return status;
}

int
cli_relay_main(int argc, char **argv)
{
	const struct cli_relay_cmd	*cmd = NULL;
	struct cli_relay_ctx		 ctx;
	bool				 done = false;
	size_t				 i;
	int				 status;

	if (argc < 2) {
		cli_relay_usage(stderr, NULL);
		return CLI_RELAY_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_relay_usage(stdout, NULL);
		return 0;
	}
	for (i = 0; i < CLI_RELAY_NCMDS; i++)
		if (strcmp(argv[1], cli_relay_cmds[i].name) == 0)
			cmd = &cli_relay_cmds[i];
	if (cmd == NULL) {
		cli_relay_fail(CLI_RELAY_EXIT_USAGE, "unknown command \"%s\"",
		    argv[1]);
		cli_relay_usage(stderr, NULL);
		return CLI_RELAY_EXIT_USAGE;
	}
	memset(&ctx, 0, sizeof(ctx));
	if ((status = cli_relay_parse(cmd, argc - 1, argv + 1, &ctx,
	    &done)) != 0 || done)
		return status;
	return cli_relay_run(cmd, &ctx);
}
