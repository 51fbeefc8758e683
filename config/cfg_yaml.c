/*
 * YAML text -> a small node tree that keeps line and column, built from
 * libyaml events with an explicit stack (no recursion) and hard limits on
 * size, depth and node count.  What the nodes mean is cfg.c's business.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/cfg_int.h"

struct cfg_frame {
	struct cfg_node	*node;		/* an open map or sequence */
	struct cfg_node	*key;		/* maps: the latest key */
	bool		 pending;	/* maps: key waits for its value */
};

struct cfg_build {
	struct cfg_doc	*doc;
	const char	*name;
	const char	*text;
	size_t		 len;
	struct cfg_err	*err;
	struct cfg_frame stack[CFG_MAX_DEPTH];
	size_t		 depth;
	unsigned	 ndocs;
};

void
cfg_errf(struct cfg_err *err, const char *name, unsigned line, unsigned col,
    const char *path, const char *fmt, ...)
{
	va_list	ap;
	size_t	o, end;
	int	r;

	if (line > 0)
		r = snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: ", name,
		    line, col);
	else
		r = snprintf(err->msg, sizeof(err->msg), "%s: ", name);
	o = r < 0 ? 0 : (size_t)r;
	if (o < sizeof(err->msg) && path != NULL && path[0] != '\0') {
		r = snprintf(err->msg + o, sizeof(err->msg) - o, "%s: ", path);
		o += r < 0 ? 0 : (size_t)r;
	}
	if (o < sizeof(err->msg)) {
		va_start(ap, fmt);
		vsnprintf(err->msg + o, sizeof(err->msg) - o, fmt, ap);
		va_end(ap);
	}
	/* keys, values and file names may hold anything a quoted string
	 * can (a folded scalar holds newlines): keep the message on one
	 * line */
	for (end = 0; err->msg[end] != '\0'; end++)
		if ((unsigned char)err->msg[end] < 0x20 ||
		    err->msg[end] == 0x7f)
			err->msg[end] = '?';
}

const char *
cfg_quote(char *buf, size_t n, const char *s)
{
	size_t		 o = 0;
	unsigned char	 ch;

	if (n < 10) {
		if (n > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		/* room for one escape (4), then "...", '"' and NUL */
		if (o + 9 > n) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

bool
cfg_node_null(const struct cfg_node *nd)
{
	return nd == NULL || (nd->type == CFG_N_SCALAR && nd->plain &&
	    (nd->str[0] == '\0' || strcmp(nd->str, "~") == 0 ||
	    strcmp(nd->str, "null") == 0 || strcmp(nd->str, "Null") == 0 ||
	    strcmp(nd->str, "NULL") == 0));
}

void
cfg_doc_clear(struct cfg_doc *d)
{
	struct cfg_node	*nd, *next;

	for (nd = d->all; nd != NULL; nd = next) {
		next = nd->all;
		free(nd->str);
		free(nd);
	}
	memset(d, 0, sizeof(*d));
}

/* The path of what is being built, e.g. "streams.studio.relays" + last. */
static void
build_path(const struct cfg_build *b, const char *last, char *buf, size_t n)
{
	const struct cfg_frame	*f;
	size_t			 i, o = 0;
	int			 r;
	bool			 inner;

	buf[0] = '\0';
	for (i = 0; i < b->depth && o < n; i++) {
		f = &b->stack[i];
		inner = i + 1 == b->depth;	/* no child open yet */
		if (f->node->type == CFG_N_SEQ)
			r = snprintf(buf + o, n - o, "[%zu]",
			    f->node->n - (inner ? 0 : 1));
		else if (!inner || f->pending)
			r = snprintf(buf + o, n - o, "%s%s", o > 0 ? "." : "",
			    f->key->str);
		else
			break;
		o += r < 0 ? 0 : (size_t)r;
	}
	if (last != NULL && o < n)
		snprintf(buf + o, n - o, "%s%s", o > 0 ? "." : "", last);
}

static int
build_fail(struct cfg_build *b, const yaml_mark_t *m, const char *last,
    const char *msg)
{
	char	path[256];

	build_path(b, last, path, sizeof(path));
	cfg_errf(b->err, b->name, (unsigned)m->line + 1,
	    (unsigned)m->column + 1, path, "%s", msg);
	return -1;
}

static struct cfg_node *
build_node(struct cfg_build *b, enum cfg_ntype type, const yaml_mark_t *m)
{
	struct cfg_node	*nd;

	if (b->doc->nnodes >= CFG_MAX_NODES) {
		build_fail(b, m, NULL, "too many nodes (limit 20000)");
		return NULL;
	}
	if ((nd = calloc(1, sizeof(*nd))) == NULL) {
		build_fail(b, m, NULL, "out of memory");
		return NULL;
	}
	nd->type = type;
	nd->line = (unsigned)m->line + 1;
	nd->col = (unsigned)m->column + 1;
	nd->all = b->doc->all;
	b->doc->all = nd;
	b->doc->nnodes++;
	return nd;
}

static int
build_attach(struct cfg_build *b, struct cfg_node *nd, const yaml_mark_t *m)
{
	struct cfg_frame	*f;
	struct cfg_node		*k;
	char			 msg[64];

	if (b->depth == 0) {
		b->doc->root = nd;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	if (f->node->type == CFG_N_MAP && !f->pending) {
		if (nd->type != CFG_N_SCALAR)
			return build_fail(b, m, NULL,
			    "mapping keys must be strings");
		for (k = f->node->kids; k != NULL; k = k->next) {
			if (strcmp(k->str, nd->str) != 0)
				continue;
			snprintf(msg, sizeof(msg), "duplicate key (first at "
			    "line %u)", k->line);
			return build_fail(b, m, nd->str, msg);
		}
		f->key = nd;
		f->pending = true;
	} else if (f->node->type == CFG_N_MAP) {
		f->key->val = nd;
		f->pending = false;
		f->node->n++;
		return 0;
	} else
		f->node->n++;
	if (f->node->tail != NULL)
		f->node->tail->next = nd;
	else
		f->node->kids = nd;
	f->node->tail = nd;
	return 0;
}

static int
build_scalar(struct cfg_build *b, const yaml_event_t *ev)
{
	struct cfg_node	*nd;
	size_t		 n = ev->data.scalar.length;

	if ((nd = build_node(b, CFG_N_SCALAR, &ev->start_mark)) == NULL)
		return -1;
	if (memchr(ev->data.scalar.value, '\0', n) != NULL)
		return build_fail(b, &ev->start_mark, NULL,
		    "strings must not contain NUL characters");
	if ((nd->str = malloc(n + 1)) == NULL)
		return build_fail(b, &ev->start_mark, NULL, "out of memory");
	memcpy(nd->str, ev->data.scalar.value, n);
	nd->str[n] = '\0';
	nd->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return build_attach(b, nd, &ev->start_mark);
}

static int
build_open(struct cfg_build *b, enum cfg_ntype type, const yaml_mark_t *m)
{
	struct cfg_node	*nd;

	if (b->depth == CFG_MAX_DEPTH)
		return build_fail(b, m, NULL, "nesting too deep (limit 32)");
	if ((nd = build_node(b, type, m)) == NULL ||
	    build_attach(b, nd, m) == -1)
		return -1;
	b->stack[b->depth].node = nd;
	b->stack[b->depth].key = NULL;
	b->stack[b->depth].pending = false;
	b->depth++;
	return 0;
}

static int
build_event(struct cfg_build *b, const yaml_event_t *ev)
{
	const yaml_char_t	*anchor = NULL, *tag = NULL;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default:
		break;
	}
	if (anchor != NULL || ev->type == YAML_ALIAS_EVENT)
		return build_fail(b, &ev->start_mark, NULL,
		    "anchors and aliases are not supported");
	if (tag != NULL)
		return build_fail(b, &ev->start_mark, NULL,
		    "tags are not supported");

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1)
			return build_fail(b, &ev->start_mark, NULL,
			    "only one YAML document is allowed");
		return 0;
	case YAML_SCALAR_EVENT:
		return build_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return build_open(b, CFG_N_SEQ, &ev->start_mark);
	case YAML_MAPPING_START_EVENT:
		return build_open(b, CFG_N_MAP, &ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)	/* libyaml balances them */
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

/* Whether the line around text[at] holds a bare IPv6 address, "[::1]":
 * YAML reads it as a flow sequence and fails, often far from the cause. */
static bool
line_has_v6(const char *text, size_t len, size_t at)
{
	size_t	i, j, start = at, colons;

	while (start > 0 && text[start - 1] != '\n')
		start--;
	for (i = start; i < len && text[i] != '\n'; i++) {
		if (text[i] != '[')
			continue;
		for (j = i + 1, colons = 0; j < len &&
		    strchr("0123456789abcdefABCDEF:.%", text[j]) != NULL &&
		    text[j] != '\0'; j++)
			colons += text[j] == ':';
		if (colons > 0 && j < len && text[j] == ']')
			return true;
	}
	return false;
}

/* libyaml's reader reports a byte offset where the others give a mark. */
static void
syntax_error(struct cfg_build *b, const yaml_parser_t *p)
{
	yaml_mark_t	m = p->problem_mark;
	const char	*problem = p->problem ? p->problem : "syntax error";
	char		 ctx[128] = "";
	size_t		 i;

	if (p->error == YAML_MEMORY_ERROR) {
		cfg_errf(b->err, b->name, 0, 0, NULL, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		memset(&m, 0, sizeof(m));
		for (i = 0; i < p->problem_offset && i < b->len; i++) {
			if (b->text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else
				m.column++;
		}
		if (p->problem_value != -1)
			snprintf(ctx, sizeof(ctx), " (byte 0x%02x)",
			    (unsigned)p->problem_value & 0xff);
	} else if (m.index < b->len && b->text[m.index] == '\t' &&
	    strstr(problem, "tab") == NULL)
		snprintf(ctx, sizeof(ctx), " (tabs are not allowed for "
		    "indentation; use spaces)");
	else if (m.index <= b->len && line_has_v6(b->text, b->len, m.index))
		snprintf(ctx, sizeof(ctx), " (quote IPv6 addresses: "
		    "\"[::]:1935\")");
	else if (p->context != NULL)
		snprintf(ctx, sizeof(ctx), " %s at line %u column %u",
		    p->context, (unsigned)p->context_mark.line + 1,
		    (unsigned)p->context_mark.column + 1);
	cfg_errf(b->err, b->name, (unsigned)m.line + 1, (unsigned)m.column + 1,
	    NULL, "%s%s", problem, ctx);
}

int
cfg_doc_parse(struct cfg_doc *d, const char *name, const char *text,
    size_t len, struct cfg_err *err)
{
	struct cfg_build	 b;
	yaml_parser_t		 p;
	yaml_event_t		 ev;
	int			 rc = 0, done = 0;

	memset(d, 0, sizeof(*d));
	memset(&b, 0, sizeof(b));
	b.doc = d;
	b.name = name;
	b.text = text;
	b.len = len;
	b.err = err;
	if (len > CFG_MAX_INPUT) {
		cfg_errf(err, name, 0, 0, NULL, "too large (%zu bytes, limit "
		    "%d)", len, CFG_MAX_INPUT);
		return -1;
	}
	if (!yaml_parser_initialize(&p)) {
		cfg_errf(err, name, 0, 0, NULL, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (rc == 0 && !done) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&b, &p);
			rc = -1;
			break;
		}
		rc = build_event(&b, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc == -1)
		cfg_doc_clear(d);
	return rc;
}
