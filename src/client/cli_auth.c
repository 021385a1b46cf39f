/* One destination's side of authentication: the IdentityFile keys
 * loaded, publickey offers (made in cli_offer.c) one at a time, and the
 * server's banner (the host key before it: cli_hostkey.c). */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "util/log.h"
#include "util/text.h"

/* The public half of an identity, as ssh reads it: "path.pub", or path
 * itself when it is a public key file (IdentityFile naming a .pub to
 * pick the agent key under IdentitiesOnly). */
static bool
load_public(const char *path, struct key **out)
{
	char pub[1100], line[16384], err[128];
	FILE *fp = NULL;
	bool ok = false;
	int i;

	for (i = 0; i < 2 && !ok; i++) {
		if (i == 0 && (size_t)snprintf(pub, sizeof(pub), "%s.pub",
		    path) >= sizeof(pub))
			continue;
		if ((fp = fopen(i == 0 ? pub : path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), fp) != NULL &&
		    keyfile_parse_public(line, strcspn(line, "\r\n"), out,
		    err, sizeof(err)) == 0)
			ok = true;
		fclose(fp);
	}
	return ok;
}

/* RequiredRSASize: an RSA key below it is refused, in ssh's words (and
 * freed); false for any other key. */
static bool
rsa_too_small(const struct client *cl, const char *path, struct key *k)
{
	if (k->type != KEY_RSA || key_bits(k) >= cl->o->required_rsa_size)
		return false;
	log_error("load pubkey \"%s\": Invalid key length (%d bits, "
	    "RequiredRSASize %d)", path, key_bits(k), cl->o->required_rsa_size);
	key_free(k);
	return true;
}

void
cli_skip_key(const char *alg, const char *what)
{
	log_verbose("Skipping %s key %s - corresponding algorithm not in "
	    "PubkeyAcceptedAlgorithms%s", alg, what,
	    strncmp(alg, "rsa-", 4) == 0 || strncmp(alg, "ssh-rsa", 7) == 0 ?
	    " (or not in the server's server-sig-algs)" : "");
}

/* The key of path (private, or public only) goes into files, its
 * -cert.pub after it. */
static void
add_identity(struct client *cl, const char *path, struct key *k)
{
	if (rsa_too_small(cl, path, k) ||
	    !cli_add_file(cl, path, k, NULL, false))
		return;
	cli_load_cert_beside(cl, path);
}

/* An IdentityFile whose private key did not load (r says why, err in
 * words): with an agent its public half ("path.pub", or path itself) is
 * enough, the agent signs; otherwise a passphrase makes an encrypted
 * PEM or PKCS#8 key usable. */
static void
load_failed(struct client *cl, const char *path, int r, char *err,
    size_t errlen)
{
	const struct options *o = cl->o;
	bool encrypted = r == KEYFILE_ENCRYPTED || r == KEYFILE_ENCRYPTED_V1;
	struct key *k;

	if (o->identity_agent != NULL && load_public(path, &k)) {
		if (encrypted)
			log_verbose("%s is encrypted: its key is used "
			    "through the agent", path);
		add_identity(cl, path, k);
		return;
	}
	if (r == KEYFILE_ENCRYPTED &&
	    cli_key_passphrase(cl, path, &k, err, errlen) == 0) {
		add_identity(cl, path, k);
		return;
	}
	/* Default keys that do not exist are not worth a word. */
	if (!o->identity_given && r == KEYFILE_MISSING)
		return;
	if (r == KEYFILE_ENCRYPTED_V1)
		log_error("key %s is encrypted in OpenSSH's format "
		    "(bcrypt-pbkdf), which ferry cannot decrypt: add it to "
		    "ssh-agent with ssh-add, or convert it with ssh-keygen "
		    "-p -m PEM", path);
	else
		log_error("Load key \"%s\": %s", path, err);
}

void
cli_load_identities(struct client *cl)
{
	struct options *o = cl->o;
	char err[256];
	struct key *k;
	int i, r;

	for (i = 0; i < o->nidentity; i++) {
		r = keyfile_load_private(o->identity[i], &k, err, sizeof(err));
		if (r == 0)
			add_identity(cl, o->identity[i], k);
		else
			load_failed(cl, o->identity[i], r, err, sizeof(err));
	}
	cli_load_cert_files(cl);
}

void
cli_try_next_key(struct client *cl)
{
	if (cl->agent_pending) {
		cl->auth_waiting = true;
		return;
	}
	if (!cl->offers_built)
		cli_offers_build(cl);
	while (cl->next_offer < cl->noffers)
		if (cli_offer(cl, &cl->offers[cl->next_offer++]))
			return;
	log_plain("%s@%s: Permission denied (publickey).", cl->o->user,
	    cl->o->hostname);
	cli_conn_failed(cl, "Permission denied (publickey)");
}

void
cli_auth_failure(struct client *cl, const char *methods)
{
	if (strstr(methods, "publickey") == NULL) {
		log_plain("%s@%s: Permission denied (%s).", cl->o->user,
		    cl->o->hostname, methods);
		cli_conn_failed(cl, "Permission denied");
		return;
	}
	cli_try_next_key(cl);
}

void
cli_agent_ready(void *ud, const struct agent_id *ids, int n,
    const char *err)
{
	struct client *cl = ud;

	cl->agent_pending = false;
	if (err != NULL) {
		log_verbose("agent: %s", err);
	} else {
		cl->agent_ids = ids;
		cl->nagent_ids = n;
		log_verbose("agent: %d usable key%s", n, n == 1 ? "" : "s");
	}
	if (cl->auth_waiting && !cl->stopping) {
		cl->auth_waiting = false;
		cli_try_next_key(cl);
	}
}

/* The server's banner on the terminal, as ssh shows it: lines and tabs
 * kept, every other control character escaped. */
void
cli_show_banner(const char *text)
{
	size_t n = strlen(text) * 4 + 1;
	char *safe;

	if (log_get_level() <= LOG_QUIET || (safe = malloc(n)) == NULL)
		return;
	text_safe(safe, n, text, true);
	fputs(safe, stderr);
	free(safe);
}
