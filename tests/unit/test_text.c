/* Text output helpers: formatted text of any length, JSON strings and
 * Prometheus label values that stay valid whatever bytes they are given,
 * and the control socket's request line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fwd/ctlproto.h"
#include "fwd/muxproto.h"
#include "util/text.h"

static char *
take(struct wb *w)
{
	char *s;

	assert_false(w->err);
	s = malloc(w->len + 1);
	assert_non_null(s);
	memcpy(s, w->p, w->len);
	s[w->len] = '\0';
	wb_reset(w);
	return s;
}

static void
test_printf_long(void **state)
{
	struct wb w;
	char big[3000], *s;

	(void)state;
	wb_init(&w);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	wb_printf(&w, "<%s>%d", big, 42);
	s = take(&w);
	assert_int_equal(strlen(s), sizeof(big) - 1 + 4);
	assert_string_equal(s + sizeof(big) + 1, "42");
	free(s);
	wb_printf(&w, "x");
	wb_printf(&w, "%s", "y");
	s = take(&w);
	assert_string_equal(s, "xy");
	free(s);
	wb_free(&w);
}

static void
test_json_str(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "", "\"\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "tab\there\nnl\x7f", "\"tab\\u0009here\\u000anl\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2",
		    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2\"" },
		/* not UTF-8: a lone continuation, an overlong '/', a
		 * surrogate, a truncated sequence, past U+10FFFF */
		{ "\x80", "\"\\ufffd\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "x\xe2\x82", "\"x\\ufffd\\ufffd\"" },
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	};
	struct wb w;
	char *s;
	size_t i;

	(void)state;
	wb_init(&w);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wb_json_str(&w, cases[i].in);
		s = take(&w);
		if (strcmp(s, cases[i].out) != 0)
			fail_msg("case %zu: got %s, want %s", i, s,
			    cases[i].out);
		free(s);
	}
	wb_free(&w);
}

/* A member after the first: comma, name, then the value as a string. */
static void
test_json_member(void **state)
{
	struct wb w;
	char *s;

	(void)state;
	wb_init(&w);
	wb_printf(&w, "{\"a\":1");
	wb_json_member(&w, "peer", "x\"y");
	wb_printf(&w, "}");
	s = take(&w);
	assert_string_equal(s, "{\"a\":1,\"peer\":\"x\\\"y\"}");
	free(s);
	wb_free(&w);
}

static void
test_label_str(void **state)
{
	struct wb w;
	char *s;

	(void)state;
	wb_init(&w);
	wb_label_str(&w, "-L 8080:\"h\"\\x\nz\ty\xff\xc3\xa9");
	s = take(&w);
	assert_string_equal(s, "\"-L 8080:\\\"h\\\"\\\\x\\nz?y?\xc3\xa9\"");
	free(s);
	wb_free(&w);
}

static void
test_ctl_parse(void **state)
{
	struct ctl_cmd c;
	char line[200], err[300];

	(void)state;
	strcpy(line, "status\r\n");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), 0);
	assert_int_equal(c.op, CTL_STATUS);
	strcpy(line, "status-json");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), 0);
	assert_int_equal(c.op, CTL_STATUS_JSON);
	strcpy(line, "metrics");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), 0);
	assert_int_equal(c.op, CTL_METRICS);
	strcpy(line, "forward  alpha\t-R 0:127.0.0.1:22");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), 0);
	assert_int_equal(c.op, CTL_FORWARD);
	assert_string_equal(c.host, "alpha");
	assert_int_equal(c.kind, FWD_REMOTE);
	assert_string_equal(c.spec, "0:127.0.0.1:22");
	strcpy(line, "cancel - -D 1080");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), 0);
	assert_int_equal(c.op, CTL_CANCEL);
	assert_int_equal(c.kind, FWD_DYNAMIC);
	strcpy(line, "cancel - -X 1080");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'-X' is not -L, -R or -D"));
	strcpy(line, "forward - -L");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown command"));
	strcpy(line, "status please");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), -1);
	strcpy(line, "a b c d e f");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many words"));
	strcpy(line, "");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), -1);
	strcpy(line, "reconnect");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), 0);
	assert_int_equal(c.op, CTL_RECONNECT);
	assert_null(c.host);
	strcpy(line, "reconnect web");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), 0);
	assert_string_equal(c.host, "web");
	strcpy(line, "reconnect a b");
	assert_int_equal(ctl_parse(line, &c, err, sizeof(err)), -1);
}

/* A multiplexing packet: uint32 length, uint32 type, the body. */
static size_t
mux_packet(uint8_t *out, uint32_t type, const struct wb *body)
{
	struct wb w;
	size_t n;

	wb_init(&w);
	wb_u32(&w, (uint32_t)(4 + body->len));
	wb_u32(&w, type);
	wb_put(&w, body->p, body->len);
	memcpy(out, w.p, w.len);
	n = w.len;
	wb_free(&w);
	return n;
}

static void
test_mux_parse(void **state)
{
	struct mux_req m;
	struct wb b, r;
	uint8_t p[512];
	char err[200];
	size_t n;

	(void)state;
	wb_init(&b);
	wb_u32(&b, 4);
	n = mux_packet(p, MUX_MSG_HELLO, &b);
	assert_int_equal(mux_parse(p, n, &m, err, sizeof(err)), 0);
	assert_int_equal(m.version, 4);
	/* ssh -O forward -L 127.0.0.1:8080:db:5432 */
	wb_reset(&b);
	wb_u32(&b, 9);
	wb_u32(&b, 1);
	wb_cstring(&b, "127.0.0.1");
	wb_u32(&b, 8080);
	wb_cstring(&b, "db");
	wb_u32(&b, 5432);
	n = mux_packet(p, MUX_C_OPEN_FWD, &b);
	assert_int_equal(mux_parse(p, n, &m, err, sizeof(err)), 0);
	assert_int_equal(m.id, 9);
	assert_int_equal(m.kind, FWD_LOCAL);
	assert_string_equal(m.spec, "127.0.0.1:8080:db:5432");
	/* -R [::1]:0 to a socket path; a truncated packet; a bad type */
	wb_reset(&b);
	wb_u32(&b, 10);
	wb_u32(&b, 2);
	wb_cstring(&b, "::1");
	wb_u32(&b, 0);
	wb_cstring(&b, "/run/app.sock");
	wb_u32(&b, 0xfffffffe);
	n = mux_packet(p, MUX_C_OPEN_FWD, &b);
	assert_int_equal(mux_parse(p, n, &m, err, sizeof(err)), 0);
	assert_int_equal(m.kind, FWD_REMOTE);
	assert_string_equal(m.spec, "[::1]:0:/run/app.sock");
	assert_int_equal(mux_parse(p, n - 1, &m, err, sizeof(err)), -1);
	p[15] = 9;		/* forwarding type 9 */
	assert_int_equal(mux_parse(p, n, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown forward type 9"));
	/* the replies ssh reads */
	wb_init(&r);
	mux_alive(&r, 3, 4242);
	mux_refuse(&r, MUX_S_FAILURE, 4, "no");
	assert_int_equal(r.len, 16 + 18);
	assert_memory_equal(r.p, "\0\0\0\x0c\x80\0\0\x05\0\0\0\x03\0\0\x10\x92",
	    16);
	wb_free(&r);
	wb_free(&b);
}

static void
test_text_safe(void **state)
{
	char out[128];

	(void)state;
	/* a forged log line, a terminal title and a CSI stay inert */
	text_safe(out, sizeof(out), "bob\nFAKE line\r\t", false);
	assert_string_equal(out, "bob\\nFAKE line\\r\\t");
	text_safe(out, sizeof(out), "\x1b]0;pwned\x07 \x7f", false);
	assert_string_equal(out, "\\x1b]0;pwned\\x07 \\x7f");
	text_safe(out, sizeof(out), "a\xc2\x9b" "2Jb", false);
	assert_string_equal(out, "a\\xc2\\x9b" "2Jb");
	/* printable UTF-8 is kept; bytes that are not UTF-8 are escaped */
	text_safe(out, sizeof(out), "gr\xc3\xbc\xc3\x9f \xe2\x82\xac "
	    "\xff\xc3", false);
	assert_string_equal(out, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \\xff\\xc3");
	/* a banner keeps its lines and tabs */
	text_safe(out, sizeof(out), "line 1\n\tline 2\x1b[2J\n", true);
	assert_string_equal(out, "line 1\n\tline 2\\x1b[2J\n");
	/* truncation never splits an escape and always terminates */
	assert_int_equal(text_safe(out, 6, "ab\x01" "cd", false), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(text_safe(out, 1, "abc", false), 0);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printf_long),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_member),
		cmocka_unit_test(test_label_str),
		cmocka_unit_test(test_text_safe),
		cmocka_unit_test(test_ctl_parse),
		cmocka_unit_test(test_mux_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
