/*
 * The `mirroring` command line: run, check, status here; key in
 * cli_key.c.  Each returns the process exit status: 0 ok, 1 failure,
 * 2 usage error.
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>

struct cfg;
struct db;

#define CLI_ENV_CONFIG	"MIRRORING_CONFIG"
#define CLI_BUSY_MS	5000	/* a CLI waits this long on a busy database */
#define CLI_STOP_WAIT_MS 20000	/* stop: grace for workers, flush, margin */

/* The config file to use: the -c value, else $MIRRORING_CONFIG, else
 * ./mirroring.yaml. */
const char	*cli_config_path(const char *opt);

/* Tells a running supervisor that keys or relays changed in the
 * database; silent when none runs, a warning when it did not take it. */
void		 cli_notify(const struct cfg *, const char *who);
/*
 * The set-up of every database command: loads config, opens the
 * database and syncs the YAML's keys into it (so file keys show before
 * the supervisor first ran).  0, or the exit status after printing
 * "mirroring WHO: reason".  Release with cli_db_close.
 */
int		 cli_db_open(const char *who, const char *config,
		    struct cfg **, struct db **);
void		 cli_db_close(struct cfg *, struct db *);
/* Display width of a UTF-8 string (code points). */
size_t		 cli_width(const char *);
/* Prints s to stdout as a JSON string. */
void		 cli_json_str(const char *);

int		 cli_run_main(int argc, char **argv);
int		 cli_check_main(int argc, char **argv);
int		 cli_status_main(int argc, char **argv);
int		 cli_start_main(int argc, char **argv);
int		 cli_stop_main(int argc, char **argv);
int		 cli_reload_main(int argc, char **argv);
int		 cli_history_main(int argc, char **argv);

#endif
