/* ferryd's session list, shared by its event loops: who is connected,
 * what each user holds, and the counters behind MaxStartups,
 * PerSourceMaxStartups and status. Every function takes the list's lock
 * for the moment it needs it (session.h says what it guards). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/loops.h"
#include "server/registry.h"
#include "server/sess_int.h"
#include "util/hlc.h"
#include "util/log.h"
#include "util/netaddr.h"

int
session_list_init(struct session_list *list, struct srv_loops *loops)
{
	memset(list, 0, sizeof(*list));
	list->loops = loops;
	if (uv_mutex_init(&list->lock) != 0)
		return -1;
	if (authcmd_set_init(&list->cmds) != 0) {
		uv_mutex_destroy(&list->lock);
		return -1;
	}
	if ((list->reg = registry_local_new()) == NULL) {
		authcmd_set_destroy(&list->cmds);
		uv_mutex_destroy(&list->lock);
		return -1;
	}
	return 0;
}

void
session_list_destroy(struct session_list *list)
{
	registry_free(list->reg);
	authcmd_set_destroy(&list->cmds);
	uv_mutex_destroy(&list->lock);
}

/* PerSourceMaxStartups: whether as many connections from the block of
 * ip (PerSourceNetBlockSize) are not authenticated yet. With the lock
 * held. */
static bool
source_full(struct session_list *list, const struct server_config *c,
    const char *ip)
{
	const struct session *o;
	int n = 0;

	if (c->per_source_max_startups == 0)
		return false;
	for (o = list->head; o != NULL; o = o->next)
		if (!o->authenticated && !o->closing &&
		    netaddr_same_block(o->ip, ip,
		    (unsigned)c->per_source_v4_bits,
		    (unsigned)c->per_source_v6_bits) &&
		    ++n >= c->per_source_max_startups)
			return true;
	return false;
}

struct session *
session_admit(struct session_list *list, struct server_policy *pol,
    const char *ip, int port)
{
	struct srv_loops *ls = list->loops;
	struct srv_loop *best = &ls->l[0];
	struct session *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	uv_mutex_lock(&list->lock);
	if (source_full(list, &pol->cfg, ip)) {
		list->stats.limits[LIM_PER_SOURCE]++;
		uv_mutex_unlock(&list->lock);
		free(s);
		log_info("drop connection from [%s]:%d: past "
		    "PerSourceMaxStartups (%d unauthenticated from its block)",
		    ip, port, pol->cfg.per_source_max_startups);
		return NULL;
	}
	for (i = 1; i < ls->n; i++)
		if (ls->l[i].sessions < best->sessions)
			best = &ls->l[i];
	best->sessions++;
	s->home = best;
	s->list = list;
	s->pol = pol;
	server_policy_ref(pol);
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->port = port;
	s->since = time(NULL);
	s->epoch = hlc_now();
	s->id = ++list->next_id;
	list->stats.sessions_total++;
	list->unauthenticated++;
	FWD_ADD(list->all.fds, 1);
	s->next = list->head;
	if (list->head != NULL)
		list->head->prev = s;
	list->head = s;
	list->count++;
	uv_mutex_unlock(&list->lock);
	return s;
}

int
session_unauthenticated(struct session_list *list)
{
	int n;

	uv_mutex_lock(&list->lock);
	n = list->unauthenticated;
	uv_mutex_unlock(&list->lock);
	return n;
}

void
session_list_limit(struct session_list *list, enum limit_kind k)
{
	uv_mutex_lock(&list->lock);
	list->stats.limits[k]++;
	uv_mutex_unlock(&list->lock);
}

/* The user's shared counters, made at its first login. */
static struct user_usage *
user_get(struct session_list *list, const char *name)
{
	struct user_usage *u;

	for (u = list->users; u != NULL; u = u->next)
		if (strcmp(u->name, name) == 0)
			break;
	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return NULL;
		snprintf(u->name, sizeof(u->name), "%s", name);
		u->next = list->users;
		list->users = u;
	}
	u->refs++;
	return u;
}

static void
user_put(struct session_list *list, struct user_usage *u)
{
	struct user_usage **pp;

	if (u == NULL || --u->refs > 0)
		return;
	for (pp = &list->users; *pp != u; pp = &(*pp)->next)
		;
	*pp = u->next;
	free(u);
}

/* The session leaves the list, with what it counted. */
void
sess_list_remove(struct session *s)
{
	struct session_list *list = s->list;

	uv_mutex_lock(&list->lock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		list->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	list->count--;
	s->home->sessions--;
	FWD_SUB(list->all.fds, 1);
	if (!s->authenticated)
		list->unauthenticated--;
	if (s->compress_slot)
		list->compress_slots--;
	user_put(list, s->user);
	stats_flows_free(&s->flows, &list->stats);
	uv_mutex_unlock(&list->lock);
}

/* The client logged in: its user's shared counters. 0, or -1 when out
 * of memory. */
int
sess_list_logged_in(struct session *s)
{
	struct session_list *list = s->list;

	uv_mutex_lock(&list->lock);
	s->authenticated = true;
	list->stats.handshakes_ok++;
	list->unauthenticated--;
	s->user = user_get(list, ssh_auth_user(sess_ssh(s)));
	uv_mutex_unlock(&list->lock);
	return s->user != NULL ? 0 : -1;
}

/* The connection is going; closed: it is gone (a failed handshake, if it
 * never logged in). */
void
sess_set_closing(struct session *s, bool closed)
{
	uv_mutex_lock(&s->list->lock);
	s->closing = true;
	if (closed && !s->authenticated)
		s->list->stats.handshakes_failed++;
	uv_mutex_unlock(&s->list->lock);
}

void
sess_list_refusal(struct session *s, const char *msg)
{
	uv_mutex_lock(&s->list->lock);
	stats_refusal(&s->list->stats, s->user != NULL ? s->user->name : NULL,
	    s->ip, s->port, msg);
	uv_mutex_unlock(&s->list->lock);
}

/* On each loop (SIGTERM): its own sessions, gathered under the lock and
 * ended outside it (their close callbacks take it). Sessions of this
 * loop are freed by this thread only, so the gathered ones stay. */
void
session_close_all(struct session_list *list, const char *why)
{
	struct srv_loop *me = srv_loop_current();
	struct session **v, *s;
	int i, n = 0;

	uv_mutex_lock(&list->lock);
	v = calloc((size_t)list->count + 1, sizeof(*v));
	for (s = list->head; s != NULL && v != NULL; s = s->next)
		if (s->home == me && !s->closing && s->nc != NULL)
			v[n++] = s;
	uv_mutex_unlock(&list->lock);
	for (i = 0; i < n; i++) {
		sess_set_closing(v[i], false);
		sess_end(v[i], SSH_DISC_BY_APPLICATION, why, why);
	}
	free(v);
}
