/* Shared by key.c and the key file parsers: the limits every key is held
 * to, wherever it comes from, and OpenSSL key construction. */
#ifndef FERRY_KEYS_KEY_INT_H
#define FERRY_KEYS_KEY_INT_H

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "key.h"

#define ED25519_PK_LEN		32
#define ED25519_SIG_LEN		64
#define P256_POINT_LEN		65	/* 0x04 || X || Y */
#define P256_SCALAR_LEN		32
#define RSA_MIN_BITS		KEY_RSA_MIN_BITS
/* OpenSSH's SSHBUF_MAX_BIGNUM; bounds the cost of a hostile key. */
#define RSA_MAX_BITS		16384

/* A key owning pkey (NULL if out of memory; pkey is then still the
 * caller's). */
struct key	*key_new(enum key_type type, EVP_PKEY *pkey, bool priv);
/* Appends bn as an mpint, wiping the scratch copy (bn may be secret). */
int		 key_put_bn(struct wb *w, const BIGNUM *bn);
/* Builds an EVP_PKEY of the given algorithm from params; selection is
 * EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR. NULL on failure. */
EVP_PKEY	*key_pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld,
		    int selection);
/* The P-256 key with the point q (qlen bytes, uncompressed) and, if d is
 * not NULL, the private scalar d, checked by OpenSSL: a public key for
 * infinity, a key pair for q = d*G. NULL on failure, with OpenSSL's error
 * queue left for the caller to clear. */
EVP_PKEY	*key_p256_pkey(const uint8_t *q, size_t qlen, const BIGNUM *d);

#endif
