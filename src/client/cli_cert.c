/* User certificates (issue 11): the CertificateFile files and
 * "IDENTITY-cert.pub" beside each IdentityFile, offered for publickey
 * authentication and signed by the key they certify, in ssh's order
 * (OpenSSH 9.2 -v): the CertificateFile ones before the IdentityFile
 * keys, each -cert.pub right after its own key. The server decides: an
 * expired certificate is offered all the same and refused there. */
#include "cli_int.h"

#include <stdio.h>
#include <string.h>

#include "keys/cert.h"
#include "keys/key.h"
#include "util/log.h"
#include "util/readfile.h"
#include "util/text.h"

/* Puts c at position at of the offer order, to be offered once after
 * ids keys were. */
static void
add_cert(struct client *cl, struct cert *c, int id, int at, int after,
    const char *path)
{
	char safe[CERT_MAX_KEY_ID_LEN * 4 + 1];
	int i;

	if (cl->ncerts >= (int)(sizeof(cl->certs) / sizeof(cl->certs[0]))) {
		log_error("Certificate \"%s\": too many certificates", path);
		cert_free(c);
		return;
	}
	text_safe(safe, sizeof(safe), c->key_id, false);
	log_verbose("Will attempt certificate: %s %s serial %llu ID \"%s\"",
	    path, c->type_name, (unsigned long long)c->serial, safe);
	for (i = cl->ncerts; i > at; i--) {
		cl->certs[i] = cl->certs[i - 1];
		cl->cert_id[i] = cl->cert_id[i - 1];
		cl->cert_after[i] = cl->cert_after[i - 1];
	}
	cl->certs[at] = c;
	cl->cert_id[at] = id;
	cl->cert_after[at] = after;
	cl->ncerts++;
}

void
cli_load_cert_beside(struct client *cl, const char *path, int id)
{
	char cpath[4200], err[256];
	struct cert *c;
	int r;

	if ((size_t)snprintf(cpath, sizeof(cpath), "%s-cert.pub", path) >=
	    sizeof(cpath))
		return;
	r = cert_load_file(cpath, &c, err, sizeof(err));
	if (r == READFILE_ABSENT)
		return;
	if (r != 0) {
		log_error("Load certificate \"%s\": %s", cpath, err);
		return;
	}
	if (!key_equal(c->key, cl->ids[id])) {
		log_error("Certificate \"%s\" does not certify the key in "
		    "\"%s\"; not offered", cpath, path);
		cert_free(c);
		return;
	}
	add_cert(cl, c, id, cl->ncerts, id + 1, cpath);
}

void
cli_load_cert_files(struct client *cl)
{
	const struct options *o = cl->o;
	char err[256];
	struct cert *c;
	int i, j, r, front = 0;

	for (i = 0; i < o->ncertificate; i++) {
		r = cert_load_file(o->certificate_path[i], &c, err,
		    sizeof(err));
		if (r != 0) {
			log_error("Load certificate \"%s\": %s",
			    o->certificate_path[i], r == READFILE_ABSENT ?
			    "No such file or directory" : err);
			continue;
		}
		for (j = 0; j < cl->nids; j++)
			if (key_equal(c->key, cl->ids[j]))
				break;
		if (j == cl->nids) {
			log_error("Certificate \"%s\": no IdentityFile holds "
			    "its private key; not offered",
			    o->certificate_path[i]);
			cert_free(c);
			continue;
		}
		add_cert(cl, c, j, front++, 0, o->certificate_path[i]);
	}
}

bool
cli_try_cert(struct client *cl, struct ssh_conn *ssh)
{
	const struct key *k;
	const struct cert *c;
	const char *alg;

	while (cl->next_cert < cl->ncerts &&
	    cl->cert_after[cl->next_cert] <= cl->next_id) {
		c = cl->certs[cl->next_cert];
		k = cl->ids[cl->cert_id[cl->next_cert++]];
		if ((alg = ssh_auth_cert_alg(ssh, c)) == NULL) {
			cli_skip_key(cert_auth_alg(c, false), "(certificate)");
			continue;
		}
		log_verbose("Offering public key: %s serial %llu (certificate)",
		    alg, (unsigned long long)c->serial);
		if (ssh_auth_pubkey_cert(ssh, cl->o->user, k, alg, c->blob,
		    c->bloblen) == 0)
			return true;
	}
	return false;
}

void
cli_free_certs(struct client *cl)
{
	int i;

	for (i = 0; i < cl->ncerts; i++)
		cert_free(cl->certs[i]);
	cl->ncerts = 0;
}
