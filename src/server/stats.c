/* ferryd's counters. */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_names[RR_COUNT] = {
	[RR_PERMIT_OPEN] = "PermitOpen",
	[RR_PERMIT_LISTEN] = "PermitListen",
	[RR_GATEWAY_PORTS] = "GatewayPorts",
	[RR_ALLOW_TCP_FORWARDING] = "AllowTcpForwarding",
	[RR_ALLOW_STREAMLOCAL_FORWARDING] = "AllowStreamLocalForwarding",
	[RR_DISABLE_FORWARDING] = "DisableForwarding",
	[RR_AUTHORIZED_KEYS] = "authorized_keys",
	[RR_PRIVILEGED_PORT] = "privileged port",
	[RR_RECLAIM_FORWARDS] = "ReclaimForwards",
	[RR_STREAMLOCAL_PATH] = "StreamLocalDirectory",
	[RR_MAX_LISTENERS] = "MaxListeners",
	[RR_MAX_CHANNELS] = "MaxChannels",
	[RR_MAX_PENDING_CONNECTS] = "MaxPendingConnects",
	[RR_MAX_USER_CHANNELS] = "MaxUserChannels",
	[RR_MAX_FORWARD_CONNECTIONS] = "MaxForwardConnections",
	[RR_DESCRIPTOR_RESERVE] = "descriptor reserve",
	[RR_MALFORMED] = "malformed",
	[RR_OTHER] = "other",
};

static const char *const limit_names[LIM_COUNT] = {
	[LIM_MAX_STARTUPS] = "MaxStartups",
	[LIM_DESCRIPTORS] = "descriptor limit",
	[LIM_LOGIN_GRACE_TIME] = "LoginGraceTime",
	[LIM_PER_SOURCE] = "PerSourceMaxStartups",
};

static const char *const kind_names[] = {
	[FLOW_REMOTE_TCP] = "remote",
	[FLOW_REMOTE_UNIX] = "remote-socket",
	[FLOW_DIRECT_TCP] = "direct",
	[FLOW_DIRECT_UNIX] = "direct-socket",
};

/* The words of ferryd's refusal messages (fwd_deny_text and the
 * sess_*.c files), by rule. */
static const struct {
	const char		*word;
	enum refusal_rule	 rule;
} words[] = {
	{ "PermitOpen", RR_PERMIT_OPEN },
	{ "permitopen in", RR_PERMIT_OPEN },
	{ "PermitListen", RR_PERMIT_LISTEN },
	{ "permitlisten in", RR_PERMIT_LISTEN },
	{ "GatewayPorts", RR_GATEWAY_PORTS },
	{ "AllowTcpForwarding", RR_ALLOW_TCP_FORWARDING },
	{ "AllowStreamLocalForwarding", RR_ALLOW_STREAMLOCAL_FORWARDING },
	{ "DisableForwarding", RR_DISABLE_FORWARDING },
	{ "no-port-forwarding", RR_AUTHORIZED_KEYS },
	{ "restrict without port-forwarding", RR_AUTHORIZED_KEYS },
	{ "KeyPermitsCoverStreamLocal", RR_AUTHORIZED_KEYS },
	{ "privileged ports", RR_PRIVILEGED_PORT },
	{ "ReclaimForwards", RR_RECLAIM_FORWARDS },
	{ "only that user and key may take it over", RR_RECLAIM_FORWARDS },
	{ "this session already forwards", RR_RECLAIM_FORWARDS },
	{ "StreamLocalDirectory", RR_STREAMLOCAL_PATH },
	{ "socket path", RR_STREAMLOCAL_PATH },
	{ "not a socket", RR_STREAMLOCAL_PATH },
	{ "symbolic link", RR_STREAMLOCAL_PATH },
	{ "another user's remote forward", RR_STREAMLOCAL_PATH },
	{ "listeners, the most allowed", RR_MAX_LISTENERS },
	{ "channels open, the most allowed", RR_MAX_CHANNELS },
	{ "MaxPendingConnects", RR_MAX_PENDING_CONNECTS },
	{ "MaxUserChannels", RR_MAX_USER_CHANNELS },
	{ "MaxForwardConnections", RR_MAX_FORWARD_CONNECTIONS },
	{ "descriptor reserve", RR_DESCRIPTOR_RESERVE },
	{ "malformed", RR_MALFORMED },
};

const char *
stats_rule_name(enum refusal_rule r)
{
	return r < RR_COUNT ? rule_names[r] : "other";
}

const char *
stats_limit_name(enum limit_kind k)
{
	return k < LIM_COUNT ? limit_names[k] : "other";
}

const char *
stats_flow_kind_name(enum flow_kind k)
{
	return kind_names[k];
}

/* The rightmost rule word wins: a message starts with what was asked (a
 * peer's host or path, which may hold any word) and ends with why. */
enum refusal_rule
stats_classify(const char *msg)
{
	enum refusal_rule best = RR_OTHER;
	const char *p, *at = NULL;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		for (p = strstr(msg, words[i].word); p != NULL;
		    p = strstr(p + 1, words[i].word))
			if (at == NULL || p > at) {
				at = p;
				best = words[i].rule;
			}
	}
	return best;
}

void
stats_refusal(struct srv_stats *ss, const char *user, const char *ip,
    int port, const char *msg)
{
	struct refusal *r = &ss->recent[ss->nrecent % STATS_RECENT];

	memset(r, 0, sizeof(*r));
	r->when = time(NULL);
	r->rule = stats_classify(msg);
	snprintf(r->user, sizeof(r->user), "%s", user ? user : "");
	snprintf(r->ip, sizeof(r->ip), "%s", ip);
	r->port = port;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	ss->refusals[r->rule]++;
	ss->nrecent++;
}

const struct refusal *
stats_recent(const struct srv_stats *ss, unsigned i)
{
	if (i >= ss->nrecent || i >= STATS_RECENT)
		return NULL;
	return &ss->recent[(ss->nrecent - 1 - i) % STATS_RECENT];
}

void
stats_add(struct fwd_stats *to, const struct fwd_stats *from)
{
	struct fwd_stats f;

	fwd_stats_read(from, &f);
	FWD_ADD(to->bytes_in, f.bytes_in);
	FWD_ADD(to->bytes_out, f.bytes_out);
	FWD_ADD(to->conns, f.conns);
	FWD_ADD(to->open, f.open);
}

static struct flow *
flow_new(struct flow_list *fl, enum flow_kind kind)
{
	struct flow *f, **pp;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->kind = kind;
	/* in arrival order: status lists forwards as they were made */
	for (pp = &fl->head; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = f;
	return f;
}

struct flow *
stats_flow_add(struct flow_list *fl, enum flow_kind kind, const char *asked,
    int asked_port)
{
	struct flow *f;

	if ((f = flow_new(fl, kind)) == NULL)
		return NULL;
	snprintf(f->asked, sizeof(f->asked), "%s", asked);
	f->asked_port = asked_port;
	snprintf(f->where, sizeof(f->where), "%s", asked);
	f->port = asked_port;
	return f;
}

struct flow *
stats_flow_direct(struct flow_list *fl, enum flow_kind kind,
    const char *where, int port)
{
	struct flow *f;

	for (f = fl->head; f != NULL; f = f->next)
		if (f->kind == kind && f->port == port && f != fl->other &&
		    strcmp(f->where, where) == 0)
			return f;
	if (fl->ndirect >= STATS_MAX_DIRECT) {
		if (fl->other == NULL && (fl->other = flow_new(fl,
		    FLOW_DIRECT_TCP)) != NULL)
			snprintf(fl->other->where, sizeof(fl->other->where),
			    "(other destinations)");
		return fl->other;
	}
	if ((f = flow_new(fl, kind)) == NULL)
		return NULL;
	fl->ndirect++;
	snprintf(f->where, sizeof(f->where), "%s", where);
	f->port = port;
	snprintf(f->asked, sizeof(f->asked), "%s", where);
	f->asked_port = port;
	return f;
}

void
stats_flow_end(struct flow_list *fl, struct pump_set *set, struct flow *f)
{
	struct flow **pp;

	if (f == NULL)
		return;
	for (pp = &fl->head; *pp != NULL && *pp != f; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return;
	*pp = f->next;
	pump_forget_stats(set, &f->st);
	/* its open connections go uncounted */
	__atomic_store_n(&f->st.open, 0, __ATOMIC_RELAXED);
	stats_add(&fl->gone, &f->st);
	free(f);
}

void
stats_flow_totals(const struct flow_list *fl, struct fwd_stats *out)
{
	const struct flow *f;

	fwd_stats_read(&fl->gone, out);
	for (f = fl->head; f != NULL; f = f->next)
		stats_add(out, &f->st);
}

void
stats_flows_free(struct flow_list *fl, struct srv_stats *ss)
{
	struct fwd_stats t;
	struct flow *f, *next;

	stats_flow_totals(fl, &t);
	t.open = 0;
	if (ss != NULL)
		stats_add(&ss->gone, &t);
	for (f = fl->head; f != NULL; f = next) {
		next = f->next;
		free(f);
	}
	memset(fl, 0, sizeof(*fl));
}
