/* ferryd's publickey authentication: the key a client offers is looked
 * up in the user's authorized_keys files (a certificate goes to
 * sess_cert.c); the line that allowed it is kept for the forwarding
 * decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "keys/authkeys.h"
#include "keys/cert.h"
#include "keys/key.h"
#include "server/sess_int.h"
#include "server/users.h"
#include "util/log.h"
#include "util/tokens.h"

static void
ak_warn(void *ud, const char *file, int line, const char *why)
{
	(void)ud;
	log_info("%s line %d: %s", file, line, why);
}

/* One AuthorizedKeysFile entry with %u, %h and %% expanded; %h and a
 * relative path mean StateDirectory (ferryd has no home directories).
 * "none" names no file. */
int
sess_keys_path(const struct server_config *c, const char *tmpl, const char *user,
    char *out, size_t outlen)
{
	struct tokens t;
	char exp[1024], err[128];

	if (strcasecmp(tmpl, "none") == 0)
		return -1;
	tokens_init(&t);
	tokens_set(&t, 'u', user);
	tokens_set(&t, 'h', c->state_dir);
	if (tokens_expand(tmpl, &t, exp, sizeof(exp), err, sizeof(err)) < 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s%s%s", exp[0] == '/' ? "" :
	    c->state_dir, exp[0] == '/' ? "" : "/", exp) >= outlen)
		return -1;
	return 0;
}

/* A user name is a label: it must not be able to name another file. */
static bool
user_ok(const char *u)
{
	return u[0] != '\0' && u[0] != '.' && strchr(u, '/') == NULL &&
	    strlen(u) < 64;
}

/* Who the connection is in sshd's log lines: "user U A port P" once
 * logged in, "authenticating user U ..." or "invalid user U ..." while
 * authenticating, "A port P" before any user name. */
void
sess_who(const struct session *s, char *out, size_t outlen)
{
	if (s->user_state == SESS_USER_UNSEEN)
		snprintf(out, outlen, "%s port %d", s->ip, s->port);
	else
		snprintf(out, outlen, "%s%s %s port %d", s->authenticated ?
		    "user " : s->user_state == SESS_USER_VALID ?
		    "authenticating user " : "invalid user ", s->auth_user,
		    s->ip, s->port);
}

/* Whether one of the user's AuthorizedKeysFile paths (as Match left
 * them), or the user's AuthorizedPrincipalsFile, exists: ferryd's account
 * check (it has no system accounts). */
static bool
user_has_keys(const struct session *s, const char *user)
{
	const struct server_config *c = &s->pol->cfg;
	const struct server_conn_cfg *cc = s->cc;
	char path[1024];
	int i;

	for (i = 0; i < cc->nauthorized_keys; i++)
		if (sess_keys_path(c, cc->authorized_keys[i], user, path,
		    sizeof(path)) == 0 && access(path, F_OK) == 0)
			return true;
	return sess_keys_path(c, c->principals_file, user, path,
	    sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/* The first request names the user: sshd's account checks in sshd's
 * order (no account, then DenyUsers and AllowUsers), logged as sshd logs
 * them. A refused user's every request fails. */
void
sess_auth_judge(struct session *s, const char *user)
{
	const struct server_config *c = &s->pol->cfg;
	enum users_verdict v;

	snprintf(s->auth_user, sizeof(s->auth_user), "%s", user);
	s->user_state = SESS_USER_INVALID;
	/* sshd applies Match once the user is named (a refused user too) */
	if (sess_match_apply(s, user) != 0)
		return;
	/* with AuthorizedKeysCommand any user name may have keys, with
	 * AuthorizedPrincipalsCommand any may have certificates */
	if (!user_ok(user) || (!s->pol->akc.enabled &&
	    !sess_cert_any_user(s) && !user_has_keys(s, user))) {
		log_info("Invalid user %s from %s port %d", user, s->ip,
		    s->port);
		return;
	}
	v = users_check(c->allow_users, c->nallow_users, c->deny_users,
	    c->ndeny_users, user, s->ip);
	if (v != USERS_ALLOWED) {
		log_info("User %s from %s not allowed because %s", user, s->ip,
		    v == USERS_DENIED ? "listed in DenyUsers" :
		    "not listed in AllowUsers");
		return;
	}
	s->user_state = SESS_USER_VALID;
}

/* A refused request: sshd's "Failed publickey" line, at info once half
 * of MaxAuthTries were used before it (sshd's rule), else verbose. what
 * is the key as sshd names it ("ED25519 SHA256:..."). */
void
sess_auth_refused(struct session *s, const char *what)
{
	enum log_level lv = s->auth_failures++ >= s->cc->max_auth_tries / 2 ?
	    LOG_INFO : LOG_VERBOSE;

	if (s->user_state != SESS_USER_VALID)
		return;
	log_msg(lv, __func__, "Failed publickey for %s from %s port %d ssh2: "
	    "%s", s->auth_user, s->ip, s->port, what);
}

/* The AuthorizedKeysFile line that lists key: true with it in
 * s->ak_pending, else false (logged). */
static bool
key_listed(struct session *s, const struct key *key, const char *fp)
{
	const struct server_config *c = &s->pol->cfg;
	const struct server_conn_cfg *cc = s->cc;
	char path[1024], tried[1100] = "", err[256];
	int r = 0, i;

	for (i = 0; i < cc->nauthorized_keys && r != 1; i++) {
		if (sess_keys_path(c, cc->authorized_keys[i], s->auth_user, path,
		    sizeof(path)) != 0)
			continue;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried),
		    "%s%s", tried[0] ? ", " : "", path);
		memset(s->ak_pending, 0, sizeof(*s->ak_pending));
		r = ak_find_file(path, key, s->ip, s->ak_pending, ak_warn, s,
		    err, sizeof(err));
		if (r < 0)
			log_info("%s", err);
	}
	if (r != 1) {
		log_verbose("%s key %s %s not in %s", s->auth_user,
		    key_type_name(key), fp, tried[0] ? tried : "any file "
		    "(AuthorizedKeysFile none)");
		return false;
	}
	log_verbose("Accepted key %s %s found at %s:%d", key_type_label(key), fp,
	    s->ak_pending->file, s->ak_pending->line);
	return true;
}

/* A key or certificate offered (and, once signed, proved): a key is
 * allowed when a line of the user's AuthorizedKeysFile holds it and its
 * options let this client in, a certificate when sess_cert_allow says so;
 * the line's parse stays in ak_pending for sess_auth_keep. The
 * request's algorithm is held against PubkeyAcceptedAlgorithms as sshd
 * does: a certificate by its certificate algorithm
 * (ssh-ed25519-cert-v01@openssh.com), a key by its signature algorithm. */
void
sess_auth_request(struct session *s, struct ssh_event *ev)
{
	const char *user = ev->u.auth_request.user;
	const struct key *key = ev->u.auth_request.key;
	const struct cert *cert = ev->u.auth_request.cert;
	const char *alg = ev->u.auth_request.alg;
	char fp[128], what[2400];
	bool ok;

	ev->u.auth_request.allow = false;
	key_fingerprint(key, fp, sizeof(fp));
	if (cert != NULL)
		sess_cert_describe(cert, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "%s %s", key_type_label(key), fp);
	if (s->user_state == SESS_USER_UNSEEN)
		sess_auth_judge(s, user);
	if (s->user_state != SESS_USER_VALID) {
		sess_auth_refused(s, what);
		return;
	}
	if (ev->u.auth_request.bad_sig) {
		log_info("refused publickey for %s from %s port %d: %s: the "
		    "signature does not verify", user, s->ip, s->port, what);
		sess_auth_refused(s, what);
		return;
	}
	if (alg == NULL || !ssh_algs_has(s->cc->pubkey_algs, alg)) {
		log_info("refused publickey for %s from %s port %d: %s%s%s: "
		    "signature algorithm %s not in PubkeyAcceptedAlgorithms",
		    user, s->ip, s->port, cert != NULL ? what :
		    key_type_name(key), cert != NULL ? "" : " ",
		    cert != NULL ? "" : fp, alg != NULL ? alg : "?");
		sess_auth_refused(s, what);
		return;
	}
	if (key->type == KEY_RSA && key_bits(key) < s->cc->required_rsa_size) {
		log_info("refusing %s key: Invalid key length (%d bits, "
		    "RequiredRSASize %d) for %s from %s port %d", cert != NULL ?
		    "RSA-CERT" : "RSA", key_bits(key), s->cc->required_rsa_size,
		    user, s->ip, s->port);
		sess_auth_refused(s, what);
		return;
	}
	if (sess_revoked(s, key, cert)) {
		sess_auth_refused(s, what);
		return;
	}
	if (s->ak_pending == NULL &&
	    (s->ak_pending = malloc(sizeof(*s->ak_pending))) == NULL)
		return;
	memset(s->ak_pending, 0, sizeof(*s->ak_pending));
	ok = cert != NULL ? sess_cert_allow(s, ev, cert, what) :
	    key_listed(s, key, fp);
	/* a key no file lists goes to AuthorizedKeysCommand, a certificate
	 * whose principals no file lists may go to
	 * AuthorizedPrincipalsCommand: their verdict comes later */
	if (ev->u.auth_request.defer ||
	    (!ok && cert == NULL && sess_akc_start(s, ev, fp) == 0))
		return;
	if (!ok) {
		sess_auth_refused(s, what);
		return;
	}
	ev->u.auth_request.allow = true;
	sess_auth_accepted(s, what, fp, ev->u.auth_request.has_sig);
}

/* The key or certificate what (fingerprint fp) is allowed: sshd's lines
 * for a query and for a proved request. */
void
sess_auth_accepted(struct session *s, const char *what, const char *fp,
    bool has_sig)
{
	if (!has_sig) {
		log_verbose("Postponed publickey for %s from %s port %d ssh2 "
		    "[preauth]", s->auth_user, s->ip, s->port);
		return;
	}
	snprintf(s->key_fp, sizeof(s->key_fp), "%s", fp);
	log_info("Accepted publickey for %s from %s port %d ssh2: %s",
	    s->auth_user, s->ip, s->port, what);
}

/* The engine's reason when MaxAuthTries ran out (src/ssh/auth.c). */
#define TOO_MANY	"Too many authentication failures"

/* sshd's lines for the end of a connection, which fail2ban reads:
 * "Received disconnect", "Disconnected from", "Connection closed by",
 * "maximum authentication attempts exceeded"; "[preauth]" before login. */
void
sess_auth_log_close(struct session *s, enum net_end end, const char *why)
{
	const char *pre = s->authenticated ? "" : " [preauth]";
	char who[400], msg[300];
	unsigned code;
	int off = 0;

	sess_who(s, who, sizeof(who));
	if (!s->greeted) {
		/* sshd's banner exchange lines; its hostless
		 * "kex_exchange_identification" ones are left out: a log
		 * reader would pin them on whichever address it saw last
		 * under ferryd's one pid */
		if (end == NET_END_PROTOCOL)
			log_info("banner exchange: Connection from %s port %d: "
			    "invalid format", s->ip, s->port);
		else if (end == NET_END_PEER_CLOSED || end == NET_END_IO)
			log_info("Connection %s by %s port %d", end ==
			    NET_END_IO ? "reset" : "closed", s->ip, s->port);
		return;
	}
	switch (end) {
	case NET_END_PEER_DISCONNECT:
		/* the engine's "disconnected by peer (code N): text" */
		if (sscanf(why, "disconnected by peer (code %u): %n", &code,
		    &off) == 1 && off > 0)
			log_info("Received disconnect from %s port %d:%u: %s%s",
			    s->ip, s->port, code, why + off, pre);
		log_info("Disconnected from %s%s", who, pre);
		break;
	case NET_END_PEER_CLOSED:
		log_info("Connection closed by %s%s", who, pre);
		break;
	case NET_END_IO:
		log_info("Connection reset by %s%s", who, pre);
		break;
	case NET_END_LOCAL:
		/* ferryd ended it (a session channel closed, LoginGraceTime,
		 * a shutdown) */
		log_info("Disconnected from %s%s", who, pre);
		break;
	case NET_END_PROTOCOL:
		if (s->authenticated || strcmp(why, TOO_MANY) != 0)
			break;
		if (s->user_state != SESS_USER_UNSEEN)
			log_info("maximum authentication attempts exceeded for "
			    "%s%s from %s port %d ssh2 [preauth]",
			    s->user_state == SESS_USER_VALID ? "" :
			    "invalid user ", s->auth_user, s->ip, s->port);
		snprintf(msg, sizeof(msg), "%s", why);
		log_info("Disconnecting %s: %s [preauth]", who, msg);
		/* where sshd's process would exit: a closing line, so that a
		 * log reader drops what it kept under ferryd's one pid */
		log_info("Disconnected from %s [preauth]", who);
		break;
	default:
		break;
	}
}

/* A permission list of authorized_keys in the policy's terms. */
static struct fwd_permit *
ak_permits(const struct ak_permit *v, int n)
{
	struct fwd_permit *out;
	int i;

	if (n == 0 || (out = calloc((size_t)n, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		memcpy(out[i].host, v[i].host, sizeof(out[i].host));
		out[i].host[sizeof(out[i].host) - 1] = '\0';
		out[i].port = v[i].port;
	}
	return out;
}

/* Keeps what the successful key's line allows; the bulky parse result
 * goes. Returns 0 or -1 (out of memory). */
int
sess_auth_keep(struct session *s)
{
	struct ak_opts *a = s->ak_pending;
	struct fwd_key_rules *k = &s->ak;

	k->port_forwarding = a->port_forwarding;
	k->restricted = a->restricted;
	k->line = a->line;
	k->file = strdup(a->file);
	k->open = ak_permits(a->open, a->nopen);
	k->nopen = a->nopen;
	k->listen = ak_permits(a->listen, a->nlisten);
	k->nlisten = a->nlisten;
	free(s->ak_pending);
	s->ak_pending = NULL;
	if (k->file == NULL || (k->nopen > 0 && k->open == NULL) ||
	    (k->nlisten > 0 && k->listen == NULL))
		return -1;
	return 0;
}
