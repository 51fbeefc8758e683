/*
 * The `mirroring` command line: run, check, status here; key in
 * cli_key.c.  Each returns the process exit status: 0 ok, 1 failure,
 * 2 usage error.
 */
#ifndef CLI_H
#define CLI_H

#define CLI_ENV_CONFIG	"MIRRORING_CONFIG"

/* The config file to use: the -c value, else $MIRRORING_CONFIG, else
 * ./mirroring.yaml. */
const char	*cli_config_path(const char *opt);

int		 cli_run_main(int argc, char **argv);
int		 cli_check_main(int argc, char **argv);
int		 cli_status_main(int argc, char **argv);

#endif
