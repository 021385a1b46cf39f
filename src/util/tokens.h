/* ssh_config(5) TOKENS and tilde expansion, shared by ferry and ferryd.
 *
 * A token table maps letters to values: "%h" becomes the value of 'h',
 * "%%" a percent. A letter the table lacks, or a lone '%' at the end, is an
 * error (ssh: "unknown key %x"). A NULL value is an error too (the token is
 * not available for this keyword).
 *
 * Contract: the expanders write a NUL-terminated result into out (outlen
 * bytes), never allocate, never read past the input's NUL, and return the
 * result's length, or -1 with a message in err (too long, unknown token). */
#ifndef FERRY_UTIL_TOKENS_H
#define FERRY_UTIL_TOKENS_H

#include <stddef.h>

#define TOKENS_MAX	16

struct tokens {
	char		 key[TOKENS_MAX];
	const char	*val[TOKENS_MAX];
	int		 n;
};

/* Empties t. */
void	tokens_init(struct tokens *t);
/* Adds (or replaces) the value of %key. val is borrowed, not copied. */
void	tokens_set(struct tokens *t, char key, const char *val);
/* Expands the %-tokens of in. */
int	tokens_expand(const char *in, const struct tokens *t, char *out,
	    size_t outlen, char *err, size_t errlen);
/* "~" and "~/x" become home and home/x; "~user/x" user's home from the
 * password database. Anything else is copied. */
int	tokens_tilde(const char *in, const char *home, char *out,
	    size_t outlen, char *err, size_t errlen);
/* %C: the hex SHA-1 of the concatenation l h p r (ssh's connection hash).
 * out gets 41 bytes. */
int	tokens_conn_hash(const char *l, const char *h, const char *p,
	    const char *r, char out[41]);

#endif
