/*
 * Secrets of the configuration: ${ENV} substitution, key_file: reading
 * and the stream key alphabet.  Values are wiped before they are freed and
 * never appear in a message; where to report is the caller's business.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg_int.h"

#define ENV_NAME_MAX	128

/* A growing buffer that wipes what it leaves behind. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static int
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (n > CFG_MAX_INPUT || b->len + n > CFG_MAX_INPUT)
		return -1;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = malloc(cap)) == NULL)
			return -1;
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void
sbuf_wipe(struct sbuf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
cfg_secret_clear(struct secret *s)
{
	if (s->value != NULL)
		explicit_bzero(s->value, strlen(s->value));
	free(s->value);
	free(s->origin);
	s->value = s->origin = NULL;
}

static bool
env_name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n >= ENV_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* Appends name to the comma-separated list names unless already there. */
static int
names_add(struct sbuf *names, const char *name)
{
	const char	*p;
	size_t		 n = strlen(name);

	for (p = names->p; p != NULL && *p != '\0'; p += strcspn(p, ",")) {
		if (*p == ',')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 0;
	}
	if (names->len > 0 && sbuf_add(names, ",", 1) == -1)
		return -1;
	return sbuf_add(names, name, n);
}

/* Substitutes the ${NAME} at *pp (just past "${"); moves *pp past '}'. */
static int
expand_one(const char **pp, struct sbuf *val, struct sbuf *names,
    char *why, size_t whylen)
{
	const char	*p = *pp, *end, *v;
	char		 name[ENV_NAME_MAX];
	size_t		 n;

	if ((end = strchr(p, '}')) == NULL) {
		snprintf(why, whylen, "unterminated ${ (write $${ for a "
		    "literal ${)");
		return -1;
	}
	n = (size_t)(end - p);
	if (!env_name_ok(p, n)) {
		snprintf(why, whylen, "bad environment variable name in ${...} "
		    "(use A-Z a-z 0-9 _)");
		return -1;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	if ((v = getenv(name)) == NULL || v[0] == '\0') {
		snprintf(why, whylen, "environment variable %s is %s", name,
		    v == NULL ? "not set" : "empty");
		return -1;
	}
	if (sbuf_add(val, v, strlen(v)) == -1 ||
	    names_add(names, name) == -1) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	*pp = end + 1;
	return 0;
}

int
cfg_secret_expand(const char *in, struct secret *out, char *why,
    size_t whylen)
{
	struct sbuf	 val = { 0 }, names = { 0 }, origin = { 0 };
	const char	*p = in;
	size_t		 n;
	int		 rc = 0;

	while (rc == 0 && *p != '\0') {
		if (strncmp(p, "$${", 3) == 0) {
			rc = sbuf_add(&val, "${", 2);
			p += 3;
		} else if (strncmp(p, "${", 2) == 0) {
			p += 2;
			if (expand_one(&p, &val, &names, why, whylen) == -1)
				goto fail;
		} else {
			n = strcspn(p + 1, "$") + 1;
			rc = sbuf_add(&val, p, n);
			p += n;
		}
	}
	if (rc == 0 && val.p == NULL)
		rc = sbuf_add(&val, "", 0);
	if (rc == 0 && names.len > 0)
		rc = (sbuf_add(&origin, "env ", 4) == -1 ||
		    sbuf_add(&origin, names.p, names.len) == -1) ? -1 : 0;
	else if (rc == 0)
		rc = sbuf_add(&origin, "inline", 6);
	if (rc == -1) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	sbuf_wipe(&names);
	out->value = val.p;
	out->origin = origin.p;
	return 0;
fail:
	sbuf_wipe(&val);
	sbuf_wipe(&names);
	sbuf_wipe(&origin);
	return -1;
}

/* Reads at most CFG_MAX_KEYFILE bytes of fd into buf; -1 if longer. */
static ssize_t
read_small(int fd, char *buf, size_t cap)
{
	size_t	 got = 0;
	ssize_t	 r;

	while (got < cap) {
		if ((r = read(fd, buf + got, cap - got)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int
file_check(int fd, const char *path, char *why, size_t whylen)
{
	struct stat	st;

	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "cannot stat %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", path);
		return -1;
	}
	/* Like ssh with its private keys: a shared secret is no secret. */
	if ((st.st_mode & 077) != 0) {
		snprintf(why, whylen, "%s is readable by others (mode %04o): "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
file_read(const char *full, const char *path, char *buf, size_t *len,
    char *why, size_t whylen)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(why, whylen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (file_check(fd, path, why, whylen) == -1) {
		close(fd);
		return -1;
	}
	n = read_small(fd, buf, CFG_MAX_KEYFILE + 1);
	if (n == -1)
		snprintf(why, whylen, "cannot read %s: %s", path,
		    strerror(errno));
	else if (n > CFG_MAX_KEYFILE)
		snprintf(why, whylen, "%s is larger than %d bytes", path,
		    CFG_MAX_KEYFILE);
	close(fd);
	if (n == -1 || n > CFG_MAX_KEYFILE)
		return -1;
	*len = (size_t)n;
	return 0;
}

int
cfg_secret_file(const char *path, const char *base_dir, struct secret *out,
    char *why, size_t whylen)
{
	char	*full = NULL, *buf, *origin = NULL;
	size_t	 len = 0;
	int	 rc = -1;

	if ((buf = malloc(CFG_MAX_KEYFILE + 2)) == NULL ||
	    (origin = malloc(strlen(path) + 6)) == NULL ||
	    (path[0] != '/' && base_dir != NULL && base_dir[0] != '\0' ?
	    asprintf(&full, "%s/%s", base_dir, path) :
	    asprintf(&full, "%s", path)) == -1) {
		full = NULL;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (file_read(full, path, buf, &len, why, whylen) == -1)
		goto out;
	while (len > 0 && buf[len - 1] != '\0' &&
	    strchr(" \t\r\n\v\f", buf[len - 1]) != NULL)
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL)
		snprintf(why, whylen, "%s contains a NUL byte", path);
	else if (len == 0)
		snprintf(why, whylen, "%s is empty", path);
	else {
		sprintf(origin, "file %s", path);
		out->value = buf;
		out->origin = origin;
		buf = origin = NULL;
		rc = 0;
	}
out:
	if (buf != NULL) {
		explicit_bzero(buf, CFG_MAX_KEYFILE + 2);
		free(buf);
	}
	free(origin);
	free(full);
	return rc;
}

int
cfg_secret_key_ok(const char *key, char *why, size_t whylen)
{
	const unsigned char	*p;
	size_t			 n = strlen(key);

	if (n < CFG_KEY_MIN) {
		snprintf(why, whylen, "stream key is too short (%zu "
		    "characters, at least %d)", n, CFG_KEY_MIN);
		return -1;
	}
	if (n > CFG_KEY_MAX) {
		snprintf(why, whylen, "stream key is too long (%zu "
		    "characters, at most %d)", n, CFG_KEY_MAX);
		return -1;
	}
	/* The key is the last path segment of an RTMP URL: RFC 3986
	 * unreserved characters only, so no client has to escape it. */
	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("._~-", *p) != NULL)
			continue;
		if (*p == ' ')
			snprintf(why, whylen, "stream key contains a space");
		else if (*p < 0x20 || *p >= 0x7f)
			snprintf(why, whylen, "stream key contains byte 0x%02x",
			    *p);
		else
			snprintf(why, whylen, "stream key contains '%c'", *p);
		snprintf(why + strlen(why), whylen - strlen(why),
		    " (allowed: A-Z a-z 0-9 . _ ~ -)");
		return -1;
	}
	return 0;
}
