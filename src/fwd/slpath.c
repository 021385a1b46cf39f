/* Where a peer's Unix-socket path lands on ferryd. */
#include "slpath.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/err.h"

/* The next component of s[0..len) from *pos, skipping empty ones and
 * "."; returns false at the end. */
static bool
next_comp(const char *s, size_t len, size_t *pos, const char **c,
    size_t *clen)
{
	size_t i = *pos, j;

	for (;;) {
		while (i < len && s[i] == '/')
			i++;
		if (i == len) {
			*pos = i;
			return false;
		}
		for (j = i; j < len && s[j] != '/'; j++)
			;
		if (!(j - i == 1 && s[i] == '.')) {
			*c = s + i;
			*clen = j - i;
			*pos = j;
			return true;
		}
		i = j;
	}
}

static bool
is_dotdot(const char *c, size_t n)
{
	return n == 2 && c[0] == '.' && c[1] == '.';
}

/* Appends a component to dir (with a '/' before it unless dir is empty
 * or ends with one). */
static int
append(char *dir, size_t size, const char *c, size_t n)
{
	size_t l = strlen(dir);
	bool slash = l > 0 && dir[l - 1] != '/';

	if (l + slash + n + 1 > size)
		return -1;
	if (slash)
		dir[l++] = '/';
	memcpy(dir + l, c, n);
	dir[l + n] = '\0';
	return 0;
}

int
slpath_parse(const char *root, const char *path, size_t len,
    struct slpath *out, char *err, size_t errlen)
{
	const char *c = NULL, *rc, *last = NULL;
	size_t i, pos = 0, rpos = 0, n = 0, rn, lastn = 0;
	bool absolute;

	out->dir[0] = '\0';
	out->name[0] = '\0';
	if (len == 0) {
		seterr(err, errlen, "the path is empty");
		return SLPATH_EMPTY;
	}
	if (len >= SLPATH_MAX) {
		seterr(err, errlen, "the path is longer than %d bytes",
		    SLPATH_MAX - 1);
		return SLPATH_TOO_LONG;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)path[i] < ' ' || path[i] == 0x7f) {
			seterr(err, errlen, "the path holds a control "
			    "character or a NUL");
			return SLPATH_BAD_CHAR;
		}
	/* "x/" and "x/." name a directory, never a socket */
	if (path[len - 1] == '/' || (path[len - 1] == '.' && (len == 1 ||
	    path[len - 2] == '/'))) {
		seterr(err, errlen, "the path names a directory, not a socket");
		return SLPATH_NOT_SOCKET;
	}
	absolute = path[0] == '/';
	if (root == NULL && !absolute) {
		seterr(err, errlen, "a relative path needs a "
		    "StreamLocalDirectory (it is none here)");
		return SLPATH_RELATIVE;
	}
	if (root != NULL) {
		while (next_comp(path, len, &pos, &c, &n))
			if (is_dotdot(c, n)) {
				seterr(err, errlen, "\"..\" is not allowed in "
				    "a socket path");
				return SLPATH_DOTDOT;
			}
		pos = 0;
		/* an absolute path starts with the root's components */
		while (absolute &&
		    next_comp(root, strlen(root), &rpos, &rc, &rn))
			if (!next_comp(path, len, &pos, &c, &n) || n != rn ||
			    memcmp(c, rc, n) != 0) {
				seterr(err, errlen, "the path is outside this "
				    "user's StreamLocalDirectory %.900s", root);
				return SLPATH_OUTSIDE;
			}
	} else
		append(out->dir, sizeof(out->dir), "/", 1);
	while (next_comp(path, len, &pos, &c, &n)) {
		if (last != NULL && append(out->dir, sizeof(out->dir), last,
		    lastn) != 0)
			goto long_path;
		last = c;
		lastn = n;
	}
	if (last == NULL || is_dotdot(last, lastn)) {
		out->dir[0] = '\0';
		seterr(err, errlen, "the path names a directory, not a socket");
		return SLPATH_NOT_SOCKET;
	}
	if (lastn > SLPATH_NAME_MAX) {
		out->dir[0] = '\0';
		seterr(err, errlen, "the socket's name is longer than %d bytes",
		    SLPATH_NAME_MAX);
		return SLPATH_TOO_LONG;
	}
	memcpy(out->name, last, lastn);
	out->name[lastn] = '\0';
	return SLPATH_OK;
long_path:
	out->dir[0] = '\0';
	seterr(err, errlen, "the path is too long");
	return SLPATH_TOO_LONG;
}

/* Expands tmpl into out (NULL: only checks it). */
static int
expand(const char *tmpl, const char *user, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char *p;
	size_t o = 0, n;

	for (p = tmpl; *p != '\0'; p++) {
		const char *s = p;

		n = 1;
		if (*p == '%') {
			if (p[1] == 'u') {
				s = user;
				n = strlen(user);
			} else if (p[1] != '%') {
				seterr(err, errlen, "unknown token %%%c (only "
				    "%%u and %%%% are known)", p[1] ?
				    p[1] : ' ');
				return -1;
			}
			p++;
		}
		if (out == NULL)
			continue;
		if (o + n + 1 > outlen) {
			seterr(err, errlen, "the directory is longer than "
			    "%zu bytes", outlen - 1);
			return -1;
		}
		memcpy(out + o, s, n);
		o += n;
	}
	if (out != NULL)
		out[o] = '\0';
	return 0;
}

int
slpath_check_template(const char *tmpl, char *err, size_t errlen)
{
	if (strcasecmp(tmpl, "none") == 0)
		return 0;
	return expand(tmpl, "", NULL, 0, err, errlen);
}

int
slpath_expand(const char *tmpl, const char *user, char *out, size_t outlen,
    char *err, size_t errlen)
{
	return expand(tmpl, user, out, outlen, err, errlen);
}

/* Opens root, creating each missing component 0700. */
static int
make_dirs(const char *root, char *err, size_t errlen)
{
	char comp[256];
	const char *c;
	size_t pos = 0, n;
	int fd, next;

	fd = open(root[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY |
	    O_CLOEXEC);
	while (fd >= 0 && next_comp(root, strlen(root), &pos, &c, &n)) {
		if (n >= sizeof(comp)) {
			close(fd);
			errno = ENAMETOOLONG;
			fd = -1;
			break;
		}
		memcpy(comp, c, n);
		comp[n] = '\0';
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && (mkdirat(fd, comp, 0700) ==
		    0 || errno == EEXIST))
			next = openat(fd, comp, O_PATH | O_DIRECTORY |
			    O_CLOEXEC);
		close(fd);
		fd = next;
	}
	if (fd < 0)
		seterr(err, errlen, "StreamLocalDirectory %.900s cannot be "
		    "created: %s", root, strerror(errno));
	return fd;
}

int
slpath_root(const char *root, bool create, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create)
		fd = make_dirs(root, err, errlen);
	else if (fd < 0)
		seterr(err, errlen, "StreamLocalDirectory %.900s: %s", root,
		    strerror(errno));
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "StreamLocalDirectory %.900s: %s", root,
		    strerror(errno));
		goto bad;
	}
	if (st.st_uid != geteuid()) {
		seterr(err, errlen, "StreamLocalDirectory %.900s is owned by "
		    "uid %u, not by ferryd's uid %u", root,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		goto bad;
	}
	if ((st.st_mode & 022) != 0) {
		seterr(err, errlen, "StreamLocalDirectory %.900s is writable "
		    "by group or others (mode %04o)", root,
		    (unsigned)(st.st_mode & 07777));
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

int
slpath_dir(int rootfd, const struct slpath *p, char *err, size_t errlen)
{
	char comp[SLPATH_MAX];
	struct stat st;
	const char *c;
	size_t pos = 0, n;
	int fd, next;

	if (rootfd < 0) {
		if ((fd = open(p->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			seterr(err, errlen, "directory %.200s: %s", p->dir,
			    strerror(errno));
		return fd;
	}
	if ((fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		seterr(err, errlen, "StreamLocalDirectory: %s",
		    strerror(errno));
		return -1;
	}
	while (next_comp(p->dir, strlen(p->dir), &pos, &c, &n)) {
		memcpy(comp, c, n);
		comp[n] = '\0';
		next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY |
		    O_CLOEXEC);
		if (next < 0) {
			if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				seterr(err, errlen, "%.*s is a symbolic link; "
				    "it is not followed", (int)(c - p->dir + n),
				    p->dir);
			else
				seterr(err, errlen, "directory %.*s: %s",
				    (int)(c - p->dir + n), p->dir,
				    strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

int
slpath_fd_path(int dirfd, const char *name, char *out, size_t outlen)
{
	int n;

	if (name != NULL)
		n = snprintf(out, outlen, "/proc/self/fd/%d/%s", dirfd, name);
	else
		n = snprintf(out, outlen, "/proc/self/fd/%d", dirfd);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void
slpath_canon(int dirfd, const char *name, char *out, size_t outlen)
{
	char link[64];
	ssize_t n;

	if (slpath_fd_path(dirfd, NULL, link, sizeof(link)) != 0 ||
	    (n = readlink(link, out, outlen - 1)) < 0 ||
	    (size_t)n >= outlen - 1) {
		snprintf(out, outlen, "?/%s", name);
		return;
	}
	out[n] = '\0';
	snprintf(out + n, outlen - (size_t)n, "%s%s", n == 1 && out[0] == '/' ?
	    "" : "/", name);
}
