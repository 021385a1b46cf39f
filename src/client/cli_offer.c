/* What one connection offers for publickey authentication, in ssh's
 * order (OpenSSH 9.2 sshconnect2.c pubkey_prepare), and how each offer
 * is signed: by the agent when it lists the identity (as ssh), else by a
 * private key ferry loaded. A certificate is signed, as ssh does, by an
 * offer of its plain key when the list holds one (the agent then gets
 * the plain key's blob), else by the agent's certificate identity (the
 * agent gets the certificate's blob); RSA certificates get the rsa-sha2
 * flag of their algorithm.
 * The engine stays sans-I/O: it gives the bytes to sign
 * (ssh_auth_sigdata) and sends the signed request (ssh_auth_send). */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cert.h"
#include "keys/key.h"
#include "util/log.h"
#include "util/text.h"

/* Whether agent identity id is files entry f: the same key, or the same
 * certificate (ssh's sshkey_equal). */
static bool
same_id(const struct file_id *f, const struct agent_id *id)
{
	if (f->cert == NULL || id->cert == NULL)
		return f->cert == NULL && id->cert == NULL &&
		    key_equal(f->key, id->key);
	return f->cert->bloblen == id->cert->bloblen &&
	    memcmp(f->cert->blob, id->cert->blob, id->cert->bloblen) == 0;
}

/* RequiredRSASize for an agent identity, as ssh, and no host
 * certificate (ssh would offer one; a server can only refuse it): false
 * (and why, at -v) for one not to use. */
static bool
agent_id_usable(const struct client *cl, const struct agent_id *id)
{
	const char *name = id->cert != NULL ? id->cert->type_name :
	    key_type_name(id->key);
	char safe[256];

	if (id->key->type == KEY_RSA &&
	    key_bits(id->key) < cl->o->required_rsa_size) {
		log_verbose("ignoring %s agent key: Invalid key length (%d "
		    "bits, RequiredRSASize %d)", name, key_bits(id->key),
		    cl->o->required_rsa_size);
		return false;
	}
	if (id->cert != NULL && id->cert->type != CERT_USER) {
		text_safe(safe, sizeof(safe), id->comment, false);
		log_verbose("ignoring %s agent key %s: not a user certificate",
		    name, safe);
		return false;
	}
	return true;
}

/* The files entry agent identity id is (not yet taken), or -1. */
static int
file_of(const struct client *cl, const struct agent_id *id,
    const bool *taken)
{
	int i;

	for (i = 0; i < cl->nfiles; i++)
		if (!taken[i] && same_id(&cl->files[i], id))
			return i;
	return -1;
}

static void
add_offer(struct client *cl, const struct file_id *f,
    const struct agent_id *id)
{
	struct offer *of = &cl->offers[cl->noffers++];

	of->file = f;
	of->agent = id;
	of->label = f != NULL ? f->path : id->comment;
	of->cert = f != NULL ? f->cert : id->cert;
	of->key = of->cert != NULL ? of->cert->key : f != NULL ? f->key :
	    id->key;
}

/* ssh's words for an identity (format_identity): "LABEL TYPE SHA256:..."
 * and " explicit", " agent". */
static void
describe(const struct offer *of, char *out, size_t outlen)
{
	char fp[80], safe[256];

	if (key_fingerprint(of->key, fp, sizeof(fp)) != 0)
		snprintf(fp, sizeof(fp), "?");
	text_safe(safe, sizeof(safe), of->label, false);
	snprintf(out, outlen, "%s %s%s %s%s%s", safe, key_type_label(of->key),
	    of->cert != NULL ? "-CERT" : "", fp,
	    of->file != NULL && of->file->explicit ? " explicit" : "",
	    of->agent != NULL ? " agent" : "");
}

/* Whether ferry holds the private key of of (a plain key's file). */
static bool
has_private(const struct offer *of)
{
	return of->file != NULL && of->file->key != NULL &&
	    of->file->key->has_private;
}

/* A file's plain key that nothing can sign with (no private half, not
 * in the agent) is left out. */
static bool
signable(const struct offer *of)
{
	return of->cert != NULL || of->agent != NULL || has_private(of);
}

/* The agent's identities, in its order: those the files hold take their
 * files entry (taken) and go now, the others after them (none with
 * IdentitiesOnly). A CertificateFile's certificate that the agent holds
 * too is thus offered twice, as ssh does. */
static int
add_agent_ids(struct client *cl, bool *taken)
{
	const struct agent_id **rest, *id;
	int i, j, nrest = 0;

	if ((rest = calloc((size_t)cl->nagent_ids + 1, sizeof(*rest))) == NULL)
		return -1;
	for (i = 0; i < cl->nagent_ids; i++) {
		id = &cl->agent_ids[i];
		if (!agent_id_usable(cl, id))
			continue;
		if ((j = file_of(cl, id, taken)) >= 0) {
			taken[j] = true;
			add_offer(cl, &cl->files[j], id);
		} else if (!cl->o->identities_only)
			rest[nrest++] = id;
	}
	for (i = 0; i < nrest; i++)
		add_offer(cl, NULL, rest[i]);
	free(rest);
	return 0;
}

/* Drops what cannot be signed and lists the rest as ssh does. */
static void
keep_signable(struct client *cl)
{
	char what[512];
	int i, n = 0;

	for (i = 0; i < cl->noffers; i++) {
		describe(&cl->offers[i], what, sizeof(what));
		if (signable(&cl->offers[i])) {
			cl->offers[n++] = cl->offers[i];
			log_verbose("Will attempt key: %s", what);
		} else
			log_verbose("Skipping %s: no private key here, and the "
			    "agent does not hold it", what);
	}
	cl->noffers = n;
}

void
cli_offers_build(struct client *cl)
{
	bool taken[MAX_FILE_IDS] = { false };
	int i;

	cl->offers_built = true;
	cl->next_offer = 0;
	cl->noffers = 0;
	cl->offers = calloc((size_t)cl->nfiles + (size_t)cl->nagent_ids + 1,
	    sizeof(*cl->offers));
	if (cl->offers == NULL) {
		log_error("out of memory listing the identities to offer");
		return;
	}
	for (i = 0; i < cl->nfiles; i++)
		if (cl->files[i].certfile) {
			taken[i] = true;
			add_offer(cl, &cl->files[i], NULL);
		}
	if (add_agent_ids(cl, taken) != 0)
		log_error("out of memory listing the agent's identities");
	for (i = 0; i < cl->nfiles; i++)
		if (!taken[i])
			add_offer(cl, &cl->files[i], NULL);
	keep_signable(cl);
}

/* What signs certificate of's request, as ssh picks it: an offer of the
 * same plain key that ferry or the agent holds the private half of; else
 * the agent's certificate identity itself. NULL when neither exists. */
static const struct offer *
cert_signer(const struct client *cl, const struct offer *of)
{
	const struct offer *o;
	int i;

	for (i = 0; i < cl->noffers; i++) {
		o = &cl->offers[i];
		if (o->cert == NULL && key_equal(o->key, of->key) &&
		    (o->agent != NULL || has_private(o)))
			return o;
	}
	return of->agent != NULL ? of : NULL;
}

/* The public key blob of of's request: its certificate's, or the key's
 * as the agent listed it (id: of's agent identity). */
static const uint8_t *
request_blob(const struct offer *of, const struct agent_id *id,
    size_t *len)
{
	*len = of->cert != NULL ? of->cert->bloblen : id->bloblen;
	return of->cert != NULL ? of->cert->blob : id->blob;
}

static void
agent_signed(void *ud, const uint8_t *sig, size_t siglen, const char *err)
{
	struct client *cl = ud;
	const struct offer *of = cl->signing;
	const uint8_t *blob;
	size_t bloblen;
	struct ssh_conn *ssh;

	cl->signing = NULL;
	if (cl->stopping || cl->nc == NULL ||
	    (ssh = net_conn_ssh(cl->nc)) == NULL)
		return;
	if (err != NULL) {
		log_verbose("agent: %s", err);
		cli_try_next_key(cl);
		return;
	}
	blob = request_blob(of, of->agent, &bloblen);
	if (ssh_auth_send(ssh, cl->o->user, cl->signing_alg, blob, bloblen,
	    sig, siglen) != 0)
		cli_try_next_key(cl);
}

/* Asks the agent to sign of's request under alg with the identity id
 * (its key or certificate blob). */
static bool
agent_offer(struct client *cl, struct ssh_conn *ssh, const struct offer *of,
    const char *alg, const struct agent_id *id)
{
	enum key_type type;
	const uint8_t *blob;
	const char *sigalg;
	size_t bloblen;

	blob = request_blob(of, id, &bloblen);
	if ((sigalg = cert_sig_alg(alg, &type)) == NULL)
		sigalg = alg;
	wb_reset(&cl->sigdata);
	if (ssh_auth_sigdata(ssh, cl->o->user, alg, blob, bloblen,
	    &cl->sigdata) != 0)
		return false;
	cl->signing = of;
	cl->signing_alg = alg;
	if (agent_sign(cl->agent, id, sigalg, cl->sigdata.p, cl->sigdata.len,
	    agent_signed, cl) == 0)
		return true;
	cl->signing = NULL;
	log_verbose("agent: %s", agent_error(cl->agent));
	return false;
}

bool
cli_offer(struct client *cl, const struct offer *of)
{
	struct ssh_conn *ssh = net_conn_ssh(cl->nc);
	const struct offer *by = of;
	const char *alg;
	char what[512], label[256];

	text_safe(label, sizeof(label), of->label, false);
	alg = of->cert != NULL ? ssh_auth_cert_alg(ssh, of->cert) :
	    ssh_auth_sig_alg(ssh, of->key);
	if (alg == NULL) {
		cli_skip_key(of->cert != NULL ? of->cert->type_name :
		    key_type_name(of->key), label);
		return false;
	}
	if (of->cert != NULL && (by = cert_signer(cl, of)) == NULL) {
		log_error("Certificate \"%s\": neither an IdentityFile nor the "
		    "agent holds its private key; not offered", label);
		return false;
	}
	describe(of, what, sizeof(what));
	log_verbose("Offering public key: %s", what);
	/* the agent first, as ssh: it may ask the user to confirm */
	if (by->agent != NULL)
		return agent_offer(cl, ssh, of, alg, by->agent);
	if (of->cert != NULL)
		return ssh_auth_pubkey_cert(ssh, cl->o->user, by->file->key,
		    alg, of->cert->blob, of->cert->bloblen) == 0;
	return ssh_auth_pubkey(ssh, cl->o->user, of->file->key) == 0;
}

void
cli_drop_agent(struct client *cl)
{
	agent_close(cl->agent);
	cl->agent = NULL;
	cl->agent_pending = false;
	cl->agent_ids = NULL;
	cl->nagent_ids = 0;
	cl->signing = NULL;
	free(cl->offers);
	cl->offers = NULL;
	cl->noffers = 0;
	cl->next_offer = 0;
	cl->offers_built = false;
}
