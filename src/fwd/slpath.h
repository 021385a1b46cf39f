/* Where a peer's Unix-socket path lands on ferryd (StreamLocalDirectory).
 *
 * Every ferryd user is the same OS user, so the path rules are the only
 * thing between one user's sockets and another's. A path is first parsed
 * against the user's directory (a pure function, no file system), then
 * walked from that directory one component at a time with
 * openat(O_PATH|O_NOFOLLOW|O_DIRECTORY): a symlink or ".." never leads
 * out, and the socket's directory is held by a descriptor, so nothing
 * can swap it between the check and the bind, connect or unlink. */
#ifndef FERRY_FWD_SLPATH_H
#define FERRY_FWD_SLPATH_H

#include <stdbool.h>
#include <stddef.h>

#define SLPATH_MAX	256	/* a peer's path, with its NUL */
/* The socket's own name ("/" and it fill sun_path's 108 bytes) */
#define SLPATH_NAME_MAX	106
#define SLPATH_ROOT_MAX	1024	/* an expanded StreamLocalDirectory */

enum slpath_error {
	SLPATH_OK = 0,
	SLPATH_EMPTY = -1,
	SLPATH_TOO_LONG = -2,
	SLPATH_BAD_CHAR = -3,	/* a NUL or a control character */
	SLPATH_DOTDOT = -4,	/* ".." under a StreamLocalDirectory */
	SLPATH_OUTSIDE = -5,	/* absolute, and not inside the directory */
	SLPATH_RELATIVE = -6,	/* relative, and there is no directory */
	SLPATH_NOT_SOCKET = -7,	/* names a directory: "/", "x/", "x/.", the
				 * StreamLocalDirectory itself */
};

/* A parsed path: the directory part with empty and "." components
 * dropped, and the final component. Under a root, dir is relative to it
 * ("" is the root itself) and never holds ".."; without one it is
 * absolute ("/" at least) and ".." is left for the kernel to resolve. */
struct slpath {
	char	dir[SLPATH_MAX];
	char	name[SLPATH_NAME_MAX + 1];
};

/* Parses path (len bytes, NUL not required after them) as a peer sent
 * it, against root (the expanded StreamLocalDirectory: absolute; NULL
 * for "StreamLocalDirectory none"). Under a root a relative path is
 * inside it, an absolute one must start with root's components, and ".."
 * is refused; without one the path must be absolute. Returns SLPATH_OK
 * with out filled, or a negative enum slpath_error with a reason (which
 * never quotes path) in err. Never allocates, never reads past len. */
int	slpath_parse(const char *root, const char *path, size_t len,
	    struct slpath *out, char *err, size_t errlen);

/* Checks a StreamLocalDirectory value: "none", or a path whose only
 * tokens are %u (the user name) and %%. Returns 0 or -1 with err. */
int	slpath_check_template(const char *tmpl, char *err, size_t errlen);
/* The value with %u and %% expanded. Returns 0, or -1 with err (too
 * long, or a token slpath_check_template refuses). */
int	slpath_expand(const char *tmpl, const char *user, char *out,
	    size_t outlen, char *err, size_t errlen);

/* The file system side (Linux: /proc/self/fd names a held descriptor).
 *
 * slpath_root opens a user's directory (symlinks in the configured path
 * are the operator's and are followed) as an O_PATH descriptor, creating
 * it and missing parents 0700 when create is set. It must be a directory
 * owned by ferryd's uid and not writable by group or others. Returns the
 * descriptor or -1 with err. */
int	slpath_root(const char *root, bool create, char *err, size_t errlen);
/* The directory p's socket lives in, as an O_PATH descriptor: under
 * rootfd each component of p->dir is opened with O_NOFOLLOW, so a
 * symlink is refused; rootfd -1 (no directory): p->dir is opened as
 * given. Returns the descriptor or -1 with err. */
int	slpath_dir(int rootfd, const struct slpath *p, char *err,
	    size_t errlen);
/* The canonical path of name in the directory held by dirfd, for logs
 * and for telling two spellings of one socket apart. */
void	slpath_canon(int dirfd, const char *name, char *out, size_t outlen);
/* A path naming "name in dirfd" (name NULL: the file dirfd itself
 * holds), for connect(): connecting through the descriptor of a socket
 * checked with fstat reaches that very socket. Returns 0 or -1. */
int	slpath_fd_path(int dirfd, const char *name, char *out, size_t outlen);

#endif
