/*
 * `mirroring key add|list|enable|disable|rm|regen`: stream keys kept in
 * SQLite, edited without a running supervisor and applied by it at once
 * when one runs.
 */
#ifndef CLI_KEY_H
#define CLI_KEY_H

/* argv[0] is "key".  Returns the exit status: 0, 1 (error), 2 (usage). */
int	cli_key_main(int argc, char **argv);

#endif
