/* SSH wire encoding: bounds-checked reader and growable writer. */
#include "buf.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void
rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

size_t
rd_left(const struct rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

int
rd_bytes(struct rd *r, const uint8_t **p, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = 1;
		return -1;
	}
	if (p != NULL)
		*p = r->p + r->off;
	r->off += n;
	return 0;
}

int
rd_u8(struct rd *r, uint8_t *v)
{
	const uint8_t *p;

	if (rd_bytes(r, &p, 1) != 0)
		return -1;
	*v = p[0];
	return 0;
}

int
rd_bool(struct rd *r, bool *v)
{
	uint8_t b;

	if (rd_u8(r, &b) != 0)
		return -1;
	*v = b != 0;
	return 0;
}

int
rd_u32(struct rd *r, uint32_t *v)
{
	const uint8_t *p;

	if (rd_bytes(r, &p, 4) != 0)
		return -1;
	*v = get_u32(p);
	return 0;
}

int
rd_u64(struct rd *r, uint64_t *v)
{
	const uint8_t *p;

	if (rd_bytes(r, &p, 8) != 0)
		return -1;
	*v = ((uint64_t)get_u32(p) << 32) | get_u32(p + 4);
	return 0;
}

int
rd_string(struct rd *r, const uint8_t **p, size_t *len)
{
	uint32_t n;

	if (rd_u32(r, &n) != 0 || rd_bytes(r, p, n) != 0)
		return -1;
	if (len != NULL)
		*len = n;
	return 0;
}

int
rd_string_eq(struct rd *r, const char *s)
{
	const uint8_t *p;
	size_t n;

	if (rd_string(r, &p, &n) != 0)
		return -1;
	if (n != strlen(s) || memcmp(p, s, n) != 0)
		return -1;
	return 0;
}

int
rd_cstring(struct rd *r, char *out, size_t outlen)
{
	const uint8_t *p;
	size_t n;

	if (rd_string(r, &p, &n) != 0)
		return -1;
	if (n >= outlen || memchr(p, '\0', n) != NULL) {
		r->err = 1;
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
rd_mpint_pos(struct rd *r, const uint8_t **p, size_t *len)
{
	const uint8_t *q;
	size_t n;

	if (rd_string(r, &q, &n) != 0)
		return -1;
	if (n > 0 && (q[0] & 0x80) != 0) {
		r->err = 1;
		return -1;
	}
	while (n > 0 && q[0] == 0) {
		q++;
		n--;
	}
	*p = q;
	*len = n;
	return 0;
}

void
wb_init(struct wb *w)
{
	memset(w, 0, sizeof(*w));
}

void
wb_free(struct wb *w)
{
	if (w->p != NULL) {
		OPENSSL_cleanse(w->p, w->cap);
		free(w->p);
	}
	wb_init(w);
}

void
wb_reset(struct wb *w)
{
	w->len = 0;
	w->err = 0;
}

uint8_t *
wb_reserve(struct wb *w, size_t n)
{
	uint8_t *np;
	size_t ncap;

	if (w->err)
		return NULL;
	if (w->p != NULL && w->cap - w->len >= n)
		return w->p + w->len;
	if (n > SIZE_MAX / 2 - w->len) {
		w->err = 1;
		return NULL;
	}
	ncap = w->cap ? w->cap : 256;
	while (ncap - w->len < n)
		ncap *= 2;
	/* Not realloc: the old block may hold secrets and must be wiped. */
	if ((np = malloc(ncap)) == NULL) {
		w->err = 1;
		return NULL;
	}
	if (w->p != NULL) {
		memcpy(np, w->p, w->len);
		OPENSSL_cleanse(w->p, w->cap);
		free(w->p);
	}
	w->p = np;
	w->cap = ncap;
	return w->p + w->len;
}

int
wb_put(struct wb *w, const void *p, size_t n)
{
	uint8_t *d;

	if ((d = wb_reserve(w, n)) == NULL)
		return -1;
	if (n > 0)
		memcpy(d, p, n);
	w->len += n;
	return 0;
}

int
wb_u8(struct wb *w, uint8_t v)
{
	return wb_put(w, &v, 1);
}

int
wb_bool(struct wb *w, bool v)
{
	return wb_u8(w, v ? 1 : 0);
}

int
wb_u32(struct wb *w, uint32_t v)
{
	uint8_t b[4];

	put_u32(b, v);
	return wb_put(w, b, 4);
}

int
wb_u64(struct wb *w, uint64_t v)
{
	uint8_t b[8];

	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b + 4, (uint32_t)v);
	return wb_put(w, b, 8);
}

int
wb_string(struct wb *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->err = 1;
		return -1;
	}
	if (wb_u32(w, (uint32_t)n) != 0)
		return -1;
	return wb_put(w, p, n);
}

int
wb_cstring(struct wb *w, const char *s)
{
	return wb_string(w, s, strlen(s));
}

int
wb_mpint(struct wb *w, const uint8_t *mag, size_t n)
{
	bool pad;

	while (n > 0 && mag[0] == 0) {
		mag++;
		n--;
	}
	pad = n > 0 && (mag[0] & 0x80) != 0;
	if (wb_u32(w, (uint32_t)(n + (pad ? 1 : 0))) != 0)
		return -1;
	if (pad && wb_u8(w, 0) != 0)
		return -1;
	return wb_put(w, mag, n);
}
