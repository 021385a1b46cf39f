/* The identities of the files (issue 11): IdentityFile keys, the
 * "IDENTITY-cert.pub" beside each and the CertificateFile certificates,
 * kept in the order ssh lists them (OpenSSH 9.2 load_public_identity_files:
 * each -cert.pub right after its key, read only when no CertificateFile
 * is given). Which key signs a certificate is decided when it is offered
 * (cli_offer.c): an IdentityFile's private key or the agent. The server
 * decides the rest: an expired certificate is offered all the same and
 * refused there. */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cert.h"
#include "keys/key.h"
#include "util/log.h"
#include "util/readfile.h"

bool
cli_add_file(struct client *cl, const char *path, struct key *key,
    struct cert *c, bool certfile)
{
	struct file_id *f;

	if (cl->nfiles >= MAX_FILE_IDS) {
		log_error("\"%s\": too many identities", path);
		key_free(key);
		cert_free(c);
		return false;
	}
	f = &cl->files[cl->nfiles++];
	f->path = path;
	f->key = key;
	f->cert = c;
	f->certfile = certfile;
	f->explicit = certfile || cl->o->identity_given;
	return true;
}

/* A user certificate, or an error naming path. RequiredRSASize applies
 * as to keys (ssh's "load certificate" error). */
static struct cert *
load_cert(const struct client *cl, const char *path, bool must_exist)
{
	char err[256];
	struct cert *c;
	int r;

	r = cert_load_file(path, &c, err, sizeof(err));
	if (r == READFILE_ABSENT && !must_exist)
		return NULL;
	if (r != 0) {
		log_error("Load certificate \"%s\": %s", path,
		    r == READFILE_ABSENT ? "No such file or directory" : err);
		return NULL;
	}
	if (c->type != CERT_USER) {
		log_error("Certificate \"%s\" is not a user certificate; not "
		    "offered", path);
	} else if (c->key->type == KEY_RSA &&
	    key_bits(c->key) < cl->o->required_rsa_size) {
		log_error("load certificate \"%s\": Invalid key length (%d "
		    "bits, RequiredRSASize %d)", path, key_bits(c->key),
		    cl->o->required_rsa_size);
	} else
		return c;
	cert_free(c);
	return NULL;
}

void
cli_load_cert_beside(struct client *cl, const char *path)
{
	const struct key *k = cl->files[cl->nfiles - 1].key;
	char cpath[4200];
	struct cert *c;

	if (cl->o->ncertificate > 0 || (size_t)snprintf(cpath, sizeof(cpath),
	    "%s-cert.pub", path) >= sizeof(cpath))
		return;
	if ((c = load_cert(cl, cpath, false)) == NULL)
		return;
	if (!key_equal(c->key, k)) {
		log_error("Certificate \"%s\" does not certify the key in "
		    "\"%s\"; not offered", cpath, path);
		cert_free(c);
		return;
	}
	cli_add_file(cl, path, NULL, c, false);
}

void
cli_load_cert_files(struct client *cl)
{
	const struct options *o = cl->o;
	struct cert *c;
	int i;

	for (i = 0; i < o->ncertificate; i++)
		if ((c = load_cert(cl, o->certificate_path[i], true)) != NULL)
			cli_add_file(cl, o->certificate_path[i], NULL, c,
			    true);
}

void
cli_free_files(struct client *cl)
{
	int i;

	for (i = 0; i < cl->nfiles; i++) {
		key_free(cl->files[i].key);
		cert_free(cl->files[i].cert);
	}
	cl->nfiles = 0;
}
