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

static inline bool
keyfile_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* text starts with KEYFILE_V1_BEGIN. */
int	keyfile_v1_parse(const char *text, size_t len, struct key **out,
	    char *err, size_t errlen);
int	keyfile_pem_parse(const char *text, size_t len, struct key **out,
	    char *err, size_t errlen);

#endif
