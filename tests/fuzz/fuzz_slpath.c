/* libFuzzer target: the StreamLocalDirectory path rules (fwd/slpath.h), fed
 * by peers (streamlocal-forward, direct-streamlocal) and by the config.
 * Input: a root, a NUL, then the peer's path; no NUL means no root
 * ("StreamLocalDirectory none"); an empty root also means none. The
 * result must obey the header's contract, and parsing what it says again
 * (absolute and relative to the root) must give the same result. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/slpath.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_out(const char *root, const struct slpath *p)
{
	const char *d = p->dir;
	size_t n = strlen(p->name);

	if (n == 0 || n > SLPATH_NAME_MAX || strchr(p->name, '/') != NULL ||
	    strcmp(p->name, ".") == 0 || strcmp(p->name, "..") == 0)
		abort();
	if (root == NULL ? d[0] != '/' : d[0] == '/')
		abort();
	if (strcmp(d, "/") == 0)
		return;
	/* components: none empty or ".", and ".." only without a root */
	for (d += d[0] == '/'; ; d += n + 1) {
		n = strcspn(d, "/");
		if (n == 0 && *d == '\0' && d == p->dir)
			return;		/* "": the root itself */
		if (n == 0 || (n == 1 && d[0] == '.') ||
		    (root != NULL && n == 2 && d[0] == '.' && d[1] == '.'))
			abort();
		if (d[n] == '\0')
			return;
	}
}

static void
again(const char *root, const struct slpath *p, const char *spelled)
{
	struct slpath q;
	char err[128];

	if (slpath_parse(root, spelled, strlen(spelled), &q, err,
	    sizeof(err)) != SLPATH_OK || strcmp(q.dir, p->dir) != 0 ||
	    strcmp(q.name, p->name) != 0)
		abort();
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[4 * SLPATH_ROOT_MAX];
	char root[SLPATH_ROOT_MAX], re[2 * SLPATH_ROOT_MAX], err[200];
	const char *nul = memchr(data, '\0', size), *path = (const char *)data,
	    *r = NULL;
	struct slpath p;
	size_t len = size;
	int rc;

	if (nul != NULL) {
		if ((size_t)(nul - path) >= sizeof(root))
			return 0;
		memcpy(root, data, (size_t)(nul - path));
		root[nul - path] = '\0';
		r = root[0] != '\0' ? root : NULL;
		path = nul + 1;
		len = size - (size_t)(nul - (const char *)data) - 1;
	}
	/* a copy of exactly len bytes, so ASan sees any read past them */
	if (len > sizeof(buf))
		return 0;
	memcpy(buf + sizeof(buf) - len, path, len);
	path = buf + sizeof(buf) - len;
	memset(err, 'x', sizeof(err));
	rc = slpath_parse(r, path, len, &p, err, sizeof(err));
	if (rc > 0 || rc < SLPATH_NOT_SOCKET)
		abort();
	if (rc != SLPATH_OK) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	check_out(r, &p);
	if (r == NULL) {
		snprintf(re, sizeof(re), "%s/%s", p.dir, p.name);
		again(NULL, &p, re);
		return 0;
	}
	/* the same socket spelled relative, and absolute under the root */
	snprintf(re, sizeof(re), "%s%s%s", p.dir, p.dir[0] ? "/" : "",
	    p.name);
	if (re[0] != '/' && strlen(re) < SLPATH_MAX)
		again(r, &p, re);
	/* (a root with control characters, say from a user name, can only
	 * be reached by relative paths) */
	if (r[0] == '/' && strstr(r, "..") == NULL && printable(r) &&
	    snprintf(re, sizeof(re),
	    "%s/%s%s%s", r, p.dir, p.dir[0] ? "/" : "", p.name) > 0 &&
	    strlen(re) < SLPATH_MAX)
		again(r, &p, re);
	(void)slpath_check_template(r, err, sizeof(err));
	return 0;
}
