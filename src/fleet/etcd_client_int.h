/* What the etcd client's files share (etcd_client.c: the client, its
 * members and unary calls; etcd_watcher.c; etcd_lease.c): the client
 * struct, one timer for everything that waits, and calls with a time of
 * their own. */
#ifndef FERRY_FLEET_ETCD_CLIENT_INT_H
#define FERRY_FLEET_ETCD_CLIENT_INT_H

#include <sys/queue.h>

#include "fleet/etcd_client.h"
#include "fleet/etcd_http.h"

/* Something that waits on the client's timer: fn runs once at `at`
 * (uv_now milliseconds) unless cancelled first. */
struct etcd_wake {
	LIST_ENTRY(etcd_wake) entry;
	bool		 armed;
	uint64_t	 at;
	void		(*fn)(struct etcd_wake *w);
};

struct etcd_call;

/* The TLS failure last logged of a member, and when. */
struct etcd_tls_note {
	uint32_t	 hash;
	uint64_t	 at;
};

struct etcd_client {
	uv_loop_t	*loop;
	struct etcd_http *http;		/* owned; closed with the client */
	struct etcd_endpoints ep;
	struct etcd_tls_note tls_notes[ETCD_ENDPOINTS_MAX];
	int		 preferred;	/* the member calls go to first */
	struct etcd_client_opts opts;
	uv_timer_t	 timer;		/* the earliest wake */
	LIST_HEAD(, etcd_wake) wakes;
	LIST_HEAD(, etcd_call) calls;	/* owned, outstanding */
	LIST_HEAD(, etcd_watcher) watchers;	/* owned */
	LIST_HEAD(, etcd_lease_keeper) keepers;	/* owned */
	bool		 closing;
	int		 pending;	/* the timer and http, until closed */
	void		(*closed)(void *);
	void		*closed_arg;
};

enum etcd_call_kind {
	ETCD_CALL_TXN,
	ETCD_CALL_RANGE,
	ETCD_CALL_GRANT,
	ETCD_CALL_KEEPALIVE,
	ETCD_CALL_REVOKE,
};

/* A unary call whose body (taken; NULL: err holds why the builder
 * failed) goes to kind's path, within call_ms (0: opts.call_ms). As the
 * public calls: 0, or -1 with err and cb never runs. */
int	 etcd_call(struct etcd_client *c, enum etcd_call_kind kind, char *body,
	    unsigned call_ms, etcd_cb cb, void *arg, char *err, size_t errlen);

void	 etcd_wake_at(struct etcd_client *c, struct etcd_wake *w,
	    uint64_t delay_ms, void (*fn)(struct etcd_wake *w));
void	 etcd_wake_cancel(struct etcd_client *c, struct etcd_wake *w);

/* The member after m, which now comes first for calls too if m did. */
int	 etcd_member_next(struct etcd_client *c, int m);
/* A transfer to member m ended (o): a TLS failure goes to the log. */
void	 etcd_member_outcome(struct etcd_client *c, int m,
	    const struct etcd_http_outcome *o);
/* member m's URL with path, into buf. */
void	 etcd_member_url(const struct etcd_client *c, int m, const char *path,
	    char *buf, size_t len);

/* The client is closing: each ends its own without calling back
 * (a keeper being stopped gets its done with ETCD_CANCELED). */
void	 etcd_watchers_abandon(struct etcd_client *c);
void	 etcd_keepers_abandon(struct etcd_client *c);

#endif
