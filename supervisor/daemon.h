/*
 * Process lifecycle around the supervisor: the pid file (state_dir/
 * mirroring.pid, 0600, held with flock(2) while the supervisor lives),
 * detaching for `mirroring start` with a readiness pipe to the parent,
 * the log file, and systemd's readiness protocol.  No libevent here.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DAEMON_PID_NAME		"mirroring.pid"
#define DAEMON_READY_MS		30000	/* start waits this long for word */

/*
 * Creates state_dir (0700, not its parents) if needed, locks the pid file
 * and writes our pid into it.  Returns its fd (CLOEXEC: workers never
 * hold the lock), or -1 with err; when another process holds the lock,
 * err says "already running (pid N)" and errno is EWOULDBLOCK.  A pid
 * file nobody locks is left over from a crash and is taken over.
 */
int	daemon_pidfile_lock(const char *state_dir, char *err, size_t errlen);
/* Unlinks and closes what daemon_pidfile_lock returned; -1 is a no-op. */
void	daemon_pidfile_release(int fd, const char *state_dir);
/* The pid of the live supervisor of state_dir (its pid file is locked),
 * 0 when none runs, -1 with errno on an error. */
pid_t	daemon_running(const char *state_dir);

/*
 * Opens path (O_APPEND, created 0600, made 0600) and points stdout and
 * stderr at it, so workers' lines land there too.  0, or -1 with err.
 */
int	daemon_log_redirect(const char *path, char *err, size_t errlen);

/*
 * Detaches: fork, setsid, fork again, stdin from /dev/null, stdout and
 * stderr to log_path, cwd "/".  Returns 0 in the daemon with *ready_fd
 * (hand it to daemon_ready), or never returns in the caller: it waits for
 * the daemon's word, prints the outcome and exits 0 (the daemon serves)
 * or 1 (with the daemon's error).  -1 with err when fork fails.
 */
int	daemon_detach(const char *log_path, int *ready_fd, char *err,
	    size_t errlen);
/* Tells the waiting parent: err NULL = serving, else why not.  Closes fd;
 * -1 is a no-op. */
void	daemon_ready(int fd, const char *err);

/* sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET ("READY=1",
 * "RELOADING=1", "STOPPING=1"); silent without it.  Never blocks. */
void	daemon_notify(const char *state);

#endif
