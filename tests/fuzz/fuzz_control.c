/* libFuzzer target: the control socket's request line and its
 * multiplexing packets (OpenSSH's protocol), and the escaping
 * of text that status puts into JSON and Prometheus labels (host names
 * and forward specs come from config files and the control socket). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/ctlproto.h"
#include "fwd/muxproto.h"
#include "util/text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether p[0..n) is valid UTF-8 (an oracle written apart from the
 * code under test: the shortest form, no surrogates, at most U+10FFFF). */
static bool
valid_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0)
			len = 2, cp = p[i] & 0x1f, min = 0x80;
		else if ((p[i] & 0xf0) == 0xe0)
			len = 3, cp = p[i] & 0x0f, min = 0x800;
		else if ((p[i] & 0xf8) == 0xf0)
			len = 4, cp = p[i] & 0x07, min = 0x10000;
		else
			return false;
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* Every byte of an escaped string is printable or a space, and the whole
 * is UTF-8: no raw control character, quote or backslash outside an
 * escape can end it early or break a JSON/Prometheus reader. */
static void
check_escaped(const struct wb *w, size_t start)
{
	size_t i;
	bool esc = false;

	if (!w->err && !valid_utf8(w->p + start, w->len - start))
		abort();
	if (w->err)
		return;
	if (w->len - start < 2 || w->p[start] != '"' || w->p[w->len - 1] != '"')
		abort();
	for (i = start + 1; i + 1 < w->len; i++) {
		uint8_t c = w->p[i];

		if (c < 0x20 || c == 0x7f)
			abort();
		if (esc) {
			esc = false;
			continue;
		}
		if (c == '\\')
			esc = true;
		else if (c == '"')
			abort();
	}
	if (esc)
		abort();
}

/* A packet parses into a request whose forward is a non-empty spec. */
static void
check_mux(const uint8_t *data, size_t size)
{
	struct mux_req m;
	char err[200];

	err[0] = '\0';
	if (mux_parse(data, size, &m, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if ((m.type == MUX_C_OPEN_FWD || m.type == MUX_C_CLOSE_FWD) &&
	    (m.spec[0] == '\0' || strlen(m.spec) >= sizeof(m.spec)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_cmd c;
	struct wb w;
	char *line, err[300];

	check_mux(data, size);
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (ctl_parse(line, &c, err, sizeof(err)) == 0) {
		if (c.op > CTL_RECONNECT)
			abort();
		if ((c.op == CTL_FORWARD || c.op == CTL_CANCEL) &&
		    (c.host == NULL || c.spec == NULL || c.host[0] == '\0' ||
		    c.spec[0] == '\0' || strpbrk(c.spec, " \t\r\n") != NULL))
			abort();
	} else if (strlen(err) == 0)
		abort();
	/* the bytes as a C string, as status would get them */
	memcpy(line, data, size);
	line[size] = '\0';
	wb_init(&w);
	wb_json_str(&w, line);
	check_escaped(&w, 0);
	wb_reset(&w);
	wb_label_str(&w, line);
	check_escaped(&w, 0);
	wb_free(&w);
	free(line);
	return 0;
}
