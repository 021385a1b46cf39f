/* Unit tests for PEM and PKCS#8 private key files (keys/keyfile_pem.c):
 * keys ferry refuses (other curves, small RSA, a point not the private
 * key's), and encrypted ones (the _pass variants of keys/keyfile.h): keys
 * ssh-keygen wrote with -N xxxxx (data/keys, see gen.sh) opened with the
 * right passphrase, refused with a wrong or missing one; OpenSSH's own
 * encrypted format refused with its advice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys/key.h"
#include "keys/keyfile.h"

#define DATA		"data/keys/"
#define PASS		"xxxxx"
#define MSG_BAD		"incorrect passphrase supplied to decrypt private key"
#define MSG_ENC		"key is encrypted with a passphrase; load it into " \
			"ssh-agent"
#define MSG_V1_ENC	"key is encrypted in OpenSSH's format (bcrypt-pbkdf), " \
			"which ferry cannot decrypt: add it to ssh-agent with " \
			"ssh-add, or convert it with ssh-keygen -p -m PEM"

static const char *const encrypted[] = { "id_rsa_pem_enc",
	"id_ecdsa_pkcs8_enc" };

static char *
data_text(const char *name, const char *suffix, size_t *len)
{
	char path[256], *buf;
	FILE *f;

	snprintf(path, sizeof(path), DATA "%s%s", name, suffix);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = calloc(1, 65536);
	assert_non_null(buf);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

static struct key *
public_of(const char *name)
{
	struct key *k = NULL;
	char *line, err[256];
	size_t len;

	line = data_text(name, ".pub", &len);
	assert_int_equal(keyfile_parse_public(line, strcspn(line, "\n"), &k,
	    err, sizeof(err)), 0);
	free(line);
	return k;
}

static int
parse(const char *name, const char *pass, struct key **k, char *err,
    size_t errlen)
{
	char *text;
	size_t len;
	int r;

	text = data_text(name, "", &len);
	err[0] = '\0';
	r = keyfile_parse_private_pass(text, len, pass, k, err, errlen);
	free(text);
	return r;
}

static void
test_right_passphrase(void **state)
{
	struct key *k, *pub;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(encrypted) / sizeof(encrypted[0]); i++) {
		k = NULL;
		assert_int_equal(parse(encrypted[i], PASS, &k, err,
		    sizeof(err)), 0);
		assert_non_null(k);
		pub = public_of(encrypted[i]);
		assert_true(key_equal(k, pub));
		key_free(pub);
		key_free(k);
	}
}

static void
test_wrong_or_no_passphrase(void **state)
{
	static const char *const wrong[] = { "xxxx", "xxxxxx", "", "XXXXX" };
	struct key *k;
	char err[256];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(encrypted) / sizeof(encrypted[0]); i++) {
		for (j = 0; j < sizeof(wrong) / sizeof(wrong[0]); j++) {
			k = (struct key *)1;
			assert_int_equal(parse(encrypted[i], wrong[j], &k, err,
			    sizeof(err)), KEYFILE_BAD_PASSPHRASE);
			assert_null(k);
			assert_string_equal(err, MSG_BAD);
		}
		k = (struct key *)1;
		assert_int_equal(parse(encrypted[i], NULL, &k, err,
		    sizeof(err)), KEYFILE_ENCRYPTED);
		assert_null(k);
		assert_string_equal(err, MSG_ENC);
	}
}

/* openssh-key-v1 with bcrypt-pbkdf: refused, without a passphrase and
 * even with its own ("x", gen.sh), the advice in the message. */
static void
test_openssh_format_refused(void **state)
{
	struct key *k = (struct key *)1;
	char *text, err[256];
	size_t len;

	(void)state;
	text = data_text("id_ed25519_enc", "", &len);
	assert_int_equal(keyfile_parse_private(text, len, &k, err,
	    sizeof(err)), KEYFILE_ENCRYPTED_V1);
	assert_null(k);
	assert_string_equal(err, MSG_V1_ENC);
	free(text);
	assert_int_equal(parse("id_ed25519_enc", "x", &k, err, sizeof(err)),
	    KEYFILE_ENCRYPTED_V1);
	assert_null(k);
	assert_non_null(strstr(err, "bcrypt-pbkdf"));
	assert_non_null(strstr(err, "ssh-add"));
	assert_non_null(strstr(err, "ssh-keygen -p -m PEM"));
}

/* A passphrase given for a key that has none changes nothing. */
static void
test_plain_key_ignores_passphrase(void **state)
{
	struct key *k;
	char err[256];

	(void)state;
	assert_int_equal(parse("id_rsa_pem", PASS, &k, err, sizeof(err)), 0);
	key_free(k);
	assert_int_equal(parse("id_ecdsa", PASS, &k, err, sizeof(err)), 0);
	key_free(k);
}

/* Through the file path: a private file (0600) opens with the passphrase. */
static void
test_load_file(void **state)
{
	char dir[] = "/tmp/ferry-keyfile-pass-XXXXXX", path[256], err[256];
	struct key *k;
	size_t len;
	char *text;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	text = data_text("id_ecdsa_pkcs8_enc", "", &len);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	free(text);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(keyfile_load_private_pass(path, "nope", &k, err,
	    sizeof(err)), KEYFILE_BAD_PASSPHRASE);
	assert_int_equal(keyfile_load_private_pass(path, PASS, &k, err,
	    sizeof(err)), 0);
	key_free(k);
	unlink(path);
	rmdir(dir);
}

static void
test_pem_other_keys(void **state)
{
	EVP_PKEY *pkey;
	BIO *bio;
	char *mem, err[256];
	long n;
	struct key *k;
	static const char *garbage =
	    "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"
	    "-----END RSA PRIVATE KEY-----\n";

	(void)state;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(pkey);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
	    NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &mem);
	assert_int_equal(keyfile_parse_private(mem, (size_t)n, &k, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unsupported"));
	BIO_free(bio);
	EVP_PKEY_free(pkey);

	/* RSA under 1024 bits */
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)768);
	assert_non_null(pkey);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
	    NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &mem);
	assert_int_equal(keyfile_parse_private(mem, (size_t)n, &k, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "too small"));
	BIO_free(bio);
	EVP_PKEY_free(pkey);

	/* A P-256 key whose public point is another key's. */
	{
		EVP_PKEY *a, *b;
		BIGNUM *d = NULL;
		uint8_t q[65];
		size_t qlen;
		OSSL_PARAM_BLD *bld;
		OSSL_PARAM *params;
		EVP_PKEY_CTX *ctx;

		a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		assert_int_equal(EVP_PKEY_get_bn_param(a,
		    OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
		assert_int_equal(EVP_PKEY_get_octet_string_param(b,
		    OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &qlen), 1);
		bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
		    q, qlen);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
		params = OSSL_PARAM_BLD_to_param(bld);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		pkey = NULL;
		assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
		assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey,
		    EVP_PKEY_KEYPAIR, params), 1);
		bio = BIO_new(BIO_s_mem());
		assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL,
		    NULL, 0, NULL, NULL), 1);
		n = BIO_get_mem_data(bio, &mem);
		assert_int_equal(keyfile_parse_private(mem, (size_t)n, &k,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "invalid ecdsa"));
		BIO_free(bio);
		EVP_PKEY_free(pkey);
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
		BN_free(d);
		EVP_PKEY_free(a);
		EVP_PKEY_free(b);
	}

	assert_int_equal(keyfile_parse_private(garbage, strlen(garbage), &k,
	    err, sizeof(err)), -1);
	assert_int_equal(keyfile_parse_private("hello", 5, &k, err,
	    sizeof(err)), -1);
	assert_int_equal(keyfile_parse_private("", 0, &k, err, sizeof(err)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_right_passphrase),
		cmocka_unit_test(test_wrong_or_no_passphrase),
		cmocka_unit_test(test_openssh_format_refused),
		cmocka_unit_test(test_plain_key_ignores_passphrase),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_pem_other_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
