/* Fleet-wide remote forwards (ClusterRegistry; issue 14): a forward bound
 * to every address is the whole fleet's, recorded by port in the fleet's
 * registry (registry_etcd.c). Its claim is answered later: the request
 * is deferred meanwhile and runs again with the answer. The node binds
 * it on ClusterBindAddress; a forward whose record another session took
 * goes (session_wide_drop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fwd/listener.h"
#include "server/loops.h"
#include "server/registry.h"
#include "server/sess_int.h"
#include "util/log.h"

/* Who a claim's answer goes to. */
struct wide_wait {
	struct session_list *list;
	uint64_t	 id;
};

bool
sess_wide_place(struct session *s, enum bind_scope *scope, const char **addr)
{
	/* start's value: a reload does not move the fleet's forwards */
	const char *b = s->list->wide_bind;

	if (*scope != SCOPE_ANY || !registry_is_fleet(s->list->reg))
		return false;
	if (b[0] != '\0' && strcasecmp(b, "any") != 0) {
		*scope = SCOPE_ADDR;
		*addr = b;
	}
	return true;
}

/* On the session's loop: the request runs again with the answer (a
 * session gone meanwhile gives the port back). */
static void
answered(void *arg, const struct wide_answer *a)
{
	struct wide_wait *w = arg;
	struct session *s;

	s = sess_find(w->list, w->id);
	if (s == NULL || s->closing || s->greq == NULL) {
		if (a->status == 0)
			registry_release_wide(w->list->reg, a->port, w->id);
		free(w);
		return;
	}
	free(w);
	s->greq->wide_done = true;
	s->greq->wide = *a;
	sess_greq_rerun(s);
}

static void
claim_of(struct session *s, const char *host, int port,
    struct wide_claim *c)
{
	memset(c, 0, sizeof(*c));
	c->me.session = s->id;
	c->me.loop = s->home;
	snprintf(c->me.user, sizeof(c->me.user), "%s", s->user != NULL ?
	    s->user->name : "");
	snprintf(c->me.key_fp, sizeof(c->me.key_fp), "%s", s->key_fp);
	snprintf(c->me.ip, sizeof(c->me.ip), "%s", s->ip);
	c->me.port = s->port;
	c->epoch = s->epoch;
	c->port = port;
	snprintf(c->bind, sizeof(c->bind), "%s", host);
	c->reclaim = s->pol->cfg.reclaim_forwards != 0;
}

int
sess_wide_claim(struct session *s, struct ssh_event *ev, const char *host,
    int *port, const char *what)
{
	struct wide_claim c;
	struct wide_wait *w;
	char why[300];

	if (s->greq != NULL && s->greq->wide_done) {
		if (s->greq->wide.status != 0) {
			sess_refuse(s, "%s: %s", what, s->greq->wide.why);
			return -1;
		}
		*port = s->greq->wide.port;
		return 0;
	}
	claim_of(s, host, *port, &c);
	if ((w = malloc(sizeof(*w))) == NULL || sess_greq_save(s, ev) != 0) {
		free(w);
		sess_refuse(s, "%s: out of memory", what);
		return -1;
	}
	*w = (struct wide_wait){ s->list, s->id };
	if (registry_claim_wide(s->list->reg, &c, answered, w, why,
	    sizeof(why)) != 0) {
		free(w);
		sess_greq_free(s);
		ev->u.request.defer = false;
		sess_refuse(s, "%s: %s", what, why);
		return -1;
	}
	return 1;
}

void
sess_wide_release(struct session *s, int port)
{
	if (port > 0)
		registry_release_wide(s->list->reg, port, s->id);
}

void
session_wide_drop(void *ctx, uint64_t id, int port, const char *why)
{
	struct session *s;
	int i;

	if ((s = sess_find(ctx, id)) == NULL || s->closing)
		return;
	for (i = 0; i < s->nrfwd; i++)
		if (s->rfwd[i].wide_port == port) {
			log_info("%s: fleet-wide port %d taken over by %s",
			    s->user != NULL ? s->user->name : "", port, why);
			sess_note(s, "A newer session with the same key took "
			    "over a fleet-wide forward of this session.");
			/* its record is the other session's now */
			s->rfwd[i].wide_port = 0;
			sess_rfwd_drop(s, &s->rfwd[i]);
			return;
		}
}
