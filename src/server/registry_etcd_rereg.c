/* A node that lost its lease keeps its sessions and their forwards; once
 * it has a new lease, each record of its table is written again on it
 * (registry_etcd_int.h): create-if-absent, or, when the record is still
 * this session's on the old lease (which etcd has not ended yet), a
 * compare-and-swap that moves it onto the new one. A port another
 * session took meanwhile is dropped here. On loop 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/loops.h"
#include "server/registry_etcd_int.h"
#include "util/log.h"

struct rejob {
	struct ereg	*e;
	int64_t		 lease;
	int		 port;
	uint64_t	 session;
	char		*val;		/* owned */
	size_t		 vallen;
	bool		 moved;		/* the CAS was tried */
};

static void
rejob_free(struct rejob *r)
{
	free(r->val);
	free(r);
}

/* The entry is the session's still: its record is at rev now. */
static void
settle(struct rejob *r, int64_t rev)
{
	struct ereg_held *h;

	uv_mutex_lock(&r->e->lock);
	if ((h = ereg_held_find(r->e, r->port)) != NULL && h->session ==
	    r->session)
		h->rev = rev;
	uv_mutex_unlock(&r->e->lock);
	log_verbose("fleet: port %d registered again on lease %lld", r->port,
	    (long long)r->lease);
}

/* Someone else holds the port now: this node's forward goes. */
static void
lost(struct rejob *r, const char *node)
{
	struct ereg_held *h, prev;
	char why[300];

	memset(&prev, 0, sizeof(prev));
	uv_mutex_lock(&r->e->lock);
	if ((h = ereg_held_find(r->e, r->port)) != NULL && h->session ==
	    r->session) {
		prev = *h;
		prev.val = NULL;
		ereg_held_cut(r->e, h);
	}
	uv_mutex_unlock(&r->e->lock);
	snprintf(why, sizeof(why), "node %s while this node had no lease",
	    node);
	ereg_drop_then(r->e, &prev, why, NULL, NULL, NULL);
}

static void written(void *arg, const struct etcd_reply *rp);

static void
held_by(struct rejob *r, const struct etcd_kv *kv)
{
	struct ereg_rec rec;
	char key[EREG_KEYDIR_MAX + 8], err[200];

	if (ereg_rec_decode(kv->value, kv->valuelen, &rec) != 0) {
		lost(r, "(a record not ferryd's)");
		rejob_free(r);
		return;
	}
	if (strcmp(rec.node, r->e->node) != 0 || rec.session != r->session) {
		lost(r, rec.node);
		rejob_free(r);
		return;
	}
	if (kv->lease == r->lease || r->moved) {
		settle(r, kv->mod_revision);
		rejob_free(r);
		return;
	}
	r->moved = true;
	snprintf(key, sizeof(key), "%s%d", r->e->keydir, r->port);
	if (r->e->ec == NULL || etcd_cas(r->e->ec, key, kv->mod_revision,
	    r->val, r->vallen, r->lease, written, r, err, sizeof(err)) != 0)
		rejob_free(r);
}

static void
written(void *arg, const struct etcd_reply *rp)
{
	struct rejob *r = arg;

	if (rp->status != ETCD_OK) {
		log_error("fleet: port %d could not be registered again (%s)",
		    r->port, rp->err);
		rejob_free(r);
	} else if (rp->txn->succeeded) {
		settle(r, rp->txn->hdr.revision);
		rejob_free(r);
	} else if (rp->txn->has_kv)
		held_by(r, &rp->txn->kv);
	else
		rejob_free(r);
}

/* h's val is the call's now. */
static void
rewrite(struct ereg *e, int64_t lease, struct ereg_held *h)
{
	char key[EREG_KEYDIR_MAX + 8], err[200];
	struct rejob *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		free(h->val);
		return;
	}
	r->val = h->val;
	r->vallen = h->vallen;
	r->e = e;
	r->lease = lease;
	r->port = h->port;
	r->session = h->session;
	snprintf(key, sizeof(key), "%s%d", e->keydir, h->port);
	if (etcd_put_if_absent(e->ec, key, r->val, r->vallen, lease, written,
	    r, err, sizeof(err)) != 0)
		rejob_free(r);
}

void
ereg_reregister(struct ereg *e, int64_t lease)
{
	struct ereg_held *v;
	size_t i, n;

	uv_mutex_lock(&e->lock);
	n = e->nheld;
	if ((v = n ? malloc(n * sizeof(*v)) : NULL) != NULL)
		for (i = 0; i < n; i++) {
			v[i] = e->held[i];
			/* its copy for the call, made while it is held */
			if ((v[i].val = malloc(e->held[i].vallen)) != NULL)
				memcpy(v[i].val, e->held[i].val,
				    e->held[i].vallen);
		}
	uv_mutex_unlock(&e->lock);
	if (v == NULL)
		return;
	log_info("fleet: registering %zu forward(s) again on lease %lld", n,
	    (long long)lease);
	for (i = 0; i < n; i++)
		if (v[i].val != NULL)
			rewrite(e, lease, &v[i]);
	free(v);
}
