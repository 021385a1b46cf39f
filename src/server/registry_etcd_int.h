/* Inside the fleet's registry on etcd (registry_etcd.c: the node's
 * lease, the watch, the forwards this node holds and their release;
 * registry_etcd_claim.c: a claim's steps). Nothing else includes this.
 *
 * Threads: the etcd client, the keeper, the watcher and every claim run
 * on loop 0; the table of held forwards and the lease are under lock,
 * since sessions release from their own loops. */
#ifndef FERRY_SERVER_REGISTRY_ETCD_INT_H
#define FERRY_SERVER_REGISTRY_ETCD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "fleet/etcd_client.h"
#include "server/fleet_rec.h"
#include "server/fleet_settings.h"
#include "server/registry.h"

#define EREG_KEYDIR_MAX	160

/* The fleet's settings as this node found them (registry_etcd_settings.c) */
enum ereg_set_state {
	EREG_SET_UNCHECKED,	/* etcd has not answered yet */
	EREG_SET_OK,		/* the fleet's, or this node's made the fleet's */
	EREG_SET_DIFFER,	/* no new fleet-wide forward (set_why) */
};

/* A fleet-wide forward a session of this node holds. */
struct ereg_held {
	int		 port;
	uint64_t	 session;
	struct srv_loop	*loop;
	int64_t		 rev;		/* its record's mod_revision */
	char		*val;		/* its record, owned (re-registered
					 * under a new lease) */
	size_t		 vallen;
};

struct ereg {
	struct registry	 r;		/* first: the interface */
	struct registry	*local;		/* node-local forwards (owned) */
	struct srv_loop	*loop0;
	registry_drop_fn drop;
	void		*ctx;
	char		 node[EREG_NODE_MAX];
	char		 keydir[EREG_KEYDIR_MAX];	/* <prefix>/fwd/tcp/ */
	int		 low;		/* ClusterPortRange; 0: none */
	int		 high;
	/* loop 0's alone */
	struct etcd_client *ec;
	struct etcd_lease_keeper *keeper;
	struct etcd_watcher *watcher;
	bool		 stopping;
	uv_timer_t	 stop_timer;	/* bounds the lease's revoke */
	/* the settings check: this node's, whether to make them the
	 * fleet's (--cluster-reset-settings), its retry */
	struct fleet_settings settings;
	bool		 set_reset;
	bool		 set_busy;	/* a call is out */
	int		 set_tries;
	bool		 set_timer_on;	/* set_timer was initialised */
	uv_timer_t	 set_timer;
	/* at start: whom the verdict goes to, and until when (NULL: told,
	 * the node serves) */
	registry_settled_fn settled;
	void		*settled_arg;
	bool		 settle_timer_on;
	uv_timer_t	 settle_timer;
	/* under lock */
	uv_mutex_t	 lock;
	int64_t		 lease;		/* 0: none now */
	char		 lease_why[300];
	struct ereg_held *held;
	size_t		 nheld;
	size_t		 capheld;
	enum ereg_set_state set_state;
	char		 set_why[400];
};

/* The record of c's session as etcd keeps it (JSON): its length, or 0
 * when it does not fit. */
size_t	 ereg_rec_encode(const struct ereg *e, const struct wide_claim *c,
	    char *out, size_t outlen);
/* The port a key of keydir names, or -1. */
int	 ereg_key_port(const struct ereg *e, const char *key);

/* With lock held: the entry for port, or NULL. */
struct ereg_held *ereg_held_find(struct ereg *e, int port);
/* The entry for port becomes session's (added or replaced) with a copy
 * of its record; *prev gets what it held before (session 0: nothing;
 * its val is not kept). -1: out of memory. */
int	 ereg_held_set(struct ereg *e, int port, uint64_t session,
	    struct srv_loop *loop, int64_t rev, const char *val, size_t vallen,
	    struct ereg_held *prev);
/* With lock held: h goes from the table. */
void	 ereg_held_cut(struct ereg *e, struct ereg_held *h);
/* Asks the holder's loop to drop prev's forward (why says who took it),
 * then runs then(arg) on then_loop; without a holder, then at once. */
void	 ereg_drop_then(struct ereg *e, const struct ereg_held *prev,
	    const char *why, struct srv_loop *then_loop,
	    void (*then)(struct srv_loop *, void *), void *arg);

/* registry_etcd_rereg.c: after a new lease, every record of the table
 * is written again on it (create-if-absent, or moved onto it when it is
 * still this node's); a port someone else took meanwhile is dropped. */
void	 ereg_reregister(struct ereg *e, int64_t lease);

/* registry_etcd_settings.c, on loop 0: this node's settings compared
 * with the fleet's record (each time it gets a lease, until etcd gave an
 * answer; retried every second while etcd does not answer). */
void	 ereg_settings_check(struct ereg *e);
/* Whether a claim must be refused for the settings (why says so). */
bool	 ereg_settings_refuse(struct ereg *e, char *why, size_t whylen);
/* Leaving: the timers close and nobody is told the verdict. */
void	 ereg_settings_close(struct ereg *e);

/* registry_etcd_claim.c: the claim_wide op. */
int	 ereg_claim_wide(struct registry *r, const struct wide_claim *c,
	    registry_wide_cb cb, void *arg, char *why, size_t whylen);

#endif
