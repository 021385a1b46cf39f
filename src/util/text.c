/* Text into a growing buffer. */
#include "text.h"

#include <stdarg.h>
#include <stdbool.h>
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

/* The length of the valid UTF-8 sequence at p (1-4), or 0 if p does not
 * start one (overlong forms, surrogates and values past U+10FFFF are not
 * valid). */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Text for JSON and labels: valid UTF-8 is kept, anything else becomes
 * U+FFFD, so the output is valid whatever bytes a name held. */
void
wb_json_str(struct wb *w, const char *s)
{
	const unsigned char *p;
	char esc[8];
	size_t n;

	wb_put(w, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			wb_put(w, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			wb_put(w, esc, 6);
		} else if ((n = utf8_len(p)) == 0) {
			wb_put(w, "\\ufffd", 6);
			n = 1;
		} else
			wb_put(w, p, n);
	}
	wb_put(w, "\"", 1);
}

void
wb_json_member(struct wb *w, const char *name, const char *s)
{
	wb_printf(w, ",\"%s\":", name);
	wb_json_str(w, s);
}

/* Prometheus label values escape only \\, \" and newline: other control
 * characters and bytes that are not UTF-8 become '?'. */
void
wb_label_str(struct wb *w, const char *s)
{
	const unsigned char *p;
	size_t n;

	wb_put(w, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		if (*p == '"' || *p == '\\') {
			wb_put(w, "\\", 1);
			wb_put(w, p, 1);
		} else if (*p == '\n')
			wb_put(w, "\\n", 2);
		else if (*p < 0x20 || *p == 0x7f)
			wb_put(w, "?", 1);
		else if ((n = utf8_len(p)) == 0) {
			wb_put(w, "?", 1);
			n = 1;
		} else
			wb_put(w, p, n);
	}
	wb_put(w, "\"", 1);
}

/* One escape for a byte that must not reach a log or a terminal as is. */
static size_t
escape_byte(char *out, unsigned char b)
{
	switch (b) {
	case '\n': memcpy(out, "\\n", 2); return 2;
	case '\r': memcpy(out, "\\r", 2); return 2;
	case '\t': memcpy(out, "\\t", 2); return 2;
	default:
		out[0] = '\\';
		out[1] = 'x';
		out[2] = "0123456789abcdef"[b >> 4];
		out[3] = "0123456789abcdef"[b & 0xf];
		return 4;
	}
}

size_t
text_safe(char *out, size_t outlen, const char *in, bool keep_lines)
{
	const unsigned char *p = (const unsigned char *)in;
	const char *src;
	char esc[4];
	size_t o = 0, n, m;

	if (outlen == 0)
		return 0;
	for (; *p != '\0'; p += n) {
		n = m = utf8_len(p);
		src = (const char *)p;
		/* C0 controls and DEL, bytes that are not UTF-8, and C1
		 * controls (0xc2 0x80-0x9f: a terminal's CSI) */
		if ((n == 1 && (*p < 0x20 || *p == 0x7f) && !(keep_lines &&
		    (*p == '\n' || *p == '\t'))) || n == 0 ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			m = escape_byte(esc, *p);
			src = esc;
			n = 1;
		}
		if (o + m >= outlen)
			break;
		memcpy(out + o, src, m);
		o += m;
	}
	out[o] = '\0';
	return o;
}
