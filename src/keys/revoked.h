/* Revoked key files, as OpenSSH reads them for sshd's RevokedKeys and
 * ssh's RevokedHostKeys (both roles use this module): an OpenSSH KRL
 * (keys/krl.h) when the file starts with the KRL magic, else a list of
 * public keys, one a line ("type base64 [comment]", '#' comments, blank
 * lines); a certificate line lists the key it certifies. A file that
 * cannot be read or used revokes every key (OpenSSH's rule), and so does
 * a list with a line that is not a key ("invalid format": OpenSSH stops
 * there with an error); lines of key types OpenSSH has and ferry does not
 * (DSA, the other ECDSA curves, security keys) are skipped, as no key
 * ferry accepts can match them. What to log is the caller's. */
#ifndef FERRY_KEYS_REVOKED_H
#define FERRY_KEYS_REVOKED_H

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
 * the listed keys' blobs. Read-only once loaded (ferryd's sessions share
 * one through their policy). */
struct revoked {
	char		*path;
	enum { REVOKED_KRL, REVOKED_LIST, REVOKED_BAD } kind;
	uint8_t		*krl;
	size_t		 krllen;
	uint8_t		(*hashes)[32];
	size_t		 nhashes;
	size_t		 nskipped;	/* lines of types ferry lacks */
	char		 why[256];	/* REVOKED_BAD: why, without the path */
};

/* Reads path. A file that cannot be read or used gives a REVOKED_BAD
 * one (why says what); returns -1 only when out of memory. *out is freed
 * with revoked_free. */
int	revoked_load(const char *path, struct revoked **out);
void	revoked_free(struct revoked *r);	/* NULL allowed */
/* Whether r revokes key, or the certificate cert (may be NULL) whose key
 * key is: the key itself, the certificate by serial or key ID under its
 * CA, or its CA key. On REVOKED_UNUSABLE why says what is wrong (the
 * reason alone: the caller names the file). */
enum revoked_verdict revoked_check(const struct revoked *r,
	    const struct key *key, const struct cert *cert, char *why,
	    size_t whylen);
/* revoked_load, revoked_check and revoked_free at once, for a file read
 * at every use (ssh reads RevokedHostKeys at each host key check). */
enum revoked_verdict revoked_file_check(const char *path,
	    const struct key *key, const struct cert *cert, char *why,
	    size_t whylen);

#endif
