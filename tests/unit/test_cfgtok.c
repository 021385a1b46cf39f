/* Unit tests for util/cfgtok.c: OpenSSH's line splitting (keyword, '=',
 * quotes, backslashes, comments) and its errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/cfgtok.h"

/* Splits text; checks the result, the keyword and up to 4 arguments. */
static void
split_is(const char *text, int want, const char *kw, int nargs,
    const char *a0, const char *a1, const char *a2)
{
	struct cfgtok_line tl;
	char buf[512];
	const char *args[3] = { a0, a1, a2 };
	int r, i;

	snprintf(buf, sizeof(buf), "%s", text);
	r = cfgtok_split(buf, &tl);
	if (r != want)
		fail_msg("'%s': result %d, want %d", text, r, want);
	if (want != CFGTOK_LINE)
		return;
	assert_string_equal(tl.keyword, kw);
	if (tl.nargs != nargs)
		fail_msg("'%s': %d arguments, want %d", text, tl.nargs, nargs);
	for (i = 0; i < nargs && i < 3; i++)
		if (strcmp(tl.args[i], args[i]) != 0)
			fail_msg("'%s': argument %d is '%s', want '%s'", text,
			    i, tl.args[i], args[i]);
}

static void
test_keyword_forms(void **state)
{
	split_is("Port 22", CFGTOK_LINE, "Port", 1, "22", NULL, NULL);
	split_is("Port=22", CFGTOK_LINE, "Port", 1, "22", NULL, NULL);
	split_is("Port = 22", CFGTOK_LINE, "Port", 1, "22", NULL, NULL);
	split_is("  Port\t22  \r\n", CFGTOK_LINE, "Port", 1, "22", NULL,
	    NULL);
	split_is("Port 22\f", CFGTOK_LINE, "Port", 1, "22", NULL, NULL);
	/* only one '=' is a separator */
	split_is("Port==22", CFGTOK_LINE, "Port", 1, "=22", NULL, NULL);
	split_is("\"Port\" 22", CFGTOK_LINE, "Port", 1, "22", NULL, NULL);
	split_is("SetEnv A=1 B=2", CFGTOK_LINE, "SetEnv", 2, "A=1", "B=2",
	    NULL);
}

static void
test_arguments(void **state)
{
	split_is("User \"john smith\"", CFGTOK_LINE, "User", 1, "john smith",
	    NULL, NULL);
	split_is("X 'a b' \"c'd\" e", CFGTOK_LINE, "X", 3, "a b", "c'd", "e");
	split_is("X a\"b c\"d", CFGTOK_LINE, "X", 1, "ab cd", NULL, NULL);
	split_is("X a\\ b c", CFGTOK_LINE, "X", 2, "a b", "c", NULL);
	split_is("X a\\\"b", CFGTOK_LINE, "X", 1, "a\"b", NULL, NULL);
	split_is("X a\\\\b", CFGTOK_LINE, "X", 1, "a\\b", NULL, NULL);
	/* an unknown escape keeps its backslash */
	split_is("X a\\nb", CFGTOK_LINE, "X", 1, "a\\nb", NULL, NULL);
	split_is("X \"\"", CFGTOK_LINE, "X", 1, "", NULL, NULL);
	split_is("X a # comment", CFGTOK_LINE, "X", 1, "a", NULL, NULL);
	split_is("X a#b", CFGTOK_LINE, "X", 1, "a#b", NULL, NULL);
	split_is("X \"# not\" a", CFGTOK_LINE, "X", 2, "# not", "a", NULL);
}

static void
test_empty_and_errors(void **state)
{
	char big[CFGTOK_MAX_ARGS * 2 + 16];
	struct cfgtok_line tl;
	size_t n;
	int i;

	split_is("", CFGTOK_EMPTY, NULL, 0, NULL, NULL, NULL);
	split_is("   \t ", CFGTOK_EMPTY, NULL, 0, NULL, NULL, NULL);
	split_is("# Port 22", CFGTOK_EMPTY, NULL, 0, NULL, NULL, NULL);
	split_is("   # x", CFGTOK_EMPTY, NULL, 0, NULL, NULL, NULL);
	split_is("Port", CFGTOK_NOARG, NULL, 0, NULL, NULL, NULL);
	split_is("Port=", CFGTOK_NOARG, NULL, 0, NULL, NULL, NULL);
	split_is("Port # c", CFGTOK_NOARG, NULL, 0, NULL, NULL, NULL);
	split_is("User \"open", CFGTOK_QUOTES, NULL, 0, NULL, NULL, NULL);
	split_is("User 'open", CFGTOK_QUOTES, NULL, 0, NULL, NULL, NULL);
	split_is("\"Port 22", CFGTOK_QUOTES, NULL, 0, NULL, NULL, NULL);
	n = (size_t)snprintf(big, sizeof(big), "X");
	for (i = 0; i < CFGTOK_MAX_ARGS + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, " a");
	assert_int_equal(cfgtok_split(big, &tl), CFGTOK_TOOMANY);
	assert_string_equal(cfgtok_strerror(CFGTOK_QUOTES), "invalid quotes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyword_forms),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_empty_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
