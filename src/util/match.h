/* Shell-style patterns for host names and key options. */
#ifndef FERRY_UTIL_MATCH_H
#define FERRY_UTIL_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Case-insensitive glob with '*' and '?' over the first plen bytes of
 * pat. Iterative with one backtrack point, so hostile patterns cost
 * O(len(pat) * len(str)), not exponential time. */
bool	match_glob(const char *pat, size_t plen, const char *str);
/* The same, case-sensitive (user names), over all of pat. */
bool	match_glob_case(const char *pat, const char *str);

#endif
