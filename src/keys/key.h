/* Public and private keys of the three SSH key types, on OpenSSL EVP_PKEY:
 * wire blobs (RFC 4253 §6.6, RFC 5656, RFC 8709), signatures (RFC 8332
 * rsa-sha2-256/512, ecdsa-sha2-nistp256, ssh-ed25519) and fingerprints. */
#ifndef FERRY_KEYS_KEY_H
#define FERRY_KEYS_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ssh/buf.h"
#include "keys/base64.h"

enum key_type {
	KEY_ED25519,
	KEY_ECDSA_P256,
	KEY_RSA,
};

/* The smallest RSA key accepted anywhere (sshd's RequiredRSASize
 * default). */
#define KEY_RSA_MIN_BITS	1024

/* Owns pkey. has_private says whether it can sign. */
struct key {
	enum key_type	 type;
	bool		 has_private;
	void		*pkey;		/* EVP_PKEY * */
};

void	 key_free(struct key *k);	/* NULL allowed */
/* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa". */
const char *key_type_name(const struct key *k);
/* ssh's and sshd's word for the key type in messages: ED25519, ECDSA,
 * RSA. */
const char *key_type_label(const struct key *k);
/* Parses a public key blob; on failure returns -1 and writes a reason. */
int	 key_from_blob(const uint8_t *blob, size_t len, struct key **out,
	    char *err, size_t errlen);
/* Appends the public key blob (not wrapped in a string). */
int	 key_to_blob(const struct key *k, struct wb *w);
/* True if both keys are the same public key. */
bool	 key_equal(const struct key *a, const struct key *b);
/* "SHA256:<unpadded base64>" of the blob, as ssh-keygen -l prints. */
int	 key_fingerprint(const struct key *k, char *out, size_t outlen);
/* Whether sigalg ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256",
 * "rsa-sha2-512") is a signature algorithm for this key. */
bool	 key_alg_ok(const struct key *k, const char *sigalg);
/* Verifies an SSH signature blob (string alg, string sig) over data. The
 * blob's alg must equal sigalg. Returns 0 if valid, -1 otherwise. */
int	 key_verify(const struct key *k, const char *sigalg,
	    const uint8_t *sig, size_t siglen, const uint8_t *data, size_t dlen);
/* Signs data with sigalg and appends the SSH signature blob (string alg,
 * string sig) to w. Needs has_private. Returns 0 or -1. */
int	 key_sign(const struct key *k, const char *sigalg,
	    const uint8_t *data, size_t dlen, struct wb *w);
/* Generates a new private key (for tests and ferryd's host key). */
int	 key_generate(enum key_type type, struct key **out);
/* The key's size in bits (an RSA key's modulus). */
int	 key_bits(const struct key *k);


#endif
