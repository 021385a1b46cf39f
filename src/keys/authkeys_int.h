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
	char		 why[AK_WHY_MAX];
};

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
/* Parses the comma-separated options at s, into p. Returns where they end
 * (at a blank or the end of the line), or NULL with p->why. Never reads
 * at or past end. */
const char *ak_parse_options(struct ak_parse *p, const char *s,
	    const char *end);

#endif
