/* ferryd's counters for the operator: per-session forwards with their
 * traffic, the daemon's totals, refusals by rule and the last few refusals
 * in full. Plain data, no I/O: the sess_*.c files count, report.c shows. */
#ifndef FERRY_SERVER_STATS_H
#define FERRY_SERVER_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fwd/pump.h"

/* The rule a refusal names: a small fixed set (Prometheus labels). */
enum refusal_rule {
	RR_PERMIT_OPEN,			/* PermitOpen, permitopen= */
	RR_PERMIT_LISTEN,		/* PermitListen, permitlisten= */
	RR_GATEWAY_PORTS,
	RR_ALLOW_TCP_FORWARDING,
	RR_ALLOW_STREAMLOCAL_FORWARDING,
	RR_DISABLE_FORWARDING,
	RR_AUTHORIZED_KEYS,		/* no-port-forwarding, restrict */
	RR_PRIVILEGED_PORT,
	RR_RECLAIM_FORWARDS,
	RR_STREAMLOCAL_PATH,		/* StreamLocalDirectory and path rules */
	RR_MAX_LISTENERS,
	RR_MAX_CHANNELS,
	RR_MAX_PENDING_CONNECTS,
	RR_MAX_USER_CHANNELS,
	RR_MAX_FORWARD_CONNECTIONS,
	RR_DESCRIPTOR_RESERVE,
	RR_MALFORMED,
	RR_OTHER,
	RR_COUNT,
};

/* Limits the daemon itself hits, outside any one session's requests. */
enum limit_kind {
	LIM_MAX_STARTUPS,
	LIM_DESCRIPTORS,
	LIM_LOGIN_GRACE_TIME,
	LIM_PER_SOURCE,		/* PerSourceMaxStartups */
	LIM_COUNT,
};

enum flow_kind {
	FLOW_REMOTE_TCP,	/* tcpip-forward: a listener ferryd holds */
	FLOW_REMOTE_UNIX,	/* streamlocal-forward */
	FLOW_DIRECT_TCP,	/* direct-tcpip, by destination */
	FLOW_DIRECT_UNIX,	/* direct-streamlocal, by path */
};

#define STATS_WHERE_MAX		256
#define STATS_MAX_DIRECT	16	/* destinations listed per session */
#define STATS_RECENT		32	/* refusals kept in full */

/* One forward of a session: its pumps count into st. Heap, owned by the
 * session's flow list; its address is stable while pumps may use it. */
struct flow {
	struct flow	*next;
	enum flow_kind	 kind;
	char		 where[STATS_WHERE_MAX];  /* bind address(es) or path,
						   * or the destination */
	int		 port;			/* 0 for paths */
	char		 asked[STATS_WHERE_MAX];	/* the request's address */
	int		 asked_port;
	struct fwd_stats st;
};

/* A session's forwards. Direct destinations past STATS_MAX_DIRECT count
 * in one "other" flow. */
struct flow_list {
	struct flow	*head;
	int		 ndirect;
	struct flow	*other;
	struct fwd_stats gone;	/* forwards no longer listed */
};

struct refusal {
	time_t		 when;
	enum refusal_rule rule;
	char		 user[64];
	char		 ip[64];
	int		 port;
	char		 msg[300];
};

/* The daemon's totals: owned by the session list. */
struct srv_stats {
	uint64_t	 refusals[RR_COUNT];
	uint64_t	 limits[LIM_COUNT];
	uint64_t	 handshakes_ok;
	uint64_t	 handshakes_failed;
	uint64_t	 sessions_total;
	struct fwd_stats gone;		/* from sessions that ended */
	struct refusal	 recent[STATS_RECENT];	/* a ring */
	unsigned	 nrecent;		/* refusals ever recorded */
};

/* The label a rule has in metrics, status and JSON. */
const char	*stats_rule_name(enum refusal_rule r);
const char	*stats_limit_name(enum limit_kind k);
const char	*stats_flow_kind_name(enum flow_kind k);
/* The rule a refusal message names (ferryd words each refusal after
 * the keyword or limit that refuses it). */
enum refusal_rule stats_classify(const char *msg);
/* Records a refusal: counted by rule, kept in the ring. */
void		 stats_refusal(struct srv_stats *ss, const char *user,
		    const char *ip, int port, const char *msg);
/* The i-th most recent refusal (0: newest), or NULL. */
const struct refusal *stats_recent(const struct srv_stats *ss, unsigned i);

/* A new remote forward's flow, or NULL (out of memory). */
struct flow	*stats_flow_add(struct flow_list *fl, enum flow_kind kind,
		    const char *asked, int asked_port);
/* The flow a direct-* connection to where:port counts into (found or
 * made; the "other" flow past the bound). NULL: out of memory. */
struct flow	*stats_flow_direct(struct flow_list *fl, enum flow_kind kind,
		    const char *where, int port);
/* A remote forward went: its pumps stop counting into it, what it
 * carried stays in the session's totals. */
void		 stats_flow_end(struct flow_list *fl, struct pump_set *set,
		    struct flow *f);
/* The session's totals: every flow plus the ones gone. */
void		 stats_flow_totals(const struct flow_list *fl,
		    struct fwd_stats *out);
/* Frees every flow (no pump may use them any more), adding what they
 * carried to the daemon's totals. */
void		 stats_flows_free(struct flow_list *fl, struct srv_stats *ss);
void		 stats_add(struct fwd_stats *to, const struct fwd_stats *from);

#endif
