/* RevokedKeys: the revocation file ferryd reads when its configuration
 * loads (and at SIGHUP), never per login. As sshd, the file is an OpenSSH
 * KRL (keys/krl.h) when it starts with the KRL magic, else a list of
 * public keys, one a line ("type base64 [comment]", '#' comments). A file
 * that cannot be read or used revokes every key (sshd's rule). */
#ifndef FERRY_SERVER_REVOKED_H
#define FERRY_SERVER_REVOKED_H

#include <stddef.h>
#include <stdint.h>

#include "keys/cert.h"
#include "keys/key.h"

enum revoked_verdict {
	REVOKED_NO,
	REVOKED_YES,
	REVOKED_UNUSABLE,	/* the file could not be used: refuse */
};

/* Owns everything: path, the KRL's bytes or the sorted SHA-256 hashes of
 * the listed keys' blobs. Read-only once loaded (sessions share it
 * through their policy). */
struct revoked {
	char		*path;
	enum { REVOKED_KRL, REVOKED_LIST, REVOKED_BAD } kind;
	uint8_t		*krl;
	size_t		 krllen;
	uint8_t		(*hashes)[32];
	size_t		 nhashes;
	char		 why[256];	/* REVOKED_BAD: why */
};

/* Reads path. A file that cannot be read or parsed gives a REVOKED_BAD
 * list (logged as an error, why says what); returns -1 only when out of
 * memory. *out is freed with revoked_free. */
int	revoked_load(const char *path, struct revoked **out);
void	revoked_free(struct revoked *r);	/* NULL allowed */
/* Whether r revokes key, or the certificate cert (may be NULL) whose key
 * key is: the key itself, the certificate by serial or key ID under its
 * CA, or its CA key. On REVOKED_UNUSABLE why says what is wrong. */
enum revoked_verdict revoked_check(const struct revoked *r,
	    const struct key *key, const struct cert *cert, char *why,
	    size_t whylen);

#endif
