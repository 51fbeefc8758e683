/*
 * `mirroring relay add|list|enable|disable|rm`: relays kept in SQLite
 * next to the YAML's own, edited without a running supervisor and
 * applied by it at once when one runs.
 */
#ifndef CLI_RELAY_H
#define CLI_RELAY_H

/* argv[0] is "relay".  Returns the exit status: 0, 1 (error), 2 (usage). */
int	cli_relay_main(int argc, char **argv);

#endif
