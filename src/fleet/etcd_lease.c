/* The node's lease, kept alive (fleet/etcd_client.h): a grant, then a
 * keepalive every third of the TTL; a lease that etcd says is gone, or
 * that went a whole TTL without a keepalive that succeeded, is lost and
 * replaced by a new one. */
#include "fleet/etcd_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

#define GRANT_RETRY_MS	500	/* after a failed grant, doubling */

struct etcd_lease_keeper {
	LIST_ENTRY(etcd_lease_keeper) entry;
	struct etcd_client *c;
	int64_t		 ttl_asked;
	int64_t		 id;		/* 0: none held */
	int64_t		 ttl;		/* as granted */
	uint64_t	 ok_at;		/* the last keepalive that succeeded
					 * was sent then (uv_now) */
	uint64_t	 sent_at;
	bool		 busy;		/* a call is outstanding */
	int		 fails;		/* grants failed in a row */
	struct etcd_wake wake;
	etcd_lease_cb	 cb;
	void		*arg;
	int		 in_cb;
	bool		 dead;		/* abandoned inside cb */
	bool		 stopping;
	void		(*done)(void *arg, int status);
	void		*done_arg;
};

static void	tick(struct etcd_wake *wk);
static void	grant(struct etcd_lease_keeper *k);

static void
keeper_free(struct etcd_lease_keeper *k)
{
	LIST_REMOVE(k, entry);
	etcd_wake_cancel(k->c, &k->wake);
	free(k);
}

/* A third of the TTL, in milliseconds. */
static uint64_t
interval(const struct etcd_lease_keeper *k)
{
	int64_t ttl = k->ttl > 0 ? k->ttl : k->ttl_asked;

	return (uint64_t)ttl * 1000 / 3;
}

/* Calls the owner; false when k is gone since. */
static bool
note(struct etcd_lease_keeper *k, enum etcd_lease_event ev, int64_t id,
    const char *why)
{
	if (k->stopping)
		return true;
	k->in_cb++;
	k->cb(k->arg, ev, id, why);
	k->in_cb--;
	if (k->dead && k->in_cb == 0) {
		keeper_free(k);
		return false;
	}
	return true;
}

static void
stopped(struct etcd_lease_keeper *k, int status)
{
	void (*done)(void *, int) = k->done;
	void *arg = k->done_arg;

	keeper_free(k);
	if (done != NULL)
		done(arg, status);
}

static void
on_revoked(void *arg, const struct etcd_reply *r)
{
	struct etcd_lease_keeper *k = arg;

	if (r->status != ETCD_OK)
		log_info("etcd lease %lld not revoked: %s", (long long)k->id,
		    r->err);
	/* etcd no longer knowing it is as good as revoked */
	stopped(k, r->status == ETCD_REFUSED &&
	    r->grpc_code == ETCD_GRPC_NOT_FOUND ? ETCD_OK : r->status);
}

/* Stopping, nothing outstanding: revoke what is held. */
static void
finish_stop(struct etcd_lease_keeper *k)
{
	char err[256];

	if (k->id == 0) {
		stopped(k, ETCD_OK);
		return;
	}
	k->busy = true;
	if (etcd_lease_revoke(k->c, k->id, on_revoked, k, err,
	    sizeof(err)) != 0)
		stopped(k, ETCD_CANCELED);
}

static void
lost(struct etcd_lease_keeper *k, const char *why)
{
	int64_t old = k->id;

	log_info("etcd lease %lld lost: %s", (long long)old, why);
	k->id = 0;
	/* a keepalive still out grants when it comes back */
	if (note(k, ETCD_LEASE_LOST, old, why) && !k->busy)
		grant(k);
}

static void
on_granted(void *arg, const struct etcd_reply *r)
{
	struct etcd_lease_keeper *k = arg;
	unsigned wait;

	k->busy = false;
	if (r->status == ETCD_OK) {
		k->id = r->lease->id;
		k->ttl = r->lease->ttl;
		k->ok_at = k->sent_at;
		k->fails = 0;
	}
	if (k->stopping) {
		finish_stop(k);
		return;
	}
	if (r->status == ETCD_CANCELED)
		return;
	if (r->status != ETCD_OK) {
		log_info("etcd lease not granted: %s", r->err);
		if (!note(k, ETCD_LEASE_WAITING, 0, r->err))
			return;
		wait = GRANT_RETRY_MS << (k->fails < 6 ? k->fails : 6);
		k->fails++;
		etcd_wake_at(k->c, &k->wake, wait < interval(k) ? wait :
		    interval(k), tick);
		return;
	}
	log_verbose("etcd lease %lld granted for %lld s", (long long)k->id,
	    (long long)k->ttl);
	if (note(k, ETCD_LEASE_GRANTED, k->id, ""))
		etcd_wake_at(k->c, &k->wake, interval(k), tick);
}

static void
grant(struct etcd_lease_keeper *k)
{
	char err[256];

	k->busy = true;
	k->sent_at = uv_now(k->c->loop);
	if (etcd_lease_grant(k->c, k->ttl_asked, on_granted, k, err,
	    sizeof(err)) != 0) {
		k->busy = false;
		etcd_wake_at(k->c, &k->wake, GRANT_RETRY_MS, tick);
	}
}

static void
on_kept(void *arg, const struct etcd_reply *r)
{
	struct etcd_lease_keeper *k = arg;
	char why[128];

	k->busy = false;
	if (k->stopping) {
		finish_stop(k);
		return;
	}
	if (r->status == ETCD_CANCELED)
		return;
	if (k->id == 0) {
		/* lost while it was out */
		grant(k);
		return;
	}
	if (r->status == ETCD_OK && r->lease->ttl > 0)
		k->ok_at = k->sent_at;
	else if (r->status == ETCD_OK) {
		snprintf(why, sizeof(why), "etcd says lease %lld is gone",
		    (long long)k->id);
		lost(k, why);
	} else
		log_verbose("etcd keepalive of lease %lld: %s",
		    (long long)k->id, r->err);
}

/* Every third of the TTL: a keepalive, or the finding that the lease
 * went a whole TTL without one. */
static void
tick(struct etcd_wake *wk)
{
	struct etcd_lease_keeper *k = (struct etcd_lease_keeper *)((char *)wk -
	    offsetof(struct etcd_lease_keeper, wake));
	uint64_t now = uv_now(k->c->loop);
	char why[128], err[256];

	if (k->stopping) {
		finish_stop(k);
		return;
	}
	if (k->id != 0 && now - k->ok_at >= (uint64_t)k->ttl * 1000) {
		snprintf(why, sizeof(why), "no keepalive succeeded for %lld s",
		    (long long)k->ttl);
		lost(k, why);
		return;
	}
	etcd_wake_at(k->c, &k->wake, interval(k), tick);
	if (k->busy)
		return;
	if (k->id == 0) {
		grant(k);
		return;
	}
	k->busy = true;
	k->sent_at = now;
	if (etcd_call(k->c, ETCD_CALL_KEEPALIVE, etcd_req_lease_keepalive(k->id,
	    err, sizeof(err)), (unsigned)interval(k), on_kept, k, err,
	    sizeof(err)) != 0)
		k->busy = false;
}

int
etcd_lease_keeper_start(struct etcd_client *c, int64_t ttl, etcd_lease_cb cb,
    void *arg, struct etcd_lease_keeper **out, char *err, size_t errlen)
{
	struct etcd_lease_keeper *k;
	char *probe;

	*out = NULL;
	if ((probe = etcd_req_lease_grant(ttl, 0, err, errlen)) == NULL)
		return -1;
	free(probe);
	if (c->closing || (k = calloc(1, sizeof(*k))) == NULL) {
		seterr(err, errlen, c->closing ? "the etcd client is closing" :
		    "out of memory");
		return -1;
	}
	k->c = c;
	k->ttl_asked = ttl;
	k->cb = cb;
	k->arg = arg;
	LIST_INSERT_HEAD(&c->keepers, k, entry);
	etcd_wake_at(c, &k->wake, 0, tick);
	*out = k;
	return 0;
}

int64_t
etcd_lease_keeper_id(const struct etcd_lease_keeper *k)
{
	return k->id;
}

void
etcd_lease_keeper_stop(struct etcd_lease_keeper *k,
    void (*done)(void *arg, int status), void *arg)
{
	if (k->stopping)
		return;
	k->stopping = true;
	k->done = done;
	k->done_arg = arg;
	/* from the loop, never inside this call: at once unless a call is
	 * out (its answer goes on with the stop) */
	if (!k->busy)
		etcd_wake_at(k->c, &k->wake, 0, tick);
	else
		etcd_wake_cancel(k->c, &k->wake);
}

void
etcd_keepers_abandon(struct etcd_client *c)
{
	struct etcd_lease_keeper *k, *next;

	for (k = LIST_FIRST(&c->keepers); k != NULL; k = next) {
		next = LIST_NEXT(k, entry);
		if (k->stopping)
			stopped(k, ETCD_CANCELED);
		else if (k->in_cb > 0)
			k->dead = true;
		else
			keeper_free(k);
	}
}
