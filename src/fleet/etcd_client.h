/* ferryd's etcd client for the fleet registry: asynchronous calls to an
 * etcd v3 cluster through its JSON gateway, on one libuv loop, with
 * fail-over between members. The bodies and answers are fleet/etcd.h's;
 * the transport is fleet/etcd_http.h's (libcurl's multi interface).
 *
 * What a registry builds on it (issue 14):
 *   claim    etcd_put_if_absent(<prefix>/fwd/tcp/<port>, record, node's
 *            lease): refused with the holder's record
 *   reclaim  etcd_cas on the record's mod_revision
 *   release  etcd_delete_if on the record's mod_revision
 *   lease    one per node: etcd_lease_keeper (keepalive at a third of its
 *            time to live, a new lease when it was lost)
 *   watch    etcd_watch_start on the prefix, resumed on another member
 *            from the revision after the last it delivered
 *
 * Members and fail-over: a call goes to the member that answered last;
 * when it cannot be reached, times out (opts.attempt_ms), or answers
 * that it is unavailable (no leader, request timed out), the call moves
 * to the next member, and after a round of all of them waits (100 ms,
 * doubling up to 1 s) before the next round, until opts.call_ms has
 * passed since the call started: then ETCD_UNAVAILABLE names the last
 * member's failure. A TLS failure (the member's certificate or name
 * does not verify, it refuses ours) is such a failure too, and is
 * logged as an error naming the member and curl's reason (once per
 * member and reason a minute). A transaction whose attempt timed out may have been
 * applied all the same, and its retry then finds the key held: a
 * put-if-absent whose holder carries the caller's own lease (or value)
 * is the caller's own claim.
 *
 * Callbacks run on the loop, never from within the call that started
 * them, except that etcd_client_close calls back every outstanding call
 * with ETCD_CANCELED before it returns. Every call here is safe from any
 * callback.
 *
 * Ownership: the caller owns struct etcd_client until etcd_client_close
 * (after which it must not be used); the client frees itself once its
 * handles closed and then calls closed(arg). Strings passed to a call
 * are copied. What a callback is given lives during the callback. A
 * watcher or keeper is the client's: the caller's pointer is good until
 * it stops it, until the watcher's ETCD_WATCH_END, or until the client
 * is closed (which ends them without calling them back). */
#ifndef FERRY_FLEET_ETCD_CLIENT_H
#define FERRY_FLEET_ETCD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fleet/etcd.h"
#include "fleet/etcd_tls.h"

enum etcd_status {
	ETCD_OK = 0,
	ETCD_UNAVAILABLE = -1,	/* no member answered in time */
	ETCD_REFUSED = -2,	/* etcd answered with an error (grpc_code) */
	ETCD_CANCELED = -3,	/* the client was closed first */
	ETCD_COMPACTED = -4,	/* a watch's revision is gone */
	ETCD_BAD_ANSWER = -5,	/* a watch's stream was not etcd's */
};

struct etcd_client_opts {
	unsigned	 attempt_ms;	/* one attempt at one member: 2000 */
	unsigned	 call_ms;	/* a call, all attempts: 10000 */
	unsigned	 connect_ms;	/* reaching a member: 1000 */
	const struct etcd_tls *tls;	/* https:// members (copied);
					 * NULL: the system's CAs, no
					 * client certificate */
};

/* What a call's callback gets. */
struct etcd_reply {
	int		 status;	/* enum etcd_status */
	const char	*err;		/* why, printable; "" when OK */
	const char	*member;	/* the URL that answered or failed
					 * last ("" if none was tried) */
	int		 grpc_code;	/* ETCD_REFUSED: etcd's code */
	/* ETCD_OK only, each for its kind of call: */
	const struct etcd_txn_result *txn;
	const struct etcd_range_result *range;
	const struct etcd_lease_result *lease;
	int64_t		 revision;	/* the store's, from the answer */
};

typedef void	(*etcd_cb)(void *arg, const struct etcd_reply *r);

struct etcd_client;

/* spec is ClusterRegistry's value (etcd:URL[,URL...]); opts NULL or
 * zero fields: the defaults. 0, or -1 with err. */
int	 etcd_client_new(uv_loop_t *loop, const char *spec,
	    const struct etcd_client_opts *opts, struct etcd_client **out,
	    char *err, size_t errlen);
void	 etcd_client_close(struct etcd_client *c, void (*closed)(void *),
	    void *arg);
/* The member calls go to first now. */
const char *etcd_client_member(const struct etcd_client *c);

/* Each call returns 0 (cb runs once, later) or -1 with err (bad
 * arguments, out of memory, closing: cb never runs). The requests are
 * fleet/etcd.h's etcd_req_* of the same names. */
int	 etcd_put_if_absent(struct etcd_client *c, const char *key,
	    const void *val, size_t vallen, int64_t lease, etcd_cb cb,
	    void *arg, char *err, size_t errlen);
int	 etcd_cas(struct etcd_client *c, const char *key, int64_t mod_revision,
	    const void *val, size_t vallen, int64_t lease, etcd_cb cb,
	    void *arg, char *err, size_t errlen);
int	 etcd_delete_if(struct etcd_client *c, const char *key,
	    int64_t mod_revision, etcd_cb cb, void *arg, char *err,
	    size_t errlen);
int	 etcd_range_prefix(struct etcd_client *c, const char *prefix,
	    const char *after, int64_t limit, int64_t revision, etcd_cb cb,
	    void *arg, char *err, size_t errlen);
int	 etcd_lease_grant(struct etcd_client *c, int64_t ttl, etcd_cb cb,
	    void *arg, char *err, size_t errlen);
/* r->lease->ttl 0: the lease is gone. */
int	 etcd_lease_keepalive(struct etcd_client *c, int64_t id, etcd_cb cb,
	    void *arg, char *err, size_t errlen);
int	 etcd_lease_revoke(struct etcd_client *c, int64_t id, etcd_cb cb,
	    void *arg, char *err, size_t errlen);

/* A watch on a prefix that outlives its member: when the stream ends
 * (the member died or lost its leader, the connection broke, or the
 * member did not answer the read it is asked every 2 s while the stream
 * is up: a host gone without a word, a member cut off) it is
 * started again on the next member from the revision after the last one
 * it delivered (etcd_watch_next_rev), at once after a stream that
 * worked, else after a wait (100 ms doubling up to 2 s), for as long as
 * it is not stopped. */
enum etcd_watch_note_kind {
	ETCD_WATCH_MSG,		/* a message from etcd (events, creation,
				 * progress) */
	ETCD_WATCH_RESUMING,	/* the stream ended; it goes on elsewhere */
	ETCD_WATCH_END,		/* over for good (status, err): compacted,
				 * an accepted stream that turned out not
				 * etcd's; the watcher is freed after this
				 * call */
};

struct etcd_watch_note {
	enum etcd_watch_note_kind kind;
	const struct etcd_watch_msg *msg;	/* ETCD_WATCH_MSG */
	const char	*member;	/* the member it was on */
	int64_t		 next_rev;	/* where it resumes */
	int		 status;	/* RESUMING, END: enum etcd_status */
	const char	*err;		/* RESUMING, END: why */
};

typedef void	(*etcd_watch_cb)(void *arg, const struct etcd_watch_note *n);

struct etcd_watcher;

/* start_rev 0: from now on. 0, or -1 with err (cb never runs). */
int	 etcd_watch_start(struct etcd_client *c, const char *prefix,
	    int64_t start_rev, bool prev_kv, etcd_watch_cb cb, void *arg,
	    struct etcd_watcher **out, char *err, size_t errlen);
/* No call back after this; safe from within the watcher's own cb. */
void	 etcd_watch_stop(struct etcd_watcher *w);

/* The node's lease, kept alive: granted with ttl seconds, then a
 * keepalive every third of the TTL etcd granted. When etcd says the
 * lease is gone, or no keepalive succeeded for a whole TTL (etcd was
 * unreachable: the lease has expired or is about to), the keeper says
 * LOST and asks for a new lease at once, retrying (500 ms doubling up
 * to a third of the TTL) until it gets one: GRANTED again, with a new
 * id. While it has none, each grant that fails says WAITING (id 0) with
 * the reason, so that the owner can tell why it has no lease. */
enum etcd_lease_event {
	ETCD_LEASE_GRANTED,
	ETCD_LEASE_LOST,
	ETCD_LEASE_WAITING,
};

typedef void	(*etcd_lease_cb)(void *arg, enum etcd_lease_event ev,
		    int64_t id, const char *why);

struct etcd_lease_keeper;

/* 0, or -1 with err (cb never runs). */
int	 etcd_lease_keeper_start(struct etcd_client *c, int64_t ttl,
	    etcd_lease_cb cb, void *arg, struct etcd_lease_keeper **out,
	    char *err, size_t errlen);
/* The lease held now (0: none). */
int64_t	 etcd_lease_keeper_id(const struct etcd_lease_keeper *k);
/* Stops keeping it alive and revokes it (so the keys on it go at once),
 * then calls done(arg, status of the revoke; ETCD_OK without a lease)
 * and frees k. cb is not called after this. Safe from within cb. */
void	 etcd_lease_keeper_stop(struct etcd_lease_keeper *k,
	    void (*done)(void *arg, int status), void *arg);

#endif
