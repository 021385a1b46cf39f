/* Whole small files read into memory (key files, authorized_keys,
 * known_hosts): the open, the checks on what was opened and the read loop;
 * how large a file may be and what a file that grows means stay with the
 * caller. */
#ifndef FERRY_UTIL_READFILE_H
#define FERRY_UTIL_READFILE_H

#include <sys/stat.h>

#include <stddef.h>

#define READFILE_ABSENT		(-2)

/* readfile_open flags. */
#define READFILE_ABSENT_OK	0x1	/* no such file: READFILE_ABSENT */
#define READFILE_NOTDIR_ABSENT	0x2	/* ... nor a directory on its path */
#define READFILE_NONBLOCK	0x4	/* a FIFO planted there must not hang */
#define READFILE_PRIVATE	0x8	/* refuse a file others may access */

/* Opens path read-only and checks that it is a regular file (and with
 * READFILE_PRIVATE that neither group nor others have any access to it,
 * as ssh requires of a private key: "bad permissions"). Returns the
 * descriptor with *st filled in; READFILE_ABSENT as flags allow; else -1
 * with err saying why, naming path. */
int	readfile_open(const char *path, int flags, struct stat *st, char *err,
	    size_t errlen);
/* Reads fd from where it is until end of file or cap bytes, whichever is
 * first, retrying on EINTR; *len is how much was read. Returns 0, or -1
 * with err naming path. */
int	readfile_read(int fd, const char *path, char *buf, size_t cap,
	    size_t *len, char *err, size_t errlen);

#endif
