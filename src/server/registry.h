/* ferryd's forward registry: which session holds which remote TCP forward
 * (by the bind address as the client asked for it and a non-zero port),
 * the record behind ReclaimForwards. One interface, so that a fleet of
 * ferryd nodes can put a shared record behind it (issue "ferryd nodes act
 * as one"); the in-process implementation is registry_local.c, a hash
 * table under its own lock, shared by every event loop.
 *
 * A claim is create-if-absent: it succeeds when nobody holds the forward
 * (or the claimant itself does), else it fails and says who holds it. The
 * holder gives it up with registry_release once its listener is gone;
 * only the session that holds a forward may release it. Port 0 requests
 * are never recorded (the kernel picks a port nobody holds).
 *
 * Fleet-wide forwards (ClusterRegistry; issue 14): a registry shared by
 * several ferryd nodes (registry_etcd.c) also records the forwards bound
 * to every address, by port alone, for the whole fleet. Their claim is
 * asynchronous: claim_wide returns at once and its answer comes later,
 * on the claimant's loop (the session defers its request meanwhile). A
 * node whose fleet-wide forward another session took (a newer session
 * of the same user and key, on any node) is told through the drop
 * function it was made with, on the holder's loop. The in-process
 * registry has no claim_wide (registry_is_fleet false).
 *
 * Ownership: the caller owns struct registry (ferryd's, as long as the
 * process); records are the registry's. Calls are safe from any loop;
 * stop only from loop 0. */
#ifndef FERRY_SERVER_REGISTRY_H
#define FERRY_SERVER_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

struct srv_loop;

/* Who holds a forward: enough to decide a take-over and to reach the
 * holder's loop. */
struct fwd_owner {
	uint64_t	 session;	/* the session's id, unique in ferryd */
	struct srv_loop	*loop;		/* the loop serving it */
	char		 user[256];
	char		 key_fp[128];	/* the key that logged in */
	char		 ip[64];	/* the client's address and port */
	int		 port;
};

/* A fleet-wide forward asked for. */
struct wide_claim {
	struct fwd_owner me;
	uint64_t	 epoch;		/* the session's start on the
					 * process's hybrid logical clock
					 * (util/hlc.h): the newer wins */
	int		 port;		/* 0: a free port of ClusterPortRange */
	char		 bind[256];	/* the address as the client asked */
	bool		 reclaim;	/* ReclaimForwards */
};

/* Its answer, given on the claimant's loop. */
struct wide_answer {
	int		 status;	/* 0: me holds port now; -1: refused */
	int		 port;
	char		 why[400];	/* refused: why, naming the holder */
};

typedef void	(*registry_wide_cb)(void *arg, const struct wide_answer *a);

/* On the holder's loop: session gives up its fleet-wide forward on port
 * (its record now belongs to another session; why says whose). */
typedef void	(*registry_drop_fn)(void *ctx, uint64_t session, int port,
		    const char *why);

struct registry;

struct registry_ops {
	/* 0: host:port is now me's (or was already); -1: another session
	 * holds it (copied to held); -2: out of memory */
	int	(*claim)(struct registry *r, const char *host, int port,
		    const struct fwd_owner *me, struct fwd_owner *held);
	/* The record of host:port goes, if session holds it. */
	void	(*release)(struct registry *r, const char *host, int port,
		    uint64_t session);
	void	(*free)(struct registry *r);
	/* Fleet registries only (else NULL). 0: cb(arg) runs later on
	 * c->me.loop (never when the claimant's loop is gone); -1: why. */
	int	(*claim_wide)(struct registry *r, const struct wide_claim *c,
		    registry_wide_cb cb, void *arg, char *why, size_t whylen);
	/* The record of port goes, if session holds it. */
	void	(*release_wide)(struct registry *r, int port,
		    uint64_t session);
	/* SIGTERM, on loop 0: the node leaves the fleet (its lease is
	 * revoked, so its records go at once) and lets loop 0 end. */
	void	(*stop)(struct registry *r);
};

struct registry {
	const struct registry_ops *ops;
};

/* The in-process registry (registry_local.c): NULL when out of memory. */
struct registry *registry_local_new(void);

struct server_config;
struct fleet_settings;

/* The fleet's registry on etcd (registry_etcd.c), for ClusterRegistry
 * etcd:...: node-local forwards go to local (which it then owns), the
 * fleet-wide ones to etcd, whose calls run on loop0. drop(ctx) is how
 * it takes a forward from a session of this node. settings (copied) are
 * this node's fleet settings (fleet_settings.h), compared with the
 * fleet's once the node has a lease; reset makes them the fleet's
 * instead. NULL with err. */
struct registry *registry_etcd_new(struct srv_loop *loop0,
		    const struct server_config *c,
		    const struct fleet_settings *settings, bool reset,
		    struct registry *local, registry_drop_fn drop, void *ctx,
		    char *err, size_t errlen);
/* The verdict on the node's fleet settings at start: differ NULL when
 * they are the fleet's or etcd did not answer in time (they are checked
 * once it does, and a difference found then only refuses new fleet-wide
 * forwards); else the differing keywords with both values. */
typedef void	(*registry_settled_fn)(void *arg, const char *differ);

/* On loop 0, before it runs, on what registry_etcd_new made: settled
 * (arg) is called once, on loop 0, with the verdict, or after ms without
 * one; never after registry_stop. */
void	 registry_etcd_settle(struct registry *r, unsigned ms,
	    registry_settled_fn settled, void *arg);

static inline bool
registry_is_fleet(const struct registry *r)
{
	return r->ops->claim_wide != NULL;
}

static inline int
registry_claim_wide(struct registry *r, const struct wide_claim *c,
    registry_wide_cb cb, void *arg, char *why, size_t whylen)
{
	return r->ops->claim_wide(r, c, cb, arg, why, whylen);
}

static inline void
registry_release_wide(struct registry *r, int port, uint64_t session)
{
	if (r->ops->release_wide != NULL)
		r->ops->release_wide(r, port, session);
}

static inline void
registry_stop(struct registry *r)
{
	if (r != NULL && r->ops->stop != NULL)
		r->ops->stop(r);
}

static inline int
registry_claim(struct registry *r, const char *host, int port,
    const struct fwd_owner *me, struct fwd_owner *held)
{
	return r->ops->claim(r, host, port, me, held);
}

static inline void
registry_release(struct registry *r, const char *host, int port,
    uint64_t session)
{
	r->ops->release(r, host, port, session);
}

static inline void
registry_free(struct registry *r)
{
	if (r != NULL)
		r->ops->free(r);
}

#endif
