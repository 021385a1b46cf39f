/* The error text parsers hand back: err may be NULL or empty (the caller
 * does not want the reason). */
#ifndef FERRY_UTIL_ERR_H
#define FERRY_UTIL_ERR_H

#include <stddef.h>

void	seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
