/* Glob matching for known_hosts and authorized_keys patterns. */
#include "match.h"

#include <ctype.h>
#include <string.h>

static bool
same(char a, char b, bool fold)
{
	return fold ? tolower((unsigned char)a) == tolower((unsigned char)b) :
	    a == b;
}

static bool
glob(const char *pat, size_t plen, const char *str, bool fold)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
	size_t slen = strlen(str);

	while (si < slen) {
		if (pi < plen && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && (pat[pi] == '?' ||
		    same(pat[pi], str[si], fold))) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else
			return false;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

bool
match_glob(const char *pat, size_t plen, const char *str)
{
	return glob(pat, plen, str, true);
}

bool
match_glob_case(const char *pat, const char *str)
{
	return glob(pat, strlen(pat), str, false);
}
