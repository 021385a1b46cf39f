/* Unit tests for CheckHostIP and RevokedHostKeys on ferry's side: how the
 * two keywords are read, finished and printed (as ssh -G prints them), and
 * when CheckHostIP applies (client/cli_hostip.c), by ssh 9.2's rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli_int.h"
#include "client/options.h"

static struct options opts;
static char err[512];

static int
setup(void **state)
{
	(void)state;
	setenv("HOME", "/home/tester", 1);
	unsetenv("SSH_AUTH_SOCK");
	options_init(&opts);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	options_free(&opts);
	return 0;
}

static void
apply(const char *line)
{
	if (options_apply_line(&opts, line, "test", err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", line, err);
}

/* options_finish for host, then what -G prints (malloc'd). */
static char *
finish_and_print(const char *host)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(opts.host = strdup(host));
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_non_null(fp = open_memstream(&buf, &len));
	options_print(&opts, fp);
	fclose(fp);
	return buf;
}

static void
test_defaults(void **state)
{
	char *g;

	(void)state;
	g = finish_and_print("gw.example");
	assert_false(opts.check_host_ip);	/* ssh 9.x's default */
	assert_null(opts.revoked_host_keys);
	assert_non_null(strstr(g, "\ncheckhostip no\n"));
	assert_null(strstr(g, "revokedhostkeys"));
	/* no longer among the keywords that only reach -G */
	assert_int_equal(opts.nsshkw, 0);
	free(g);
}

/* The first value wins; RevokedHostKeys is kept as written (ssh 9.2
 * expands neither ~ nor tokens in it). */
static void
test_first_wins_as_written(void **state)
{
	char *g;

	(void)state;
	apply("CheckHostIP yes");
	apply("CheckHostIP no");
	apply("RevokedHostKeys ~/.ssh/revoked_%h");
	apply("RevokedHostKeys /etc/ssh/revoked");
	g = finish_and_print("gw.example");
	assert_true(opts.check_host_ip);
	assert_string_equal(opts.revoked_host_keys, "~/.ssh/revoked_%h");
	assert_non_null(strstr(g, "\ncheckhostip yes\n"));
	assert_non_null(strstr(g, "\nrevokedhostkeys ~/.ssh/revoked_%h\n"));
	free(g);
}

/* "none" (any case) first: no file, and a later value does not count. */
static void
test_none(void **state)
{
	char *g;

	(void)state;
	apply("RevokedHostKeys NONE");
	apply("RevokedHostKeys /etc/ssh/revoked");
	apply("CheckHostIP false");
	g = finish_and_print("gw.example");
	assert_null(opts.revoked_host_keys);
	assert_false(opts.check_host_ip);
	assert_null(strstr(g, "revokedhostkeys"));
	free(g);
}

static void
test_bad_values(void **state)
{
	(void)state;
	assert_int_equal(options_apply_line(&opts, "CheckHostIP maybe", "test",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CheckHostIP"));
	assert_int_equal(options_apply_line(&opts, "RevokedHostKeys a b",
	    "test", err, sizeof(err)), -1);
	assert_int_equal(options_apply_line(&opts, "RevokedHostKeys", "test",
	    err, sizeof(err)), -1);
}

/* When ssh looks the address up (sshconnect.c's rules, seen against ssh
 * 9.2 in tests/integration/test_client_checkhostip.py). */
static void
test_wanted(void **state)
{
	(void)state;
	apply("CheckHostIP yes");
	free(finish_and_print("gw.example"));
	assert_true(cli_hostip_wanted(&opts, "192.0.2.7"));
	assert_true(cli_hostip_wanted(&opts, "2001:db8::7"));
	assert_true(cli_hostip_wanted(&opts, "128.0.0.1"));
	/* loopback, however written */
	assert_false(cli_hostip_wanted(&opts, "127.0.0.1"));
	assert_false(cli_hostip_wanted(&opts, "127.200.3.4"));
	assert_false(cli_hostip_wanted(&opts, "::1"));
	assert_false(cli_hostip_wanted(&opts, "::ffff:127.0.0.1"));
	assert_false(cli_hostip_wanted(&opts, ""));
	/* the destination written as the address */
	free(opts.hostname);
	opts.hostname = strdup("192.0.2.7");
	assert_false(cli_hostip_wanted(&opts, "192.0.2.7"));
	assert_true(cli_hostip_wanted(&opts, "192.0.2.8"));
	/* through a proxy ssh has no address to check */
	opts.proxy_run = strdup("nc %h %p");
	assert_false(cli_hostip_wanted(&opts, "192.0.2.8"));
	free(opts.proxy_run);
	opts.proxy_run = NULL;
	opts.check_host_ip = false;
	assert_false(cli_hostip_wanted(&opts, "192.0.2.8"));
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_first_wins_as_written),
		T(test_none),
		T(test_bad_values),
		T(test_wanted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
