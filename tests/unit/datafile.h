/* A whole test data file in memory, for tests that feed recorded bytes. */
#ifndef FERRY_TESTS_DATAFILE_H
#define FERRY_TESTS_DATAFILE_H

#include <stddef.h>

/* path's bytes, NUL-terminated (the caller frees them); *len their
 * count. Fails the test if the file cannot be read. */
char	*datafile_read(const char *path, size_t *len);

#endif
