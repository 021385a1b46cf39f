/* The host key side of key exchange: the algorithms a server offers for
 * its keys and certificates, the key (or certificate) that answers the
 * negotiated algorithm, and on the client the server's key blob, a plain
 * key or, for the *-cert-v01@openssh.com algorithms, a certificate
 * (PROTOCOL.certkeys) whose certified key signs the exchange. */
#include "ssh_int.h"

#include <stdio.h>
#include <string.h>

#include "../keys/cert.h"
#include "../keys/key.h"

/* Appends alg to a name-list unless cfg.hostkey_algs leaves it out. */
static int
add_alg(const struct ssh_conn *c, const char *a, char *out, size_t outlen)
{
	if (c->cfg.hostkey_algs != NULL && !ssh_algs_has(c->cfg.hostkey_algs,
	    a))
		return 0;
	if (strlen(out) + strlen(a) + 2 > outlen)
		return -1;
	if (out[0] != '\0')
		strcat(out, ",");
	strcat(out, a);
	return 0;
}

/* The host key that cert certifies, or NULL if the server has none. */
static const struct key *
cert_hostkey(const struct ssh_conn *c, const struct cert *cert)
{
	size_t i;

	for (i = 0; i < c->cfg.nhostkeys; i++)
		if (key_equal(c->cfg.hostkeys[i], cert->key))
			return c->cfg.hostkeys[i];
	return NULL;
}

int
hostkey_server_algs(const struct ssh_conn *c, char *out, size_t outlen)
{
	const struct cert *ct;
	const struct key *k;
	size_t i;

	out[0] = '\0';
	/* certificates first, as sshd lists them */
	for (i = 0; i < c->cfg.nhostcerts; i++) {
		ct = c->cfg.hostcerts[i];
		if (cert_hostkey(c, ct) == NULL)
			continue;
		if (add_alg(c, cert_auth_alg(ct, false), out, outlen) != 0 ||
		    (ct->key->type == KEY_RSA &&
		    add_alg(c, cert_auth_alg(ct, true), out, outlen) != 0))
			return -1;
	}
	for (i = 0; i < c->cfg.nhostkeys; i++) {
		k = c->cfg.hostkeys[i];
		if (k->type == KEY_RSA ?
		    add_alg(c, "rsa-sha2-512", out, outlen) != 0 ||
		    add_alg(c, "rsa-sha2-256", out, outlen) != 0 :
		    add_alg(c, key_type_name(k), out, outlen) != 0)
			return -1;
	}
	return out[0] == '\0' ? -1 : 0;
}

int
hostkey_server_pick(const struct ssh_conn *c, const char *alg,
    const struct key **key, const char **sig_alg, struct wb *blob)
{
	enum key_type type;
	const struct cert *ct;
	size_t i;

	if ((*sig_alg = cert_sig_alg(alg, &type)) != NULL) {
		for (i = 0; i < c->cfg.nhostcerts; i++) {
			ct = c->cfg.hostcerts[i];
			if (ct->key->type != type ||
			    (*key = cert_hostkey(c, ct)) == NULL)
				continue;
			return wb_put(blob, ct->blob, ct->bloblen);
		}
		return -1;
	}
	*sig_alg = alg;
	for (i = 0; i < c->cfg.nhostkeys; i++)
		if (key_alg_ok(c->cfg.hostkeys[i], alg)) {
			*key = c->cfg.hostkeys[i];
			return key_to_blob(*key, blob);
		}
	return -1;
}

int
hostkey_client_parse(struct ssh_conn *c, const char *alg, const uint8_t *ks,
    size_t kslen, struct key **owned, struct cert **cert,
    const struct key **vk, const char **sig_alg)
{
	enum key_type ctype;
	char err[128];

	if ((*sig_alg = cert_sig_alg(alg, &ctype)) != NULL) {
		if (cert_parse(ks, kslen, cert, err, sizeof(err)) != 0)
			return conn_fail(c, DISC_KEY_EXCHANGE_FAILED,
			    "bad host certificate: %s", err);
		if ((*cert)->key->type != ctype)
			return conn_fail(c, DISC_KEY_EXCHANGE_FAILED,
			    "host certificate is %s, negotiated %s",
			    (*cert)->type_name, alg);
		*vk = (*cert)->key;
		return 0;
	}
	*sig_alg = alg;
	if (key_from_blob(ks, kslen, owned, err, sizeof(err)) != 0)
		return conn_fail(c, DISC_KEY_EXCHANGE_FAILED, "bad host key: %s",
		    err);
	if (!key_alg_ok(*owned, alg))
		return conn_fail(c, DISC_KEY_EXCHANGE_FAILED, "host key is %s, "
		    "negotiated %s", key_type_name(*owned), alg);
	*vk = *owned;
	return 0;
}
