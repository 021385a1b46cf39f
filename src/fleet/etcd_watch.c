/* A watch's stream as the gateway sends it, one JSON message per line
 * (fleet/etcd.h): bytes in, bounded; messages with their events out;
 * and where a watch that dies resumes. */
#include "fleet/etcd_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/text.h"

/* A message and its newline. */
#define BUF_MAX		((size_t)ETCD_WATCH_MSG_MAX + 1)
#define BUF_FIRST	4096

void
etcd_watch_parser_init(struct etcd_watch_parser *p)
{
	memset(p, 0, sizeof(*p));
}

void
etcd_watch_parser_free(struct etcd_watch_parser *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* Room for need bytes in all, doubling up to BUF_MAX. */
static int
grow(struct etcd_watch_parser *p, size_t need)
{
	size_t cap = p->cap > 0 ? p->cap : BUF_FIRST;
	char *nb;

	if (need <= p->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > BUF_MAX)
		cap = BUF_MAX;
	if ((nb = realloc(p->buf, cap)) == NULL)
		return -1;
	p->buf = nb;
	p->cap = cap;
	return 0;
}

size_t
etcd_watch_feed(struct etcd_watch_parser *p, const char *data, size_t n)
{
	size_t take;

	if (p->failed || p->oom)
		return 0;
	if (p->start > 0) {
		memmove(p->buf, p->buf + p->start, p->len - p->start);
		p->len -= p->start;
		p->start = 0;
	}
	take = BUF_MAX - p->len < n ? BUF_MAX - p->len : n;
	if (take == 0)
		return 0;
	if (grow(p, p->len + take) != 0) {
		p->oom = true;
		return 0;
	}
	memcpy(p->buf + p->len, data, take);
	p->len += take;
	return take;
}

static int
event_type(json_t *o, enum etcd_event_type *t, struct etcd_error *e)
{
	json_t *v = json_object_get(o, "type");
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	*t = ETCD_EV_PUT;
	if (v == NULL || (s != NULL && strcmp(s, "PUT") == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == 0))
		return 0;
	if ((s != NULL && strcmp(s, "DELETE") == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == 1)) {
		*t = ETCD_EV_DELETE;
		return 0;
	}
	ej_malformed(e, "an event of unknown type");
	return -1;
}

static int
event(json_t *o, struct etcd_event *ev, struct etcd_error *e)
{
	json_t *kv, *prev;

	if (!json_is_object(o)) {
		ej_malformed(e, "an event is not an object");
		return -1;
	}
	if (event_type(o, &ev->type, e) != 0 ||
	    ej_object(o, "kv", &kv, e) != 0 ||
	    ej_object(o, "prev_kv", &prev, e) != 0)
		return -1;
	if (kv == NULL) {
		ej_malformed(e, "an event without a key");
		return -1;
	}
	if (ej_kv(kv, &ev->kv, e) != 0)
		return -1;
	if (prev != NULL) {
		if (ej_kv(prev, &ev->prev_kv, e) != 0) {
			etcd_kv_free(&ev->kv);
			return -1;
		}
		ev->has_prev = true;
	}
	return 0;
}

static int
events(json_t *arr, struct etcd_watch_msg *m, struct etcd_error *e)
{
	size_t i, n = arr != NULL ? json_array_size(arr) : 0;

	if (n == 0)
		return 0;
	if ((m->events = calloc(n, sizeof(*m->events))) == NULL) {
		ej_malformed(e, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (event(json_array_get(arr, i), &m->events[i], e) != 0)
			return -1;
		m->nevents++;
	}
	return 0;
}

static int
message(json_t *res, struct etcd_watch_msg *m, struct etcd_error *e)
{
	json_t *reason, *evs;

	if (ej_header(res, &m->hdr, e) != 0 ||
	    ej_int64(res, "watch_id", &m->watch_id, e) != 0 ||
	    ej_bool(res, "created", &m->created, e) != 0 ||
	    ej_bool(res, "canceled", &m->canceled, e) != 0 ||
	    ej_int64(res, "compact_revision", &m->compact_revision, e) != 0 ||
	    ej_array(res, "events", &evs, e) != 0)
		return -1;
	reason = json_object_get(res, "cancel_reason");
	if (reason != NULL && !json_is_string(reason)) {
		ej_malformed(e, "\"cancel_reason\" is not a string");
		return -1;
	}
	if (reason != NULL)
		text_safe(m->cancel_reason, sizeof(m->cancel_reason),
		    json_string_value(reason), false);
	return events(evs, m, e);
}

static int
parse_line(const char *line, size_t len, struct etcd_watch_msg *m,
    struct etcd_error *e)
{
	json_t *root, *res;
	int r = -1;

	if (ej_load(line, len, ETCD_WATCH_MSG_MAX, &root, e) != 0)
		return -1;
	if (ej_object(root, "result", &res, e) == 0) {
		if (res == NULL)
			ej_malformed(e, "a watch message without \"result\"");
		else
			r = message(res, m, e);
	}
	json_decref(root);
	if (r != 0)
		etcd_watch_msg_free(m);
	return r;
}

static bool
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static int
fail(struct etcd_watch_parser *p)
{
	p->failed = true;
	return -1;
}

int
etcd_watch_next(struct etcd_watch_parser *p, struct etcd_watch_msg *m,
    struct etcd_error *e)
{
	char *line, *nl;
	size_t len;

	memset(m, 0, sizeof(*m));
	ej_clear(e);
	if (p->failed || p->oom) {
		ej_malformed(e, p->oom ? "out of memory for a watch message" :
		    "the watch stream failed before");
		return fail(p);
	}
	/* each turn consumes a line: bounded by the bytes held */
	while ((nl = p->len > p->start ? memchr(p->buf + p->start, '\n',
	    p->len - p->start) : NULL) != NULL) {
		line = p->buf + p->start;
		len = (size_t)(nl - line);
		p->start += len + 1;
		if (blank(line, len))
			continue;
		return parse_line(line, len, m, e) == 0 ? 1 : fail(p);
	}
	if (p->len - p->start >= ETCD_WATCH_MSG_MAX) {
		ej_malformed(e, "a watch message over %u bytes",
		    ETCD_WATCH_MSG_MAX);
		return fail(p);
	}
	return 0;
}

int64_t
etcd_watch_next_rev(const struct etcd_watch_msg *m, int64_t next)
{
	int64_t rev = 0;
	size_t i;

	if (m->nevents > 0) {
		for (i = 0; i < m->nevents; i++)
			if (m->events[i].kv.mod_revision > rev)
				rev = m->events[i].kv.mod_revision;
	} else if (m->created) {
		if (next == 0)
			rev = m->hdr.revision;
	} else if (!m->canceled) {
		/* a progress report: nothing up to it is left to send */
		rev = m->hdr.revision;
	}
	return rev >= next && rev < INT64_MAX ? rev + 1 : next;
}

void
etcd_watch_msg_free(struct etcd_watch_msg *m)
{
	size_t i;

	for (i = 0; i < m->nevents; i++) {
		etcd_kv_free(&m->events[i].kv);
		etcd_kv_free(&m->events[i].prev_kv);
	}
	free(m->events);
	m->events = NULL;
	m->nevents = 0;
}
