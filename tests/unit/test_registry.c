/* The in-process forward registry (src/server/registry_local.c): claims
 * are create-if-absent per asked address and port, the holder is told,
 * only the holder releases, and the table keeps every record as it grows;
 * two threads claiming the same forwards never both get one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "server/registry.h"

static struct fwd_owner
owner(uint64_t session, const char *user)
{
	struct fwd_owner o;

	memset(&o, 0, sizeof(o));
	o.session = session;
	snprintf(o.user, sizeof(o.user), "%s", user);
	snprintf(o.key_fp, sizeof(o.key_fp), "SHA256:k%llu",
	    (unsigned long long)session);
	snprintf(o.ip, sizeof(o.ip), "127.0.0.1");
	o.port = 40000 + (int)session;
	return o;
}

static void
test_claim_release(void **state)
{
	struct registry *r = registry_local_new();
	struct fwd_owner a = owner(1, "alice"), b = owner(2, "bob"), h;

	(void)state;
	assert_non_null(r);
	assert_int_equal(registry_claim(r, "127.0.0.1", 8080, &a, &h), 0);
	assert_int_equal(registry_claim(r, "127.0.0.1", 8080, &a, &h), 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(registry_claim(r, "127.0.0.1", 8080, &b, &h), -1);
	assert_int_equal(h.session, 1);
	assert_string_equal(h.user, "alice");
	assert_string_equal(h.key_fp, "SHA256:k1");
	assert_int_equal(h.port, 40001);
	/* another spelling or port is another forward */
	assert_int_equal(registry_claim(r, "localhost", 8080, &b, &h), 0);
	assert_int_equal(registry_claim(r, "127.0.0.1", 8081, &b, &h), 0);
	/* only the holder releases */
	registry_release(r, "127.0.0.1", 8080, 2);
	assert_int_equal(registry_claim(r, "127.0.0.1", 8080, &b, &h), -1);
	registry_release(r, "127.0.0.1", 8080, 1);
	assert_int_equal(registry_claim(r, "127.0.0.1", 8080, &b, &h), 0);
	registry_release(r, "nowhere", 1, 1);
	registry_free(r);
}

static void
test_many(void **state)
{
	struct registry *r = registry_local_new();
	struct fwd_owner a = owner(1, "alice"), b = owner(2, "bob"), h;
	char host[32];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(host, sizeof(host), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(registry_claim(r, host, 1024 + i, &a, &h), 0);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(host, sizeof(host), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(registry_claim(r, host, 1024 + i, &b, &h), -1);
		assert_int_equal(h.session, 1);
		if (i % 2)
			registry_release(r, host, 1024 + i, 1);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(host, sizeof(host), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(registry_claim(r, host, 1024 + i, &b, &h),
		    i % 2 ? 0 : -1);
	}
	registry_free(r);
}

/* Two threads race for the same 2000 forwards: each goes to one. */
struct racer {
	struct registry	*r;
	struct fwd_owner o;
	int		 won;
};

static void
race(void *arg)
{
	struct racer *c = arg;
	struct fwd_owner h;
	int i;

	for (i = 0; i < 2000; i++)
		if (registry_claim(c->r, "0.0.0.0", 2000 + i, &c->o, &h) == 0)
			c->won++;
}

static void
test_threads(void **state)
{
	struct registry *r = registry_local_new();
	struct racer a = { r, owner(1, "alice"), 0 }, b = { r, owner(2, "bob"),
	    0 };
	uv_thread_t ta, tb;

	(void)state;
	assert_int_equal(uv_thread_create(&ta, race, &a), 0);
	assert_int_equal(uv_thread_create(&tb, race, &b), 0);
	uv_thread_join(&ta);
	uv_thread_join(&tb);
	assert_int_equal(a.won + b.won, 2000);
	registry_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_release),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
