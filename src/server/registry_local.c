/* The in-process forward registry (registry.h): an open hash table of the
 * held TCP forwards, keyed by the asked bind address and port, under one
 * lock. At most one record per listener a session holds, so it is
 * bounded by MaxListeners per connection and by the connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "server/registry.h"

#define REG_MIN_SLOTS	64

struct rec {
	struct rec	*next;		/* in its bucket */
	int		 port;
	struct fwd_owner owner;
	char		 host[];	/* as the client asked */
};

struct local {
	struct registry	 r;		/* first: the interface */
	uv_mutex_t	 lock;
	struct rec	**slots;
	size_t		 nslots;
	size_t		 count;
};

/* FNV-1a over the host and the port. */
static size_t
hash(const char *host, int port, size_t nslots)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)host; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ (uint64_t)port) * 1099511628211ULL;
	return (size_t)(h % nslots);
}

static struct rec **
find(struct local *l, const char *host, int port)
{
	struct rec **pp;

	for (pp = &l->slots[hash(host, port, l->nslots)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->port == port && strcmp((*pp)->host, host) == 0)
			return pp;
	return pp;
}

/* Twice the slots once the table is as full as it is wide (the lock
 * held); a failed allocation keeps the table as it is. */
static void
grow(struct local *l)
{
	struct rec **slots, *r, *next;
	size_t n = l->nslots * 2, i, h;

	if (l->count < l->nslots || (slots = calloc(n, sizeof(*slots))) ==
	    NULL)
		return;
	for (i = 0; i < l->nslots; i++)
		for (r = l->slots[i]; r != NULL; r = next) {
			next = r->next;
			h = hash(r->host, r->port, n);
			r->next = slots[h];
			slots[h] = r;
		}
	free(l->slots);
	l->slots = slots;
	l->nslots = n;
}

static int
local_claim(struct registry *reg, const char *host, int port,
    const struct fwd_owner *me, struct fwd_owner *held)
{
	struct local *l = (struct local *)reg;
	struct rec **pp, *r;
	size_t len = strlen(host) + 1;
	int ret = 0;

	uv_mutex_lock(&l->lock);
	pp = find(l, host, port);
	if (*pp != NULL && (*pp)->owner.session != me->session) {
		*held = (*pp)->owner;
		ret = -1;
	} else if (*pp == NULL) {
		if ((r = calloc(1, sizeof(*r) + len)) == NULL)
			ret = -2;
		else {
			r->port = port;
			r->owner = *me;
			memcpy(r->host, host, len);
			*pp = r;
			l->count++;
			grow(l);
		}
	}
	uv_mutex_unlock(&l->lock);
	return ret;
}

static void
local_release(struct registry *reg, const char *host, int port,
    uint64_t session)
{
	struct local *l = (struct local *)reg;
	struct rec **pp, *r = NULL;

	uv_mutex_lock(&l->lock);
	pp = find(l, host, port);
	if (*pp != NULL && (*pp)->owner.session == session) {
		r = *pp;
		*pp = r->next;
		l->count--;
	}
	uv_mutex_unlock(&l->lock);
	free(r);
}

static void
local_free(struct registry *reg)
{
	struct local *l = (struct local *)reg;
	struct rec *r, *next;
	size_t i;

	for (i = 0; i < l->nslots; i++)
		for (r = l->slots[i]; r != NULL; r = next) {
			next = r->next;
			free(r);
		}
	free(l->slots);
	uv_mutex_destroy(&l->lock);
	free(l);
}

static const struct registry_ops local_ops = {
	.claim = local_claim,
	.release = local_release,
	.free = local_free,
};

struct registry *
registry_local_new(void)
{
	struct local *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->slots = calloc(REG_MIN_SLOTS, sizeof(*l->slots))) == NULL ||
	    uv_mutex_init(&l->lock) != 0) {
		free(l->slots);
		free(l);
		return NULL;
	}
	l->nslots = REG_MIN_SLOTS;
	l->r.ops = &local_ops;
	return &l->r;
}
