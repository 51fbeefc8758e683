/*
 * One logfmt (or JSON) line per event on stderr, written with one write(2)
 * so lines from the supervisor and its workers never interleave.  Callers
 * pass the event name and a key=value format; free text goes through LQ(),
 * anything that may hold a secret through MASK().
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOGL_DEBUG,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERROR,
};

enum log_format {
	LOG_FMT_LOGFMT,
	LOG_FMT_JSON,
};

#define LOG_LINE_MAX	4096	/* one write(2), PIPE_BUF on Linux */
#define LOG_QMAX	256	/* scratch size of LQ() and MASK() */

/* The scratch buffers are compound literals: they live until the enclosing
 * block ends, which outlasts the log call that uses them. */
#define LQ(s)	log_quote((char[LOG_QMAX]){0}, LOG_QMAX, (s))
#define MASK(s)	log_mask((char[LOG_QMAX]){0}, LOG_QMAX, (s))

void		 log_init(const char *proc, enum log_level, enum log_format);
void		 log_set_level(enum log_level);
bool		 log_enabled(enum log_level);
int		 log_level_parse(const char *, enum log_level *);
int		 log_format_parse(const char *, enum log_format *);
/* Sends lines to fd instead of stderr (the daemon's log file); -1 = stderr. */
void		 log_set_fd(int);

void		 log_msg(enum log_level, const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Like log_msg at LOGL_WARN/LOGL_ERROR, with err="strerror(errno)" added. */
void		 log_errno(enum log_level, const char *event, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
void		 fatal(const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3), noreturn));
void		 fatalx(const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3), noreturn));

#define log_debug(ev, ...)	do {					\
	if (log_enabled(LOGL_DEBUG))					\
		log_msg(LOGL_DEBUG, (ev), __VA_ARGS__);			\
} while (0)
#define log_info(ev, ...)	log_msg(LOGL_INFO, (ev), __VA_ARGS__)
#define log_warnx(ev, ...)	log_msg(LOGL_WARN, (ev), __VA_ARGS__)
#define log_warn(ev, ...)	log_errno(LOGL_WARN, (ev), __VA_ARGS__)
#define log_error(ev, ...)	log_msg(LOGL_ERROR, (ev), __VA_ARGS__)

/*
 * Writes s into buf as a logfmt value: unchanged when it is a plain token,
 * else double-quoted with \" \\ \n \t and \xNN escapes.  Truncates to fit
 * (ending in "…").  Returns buf.
 */
const char	*log_quote(char *buf, size_t n, const char *s);
/*
 * Masks a secret for display: a bare key shows its first and last two
 * characters ("ab…yz"), or only "…" when shorter than 12; a URL keeps its
 * scheme, host and path and masks only its last path segment (the stream
 * key) and any query.  The result is quoted like log_quote.  Returns buf.
 */
const char	*log_mask(char *buf, size_t n, const char *s);
/* log_mask without quoting, for status output and error messages. */
const char	*log_mask_raw(char *buf, size_t n, const char *s);

#endif
