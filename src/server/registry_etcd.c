/* The fleet's forward registry on etcd (registry.h; issue 14): the
 * node's lease, the watch that tells it a forward it holds was taken by
 * another session (on any node), the table of the fleet-wide forwards
 * its sessions hold, their release (delete-if-revision), and leaving the
 * fleet at SIGTERM. Node-local forwards go to the in-process registry.
 * A claim's steps are registry_etcd_claim.c's. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "server/loops.h"
#include "server/registry_etcd_int.h"
#include "util/log.h"
#include "util/text.h"

size_t
ereg_rec_encode(const struct ereg *e, const struct wide_claim *c, char *out,
    size_t outlen)
{
	json_t *j;
	size_t n;

	j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I}", "node", e->node,
	    "session", (json_int_t)c->me.session, "user", c->me.user,
	    "key", c->me.key_fp, "bind", c->bind, "epoch",
	    (json_int_t)c->epoch);
	if (j == NULL)
		return 0;
	n = json_dumpb(j, out, outlen, JSON_COMPACT);
	json_decref(j);
	return n <= outlen ? n : 0;
}

int
ereg_key_port(const struct ereg *e, const char *key)
{
	size_t n = strlen(e->keydir);
	char *end;
	long p;

	if (strncmp(key, e->keydir, n) != 0 || key[n] < '1' || key[n] > '9')
		return -1;
	p = strtol(key + n, &end, 10);
	return *end == '\0' && p <= 65535 ? (int)p : -1;
}

struct ereg_held *
ereg_held_find(struct ereg *e, int port)
{
	size_t i;

	for (i = 0; i < e->nheld; i++)
		if (e->held[i].port == port)
			return &e->held[i];
	return NULL;
}

void
ereg_held_cut(struct ereg *e, struct ereg_held *h)
{
	free(h->val);
	*h = e->held[--e->nheld];
}

int
ereg_held_set(struct ereg *e, int port, uint64_t session,
    struct srv_loop *loop, int64_t rev, const char *val, size_t vallen,
    struct ereg_held *prev)
{
	struct ereg_held *h, *n;
	char *copy;
	size_t cap;
	int ret = 0;

	memset(prev, 0, sizeof(*prev));
	if ((copy = malloc(vallen)) == NULL)
		return -1;
	memcpy(copy, val, vallen);
	uv_mutex_lock(&e->lock);
	if ((h = ereg_held_find(e, port)) != NULL) {
		if (h->session != session)
			*prev = *h;
		free(h->val);
		prev->val = NULL;
	} else if (e->nheld == e->capheld && (n = realloc(e->held,
	    (cap = e->capheld ? e->capheld * 2 : 16) * sizeof(*n))) == NULL)
		ret = -1;
	else {
		if (e->nheld == e->capheld) {
			e->held = n;
			e->capheld = cap;
		}
		h = &e->held[e->nheld++];
	}
	if (h != NULL)
		*h = (struct ereg_held){ port, session, loop, rev, copy,
		    vallen };
	else
		free(copy);
	uv_mutex_unlock(&e->lock);
	return ret;
}

/* The entry of port goes if session holds it: its revision, else 0. */
static int64_t
held_remove(struct ereg *e, int port, uint64_t session)
{
	struct ereg_held *h;
	int64_t rev = 0;

	uv_mutex_lock(&e->lock);
	if ((h = ereg_held_find(e, port)) != NULL && (session == 0 ||
	    h->session == session)) {
		rev = h->rev;
		ereg_held_cut(e, h);
	}
	uv_mutex_unlock(&e->lock);
	return rev;
}

/* A forward to drop on its holder's loop, then perhaps a step more. */
struct dropjob {
	struct ereg	*e;
	uint64_t	 session;
	int		 port;
	char		 why[300];
	struct srv_loop	*then_loop;
	void		(*then)(struct srv_loop *, void *);
	void		*arg;
};

static void
drop_there(struct srv_loop *l, void *arg)
{
	struct dropjob *d = arg;

	d->e->drop(d->e->ctx, d->session, d->port, d->why);
	if (d->then != NULL && (d->then_loop == l ||
	    srv_loop_call(d->then_loop, d->then, d->arg) != 0))
		d->then(l, d->arg);
	free(d);
}

void
ereg_drop_then(struct ereg *e, const struct ereg_held *prev,
    const char *why, struct srv_loop *then_loop,
    void (*then)(struct srv_loop *, void *), void *arg)
{
	struct dropjob *d;

	if (prev->session != 0 && (d = calloc(1, sizeof(*d))) != NULL) {
		*d = (struct dropjob){ e, prev->session, prev->port, "",
		    then_loop, then, arg };
		snprintf(d->why, sizeof(d->why), "%s", why);
		if (srv_loop_call(prev->loop, drop_there, d) == 0)
			return;
		free(d);
	}
	if (then != NULL && srv_loop_call(then_loop, then, arg) != 0)
		then(NULL, arg);
}

/* On loop 0: the record of a forward released goes, if it is still the
 * one this node wrote. */
struct deljob {
	struct ereg	*e;
	int		 port;
	int64_t		 rev;
};

static void
deleted(void *arg, const struct etcd_reply *r)
{
	struct deljob *d = arg;

	if (r->status != ETCD_OK)
		log_verbose("fleet: port %d's record could not be removed "
		    "(%s); it goes with this node's lease", d->port, r->err);
	free(d);
}

static void
delete_rec(struct srv_loop *l, void *arg)
{
	struct deljob *d = arg;
	char key[EREG_KEYDIR_MAX + 8], err[200];

	(void)l;
	snprintf(key, sizeof(key), "%s%d", d->e->keydir, d->port);
	if (d->e->stopping || etcd_delete_if(d->e->ec, key, d->rev, deleted,
	    d, err, sizeof(err)) != 0)
		free(d);
}

static void
ereg_release_wide(struct registry *r, int port, uint64_t session)
{
	struct ereg *e = (struct ereg *)r;
	struct deljob *d;
	int64_t rev;

	if ((rev = held_remove(e, port, session)) == 0 ||
	    (d = calloc(1, sizeof(*d))) == NULL)
		return;
	*d = (struct deljob){ e, port, rev };
	if (srv_loop_call(e->loop0, delete_rec, d) != 0)
		free(d);
}

/* The watch: a record of a port this node holds now names another
 * session (a take-over, here or on another node): its listener goes. */
static void
on_put(struct ereg *e, const struct etcd_kv *kv)
{
	struct ereg_held *h, prev;
	struct ereg_rec rec;
	char why[300];
	int port;

	if ((port = ereg_key_port(e, kv->key)) < 0 ||
	    ereg_rec_decode(kv->value, kv->valuelen, &rec) != 0)
		return;
	memset(&prev, 0, sizeof(prev));
	uv_mutex_lock(&e->lock);
	if ((h = ereg_held_find(e, port)) != NULL && (strcmp(rec.node,
	    e->node) != 0 || rec.session != h->session)) {
		prev = *h;
		prev.val = NULL;
		ereg_held_cut(e, h);
	}
	uv_mutex_unlock(&e->lock);
	snprintf(why, sizeof(why), "a newer session of the same key on node "
	    "%s", rec.node);
	ereg_drop_then(e, &prev, why, NULL, NULL, NULL);
}

static void start_watch(struct ereg *e);

static void
on_watch(void *arg, const struct etcd_watch_note *n)
{
	struct ereg *e = arg;
	size_t i;

	if (n->kind == ETCD_WATCH_END) {
		log_error("fleet: the watch on %s ended (%s); starting it "
		    "again", e->keydir, n->err);
		e->watcher = NULL;
		start_watch(e);
		return;
	}
	if (n->kind == ETCD_WATCH_RESUMING) {
		log_verbose("fleet: the watch goes on past %s (%s)",
		    n->member, n->err);
		return;
	}
	for (i = 0; i < n->msg->nevents; i++)
		if (n->msg->events[i].type == ETCD_EV_PUT)
			on_put(e, &n->msg->events[i].kv);
}

static void
start_watch(struct ereg *e)
{
	char err[300];

	if (!e->stopping && etcd_watch_start(e->ec, e->keydir, 0, false,
	    on_watch, e, &e->watcher, err, sizeof(err)) != 0)
		log_error("fleet: cannot watch %s: %s", e->keydir, err);
}

static void
on_lease(void *arg, enum etcd_lease_event ev, int64_t id, const char *why)
{
	struct ereg *e = arg;
	char safe[sizeof(e->lease_why) - 32];

	text_safe(safe, sizeof(safe), why != NULL && why[0] != '\0' ? why :
	    "no lease from etcd yet", false);
	uv_mutex_lock(&e->lock);
	e->lease = ev == ETCD_LEASE_GRANTED ? id : 0;
	snprintf(e->lease_why, sizeof(e->lease_why), "%s%s", ev ==
	    ETCD_LEASE_WAITING ? "no lease from etcd: " : "", safe);
	uv_mutex_unlock(&e->lock);
	if (ev == ETCD_LEASE_WAITING)	/* the keeper logged it */
		return;
	if (ev == ETCD_LEASE_GRANTED) {
		log_info("fleet: node %s joined with lease %lld at %s", e->node,
		    (long long)id, etcd_client_member(e->ec));
		ereg_settings_check(e);
		ereg_reregister(e, id);
	} else
		log_error("fleet: node %s lost its lease (%s); new fleet-wide "
		    "forwards are refused until it has one again", e->node,
		    safe);
}

#define STOP_MS		1500	/* SIGTERM: the revoke's time at most */

/* The client goes (its calls cancelled) once the lease was revoked, or
 * when the revoke took too long. */
static void
leave(struct ereg *e, const char *how)
{
	struct etcd_client *ec = e->ec;

	if (ec == NULL)
		return;
	/* closing calls the revoke back, cancelled: here again */
	e->ec = NULL;
	log_info("fleet: node %s left the fleet (%s)", e->node, how);
	uv_close((uv_handle_t *)&e->stop_timer, NULL);
	ereg_settings_close(e);
	etcd_client_close(ec, NULL, NULL);
}

static void
revoked(void *arg, int status)
{
	leave(arg, status == ETCD_OK ? "its lease revoked" : "its lease could "
	    "not be revoked and runs out");
}

static void
stop_late(uv_timer_t *t)
{
	leave(t->data, "etcd did not answer the revoke in time; its lease "
	    "runs out");
}

static void
ereg_stop(struct registry *r)
{
	struct ereg *e = (struct ereg *)r;

	if (e->stopping)
		return;
	e->stopping = true;
	e->settled = NULL;
	if (e->watcher != NULL)
		etcd_watch_stop(e->watcher);
	e->watcher = NULL;
	uv_timer_init(e->loop0->uv, &e->stop_timer);
	e->stop_timer.data = e;
	uv_timer_start(&e->stop_timer, stop_late, STOP_MS, 0);
	etcd_lease_keeper_stop(e->keeper, revoked, e);
	e->keeper = NULL;
}

static int
ereg_claim(struct registry *r, const char *host, int port,
    const struct fwd_owner *me, struct fwd_owner *held)
{
	struct ereg *e = (struct ereg *)r;

	return registry_claim(e->local, host, port, me, held);
}

static void
ereg_release(struct registry *r, const char *host, int port,
    uint64_t session)
{
	struct ereg *e = (struct ereg *)r;

	registry_release(e->local, host, port, session);
}

static void
ereg_free(struct registry *r)
{
	struct ereg *e = (struct ereg *)r;

	registry_free(e->local);
	while (e->nheld > 0)
		ereg_held_cut(e, &e->held[0]);
	free(e->held);
	uv_mutex_destroy(&e->lock);
	free(e);
}

static const struct registry_ops ereg_ops = {
	.claim = ereg_claim,
	.release = ereg_release,
	.free = ereg_free,
	.claim_wide = ereg_claim_wide,
	.release_wide = ereg_release_wide,
	.stop = ereg_stop,
};

struct registry *
registry_etcd_new(struct srv_loop *loop0, const struct server_config *c,
    const struct fleet_settings *settings, bool reset, struct registry *local,
    registry_drop_fn drop, void *ctx, char *err, size_t errlen)
{
	struct etcd_client_opts o = { .attempt_ms = 1000, .call_ms = 3000,
	    .connect_ms = 500, .tls = c->cluster_tls };
	struct ereg *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*e = (struct ereg){ .r.ops = &ereg_ops, .local = local, .loop0 =
	    loop0, .drop = drop, .ctx = ctx, .low = c->cluster_port_low,
	    .high = c->cluster_port_high, .settings = *settings, .set_reset =
	    reset };
	if (uv_mutex_init(&e->lock) != 0) {
		free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(e->node, sizeof(e->node), "%s", c->cluster_node_name);
	snprintf(e->keydir, sizeof(e->keydir), "%s/fwd/tcp/",
	    c->cluster_prefix);
	snprintf(e->lease_why, sizeof(e->lease_why), "no lease from etcd "
	    "yet");
	if (etcd_client_new(loop0->uv, c->cluster_registry, &o, &e->ec, err,
	    errlen) != 0 || etcd_lease_keeper_start(e->ec,
	    c->cluster_lease_time, on_lease, e, &e->keeper, err, errlen) !=
	    0) {
		if (e->ec != NULL)
			etcd_client_close(e->ec, NULL, NULL);
		e->local = NULL;
		ereg_free(&e->r);
		return NULL;
	}
	start_watch(e);
	return &e->r;
}
