/* Server: a publickey request whose verdict the handler deferred (ferryd's
 * AuthorizedKeysCommand runs meanwhile). The engine keeps what the answer
 * needs and holds the peer's input until ssh_auth_answer. */
#include "ssh_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Owned by the engine (c->auth_wait): freed at the answer or with it. */
struct auth_wait {
	char		 alg[64];
	uint8_t		*blob;		/* as sent: PK_OK echoes it */
	size_t		 bloblen;
	bool		 has_sig;	/* (verified before the handler ran) */
};

static void
wait_free(struct auth_wait *w)
{
	if (w == NULL)
		return;
	free(w->blob);
	free(w);
}

void
auth_wait_free(struct ssh_conn *c)
{
	wait_free(c->auth_wait);
	c->auth_wait = NULL;
}

int
auth_defer(struct ssh_conn *c, const char *alg, const uint8_t *blob,
    size_t bloblen, bool has_sig)
{
	struct auth_wait *w;

	if (c->auth_wait != NULL)	/* one at a time: input is held */
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "two deferred publickey requests");
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->blob = malloc(bloblen > 0 ? bloblen : 1)) == NULL) {
		wait_free(w);
		return conn_fail(c, DISC_PROTOCOL_ERROR, "out of memory");
	}
	memcpy(w->blob, blob, bloblen);
	snprintf(w->alg, sizeof(w->alg), "%s", alg);
	w->bloblen = bloblen;
	w->has_sig = has_sig;
	c->auth_wait = w;
	return 0;
}

int
ssh_auth_answer(struct ssh_conn *c, bool allow)
{
	struct auth_wait *w = c->auth_wait;
	int r;

	if (c->state == ST_DEAD || w == NULL)
		return -1;
	c->auth_wait = NULL;
	r = auth_verdict(c, allow, w->alg, w->blob, w->bloblen, w->has_sig);
	wait_free(w);
	if (r != 0 || c->state == ST_DEAD)
		return -1;
	return transport_resume(c);
}

bool
ssh_auth_waiting(const struct ssh_conn *c)
{
	return c->auth_wait != NULL;
}
