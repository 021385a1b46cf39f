/* Text into a growing buffer. */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
wb_printf(struct wb *w, const char *fmt, ...)
{
	va_list ap;
	char small[512], *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->err = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		wb_put(w, small, (size_t)n);
		return;
	}
	if ((p = (char *)wb_reserve(w, (size_t)n + 1)) == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
}

void
wb_json_str(struct wb *w, const char *s)
{
	const unsigned char *p;
	char esc[8];

	wb_put(w, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			wb_put(w, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			wb_put(w, esc, 6);
		} else
			wb_put(w, p, 1);
	}
	wb_put(w, "\"", 1);
}

void
wb_label_str(struct wb *w, const char *s)
{
	const char *p;

	wb_put(w, "\"", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			wb_put(w, "\\", 1);
		if (*p == '\n') {
			wb_put(w, "\\n", 2);
			continue;
		}
		wb_put(w, p, 1);
	}
	wb_put(w, "\"", 1);
}
