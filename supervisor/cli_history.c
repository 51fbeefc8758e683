/*
 * `mirroring history [STREAM] [--json] [--limit N]`: the publish sessions
 * the supervisor recorded in the database, newest first.  Reads only; it
 * works whether or not a supervisor runs.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/cfg.h"
#include "supervisor/cli.h"
#include "supervisor/db.h"

#define CLI_HISTORY_LIMIT	20
#define CLI_HISTORY_MAX		100000

static const char usage[] =
    "usage: mirroring history [STREAM] [-c FILE] [--json] [--limit N]\n"
    "  Past and live publishes, newest first (default the last 20):\n"
    "  start and end time, duration, client, bytes received, why it "
    "ended,\n"
    "  and under each what its relays sent (bytes, packets, drops, "
    "reconnects,\n"
    "  worker restarts, last error).\n";

static void
cli_history_time(char *buf, size_t len, int64_t s)
{
	time_t		t = (time_t)s;
	struct tm	tm;

	if (s <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
cli_history_json(const struct db_session *v, size_t n)
{
	const struct db_relay_session	*r;
	size_t				 i, j;

	printf("{\"sessions\":[");
	for (i = 0; i < n; i++) {
		printf("%s{\"id\":", i > 0 ? "," : "");
		cli_json_str(v[i].id);
		printf(",\"stream\":");
		cli_json_str(v[i].stream);
		printf(",\"client\":");
		cli_json_str(v[i].client);
		printf(",\"started_at\":%lld,\"ended_at\":", (long long)
		    v[i].started_s);
		if (v[i].ended_s > 0)
			printf("%lld", (long long)v[i].ended_s);
		else
			printf("null");
		printf(",\"bytes_in\":%lld,\"end_reason\":",
		    (long long)v[i].bytes_in);
		cli_json_str(v[i].end_reason);
		printf(",\"relays\":[");
		for (j = 0; j < v[i].nrelays; j++) {
			r = &v[i].relays[j];
			printf("%s{\"relay\":", j > 0 ? "," : "");
			cli_json_str(r->relay);
			printf(",\"started_at\":%lld,\"ended_at\":%lld,"
			    "\"bytes_out\":%lld,\"packets_out\":%lld,"
			    "\"dropped\":%lld,\"reconnects\":%lld,"
			    "\"restarts\":%lld,\"last_error\":",
			    (long long)r->started_s, (long long)r->ended_s,
			    (long long)r->bytes_out, (long long)r->packets_out,
			    (long long)r->dropped, (long long)r->reconnects,
			    (long long)r->restarts);
			cli_json_str(r->last_error);
			printf("}");
		}
		printf("]}");
	}
	printf("]}\n");
}

static void
cli_history_text(const struct db_session *v, size_t n)
{
	const struct db_relay_session	*r;
	char				 started[32], ended[32];
	int64_t				 d;
	size_t				 i, j;

	if (n == 0) {
		printf("no publishes recorded\n");
		return;
	}
	printf("%-16s %-20s %-20s %9s %-21s %12s  %s\n", "STREAM", "STARTED",
	    "ENDED", "DURATION", "CLIENT", "BYTES IN", "END");
	for (i = 0; i < n; i++) {
		cli_history_time(started, sizeof(started), v[i].started_s);
		if (v[i].ended_s > 0)
			cli_history_time(ended, sizeof(ended), v[i].ended_s);
		else
			snprintf(ended, sizeof(ended), "live");
		d = (v[i].ended_s > 0 ? v[i].ended_s : (int64_t)time(NULL)) -
		    v[i].started_s;
		if (d < 0)
			d = 0;
		printf("%-16s %-20s %-20s %3lld:%02lld:%02lld %-21s %12lld  "
		    "%s\n", v[i].stream, started, ended, (long long)(d / 3600),
		    (long long)(d / 60 % 60), (long long)(d % 60), v[i].client,
		    (long long)v[i].bytes_in, v[i].end_reason);
		for (j = 0; j < v[i].nrelays; j++) {
			r = &v[i].relays[j];
			printf("  relay %-16s %12lld bytes  %lld packets  "
			    "dropped %lld  reconnects %lld  restarts %lld%s%s\n",
			    r->relay, (long long)r->bytes_out,
			    (long long)r->packets_out, (long long)r->dropped,
			    (long long)r->reconnects, (long long)r->restarts,
			    r->last_error[0] != '\0' ? "  last error: " : "",
			    r->last_error);
		}
	}
}

int
cli_history_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct db_session	*v;
	struct cfg_err		 cerr;
	struct cfg		*cfg;
	struct db		*db;
	const char		*config = NULL, *stream = NULL;
	char			 err[DB_ERR_MAX], *end;
	unsigned long		 limit = CLI_HISTORY_LIMIT;
	size_t			 n;
	bool			 json = false;
	int			 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			limit = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit == 0 ||
			    limit > CLI_HISTORY_MAX) {
				fprintf(stderr, "mirroring history: --limit "
				    "takes 1 to %d\n", CLI_HISTORY_MAX);
				return 2;
			}
			break;
		case 'h':
			printf("%s", usage);
			return 0;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	if (optind < argc)
		stream = argv[optind++];
	if (optind != argc) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (cfg_load(cli_config_path(config), &cfg, &cerr) == -1) {
		fprintf(stderr, "mirroring history: %s\n", cerr.msg);
		return 1;
	}
	if ((db = db_open(cfg->state_dir, CLI_BUSY_MS, err, sizeof(err))) ==
	    NULL || db_sessions_list(db, stream, (unsigned)limit, &v, &n, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "mirroring history: %s\n", err);
		cli_db_close(cfg, db);
		return 1;
	}
	if (json)
		cli_history_json(v, n);
	else
		cli_history_text(v, n);
	db_sessions_free(v, n);
	cli_db_close(cfg, db);
	return 0;
}
