/* User authentication (RFC 4252): publickey with a signature over the
 * session identifier, with a plain key or an OpenSSH certificate
 * (PROTOCOL.certkeys). */
#include "ssh_int.h"

#include <stdio.h>
#include <string.h>

#include "../keys/cert.h"
#include "../keys/key.h"

/* The place of name in a comma-separated list, -1 if it is not there. */
static int
list_pos(const char *l, const char *name)
{
	size_t n = strlen(name);
	int pos = 0;

	for (; l != NULL; pos++) {
		if (strncmp(l, name, n) == 0 && (l[n] == ',' || l[n] == '\0'))
			return pos;
		if ((l = strchr(l, ',')) != NULL)
			l++;
	}
	return -1;
}

static bool
server_lists(const struct ssh_conn *c, const char *sig)
{
	const char *l = c->server_sig_algs;

	return l != NULL && algs_has((const uint8_t *)l, strlen(l), sig);
}

/* The algorithm a client offers key under (ct: a certificate of it) by
 * cfg.pubkey_algs (PubkeyAcceptedAlgorithms; NULL: all, RSA's SHA-512
 * first). For RSA, as ssh picks: the first allowed rsa-sha2 name whose
 * signature server-sig-algs lists (RFC 8332/8308), or the first allowed
 * when it lists neither. NULL when nothing fits. */
static const char *
offer_alg(const struct ssh_conn *c, const struct key *k, const struct cert *ct)
{
	static const char *const sig[2] = { "rsa-sha2-512", "rsa-sha2-256" };
	const char *cand[2], *l = c->cfg.pubkey_algs;
	int pos[2], i, j, first = -1;

	cand[0] = ct != NULL ? cert_auth_alg(ct, false) : key_type_name(k);
	if (k->type != KEY_RSA)
		return l == NULL || list_pos(l, cand[0]) >= 0 ? cand[0] : NULL;
	for (i = 0; i < 2; i++) {
		cand[i] = ct != NULL ? cert_auth_alg(ct, i == 1) : sig[i];
		pos[i] = l == NULL ? i : list_pos(l, cand[i]);
	}
	for (i = 0; i < 2; i++) {
		/* the list's order: SHA-256 first if it comes first */
		j = pos[1] >= 0 && (pos[0] < 0 || pos[1] < pos[0]) ? 1 - i : i;
		if (pos[j] < 0)
			continue;
		if (first < 0)
			first = j;
		if (server_lists(c, sig[j]))
			return cand[j];
	}
	if (first < 0 || server_lists(c, sig[0]) || server_lists(c, sig[1]))
		return NULL;	/* none the server takes */
	return cand[first];
}

static const char *
sig_alg(const struct ssh_conn *c, const struct key *k)
{
	return offer_alg(c, k, NULL);
}

const char *
ssh_auth_sig_alg(const struct ssh_conn *c, const struct key *k)
{
	return sig_alg(c, k);
}

const char *
ssh_auth_cert_alg(const struct ssh_conn *c, const struct cert *ct)
{
	return offer_alg(c, ct->key, ct);
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

/* Signs the request for alg and blob with key under sigalg and sends
 * it. */
static int
send_signed(struct ssh_conn *c, const char *user, const struct key *key,
    const char *alg, const char *sigalg, const uint8_t *blob, size_t bloblen)
{
	struct wb sd, sig;
	int ret = -1;

	wb_init(&sd);
	wb_init(&sig);
	if (ssh_auth_sigdata(c, user, alg, blob, bloblen, &sd) == 0 &&
	    key_sign(key, sigalg, sd.p, sd.len, &sig) == 0)
		ret = ssh_auth_send(c, user, alg, blob, bloblen, sig.p,
		    sig.len);
	wb_free(&sd);
	wb_free(&sig);
	return ret;
}

int
ssh_auth_pubkey(struct ssh_conn *c, const char *user, const struct key *key)
{
	const char *alg = sig_alg(c, key);
	struct wb blob;
	int ret = -1;

	if (c->state != ST_AUTH || c->auth_pending || alg == NULL)
		return -1;
	wb_init(&blob);
	if (key_to_blob(key, &blob) == 0 && !blob.err)
		ret = send_signed(c, user, key, alg, alg, blob.p, blob.len);
	wb_free(&blob);
	return ret;
}

int
ssh_auth_pubkey_cert(struct ssh_conn *c, const char *user,
    const struct key *key, const char *cert_alg, const uint8_t *cert,
    size_t certlen)
{
	enum key_type type;
	const char *sigalg = cert_sig_alg(cert_alg, &type);

	/* the signature is of the certificate algorithm's hash (RFC 8332
	 * for rsa-sha2-256-cert-v01) */
	if (c->state != ST_AUTH || c->auth_pending || sigalg == NULL ||
	    type != key->type)
		return -1;
	return send_signed(c, user, key, cert_alg, sigalg, cert, certlen);
}

#define DEFAULT_MAX_AUTH_TRIES	6

static int
send_failure(struct ssh_conn *c)
{
	if (pkt_begin(c, MSG_USERAUTH_FAILURE) != 0)
		return -1;
	wb_cstring(&c->out, "publickey");
	wb_bool(&c->out, false);
	return pkt_end(c);
}

/* A refused attempt; too many end the connection as sshd does. */
static int
auth_failed(struct ssh_conn *c)
{
	unsigned max = c->cfg.max_auth_tries ? c->cfg.max_auth_tries :
	    DEFAULT_MAX_AUTH_TRIES;

	if (++c->auth_failures >= max)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "Too many authentication failures");
	return send_failure(c);
}

/* The key of a publickey request: a plain key blob, or for a
 * *-cert-v01@openssh.com algorithm a certificate whose key is of the
 * algorithm's type. *sigalg gets the algorithm the signature must use.
 * Returns 0, or -1 when the blob does not fit alg. */
static int
request_key(const char *alg, const uint8_t *blob, size_t bloblen,
    struct key **key, struct cert **cert, const char **sigalg)
{
	enum key_type type;
	char err[128];

	*key = NULL;
	*cert = NULL;
	*sigalg = cert_sig_alg(alg, &type);
	if (*sigalg == NULL) {
		*sigalg = alg;
		if (key_from_blob(blob, bloblen, key, err, sizeof(err)) != 0 ||
		    !key_alg_ok(*key, alg))
			return -1;
		return 0;
	}
	if (cert_parse(blob, bloblen, cert, err, sizeof(err)) != 0 ||
	    (*cert)->key->type != type || !key_alg_ok((*cert)->key, *sigalg))
		return -1;
	return 0;
}

/* Whether sig is key's signature under sigalg over the request. */
static int
request_verify(const struct ssh_conn *c, const struct key *key,
    const char *alg, const char *sigalg, const uint8_t *blob, size_t bloblen,
    const uint8_t *sig, size_t siglen)
{
	struct wb sd;
	int ret;

	wb_init(&sd);
	wb_string(&sd, c->session_id, c->session_id_len);
	wb_u8(&sd, MSG_USERAUTH_REQUEST);
	request_body(c, &sd, c->auth_user, alg, blob, bloblen);
	ret = sd.err ? -1 : key_verify(key, sigalg, sig, siglen, sd.p,
	    sd.len);
	wb_free(&sd);
	return ret;
}

/* The handler's verdict on a request whose signature (if any) verified:
 * a refusal, PK_OK for a query (echoing alg and blob), or success. */
int
auth_verdict(struct ssh_conn *c, bool allow, const char *alg,
    const uint8_t *blob, size_t bloblen, bool has_sig)
{
	struct ssh_event ev;

	if (!allow)
		return auth_failed(c);
	if (!has_sig) {
		if (pkt_begin(c, MSG_USERAUTH_PK_OK) != 0)
			return -1;
		wb_cstring(&c->out, alg);
		wb_string(&c->out, blob, bloblen);
		return pkt_end(c);
	}
	c->authenticated = true;
	c->state = ST_OPEN;
	if (pkt_begin(c, MSG_USERAUTH_SUCCESS) != 0 || pkt_end(c) != 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_AUTH_SUCCESS;
	conn_emit(c, &ev);
	return 0;
}

/* Server side of publickey: a query gets PK_OK, a signed request is
 * verified over the session id first; either way the handler decides
 * whether this key (or certificate) may log in as user. */
static int
server_pubkey(struct ssh_conn *c, struct rd *r)
{
	struct ssh_event ev;
	struct key *plain = NULL;
	struct cert *cert = NULL;
	const struct key *key;
	const uint8_t *blob, *sig = NULL;
	const char *sigalg;
	size_t bloblen, siglen = 0;
	char alg[64];
	bool has_sig;

	if (rd_bool(r, &has_sig) != 0 || rd_cstring(r, alg, sizeof(alg)) != 0 ||
	    rd_string(r, &blob, &bloblen) != 0 ||
	    (has_sig && rd_string(r, &sig, &siglen) != 0))
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "malformed publickey request");
	if (request_key(alg, blob, bloblen, &plain, &cert, &sigalg) != 0) {
		key_free(plain);
		cert_free(cert);
		return auth_failed(c);
	}
	key = cert != NULL ? cert->key : plain;
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_AUTH_REQUEST;
	ev.u.auth_request.user = c->auth_user;
	ev.u.auth_request.key = key;
	ev.u.auth_request.cert = cert;
	ev.u.auth_request.alg = alg;
	ev.u.auth_request.has_sig = has_sig;
	/* proved before the handler hears of it, so that it never takes (or
	 * logs as accepted) a key whose holder did not sign */
	ev.u.auth_request.bad_sig = has_sig && request_verify(c, key, alg,
	    sigalg, blob, bloblen, sig, siglen) != 0;
	conn_emit(c, &ev);
	key_free(plain);
	cert_free(cert);
	if (ev.u.auth_request.bad_sig)
		return auth_failed(c);
	if (ev.u.auth_request.defer)	/* auth_wait.c answers later */
		return auth_defer(c, alg, blob, bloblen, has_sig);
	return auth_verdict(c, ev.u.auth_request.allow, alg, blob, bloblen,
	    has_sig);
}

const char *
ssh_auth_user_asked(const struct ssh_conn *c)
{
	return c->auth_user;
}

void
ssh_server_set_auth(struct ssh_conn *c, const char *banner,
    unsigned max_auth_tries)
{
	c->cfg.banner = banner;
	c->cfg.max_auth_tries = max_auth_tries;
}

/* Server: the configured banner, once, before the first answer. */
static int
send_banner(struct ssh_conn *c)
{
	if (c->cfg.banner == NULL || c->cfg.banner[0] == '\0')
		return 0;
	if (pkt_begin(c, MSG_USERAUTH_BANNER) != 0)
		return -1;
	wb_cstring(&c->out, c->cfg.banner);
	wb_cstring(&c->out, "");	/* language tag */
	return pkt_end(c);
}

static int
server_auth_input(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	struct rd r;
	char user[256], method[32];

	if (c->authenticated)
		return 0;	/* RFC 4252 §5.1: ignored after success */
	rd_init(&r, p, len);
	if (rd_cstring(&r, user, sizeof(user)) != 0 ||
	    rd_string_eq(&r, "ssh-connection") != 0 ||
	    rd_cstring(&r, method, sizeof(method)) != 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "malformed or unsupported auth request");
	if (c->auth_user[0] == '\0') {
		if (send_banner(c) != 0)
			return -1;
		memcpy(c->auth_user, user, sizeof(user));
	}
	else if (strcmp(c->auth_user, user) != 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "change of user name during authentication");
	if (strcmp(method, "publickey") == 0)
		return server_pubkey(c, &r);
	if (strcmp(method, "none") == 0)
		return send_failure(c);
	return auth_failed(c);
}

int
auth_input(struct ssh_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct ssh_event ev;
	struct rd r;
	char methods[512], text[1024];
	bool partial;

	if (c->cfg.role == SSH_ROLE_SERVER && type == MSG_USERAUTH_REQUEST)
		return server_auth_input(c, p, len);
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
		/* zlib@openssh.com: compression starts with what follows */
		if (comp_authed(c) != 0)
			return -1;
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
