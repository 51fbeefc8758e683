/*
 * The supervisor's process lifecycle; see daemon.h.  Everything here runs
 * before the event loop serves or after it ended, except daemon_notify,
 * which never blocks.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "supervisor/daemon.h"

#define DAEMON_MSG_MAX	1024	/* the daemon's word to its parent */

static int
daemon_pid_path(const char *state_dir, char *buf, size_t len)
{
	int	n = snprintf(buf, len, "%s/%s", state_dir, DAEMON_PID_NAME);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The pid written in an open pid file, or 0. */
static pid_t
daemon_pid_read(int fd)
{
	char	buf[32];
	ssize_t	n;
	long	v;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 && v <= INT_MAX ? (pid_t)v : 0;
}

int
daemon_pidfile_lock(const char *state_dir, char *err, size_t errlen)
{
	char	path[PATH_MAX], buf[32];
	pid_t	other;
	int	fd, n;

	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		return -1;
	}
	if (daemon_pid_path(state_dir, path, sizeof(path)) == -1 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", state_dir, DAEMON_PID_NAME,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = errno;
		other = daemon_pid_read(fd);
		close(fd);
		if (n == EWOULDBLOCK)
			snprintf(err, errlen, "mirroring is already running "
			    "(pid %ld, %s)", (long)other, path);
		else
			snprintf(err, errlen, "%s: lock: %s", path,
			    strerror(n));
		errno = n;
		return -1;
	}
	/* ours now; whatever a crashed supervisor left is overwritten */
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fchmod(fd, 0600) == -1 || ftruncate(fd, 0) == -1 ||
	    pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
daemon_pidfile_release(int fd, const char *state_dir)
{
	char	path[PATH_MAX];

	if (fd == -1)
		return;
	/* unlinked while still locked, so no start sees a half-gone file */
	if (daemon_pid_path(state_dir, path, sizeof(path)) == 0)
		unlink(path);
	close(fd);
}

pid_t
daemon_running(const char *state_dir)
{
	char	path[PATH_MAX];
	pid_t	pid;
	int	fd;

	if (daemon_pid_path(state_dir, path, sizeof(path)) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);		/* nobody holds it: a leftover */
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		close(fd);
		return -1;
	}
	pid = daemon_pid_read(fd);
	close(fd);
	/* locked but not yet written: running, pid unknown */
	return pid > 0 ? pid : INT_MAX;
}

int
daemon_log_redirect(const char *path, char *err, size_t errlen)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOCTTY, 0600)) == -1 || fchmod(fd, 0600) == -1 ||
	    dup2(fd, STDOUT_FILENO) == -1 || dup2(fd, STDERR_FILENO) == -1) {
		snprintf(err, errlen, "log file %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
daemon_ready(int fd, const char *err)
{
	char	msg[DAEMON_MSG_MAX];
	int	n;

	if (fd == -1)
		return;
	if (err == NULL)
		n = snprintf(msg, sizeof(msg), "ok %ld\n", (long)getpid());
	else
		n = snprintf(msg, sizeof(msg), "error %s\n", err);
	if (n > (int)sizeof(msg) - 1)
		n = (int)sizeof(msg) - 1;
	(void)!write(fd, msg, (size_t)n);	/* a gone parent is fine */
	close(fd);
}

/* The parent's side: reads the daemon's one line until EOF. */
static int __attribute__((noreturn))
daemon_wait(int fd, pid_t child, const char *log_path)
{
	char		 msg[DAEMON_MSG_MAX];
	size_t		 got = 0;
	ssize_t		 n;
	uint64_t	 end = util_mono_ms() + DAEMON_READY_MS, now;
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	while (waitpid(child, NULL, 0) == -1 && errno == EINTR)
		;
	while (got < sizeof(msg) - 1 && (now = util_mono_ms()) < end) {
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		if ((n = read(fd, msg + got, sizeof(msg) - 1 - got)) == 0)
			break;
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (strncmp(msg, "ok ", 3) == 0) {
		printf("mirroring started (pid %s); log: %s\n", msg + 3,
		    log_path);
		exit(0);
	}
	if (strncmp(msg, "error ", 6) == 0)
		fprintf(stderr, "mirroring start: %s\n", msg + 6);
	else if (util_mono_ms() >= end)
		fprintf(stderr, "mirroring start: no word from the daemon "
		    "within %d s; see %s\n", DAEMON_READY_MS / 1000, log_path);
	else
		fprintf(stderr, "mirroring start: the daemon exited during "
		    "start-up; see %s\n", log_path);
	exit(1);
}

int
daemon_detach(const char *log_path, int *ready_fd, char *err, size_t errlen)
{
	char	why[DAEMON_MSG_MAX / 2];
	pid_t	pid;
	int	p[2], nul;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(err, errlen, "cannot detach: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		daemon_wait(p[0], pid, log_path);
	}
	close(p[0]);
	/* the first child leads a new session, so the daemon (its child)
	 * is no session leader and can never get a controlling terminal */
	if (setsid() == -1 || (pid = fork()) == -1) {
		snprintf(why, sizeof(why), "cannot detach: %s",
		    strerror(errno));
		daemon_ready(p[1], why);
		_exit(1);
	}
	if (pid > 0)
		_exit(0);
	if ((nul = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    dup2(nul, STDIN_FILENO) == -1) {
		snprintf(why, sizeof(why), "/dev/null: %s", strerror(errno));
		daemon_ready(p[1], why);
		_exit(1);
	}
	close(nul);
	if (daemon_log_redirect(log_path, why, sizeof(why)) == -1) {
		daemon_ready(p[1], why);
		_exit(1);
	}
	(void)!chdir("/");	/* the caller made every path absolute */
	*ready_fd = p[1];
	return 0;
}

void
daemon_notify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* the abstract namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}
