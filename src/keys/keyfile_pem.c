/* Private keys in PEM (PKCS#1, SEC1, PKCS#8), as older ssh-keygen wrote
 * them: decoded by OpenSSL, then held to the rules a key from the wire
 * meets. */
#include "keyfile.h"
#include "keyfile_int.h"
#include "key_int.h"
#include "util/err.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* OpenSSL's question for the passphrase of an encrypted key: the one
 * the caller gave, or a refusal when none was given. Notes that it was
 * asked (the key is encrypted). */
struct pem_pass {
	const char	*pass;		/* NULL: none */
	bool		 asked;
};

static int
pem_passphrase(char *buf, int size, int rwflag, void *u)
{
	struct pem_pass *pp = u;
	size_t n;

	(void)rwflag;
	pp->asked = true;
	if (pp->pass == NULL || size <= 0 ||
	    (n = strlen(pp->pass)) > (size_t)size)
		return -1;
	memcpy(buf, pp->pass, n);
	return (int)n;
}

static int
pem_key_type(EVP_PKEY *pkey, enum key_type *type)
{
	char group[64];

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*type = KEY_ED25519;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    NULL) != 1 || strcmp(group, "prime256v1") != 0)
			return -1;
		*type = KEY_ECDSA_P256;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		*type = KEY_RSA;	/* sizes: pem_key_check */
		return 0;
	}
	return -1;
}

/* Holds a PEM key to the rules a key from the wire meets (sizes, valid
 * point), and an EC key's Q to its d, which OpenSSL's decoder takes on
 * trust. */
static int
pem_key_check(const struct key *k, char *err, size_t errlen)
{
	struct wb blob;
	struct key *pub = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = -1;

	wb_init(&blob);
	if (key_to_blob(k, &blob) != 0) {
		seterr(err, errlen, "cannot encode the public key");
		goto out;
	}
	if (key_from_blob(blob.p, blob.len, &pub, err, errlen) != 0)
		goto out;
	if (k->type == KEY_ECDSA_P256 &&
	    ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_pairwise_check(ctx) != 1)) {
		seterr(err, errlen, "invalid ecdsa private key");
		ERR_clear_error();
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	key_free(pub);
	wb_free(&blob);
	return rc;
}

int
keyfile_pem_parse(const char *text, size_t len, const char *pass,
    struct key **out, char *err, size_t errlen)
{
	struct pem_pass pp = { pass, false };
	BIO *bio;
	EVP_PKEY *pkey;
	enum key_type type;
	struct key *k;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
		seterr(err, errlen, "cannot read private key");
		return -1;
	}
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, pem_passphrase, &pp,
	    NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		if (pp.asked || memmem(text, len, "ENCRYPTED", 9) != NULL) {
			if (pass != NULL) {
				seterr(err, errlen, KEYFILE_MSG_BAD_PASS);
				return KEYFILE_BAD_PASSPHRASE;
			}
			seterr(err, errlen, KEYFILE_MSG_ENCRYPTED);
			return KEYFILE_ENCRYPTED;
		}
		seterr(err, errlen, "unrecognised private key format");
		return -1;
	}
	if (pem_key_type(pkey, &type) != 0) {
		seterr(err, errlen, "unsupported private key type (want "
		    "ed25519, ecdsa nistp256 or rsa)");
		EVP_PKEY_free(pkey);
		return -1;
	}
	if ((k = key_new(type, pkey, true)) == NULL) {
		seterr(err, errlen, "out of memory");
		EVP_PKEY_free(pkey);
		return -1;
	}
	if (pem_key_check(k, err, errlen) != 0) {
		key_free(k);
		return -1;
	}
	*out = k;
	return 0;
}
