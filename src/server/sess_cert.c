/* ferryd's user certificates (sshd_config(5) TrustedUserCAKeys,
 * AuthorizedPrincipalsFile, CASignatureAlgorithms; cert-authority lines of
 * authorized_keys): whose CA is trusted and under which principal, then
 * keys/certauth.c's checks of the certificate itself. The line that let
 * it in goes to s->ak_pending as a key's line does. */
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

/* TrustedUserCAKeys: 1 if it lists c's CA and the principal rule lets c
 * in (*principal then names what c must list, or NULL when a principals
 * file line matched), 0 if it does not list the CA, -1 (logged) if no
 * line of AuthorizedPrincipalsFile names a principal of c. */
static int
trusted_ca(struct session *s, const struct cert *c, const char *desc,
    const char **principal)
{
	const struct server_config *cfg = &s->pol->cfg;
	struct ak_opts *o = s->ak_pending;
	char path[1024], ppath[1024], err[256];
	int r, line;

	if (sess_keys_path(cfg, cfg->trusted_ca_keys, s->auth_user, path,
	    sizeof(path)) != 0)
		return 0;
	r = ak_find_file(path, c->ca, s->ip, o, cert_warn, s, err,
	    sizeof(err));
	if (r < 0)
		log_info("%s", err);
	if (r != 1)
		return 0;
	line = o->line;
	if (sess_keys_path(cfg, cfg->principals_file, s->auth_user, ppath,
	    sizeof(ppath)) != 0) {
		memset(o, 0, sizeof(*o));
		o->port_forwarding = true;
		snprintf(o->file, sizeof(o->file), "%.*s",
		    (int)sizeof(o->file) - 1, path);
		o->line = line;
		*principal = s->auth_user;
		return 1;
	}
	r = ak_find_principal_file(ppath, c, s->ip, o, cert_warn, s, err,
	    sizeof(err));
	if (r < 0)
		log_info("%s", err);
	if (r == 1) {
		*principal = NULL;
		return 1;
	}
	log_info("Refusing certificate for %s from %s port %d: %s: no "
	    "principal of it in %s", s->auth_user, s->ip, s->port, desc,
	    ppath);
	return -1;
}

/* A cert-authority line of the user's AuthorizedKeysFile for c's CA,
 * whose principals= (or the user name) c meets: 1, else 0. */
static int
authkeys_ca(struct session *s, const struct cert *c)
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

bool
sess_cert_allow(struct session *s, const struct cert *c, const char *desc)
{
	struct certauth_req req;
	struct certauth_grant g;
	enum certauth_verdict v;
	const char *principal = NULL;
	char why[600];
	int t;

	if ((t = trusted_ca(s, c, desc, &principal)) != 1 &&
	    authkeys_ca(s, c) != 1) {
		if (t == 0)
				log_info("Refusing certificate for %s from %s port %d: "
			    "%s: CA not trusted (not in TrustedUserCAKeys nor on "
			    "a matching cert-authority line)", s->auth_user,
			    s->ip, s->port, desc);
		return false;
	}
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
