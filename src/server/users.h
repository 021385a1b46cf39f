/* AllowUsers and DenyUsers as sshd_config(5) reads them: each word a
 * pattern of the user name ('*', '?', case-sensitive), or USER@HOST
 * where HOST is a comma-separated list of address patterns and
 * address/masklen entries, '!' negating one. ferryd resolves no names,
 * so HOST is matched against the client's address. */
#ifndef FERRY_SERVER_USERS_H
#define FERRY_SERVER_USERS_H

#include <stdbool.h>
#include <stddef.h>

/* Whether one AllowUsers/DenyUsers word is well-formed: 0, or -1 with
 * the reason in why (a bad address/masklen). */
int	users_pattern_check(const char *pat, char *why, size_t whylen);
/* Whether user connecting from ip matches the word pat. */
bool	users_pattern_match(const char *pat, const char *user,
	    const char *ip);

enum users_verdict {
	USERS_ALLOWED,
	USERS_DENIED,		/* listed in DenyUsers */
	USERS_NOT_ALLOWED,	/* AllowUsers given, not listed */
};

/* sshd's order: DenyUsers first, then AllowUsers (none given: anyone). */
enum users_verdict users_check(char *const *allow, int nallow,
	    char *const *deny, int ndeny, const char *user, const char *ip);

#endif
