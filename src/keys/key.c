/* SSH public keys on OpenSSL EVP_PKEY: wire blobs, signatures, fingerprints
 * and base64. Each key type is one row of impls[], indexed by enum key_type. */
#include "key.h"
#include "key_int.h"
#include "util/err.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenSSL itself refuses e over 64 bits for large moduli; a huge e only
 * makes verification slow. */
#define RSA_MAX_E_BYTES		8

struct key_impl {
	enum key_type	 type;
	const char	*name;
	EVP_PKEY	*(*parse)(struct rd *, char *, size_t);
	int		 (*blob)(EVP_PKEY *, struct wb *);
	int		 (*verify)(EVP_PKEY *, const char *, const uint8_t *,
			    size_t, const uint8_t *, size_t);
	int		 (*sign)(EVP_PKEY *, const char *, const uint8_t *,
			    size_t, struct wb *);
};

struct sigalg {
	const char	*name;
	enum key_type	 type;
	const char	*md;		/* NULL: the algorithm hashes itself */
};

static const struct sigalg sigalgs[] = {
	{ "ssh-ed25519", KEY_ED25519, NULL },
	{ "ecdsa-sha2-nistp256", KEY_ECDSA_P256, "SHA256" },
	{ "rsa-sha2-256", KEY_RSA, "SHA256" },
	{ "rsa-sha2-512", KEY_RSA, "SHA512" },
};

struct key *
key_new(enum key_type type, EVP_PKEY *pkey, bool priv)
{
	struct key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->type = type;
	k->has_private = priv;
	k->pkey = pkey;
	return k;
}

int
key_put_bn(struct wb *w, const BIGNUM *bn)
{
	uint8_t *tmp;
	int n, rc = -1;

	n = BN_num_bytes(bn);
	if ((tmp = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		return -1;
	if (BN_bn2bin(bn, tmp) == n)
		rc = wb_mpint(w, tmp, (size_t)n);
	OPENSSL_cleanse(tmp, (size_t)n);
	free(tmp);
	return rc;
}

static int
digest_verify(EVP_PKEY *pkey, const char *md, const uint8_t *sig,
    size_t slen, const uint8_t *data, size_t dlen)
{
	EVP_MD_CTX *ctx;
	int rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pkey,
	    NULL) == 1 && EVP_DigestVerify(ctx, sig, slen, data, dlen) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	if (rc != 0)
		ERR_clear_error();	/* a bad signature is not a library fault */
	return rc;
}

/* Signs into a malloc'd buffer the caller frees. */
static int
digest_sign(EVP_PKEY *pkey, const char *md, const uint8_t *data, size_t dlen,
    uint8_t **sig, size_t *slen)
{
	EVP_MD_CTX *ctx;
	uint8_t *s = NULL;
	size_t n = 0;
	int rc = -1;

	*sig = NULL;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, dlen) != 1 || n == 0)
		goto out;
	if ((s = malloc(n)) == NULL)
		goto out;
	if (EVP_DigestSign(ctx, s, &n, data, dlen) != 1)
		goto out;
	*sig = s;
	*slen = n;
	s = NULL;
	rc = 0;
out:
	free(s);
	EVP_MD_CTX_free(ctx);
	return rc;
}

EVP_PKEY *
key_pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* The group and the point q, with the scalar d when there is one. */
static OSSL_PARAM_BLD *
p256_params(const uint8_t *q, size_t qlen, const BIGNUM *d)
{
	OSSL_PARAM_BLD *bld;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    q, qlen) != 1 ||
	    (d != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)) {
		OSSL_PARAM_BLD_free(bld);
		return NULL;
	}
	return bld;
}

EVP_PKEY *
key_p256_pkey(const uint8_t *q, size_t qlen, const BIGNUM *d)
{
	OSSL_PARAM_BLD *bld;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((bld = p256_params(q, qlen, d)) == NULL ||
	    (pkey = key_pkey_fromdata("EC", bld, d != NULL ?
	    EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY)) == NULL)
		goto out;
	/* Decoding checked the curve equation; the public check also
	 * refuses infinity, the pairwise one that q is d*G and d in range,
	 * or signatures would be garbage. */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    (d != NULL ? EVP_PKEY_pairwise_check(ctx) :
	    EVP_PKEY_public_check(ctx)) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *
ed25519_parse(struct rd *r, char *err, size_t errlen)
{
	const uint8_t *pk;
	size_t n;
	EVP_PKEY *pkey;

	if (rd_string(r, &pk, &n) != 0) {
		seterr(err, errlen, "truncated ssh-ed25519 key");
		return NULL;
	}
	if (n != ED25519_PK_LEN) {
		seterr(err, errlen, "bad ssh-ed25519 key length %zu", n);
		return NULL;
	}
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, n);
	if (pkey == NULL)
		seterr(err, errlen, "cannot make ssh-ed25519 key");
	return pkey;
}

static int
ed25519_blob(EVP_PKEY *pkey, struct wb *w)
{
	uint8_t pk[ED25519_PK_LEN];
	size_t n = sizeof(pk);

	if (EVP_PKEY_get_raw_public_key(pkey, pk, &n) != 1 || n != sizeof(pk))
		return -1;
	wb_cstring(w, "ssh-ed25519");
	return wb_string(w, pk, n);
}

static int
ed25519_verify(EVP_PKEY *pkey, const char *md, const uint8_t *sig,
    size_t slen, const uint8_t *data, size_t dlen)
{
	(void)md;
	if (slen != ED25519_SIG_LEN)
		return -1;
	return digest_verify(pkey, NULL, sig, slen, data, dlen);
}

static int
ed25519_sign(EVP_PKEY *pkey, const char *md, const uint8_t *data,
    size_t dlen, struct wb *w)
{
	uint8_t *sig;
	size_t slen;
	int rc = -1;

	(void)md;
	if (digest_sign(pkey, NULL, data, dlen, &sig, &slen) != 0)
		return -1;
	if (slen == ED25519_SIG_LEN)
		rc = wb_string(w, sig, slen);
	free(sig);
	return rc;
}

static EVP_PKEY *
ecdsa_parse(struct rd *r, char *err, size_t errlen)
{
	const uint8_t *curve, *q;
	size_t clen, qlen;
	EVP_PKEY *pkey;

	if (rd_string(r, &curve, &clen) != 0 || rd_string(r, &q, &qlen) != 0) {
		seterr(err, errlen, "truncated ecdsa key");
		return NULL;
	}
	if (clen != 8 || memcmp(curve, "nistp256", 8) != 0) {
		seterr(err, errlen, "ecdsa key is not on curve nistp256");
		return NULL;
	}
	if (qlen != P256_POINT_LEN || q[0] != 0x04) {
		seterr(err, errlen, "ecdsa key is not an uncompressed point");
		return NULL;
	}
	if ((pkey = key_p256_pkey(q, qlen, NULL)) == NULL) {
		seterr(err, errlen, "invalid ecdsa public key");
		ERR_clear_error();
	}
	return pkey;
}

/* Encodes the point from its coordinates, so a key loaded with a
 * compressed point format is still written uncompressed. */
static int
ecdsa_blob(EVP_PKEY *pkey, struct wb *w)
{
	BIGNUM *x = NULL, *y = NULL;
	uint8_t q[P256_POINT_LEN];
	int rc = -1;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	q[0] = 0x04;
	if (BN_bn2binpad(x, q + 1, P256_SCALAR_LEN) != P256_SCALAR_LEN ||
	    BN_bn2binpad(y, q + 1 + P256_SCALAR_LEN, P256_SCALAR_LEN) !=
	    P256_SCALAR_LEN)
		goto out;
	wb_cstring(w, "ecdsa-sha2-nistp256");
	wb_cstring(w, "nistp256");
	rc = wb_string(w, q, sizeof(q));
out:
	BN_free(x);
	BN_free(y);
	return rc;
}

/* SSH carries (mpint r, mpint s); OpenSSL wants DER. */
static int
ecdsa_verify(EVP_PKEY *pkey, const char *md, const uint8_t *sig,
    size_t slen, const uint8_t *data, size_t dlen)
{
	struct rd r;
	const uint8_t *rp, *sp;
	size_t rlen, sl;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;
	int derlen, rc = -1;

	rd_init(&r, sig, slen);
	rd_mpint_pos(&r, &rp, &rlen);
	rd_mpint_pos(&r, &sp, &sl);
	if (r.err || rd_left(&r) != 0)
		return -1;
	if (rlen == 0 || rlen > P256_SCALAR_LEN || sl == 0 ||
	    sl > P256_SCALAR_LEN)
		return -1;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(rp, (int)rlen, NULL)) == NULL ||
	    (bs = BN_bin2bn(sp, (int)sl, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;		/* owned by es now */
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	rc = digest_verify(pkey, md, der, (size_t)derlen, data, dlen);
out:
	OPENSSL_free(der);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return rc;
}

static int
ecdsa_sign(EVP_PKEY *pkey, const char *md, const uint8_t *data, size_t dlen,
    struct wb *w)
{
	uint8_t *der;
	const unsigned char *p;
	size_t derlen;
	ECDSA_SIG *es = NULL;
	struct wb inner;
	int rc = -1;

	wb_init(&inner);
	if (digest_sign(pkey, md, data, dlen, &der, &derlen) != 0)
		return -1;
	p = der;
	if (derlen > 1024 || (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) ==
	    NULL)
		goto out;
	key_put_bn(&inner, ECDSA_SIG_get0_r(es));
	key_put_bn(&inner, ECDSA_SIG_get0_s(es));
	if (inner.err)
		goto out;
	rc = wb_string(w, inner.p, inner.len);
out:
	ECDSA_SIG_free(es);
	wb_free(&inner);
	free(der);
	return rc;
}

static EVP_PKEY *
rsa_parse(struct rd *r, char *err, size_t errlen)
{
	const uint8_t *e, *n;
	size_t elen, nlen;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *be = NULL, *bn = NULL;
	EVP_PKEY *pkey = NULL;
	int bits;

	if (rd_mpint_pos(r, &e, &elen) != 0 ||
	    rd_mpint_pos(r, &n, &nlen) != 0) {
		seterr(err, errlen, "truncated or negative ssh-rsa key");
		return NULL;
	}
	if (elen == 0 || elen > RSA_MAX_E_BYTES || (e[elen - 1] & 1) == 0) {
		seterr(err, errlen, "bad ssh-rsa public exponent");
		return NULL;
	}
	if (nlen > RSA_MAX_BITS / 8) {
		seterr(err, errlen, "ssh-rsa key too large (over %d bits)",
		    RSA_MAX_BITS);
		return NULL;
	}
	if ((be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	if ((bits = BN_num_bits(bn)) < RSA_MIN_BITS) {
		seterr(err, errlen, "ssh-rsa key too small (%d bits, minimum "
		    "%d)", bits, RSA_MIN_BITS);
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (pkey = key_pkey_fromdata("RSA", bld, EVP_PKEY_PUBLIC_KEY)) == NULL) {
		seterr(err, errlen, "cannot make ssh-rsa key");
		ERR_clear_error();
	}
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(be);
	BN_free(bn);
	return pkey;
}

static int
rsa_blob(EVP_PKEY *pkey, struct wb *w)
{
	BIGNUM *e = NULL, *n = NULL;
	int rc = -1;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1)
		goto out;
	wb_cstring(w, "ssh-rsa");
	key_put_bn(w, e);
	key_put_bn(w, n);
	rc = w->err ? -1 : 0;
out:
	BN_free(e);
	BN_free(n);
	return rc;
}

/* A signature may come without its leading zero bytes (OpenSSH accepts
 * that too); OpenSSL wants exactly the modulus length. */
static int
rsa_verify(EVP_PKEY *pkey, const char *md, const uint8_t *sig, size_t slen,
    const uint8_t *data, size_t dlen)
{
	uint8_t *padded;
	size_t modlen;
	int size, rc;

	if ((size = EVP_PKEY_get_size(pkey)) <= 0)
		return -1;
	modlen = (size_t)size;
	if (slen == 0 || slen > modlen)
		return -1;
	if (slen == modlen)
		return digest_verify(pkey, md, sig, slen, data, dlen);
	if ((padded = calloc(1, modlen)) == NULL)
		return -1;
	memcpy(padded + (modlen - slen), sig, slen);
	rc = digest_verify(pkey, md, padded, modlen, data, dlen);
	free(padded);
	return rc;
}

static int
rsa_sign(EVP_PKEY *pkey, const char *md, const uint8_t *data, size_t dlen,
    struct wb *w)
{
	uint8_t *sig, *dst;
	size_t slen, modlen;
	int size, rc = -1;

	if ((size = EVP_PKEY_get_size(pkey)) <= 0)
		return -1;
	modlen = (size_t)size;
	if (digest_sign(pkey, md, data, dlen, &sig, &slen) != 0)
		return -1;
	if (slen > modlen)
		goto out;
	/* OpenSSH always sends the full modulus length. */
	if (wb_u32(w, (uint32_t)modlen) != 0 ||
	    (dst = wb_reserve(w, modlen)) == NULL)
		goto out;
	memset(dst, 0, modlen - slen);
	memcpy(dst + (modlen - slen), sig, slen);
	w->len += modlen;
	rc = 0;
out:
	free(sig);
	return rc;
}

static const struct key_impl impls[] = {
	[KEY_ED25519] = { KEY_ED25519, "ssh-ed25519", ed25519_parse,
	    ed25519_blob, ed25519_verify, ed25519_sign },
	[KEY_ECDSA_P256] = { KEY_ECDSA_P256, "ecdsa-sha2-nistp256",
	    ecdsa_parse, ecdsa_blob, ecdsa_verify, ecdsa_sign },
	[KEY_RSA] = { KEY_RSA, "ssh-rsa", rsa_parse, rsa_blob, rsa_verify,
	    rsa_sign },
};

static const struct key_impl *
impl_of(const struct key *k)
{
	if (k == NULL || k->pkey == NULL ||
	    (size_t)k->type >= sizeof(impls) / sizeof(impls[0]))
		return NULL;
	return &impls[k->type];
}

static const struct sigalg *
sigalg_for(const struct key *k, const char *name)
{
	size_t i;

	if (impl_of(k) == NULL || name == NULL)
		return NULL;
	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++) {
		if (sigalgs[i].type == k->type &&
		    strcmp(sigalgs[i].name, name) == 0)
			return &sigalgs[i];
	}
	return NULL;
}

void
key_free(struct key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *
key_type_label(const struct key *k)
{
	switch (k->type) {
	case KEY_ED25519:
		return "ED25519";
	case KEY_ECDSA_P256:
		return "ECDSA";
	case KEY_RSA:
		return "RSA";
	}
	return key_type_name(k);
}

const char *
key_type_name(const struct key *k)
{
	const struct key_impl *impl;

	if ((impl = impl_of(k)) == NULL)
		return "unknown";
	return impl->name;
}

int
key_from_blob(const uint8_t *blob, size_t len, struct key **out, char *err,
    size_t errlen)
{
	struct rd r;
	const uint8_t *name;
	size_t nlen, i;
	const struct key_impl *impl = NULL;
	EVP_PKEY *pkey = NULL;
	struct key *k;

	*out = NULL;
	rd_init(&r, blob, len);
	if (rd_string(&r, &name, &nlen) != 0) {
		seterr(err, errlen, "truncated key blob");
		return -1;
	}
	for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		if (strlen(impls[i].name) == nlen &&
		    memcmp(impls[i].name, name, nlen) == 0)
			impl = &impls[i];
	}
	if (impl == NULL) {
		seterr(err, errlen, "unsupported key type");
		return -1;
	}
	if ((pkey = impl->parse(&r, err, errlen)) == NULL)
		return -1;
	if (rd_left(&r) != 0) {
		seterr(err, errlen, "trailing bytes after %s key", impl->name);
		EVP_PKEY_free(pkey);
		return -1;
	}
	if ((k = key_new(impl->type, pkey, false)) == NULL) {
		seterr(err, errlen, "out of memory");
		EVP_PKEY_free(pkey);
		return -1;
	}
	*out = k;
	return 0;
}

int
key_to_blob(const struct key *k, struct wb *w)
{
	const struct key_impl *impl;

	if ((impl = impl_of(k)) == NULL)
		return -1;
	if (impl->blob(k->pkey, w) != 0 || w->err)
		return -1;
	return 0;
}

bool
key_equal(const struct key *a, const struct key *b)
{
	struct wb wa, wbb;
	bool eq = false;

	if (impl_of(a) == NULL || impl_of(b) == NULL || a->type != b->type)
		return false;
	wb_init(&wa);
	wb_init(&wbb);
	if (key_to_blob(a, &wa) == 0 && key_to_blob(b, &wbb) == 0)
		eq = wa.len == wbb.len && memcmp(wa.p, wbb.p, wa.len) == 0;
	wb_free(&wa);
	wb_free(&wbb);
	return eq;
}

int
key_fingerprint(const struct key *k, char *out, size_t outlen)
{
	struct wb w;
	uint8_t md[32];
	char b64[48];
	size_t mdlen = 0;
	int n, rc = -1;

	wb_init(&w);
	if (key_to_blob(k, &w) != 0)
		goto out;
	if (EVP_Q_digest(NULL, "SHA256", NULL, w.p, w.len, md, &mdlen) != 1 ||
	    mdlen != sizeof(md))
		goto out;
	if ((n = b64_encode(md, mdlen, b64, sizeof(b64))) < 0)
		goto out;
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	n = snprintf(out, outlen, "SHA256:%s", b64);
	if (n < 0 || (size_t)n >= outlen)
		goto out;
	rc = 0;
out:
	wb_free(&w);
	return rc;
}

bool
key_alg_ok(const struct key *k, const char *sigalg)
{
	return sigalg_for(k, sigalg) != NULL;
}

int
key_verify(const struct key *k, const char *sigalg, const uint8_t *sig,
    size_t siglen, const uint8_t *data, size_t dlen)
{
	const struct sigalg *sa;
	struct rd r;
	const uint8_t *alg, *s;
	size_t alen, slen;

	if ((sa = sigalg_for(k, sigalg)) == NULL)
		return -1;
	rd_init(&r, sig, siglen);
	rd_string(&r, &alg, &alen);
	rd_string(&r, &s, &slen);
	if (r.err || rd_left(&r) != 0)
		return -1;
	if (alen != strlen(sa->name) || memcmp(alg, sa->name, alen) != 0)
		return -1;
	return impls[k->type].verify(k->pkey, sa->md, s, slen, data, dlen);
}

int
key_sign(const struct key *k, const char *sigalg, const uint8_t *data,
    size_t dlen, struct wb *w)
{
	const struct sigalg *sa;
	struct wb tmp;
	int rc = -1;

	if ((sa = sigalg_for(k, sigalg)) == NULL || !k->has_private)
		return -1;
	/* Built aside so a failure leaves w as it was. */
	wb_init(&tmp);
	wb_cstring(&tmp, sa->name);
	if (impls[k->type].sign(k->pkey, sa->md, data, dlen, &tmp) != 0 ||
	    tmp.err)
		goto out;
	rc = wb_put(w, tmp.p, tmp.len);
out:
	wb_free(&tmp);
	return rc;
}

int
key_generate(enum key_type type, struct key **out)
{
	EVP_PKEY *pkey = NULL;
	struct key *k;

	*out = NULL;
	switch (type) {
	case KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case KEY_ECDSA_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case KEY_RSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	}
	if (pkey == NULL)
		return -1;
	if ((k = key_new(type, pkey, true)) == NULL) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	*out = k;
	return 0;
}

int
key_bits(const struct key *k)
{
	return EVP_PKEY_get_bits(k->pkey);
}
