/* The hybrid logical clock of the fleet's session epochs (src/util/hlc.c):
 * an epoch follows the wall clock while it leads, is above every epoch
 * seen in a record when another node's clock runs ahead, never repeats or
 * goes back when the wall clock does, and stays unique when several
 * threads tick at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <uv.h>

#include "util/hlc.h"

static void
test_follows_the_wall_clock(void **state)
{
	struct hlc c = { 0 };

	(void)state;
	assert_int_equal(hlc_tick(&c, 1000), 1000);
	assert_int_equal(hlc_tick(&c, 2000), 2000);
	/* an old record changes nothing */
	assert_int_equal(hlc_seen(&c, 1500, 2000), 0);
	assert_int_equal(hlc_tick(&c, 3000), 3000);
}

/* Node A's clock runs an hour ahead: node B, having read A's record,
 * gives its next session a newer epoch all the same. */
static void
test_above_a_record_from_a_clock_ahead(void **state)
{
	const uint64_t hour = 3600ULL * 1000000;
	struct hlc a = { 0 }, b = { 0 };
	uint64_t ea, eb, eb2;

	(void)state;
	ea = hlc_tick(&a, 1700000000ULL * 1000000 + hour);
	assert_int_equal(hlc_seen(&b, ea, 1700000000ULL * 1000000), 0);
	eb = hlc_tick(&b, 1700000000ULL * 1000000 + 5);
	assert_true(eb > ea);
	assert_int_equal(eb, ea + 1);
	eb2 = hlc_tick(&b, 1700000000ULL * 1000000 + 6);
	assert_true(eb2 > eb);
	/* and A, reading B's, goes above it in turn */
	hlc_seen(&a, eb2, 1700000000ULL * 1000000 + hour);
	assert_true(hlc_tick(&a, 1700000000ULL * 1000000 + hour) > eb2);
}

static void
test_never_back_nor_twice(void **state)
{
	struct hlc c = { 0 };
	uint64_t e1, e2, e3;

	(void)state;
	e1 = hlc_tick(&c, 5000);
	e2 = hlc_tick(&c, 5000);	/* the same microsecond */
	e3 = hlc_tick(&c, 4000);	/* the wall clock stepped back */
	assert_true(e2 > e1);
	assert_true(e3 > e2);
	hlc_seen(&c, 0, 5000);
	assert_true(hlc_tick(&c, 0) > e3);
}

#define THREADS	4
#define TICKS	20000

static struct hlc shared;
static uint64_t got[THREADS][TICKS];

static void
ticker(void *arg)
{
	uint64_t *out = arg;
	int i;

	for (i = 0; i < TICKS; i++) {
		out[i] = hlc_tick(&shared, 100);
		if (i % 7 == 0)
			hlc_seen(&shared, out[i] + 3, 100);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_unique_across_threads(void **state)
{
	uv_thread_t t[THREADS];
	uint64_t *all;
	size_t i, n = (size_t)THREADS * TICKS;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(uv_thread_create(&t[i], ticker, got[i]), 0);
	for (i = 0; i < THREADS; i++)
		uv_thread_join(&t[i]);
	all = &got[0][0];
	for (i = 0; i < THREADS; i++) {
		size_t k;

		/* each thread's epochs rise */
		for (k = 1; k < TICKS; k++)
			assert_true(got[i][k] > got[i][k - 1]);
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	for (i = 1; i < n; i++)
		assert_true(all[i] != all[i - 1]);
}

static void
test_process_clock(void **state)
{
	uint64_t a, b;

	(void)state;
	a = hlc_now();
	hlc_observe(a + 60ULL * 1000000);	/* a record a minute ahead */
	b = hlc_now();
	assert_true(b > a + 60ULL * 1000000);
}

/* A record's epoch far past the wall clock (a day and more; or the
 * largest number, which would wrap the next tick to 0) is ignored. */
static void
test_far_future_ignored(void **state)
{
	struct hlc c = { 0 };
	uint64_t wall = 1700000000ULL * 1000000, e;

	(void)state;
	assert_int_equal(hlc_seen(&c, UINT64_MAX, wall), -1);
	assert_int_equal(hlc_seen(&c, wall + HLC_AHEAD_MAX + 1, wall), -1);
	assert_int_equal(hlc_tick(&c, wall), wall);
	assert_int_equal(hlc_seen(&c, wall + HLC_AHEAD_MAX, wall), 0);
	e = hlc_tick(&c, wall + 1);
	assert_int_equal(e, wall + HLC_AHEAD_MAX + 1);
	assert_int_equal(hlc_observe(UINT64_MAX), -1);
	assert_true(hlc_now() > 1000000ULL * 1000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_the_wall_clock),
		cmocka_unit_test(test_above_a_record_from_a_clock_ahead),
		cmocka_unit_test(test_never_back_nor_twice),
		cmocka_unit_test(test_unique_across_threads),
		cmocka_unit_test(test_process_clock),
		cmocka_unit_test(test_far_future_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
