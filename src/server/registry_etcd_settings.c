/* The fleet's settings at joining (fleet_settings.h, registry.h's
 * registry_etcd_settle): once the node has a lease, it writes its
 * settings to <prefix>/settings if absent (on no lease: the record
 * outlives every node) and otherwise compares them with the record.
 * Started with --cluster-reset-settings, it replaces the record with its
 * own instead (a compare-and-swap on the record's revision).
 *   at start  ferryd waits for the verdict before it serves; settings
 *             that differ end it (ferryd.c)
 *   later     (etcd did not answer at start) settings that differ are
 *             logged and every new fleet-wide forward is refused with
 *             the reason; the tunnels up keep flowing
 * The calls and the verdict's callback run on loop 0; the verdict is
 * under the registry's lock (claims read it). */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "server/loops.h"
#include "server/registry_etcd_int.h"
#include "util/log.h"

#define RETRY_MS	1000	/* etcd did not answer: the next try */
#define RESET_TRIES	8	/* the record changed under the reset */

static void
key_of(const struct ereg *e, char *key, size_t keylen)
{
	/* keydir is <prefix>/fwd/tcp/ */
	snprintf(key, keylen, "%.*s/settings", (int)(strlen(e->keydir) -
	    strlen("/fwd/tcp/")), e->keydir);
}

/* The verdict goes to whoever waits for it at start. */
static void
tell(struct ereg *e, const char *differ)
{
	registry_settled_fn settled = e->settled;

	e->settled = NULL;
	if (e->settle_timer_on)
		uv_timer_stop(&e->settle_timer);
	if (settled != NULL)
		settled(e->settled_arg, differ);
}

static void
verdict(struct ereg *e, enum ereg_set_state state, const char *why)
{
	uv_mutex_lock(&e->lock);
	e->set_state = state;
	snprintf(e->set_why, sizeof(e->set_why), "%s", why);
	uv_mutex_unlock(&e->lock);
	if (e->settled != NULL)
		tell(e, state == EREG_SET_DIFFER ? why : NULL);
	else if (state == EREG_SET_DIFFER)
		log_error("fleet settings differ from the fleet's: %s; node %s "
		    "keeps its tunnels but takes no new fleet-wide forward "
		    "until it restarts with the fleet's settings", why,
		    e->node);
}

static void
retry(uv_timer_t *t)
{
	ereg_settings_check(t->data);
}

static void
later(struct ereg *e)
{
	if (e->stopping || e->ec == NULL)
		return;
	if (!e->set_timer_on) {
		uv_timer_init(e->loop0->uv, &e->set_timer);
		e->set_timer.data = e;
		e->set_timer_on = true;
	}
	uv_timer_start(&e->set_timer, retry, RETRY_MS, 0);
}

static void
reset_done(void *arg, const struct etcd_reply *r)
{
	struct ereg *e = arg;

	e->set_busy = false;
	if (r->status == ETCD_CANCELED || e->stopping)
		return;
	if (r->status != ETCD_OK) {
		log_verbose("fleet: the fleet's settings not reset yet: %s",
		    r->err);
		later(e);
	} else if (r->txn->succeeded) {
		e->set_reset = false;
		log_info("fleet: the fleet's settings are node %s's now "
		    "(--cluster-reset-settings)", e->node);
		verdict(e, EREG_SET_OK, "");
	} else if (++e->set_tries < RESET_TRIES)
		ereg_settings_check(e);
	else
		later(e);
}

/* Replaces the record (at rev) with this node's settings. */
static void
reset(struct ereg *e, int64_t rev)
{
	char key[EREG_KEYDIR_MAX + 16], val[ETCD_VALUE_MAX], err[200];
	size_t n;

	key_of(e, key, sizeof(key));
	if ((n = fleet_settings_encode(&e->settings, val, sizeof(val))) == 0 ||
	    etcd_cas(e->ec, key, rev, val, n, 0, reset_done, e, err,
	    sizeof(err)) != 0) {
		log_error("fleet: cannot reset the fleet's settings: %s", n ?
		    err : "record too long");
		verdict(e, EREG_SET_DIFFER, "the reset failed");
		return;
	}
	e->set_busy = true;
}

static void
compare(struct ereg *e, const struct etcd_kv *kv)
{
	char diff[sizeof(e->set_why)];
	int n;

	if (e->set_reset) {
		reset(e, kv->mod_revision);
		return;
	}
	if ((n = fleet_settings_diff(&e->settings, kv->value, kv->valuelen,
	    diff, sizeof(diff))) == 0) {
		log_verbose("fleet: node %s's settings are the fleet's",
		    e->node);
		verdict(e, EREG_SET_OK, "");
		return;
	}
	log_verbose("fleet: this node's settings: %s", e->settings.row[2].val);
	log_verbose("fleet: the fleet's record: %.*s", (int)kv->valuelen,
	    (const char *)kv->value);
	verdict(e, EREG_SET_DIFFER, diff);
}

static void
checked(void *arg, const struct etcd_reply *r)
{
	struct ereg *e = arg;

	e->set_busy = false;
	if (r->status == ETCD_CANCELED || e->stopping)
		return;
	if (r->status != ETCD_OK) {
		log_verbose("fleet: the fleet's settings not checked yet: %s",
		    r->err);
		later(e);
	} else if (r->txn->succeeded) {
		log_info("fleet: node %s's settings are the fleet's from now "
		    "on (the first node)", e->node);
		e->set_reset = false;
		verdict(e, EREG_SET_OK, "");
	} else if (r->txn->has_kv)
		compare(e, &r->txn->kv);
	else
		later(e);
}

void
ereg_settings_check(struct ereg *e)
{
	char key[EREG_KEYDIR_MAX + 16], val[ETCD_VALUE_MAX], err[200];
	enum ereg_set_state state;
	size_t n;

	uv_mutex_lock(&e->lock);
	state = e->set_state;
	uv_mutex_unlock(&e->lock);
	if (state != EREG_SET_UNCHECKED || e->set_busy || e->stopping ||
	    e->ec == NULL)
		return;
	key_of(e, key, sizeof(key));
	if ((n = fleet_settings_encode(&e->settings, val, sizeof(val))) == 0 ||
	    etcd_put_if_absent(e->ec, key, val, n, 0, checked, e, err,
	    sizeof(err)) != 0) {
		log_error("fleet: cannot check the fleet's settings: %s", n ?
		    err : "record too long");
		verdict(e, EREG_SET_DIFFER, "this node's settings record "
		    "could not be made");
		return;
	}
	e->set_busy = true;
}

bool
ereg_settings_refuse(struct ereg *e, char *why, size_t whylen)
{
	enum ereg_set_state state;

	uv_mutex_lock(&e->lock);
	state = e->set_state;
	if (state == EREG_SET_UNCHECKED)
		snprintf(why, whylen, "the fleet registry is unavailable "
		    "(this node's fleet settings are not checked yet)");
	else if (state == EREG_SET_DIFFER)
		snprintf(why, whylen, "this node's fleet settings differ from "
		    "the fleet's (%s)", e->set_why);
	uv_mutex_unlock(&e->lock);
	return state != EREG_SET_OK;
}

void
ereg_settings_close(struct ereg *e)
{
	e->settled = NULL;
	if (e->set_timer_on)
		uv_close((uv_handle_t *)&e->set_timer, NULL);
	if (e->settle_timer_on)
		uv_close((uv_handle_t *)&e->settle_timer, NULL);
	e->set_timer_on = e->settle_timer_on = false;
}

static void
settle_late(uv_timer_t *t)
{
	struct ereg *e = t->data;

	if (e->settled == NULL)
		return;
	log_info("fleet: etcd did not answer within %llu ms; node %s serves "
	    "and checks the fleet's settings once it does",
	    (unsigned long long)uv_timer_get_repeat(t), e->node);
	tell(e, NULL);
}

void
registry_etcd_settle(struct registry *r, unsigned ms,
    registry_settled_fn settled, void *arg)
{
	struct ereg *e = (struct ereg *)r;

	e->settled = settled;
	e->settled_arg = arg;
	uv_timer_init(e->loop0->uv, &e->settle_timer);
	e->settle_timer.data = e;
	e->settle_timer_on = true;
	/* the repeat only carries ms to the log line: the callback stops it */
	uv_timer_start(&e->settle_timer, settle_late, ms, ms);
}
