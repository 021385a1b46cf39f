/* Shared by the key file readers: keyfile.c picks the format,
 * keyfile_v1.c and keyfile_pem.c parse one each. Both parsers follow
 * keyfile_parse_private's contract. */
#ifndef FERRY_KEYS_KEYFILE_INT_H
#define FERRY_KEYS_KEYFILE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "key.h"

#define KEYFILE_V1_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define KEYFILE_MSG_ENCRYPTED	"key is encrypted with a passphrase; load " \
				"it into ssh-agent"
#define KEYFILE_MSG_V1_ENCRYPTED "key is encrypted in OpenSSH's format " \
	"(bcrypt-pbkdf), which ferry cannot decrypt: add it to ssh-agent " \
	"with ssh-add, or convert it with ssh-keygen -p -m PEM"
#define KEYFILE_MSG_BAD_PASS	"incorrect passphrase supplied to decrypt " \
				"private key"

static inline bool
keyfile_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* text starts with KEYFILE_V1_BEGIN. */
int	keyfile_v1_parse(const char *text, size_t len, struct key **out,
	    char *err, size_t errlen);
/* pass: the passphrase of an encrypted key (NUL-terminated, borrowed),
 * NULL when none was given. */
int	keyfile_pem_parse(const char *text, size_t len, const char *pass,
	    struct key **out, char *err, size_t errlen);

#endif
