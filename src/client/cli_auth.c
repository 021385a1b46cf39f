/* One destination's side of authentication: publickey with the agent's
 * keys and the IdentityFile keys, one at a time, and the server's banner
 * (the host key before it: cli_hostkey.c). */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "util/log.h"
#include "util/text.h"

/* The public half of an identity from "path.pub". */
static bool
load_public(const char *path, struct key **out)
{
	char pub[1100], line[16384], err[128];
	FILE *fp;
	bool ok = false;

	snprintf(pub, sizeof(pub), "%s.pub", path);
	if ((fp = fopen(pub, "r")) == NULL)
		return false;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    keyfile_parse_public(line, strcspn(line, "\r\n"), out, err,
	    sizeof(err)) == 0)
		ok = true;
	fclose(fp);
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

static void
add_identity(struct client *cl, const char *path, struct key *k)
{
	if (rsa_too_small(cl, path, k))
		return;
	cl->ids[cl->nids++] = k;
	log_verbose("Will attempt key: %s %s", path, key_type_name(k));
	cli_load_cert_beside(cl, path, cl->nids - 1);
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
		if (r == 0) {
			add_identity(cl, o->identity[i], k);
			continue;
		}
		/* Default keys that do not exist are not worth a word. */
		if (!o->identity_given && r == KEYFILE_MISSING)
			continue;
		if ((r == KEYFILE_ENCRYPTED || r == KEYFILE_ENCRYPTED_V1) &&
		    load_public(o->identity[i], &k)) {
			if (rsa_too_small(cl, o->identity[i], k))
				continue;
			cl->id_pubs[cl->npubs++] = k;
			if (cl->o->identity_agent != NULL) {
				log_verbose("%s is encrypted: its key is used "
				    "through the agent", o->identity[i]);
				continue;
			}
		}
		if (r == KEYFILE_ENCRYPTED_V1) {
			log_error("key %s is encrypted in OpenSSH's format "
			    "(bcrypt-pbkdf), which ferry cannot decrypt: add "
			    "it to ssh-agent with ssh-add, or convert it with "
			    "ssh-keygen -p -m PEM", o->identity[i]);
			continue;
		}
		if (r == KEYFILE_ENCRYPTED && cli_key_passphrase(cl,
		    o->identity[i], &k, err, sizeof(err)) == 0) {
			add_identity(cl, o->identity[i], k);
			continue;
		}
		log_error("Load key \"%s\": %s", o->identity[i], err);
	}
	cli_load_cert_files(cl);
}

/* With IdentitiesOnly only agent keys named by an IdentityFile count. */
static bool
agent_key_allowed(const struct client *cl, const struct agent_id *id)
{
	int i;

	if (!cl->o->identities_only)
		return true;
	for (i = 0; i < cl->nids; i++)
		if (key_equal(cl->ids[i], id->key))
			return true;
	for (i = 0; i < cl->npubs; i++)
		if (key_equal(cl->id_pubs[i], id->key))
			return true;
	return false;
}

static void
agent_signed(void *ud, const uint8_t *sig, size_t siglen, const char *err)
{
	struct client *cl = ud;
	const struct agent_id *id = cl->signing;
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
	if (ssh_auth_send(ssh, cl->o->user, ssh_auth_sig_alg(ssh, id->key),
	    id->blob, id->bloblen, sig, siglen) != 0)
		cli_try_next_key(cl);
}

/* Asks the agent to sign for its next usable key; false when none is
 * left. */
static bool
try_agent_key(struct client *cl)
{
	struct ssh_conn *ssh = net_conn_ssh(cl->nc);
	const struct agent_id *id;
	const char *alg;

	while (cl->agent != NULL && cl->next_agent < cl->nagent_ids) {
		id = &cl->agent_ids[cl->next_agent++];
		if (!agent_key_allowed(cl, id))
			continue;
		if (id->key->type == KEY_RSA &&
		    key_bits(id->key) < cl->o->required_rsa_size) {
			log_verbose("ignoring %s agent key: Invalid key length "
			    "(%d bits, RequiredRSASize %d)",
			    key_type_name(id->key), key_bits(id->key),
			    cl->o->required_rsa_size);
			continue;
		}
		if ((alg = ssh_auth_sig_alg(ssh, id->key)) == NULL) {
			cli_skip_key(key_type_name(id->key), id->comment);
			continue;
		}
		wb_reset(&cl->sigdata);
		if (ssh_auth_sigdata(ssh, cl->o->user, alg, id->blob,
		    id->bloblen, &cl->sigdata) != 0)
			continue;
		log_verbose("Offering public key: %s %s (agent)",
		    key_type_name(id->key), id->comment);
		cl->signing = id;
		if (agent_sign(cl->agent, id, alg, cl->sigdata.p,
		    cl->sigdata.len, agent_signed, cl) == 0)
			return true;
		cl->signing = NULL;
		log_verbose("agent: %s", agent_error(cl->agent));
	}
	return false;
}

void
cli_try_next_key(struct client *cl)
{
	struct ssh_conn *ssh = net_conn_ssh(cl->nc);
	struct key *k;

	if (cl->agent_pending) {
		cl->auth_waiting = true;
		return;
	}
	if (try_agent_key(cl))
		return;
	for (;;) {
		if (cli_try_cert(cl, ssh))
			return;
		if (cl->next_id >= cl->nids)
			break;
		k = cl->ids[cl->next_id++];
		if (ssh_auth_sig_alg(ssh, k) == NULL) {
			cli_skip_key(key_type_name(k), "(identity file)");
			continue;
		}
		log_verbose("Offering public key: %s", key_type_name(k));
		if (ssh_auth_pubkey(ssh, cl->o->user, k) == 0)
			return;
	}
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
