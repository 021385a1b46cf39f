/* The GatewayPorts table (OpenSSH's channel_fwd_bind_addr) and the
 * PermitOpen / PermitListen matching rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fwd/policy.h"

static void
check(enum gw_mode gw, const char *req, enum bind_scope want,
    const char *want_addr)
{
	const char *addr;
	char why[256];
	enum bind_scope got = fwd_policy_bind(gw, req, &addr, why, sizeof(why));

	if (got != want)
		fail_msg("GatewayPorts %s, \"%s\": scope %d, want %d",
		    fwd_gw_name(gw), req, got, want);
	if (want_addr == NULL)
		assert_null(addr);
	else
		assert_string_equal(addr, want_addr);
	assert_non_null(strstr(why, "GatewayPorts"));
}

static void
test_gateway_no(void **state)
{
	(void)state;
	check(GW_MODE_NO, "", SCOPE_LOOPBACK, NULL);
	check(GW_MODE_NO, "*", SCOPE_LOOPBACK, NULL);
	check(GW_MODE_NO, "0.0.0.0", SCOPE_LOOPBACK, NULL);
	check(GW_MODE_NO, "localhost", SCOPE_LOOPBACK, NULL);
	check(GW_MODE_NO, "127.0.0.1", SCOPE_ADDR, "127.0.0.1");
	check(GW_MODE_NO, "::1", SCOPE_ADDR, "::1");
	check(GW_MODE_NO, "192.0.2.1", SCOPE_LOOPBACK, NULL);
}

static void
test_gateway_yes(void **state)
{
	(void)state;
	check(GW_MODE_YES, "", SCOPE_ANY, NULL);
	check(GW_MODE_YES, "*", SCOPE_ANY, NULL);
	check(GW_MODE_YES, "0.0.0.0", SCOPE_ANY, NULL);
	check(GW_MODE_YES, "localhost", SCOPE_ANY, NULL);
	check(GW_MODE_YES, "127.0.0.1", SCOPE_ANY, NULL);
	check(GW_MODE_YES, "::1", SCOPE_ANY, NULL);
}

static void
test_gateway_clientspecified(void **state)
{
	(void)state;
	check(GW_MODE_CLIENTSPECIFIED, "", SCOPE_ANY, NULL);
	check(GW_MODE_CLIENTSPECIFIED, "*", SCOPE_ANY, NULL);
	check(GW_MODE_CLIENTSPECIFIED, "0.0.0.0", SCOPE_ADDR, "0.0.0.0");
	check(GW_MODE_CLIENTSPECIFIED, "localhost", SCOPE_LOOPBACK, NULL);
	check(GW_MODE_CLIENTSPECIFIED, "127.0.0.1", SCOPE_ADDR, "127.0.0.1");
	check(GW_MODE_CLIENTSPECIFIED, "::1", SCOPE_ADDR, "::1");
	check(GW_MODE_CLIENTSPECIFIED, "192.0.2.1", SCOPE_ADDR, "192.0.2.1");
}

static void
test_permit_open(void **state)
{
	struct fwd_permit v[3];

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].host, "db.internal");
	v[0].port = 5432;
	strcpy(v[1].host, "*");
	v[1].port = 80;
	strcpy(v[2].host, "cache");
	v[2].port = -1;
	assert_true(fwd_permit_open_ok(v, -1, "anything", 1));
	assert_false(fwd_permit_open_ok(v, 0, "db.internal", 5432));
	assert_true(fwd_permit_open_ok(v, 3, "db.internal", 5432));
	assert_false(fwd_permit_open_ok(v, 3, "DB.internal", 5432));
	assert_false(fwd_permit_open_ok(v, 3, "db.internal", 5433));
	assert_true(fwd_permit_open_ok(v, 3, "example.org", 80));
	assert_false(fwd_permit_open_ok(v, 3, "example.org", 81));
	assert_true(fwd_permit_open_ok(v, 3, "cache", 11211));
	assert_false(fwd_permit_open_ok(v, 3, "cache2", 11211));
}

static void
test_permit_listen(void **state)
{
	struct fwd_permit v[3];

	(void)state;
	memset(v, 0, sizeof(v));
	v[0].port = 8080;			/* "8080": any address */
	strcpy(v[1].host, "local*");
	v[1].port = 9090;			/* a pattern */
	strcpy(v[2].host, "127.0.0.1");
	v[2].port = -1;				/* "127.0.0.1:*" */
	assert_true(fwd_permit_listen_ok(v, -1, "", 1));
	assert_false(fwd_permit_listen_ok(v, 0, "localhost", 8080));
	assert_true(fwd_permit_listen_ok(v, 3, "localhost", 8080));
	assert_true(fwd_permit_listen_ok(v, 3, "", 8080));
	assert_true(fwd_permit_listen_ok(v, 3, "0.0.0.0", 8080));
	assert_true(fwd_permit_listen_ok(v, 3, "LOCALHOST", 9090));
	assert_false(fwd_permit_listen_ok(v, 3, "", 9090));
	assert_true(fwd_permit_listen_ok(v, 3, "127.0.0.1", 1234));
	assert_false(fwd_permit_listen_ok(v, 3, "localhost", 1234));
	assert_false(fwd_permit_listen_ok(v, 3, "localhost", 0));
}

static void
test_addr_literal(void **state)
{
	(void)state;
	assert_true(fwd_addr_is_literal("127.0.0.1"));
	assert_true(fwd_addr_is_literal("0.0.0.0"));
	assert_true(fwd_addr_is_literal("::1"));
	assert_true(fwd_addr_is_literal("fe80::1"));
	assert_false(fwd_addr_is_literal("localhost"));
	assert_false(fwd_addr_is_literal("slow.example"));
	assert_false(fwd_addr_is_literal("127.1"));
	assert_false(fwd_addr_is_literal(""));
	assert_false(fwd_addr_is_literal("[::1]"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway_no),
		cmocka_unit_test(test_gateway_yes),
		cmocka_unit_test(test_gateway_clientspecified),
		cmocka_unit_test(test_permit_open),
		cmocka_unit_test(test_permit_listen),
		cmocka_unit_test(test_addr_literal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
