/* Server: a publickey request whose verdict the handler deferred (ferryd's
 * AuthorizedKeysCommand runs meanwhile). The engine keeps what the answer
 * needs and holds the peer's input until ssh_auth_answer. */
#include "ssh_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../keys/key.h"

/* Owned by the engine (c->auth_wait): freed at the answer or with it. */
struct auth_wait {
	struct key	*key;		/* verifies the signature */
	char		 alg[64];
	uint8_t		*blob;		/* as sent: PK_OK echoes it */
	size_t		 bloblen;
	uint8_t		*sig;		/* NULL for a query */
	size_t		 siglen;
	bool		 has_sig;
};

static void
wait_free(struct auth_wait *w)
{
	if (w == NULL)
		return;
	key_free(w->key);
	free(w->blob);
	free(w->sig);
	free(w);
}

void
auth_wait_free(struct ssh_conn *c)
{
	wait_free(c->auth_wait);
	c->auth_wait = NULL;
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n > 0 ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

int
auth_defer(struct ssh_conn *c, struct key *key, const char *alg,
    const uint8_t *blob, size_t bloblen, const uint8_t *sig, size_t siglen,
    bool has_sig)
{
	struct auth_wait *w;

	if (c->auth_wait != NULL) {	/* one at a time: input is held */
		key_free(key);
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "two deferred publickey requests");
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->blob = dup_bytes(blob, bloblen)) == NULL ||
	    (has_sig && (w->sig = dup_bytes(sig, siglen)) == NULL)) {
		wait_free(w);
		key_free(key);
		return conn_fail(c, DISC_PROTOCOL_ERROR, "out of memory");
	}
	w->key = key;
	snprintf(w->alg, sizeof(w->alg), "%s", alg);
	w->bloblen = bloblen;
	w->siglen = siglen;
	w->has_sig = has_sig;
	c->auth_wait = w;
	return 0;
}

/* The verdict on w, as server_pubkey goes on after its event. */
static int
answer(struct ssh_conn *c, const struct auth_wait *w, bool allow)
{
	struct ssh_event ev;
	struct wb sd;
	int ret;

	if (!allow)
		return auth_refuse(c);
	if (!w->has_sig) {
		if (pkt_begin(c, MSG_USERAUTH_PK_OK) != 0)
			return -1;
		wb_cstring(&c->out, w->alg);
		wb_string(&c->out, w->blob, w->bloblen);
		return pkt_end(c);
	}
	wb_init(&sd);
	wb_string(&sd, c->session_id, c->session_id_len);
	wb_u8(&sd, MSG_USERAUTH_REQUEST);
	auth_request_body(c, &sd, c->auth_user, w->alg, w->blob, w->bloblen);
	ret = sd.err ? -1 : key_verify(w->key, w->alg, w->sig, w->siglen,
	    sd.p, sd.len);
	wb_free(&sd);
	if (ret != 0)
		return auth_refuse(c);
	c->authenticated = true;
	c->state = ST_OPEN;
	if (pkt_begin(c, MSG_USERAUTH_SUCCESS) != 0 || pkt_end(c) != 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_AUTH_SUCCESS;
	conn_emit(c, &ev);
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
	r = answer(c, w, allow);
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
