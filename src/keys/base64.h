/* Base64 (RFC 4648), as key lines and blobs write it. */
#ifndef FERRY_KEYS_BASE64_H
#define FERRY_KEYS_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Base64 without line breaks, NUL-terminated (outlen must leave room
 * for the NUL); returns output length or -1. */
int	 b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
/* Decodes; skips no whitespace; returns decoded length or -1 if invalid. */
int	 b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen);

#endif
