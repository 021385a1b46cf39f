/* Text into a growing buffer: formatted output and JSON strings (status
 * and metrics). */
#ifndef FERRY_UTIL_TEXT_H
#define FERRY_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "ssh/buf.h"

void	wb_printf(struct wb *w, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal, quotes included. */
void	wb_json_str(struct wb *w, const char *s);
/* ,"name":s for the next member of an object; name is written as given
 * (the caller's literal), s as wb_json_str writes it. */
void	wb_json_member(struct wb *w, const char *name, const char *s);
/* s as a Prometheus label value (quotes included). */
void	wb_label_str(struct wb *w, const char *s);
/* Text a peer chose, made safe for a log line or a terminal: printable
 * UTF-8 is kept; control characters (C0, DEL, C1) and bytes that are not
 * UTF-8 become \n \r \t or \xHH. With keep_lines, newline and tab stay.
 * Truncates to fit; always NUL-terminates (outlen > 0); returns the
 * length written. */
size_t	text_safe(char *out, size_t outlen, const char *in, bool keep_lines);

#endif
