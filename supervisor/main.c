/*
 * mirroring: an RTMP restreaming server.  This file only picks the
 * sub-command; see cli.c, cli_key.c, cli_relay.c and cli_history.c.
 */
#include <stdio.h>
#include <string.h>

#include "supervisor/cli.h"
#include "supervisor/cli_key.h"
#include "supervisor/cli_profile.h"
#include "supervisor/cli_relay.h"

static const char usage[] =
    "usage: mirroring <command> [options]\n"
    "\n"
    "  run     [-c FILE]           run the supervisor in the foreground\n"
    "  start   [-c FILE]           start it in the background\n"
    "  stop    [-c FILE]           stop it gracefully\n"
    "  reload  [-c FILE]           apply the changed config\n"
    "  check   [-c FILE]           validate the config\n"
    "  status  [-c FILE] [--json]  show live streams\n"
    "  history [STREAM] [--json]   past publishes\n"
    "  key     add|list|enable|disable|rm|regen ...  manage stream keys\n"
    "  relay   add|list|enable|disable|rm ...  manage relays\n"
    "  profile list [-c FILE] [--json]  transcoding profiles\n"
    "\n"
    "  mirroring <command> --help  says more.  The config file is -c FILE,\n"
    "  else $MIRRORING_CONFIG, else ./mirroring.yaml.\n";

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
} commands[] = {
	{ "run", cli_run_main },
	{ "check", cli_check_main },
	{ "status", cli_status_main },
	{ "start", cli_start_main },
	{ "stop", cli_stop_main },
	{ "reload", cli_reload_main },
	{ "history", cli_history_main },
	{ "key", cli_key_main },
	{ "relay", cli_relay_main },
	{ "profile", cli_profile_main },
};

int
main(int argc, char **argv)
{
	size_t	i;

	if (argc < 2) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		printf("%s", usage);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mirroring %s\n", MIRRORING_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mirroring: unknown command \"%s\"\n%s", argv[1], usage);
	return 2;
}
