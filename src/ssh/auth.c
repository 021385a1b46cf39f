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

int
ssh_auth_pubkey(struct ssh_conn *c, const char *user, const struct key *key)
{
	struct wb blob, sd;
	const char *alg = sig_alg(c, key);
	int ret = -1;

	if (c->state != ST_AUTH || c->auth_pending)
		return -1;
	wb_init(&blob);
	wb_init(&sd);
	if (key_to_blob(key, &blob) != 0)
		goto out;
	wb_string(&sd, c->session_id, c->session_id_len);
	wb_u8(&sd, MSG_USERAUTH_REQUEST);
	wb_cstring(&sd, user);
	wb_cstring(&sd, "ssh-connection");
	wb_cstring(&sd, "publickey");
	wb_bool(&sd, true);
	wb_cstring(&sd, alg);
	wb_string(&sd, blob.p, blob.len);
	if (sd.err)
		goto out;
	/* The request is the signed data minus the session id, plus the
	 * signature. */
	if (pkt_begin(c, MSG_USERAUTH_REQUEST) != 0)
		goto out;
	wb_put(&c->out, sd.p + 4 + c->session_id_len + 1,
	    sd.len - 4 - c->session_id_len - 1);
	{
		struct wb sig;

		wb_init(&sig);
		if (key_sign(key, alg, sd.p, sd.len, &sig) != 0) {
			wb_free(&sig);
			c->out.len = c->pkt_start;
			c->building = false;
			goto out;
		}
		wb_string(&c->out, sig.p, sig.len);
		wb_free(&sig);
	}
	if (pkt_end(c) != 0)
		goto out;
	c->auth_pending = true;
	ret = 0;
out:
	wb_free(&blob);
	wb_free(&sd);
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
