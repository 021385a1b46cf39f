/* A watch that outlives its etcd member (fleet/etcd_client.h): one
 * streamed POST to /v3/watch at a time, parsed as it comes
 * (fleet/etcd.h's watch parser); when the stream ends it starts again on
 * the next member from the revision after the last it delivered.
 * A member whose host vanished (or froze) without closing its
 * connections, or that is cut off from the others, ends no stream: it
 * just sends nothing more. So while a stream is up its member is asked
 * for a one-key range (a linearizable read) every PROBE_MS; a member
 * that does not answer it within the attempt time ends the stream. */
#include "fleet/etcd_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "util/text.h"

#define RETRY_MS	100	/* after a stream that never started, doubling */
#define RETRY_MAX	2000
#define GONE		(-2)	/* the watcher was freed */
#define PROBE_MS	2000	/* a live stream's member is asked this often */

struct etcd_watcher {
	LIST_ENTRY(etcd_watcher) entry;
	struct etcd_client *c;
	char		 prefix[ETCD_KEY_MAX + 1];
	bool		 prev_kv;
	int64_t		 next_rev;	/* where a new stream starts */
	int		 member;
	struct etcd_http_xfer *x;	/* the stream, NULL between two */
	struct etcd_http_xfer *probe;	/* asks the stream's member */
	struct etcd_wake probe_wake;	/* the next probe */
	struct etcd_watch_parser p;
	bool		 created;	/* this stream was accepted */
	int		 fails;		/* streams in a row not accepted */
	int		 status;	/* why this stream ends, if known */
	char		 why[ETCD_ERRMSG_MAX + 64];
	struct etcd_wake wake;
	etcd_watch_cb	 cb;
	void		*arg;
	int		 in_cb;
	bool		 dead;		/* stopped inside cb: freed after it */
};

static void	start_stream(struct etcd_watcher *w);
static void	resume(struct etcd_watcher *w, const char *why);

static void
probe_stop(struct etcd_watcher *w)
{
	etcd_wake_cancel(w->c, &w->probe_wake);
	if (w->probe != NULL)
		etcd_http_cancel(w->probe);
	w->probe = NULL;
}

static void
watcher_free(struct etcd_watcher *w)
{
	LIST_REMOVE(w, entry);
	etcd_wake_cancel(w->c, &w->wake);
	probe_stop(w);
	if (w->x != NULL)
		etcd_http_cancel(w->x);
	etcd_watch_parser_free(&w->p);
	free(w);
}

/* Calls the owner; false when w is gone since (stopped inside). */
static bool
note(struct etcd_watcher *w, const struct etcd_watch_note *n)
{
	w->in_cb++;
	w->cb(w->arg, n);
	w->in_cb--;
	if (w->dead && w->in_cb == 0) {
		watcher_free(w);
		return false;
	}
	return !w->dead;
}

static void
end(struct etcd_watcher *w, int status, const char *why)
{
	struct etcd_watch_note n;

	memset(&n, 0, sizeof(n));
	n.kind = ETCD_WATCH_END;
	n.member = w->c->ep.url[w->member];
	n.next_rev = w->next_rev;
	n.status = status;
	n.err = why;
	log_info("etcd watch on %s ended: %s", w->prefix, why);
	if (note(w, &n))
		watcher_free(w);
}

static void	on_probe(struct etcd_wake *wk);

/* The member answered the probe (an HTTP 200): the stream stays, and is
 * probed again later; else it goes, and the watch resumes elsewhere. */
static void
probed(void *arg, const struct etcd_http_outcome *o)
{
	struct etcd_watcher *w = arg;

	w->probe = NULL;
	if (o->result == ETCD_HTTP_OK && o->status == 200) {
		etcd_wake_at(w->c, &w->probe_wake, PROBE_MS, on_probe);
		return;
	}
	if (o->result == ETCD_HTTP_OK)
		snprintf(w->why, sizeof(w->why), "the member answered a probe "
		    "with HTTP %ld", o->status);
	else
		snprintf(w->why, sizeof(w->why), "the member did not answer a "
		    "probe: %s", o->err);
	if (w->x != NULL)
		etcd_http_cancel(w->x);
	w->x = NULL;
	resume(w, w->why);
}

static void
on_probe(struct etcd_wake *wk)
{
	struct etcd_watcher *w = (struct etcd_watcher *)((char *)wk -
	    offsetof(struct etcd_watcher, probe_wake));
	struct etcd_client *c = w->c;
	struct etcd_http_req q;
	char url[ETCD_URL_MAX + 32], err[128];

	if (w->x == NULL)
		return;
	memset(&q, 0, sizeof(q));
	etcd_member_url(c, w->member, ETCD_PATH_RANGE, url, sizeof(url));
	q.url = url;
	/* the prefix passed the same builder's checks at the start */
	if ((q.body = etcd_req_range_prefix(w->prefix, NULL, 1, 0, err,
	    sizeof(err))) == NULL)
		return;
	q.bodylen = strlen(q.body);
	q.max = ETCD_RESP_MAX;
	q.timeout_ms = c->opts.attempt_ms;
	q.connect_ms = c->opts.connect_ms;
	q.done = probed;
	q.arg = w;
	w->probe = etcd_http_post(c->http, &q);
}

static void
on_retry(struct etcd_wake *wk)
{
	start_stream((struct etcd_watcher *)((char *)wk -
	    offsetof(struct etcd_watcher, wake)));
}

/* The stream ended for why: on to the next member. */
static void
resume(struct etcd_watcher *w, const char *why)
{
	struct etcd_watch_note n;
	unsigned wait = 0;

	memset(&n, 0, sizeof(n));
	n.kind = ETCD_WATCH_RESUMING;
	n.member = w->c->ep.url[w->member];
	n.next_rev = w->next_rev;
	n.status = ETCD_UNAVAILABLE;
	n.err = why;
	log_verbose("etcd watch on %s at %s ended (%s); resuming from "
	    "revision %lld", w->prefix, n.member, why,
	    (long long)w->next_rev);
	if (!note(w, &n))
		return;
	w->member = etcd_member_next(w->c, w->member);
	if (!w->created) {
		wait = RETRY_MS << (w->fails < 5 ? w->fails : 5);
		w->fails++;
	}
	etcd_wake_at(w->c, &w->wake, wait < RETRY_MAX ? wait : RETRY_MAX,
	    on_retry);
}

/* One message: 0 to go on, -1 when the stream is to end (w->status and
 * w->why say how), GONE when w was stopped and freed in its cb. */
static int
message(struct etcd_watcher *w, const struct etcd_watch_msg *m)
{
	struct etcd_watch_note n;

	if (m->canceled) {
		w->status = m->compact_revision > 0 ? ETCD_COMPACTED :
		    ETCD_UNAVAILABLE;
		if (m->compact_revision > 0)
			snprintf(w->why, sizeof(w->why), "revision %lld was "
			    "compacted (the oldest left is %lld)",
			    (long long)w->next_rev,
			    (long long)m->compact_revision);
		else
			snprintf(w->why, sizeof(w->why), "canceled by etcd: %s",
			    m->cancel_reason[0] != '\0' ? m->cancel_reason :
			    "no reason given");
		return -1;
	}
	if (m->created) {
		w->created = true;
		w->fails = 0;
		etcd_wake_at(w->c, &w->probe_wake, PROBE_MS, on_probe);
	}
	w->next_rev = etcd_watch_next_rev(m, w->next_rev);
	memset(&n, 0, sizeof(n));
	n.kind = ETCD_WATCH_MSG;
	n.msg = m;
	n.member = w->c->ep.url[w->member];
	n.next_rev = w->next_rev;
	return note(w, &n) ? 0 : GONE;
}

/* Takes the complete messages out of the parser: as message(). */
static int
drain(struct etcd_watcher *w)
{
	struct etcd_watch_msg m;
	struct etcd_error e;
	int r;

	while ((r = etcd_watch_next(&w->p, &m, &e)) == 1) {
		r = message(w, &m);
		etcd_watch_msg_free(&m);
		if (r != 0)
			return r;
	}
	if (r < 0) {
		w->status = e.kind == ETCD_E_SERVER ? ETCD_UNAVAILABLE :
		    ETCD_BAD_ANSWER;
		snprintf(w->why, sizeof(w->why), "%s", e.msg);
		return -1;
	}
	return 0;
}

static int
on_data(void *arg, const char *data, size_t n)
{
	struct etcd_watcher *w = arg;
	size_t k;

	while (n > 0) {
		k = etcd_watch_feed(&w->p, data, n);
		data += k;
		n -= k;
		if (drain(w) != 0)
			return -1;
		if (k == 0) {
			w->status = ETCD_BAD_ANSWER;
			snprintf(w->why, sizeof(w->why), "a watch message over "
			    "%u bytes", ETCD_WATCH_MSG_MAX);
			return -1;
		}
	}
	return 0;
}

static void
on_end(void *arg, const struct etcd_http_outcome *o)
{
	struct etcd_watcher *w = arg;

	w->x = NULL;
	probe_stop(w);
	etcd_member_outcome(w->c, w->member, o);
	/* an error answered without a newline (HTTP 5xx) is still held */
	if (w->status == ETCD_OK && etcd_watch_feed(&w->p, "\n", 1) == 1 &&
	    drain(w) == GONE)
		return;
	if (w->status == ETCD_OK)
		text_safe(w->why, sizeof(w->why), o->result != ETCD_HTTP_OK ?
		    o->err : "the stream ended", false);
	/* what a member that never accepted the watch sends may not be
	 * etcd's (a proxy's page): only an accepted stream gone bad ends it */
	if (w->status == ETCD_COMPACTED || (w->status == ETCD_BAD_ANSWER &&
	    w->created))
		end(w, w->status, w->why);
	else
		resume(w, w->why);
}

static void
start_stream(struct etcd_watcher *w)
{
	struct etcd_client *c = w->c;
	struct etcd_http_req q;
	char url[ETCD_URL_MAX + 32], err[128];

	etcd_watch_parser_free(&w->p);
	etcd_watch_parser_init(&w->p);
	w->created = false;
	w->status = ETCD_OK;
	w->why[0] = '\0';
	memset(&q, 0, sizeof(q));
	etcd_member_url(c, w->member, ETCD_PATH_WATCH, url, sizeof(url));
	q.url = url;
	if ((q.body = etcd_req_watch_prefix(w->prefix, w->next_rev,
	    w->prev_kv, err, sizeof(err))) == NULL) {
		end(w, ETCD_BAD_ANSWER, err);
		return;
	}
	q.bodylen = strlen(q.body);
	q.connect_ms = c->opts.connect_ms;
	q.require_leader = true;
	q.data = on_data;
	q.done = on_end;
	q.arg = w;
	if ((w->x = etcd_http_post(c->http, &q)) == NULL)
		resume(w, "out of memory");
}

int
etcd_watch_start(struct etcd_client *c, const char *prefix,
    int64_t start_rev, bool prev_kv, etcd_watch_cb cb, void *arg,
    struct etcd_watcher **out, char *err, size_t errlen)
{
	struct etcd_watcher *w;
	char *probe;

	*out = NULL;
	/* the same checks as every later request */
	if ((probe = etcd_req_watch_prefix(prefix, start_rev, prev_kv, err,
	    errlen)) == NULL)
		return -1;
	free(probe);
	if (c->closing || (w = calloc(1, sizeof(*w))) == NULL) {
		seterr(err, errlen, c->closing ? "the etcd client is closing" :
		    "out of memory");
		return -1;
	}
	w->c = c;
	snprintf(w->prefix, sizeof(w->prefix), "%s", prefix);
	w->prev_kv = prev_kv;
	w->next_rev = start_rev;
	w->member = c->preferred;
	w->cb = cb;
	w->arg = arg;
	etcd_watch_parser_init(&w->p);
	LIST_INSERT_HEAD(&c->watchers, w, entry);
	etcd_wake_at(c, &w->wake, 0, on_retry);
	*out = w;
	return 0;
}

void
etcd_watch_stop(struct etcd_watcher *w)
{
	if (w->dead)
		return;
	if (w->in_cb > 0) {
		w->dead = true;
		etcd_wake_cancel(w->c, &w->wake);
		probe_stop(w);
		return;
	}
	watcher_free(w);
}

void
etcd_watchers_abandon(struct etcd_client *c)
{
	struct etcd_watcher *w, *next;

	for (w = LIST_FIRST(&c->watchers); w != NULL; w = next) {
		next = LIST_NEXT(w, entry);
		etcd_watch_stop(w);
	}
}
