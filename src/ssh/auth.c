/* Client user authentication (RFC 4252): publickey with a signature over
 * the session identifier. */
#include "ssh_int.h"

#include <stdio.h>
#include <string.h>

#include "../keys/key.h"

/* The signature algorithm for a key: RSA keys use rsa-sha2-512 unless the
 * server lists only rsa-sha2-256 in server-sig-algs (RFC 8332/8308). */
static const char *
sig_alg(const struct ssh_conn *c, const struct key *k)
{
	const char *l = c->server_sig_algs;

	if (k->type != KEY_RSA)
		return key_type_name(k);
	if (l != NULL && !algs_has((const uint8_t *)l, strlen(l),
	    "rsa-sha2-512") && algs_has((const uint8_t *)l, strlen(l),
	    "rsa-sha2-256"))
		return "rsa-sha2-256";
	return "rsa-sha2-512";
}

const char *
ssh_auth_sig_alg(const struct ssh_conn *c, const struct key *k)
{
	return sig_alg(c, k);
}

/* The signed data minus the leading session id is the request itself. */
static int
request_body(const struct ssh_conn *c, struct wb *w, const char *user,
    const char *alg, const uint8_t *blob, size_t bloblen)
{
	wb_cstring(w, user);
	wb_cstring(w, "ssh-connection");
	wb_cstring(w, "publickey");
	wb_bool(w, true);
	wb_cstring(w, alg);
	wb_string(w, blob, bloblen);
	return w->err ? -1 : 0;
}

int
ssh_auth_sigdata(const struct ssh_conn *c, const char *user, const char *alg,
    const uint8_t *blob, size_t bloblen, struct wb *out)
{
	if (c->state != ST_AUTH)
		return -1;
	wb_string(out, c->session_id, c->session_id_len);
	wb_u8(out, MSG_USERAUTH_REQUEST);
	return request_body(c, out, user, alg, blob, bloblen);
}

int
ssh_auth_send(struct ssh_conn *c, const char *user, const char *alg,
    const uint8_t *blob, size_t bloblen, const uint8_t *sig, size_t siglen)
{
	if (c->state != ST_AUTH || c->auth_pending)
		return -1;
	if (pkt_begin(c, MSG_USERAUTH_REQUEST) != 0)
		return -1;
	request_body(c, &c->out, user, alg, blob, bloblen);
	wb_string(&c->out, sig, siglen);
	if (pkt_end(c) != 0)
		return -1;
	c->auth_pending = true;
	return 0;
}

int
ssh_auth_pubkey(struct ssh_conn *c, const char *user, const struct key *key)
{
	struct wb blob, sd, sig;
	const char *alg = sig_alg(c, key);
	int ret = -1;

	if (c->state != ST_AUTH || c->auth_pending)
		return -1;
	wb_init(&blob);
	wb_init(&sd);
	wb_init(&sig);
	if (key_to_blob(key, &blob) == 0 && !blob.err &&
	    ssh_auth_sigdata(c, user, alg, blob.p, blob.len, &sd) == 0 &&
	    key_sign(key, alg, sd.p, sd.len, &sig) == 0)
		ret = ssh_auth_send(c, user, alg, blob.p, blob.len, sig.p,
		    sig.len);
	wb_free(&blob);
	wb_free(&sd);
	wb_free(&sig);
	return ret;
}

int
auth_input(struct ssh_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct ssh_event ev;
	struct rd r;
	char methods[512], text[1024];
	bool partial;

	if (c->cfg.role != SSH_ROLE_CLIENT)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "unexpected auth message %u", type);
	memset(&ev, 0, sizeof(ev));
	rd_init(&r, p, len);
	switch (type) {
	case MSG_USERAUTH_BANNER:
		if (rd_cstring(&r, text, sizeof(text)) != 0)
			return 0;	/* an unreadable banner is harmless */
		ev.type = SSH_EV_AUTH_BANNER;
		ev.u.text.text = text;
		conn_emit(c, &ev);
		return 0;
	case MSG_USERAUTH_SUCCESS:
		if (!c->auth_pending)
			break;
		c->auth_pending = false;
		c->authenticated = true;
		c->state = ST_OPEN;
		ev.type = SSH_EV_AUTH_SUCCESS;
		conn_emit(c, &ev);
		return 0;
	case MSG_USERAUTH_FAILURE:
		if (!c->auth_pending || rd_cstring(&r, methods,
		    sizeof(methods)) != 0 || rd_bool(&r, &partial) != 0)
			break;
		c->auth_pending = false;
		ev.type = SSH_EV_AUTH_FAILURE;
		ev.u.auth_failure.methods = methods;
		ev.u.auth_failure.partial = partial;
		conn_emit(c, &ev);
		return 0;
	default:
		break;
	}
	return conn_fail(c, DISC_PROTOCOL_ERROR,
	    "unexpected auth message %u", type);
}
