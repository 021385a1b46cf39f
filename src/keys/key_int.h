/* Shared by key.c and keyfile.c: OpenSSL key construction. */
#ifndef FERRY_KEYS_KEY_INT_H
#define FERRY_KEYS_KEY_INT_H

#include <openssl/evp.h>
#include <openssl/param_build.h>

EVP_PKEY	*key_pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld,
		    int selection);

#endif
