/* The etcd client (fleet/etcd_client.h): its life, its members, one
 * timer for whatever waits, and unary calls that move from a member
 * that fails to the next until their time is up. */
#include "fleet/etcd_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "util/text.h"

#define ATTEMPT_MS	2000
#define CALL_MS		10000
#define CONNECT_MS	1000
#define ROUND_WAIT_MS	100	/* after a round of every member, doubling */
#define ROUND_WAIT_MAX	1000
#define TLS_NOTE_MS	60000	/* the same TLS failure logged again */
#define CURL_ERROR_MAX	256	/* curl's CURL_ERROR_SIZE */

struct etcd_call {
	LIST_ENTRY(etcd_call) entry;
	struct etcd_client *c;
	enum etcd_call_kind kind;
	char		*body;
	size_t		 len;
	etcd_cb		 cb;
	void		*arg;
	uint64_t	 deadline;
	int		 member;	/* tried now */
	int		 tried;		/* members tried in this round */
	int		 rounds;
	struct etcd_http_xfer *x;
	struct etcd_wake wake;		/* the wait between rounds */
	char		 why[ETCD_ERRMSG_MAX + ETCD_URL_MAX];	/* last failure */
	char		 url[ETCD_URL_MAX];	/* the member of why */
};

/* Every answer a call may parse; each kind fills its own. */
struct answers {
	struct etcd_txn_result txn;
	struct etcd_range_result range;
	struct etcd_lease_result lease;
	struct etcd_header hdr;
};

typedef int	(*parse_fn)(const char *body, size_t len, struct answers *a,
		    struct etcd_reply *r, struct etcd_error *e);

static int
parse_txn(const char *body, size_t len, struct answers *a,
    struct etcd_reply *r, struct etcd_error *e)
{
	if (etcd_parse_txn(body, len, &a->txn, e) != 0)
		return -1;
	r->txn = &a->txn;
	r->revision = a->txn.hdr.revision;
	return 0;
}

static int
parse_range(const char *body, size_t len, struct answers *a,
    struct etcd_reply *r, struct etcd_error *e)
{
	if (etcd_parse_range(body, len, &a->range, e) != 0)
		return -1;
	r->range = &a->range;
	r->revision = a->range.hdr.revision;
	return 0;
}

static int
parse_grant(const char *body, size_t len, struct answers *a,
    struct etcd_reply *r, struct etcd_error *e)
{
	if (etcd_parse_grant(body, len, &a->lease, e) != 0)
		return -1;
	r->lease = &a->lease;
	r->revision = a->lease.hdr.revision;
	return 0;
}

static int
parse_keepalive(const char *body, size_t len, struct answers *a,
    struct etcd_reply *r, struct etcd_error *e)
{
	if (etcd_parse_keepalive(body, len, &a->lease, e) != 0)
		return -1;
	r->lease = &a->lease;
	r->revision = a->lease.hdr.revision;
	return 0;
}

static int
parse_revoke(const char *body, size_t len, struct answers *a,
    struct etcd_reply *r, struct etcd_error *e)
{
	if (etcd_parse_revoke(body, len, &a->hdr, e) != 0)
		return -1;
	r->revision = a->hdr.revision;
	return 0;
}

static const struct {
	const char	*path;
	parse_fn	 parse;
} kinds[] = {
	[ETCD_CALL_TXN] = { ETCD_PATH_TXN, parse_txn },
	[ETCD_CALL_RANGE] = { ETCD_PATH_RANGE, parse_range },
	[ETCD_CALL_GRANT] = { ETCD_PATH_GRANT, parse_grant },
	[ETCD_CALL_KEEPALIVE] = { ETCD_PATH_KEEPALIVE, parse_keepalive },
	[ETCD_CALL_REVOKE] = { ETCD_PATH_REVOKE, parse_revoke },
};

static void	attempt(struct etcd_call *k);
static void	on_round(struct etcd_wake *w);
static void	on_timer(uv_timer_t *t);

/* The earliest wake, or none. */
static void
rearm(struct etcd_client *c)
{
	struct etcd_wake *w;
	uint64_t at = UINT64_MAX, now = uv_now(c->loop);

	if (c->closing)
		return;
	LIST_FOREACH(w, &c->wakes, entry)
		if (w->at < at)
			at = w->at;
	if (at == UINT64_MAX)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, at > now ? at - now : 0,
		    0);
}

/* Runs the wakes that are due; one at a time, as each may arm or cancel
 * others: at most as many as there were. */
static void
on_timer(uv_timer_t *t)
{
	struct etcd_client *c = t->data;
	struct etcd_wake *w, *due;
	uint64_t now = uv_now(c->loop);
	size_t n = 0;

	LIST_FOREACH(w, &c->wakes, entry)
		n++;
	while (n-- > 0 && !c->closing) {
		due = NULL;
		LIST_FOREACH(w, &c->wakes, entry)
			if (w->at <= now && (due == NULL || w->at < due->at))
				due = w;
		if (due == NULL)
			break;
		LIST_REMOVE(due, entry);
		due->armed = false;
		due->fn(due);
	}
	rearm(c);
}

void
etcd_wake_at(struct etcd_client *c, struct etcd_wake *w, uint64_t delay_ms,
    void (*fn)(struct etcd_wake *w))
{
	if (w->armed)
		LIST_REMOVE(w, entry);
	w->armed = true;
	w->at = uv_now(c->loop) + delay_ms;
	w->fn = fn;
	LIST_INSERT_HEAD(&c->wakes, w, entry);
	rearm(c);
}

void
etcd_wake_cancel(struct etcd_client *c, struct etcd_wake *w)
{
	if (!w->armed)
		return;
	LIST_REMOVE(w, entry);
	w->armed = false;
	rearm(c);
}

int
etcd_member_next(struct etcd_client *c, int m)
{
	int next = (m + 1) % c->ep.n;

	if (c->preferred == m)
		c->preferred = next;
	return next;
}

void
etcd_member_url(const struct etcd_client *c, int m, const char *path,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", c->ep.url[m], path);
}

/* An error line per member and reason, again after TLS_NOTE_MS: a
 * member that fails every call is not a line per call. */
void
etcd_member_outcome(struct etcd_client *c, int m,
    const struct etcd_http_outcome *o)
{
	struct etcd_tls_note *n = &c->tls_notes[m];
	char safe[CURL_ERROR_MAX * 4];
	uint64_t now = uv_now(c->loop);
	uint32_t hash = 2166136261u;
	const char *p;

	if (o->result != ETCD_HTTP_TLS)
		return;
	for (p = o->err; *p != '\0'; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	if (n->at != 0 && n->hash == hash && now - n->at < TLS_NOTE_MS)
		return;
	n->hash = hash;
	n->at = now != 0 ? now : 1;
	text_safe(safe, sizeof(safe), o->err, false);
	log_error("etcd member %s: TLS failed: %s", c->ep.url[m], safe);
}

const char *
etcd_client_member(const struct etcd_client *c)
{
	return c->ep.url[c->preferred];
}

/* Tells the caller and frees k. */
static void
finish(struct etcd_call *k, struct etcd_reply *r)
{
	LIST_REMOVE(k, entry);
	etcd_wake_cancel(k->c, &k->wake);
	if (k->x != NULL)
		etcd_http_cancel(k->x);
	if (r->err == NULL)
		r->err = "";
	if (r->member == NULL)
		r->member = k->url;
	k->cb(k->arg, r);
	free(k->body);
	free(k);
}

static void
finish_status(struct etcd_call *k, int status, const char *why)
{
	struct etcd_reply r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.err = why;
	finish(k, &r);
}

/* k's member failed it: the next one, at once or after the round's
 * wait. */
static void
member_failed(struct etcd_call *k, const char *why)
{
	struct etcd_client *c = k->c;
	char safe[ETCD_ERRMSG_MAX - 1];
	unsigned wait;

	/* curl's reason and etcd's words may quote the peer */
	text_safe(safe, sizeof(safe), why, false);
	log_verbose("etcd member %s: %s", k->url, safe);
	snprintf(k->why, sizeof(k->why), "%s: %s", k->url, safe);
	k->member = etcd_member_next(c, k->member);
	if (++k->tried < c->ep.n) {
		attempt(k);
		return;
	}
	k->tried = 0;
	wait = ROUND_WAIT_MS << (k->rounds < 4 ? k->rounds : 4);
	k->rounds++;
	etcd_wake_at(c, &k->wake, wait < ROUND_WAIT_MAX ? wait :
	    ROUND_WAIT_MAX, on_round);
}

static void
on_answer(void *arg, const struct etcd_http_outcome *o)
{
	struct etcd_call *k = arg;
	struct etcd_reply r;
	struct answers a;
	struct etcd_error e;
	char why[ETCD_ERRMSG_MAX + 32];

	k->x = NULL;
	etcd_member_outcome(k->c, k->member, o);
	if (o->result != ETCD_HTTP_OK) {
		member_failed(k, o->err);
		return;
	}
	memset(&r, 0, sizeof(r));
	memset(&a, 0, sizeof(a));
	if (kinds[k->kind].parse(o->body, o->len, &a, &r, &e) == 0) {
		k->c->preferred = k->member;
		finish(k, &r);
		etcd_txn_result_free(&a.txn);
		etcd_range_result_free(&a.range);
		return;
	}
	if (e.kind == ETCD_E_SERVER && e.code != ETCD_GRPC_UNAVAILABLE &&
	    e.code != ETCD_GRPC_DEADLINE) {
		r.status = ETCD_REFUSED;
		r.grpc_code = e.code;
		r.err = e.msg;
		finish(k, &r);
		return;
	}
	if (e.kind == ETCD_E_SERVER)
		member_failed(k, e.msg);
	else {
		snprintf(why, sizeof(why), "HTTP %ld, %s", o->status, e.msg);
		member_failed(k, why);
	}
}

static void
attempt(struct etcd_call *k)
{
	struct etcd_client *c = k->c;
	struct etcd_http_req q;
	uint64_t now = uv_now(c->loop), left;
	char url[ETCD_URL_MAX + 32], why[sizeof(k->why) + 64];

	if (now >= k->deadline) {
		snprintf(why, sizeof(why), "no etcd member answered in %u ms "
		    "(last: %s)", c->opts.call_ms, k->why);
		finish_status(k, ETCD_UNAVAILABLE, why);
		return;
	}
	left = k->deadline - now;
	snprintf(k->url, sizeof(k->url), "%s", c->ep.url[k->member]);
	etcd_member_url(c, k->member, kinds[k->kind].path, url, sizeof(url));
	memset(&q, 0, sizeof(q));
	q.url = url;
	q.body = malloc(k->len + 1);
	if (q.body != NULL)
		memcpy(q.body, k->body, k->len + 1);
	q.bodylen = k->len;
	q.max = ETCD_RESP_MAX;
	q.timeout_ms = (unsigned)(left < c->opts.attempt_ms ? left :
	    c->opts.attempt_ms);
	q.connect_ms = q.timeout_ms < c->opts.connect_ms ? q.timeout_ms :
	    c->opts.connect_ms;
	q.require_leader = true;
	q.done = on_answer;
	q.arg = k;
	if (q.body == NULL || (k->x = etcd_http_post(c->http, &q)) == NULL)
		finish_status(k, ETCD_UNAVAILABLE, "out of memory");
}

static void
on_round(struct etcd_wake *w)
{
	attempt((struct etcd_call *)((char *)w -
	    offsetof(struct etcd_call, wake)));
}

int
etcd_call(struct etcd_client *c, enum etcd_call_kind kind, char *body,
    unsigned call_ms, etcd_cb cb, void *arg, char *err, size_t errlen)
{
	struct etcd_call *k;

	if (body == NULL)
		return -1;
	if (c->closing || (k = calloc(1, sizeof(*k))) == NULL) {
		seterr(err, errlen, c->closing ? "the etcd client is closing" :
		    "out of memory");
		free(body);
		return -1;
	}
	k->c = c;
	k->kind = kind;
	k->body = body;
	k->len = strlen(body);
	k->cb = cb;
	k->arg = arg;
	k->deadline = uv_now(c->loop) + (call_ms != 0 ? call_ms :
	    c->opts.call_ms);
	k->member = c->preferred;
	snprintf(k->why, sizeof(k->why), "none tried");
	LIST_INSERT_HEAD(&c->calls, k, entry);
	/* the first attempt from the loop: cb never runs inside the call */
	etcd_wake_at(c, &k->wake, 0, on_round);
	return 0;
}

int
etcd_put_if_absent(struct etcd_client *c, const char *key, const void *val,
    size_t vallen, int64_t lease, etcd_cb cb, void *arg, char *err,
    size_t errlen)
{
	return etcd_call(c, ETCD_CALL_TXN, etcd_req_put_if_absent(key, val,
	    vallen, lease, err, errlen), 0, cb, arg, err, errlen);
}

int
etcd_cas(struct etcd_client *c, const char *key, int64_t mod_revision,
    const void *val, size_t vallen, int64_t lease, etcd_cb cb, void *arg,
    char *err, size_t errlen)
{
	return etcd_call(c, ETCD_CALL_TXN, etcd_req_cas(key, mod_revision, val,
	    vallen, lease, err, errlen), 0, cb, arg, err, errlen);
}

int
etcd_delete_if(struct etcd_client *c, const char *key, int64_t mod_revision,
    etcd_cb cb, void *arg, char *err, size_t errlen)
{
	return etcd_call(c, ETCD_CALL_TXN, etcd_req_delete_if(key,
	    mod_revision, err, errlen), 0, cb, arg, err, errlen);
}

int
etcd_range_prefix(struct etcd_client *c, const char *prefix,
    const char *after, int64_t limit, int64_t revision, etcd_cb cb,
    void *arg, char *err, size_t errlen)
{
	return etcd_call(c, ETCD_CALL_RANGE, etcd_req_range_prefix(prefix,
	    after, limit, revision, err, errlen), 0, cb, arg, err, errlen);
}

int
etcd_lease_grant(struct etcd_client *c, int64_t ttl, etcd_cb cb, void *arg,
    char *err, size_t errlen)
{
	return etcd_call(c, ETCD_CALL_GRANT, etcd_req_lease_grant(ttl, 0, err,
	    errlen), 0, cb, arg, err, errlen);
}

int
etcd_lease_keepalive(struct etcd_client *c, int64_t id, etcd_cb cb,
    void *arg, char *err, size_t errlen)
{
	return etcd_call(c, ETCD_CALL_KEEPALIVE, etcd_req_lease_keepalive(id,
	    err, errlen), 0, cb, arg, err, errlen);
}

int
etcd_lease_revoke(struct etcd_client *c, int64_t id, etcd_cb cb, void *arg,
    char *err, size_t errlen)
{
	return etcd_call(c, ETCD_CALL_REVOKE, etcd_req_lease_revoke(id, err,
	    errlen), 0, cb, arg, err, errlen);
}

int
etcd_client_new(uv_loop_t *loop, const char *spec,
    const struct etcd_client_opts *opts, struct etcd_client **out,
    char *err, size_t errlen)
{
	struct etcd_client *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (etcd_endpoints_parse(spec, &c->ep, err, errlen) != 0 ||
	    etcd_http_new(loop, opts != NULL ? opts->tls : NULL, &c->http,
	    err, errlen) != 0) {
		free(c);
		return -1;
	}
	c->loop = loop;
	if (opts != NULL)
		c->opts = *opts;
	c->opts.tls = NULL;	/* http has its copy */
	if (c->opts.attempt_ms == 0)
		c->opts.attempt_ms = ATTEMPT_MS;
	if (c->opts.call_ms == 0)
		c->opts.call_ms = CALL_MS;
	if (c->opts.connect_ms == 0)
		c->opts.connect_ms = CONNECT_MS;
	LIST_INIT(&c->wakes);
	LIST_INIT(&c->calls);
	LIST_INIT(&c->watchers);
	LIST_INIT(&c->keepers);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->pending = 2;
	*out = c;
	return 0;
}

static void
part_closed(void *arg)
{
	struct etcd_client *c = arg;

	if (--c->pending > 0)
		return;
	if (c->closed != NULL)
		c->closed(c->closed_arg);
	free(c);
}

static void
timer_closed(uv_handle_t *h)
{
	part_closed(h->data);
}

void
etcd_client_close(struct etcd_client *c, void (*closed)(void *), void *arg)
{
	struct etcd_call *k;

	if (c->closing)
		return;
	c->closing = true;
	c->closed = closed;
	c->closed_arg = arg;
	/* each callback may start nothing new (closing) but may stop a
	 * watcher or keeper: those go after */
	while ((k = LIST_FIRST(&c->calls)) != NULL)
		finish_status(k, ETCD_CANCELED, "the etcd client was closed");
	etcd_keepers_abandon(c);
	etcd_watchers_abandon(c);
	uv_close((uv_handle_t *)&c->timer, timer_closed);
	etcd_http_close(c->http, part_closed, c);
}
