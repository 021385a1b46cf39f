/* ferryd's user certificates (sshd_config(5) TrustedUserCAKeys,
 * AuthorizedPrincipalsFile, AuthorizedPrincipalsCommand (sess_apc.c),
 * CASignatureAlgorithms; cert-authority lines of authorized_keys): whose
 * CA is trusted and under which principal, then keys/certauth.c's checks
 * of the certificate itself. The line that let it in goes to
 * s->ak_pending as a key's line does. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "keys/authkeys.h"
#include "keys/cert.h"
#include "keys/certauth.h"
#include "keys/key.h"
#include "server/sess_int.h"
#include "util/log.h"
#include "util/text.h"

static void
cert_warn(void *ud, const char *file, int line, const char *why)
{
	(void)ud;
	log_info("%s line %d: %s", file, line, why);
}

void
sess_cert_describe(const struct cert *c, char *out, size_t outlen)
{
	char fp[128], cafp[128], id[2 * CERT_MAX_KEY_ID_LEN + 1];

	key_fingerprint(c->key, fp, sizeof(fp));
	key_fingerprint(c->ca, cafp, sizeof(cafp));
	text_safe(id, sizeof(id), c->key_id, false);
	snprintf(out, outlen, "%s-CERT %s ID %s (serial %" PRIu64 ") CA %s %s",
	    key_type_label(c->key), fp, id, c->serial, key_type_label(c->ca),
	    cafp);
}

/* What TrustedUserCAKeys says of a certificate. */
enum trust {
	TRUST_NO_CA,		/* it does not list the CA */
	TRUST_OK,		/* the CA, and the principal rule lets it in */
	TRUST_NO_PRINCIPAL,	/* the CA, but no principal found (logged) */
	TRUST_ASK_COMMAND,	/* the CA; AuthorizedPrincipalsCommand
				 * decides */
};

/* TrustedUserCAKeys: whether it lists c's CA and the principal rule lets
 * c in (*principal then names what c must list, or NULL when a principals
 * line matched). As sshd: AuthorizedPrincipalsFile first, then
 * AuthorizedPrincipalsCommand; with neither, the user name must be a
 * principal. */
static enum trust
trusted_ca(struct session *s, const struct cert *c, const char *desc,
    const char **principal)
{
	const struct server_config *cfg = &s->pol->cfg;
	struct ak_opts *o = s->ak_pending;
	char path[1024], ppath[1024], err[256];
	bool has_file;
	int r, line;

	if (sess_keys_path(cfg, cfg->trusted_ca_keys, s->auth_user, path,
	    sizeof(path)) != 0)
		return TRUST_NO_CA;
	r = ak_find_file(path, c->ca, s->ip, o, cert_warn, s, err,
	    sizeof(err));
	if (r < 0)
		log_info("%s", err);
	if (r != 1)
		return TRUST_NO_CA;
	line = o->line;
	has_file = sess_keys_path(cfg, cfg->principals_file, s->auth_user,
	    ppath, sizeof(ppath)) == 0;
	if (!has_file && !s->pol->apc.enabled) {
		memset(o, 0, sizeof(*o));
		o->port_forwarding = true;
		snprintf(o->file, sizeof(o->file), "%.*s",
		    (int)sizeof(o->file) - 1, path);
		o->line = line;
		*principal = s->auth_user;
		return TRUST_OK;
	}
	if (has_file) {
		r = ak_find_principal_file(ppath, c, s->ip, o, cert_warn, s,
		    err, sizeof(err));
		if (r < 0)
			log_info("%s", err);
		if (r == 1) {
			*principal = NULL;
			return TRUST_OK;
		}
	}
	if (s->pol->apc.enabled) {
		if (has_file)
			log_verbose("%s: no principal of it in %s; asking "
			    "AuthorizedPrincipalsCommand", desc, ppath);
		return TRUST_ASK_COMMAND;
	}
	log_info("Refusing certificate for %s from %s port %d: %s: no "
	    "principal of it in %s", s->auth_user, s->ip, s->port, desc,
	    ppath);
	return TRUST_NO_PRINCIPAL;
}

/* A cert-authority line of the user's AuthorizedKeysFile for c's CA,
 * whose principals= (or the user name) c meets: true, the line in
 * s->ak_pending. */
bool
sess_cert_authkeys(struct session *s, const struct cert *c)
{
	const struct server_config *cfg = &s->pol->cfg;
	char path[1024], err[256];
	int i, r = 0;

	for (i = 0; i < s->cc->nauthorized_keys && r != 1; i++) {
		if (sess_keys_path(cfg, s->cc->authorized_keys[i], s->auth_user,
		    path, sizeof(path)) != 0)
			continue;
		r = ak_find_ca_file(path, c, s->auth_user, s->ip,
		    s->ak_pending, cert_warn, s, err, sizeof(err));
		if (r < 0)
			log_info("%s", err);
	}
	return r == 1;
}

/* The certificate itself, once its CA and principal were found
 * acceptable (the line in s->ak_pending): keys/certauth.c's checks;
 * principal as trusted_ca gives it. */
bool
sess_cert_finish(struct session *s, const struct cert *c, const char *desc,
    const char *principal)
{
	struct certauth_req req;
	struct certauth_grant g;
	enum certauth_verdict v;
	char why[600];

	memset(&req, 0, sizeof(req));
	req.ca_sign_algs = s->cc->ca_sign_algs;	/* Match may set it */
	req.client_ip = s->ip;
	req.principal = principal;
	req.now = (uint64_t)time(NULL);
	if ((v = certauth_check(c, &req, &g, why, sizeof(why))) !=
	    CERTAUTH_OK) {
		log_info("Refusing certificate for %s from %s port %d: %s: %s",
		    s->auth_user, s->ip, s->port, desc, why);
		return false;
	}
	if (!g.port_forwarding)
		s->ak_pending->port_forwarding = false;
	log_verbose("Accepted certificate %s via %s:%d", desc,
	    s->ak_pending->file, s->ak_pending->line);
	return true;
}

bool
sess_cert_allow(struct session *s, struct ssh_event *ev, const struct cert *c,
    const char *desc)
{
	const char *principal = NULL;
	enum trust t;

	t = trusted_ca(s, c, desc, &principal);
	if (t == TRUST_ASK_COMMAND) {
		if (sess_apc_start(s, ev, c, desc) == 0)
			return false;	/* deferred: ev says so */
		t = TRUST_NO_PRINCIPAL;
	}
	if (t != TRUST_OK && !sess_cert_authkeys(s, c)) {
		if (t == TRUST_NO_CA)
			log_info("Refusing certificate for %s from %s port "
			    "%d: %s: CA not trusted (not in TrustedUserCAKeys "
			    "nor on a matching cert-authority line)",
			    s->auth_user, s->ip, s->port, desc);
		return false;
	}
	return sess_cert_finish(s, c, desc, principal);
}

/* Whether any user name may log in with a certificate, whatever files
 * exist: AuthorizedPrincipalsCommand decides for TrustedUserCAKeys. */
bool
sess_cert_any_user(const struct session *s)
{
	const char *ca = s->pol->cfg.trusted_ca_keys;

	return s->pol->apc.enabled && ca != NULL && strcasecmp(ca, "none") != 0;
}
