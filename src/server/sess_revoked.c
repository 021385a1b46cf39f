/* RevokedKeys for ferryd's logins, and what a policy loads for
 * authentication besides its configuration. */
#include <stdio.h>
#include <strings.h>

#include "keys/cert.h"
#include "keys/revoked.h"
#include "server/sess_int.h"
#include "util/err.h"
#include "util/log.h"

int
server_policy_load_auth(struct server_policy *p, char *err, size_t errlen)
{
	const char *path = p->cfg.revoked_keys;

	if (authcmd_conf_load(&p->cfg, AUTHCMD_KEYS, &p->akc, err,
	    errlen) != 0 || authcmd_conf_load(&p->cfg, AUTHCMD_PRINCIPALS,
	    &p->apc, err, errlen) != 0)
		return -1;
	if (path == NULL || strcasecmp(path, "none") == 0)
		return 0;
	if (revoked_load(path, &p->revoked) != 0) {
		seterr(err, errlen, "RevokedKeys %s: out of memory", path);
		return -1;
	}
	if (p->revoked->kind == REVOKED_BAD)
		log_error("RevokedKeys %s cannot be used, every key will be "
		    "refused: %s", path, p->revoked->why);
	else if (p->revoked->nskipped > 0)
		log_info("RevokedKeys %s: %zu keys of types ferryd does not "
		    "have (ignored)", path, p->revoked->nskipped);
	return 0;
}

/* Whether key (or the certificate cert, NULL for a plain key) is revoked
 * by RevokedKeys, logged with sshd's words; an unusable file revokes
 * every key. */
bool
sess_revoked(const struct session *s, const struct key *key,
    const struct cert *cert)
{
	const struct revoked *r = s->pol->revoked;
	const struct key *shown = cert != NULL ? cert->key : key;
	char fp[128], why[300];

	if (r == NULL)
		return false;
	key_fingerprint(shown, fp, sizeof(fp));
	switch (revoked_check(r, key, cert, why, sizeof(why))) {
	case REVOKED_NO:
		return false;
	case REVOKED_YES:
		log_error("Authentication key %s%s %s revoked by file %s",
		    key_type_label(shown), cert != NULL ? "-CERT" : "", fp,
		    r->path);
		return true;
	default:
		log_error("Error checking authentication key %s%s %s in revoked "
		    "keys file %s: %s", key_type_label(shown), cert != NULL ?
		    "-CERT" : "", fp, r->path, why);
		return true;
	}
}
