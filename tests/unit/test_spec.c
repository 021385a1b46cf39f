/* Unit tests for fwd/spec.c: -L/-R specifications as ssh(1) writes them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fwd/spec.h"

#define LOCAL_PREFIX	"Bad local forwarding specification"

struct good {
	const char	*text;
	enum fwd_bind	 bind;
	const char	*bind_addr;
	int		 listen_port;
	const char	*host;
	int		 port;
	const char	*formatted;	/* fwd_spec_format's output */
};

static const struct good goods[] = {
	{ "8080:localhost:80", BIND_DEFAULT, "", 8080, "localhost", 80,
	    "8080:localhost:80" },
	{ "127.0.0.1:8080:localhost:80", BIND_ADDR, "127.0.0.1", 8080,
	    "localhost", 80, "127.0.0.1:8080:localhost:80" },
	{ "*:8080:h:80", BIND_ANY, "*", 8080, "h", 80, "*:8080:h:80" },
	{ ":8080:h:80", BIND_ANY, "", 8080, "h", 80, "*:8080:h:80" },
	{ "localhost:8080:h:80", BIND_LOCALHOST, "localhost", 8080, "h", 80,
	    "localhost:8080:h:80" },
	{ "[::1]:8080:[fe80::1]:22", BIND_ADDR, "::1", 8080, "fe80::1", 22,
	    "[::1]:8080:[fe80::1]:22" },
	{ "0:h:80", BIND_DEFAULT, "", 0, "h", 80, "0:h:80" },
	{ "65535:example.com:65535", BIND_DEFAULT, "", 65535, "example.com",
	    65535, "65535:example.com:65535" },
	{ "[10.0.0.1]:1:[db.internal]:5432", BIND_ADDR, "10.0.0.1", 1,
	    "db.internal", 5432, "10.0.0.1:1:db.internal:5432" },
	{ "2222:[::ffff:192.0.2.1]:22", BIND_DEFAULT, "", 2222,
	    "::ffff:192.0.2.1", 22, "2222:[::ffff:192.0.2.1]:22" },
};

static void
test_parse_good(void **state)
{
	struct fwd_spec s;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		err[0] = '\0';
		memset(&s, 0xa5, sizeof(s));	/* parse must set every field */
		if (fwd_spec_parse(goods[i].text, FWD_LOCAL, &s, err,
		    sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", goods[i].text, err);
		assert_int_equal(s.kind, FWD_LOCAL);
		assert_int_equal(s.bind, goods[i].bind);
		assert_string_equal(s.bind_addr, goods[i].bind_addr);
		assert_int_equal(s.listen_port, goods[i].listen_port);
		assert_string_equal(s.host, goods[i].host);
		assert_int_equal(s.port, goods[i].port);
	}
}

static void
test_parse_remote_kind(void **state)
{
	struct fwd_spec s;
	char err[256];

	assert_int_equal(fwd_spec_parse("0.0.0.0:9000:127.0.0.1:9001",
	    FWD_REMOTE, &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, FWD_REMOTE);
	assert_int_equal(s.bind, BIND_ADDR);
	assert_string_equal(s.bind_addr, "0.0.0.0");
	assert_int_equal(s.listen_port, 9000);
	assert_string_equal(s.host, "127.0.0.1");
	assert_int_equal(s.port, 9001);

	/* The message names the kind it was parsing. */
	assert_int_equal(fwd_spec_parse("x", FWD_REMOTE, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "Bad remote forwarding specification"));
}

struct bad {
	const char	*text;
	const char	*why;	/* must appear in the message */
};

static const struct bad bads[] = {
	{ "nonsense", "[bind_address:]port:host:hostport" },
	{ "", "[bind_address:]port:host:hostport" },
	{ "8080:h", "[bind_address:]port:host:hostport" },
	{ "70000:h:1", "bad listen port '70000'" },
	{ "65536:h:1", "bad listen port '65536'" },
	{ "-1:h:1", "bad listen port '-1'" },
	{ "+80:h:1", "bad listen port '+80'" },
	{ "80x:h:1", "bad listen port '80x'" },
	{ ":h:1", "bad listen port ''" },
	{ "8080:h:0", "bad destination port '0'" },
	{ "8080:h:", "bad destination port ''" },
	{ "8080:h:99999", "bad destination port '99999'" },
	{ "8080:h:ssh", "bad destination port 'ssh'" },
	{ "8080::80", "missing destination host" },
	{ "a:b:c:d:e", "too many fields" },
	{ "[::1:8080:h:80", "missing ']'" },
	{ "[::1]x:8080:h:80", "after ']'" },
	{ "[[]:880:[f:1]:22", "unexpected '[' or ']'" },
	{ "8080:h]:80", "unexpected '[' or ']'" },
};

static void
test_parse_bad(void **state)
{
	struct fwd_spec s;
	char err[512], quoted[300];
	size_t i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		err[0] = '\0';
		if (fwd_spec_parse(bads[i].text, FWD_LOCAL, &s, err,
		    sizeof(err)) != -1)
			fail_msg("'%s' accepted", bads[i].text);
		if (strncmp(err, LOCAL_PREFIX, strlen(LOCAL_PREFIX)) != 0)
			fail_msg("'%s': message '%s' lacks the prefix",
			    bads[i].text, err);
		/* The message quotes the input and says what is wrong. */
		snprintf(quoted, sizeof(quoted), "'%s'", bads[i].text);
		if (strstr(err, quoted) == NULL ||
		    strstr(err, bads[i].why) == NULL)
			fail_msg("'%s': message '%s' does not name '%s'",
			    bads[i].text, err, bads[i].why);
	}
}

/* Fields longer than the struct can hold are refused, not truncated. */
static void
test_parse_long_field(void **state)
{
	char text[700], err[1024];
	struct fwd_spec s;
	char host[300];

	memset(host, 'a', 255);
	host[255] = '\0';
	snprintf(text, sizeof(text), "80:%s:80", host);
	assert_int_equal(fwd_spec_parse(text, FWD_LOCAL, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(s.host), 255);

	memset(host, 'a', 256);
	host[256] = '\0';
	snprintf(text, sizeof(text), "80:%s:80", host);
	assert_int_equal(fwd_spec_parse(text, FWD_LOCAL, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "field too long"));

	snprintf(text, sizeof(text), "[%s]:80:h:80", host);
	assert_int_equal(fwd_spec_parse(text, FWD_LOCAL, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "field too long"));
}

/* A small error buffer truncates the message but stays terminated. */
static void
test_parse_small_err(void **state)
{
	struct fwd_spec s;
	char err[16];

	memset(err, 'X', sizeof(err));
	assert_int_equal(fwd_spec_parse("nope", FWD_LOCAL, &s, err, 8), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'X');
}

static void
test_format_round_trip(void **state)
{
	struct fwd_spec s, t;
	char err[256], out[600];
	size_t i;

	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		assert_int_equal(fwd_spec_parse(goods[i].text, FWD_LOCAL, &s,
		    err, sizeof(err)), 0);
		fwd_spec_format(&s, out, sizeof(out));
		assert_string_equal(out, goods[i].formatted);
		if (fwd_spec_parse(out, FWD_LOCAL, &t, err, sizeof(err)) != 0)
			fail_msg("formatted '%s' refused: %s", out, err);
		assert_int_equal(t.bind, s.bind);
		assert_int_equal(t.listen_port, s.listen_port);
		assert_string_equal(t.host, s.host);
		assert_int_equal(t.port, s.port);
		if (s.bind != BIND_ANY)
			assert_string_equal(t.bind_addr, s.bind_addr);
	}
}

/* ssh's field placement: a field with a '/' is a Unix socket path. */
static void
test_parse_paths(void **state)
{
	struct fwd_spec s;
	char err[512], out[600];

	(void)state;
	assert_int_equal(fwd_spec_parse("/tmp/a.sock:db:5432", FWD_LOCAL, &s,
	    err, sizeof(err)), 0);
	assert_string_equal(s.listen_path, "/tmp/a.sock");
	assert_string_equal(s.host, "db");
	assert_int_equal(s.port, 5432);
	assert_string_equal(s.connect_path, "");
	assert_false(s.dynamic);

	assert_int_equal(fwd_spec_parse("8080:/run/x.sock", FWD_LOCAL, &s,
	    err, sizeof(err)), 0);
	assert_int_equal(s.listen_port, 8080);
	assert_int_equal(s.bind, BIND_DEFAULT);
	assert_string_equal(s.connect_path, "/run/x.sock");
	assert_string_equal(s.listen_path, "");
	fwd_spec_format(&s, out, sizeof(out));
	assert_string_equal(out, "8080:/run/x.sock");

	assert_int_equal(fwd_spec_parse("*:8080:/run/x.sock", FWD_REMOTE, &s,
	    err, sizeof(err)), 0);
	assert_int_equal(s.bind, BIND_ANY);
	assert_int_equal(s.listen_port, 8080);
	assert_string_equal(s.connect_path, "/run/x.sock");

	assert_int_equal(fwd_spec_parse("/tmp/a.sock:/tmp/b.sock", FWD_REMOTE,
	    &s, err, sizeof(err)), 0);
	assert_string_equal(s.listen_path, "/tmp/a.sock");
	assert_string_equal(s.connect_path, "/tmp/b.sock");
	assert_false(s.dynamic);
	fwd_spec_format(&s, out, sizeof(out));
	assert_string_equal(out, "/tmp/a.sock:/tmp/b.sock");

	/* 107 bytes fit in sun_path; 108 do not */
	memset(out, 'p', 107);
	out[0] = '/';
	strcpy(out + 107, ":h:1");
	assert_int_equal(fwd_spec_parse(out, FWD_LOCAL, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(s.listen_path), 107);
	memset(out, 'p', 108);
	out[0] = '/';
	strcpy(out + 108, ":h:1");
	assert_int_equal(fwd_spec_parse(out, FWD_LOCAL, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 107 bytes"));
}

static void
test_parse_dynamic(void **state)
{
	struct fwd_spec s;
	char err[512], out[600];

	(void)state;
	assert_int_equal(fwd_spec_parse("1080", FWD_DYNAMIC, &s, err,
	    sizeof(err)), 0);
	assert_true(s.dynamic);
	assert_int_equal(s.kind, FWD_DYNAMIC);
	assert_int_equal(s.listen_port, 1080);
	assert_int_equal(s.bind, BIND_DEFAULT);

	assert_int_equal(fwd_spec_parse("[::1]:0", FWD_DYNAMIC, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.bind, BIND_ADDR);
	assert_string_equal(s.bind_addr, "::1");
	assert_int_equal(s.listen_port, 0);
	fwd_spec_format(&s, out, sizeof(out));
	assert_string_equal(out, "[::1]:0");

	/* -R with no destination: remote dynamic */
	assert_int_equal(fwd_spec_parse("*:9000", FWD_REMOTE, &s, err,
	    sizeof(err)), 0);
	assert_true(s.dynamic);
	assert_int_equal(s.bind, BIND_ANY);
	assert_int_equal(s.listen_port, 9000);
	fwd_spec_format(&s, out, sizeof(out));
	assert_string_equal(out, "*:9000");
	fwd_spec_target(&s, out, sizeof(out));
	assert_string_equal(out, "socks");

	assert_int_equal(fwd_spec_parse("1080:h:80", FWD_DYNAMIC, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "Bad dynamic forwarding specification "
	    "'1080:h:80': expected [bind_address:]port"));
	assert_int_equal(fwd_spec_parse("/tmp/s", FWD_DYNAMIC, &s, err,
	    sizeof(err)), -1);
	assert_int_equal(fwd_spec_parse("/tmp/s", FWD_REMOTE, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "needs a port"));
	assert_int_equal(fwd_spec_parse("1080", FWD_LOCAL, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "-D is SOCKS"));
	assert_int_equal(fwd_spec_parse("x:99999", FWD_DYNAMIC, &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad listen port '99999'"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_remote_kind),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_long_field),
		cmocka_unit_test(test_parse_small_err),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_parse_paths),
		cmocka_unit_test(test_parse_dynamic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
