/* Unit tests for util/tokens.c: %-tokens, ~ and the %C hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/tokens.h"

static void
test_expand(void **state)
{
	struct tokens t;
	char out[64], err[128];

	tokens_init(&t);
	tokens_set(&t, 'h', "host.example");
	tokens_set(&t, 'p', "22");
	tokens_set(&t, 'r', "alice");
	assert_int_equal(tokens_expand("%r@%h:%p", &t, out, sizeof(out), err,
	    sizeof(err)), 21);
	assert_string_equal(out, "alice@host.example:22");
	assert_int_equal(tokens_expand("100%%", &t, out, sizeof(out), err,
	    sizeof(err)), 4);
	assert_string_equal(out, "100%");
	assert_int_equal(tokens_expand("", &t, out, sizeof(out), err,
	    sizeof(err)), 0);
	tokens_set(&t, 'h', "other");	/* replaces */
	assert_true(tokens_expand("%h", &t, out, sizeof(out), err,
	    sizeof(err)) == 5);
	assert_string_equal(out, "other");
}

static void
test_expand_errors(void **state)
{
	struct tokens t;
	char out[8], err[128];

	tokens_init(&t);
	tokens_set(&t, 'h', "a-long-host-name");
	tokens_set(&t, 'k', NULL);
	assert_int_equal(tokens_expand("%x", &t, out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key %x"));
	assert_int_equal(tokens_expand("%k", &t, out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_int_equal(tokens_expand("abc%", &t, out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "at the end"));
	assert_int_equal(tokens_expand("%h", &t, out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(tokens_expand("1234567", &t, out, sizeof(out), err,
	    sizeof(err)), 7);
	assert_int_equal(tokens_expand("12345678", &t, out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_int_equal(tokens_expand("x", &t, out, 0, err, sizeof(err)),
	    -1);
}

static void
test_tilde(void **state)
{
	char out[1024], want[1100], err[128];
	struct passwd *root = getpwnam("root");

	assert_int_equal(tokens_tilde("~/.ssh/id", "/home/u", out,
	    sizeof(out), err, sizeof(err)), 15);
	assert_string_equal(out, "/home/u/.ssh/id");
	tokens_tilde("~", "/home/u", out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "/home/u");
	tokens_tilde("/abs/~x", "/home/u", out, sizeof(out), err,
	    sizeof(err));
	assert_string_equal(out, "/abs/~x");
	tokens_tilde("~/x", "/", out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "/x");
	assert_non_null(root);
	snprintf(want, sizeof(want), "%s/k", root->pw_dir);
	assert_true(tokens_tilde("~root/k", "/home/u", out, sizeof(out), err,
	    sizeof(err)) > 0);
	assert_string_equal(out, want);
	assert_int_equal(tokens_tilde("~no-such-user-xyz/k", "/home/u", out,
	    sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-user-xyz"));
	assert_int_equal(tokens_tilde("~/abcdef", "/home/u", out, 8, err,
	    sizeof(err)), -1);
}

/* %C is sha1 of l h p r, as ssh's ssh_connection_hash (value computed with
 * `printf %s lhost.example22root | sha1sum`). */
static void
test_conn_hash(void **state)
{
	char out[41];

	assert_int_equal(tokens_conn_hash("l", "host.example", "22", "root",
	    out), 0);
	assert_string_equal(out, "bd879c4d21a0db712271e4f8d76b6d8033bbd355");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_errors),
		cmocka_unit_test(test_tilde),
		cmocka_unit_test(test_conn_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
