/* The tokenizer shared by ferry's and ferryd's config files: one line split
 * into a keyword and its arguments with OpenSSH's rules (readconf.c's
 * strdelim for the keyword, misc.c's argv_split for the rest).
 *
 * - leading and trailing white space (space, tab, CR, LF, FF) is dropped;
 * - the keyword ends at white space or '='; one '=' with white space around
 *   it may separate it from the arguments ("Port=22", "Port = 22");
 * - a '#' where an argument would start ends the line (a comment);
 *   inside an argument it is an ordinary character;
 * - arguments are separated by spaces and tabs; "double" or 'single' quotes
 *   group (and are removed); a backslash escapes a quote, a backslash and,
 *   outside quotes, a space; any other backslash is kept as it is.
 *
 * Contract: cfgtok_split works in place on a NUL-terminated line it may
 * rewrite, never allocates and never reads past the terminating NUL; the
 * keyword and argument pointers point into the line. */
#ifndef FERRY_UTIL_CFGTOK_H
#define FERRY_UTIL_CFGTOK_H

#include <stddef.h>

#define CFGTOK_MAX_ARGS		256

struct cfgtok_line {
	char	*keyword;		/* NULL for a blank or comment line */
	char	*args[CFGTOK_MAX_ARGS];
	int	 nargs;
	/* where the arguments start, as an offset into the line: in an
	 * unsplit copy of the line, the arguments as written (OpenSSH keeps
	 * ProxyCommand and the other commands so, quotes and all) */
	size_t	 rest;
};

enum cfgtok_result {
	CFGTOK_EMPTY = 0,		/* blank line or comment */
	CFGTOK_LINE = 1,		/* keyword and at least one argument */
	CFGTOK_NOARG = -1,		/* keyword without an argument */
	CFGTOK_QUOTES = -2,		/* a quote is not closed */
	CFGTOK_TOOMANY = -3,		/* more than CFGTOK_MAX_ARGS arguments */
};

/* Splits line in place into out. Returns a cfgtok_result. */
int		 cfgtok_split(char *line, struct cfgtok_line *out);
/* The arguments as written: raw (an unsplit copy of a line split into
 * tl) from tl->rest, trailing white space dropped, into out. Returns 0,
 * or -1 if it does not fit. */
int		 cfgtok_rest(const char *raw, const struct cfgtok_line *tl,
		    char *out, size_t outlen);
/* A short English reason for a negative result ("invalid quotes"). */
const char	*cfgtok_strerror(int result);

#endif
