/* Name-list negotiation (RFC 4253 §7.1): the client's order decides. */
#include "ssh_int.h"

#include <stdio.h>
#include <string.h>

bool
algs_has(const uint8_t *list, size_t len, const char *name)
{
	size_t n = strlen(name), i = 0, j;

	while (i <= len) {
		for (j = i; j < len && list[j] != ','; j++)
			;
		if (j - i == n && memcmp(list + i, name, n) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

int
algs_choose(const uint8_t *cl, size_t cllen, const uint8_t *sl, size_t sllen,
    char *out, size_t outlen)
{
	size_t i = 0, j;

	while (i < cllen) {
		for (j = i; j < cllen && cl[j] != ','; j++)
			;
		if (j > i && j - i < outlen && memchr(cl + i, '\0',
		    j - i) == NULL) {
			memcpy(out, cl + i, j - i);
			out[j - i] = '\0';
			if (algs_has(sl, sllen, out))
				return 0;
		}
		i = j + 1;
	}
	return -1;
}

int
ssh_algs_validate(const char *list, const char *supported, char *bad,
    size_t badlen)
{
	const char *p = list, *e;
	size_t n;
	int pos = 0;

	if (*list == '\0') {
		snprintf(bad, badlen, "(empty list)");
		return 0;
	}
	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || n >= badlen) {
			snprintf(bad, badlen, "%.*s", (int)(n < badlen ? n :
			    badlen - 1), p);
			return pos;
		}
		memcpy(bad, p, n);
		bad[n] = '\0';
		if (!algs_has((const uint8_t *)supported, strlen(supported),
		    bad))
			return pos;
		if (e == NULL)
			break;
		p = e + 1;
		pos++;
	}
	return -1;
}
