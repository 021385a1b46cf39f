/* SSH wire encoding (RFC 4251 §5): a bounds-checked reader and a growable writer.
 *
 * Reader contract: every rd_* call returns 0 on success or -1 when the input is
 * too short or malformed; after the first failure r->err stays set and every
 * later call fails, so a parser may check once at the end. Readers never
 * allocate and never read past the length they were given. Strings are
 * returned as pointers into the input. */
#ifndef FERRY_SSH_BUF_H
#define FERRY_SSH_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

void	rd_init(struct rd *r, const void *p, size_t len);
size_t	rd_left(const struct rd *r);
int	rd_u8(struct rd *r, uint8_t *v);
int	rd_bool(struct rd *r, bool *v);
int	rd_u32(struct rd *r, uint32_t *v);
int	rd_u64(struct rd *r, uint64_t *v);
int	rd_bytes(struct rd *r, const uint8_t **p, size_t n);
/* A uint32-length-prefixed string; *p points into the input. */
int	rd_string(struct rd *r, const uint8_t **p, size_t *len);
/* A string compared against a C string; 0 only when equal. */
int	rd_string_eq(struct rd *r, const char *s);
/* A string copied into out (NUL-terminated); fails if it does not fit or
 * contains a NUL byte. */
int	rd_cstring(struct rd *r, char *out, size_t outlen);
/* An mpint that must be non-negative; p and len give the magnitude without the
 * leading zero byte. */
int	rd_mpint_pos(struct rd *r, const uint8_t **p, size_t *len);

/* Writer: grows on demand. An allocation failure sets err and turns later
 * writes into no-ops; check w->err (or the return of wb_*) once. Owns p. */
struct wb {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
	int		 err;
};

void	 wb_init(struct wb *w);
void	 wb_free(struct wb *w);		/* wipes the bytes before freeing */
void	 wb_reset(struct wb *w);	/* len = 0, keeps the allocation */
/* Room for n more bytes; returns a pointer to them (not yet counted in len)
 * or NULL. */
uint8_t	*wb_reserve(struct wb *w, size_t n);
int	 wb_put(struct wb *w, const void *p, size_t n);
int	 wb_u8(struct wb *w, uint8_t v);
int	 wb_bool(struct wb *w, bool v);
int	 wb_u32(struct wb *w, uint32_t v);
int	 wb_u64(struct wb *w, uint64_t v);
int	 wb_string(struct wb *w, const void *p, size_t n);
int	 wb_cstring(struct wb *w, const char *s);
/* mpint from an unsigned big-endian magnitude (leading zeros stripped, a
 * zero byte prepended when the top bit is set). */
int	 wb_mpint(struct wb *w, const uint8_t *mag, size_t n);

static inline uint32_t
get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
