/* libFuzzer target: the input as a private key file, a public key line, a
 * public key blob and a known_hosts file. Keys that parse are encoded
 * again and must come back equal. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "keys/known_hosts.h"
#include "ssh/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* The ed25519 key of tests/unit/data/keys/id_ed25519.pub (made by
 * ssh-keygen), listed for example.com in known_hosts_plain there. */
static const char fixed_pub[] = "ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIF+ZYGLTmKdBIHHnYPeLxNFKyf3bgwe3lfjvyHWNMry1";
static struct key *fixed;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (keyfile_parse_public(fixed_pub, strlen(fixed_pub), &fixed, err,
	    sizeof(err)) != 0)
		abort();
	return 0;
}

/* A parsed key survives blob encoding, and has a fingerprint. */
static void
check_key(const struct key *k)
{
	struct wb w;
	struct key *again = NULL;
	char err[256], fp[128];

	wb_init(&w);
	if (key_to_blob(k, &w) != 0 ||
	    key_from_blob(w.p, w.len, &again, err, sizeof(err)) != 0 ||
	    !key_equal(k, again) || key_fingerprint(k, fp, sizeof(fp)) != 0 ||
	    strncmp(fp, "SHA256:", 7) != 0)
		abort();
	key_free(again);
	wb_free(&w);
}

/* The host field handed back must lie inside the input (ASan checks
 * its first and last byte). */
static volatile size_t names_seen;

static void
other_name(void *ud, const char *path, int lineno, const char *hosts,
    size_t hlen)
{
	(void)ud;
	(void)path;
	(void)lineno;
	if (hlen > 0)
		names_seen += (unsigned char)hosts[0] +
		    (unsigned char)hosts[hlen - 1];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct key *k = NULL;
	struct kh_result res;
	char err[256];
	int rc;

	err[0] = '\0';
	rc = keyfile_parse_private(text, size, &k, err, sizeof(err));
	if (rc == 0) {
		if (k == NULL || !k->has_private)
			abort();
		check_key(k);
		key_free(k);
	} else if (k != NULL || err[0] == '\0')
		abort();
	k = NULL;
	/* an encrypted PEM/PKCS#8 key: the passphrase path too */
	if (rc == KEYFILE_ENCRYPTED) {
		rc = keyfile_parse_private_pass(text, size, "xxxxx", &k, err,
		    sizeof(err));
		if (rc == 0) {
			if (k == NULL || !k->has_private)
				abort();
			check_key(k);
			key_free(k);
		} else if (k != NULL || err[0] == '\0')
			abort();
		k = NULL;
	}

	if (keyfile_parse_public(text, size, &k, err, sizeof(err)) == 0) {
		check_key(k);
		key_free(k);
	}
	k = NULL;

	if (key_from_blob(data, size, &k, err, sizeof(err)) == 0) {
		check_key(k);
		key_free(k);
	}

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	kh_check_text(text, size, "known_hosts", "example.com", 22, fixed,
	    &res);
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	kh_check_text(text, size, "known_hosts", "Example.ORG", 2222, fixed,
	    &res);
	kh_other_names_text(text, size, "known_hosts", "gw", 0, fixed,
	    other_name, NULL);
	/* the same key looked up as a CA (@cert-authority, @revoked) */
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	kh_check_ca_text(text, size, "known_hosts", "example.com", 22, fixed,
	    &res);
	return 0;
}
