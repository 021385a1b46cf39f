/* Private key files: OpenSSH's "openssh-key-v1" format (PROTOCOL.key) and
 * the PEM/PKCS#8 formats older ssh-keygen wrote; public key lines. */
#ifndef FERRY_KEYS_KEYFILE_H
#define FERRY_KEYS_KEYFILE_H

#include <stddef.h>

#include "key.h"

/* Parses a private key file's text. Encrypted keys are refused with a
 * message saying so (err: "key is encrypted with a passphrase; load it
 * into ssh-agent"), and the return is KEYFILE_ENCRYPTED. Returns 0 or a
 * negative code with a reason in err. Never reads past len. */
#define KEYFILE_ENCRYPTED	(-2)
int	keyfile_parse_private(const char *text, size_t len, struct key **out,
	    char *err, size_t errlen);
/* Reads and parses path; also refuses a file readable by group or others
 * (as ssh does: "bad permissions"). Returns what keyfile_parse_private
 * returns, -1 when the file cannot be read, or KEYFILE_MISSING when it
 * does not exist (ENOENT; err is then "path: No such file or
 * directory"), so a caller can tell an absent default key from a broken
 * one. */
#define KEYFILE_MISSING		(-3)
int	keyfile_load_private(const char *path, struct key **out, char *err,
	    size_t errlen);
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
