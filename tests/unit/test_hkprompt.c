/* Unit tests for client/hkprompt.c: what an answer to the host key
 * question means (the terminal itself: tests/integration/
 * test_hostkeys_ask.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/hkprompt.h"

#define FP	"SHA256:g8DkP5S1XctO02ib2z5cqJ01mu6p4Q/KhfRvpfw+kwI"

static void
test_answers(void **state)
{
	(void)state;
	assert_int_equal(hk_prompt_answer("yes", FP), 1);
	assert_int_equal(hk_prompt_answer("YES", FP), 1);
	assert_int_equal(hk_prompt_answer("  yes \t", FP), 1);
	assert_int_equal(hk_prompt_answer("no", FP), 0);
	assert_int_equal(hk_prompt_answer("No", FP), 0);
	assert_int_equal(hk_prompt_answer(FP, FP), 1);
	assert_int_equal(hk_prompt_answer(" " FP " ", FP), 1);
	/* anything else asks again */
	assert_int_equal(hk_prompt_answer("", FP), -1);
	assert_int_equal(hk_prompt_answer("y", FP), -1);
	assert_int_equal(hk_prompt_answer("yess", FP), -1);
	assert_int_equal(hk_prompt_answer("nope", FP), -1);
	assert_int_equal(hk_prompt_answer("sha256:g8DkP5S1XctO02ib2z5cqJ01mu6p4"
	    "Q/KhfRvpfw+kwI", FP), -1);		/* case matters here */
	assert_int_equal(hk_prompt_answer(FP "x", FP), -1);
	assert_int_equal(hk_prompt_answer("SHA256:", FP), -1);
	assert_int_equal(hk_prompt_answer("", ""), -1);
	assert_int_equal(hk_prompt_answer("x", NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
