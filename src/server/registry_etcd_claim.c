/* A fleet-wide forward's claim on etcd (registry_etcd_int.h), on loop 0:
 *   port 0   the held ports of ClusterPortRange are listed (a range of
 *            <prefix>/fwd/tcp/, page by page) and a free one is tried
 *   claim    put-if-absent of the record, on the node's lease
 *   held     by this very session (a retried attempt): ours; by an older
 *            session of the same user and key (ReclaimForwards), on any
 *            node: compare-and-swap on the record's mod_revision, without
 *            waiting for the old node's lease; by anyone else: refused,
 *            naming the node (port 0 tries another port)
 *   won      the table of this node's forwards says so; a session of
 *            this node that held the port gives it up on its loop first,
 *            then the answer goes to the claimant's loop
 * Every step is bounded: CLAIM_TRIES attempts, LIST_PAGES pages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/loops.h"
#include "server/registry_etcd_int.h"
#include "util/log.h"

#define CLAIM_TRIES	8
#define LIST_PAGES	256

struct cjob {
	struct ereg	*e;
	struct wide_claim c;
	registry_wide_cb cb;
	void		*arg;
	int		 tries;
	int		 port;		/* the one tried */
	uint8_t		*used;		/* port 0: held ports of the range */
	int		 pages;
	int64_t		 list_rev;	/* the listing's snapshot */
	struct ereg_rec	 prev;		/* the record taken over */
	struct wide_answer a;
	char		 val[ETCD_VALUE_MAX];	/* the record written */
	size_t		 vallen;
};

static void
deliver(struct srv_loop *l, void *arg)
{
	struct cjob *j = arg;

	(void)l;
	log_debug("fleet: claim of port %d for session %llu: %s", j->port,
	    (unsigned long long)j->c.me.session, j->a.status == 0 ? "held" :
	    j->a.why);
	j->cb(j->arg, &j->a);
	free(j->used);
	free(j);
}

/* The answer goes to the claimant's loop (a loop that is gone gets
 * none; a port won then is released). */
static void
answer(struct cjob *j)
{
	if (srv_loop_call(j->c.me.loop, deliver, j) == 0)
		return;
	if (j->a.status == 0)
		j->e->r.ops->release_wide(&j->e->r, j->a.port,
		    j->c.me.session);
	free(j->used);
	free(j);
}

static void __attribute__((format(printf, 2, 3)))
refuse(struct cjob *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->a.why, sizeof(j->a.why), fmt, ap);
	va_end(ap);
	j->a.status = -1;
	answer(j);
}

static void
unavailable(struct cjob *j, const struct etcd_reply *r)
{
	refuse(j, "the fleet registry is unavailable (%s)", r->err);
}

static void
key_of(const struct cjob *j, char *key, size_t keylen)
{
	snprintf(key, keylen, "%s%d", j->e->keydir, j->port);
}

static void put(struct cjob *j);

/* this session holds the port now (its record at rev) */
static void
won(struct cjob *j, int64_t rev)
{
	struct ereg_held prev;
	char why[300];

	j->a.status = 0;
	j->a.port = j->port;
	if (ereg_held_set(j->e, j->port, j->c.me.session, j->c.me.loop, rev,
	    j->val, j->vallen, &prev) != 0) {
		refuse(j, "out of memory");
		return;
	}
	snprintf(why, sizeof(why), "a newer session of the same key on node "
	    "%s", j->e->node);
	ereg_drop_then(j->e, &prev, why, j->c.me.loop, deliver, j);
}

static void
swapped(void *arg, const struct etcd_reply *r)
{
	struct cjob *j = arg;

	if (r->status != ETCD_OK)
		unavailable(j, r);
	else if (r->txn->succeeded) {
		log_info("fleet: port %d taken over by %s's session %llu from "
		    "node %s's session %llu (same key %s)", j->port,
		    j->c.me.user, (unsigned long long)j->c.me.session,
		    j->prev.node, (unsigned long long)j->prev.session,
		    j->c.me.key_fp);
		won(j, r->txn->hdr.revision);
	} else if (++j->tries < CLAIM_TRIES)
		put(j);
	else
		refuse(j, "port %d changed hands too often; try again",
		    j->port);
}

/* Whether the record's holder gives way to j: the same user and key,
 * from an older session. */
static bool
yields(const struct cjob *j, const struct ereg_rec *h)
{
	return j->c.reclaim && strcmp(h->user, j->c.me.user) == 0 &&
	    strcmp(h->key_fp, j->c.me.key_fp) == 0 && h->epoch < j->c.epoch;
}

static void pick(struct cjob *j);

static void
held(struct cjob *j, const struct etcd_kv *kv)
{
	char key[EREG_KEYDIR_MAX + 8], err[200];
	struct ereg_rec *h = &j->prev;
	size_t n;

	if (ereg_rec_decode(kv->value, kv->valuelen, h) != 0) {
		refuse(j, "its record in the fleet registry (port %d) is not "
		    "ferryd's", j->port);
		return;
	}
	if (strcmp(h->node, j->e->node) == 0 && h->session ==
	    j->c.me.session) {
		won(j, kv->mod_revision);
		return;
	}
	if (yields(j, h)) {
		key_of(j, key, sizeof(key));
		if ((n = j->vallen = ereg_rec_encode(j->e, &j->c, j->val,
		    sizeof(j->val))) == 0 ||
		    etcd_cas(j->e->ec, key, kv->mod_revision, j->val, n,
		    j->e->lease, swapped, j, err, sizeof(err)) != 0)
			refuse(j, "port %d: %s", j->port, n ? err : "record "
			    "too long");
		return;
	}
	if (j->c.port == 0 && j->used != NULL && ++j->tries < CLAIM_TRIES) {
		j->used[j->port - j->e->low] = 1;
		pick(j);
		return;
	}
	if (strcmp(h->user, j->c.me.user) == 0 && strcmp(h->key_fp,
	    j->c.me.key_fp) == 0)
		refuse(j, "held by node %s for %s", h->node,
		    j->c.reclaim ? "a newer session of the same key" :
		    "another session (ReclaimForwards no)");
	else
		refuse(j, "held by node %s for another key", h->node);
}

static void
put_done(void *arg, const struct etcd_reply *r)
{
	struct cjob *j = arg;

	if (r->status != ETCD_OK)
		unavailable(j, r);
	else if (r->txn->succeeded)
		won(j, r->txn->hdr.revision);
	else if (r->txn->has_kv)
		held(j, &r->txn->kv);
	else if (++j->tries < CLAIM_TRIES)
		put(j);
	else
		refuse(j, "port %d changed hands too often; try again",
		    j->port);
}

static void
put(struct cjob *j)
{
	char key[EREG_KEYDIR_MAX + 8], err[300];
	int64_t lease;
	size_t n;

	uv_mutex_lock(&j->e->lock);
	lease = j->e->lease;
	snprintf(err, sizeof(err), "%s", j->e->lease_why);
	uv_mutex_unlock(&j->e->lock);
	if (lease == 0 || j->e->stopping) {
		refuse(j, "the fleet registry is unavailable (%s)",
		    j->e->stopping ? "this node is leaving the fleet" : err);
		return;
	}
	if (ereg_settings_refuse(j->e, err, sizeof(err))) {
		refuse(j, "%s", err);
		return;
	}
	key_of(j, key, sizeof(key));
	if ((n = j->vallen = ereg_rec_encode(j->e, &j->c, j->val,
	    sizeof(j->val))) == 0 ||
	    etcd_put_if_absent(j->e->ec, key, j->val, n, lease, put_done, j,
	    err, sizeof(err)) != 0)
		refuse(j, "port %d: %s", j->port, n ? err : "record too long");
}

/* Port 0: a free port of the range, from a place that varies with the
 * claim so that nodes asking at once rarely meet. */
static void
pick(struct cjob *j)
{
	int span = j->e->high - j->e->low + 1, i, at;

	at = (int)((uv_hrtime() / 1000 + j->c.me.session * 7919) %
	    (uint64_t)span);
	for (i = 0; i < span; i++, at = (at + 1) % span)
		if (!j->used[at]) {
			j->port = j->e->low + at;
			put(j);
			return;
		}
	refuse(j, "no port of ClusterPortRange %d-%d is free in the fleet",
	    j->e->low, j->e->high);
}

static void list_page(struct cjob *j, const char *after);

static void
listed(void *arg, const struct etcd_reply *r)
{
	struct cjob *j = arg;
	const struct etcd_range_result *rr = r->range;
	size_t i;
	int p;

	if (r->status != ETCD_OK) {
		unavailable(j, r);
		return;
	}
	for (i = 0; i < rr->nkvs; i++)
		if ((p = ereg_key_port(j->e, rr->kvs[i].key)) >= j->e->low &&
		    p <= j->e->high)
			j->used[p - j->e->low] = 1;
	if (j->pages == 1)
		j->list_rev = rr->hdr.revision;
	if (rr->more && rr->nkvs > 0 && j->pages < LIST_PAGES)
		list_page(j, rr->kvs[rr->nkvs - 1].key);
	else
		pick(j);
}

static void
list_page(struct cjob *j, const char *after)
{
	char err[200];

	j->pages++;
	if (etcd_range_prefix(j->e->ec, j->e->keydir, after,
	    ETCD_RANGE_LIMIT_MAX, j->list_rev, listed, j, err,
	    sizeof(err)) != 0)
		refuse(j, "the fleet registry: %s", err);
}

static void
start(struct srv_loop *l, void *arg)
{
	struct cjob *j = arg;

	(void)l;
	log_debug("fleet: claim of port %d for session %llu", j->c.port,
	    (unsigned long long)j->c.me.session);
	if (j->e->stopping)
		refuse(j, "the fleet registry is unavailable (this node is "
		    "leaving the fleet)");
	else if (j->c.port == 0)
		list_page(j, NULL);
	else
		put(j);
}

int
ereg_claim_wide(struct registry *r, const struct wide_claim *c,
    registry_wide_cb cb, void *arg, char *why, size_t whylen)
{
	struct ereg *e = (struct ereg *)r;
	struct cjob *j;

	if (c->port == 0 && e->low == 0) {
		snprintf(why, whylen, "port 0 needs a ClusterPortRange to "
		    "choose from (ClusterPortRange none)");
		return -1;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL || (c->port == 0 &&
	    (j->used = calloc((size_t)(e->high - e->low + 1), 1)) == NULL)) {
		free(j);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	j->e = e;
	j->c = *c;
	j->cb = cb;
	j->arg = arg;
	j->port = c->port;
	if (srv_loop_call(e->loop0, start, j) != 0) {
		free(j->used);
		free(j);
		snprintf(why, whylen, "this node is stopping");
		return -1;
	}
	return 0;
}
