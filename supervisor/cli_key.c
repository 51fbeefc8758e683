/*
 * `mirroring key ...`: loads the YAML, syncs its keys into SQLite (so
 * file keys show before the supervisor first ran), applies one edit and
 * tells a running supervisor through the control socket.  Results go to
 * stdout, errors to stderr as one "mirroring key: reason" line.
 */
#include <sys/random.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "config/cfg.h"
#include "supervisor/cli.h"
#include "supervisor/cli_key.h"
#include "supervisor/ctl_client.h"
#include "supervisor/db.h"

#define CLI_KEY_EXIT_ERR	1
#define CLI_KEY_EXIT_USAGE	2
#define CLI_KEY_RAND_BYTES	24	/* 32 base64url characters */
#define CLI_KEY_LEN_MAX		256
#define CLI_KEY_NOTE_MAX	256
#define CLI_KEY_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789._~-"

/* Which options a sub-command takes, beyond -c and --help. */
#define CLI_KEY_F_KEY		0x01
#define CLI_KEY_F_NOTE		0x02
#define CLI_KEY_F_DISABLED	0x04
#define CLI_KEY_F_SHOW		0x08
#define CLI_KEY_F_JSON		0x10

enum {
	CLI_KEY_OPT_DISABLED = 256,
	CLI_KEY_OPT_SHOW,
	CLI_KEY_OPT_JSON,
};

struct cli_key_ctx {
	const char	*config;
	const char	*name;		/* the NAME operand */
	const char	*key;		/* --key */
	const char	*note;		/* --note */
	bool		 disabled, show, json;
	struct cfg	*cfg;
	struct db	*db;
};

struct cli_key_cmd {
	const char	*name;
	const char	*args;		/* operands and options for usage */
	const char	*help;		/* one line on what it does */
	unsigned	 flags;		/* CLI_KEY_F_* */
	bool		 takes_name;
	int		(*run)(struct cli_key_ctx *);
};

static int	cli_key_add(struct cli_key_ctx *);
static int	cli_key_list(struct cli_key_ctx *);
static int	cli_key_enable(struct cli_key_ctx *);
static int	cli_key_disable(struct cli_key_ctx *);
static int	cli_key_rm(struct cli_key_ctx *);
static int	cli_key_regen(struct cli_key_ctx *);

static const struct cli_key_cmd cli_key_cmds[] = {
	{ "add", "NAME [--key KEY] [--note TEXT] [--disabled]",
	    "add a stream key; generated unless --key, printed once",
	    CLI_KEY_F_KEY | CLI_KEY_F_NOTE | CLI_KEY_F_DISABLED, true,
	    cli_key_add },
	{ "list", "[--show] [--json]",
	    "list keys, masked unless --show",
	    CLI_KEY_F_SHOW | CLI_KEY_F_JSON, false, cli_key_list },
	{ "enable", "NAME", "accept publishes with this key", 0, true,
	    cli_key_enable },
	{ "disable", "NAME", "refuse this key and end its live publish", 0,
	    true, cli_key_disable },
	{ "rm", "NAME", "remove a key added with `key add`", 0, true,
	    cli_key_rm },
	{ "regen", "NAME", "replace a key with a new random one", 0, true,
	    cli_key_regen },
};

#define CLI_KEY_NCMDS	(sizeof(cli_key_cmds) / sizeof(cli_key_cmds[0]))

static const struct option cli_key_longopts[] = {
	{ "config",	required_argument,	NULL, 'c' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "key",	required_argument,	NULL, 'k' },
	{ "note",	required_argument,	NULL, 'n' },
	{ "disabled",	no_argument,		NULL, CLI_KEY_OPT_DISABLED },
	{ "show",	no_argument,		NULL, CLI_KEY_OPT_SHOW },
	{ "json",	no_argument,		NULL, CLI_KEY_OPT_JSON },
	{ NULL,		0,			NULL, 0 }
};

static int	cli_key_fail(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Prints the one error line; returns status for `return cli_key_fail()`. */
static int
cli_key_fail(int status, const char *fmt, ...)
{
	va_list	ap;

	fputs("mirroring key: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static void
cli_key_usage(FILE *f, const struct cli_key_cmd *only)
{
	size_t	i;

	for (i = 0; i < CLI_KEY_NCMDS; i++) {
		if (only != NULL && only != &cli_key_cmds[i])
			continue;
		fprintf(f, "%s mirroring key %s %s [-c FILE]\n",
		    only != NULL || i == 0 ? "usage:" : "      ",
		    cli_key_cmds[i].name, cli_key_cmds[i].args);
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
cli_key_allow(const struct cli_key_cmd *cmd, unsigned flag, const char *opt)
{
	if (cmd->flags & flag)
		return 0;
	return cli_key_fail(CLI_KEY_EXIT_USAGE, "%s: %s does not apply",
	    cmd->name, opt);
}

/*
 * Fills ctx from the sub-command's own argv (argv[0] is its name).
 * 0 to go on, else an exit status (--help printed: 0 via *done).
 */
static int
cli_key_parse(const struct cli_key_cmd *cmd, int argc, char **argv,
    struct cli_key_ctx *ctx, bool *done)
{
	const char	*bad;
	int		 c;

	optind = 0;			/* glibc: reset, maybe used before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:hk:n:", cli_key_longopts,
	    NULL)) != -1) {
		bad = argv[optind - 1];
		switch (c) {
		case 'c':
			ctx->config = optarg;
			break;
		case 'h':
			cli_key_usage(stdout, cmd);
			*done = true;
			return 0;
		case 'k':
			ctx->key = optarg;
			if (cli_key_allow(cmd, CLI_KEY_F_KEY, "--key"))
				return CLI_KEY_EXIT_USAGE;
			break;
		case 'n':
			ctx->note = optarg;
			if (cli_key_allow(cmd, CLI_KEY_F_NOTE, "--note"))
				return CLI_KEY_EXIT_USAGE;
			break;
		case CLI_KEY_OPT_DISABLED:
			ctx->disabled = true;
			if (cli_key_allow(cmd, CLI_KEY_F_DISABLED, bad))
				return CLI_KEY_EXIT_USAGE;
			break;
		case CLI_KEY_OPT_SHOW:
			ctx->show = true;
			if (cli_key_allow(cmd, CLI_KEY_F_SHOW, bad))
				return CLI_KEY_EXIT_USAGE;
			break;
		case CLI_KEY_OPT_JSON:
			ctx->json = true;
			if (cli_key_allow(cmd, CLI_KEY_F_JSON, bad))
				return CLI_KEY_EXIT_USAGE;
			break;
		case ':':
			return cli_key_fail(CLI_KEY_EXIT_USAGE,
			    "%s: %s needs a value", cmd->name, bad);
		default:
			if (optopt != 0)
				return cli_key_fail(CLI_KEY_EXIT_USAGE,
				    "%s: unknown option -%c", cmd->name,
				    optopt);
			return cli_key_fail(CLI_KEY_EXIT_USAGE,
			    "%s: unknown option %s", cmd->name, bad);
		}
	}
	if (cmd->takes_name && optind < argc)
		ctx->name = argv[optind++];
	if (cmd->takes_name && ctx->name == NULL)
		return cli_key_fail(CLI_KEY_EXIT_USAGE, "%s: NAME missing "
		    "(usage: mirroring key %s %s)", cmd->name, cmd->name,
		    cmd->args);
	if (optind < argc)
		return cli_key_fail(CLI_KEY_EXIT_USAGE, "%s: unexpected "
		    "argument %s", cmd->name, argv[optind]);
	return 0;
}

/* A new key: CLI_KEY_RAND_BYTES from the kernel as unpadded base64url. */
static int
cli_key_generate(char *out, size_t len)
{
	static const char	b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t			r[CLI_KEY_RAND_BYTES];
	size_t			i, o = 0, got = 0;
	ssize_t			n;
	uint32_t		v;

	_Static_assert(CLI_KEY_RAND_BYTES % 3 == 0, "no padding needed");
	if (len < CLI_KEY_RAND_BYTES / 3 * 4 + 1)
		return -1;
	while (got < sizeof(r)) {
		if ((n = getrandom(r + got, sizeof(r) - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(r); i += 3) {
		v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	return 0;
}

static bool
cli_key_valid(const char *key)
{
	size_t	n = strlen(key);

	return n >= CFG_KEY_MIN && n <= CLI_KEY_LEN_MAX &&
	    strspn(key, CLI_KEY_CHARS) == n;
}

static bool
cli_key_note_ok(const char *note)
{
	const unsigned char	*p;

	if (strlen(note) > CLI_KEY_NOTE_MAX)
		return false;
	for (p = (const unsigned char *)note; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* The key alone on stdout (for scripts), the URL to use on stderr. */
static void
cli_key_print_new(const struct cfg *cfg, const char *key)
{
	const char	*host = cfg->listen_host;
	bool		 v6;

	if (host == NULL || *host == '\0' || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "::") == 0)
		host = "your-server";
	v6 = strchr(host, ':') != NULL;
	printf("%s\n", key);
	fflush(stdout);
	fprintf(stderr, "publish to rtmp://%s%s%s:%u/%s/%s\n", v6 ? "[" : "",
	    host, v6 ? "]" : "", (unsigned)cfg->listen_port, cfg->app, key);
}


static int
cli_key_add(struct cli_key_ctx *ctx)
{
	const struct cfg_stream	*b;
	const char	*key = ctx->key;
	char		 gen[CLI_KEY_RAND_BYTES / 3 * 4 + 1], err[DB_ERR_MAX];

	if (!cfg_name_ok(ctx->name))
		return cli_key_fail(CLI_KEY_EXIT_ERR, "invalid name \"%s\": "
		    "use 1-%d of A-Z a-z 0-9 _ -", ctx->name, CFG_NAME_MAX);
	if (cfg_stream_find(ctx->cfg, ctx->name) != NULL)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s is declared in %s",
		    ctx->name, ctx->cfg->path);
	if (key != NULL && !cli_key_valid(key))
		return cli_key_fail(CLI_KEY_EXIT_ERR, "invalid key: use %d-%d "
		    "of A-Z a-z 0-9 . _ ~ -", CFG_KEY_MIN, CLI_KEY_LEN_MAX);
	/* a stream's own key wins the match at publish: a key equal to a
	 * backup key would take that backup publisher onto its stream */
	if (key != NULL && (b = cfg_stream_by_backup_key(ctx->cfg, key,
	    strlen(key))) != NULL)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "that key is the backup "
		    "key of stream %s in %s", b->name, ctx->cfg->path);
	if (ctx->note != NULL && !cli_key_note_ok(ctx->note))
		return cli_key_fail(CLI_KEY_EXIT_ERR, "invalid note: at most "
		    "%d characters, no control characters", CLI_KEY_NOTE_MAX);
	if (key == NULL) {
		if (cli_key_generate(gen, sizeof(gen)) == -1)
			return cli_key_fail(CLI_KEY_EXIT_ERR, "getrandom: %s",
			    strerror(errno));
		key = gen;
	}
	if (db_key_add(ctx->db, ctx->name, key, ctx->note, !ctx->disabled,
	    err, sizeof(err)) == -1)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s", err);
	cli_key_print_new(ctx->cfg, key);
	cli_notify(ctx->cfg, "key");
	return 0;
}



/* The displayed fields of one key. */
struct cli_key_row {
	const char	*cell[6];	/* as cli_key_heads */
	char		 key[LOG_QMAX];
	char		 active[32];
};

static const char *const cli_key_heads[6] = {
	"NAME", "ENABLED", "SOURCE", "KEY", "LAST ACTIVE", "NOTE"
};

static void
cli_key_row_fill(struct cli_key_row *r, const struct db_key *k, bool show)
{
	struct tm	tm;
	time_t		t = (time_t)k->last_active_s;

	if (show)
		snprintf(r->key, sizeof(r->key), "%s", k->key);
	else
		log_mask_raw(r->key, sizeof(r->key), k->key);
	if (k->last_active_s == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(r->active, sizeof(r->active), "%Y-%m-%dT%H:%M:%SZ",
	    &tm) == 0)
		r->active[0] = '\0';
	r->cell[0] = k->name;
	r->cell[1] = k->enabled ? "yes" : "no";
	r->cell[2] = k->source == DB_SRC_CLI ? "cli" : "file";
	r->cell[3] = r->key;
	r->cell[4] = r->active[0] != '\0' ? r->active : "never";
	r->cell[5] = k->note;
}

static void
cli_key_print_table(const struct cli_key_row *rows, size_t n)
{
	const char	*s;
	size_t		 w[6], i, c, dw;

	for (c = 0; c < 6; c++)
		w[c] = cli_width(cli_key_heads[c]);
	for (i = 0; i < n; i++)
		for (c = 0; c < 6; c++)
			if ((dw = cli_width(rows[i].cell[c])) > w[c])
				w[c] = dw;
	for (i = 0; i <= n; i++) {
		for (c = 0; c < 6; c++) {
			s = i == 0 ? cli_key_heads[c] : rows[i - 1].cell[c];
			fputs(s, stdout);
			/* No padding before an empty last column. */
			if (c == 5 || (c == 4 && i > 0 &&
			    *rows[i - 1].cell[5] == '\0'))
				break;
			printf("%*s", (int)(w[c] - cli_width(s) + 2), "");
		}
		putchar('\n');
	}
}

static void
cli_key_print_json(const struct cli_key_row *rows,
    const struct db_key *keys, size_t n)
{
	size_t	i;

	putchar('[');
	for (i = 0; i < n; i++) {
		fputs(i == 0 ? "\n  {\"name\": " : ",\n  {\"name\": ", stdout);
		cli_json_str(keys[i].name);
		printf(", \"enabled\": %s, \"source\": \"%s\", \"key\": ",
		    keys[i].enabled ? "true" : "false", rows[i].cell[2]);
		cli_json_str(rows[i].key);
		fputs(", \"last_active\": ", stdout);
		if (rows[i].active[0] != '\0')
			cli_json_str(rows[i].active);
		else
			fputs("null", stdout);
		fputs(", \"note\": ", stdout);
		cli_json_str(keys[i].note);
		putchar('}');
	}
	fputs(n > 0 ? "\n]\n" : "]\n", stdout);
}

static int
cli_key_list(struct cli_key_ctx *ctx)
{
	struct cli_key_row	*rows;
	struct db_key		*keys;
	size_t			 n, i;
	char			 err[DB_ERR_MAX];

	if (db_keys_load(ctx->db, &keys, &n, err, sizeof(err)) == -1)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s", err);
	if ((rows = calloc(n + 1, sizeof(*rows))) == NULL) {
		db_keys_free(keys, n);
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s", strerror(errno));
	}
	for (i = 0; i < n; i++)
		cli_key_row_fill(&rows[i], &keys[i], ctx->show);
	if (ctx->json)
		cli_key_print_json(rows, keys, n);
	else
		cli_key_print_table(rows, n);
	free(rows);
	db_keys_free(keys, n);
	if (fflush(stdout) == EOF || ferror(stdout))
		return cli_key_fail(CLI_KEY_EXIT_ERR, "stdout: %s",
		    strerror(errno));
	return 0;
}

static int
cli_key_set_enabled(struct cli_key_ctx *ctx, bool enabled)
{
	char	err[DB_ERR_MAX];

	if (db_key_set_enabled(ctx->db, ctx->name, enabled, err,
	    sizeof(err)) == -1)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s", err);
	cli_notify(ctx->cfg, "key");
	return 0;
}

static int
cli_key_enable(struct cli_key_ctx *ctx)
{
	return cli_key_set_enabled(ctx, true);
}

static int
cli_key_disable(struct cli_key_ctx *ctx)
{
	return cli_key_set_enabled(ctx, false);
}

static int
cli_key_rm(struct cli_key_ctx *ctx)
{
	char	err[DB_ERR_MAX];

	/* Just synced: a declared name is a file key. */
	if (cfg_stream_find(ctx->cfg, ctx->name) != NULL)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s is declared in %s; "
		    "remove it there", ctx->name, ctx->cfg->path);
	if (db_key_rm(ctx->db, ctx->name, err, sizeof(err)) == -1)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s", err);
	cli_notify(ctx->cfg, "key");
	return 0;
}

static int
cli_key_regen(struct cli_key_ctx *ctx)
{
	char	key[CLI_KEY_RAND_BYTES / 3 * 4 + 1], err[DB_ERR_MAX];

	if (cfg_stream_find(ctx->cfg, ctx->name) != NULL)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s is declared in %s; "
		    "change its key there", ctx->name, ctx->cfg->path);
	if (cli_key_generate(key, sizeof(key)) == -1)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "getrandom: %s",
		    strerror(errno));
	if (db_key_set_key(ctx->db, ctx->name, key, err, sizeof(err)) == -1)
		return cli_key_fail(CLI_KEY_EXIT_ERR, "%s", err);
	cli_key_print_new(ctx->cfg, key);
	cli_notify(ctx->cfg, "key");
	return 0;
}

/* Loads the YAML, opens and syncs the database, runs cmd. */
static int
cli_key_run(const struct cli_key_cmd *cmd, struct cli_key_ctx *ctx)
{
	int	status;

	ctx->config = cli_config_path(ctx->config);
	if ((status = cli_db_open("key", ctx->config, &ctx->cfg,
	    &ctx->db)) != 0)
		return status;
	status = cmd->run(ctx);
	cli_db_close(ctx->cfg, ctx->db);
	return status;
}

int
cli_key_main(int argc, char **argv)
{
	const struct cli_key_cmd	*cmd = NULL;
	struct cli_key_ctx		 ctx;
	bool				 done = false;
	size_t				 i;
	int				 status;

	if (argc < 2) {
		cli_key_usage(stderr, NULL);
		return CLI_KEY_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_key_usage(stdout, NULL);
		return 0;
	}
	for (i = 0; i < CLI_KEY_NCMDS; i++)
		if (strcmp(argv[1], cli_key_cmds[i].name) == 0)
			cmd = &cli_key_cmds[i];
	if (cmd == NULL) {
		cli_key_fail(CLI_KEY_EXIT_USAGE, "unknown command \"%s\"",
		    argv[1]);
		cli_key_usage(stderr, NULL);
		return CLI_KEY_EXIT_USAGE;
	}
	memset(&ctx, 0, sizeof(ctx));
	if ((status = cli_key_parse(cmd, argc - 1, argv + 1, &ctx,
	    &done)) != 0 || done)
		return status;
	return cli_key_run(cmd, &ctx);
}
