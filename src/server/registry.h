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
 * Ownership: the caller owns struct registry (ferryd's, as long as the
 * process); records are the registry's. Calls are safe from any loop. */
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
};

struct registry {
	const struct registry_ops *ops;
};

/* The in-process registry (registry_local.c): NULL when out of memory. */
struct registry *registry_local_new(void);

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
