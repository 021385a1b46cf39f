/* Private key files: OpenSSH's "openssh-key-v1" format (PROTOCOL.key) and
 * the PEM/PKCS#8 formats older ssh-keygen wrote; public key lines. */
#ifndef FERRY_KEYS_KEYFILE_H
#define FERRY_KEYS_KEYFILE_H

#include <stddef.h>

#include "key.h"

/* Parses a private key file's text. Returns 0 or a negative code with a
 * reason in err. Never reads past len. An encrypted key:
 *  - KEYFILE_ENCRYPTED: PEM or PKCS#8, decryptable (OpenSSL) with a
 *    passphrase given to the _pass variants (err: "key is encrypted with
 *    a passphrase; load it into ssh-agent");
 *  - KEYFILE_BAD_PASSPHRASE: such a key with a passphrase that does not
 *    open it (err: ssh's "incorrect passphrase supplied to decrypt
 *    private key");
 *  - KEYFILE_ENCRYPTED_V1: openssh-key-v1 encrypted with bcrypt-pbkdf,
 *    which ferry cannot decrypt (err says to use ssh-add or convert it
 *    with ssh-keygen -p -m PEM). */
#define KEYFILE_ENCRYPTED	(-2)
#define KEYFILE_BAD_PASSPHRASE	(-4)
#define KEYFILE_ENCRYPTED_V1	(-5)
int	keyfile_parse_private(const char *text, size_t len, struct key **out,
	    char *err, size_t errlen);
/* The same with pass, the passphrase (NUL-terminated, borrowed; the
 * caller wipes it), or NULL for none. */
int	keyfile_parse_private_pass(const char *text, size_t len,
	    const char *pass, struct key **out, char *err, size_t errlen);
/* Reads and parses path; also refuses a file readable by group or others
 * (as ssh does: "bad permissions"). Returns what keyfile_parse_private
 * returns, -1 when the file cannot be read, or KEYFILE_MISSING when it
 * does not exist (ENOENT; err is then "path: No such file or
 * directory"), so a caller can tell an absent default key from a broken
 * one. */
#define KEYFILE_MISSING		(-3)
int	keyfile_load_private(const char *path, struct key **out, char *err,
	    size_t errlen);
/* The same with a passphrase (see keyfile_parse_private_pass). */
int	keyfile_load_private_pass(const char *path, const char *pass,
	    struct key **out, char *err, size_t errlen);
/* Parses one public key line "type base64 [comment]". */
int	keyfile_parse_public(const char *line, size_t len, struct key **out,
	    char *err, size_t errlen);
/* Writes k as an unencrypted openssh-key-v1 private key file text
 * (malloc'd, NUL-terminated; it holds the secret: wipe before freeing)
 * and its public line. For ferryd's generated host keys and for tests. */
int	keyfile_format_private(const struct key *k, const char *comment,
	    char **text);
int	keyfile_format_public(const struct key *k, const char *comment,
	    char **line);

#endif
