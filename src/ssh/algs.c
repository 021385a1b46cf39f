/* Name-list negotiation (RFC 4253 §7.1): the client's order decides. */
#include "ssh_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/match.h"

const char ssh_kex_default[] =
    "curve25519-sha256,curve25519-sha256@libssh.org";
const char ssh_hostkey_default[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256";
const char ssh_pubkey_default[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256";
/* OpenSSH's compression_alg_list(): without Compression yes a client
 * still accepts compression a server insists on. */
const char ssh_comp_all[] = SSH_COMP_ZLIB_DELAYED "," SSH_COMP_NONE;
const char ssh_comp_yes[] = SSH_COMP_ZLIB_DELAYED "," SSH_COMP_NONE;
const char ssh_comp_no[] = SSH_COMP_NONE "," SSH_COMP_ZLIB_DELAYED;

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

bool
ssh_algs_has(const char *list, const char *name)
{
	return algs_has((const uint8_t *)list, strlen(list), name);
}

/* Whether name (NUL-terminated) is matched by the pattern p[0..n): an
 * exact name, or one with '*' and '?'. */
static bool
alg_matches(const char *p, size_t n, const char *name)
{
	if (memchr(p, '*', n) == NULL && memchr(p, '?', n) == NULL)
		return strlen(name) == n && memcmp(p, name, n) == 0;
	return match_glob(p, n, name);
}

/* Calls fn for each name of a comma-separated list until it returns
 * nonzero; returns that value, or 0. */
static int
each_name(const char *list, int (*fn)(const char *p, size_t n, void *ud),
    void *ud)
{
	const char *e;
	int r;

	for (;;) {
		e = strchr(list, ',');
		if ((r = fn(list, e != NULL ? (size_t)(e - list) :
		    strlen(list), ud)) != 0)
			return r;
		if (e == NULL)
			return 0;
		list = e + 1;
	}
}

struct assemble {
	const char	*all;
	const char	*patterns;	/* "-": what to remove */
	char		*out;		/* room for strlen(all) + 1 */
	char		*bad;
	size_t		 badlen;
};

static void
append(char *out, const char *p, size_t n)
{
	size_t o = strlen(out);

	if (o > 0)
		out[o++] = ',';
	memcpy(out + o, p, n);
	out[o + n] = '\0';
}

/* Copies the name p[0..n) into out, NUL-terminated; false if it is empty
 * or does not fit (no algorithm has such a name). */
static bool
name_copy(const char *p, size_t n, char *out, size_t outlen)
{
	if (n == 0 || n >= outlen)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* A pattern of an explicit, "+" or "^" list and what it matched. */
struct pattern {
	const char	*p;
	size_t		 n;
	char		*out;
	bool		 found;
};

/* One name of all: kept when the pattern matches it and it is not there
 * yet. */
static int
add_if(const char *p, size_t n, void *ud)
{
	struct pattern *pat = ud;
	char name[128];

	if (!name_copy(p, n, name, sizeof(name)))
		return 0;
	if (alg_matches(pat->p, pat->n, name)) {
		pat->found = true;
		if (!ssh_algs_has(pat->out, name))
			append(pat->out, p, n);
	}
	return 0;
}

/* Every name of all a pattern matches, in all's order; a pattern that
 * matches nothing (or is negated, as sshd refuses) is an error. */
static int
add_pattern(const char *p, size_t n, void *ud)
{
	struct assemble *a = ud;
	struct pattern pat = { p, n, a->out, false };

	if (n > 0 && p[0] != '!')
		each_name(a->all, add_if, &pat);
	if (!pat.found) {
		snprintf(a->bad, a->badlen, "%.*s", (int)n, p);
		return -1;
	}
	return 0;
}

static int
matches_any(const char *p, size_t n, void *ud)
{
	const char *name = ud;

	return n > 0 && alg_matches(p, n, name);
}

/* One name of the default list: kept unless a "-" pattern matches it. */
static int
keep_unless_removed(const char *p, size_t n, void *ud)
{
	struct assemble *a = ud;
	char name[128];

	if (!name_copy(p, n, name, sizeof(name)))
		return 0;
	if (!each_name(a->patterns, matches_any, name))
		append(a->out, p, n);
	return 0;
}

int
ssh_algs_assemble(const char *spec, const char *def, const char *all,
    char **out, char *bad, size_t badlen)
{
	struct assemble a;
	char *joined = NULL;
	int r = 0;

	*out = NULL;
	snprintf(bad, badlen, "%s", "");
	memset(&a, 0, sizeof(a));
	a.all = all;
	a.bad = bad;
	a.badlen = badlen;
	if ((a.out = calloc(1, strlen(all) + strlen(def) + 2)) == NULL) {
		snprintf(bad, badlen, "out of memory");
		return -1;
	}
	if (spec[0] == '-') {
		a.patterns = spec + 1;
		each_name(def, keep_unless_removed, &a);
	} else {
		if (spec[0] == '+' && asprintf(&joined, "%s,%s", def,
		    spec + 1) == -1)
			joined = NULL, r = -1;
		else if (spec[0] == '^' && asprintf(&joined, "%s,%s", spec + 1,
		    def) == -1)
			joined = NULL, r = -1;
		if (r != 0)
			snprintf(bad, badlen, "out of memory");
		else
			r = each_name(joined != NULL ? joined : spec,
			    add_pattern, &a);
	}
	free(joined);
	if (r == 0 && a.out[0] == '\0')
		r = -1;		/* nothing left: bad stays "" */
	if (r != 0) {
		free(a.out);
		return -1;
	}
	*out = a.out;
	return 0;
}
