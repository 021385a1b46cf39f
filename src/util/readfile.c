/* Opening and reading whole small files for the key and host files. */
#include "readfile.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int
readfile_open(const char *path, int flags, struct stat *st, char *err,
    size_t errlen)
{
	int fd, oflags = O_RDONLY | O_CLOEXEC;

	if (flags & READFILE_NONBLOCK)
		oflags |= O_NOCTTY | O_NONBLOCK;
	if ((fd = open(path, oflags)) == -1) {
		if (((flags & READFILE_ABSENT_OK) && errno == ENOENT) ||
		    ((flags & READFILE_NOTDIR_ABSENT) && errno == ENOTDIR))
			return READFILE_ABSENT;
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((flags & READFILE_PRIVATE) && (st->st_mode & 077) != 0) {
		seterr(err, errlen, "bad permissions: %s is accessible by "
		    "others (mode 0%03o)", path, (unsigned)(st->st_mode & 0777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
readfile_read(int fd, const char *path, char *buf, size_t cap, size_t *len,
    char *err, size_t errlen)
{
	ssize_t n;

	*len = 0;
	while (*len < cap) {
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}
