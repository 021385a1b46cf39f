/* HostCertificate: the certificates a policy presents for its host keys,
 * read with the configuration (start and SIGHUP), each paired with the
 * loaded host key whose public key it certifies. */
#include <stdio.h>
#include <stdlib.h>

#include "keys/cert.h"
#include "server/session.h"
#include "ssh/ssh.h"
#include "util/err.h"
#include "util/log.h"
#include "util/readfile.h"
#include "util/text.h"

/* Loads one certificate file into p, or fails naming it (sshd's words). */
static int
load_one(struct server_policy *p, const char *path, char *err, size_t errlen)
{
	char why[400], fp[128], id[256];
	struct cert *c;
	int i, r;

	if ((r = cert_load_file(path, &c, why, sizeof(why))) != 0) {
		seterr(err, errlen, "Could not load host certificate \"%.500s\""
		    ": %s", path, r == READFILE_ABSENT ?
		    "No such file or directory" : why);
		return -1;
	}
	if (c->type != CERT_HOST) {
		seterr(err, errlen, "HostCertificate %.500s: a user "
		    "certificate, not a host certificate", path);
		cert_free(c);
		return -1;
	}
	for (i = 0; i < p->nhostkeys; i++)
		if (key_equal(p->hostkeys[i], c->key))
			break;
	if (i == p->nhostkeys) {
		key_fingerprint(c->key, fp, sizeof(fp));
		seterr(err, errlen, "HostCertificate %.500s: No matching "
		    "private key for certificate (%s %s): add its HostKey",
		    path, key_type_label(c->key), fp);
		cert_free(c);
		return -1;
	}
	p->hostcerts[p->nhostcerts++] = c;
	if (!ssh_algs_has(p->cfg.hostkey_algs, cert_auth_alg(c, false)) &&
	    (c->key->type != KEY_RSA ||
	    !ssh_algs_has(p->cfg.hostkey_algs, cert_auth_alg(c, true))))
		log_info("HostCertificate %s: HostKeyAlgorithms allows no "
		    "algorithm of it (%s): it is not offered", path,
		    c->type_name);
	text_safe(id, sizeof(id), c->key_id, false);
	log_debug("host certificate %s: %s, serial %llu, id \"%s\"", path,
	    c->type_name, (unsigned long long)c->serial, id);
	return 0;
}

int
server_policy_load_hostcerts(struct server_policy *p, char *err,
    size_t errlen)
{
	int i;

	for (i = 0; i < p->cfg.nhostcerts && i < SC_MAX_HOSTKEYS; i++)
		if (load_one(p, p->cfg.hostcerts[i], err, errlen) != 0)
			return -1;
	return 0;
}

void
server_policy_free_hostcerts(struct server_policy *p)
{
	int i;

	for (i = 0; i < p->nhostcerts; i++)
		cert_free(p->hostcerts[i]);
	p->nhostcerts = 0;
}
