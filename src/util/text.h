/* Text into a growing buffer: formatted output and JSON strings (status
 * and metrics). */
#ifndef FERRY_UTIL_TEXT_H
#define FERRY_UTIL_TEXT_H

#include "ssh/buf.h"

void	wb_printf(struct wb *w, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal, quotes included. */
void	wb_json_str(struct wb *w, const char *s);
/* s as a Prometheus label value (quotes included). */
void	wb_label_str(struct wb *w, const char *s);

#endif
