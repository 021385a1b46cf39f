/* Unit tests for util/readfile.c: what counts as absent, the checks on
 * what was opened (regular file, private mode, a FIFO that must not hang)
 * and reading up to a cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/readfile.h"

static char dir[64], file[128];

static int
setup(void **state)
{
	FILE *fp;

	snprintf(dir, sizeof(dir), "/tmp/ferry-readfile.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/f", dir);
	if ((fp = fopen(file, "w")) == NULL)
		return -1;
	fputs("0123456789", fp);
	fclose(fp);
	return chmod(file, 0600);
}

static int
teardown(void **state)
{
	char fifo[160];

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	unlink(fifo);
	unlink(file);
	return rmdir(dir);
}

static void
test_absent(void **state)
{
	struct stat st;
	char path[160], err[256];

	snprintf(path, sizeof(path), "%s/none", dir);
	err[0] = '\0';
	assert_int_equal(readfile_open(path, 0, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	err[0] = '\0';
	assert_int_equal(readfile_open(path, READFILE_ABSENT_OK, &st, err,
	    sizeof(err)), READFILE_ABSENT);
	assert_string_equal(err, "");

	/* A path through a regular file: absent only if asked. */
	snprintf(path, sizeof(path), "%s/f/x", dir);
	assert_int_equal(readfile_open(path, READFILE_ABSENT_OK, &st, err,
	    sizeof(err)), -1);
	assert_int_equal(readfile_open(path, READFILE_ABSENT_OK |
	    READFILE_NOTDIR_ABSENT, &st, err, sizeof(err)), READFILE_ABSENT);
}

static void
test_not_regular(void **state)
{
	struct stat st;
	char fifo[160], err[256];

	err[0] = '\0';
	assert_int_equal(readfile_open(dir, 0, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	/* Opened without blocking for a writer, then refused. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	err[0] = '\0';
	assert_int_equal(readfile_open(fifo, READFILE_NONBLOCK, &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

static void
test_private(void **state)
{
	struct stat st;
	char err[256];
	int fd;

	fd = readfile_open(file, READFILE_PRIVATE, &st, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(st.st_size, 10);
	close(fd);

	assert_int_equal(chmod(file, 0640), 0);
	err[0] = '\0';
	assert_int_equal(readfile_open(file, READFILE_PRIVATE, &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad permissions"));
	assert_non_null(strstr(err, "0640"));
	fd = readfile_open(file, 0, &st, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(file, 0600), 0);
}

static void
test_read_cap(void **state)
{
	struct stat st;
	char buf[32], err[256];
	size_t len;
	int fd;

	fd = readfile_open(file, 0, &st, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(readfile_read(fd, file, buf, 4, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "0123", 4);
	/* The rest, then end of file before the cap. */
	assert_int_equal(readfile_read(fd, file, buf, sizeof(buf), &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "456789", 6);
	close(fd);

	/* A read error (a directory: EISDIR) names the file. */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	err[0] = '\0';
	assert_int_equal(readfile_read(fd, dir, buf, sizeof(buf), &len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_private),
		cmocka_unit_test(test_read_cap),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
