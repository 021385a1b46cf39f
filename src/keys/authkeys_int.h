/* Shared by the authorized_keys lookup (authkeys.c) and its options
 * parser (authkeys_opts.c). */
#ifndef FERRY_KEYS_AUTHKEYS_INT_H
#define FERRY_KEYS_AUTHKEYS_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "authkeys.h"

#define AK_WHY_MAX	512
#define AK_SHOW_MAX	64	/* how much of a bad token a message quotes */

/* One line's options while they are parsed; o is the caller's result
 * (not owned). */
struct ak_parse {
	struct ak_opts	*o;
	bool		 has_from;
	bool		 has_command;
	bool		 has_expiry;
	time_t		 expires;	/* earliest expiry-time= */
	char		 expiry[32];	/* as written, for the message */
	bool		 principals;
	bool		 cert_authority;
	char		 why[AK_WHY_MAX];
};

/* One lookup: what we search for and where problems go. cert is NULL for
 * a plain key; user is the login name (certificates only). */
struct ak_ctx {
	const char	*fname;
	const struct key *key;
	const struct cert *cert;
	const char	*user;
	const char	*client_ip;
	ak_warn_fn	 warn;
	void		*ud;
	int		 lineno;
};

/* Decides one line (without its newline): 1 if it lets the key or
 * certificate in, else 0. */
typedef int (*ak_line_fn)(struct ak_ctx *c, const char *line, size_t len,
    struct ak_opts *o);

static inline bool
ak_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* How much of an n-byte token a message quotes ("%.*s"). */
static inline int
ak_show_len(size_t n)
{
	return (int)(n > AK_SHOW_MAX ? AK_SHOW_MAX : n);
}

/* vsnprintf into buf, then anything that could pose as a new log line
 * made harmless. */
void	ak_vformat(char *buf, size_t len, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));
void	ak_report(struct ak_ctx *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	ak_opts_reset(struct ak_opts *o);
/* Every line of text through fn until one lets in (1); else 0. */
int	ak_scan_text(struct ak_ctx *c, const char *text, size_t len,
	    struct ak_opts *o, ak_line_fn fn);
/* The same for a file of at most 1 MiB: a missing file lets nobody in;
 * -1 with err when it exists but cannot be read. */
int	ak_scan_file(struct ak_ctx *c, const char *path, struct ak_opts *o,
	    ak_line_fn fn, char *err, size_t errlen);
/* Whether the line's expiry-time= and from= let the client in now
 * (reported through c when not). */
bool	ak_line_allows(struct ak_ctx *c, const struct ak_parse *p);
/* Parses the comma-separated options at s, into p. Returns where they end
 * (at a blank or the end of the line), or NULL with p->why. Never reads
 * at or past end. */
const char *ak_parse_options(struct ak_parse *p, const char *s,
	    const char *end);

#endif
