/* OpenSSH's own private key format, openssh-key-v1 (PROTOCOL.key): parsed
 * (unencrypted only) and written, with the private-section codec of each
 * key type. */
#include "keyfile.h"
#include "keyfile_int.h"
#include "key_int.h"
#include "util/err.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MARK_END	"-----END OPENSSH PRIVATE KEY-----"
#define AUTH_MAGIC	"openssh-key-v1"	/* followed by a NUL */
#define AUTH_MAGIC_LEN	15
#define BLOCK_NONE	8	/* cipher "none" pads to 8 like OpenSSH */
#define B64_LINE	70	/* ssh-keygen's line width */

/* Private-section codecs, indexed by enum key_type. */
struct privfmt {
	EVP_PKEY	*(*parse)(struct rd *, char *, size_t);
	/* pub: the key's public blob, read up to its type name */
	int		 (*write)(const struct key *, struct rd *pub,
			    struct wb *);
};

/* string pk, string sk where sk = seed || pk. */
static EVP_PKEY *
ed25519_parse(struct rd *r, char *err, size_t errlen)
{
	const uint8_t *pk, *sk;
	size_t pklen, sklen, n = ED25519_PK_LEN;
	uint8_t derived[ED25519_PK_LEN];
	EVP_PKEY *pkey;

	rd_string(r, &pk, &pklen);
	if (rd_string(r, &sk, &sklen) != 0) {
		seterr(err, errlen, "truncated ssh-ed25519 private key");
		return NULL;
	}
	if (pklen != ED25519_PK_LEN || sklen != 2 * ED25519_PK_LEN ||
	    memcmp(sk + ED25519_PK_LEN, pk, ED25519_PK_LEN) != 0) {
		seterr(err, errlen, "malformed ssh-ed25519 private key");
		return NULL;
	}
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk,
	    ED25519_PK_LEN);
	if (pkey == NULL ||
	    EVP_PKEY_get_raw_public_key(pkey, derived, &n) != 1 ||
	    n != ED25519_PK_LEN || memcmp(derived, pk, n) != 0) {
		seterr(err, errlen, "ssh-ed25519 private key does not match "
		    "its public key");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

static int
ed25519_write(const struct key *k, struct rd *pub, struct wb *w)
{
	const uint8_t *pk;
	size_t pklen, n = ED25519_PK_LEN;
	uint8_t sk[2 * ED25519_PK_LEN];
	int rc = -1;

	if (rd_string(pub, &pk, &pklen) != 0 || pklen != ED25519_PK_LEN)
		return -1;
	if (EVP_PKEY_get_raw_private_key(k->pkey, sk, &n) != 1 ||
	    n != ED25519_PK_LEN)
		goto out;
	memcpy(sk + ED25519_PK_LEN, pk, ED25519_PK_LEN);
	wb_string(w, pk, pklen);
	rc = wb_string(w, sk, sizeof(sk));
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	return rc;
}

/* string curve, string Q, mpint d. */
static EVP_PKEY *
ecdsa_parse(struct rd *r, char *err, size_t errlen)
{
	const uint8_t *q, *d;
	size_t qlen, dlen;
	BIGNUM *bd = NULL;
	EVP_PKEY *pkey = NULL;

	if (rd_string_eq(r, "nistp256") != 0 ||
	    rd_string(r, &q, &qlen) != 0 || rd_mpint_pos(r, &d, &dlen) != 0) {
		seterr(err, errlen, "truncated or malformed ecdsa private key");
		return NULL;
	}
	if (qlen != P256_POINT_LEN || q[0] != 0x04 || dlen == 0 ||
	    dlen > P256_SCALAR_LEN) {
		seterr(err, errlen, "malformed ecdsa private key");
		return NULL;
	}
	if ((bd = BN_secure_new()) == NULL ||
	    BN_bin2bn(d, (int)dlen, bd) == NULL ||
	    (pkey = key_p256_pkey(q, qlen, bd)) == NULL) {
		seterr(err, errlen, "invalid ecdsa private key");
		ERR_clear_error();
	}
	BN_clear_free(bd);
	return pkey;
}

static int
ecdsa_write(const struct key *k, struct rd *pub, struct wb *w)
{
	const uint8_t *q;
	size_t qlen;
	BIGNUM *d = NULL;
	int rc = -1;

	rd_string(pub, NULL, NULL);	/* the curve */
	if (rd_string(pub, &q, &qlen) != 0)
		return -1;
	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
		return -1;
	wb_cstring(w, "nistp256");
	wb_string(w, q, qlen);
	rc = key_put_bn(w, d);
	BN_clear_free(d);
	return rc;
}

/* Checks that n, e, d, iqmp, p, q form a working key and derives the CRT
 * exponents OpenSSH does not store. */
static int
rsa_complete(BIGNUM **bn, BIGNUM *dp, BIGNUM *dq)
{
	BIGNUM *n = bn[0], *e = bn[1], *d = bn[2], *iqmp = bn[3];
	BIGNUM *p = bn[4], *q = bn[5];
	BN_CTX *ctx;
	BIGNUM *t, *p1, *q1;
	int rc = -1;

	if ((ctx = BN_CTX_secure_new()) == NULL)
		return -1;
	BN_CTX_start(ctx);
	t = BN_CTX_get(ctx);
	p1 = BN_CTX_get(ctx);
	q1 = BN_CTX_get(ctx);
	if (q1 == NULL)
		goto out;
	if (BN_cmp(p, BN_value_one()) <= 0 || BN_cmp(q, BN_value_one()) <= 0)
		goto out;
	if (BN_mul(t, p, q, ctx) != 1 || BN_cmp(t, n) != 0)
		goto out;
	if (BN_sub(p1, p, BN_value_one()) != 1 ||
	    BN_sub(q1, q, BN_value_one()) != 1)
		goto out;
	if (BN_mod(dp, d, p1, ctx) != 1 || BN_mod(dq, d, q1, ctx) != 1)
		goto out;
	/* e*d = 1 mod p-1 and mod q-1, and iqmp*q = 1 mod p. */
	if (BN_mod_mul(t, e, dp, p1, ctx) != 1 || !BN_is_one(t) ||
	    BN_mod_mul(t, e, dq, q1, ctx) != 1 || !BN_is_one(t) ||
	    BN_mod_mul(t, iqmp, q, p, ctx) != 1 || !BN_is_one(t))
		goto out;
	rc = 0;
out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return rc;
}

/* mpint n, e, d, iqmp, p, q. */
static EVP_PKEY *
rsa_parse(struct rd *r, char *err, size_t errlen)
{
	static const char *names[] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	};
	BIGNUM *bn[6] = { NULL }, *dp = NULL, *dq = NULL;
	const uint8_t *p;
	size_t len, i;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	int bits;
	bool ok;

	for (i = 0; i < 6; i++) {
		if (rd_mpint_pos(r, &p, &len) != 0) {
			seterr(err, errlen, "truncated ssh-rsa private key");
			goto out;
		}
		if (len > RSA_MAX_BITS / 8) {
			seterr(err, errlen, "ssh-rsa private key too large");
			goto out;
		}
		if ((bn[i] = BN_secure_new()) == NULL ||
		    BN_bin2bn(p, (int)len, bn[i]) == NULL) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
	}
	bits = BN_num_bits(bn[0]);
	if (bits < RSA_MIN_BITS) {
		seterr(err, errlen, "ssh-rsa key too small (%d bits, minimum "
		    "%d)", bits, RSA_MIN_BITS);
		goto out;
	}
	if (BN_num_bits(bn[1]) > 64 || !BN_is_odd(bn[1])) {
		seterr(err, errlen, "bad ssh-rsa public exponent");
		goto out;
	}
	if ((dp = BN_secure_new()) == NULL || (dq = BN_secure_new()) == NULL ||
	    rsa_complete(bn, dp, dq) != 0) {
		seterr(err, errlen, "inconsistent ssh-rsa private key");
		goto out;
	}
	ok = (bld = OSSL_PARAM_BLD_new()) != NULL;
	for (i = 0; ok && i < 6; i++)
		ok = OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) == 1;
	ok = ok && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    dp) == 1 && OSSL_PARAM_BLD_push_BN(bld,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) == 1 &&
	    (pkey = key_pkey_fromdata("RSA", bld, EVP_PKEY_KEYPAIR)) != NULL;
	if (!ok) {
		seterr(err, errlen, "cannot make ssh-rsa private key");
		ERR_clear_error();
	}
out:
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < 6; i++)
		BN_clear_free(bn[i]);
	BN_clear_free(dp);
	BN_clear_free(dq);
	return pkey;
}

static int
rsa_write(const struct key *k, struct rd *pub, struct wb *w)
{
	static const char *names[] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	};
	BIGNUM *bn = NULL;
	size_t i;
	int rc = 0;

	(void)pub;
	for (i = 0; i < 6 && rc == 0; i++) {
		if (EVP_PKEY_get_bn_param(k->pkey, names[i], &bn) != 1)
			return -1;
		rc = key_put_bn(w, bn);
		BN_clear_free(bn);
		bn = NULL;
	}
	return rc;
}

static const struct privfmt privfmts[] = {
	[KEY_ED25519] = { ed25519_parse, ed25519_write },
	[KEY_ECDSA_P256] = { ecdsa_parse, ecdsa_write },
	[KEY_RSA] = { rsa_parse, rsa_write },
};

/* The unencrypted private section: checkints, one key, comment, padding. */
static int
parse_private_section(const uint8_t *p, size_t len, const struct key *pub,
    struct key **out, char *err, size_t errlen)
{
	struct rd r;
	uint32_t c1, c2;
	const uint8_t *name;
	size_t nlen, i;
	uint8_t pad;
	EVP_PKEY *pkey;
	struct key *k;

	if (len < BLOCK_NONE || len % BLOCK_NONE != 0) {
		seterr(err, errlen, "bad private section length");
		return -1;
	}
	rd_init(&r, p, len);
	rd_u32(&r, &c1);
	rd_u32(&r, &c2);
	if (rd_string(&r, &name, &nlen) != 0) {
		seterr(err, errlen, "truncated private section");
		return -1;
	}
	if (c1 != c2) {
		seterr(err, errlen, "corrupt private key (check bytes differ)");
		return -1;
	}
	if (nlen != strlen(key_type_name(pub)) ||
	    memcmp(name, key_type_name(pub), nlen) != 0) {
		seterr(err, errlen, "private key type does not match the "
		    "public key");
		return -1;
	}
	if ((pkey = privfmts[pub->type].parse(&r, err, errlen)) == NULL)
		return -1;
	if ((k = key_new(pub->type, pkey, true)) == NULL) {
		EVP_PKEY_free(pkey);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (rd_string(&r, NULL, NULL) != 0) {
		seterr(err, errlen, "truncated private key comment");
		goto fail;
	}
	for (i = 1; rd_left(&r) > 0; i++) {
		if (rd_u8(&r, &pad) != 0 || pad != (uint8_t)i) {
			seterr(err, errlen, "bad private key padding");
			goto fail;
		}
	}
	if (!key_equal(k, pub)) {
		seterr(err, errlen, "private key does not match the public "
		    "key in the file");
		goto fail;
	}
	*out = k;
	return 0;
fail:
	key_free(k);
	return -1;
}

static int
parse_v1_blob(const uint8_t *p, size_t len, struct key **out, char *err,
    size_t errlen)
{
	struct rd r;
	const uint8_t *magic, *cipher, *kdf, *pubblob, *priv;
	size_t clen, kdflen, optlen, publen, privlen;
	uint32_t nkeys;
	struct key *pub = NULL;
	int rc = -1;

	rd_init(&r, p, len);
	if (rd_bytes(&r, &magic, AUTH_MAGIC_LEN) != 0 ||
	    memcmp(magic, AUTH_MAGIC, AUTH_MAGIC_LEN) != 0) {
		seterr(err, errlen, "not an openssh-key-v1 key");
		return -1;
	}
	if (rd_string(&r, &cipher, &clen) != 0) {
		seterr(err, errlen, "truncated key file");
		return -1;
	}
	if (clen != 4 || memcmp(cipher, "none", 4) != 0) {
		/* bcrypt-pbkdf is not in OpenSSL 3 and ferry writes no
		 * crypto of its own */
		seterr(err, errlen, KEYFILE_MSG_V1_ENCRYPTED);
		return KEYFILE_ENCRYPTED_V1;
	}
	rd_string(&r, &kdf, &kdflen);
	rd_string(&r, NULL, &optlen);
	rd_u32(&r, &nkeys);
	rd_string(&r, &pubblob, &publen);
	rd_string(&r, &priv, &privlen);
	if (r.err) {
		seterr(err, errlen, "truncated key file");
		return -1;
	}
	if (kdflen != 4 || memcmp(kdf, "none", 4) != 0 || optlen != 0) {
		seterr(err, errlen, "unencrypted key with a key derivation");
		return -1;
	}
	if (nkeys != 1) {
		seterr(err, errlen, "key files with %u keys are not supported",
		    nkeys);
		return -1;
	}
	if (rd_left(&r) != 0) {
		seterr(err, errlen, "trailing bytes in key file");
		return -1;
	}
	if (key_from_blob(pubblob, publen, &pub, err, errlen) != 0)
		return -1;
	rc = parse_private_section(priv, privlen, pub, out, err, errlen);
	key_free(pub);
	return rc;
}

int
keyfile_v1_parse(const char *text, size_t len, struct key **out, char *err,
    size_t errlen)
{
	const char *body, *end;
	char *b64 = NULL;
	uint8_t *bin = NULL;
	size_t i, n = 0, blen = 0;
	int dlen, rc = -1;

	body = text + strlen(KEYFILE_V1_BEGIN);
	end = memmem(body, len - (size_t)(body - text), MARK_END,
	    strlen(MARK_END));
	if (end == NULL) {
		seterr(err, errlen, "no end marker in private key file");
		return -1;
	}
	blen = (size_t)(end - body);
	if ((b64 = malloc(blen + 1)) == NULL ||
	    (bin = malloc(blen / 4 * 3 + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < blen; i++) {
		if (!keyfile_is_space(body[i]))
			b64[n++] = body[i];
	}
	if ((dlen = b64_decode(b64, n, bin, blen / 4 * 3 + 1)) < 0) {
		seterr(err, errlen, "bad base64 in private key file");
		goto out;
	}
	rc = parse_v1_blob(bin, (size_t)dlen, out, err, errlen);
out:
	if (b64 != NULL)
		OPENSSL_cleanse(b64, blen);
	if (bin != NULL)
		OPENSSL_cleanse(bin, blen / 4 * 3 + 1);
	free(b64);
	free(bin);
	return rc;
}

/* Base64 of p wrapped at B64_LINE columns, each line ending in '\n'. */
static int
put_b64_wrapped(struct wb *w, const uint8_t *p, size_t len)
{
	char *b64;
	size_t i, cap = (len + 2) / 3 * 4 + 1;
	int n, rc = -1;

	if ((b64 = malloc(cap)) == NULL)
		return -1;
	if ((n = b64_encode(p, len, b64, cap)) < 0)
		goto out;
	for (i = 0; i < (size_t)n; i += B64_LINE) {
		wb_put(w, b64 + i, (size_t)n - i < B64_LINE ? (size_t)n - i :
		    B64_LINE);
		wb_u8(w, '\n');
	}
	rc = w->err ? -1 : 0;
out:
	OPENSSL_cleanse(b64, cap);
	free(b64);
	return rc;
}

int
keyfile_format_private(const struct key *k, const char *comment, char **text)
{
	struct wb pub, priv, file, out;
	struct rd pubr;
	uint32_t check;
	uint8_t i;
	int rc = -1;

	*text = NULL;
	if (k == NULL || !k->has_private ||
	    (size_t)k->type >= sizeof(privfmts) / sizeof(privfmts[0]))
		return -1;
	wb_init(&pub);
	wb_init(&priv);
	wb_init(&file);
	wb_init(&out);
	if (key_to_blob(k, &pub) != 0)
		goto out;
	if (RAND_bytes((unsigned char *)&check, sizeof(check)) != 1)
		goto out;
	wb_u32(&priv, check);
	wb_u32(&priv, check);
	wb_cstring(&priv, key_type_name(k));
	rd_init(&pubr, pub.p, pub.len);
	rd_string(&pubr, NULL, NULL);	/* the type name */
	if (privfmts[k->type].write(k, &pubr, &priv) != 0)
		goto out;
	wb_cstring(&priv, comment != NULL ? comment : "");
	for (i = 1; priv.len % BLOCK_NONE != 0; i++)
		wb_u8(&priv, i);

	wb_put(&file, AUTH_MAGIC, AUTH_MAGIC_LEN);
	wb_cstring(&file, "none");
	wb_cstring(&file, "none");
	wb_string(&file, "", 0);
	wb_u32(&file, 1);
	wb_string(&file, pub.p, pub.len);
	wb_string(&file, priv.p, priv.len);
	if (priv.err || file.err)
		goto out;

	wb_put(&out, KEYFILE_V1_BEGIN "\n", strlen(KEYFILE_V1_BEGIN) + 1);
	if (put_b64_wrapped(&out, file.p, file.len) != 0)
		goto out;
	wb_put(&out, MARK_END "\n", strlen(MARK_END) + 1);
	wb_u8(&out, '\0');
	if (out.err)
		goto out;
	/* Hand over out's buffer; it holds the secret, the caller wipes it. */
	*text = (char *)out.p;
	wb_init(&out);
	rc = 0;
out:
	OPENSSL_cleanse(&check, sizeof(check));
	wb_free(&pub);
	wb_free(&priv);
	wb_free(&file);
	wb_free(&out);
	return rc;
}
