/* OpenSSH certificates (PROTOCOL.certkeys, the *-cert-v01@openssh.com key
 * types): a public key, its principals and validity, signed by a CA key.
 *
 * Parser contract: cert_parse reads only the len bytes it is given,
 * checks every field and bounds every count and size below, and returns 0
 * or -1 with a reason in err. It does not verify the signature: that is
 * cert_verify, so that a client may offer a certificate whose CA uses an
 * algorithm ferry cannot check. A server or a host key check calls
 * cert_verify, then cert_check, then compares c->ca with its trusted CA
 * keys (key_equal), and refuses critical options it does not know
 * (cert_opt). */
#ifndef FERRY_KEYS_CERT_H
#define FERRY_KEYS_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"

#define CERT_MAX_BLOB		16384	/* whole certificate blob, bytes */
#define CERT_MAX_PRINCIPALS	256
#define CERT_MAX_PRINCIPAL_LEN	255
#define CERT_MAX_KEY_ID_LEN	1024
#define CERT_MAX_OPTS		64	/* critical options, extensions */

enum cert_type {
	CERT_USER = 1,
	CERT_HOST = 2,
};

/* A critical option or an extension: name and data (the data is the
 * option's own encoding, usually one string or empty). Both point into
 * the owning cert's blob. */
struct cert_opt {
	const uint8_t	*name;
	size_t		 namelen;
	const uint8_t	*data;
	size_t		 datalen;
};

/* A parsed certificate. Owns everything: blob (a copy of the input),
 * key_id and principals (NUL-terminated, no NUL inside), key and ca.
 * crit and ext point into blob. Freed with cert_free. */
struct cert {
	uint8_t		*blob;
	size_t		 bloblen;
	size_t		 signed_len;	/* blob[0, signed_len) is signed */
	const char	*type_name;	/* "ssh-ed25519-cert-v01@openssh.com"... */
	struct key	*key;		/* the certified public key */
	uint64_t	 serial;
	enum cert_type	 type;
	char		*key_id;
	char		**principals;
	int		 nprincipals;
	uint64_t	 valid_after;	/* seconds since the epoch */
	uint64_t	 valid_before;	/* UINT64_MAX: forever */
	struct cert_opt	 crit[CERT_MAX_OPTS];
	int		 ncrit;
	struct cert_opt	 ext[CERT_MAX_OPTS];
	int		 next;
	struct key	*ca;		/* the signature key */
	const uint8_t	*sig;		/* the signature blob, in blob */
	size_t		 siglen;
	char		 sig_alg[32];	/* the algorithm the CA signed with */
};

void	 cert_free(struct cert *c);	/* NULL allowed */
/* Whether name is a certificate key type ferry parses. */
bool	 cert_is_type_name(const char *name, size_t len);
/* Parses a certificate blob (see the contract above). */
int	 cert_parse(const uint8_t *blob, size_t len, struct cert **out,
	    char *err, size_t errlen);
/* Verifies the CA's signature over the certificate with c->ca. Returns 0,
 * or -1 with a reason (unsupported algorithm or bad signature). */
int	 cert_verify(const struct cert *c, char *err, size_t errlen);
/* Checks the type, that now lies in [valid_after, valid_before) and, if
 * principal is not NULL, that it is listed; an empty list matches any
 * principal only when empty_any (OpenSSH's rule for certificates checked
 * against an explicit list of names). Returns 0 or -1 with err. */
int	 cert_check(const struct cert *c, enum cert_type want,
	    const char *principal, bool empty_any, uint64_t now, char *err,
	    size_t errlen);
/* The critical option or extension named name, or NULL. */
const struct cert_opt *cert_opt(const struct cert_opt *opts, int n,
	    const char *name);
/* The signature algorithms a client offers for the certificate, for a
 * publickey request (RFC 8332's names for RSA): "ssh-ed25519-cert-v01@
 * openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
 * "rsa-sha2-512-cert-v01@openssh.com" (rsa256 picks the SHA-256 one). */
const char *cert_auth_alg(const struct cert *c, bool rsa256);
/* For a server: the signature algorithm a publickey request under the
 * certificate algorithm cert_alg is signed with ("rsa-sha2-512" for
 * "rsa-sha2-512-cert-v01@openssh.com"...), NULL if cert_alg is not one
 * ferry knows; *type gets the key type the certificate must hold. */
const char *cert_sig_alg(const char *cert_alg, enum key_type *type);
/* Parses one "-cert.pub" line: "type base64 [comment]". */
int	 cert_parse_line(const char *line, size_t len, struct cert **out,
	    char *err, size_t errlen);
/* Reads a -cert.pub file (its first line). Returns 0, -1 with err, or
 * READFILE_ABSENT (util/readfile.h) when the file does not exist. */
int	 cert_load_file(const char *path, struct cert **out, char *err,
	    size_t errlen);

#endif
