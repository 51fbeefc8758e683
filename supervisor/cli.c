/*
 * `mirroring run`, `check` and `status`; see cli.h.  Errors are one line
 * on stderr and a non-zero exit status.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "config/cfg.h"
#include "supervisor/cli.h"
#include "common/util.h"
#include "supervisor/ctl_client.h"
#include "supervisor/daemon.h"
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
	char		 err[CFG_ERR_MAX];
	const char	*path;
	struct cfg	*cfg;
	int		 r;

	if ((r = cli_opts(argc, argv, usage, &path, NULL)) != 0)
		return r < 0 ? 0 : r;
	if ((cfg = cli_load(path)) == NULL)
		return 1;
	if (cfg->log_file != NULL && daemon_log_redirect(cfg->log_file, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "mirroring run: %s\n", err);
		cfg_free(cfg);
		return 1;
	}
	log_init("supervisor", cfg->log_level, cfg->log_format);
	return server_run(cfg, -1);
}

/* The state directory of a command that talks to the running
 * supervisor: found even when the rest of the config is broken (the
 * supervisor itself judges a reload).  NULL with *rc to return. */
static char *
cli_ctl_load(int argc, char **argv, const char *usage, bool *json, int *rc)
{
	struct cfg_err	 err;
	const char	*path;
	char		*dir;

	if ((*rc = cli_opts(argc, argv, usage, &path, json)) != 0) {
		*rc = *rc < 0 ? 0 : *rc;
		return NULL;
	}
	if (cfg_state_dir(path, &dir, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		*rc = 1;
		return NULL;
	}
	return dir;
}

/* Sends command; 0 with the reply, else prints why and returns 1. */
static int
cli_ctl(const char *state_dir, const char *who, const char *command,
    int argc, char **args, bool *ok, char **text)
{
	if (ctl_client_request(state_dir, command, argc, args, ok, text) == 0)
		return 0;
	if (errno == ENOENT || errno == ECONNREFUSED)
		fprintf(stderr, "mirroring %s: not running (no supervisor on "
		    "%s/%s)\n", who, state_dir, CTL_SOCK_NAME);
	else
		fprintf(stderr, "mirroring %s: %s/%s: %s\n", who, state_dir,
		    CTL_SOCK_NAME, strerror(errno));
	return 1;
}

int
cli_start_main(int argc, char **argv)
{
	static const char usage[] =
	    "usage: mirroring start [-c FILE]\n"
	    "  Starts the supervisor in the background and returns once it\n"
	    "  listens (0), or with its error (1).  Logs go to log.file\n"
	    "  (default state_dir/" CFG_DEFAULT_LOG_FILE ").\n";
	char		 abs[PATH_MAX], log_path[PATH_MAX], err[CFG_ERR_MAX];
	const char	*path;
	struct cfg	*cfg;
	pid_t		 pid;
	int		 r, ready_fd;

	if ((r = cli_opts(argc, argv, usage, &path, NULL)) != 0)
		return r < 0 ? 0 : r;
	/* the daemon runs in "/": every path it uses must be absolute */
	if (realpath(path, abs) != NULL)
		path = abs;
	if ((cfg = cli_load(path)) == NULL)
		return 1;
	if ((pid = daemon_running(cfg->state_dir)) > 0) {
		fprintf(stderr, "mirroring start: already running (pid %ld, "
		    "%s)\n", (long)pid, cfg->state_dir);
		cfg_free(cfg);
		return 1;
	}
	snprintf(log_path, sizeof(log_path), "%s", cfg->log_file != NULL ?
	    cfg->log_file : "");
	if (cfg->log_file == NULL && snprintf(log_path, sizeof(log_path),
	    "%s/%s", cfg->state_dir, CFG_DEFAULT_LOG_FILE) >=
	    (int)sizeof(log_path)) {
		fprintf(stderr, "mirroring start: state_dir too long\n");
		cfg_free(cfg);
		return 1;
	}
	if (mkdir(cfg->state_dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "mirroring start: state_dir %s: %s\n",
		    cfg->state_dir, strerror(errno));
		cfg_free(cfg);
		return 1;
	}
	if (daemon_detach(log_path, &ready_fd, err, sizeof(err)) == -1) {
		fprintf(stderr, "mirroring start: %s\n", err);
		cfg_free(cfg);
		return 1;
	}
	log_init("supervisor", cfg->log_level, cfg->log_format);
	/* so that a reload reopens it (logrotate's create mode) */
	if (cfg->log_file == NULL && (cfg->log_file = strdup(log_path)) ==
	    NULL) {
		daemon_ready(ready_fd, "out of memory");
		return 1;
	}
	return server_run(cfg, ready_fd);
}

/* True while pid exists and is no zombie (an init that does not reap
 * must not make stop wait forever). */
static bool
cli_pid_alive(pid_t pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	bool	 alive;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	alive = fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] != 'Z';
	fclose(f);
	return alive;
}

int
cli_stop_main(int argc, char **argv)
{
	static const char usage[] =
	    "usage: mirroring stop [-c FILE]\n"
	    "  Stops the running supervisor gracefully: publishers closed,\n"
	    "  workers given time to close their destinations.  Waits until\n"
	    "  it is gone.\n";
	char		*dir, *text = NULL;
	bool		 ok = false;
	uint64_t	 end;
	pid_t		 pid;
	int		 rc;

	if ((dir = cli_ctl_load(argc, argv, usage, NULL, &rc)) == NULL)
		return rc;
	if ((pid = daemon_running(dir)) == 0) {
		fprintf(stderr, "mirroring stop: not running (%s)\n", dir);
		free(dir);
		return 1;
	}
	if (ctl_client_request(dir, "stop", 0, NULL, &ok, &text) == -1 &&
	    errno != EPROTO) {
		/* no control socket: the pid file still names it */
		if (pid > 0 && pid != INT_MAX && kill(pid, SIGTERM) == -1) {
			fprintf(stderr, "mirroring stop: pid %ld: %s\n",
			    (long)pid, strerror(errno));
			free(dir);
			return 1;
		}
	}
	free(text);
	end = util_mono_ms() + CLI_STOP_WAIT_MS;
	while ((rc = daemon_running(dir)) > 0 && util_mono_ms() < end)
		usleep(50 * 1000);
	/* the lock goes last in server_free; the process ends just after */
	while (rc == 0 && pid != INT_MAX && cli_pid_alive(pid) &&
	    util_mono_ms() < end)
		usleep(20 * 1000);
	if (rc == 0 && pid != INT_MAX && cli_pid_alive(pid))
		rc = 1;
	free(dir);
	if (rc != 0) {
		fprintf(stderr, "mirroring stop: pid %ld still running after "
		    "%d s\n", (long)pid, CLI_STOP_WAIT_MS / 1000);
		return 1;
	}
	printf("mirroring stopped (pid %ld)\n", (long)pid);
	return 0;
}

int
cli_reload_main(int argc, char **argv)
{
	static const char usage[] =
	    "usage: mirroring reload [-c FILE]\n"
	    "  Asks the running supervisor to re-read its config: an invalid\n"
	    "  one is refused (file:line:column) and the old one runs on;\n"
	    "  else only what changed is applied.\n";
	char		*dir, *text = NULL;
	bool		 ok = false;
	int		 rc;

	if ((dir = cli_ctl_load(argc, argv, usage, NULL, &rc)) == NULL)
		return rc;
	rc = cli_ctl(dir, "reload", "reload", 0, NULL, &ok, &text);
	free(dir);
	if (rc != 0)
		return rc;
	if (ok)
		printf("mirroring: %s\n", text);
	else
		fprintf(stderr, "mirroring reload: refused, the old config "
		    "runs on: %s\n", text);
	free(text);
	return ok ? 0 : 1;
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
	for (r = 0; r < (int)cfg->nwarnings; r++)
		fprintf(stderr, "warning: %s\n", cfg->warnings[r]);
	printf("%s: ok\n", path);
	cfg_free(cfg);
	return 0;
}

int
cli_status_main(int argc, char **argv)
{
	static const char usage[] =
	    "usage: mirroring status [-c FILE] [--json]\n"
	    "  Shows the running supervisor, its live streams and their\n"
	    "  relays: states, rates, drops, restarts, last errors.\n";
	char		*args[1] = { "json" }, *text = NULL, *dir;
	bool		 json = false, ok;
	int		 r;

	if ((dir = cli_ctl_load(argc, argv, usage, &json, &r)) == NULL)
		return r;
	r = cli_ctl(dir, "status", "status", json ? 1 : 0, args, &ok, &text);
	free(dir);
	if (r != 0)
		return r;
	fputs(text, ok ? stdout : stderr);
	free(text);
	return ok ? 0 : 1;
}
