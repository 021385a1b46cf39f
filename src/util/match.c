/* Glob matching for known_hosts and authorized_keys patterns. */
#include "match.h"

#include <ctype.h>
#include <string.h>

bool
match_glob(const char *pat, size_t plen, const char *str)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
	size_t slen = strlen(str);

	while (si < slen) {
		if (pi < plen && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && (pat[pi] == '?' ||
		    tolower((unsigned char)pat[pi]) ==
		    tolower((unsigned char)str[si]))) {
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
