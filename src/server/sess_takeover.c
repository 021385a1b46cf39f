/* ReclaimForwards: a remote forward another session holds goes to a newer
 * session of the same user and key, so that a client that reconnects
 * gets its listener back at once instead of waiting for the stale
 * session to time out. The holder may live on another event loop: that
 * loop gives the forward up (its listener is its own), and the request
 * waits for it, deferred in the engine, then runs again. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/listener.h"
#include "fwd/slpath.h"
#include "server/loops.h"
#include "server/registry.h"
#include "server/sess_int.h"
#include "util/log.h"

/* A forward to give up on the holder's loop; then the asking session's
 * request runs again on its own loop. */
struct takeover {
	struct session_list *list;
	uint64_t	 from;		/* the holder */
	uint64_t	 to;		/* the session asking */
	struct srv_loop	*back;
	char		 name[SLPATH_ROOT_MAX + SLPATH_MAX];	/* or path */
	int		 port;		/* -1: name is a socket's path */
	struct stat	 st;		/* the socket's file, if has_st */
	bool		 has_st;
	char		 what[400];
};

/* Whether o's forward i is the one asked for: TCP by host and port, a
 * socket by its canonical path or its file. */
static bool
holds(const struct session *o, int i, const char *host, int port,
    const struct stat *st)
{
	const struct rfwd *f = &o->rfwd[i];

	if (port >= 0)
		return f->req_port == port && strcmp(f->req_host, host) == 0;
	return f->req_port == -1 && ((host != NULL &&
	    strcmp(fwd_listener_where(f->fl), host) == 0) || (st != NULL &&
	    fwd_listener_is_file(f->fl, st->st_dev, st->st_ino)));
}

/* The session holding the socket (by canonical path or file); *idx its
 * slot. With the lock held. */
static struct session *
unix_holder_locked(struct session_list *list, const char *canon,
    const struct stat *st, int *idx)
{
	struct session *o;
	int i;

	for (o = list->head; o != NULL; o = o->next) {
		if (!o->authenticated || o->closing)
			continue;
		for (i = 0; i < o->nrfwd; i++)
			if (holds(o, i, canon, -1, st)) {
				*idx = i;
				return o;
			}
	}
	return NULL;
}

/* What the registry and a take-over know of the session o: with the lock
 * held, or on o's loop. */
static void
owner_of(const struct session *o, struct fwd_owner *w)
{
	memset(w, 0, sizeof(*w));
	w->session = o->id;
	w->loop = o->home;
	snprintf(w->user, sizeof(w->user), "%s", o->user != NULL ?
	    o->user->name : "");
	snprintf(w->key_fp, sizeof(w->key_fp), "%s", o->key_fp);
	snprintf(w->ip, sizeof(w->ip), "%s", o->ip);
	w->port = o->port;
}

/* The session holding the socket, as seen from s. false: none. */
static bool
unix_holder(struct session *s, const char *canon, const struct stat *st,
    struct fwd_owner *h)
{
	struct session *o;
	int i;

	uv_mutex_lock(&s->list->lock);
	if ((o = unix_holder_locked(s->list, canon, st, &i)) != NULL)
		owner_of(o, h);
	uv_mutex_unlock(&s->list->lock);
	return o != NULL;
}

/* On the holder's own loop: the session id (NULL: gone or going) and the
 * slot of the forward it holds (-1: none). */
static struct session *
holder_here(struct session_list *list, uint64_t id, const char *name,
    int port, const struct stat *st, int *idx)
{
	struct session *o;
	int i;

	*idx = -1;
	uv_mutex_lock(&list->lock);
	for (o = list->head; o != NULL && o->id != id; o = o->next)
		;
	if (o != NULL && o->closing)
		o = NULL;
	for (i = 0; o != NULL && i < o->nrfwd && *idx < 0; i++)
		if (holds(o, i, name, port, st))
			*idx = i;
	uv_mutex_unlock(&list->lock);
	return *idx >= 0 ? o : NULL;
}

const char *
sess_sl_holder_user(struct session *s, const struct stat *st, char *out,
    size_t outlen)
{
	struct session *o;
	int i;

	uv_mutex_lock(&s->list->lock);
	o = unix_holder_locked(s->list, NULL, st, &i);
	if (o != NULL)
		snprintf(out, outlen, "%s", o->user != NULL ? o->user->name :
		    "");
	uv_mutex_unlock(&s->list->lock);
	return o != NULL ? out : NULL;
}

/* On the holder's loop: it gives the forward up (the same user and key
 * take it). */
static void
give_up(struct session *o, int i, const char *what)
{
	log_info("%s: %s: taken over from the older session from %s port %d "
	    "(same key %s; ReclaimForwards yes)", o->user != NULL ?
	    o->user->name : "", what, o->ip, o->port, o->key_fp);
	sess_note(o, "A newer session with the same key took over a forward "
	    "of this session.");
	sess_rfwd_drop(o, &o->rfwd[i]);
}

static void
free_greq(struct session *s)
{
	if (s->greq != NULL)
		free(s->greq->extra);
	free(s->greq);
	s->greq = NULL;
}

struct session *
sess_find(struct session_list *list, uint64_t id)
{
	struct session *s;

	uv_mutex_lock(&list->lock);
	for (s = list->head; s != NULL && s->id != id; s = s->next)
		;
	uv_mutex_unlock(&list->lock);
	return s;
}

/* On the asking session's loop: the forward was given up (or its holder
 * went); the request runs again and is answered. */
static void
run_again(struct srv_loop *l, void *arg)
{
	struct takeover *t = arg;
	struct session *s;

	(void)l;
	s = sess_find(t->list, t->to);
	free(t);
	/* a session of this loop stays while this loop runs this */
	if (s != NULL && !s->closing && s->greq != NULL)
		sess_greq_rerun(s);
}

void
sess_greq_rerun(struct session *s)
{
	struct ssh_event ev;
	struct wb reply;

	wb_init(&reply);
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_GLOBAL_REQUEST;
	ev.u.request.name = s->greq->name;
	ev.u.request.want_reply = true;
	ev.u.request.extra = s->greq->extra;
	ev.u.request.extra_len = s->greq->len;
	ev.u.request.reply = &reply;
	s->greq->again = true;
	sess_rfwd_request(s, &ev);
	free_greq(s);
	net_conn_global_answer(s->nc, ev.u.request.success, reply.p,
	    reply.len);
	wb_free(&reply);
}

/* On the holder's loop. */
static void
hand_over(struct srv_loop *l, void *arg)
{
	struct takeover *t = arg;
	struct session *o;
	int i;

	(void)l;
	if ((o = holder_here(t->list, t->from, t->name, t->port, t->has_st ?
	    &t->st : NULL, &i)) != NULL)
		give_up(o, i, t->what);
	if (srv_loop_call(t->back, run_again, t) != 0)
		free(t);
}

/* Defers ev until h's loop gave the forward up. 0, or -1 when it could
 * not be asked (then the caller refuses). */
static int
defer_to(struct session *s, struct ssh_event *ev, const struct fwd_owner *h,
    const char *name, int port, const struct stat *st, const char *what)
{
	struct takeover *t;

	if ((t = calloc(1, sizeof(*t))) == NULL || sess_greq_save(s, ev) !=
	    0) {
		free(t);
		return -1;
	}
	t->list = s->list;
	t->from = h->session;
	t->to = s->id;
	t->back = s->home;
	t->port = port;
	if ((t->has_st = st != NULL))
		t->st = *st;
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->what, sizeof(t->what), "%s", what);
	if (srv_loop_call(h->loop, hand_over, t) != 0) {
		free(t);
		free_greq(s);
		return -1;
	}
	return 0;
}

/* The forward h holds goes to s, or the request is refused. Returns 0
 * when the holder's loop is ours and it gave the forward up, 1 when the
 * request waits for another loop, -1 when refused (and the reason told). */
static int
take_over(struct session *s, struct ssh_event *ev, const struct fwd_owner *h,
    const char *name, int port, const struct stat *st, const char *what)
{
	struct session *o;
	int i;

	if (!s->pol->cfg.reclaim_forwards) {
		sess_refuse(s, "%s: held by another session from %s port %d "
		    "(ReclaimForwards no)", what, h->ip, h->port);
		return -1;
	}
	if (s->user == NULL || strcmp(h->user, s->user->name) != 0 ||
	    strcmp(h->key_fp, s->key_fp) != 0) {
		sess_refuse(s, "%s: held by a session from %s port %d that "
		    "logged in with another user or key; only that user and "
		    "key may take it over", what, h->ip, h->port);
		return -1;
	}
	if (h->loop == s->home) {
		/* ours: the holder and its slot stay while this loop runs */
		if ((o = holder_here(s->list, h->session, name, port, st,
		    &i)) != NULL)
			give_up(o, i, what);
		return 0;
	}
	if (s->greq != NULL && s->greq->again) {
		sess_refuse(s, "%s: still held by a session from %s port %d "
		    "after it was asked to give it up; try again", what,
		    h->ip, h->port);
		return -1;
	}
	if (defer_to(s, ev, h, name, port, st, what) != 0) {
		sess_refuse(s, "%s: held by a session from %s port %d on "
		    "another event loop, which could not be asked for it",
		    what, h->ip, h->port);
		return -1;
	}
	log_verbose("%s: %s: asking the session from %s port %d for it",
	    s->user->name, what, h->ip, h->port);
	return 1;
}

/* The registry's record of host:port for s: 0 when s holds it now. */
static int
claim(struct session *s, const char *host, int port, struct fwd_owner *held)
{
	struct fwd_owner me;

	owner_of(s, &me);
	return registry_claim(s->list->reg, host, port, &me, held);
}

int
sess_reclaim_tcp(struct session *s, struct ssh_event *ev, const char *host,
    int port, const char *what)
{
	struct fwd_owner h;
	int r;

	if (port == 0)
		return 0;
	if ((r = claim(s, host, port, &h)) == -1 &&
	    (r = take_over(s, ev, &h, host, port, NULL, what)) == 0 &&
	    (r = claim(s, host, port, &h)) == -1) {
		sess_refuse(s, "%s: held by a session from %s port %d", what,
		    h.ip, h.port);
		return -1;
	}
	if (r == -2)
		sess_refuse(s, "%s: out of memory", what);
	return r == -2 ? -1 : r;
}

int
sess_reclaim_socket(struct session *s, struct ssh_event *ev,
    const char *canon, const struct stat *st, const char *what)
{
	struct fwd_owner h;

	if (!unix_holder(s, canon, st, &h))
		return 0;
	if (h.session == s->id) {
		sess_refuse(s, "%s: this session already forwards %s", what,
		    canon);
		return -1;
	}
	return take_over(s, ev, &h, canon, -1, st, what);
}

/* ev is kept in s->greq to run again (sess_greq_rerun) and deferred:
 * 0, or -1 (no reply wanted, out of memory). */
int
sess_greq_save(struct session *s, struct ssh_event *ev)
{
	if (!ev->u.request.want_reply || (s->greq = calloc(1,
	    sizeof(*s->greq))) == NULL)
		return -1;
	if ((s->greq->extra = malloc(ev->u.request.extra_len + 1)) == NULL) {
		free_greq(s);
		return -1;
	}
	snprintf(s->greq->name, sizeof(s->greq->name), "%s",
	    ev->u.request.name);
	memcpy(s->greq->extra, ev->u.request.extra, ev->u.request.extra_len);
	s->greq->len = ev->u.request.extra_len;
	ev->u.request.defer = true;
	return 0;
}

void
sess_greq_free(struct session *s)
{
	free_greq(s);
}
