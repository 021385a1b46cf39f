/* Base64 (RFC 4648) for key lines and blobs (keys/base64.h). */
#include "keys/base64.h"

#include <stdint.h>
#include <string.h>

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	uint32_t v;

	if (n > (SIZE_MAX / 4 - 1) / 4 * 3 || (n + 2) / 3 * 4 >= outlen ||
	    (n + 2) / 3 * 4 > INT32_MAX)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict: padded to a multiple of 4, '=' only at the end and unused bits
 * zero, so each byte string has exactly one accepted encoding. */
int
b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
	size_t i, o = 0, pad = 0, need;
	uint32_t v;
	int j, c;

	if (n % 4 != 0 || n / 4 * 3 > INT32_MAX)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad = (n > 1 && in[n - 2] == '=') ? 2 : 1;
	need = n / 4 * 3 - pad;
	if (need > outlen)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if (i + 4 == n && j >= 4 - (int)pad)
				c = 0;
			else if ((c = b64_value(in[i + j])) < 0)
				return -1;
			v = v << 6 | (uint32_t)c;
		}
		if (i + 4 == n && ((pad == 1 && (v & 0xff) != 0) ||
		    (pad == 2 && (v & 0xffff) != 0)))
			return -1;
		out[o++] = (uint8_t)(v >> 16);
		if (o < need)
			out[o++] = (uint8_t)(v >> 8);
		if (o < need)
			out[o++] = (uint8_t)v;
	}
	return (int)o;
}
