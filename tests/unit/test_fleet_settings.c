/* The fleet's settings record (src/server/fleet_settings.c): a record
 * encoded by one node compares equal on a node with the same settings;
 * each differing keyword is named with both values, the host keys by
 * name alone; a keyword the record lacks differs, one it has beyond ours
 * is ignored; peer strings are escaped; a record not ferryd's says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server/fleet_rec.h"
#include "server/fleet_settings.h"

static void
mine(struct fleet_settings *fs)
{
	static const char *const kv[FLEET_SETTINGS_N][2] = {
		{ "ClusterPortRange", "20000-20099" },
		{ "ClusterLeaseTime", "10" },
		{ "HostKey", "SHA256:aaa,SHA256:bbb" },
		{ "GatewayPorts", "yes" },
		{ "ReclaimForwards", "yes" },
		{ "AllowTcpForwarding", "yes" },
	};
	int i;

	memset(fs, 0, sizeof(*fs));
	for (i = 0; i < FLEET_SETTINGS_N; i++) {
		fs->row[i].kw = kv[i][0];
		snprintf(fs->row[i].val, sizeof(fs->row[i].val), "%s",
		    kv[i][1]);
	}
}

static int
diff_of(const struct fleet_settings *fs, const char *rec, char *out,
    size_t outlen)
{
	return fleet_settings_diff(fs, (const uint8_t *)rec, strlen(rec), out,
	    outlen);
}

static void
test_same_settings(void **state)
{
	struct fleet_settings a, b;
	char rec[2048], out[400];
	size_t n;

	(void)state;
	mine(&a);
	mine(&b);
	n = fleet_settings_encode(&a, rec, sizeof(rec) - 1);
	assert_true(n > 0);
	rec[n] = '\0';
	assert_non_null(strstr(rec, "\"ClusterPortRange\":\"20000-20099\""));
	assert_int_equal(diff_of(&b, rec, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_differences_named(void **state)
{
	struct fleet_settings a, b;
	char rec[2048], out[400];
	size_t n;

	(void)state;
	mine(&a);
	mine(&b);
	snprintf(b.row[0].val, sizeof(b.row[0].val), "20000-20199");
	snprintf(b.row[2].val, sizeof(b.row[2].val), "SHA256:ccc");
	snprintf(b.row[3].val, sizeof(b.row[3].val), "no");
	n = fleet_settings_encode(&b, rec, sizeof(rec) - 1);
	rec[n] = '\0';
	assert_int_equal(diff_of(&a, rec, out, sizeof(out)), 3);
	assert_string_equal(out, "ClusterPortRange 20000-20099 (fleet: "
	    "20000-20199), host keys, GatewayPorts yes (fleet: no)");
}

static void
test_missing_extra_escaped(void **state)
{
	struct fleet_settings a;
	char out[400];

	(void)state;
	mine(&a);
	assert_int_equal(diff_of(&a, "{\"ClusterPortRange\":\"20000-20099\","
	    "\"ClusterLeaseTime\":\"1\\u001b[2J\",\"HostKey\":\"SHA256:aaa,"
	    "SHA256:bbb\",\"GatewayPorts\":\"yes\",\"ReclaimForwards\":"
	    "\"yes\",\"SomethingNew\":\"x\"}", out, sizeof(out)), 2);
	assert_null(strchr(out, '\033'));
	assert_non_null(strstr(out, "ClusterLeaseTime 10 (fleet: 1"));
	assert_non_null(strstr(out, "AllowTcpForwarding yes (fleet: not "
	    "recorded)"));
	assert_null(strstr(out, "SomethingNew"));
}

static void
test_not_a_record(void **state)
{
	struct fleet_settings a;
	char out[400];

	(void)state;
	mine(&a);
	assert_int_equal(diff_of(&a, "[1,2]", out, sizeof(out)), -1);
	assert_string_equal(out, "the fleet's settings record is not ferryd's");
	assert_int_equal(diff_of(&a, "{nope", out, sizeof(out)), -1);
}

static int
rec_of(const char *json, struct ereg_rec *r)
{
	return ereg_rec_decode((const uint8_t *)json, strlen(json), r);
}

/* A forward's record: its fields, the node's name escaped; what is not a
 * record of ours, or carries an epoch no clock of the fleet can have
 * (negative, or a day and more ahead), is refused. */
static void
test_forward_record(void **state)
{
	struct ereg_rec r;

	(void)state;
	assert_int_equal(rec_of("{\"node\":\"n1\\u001b[2J\",\"session\":7,"
	    "\"user\":\"alice\",\"key\":\"SHA256:k\",\"bind\":\"\","
	    "\"epoch\":1700000000000000}", &r), 0);
	assert_string_equal(r.node, "n1\\x1b[2J");
	assert_string_equal(r.user, "alice");
	assert_string_equal(r.key_fp, "SHA256:k");
	assert_int_equal(r.session, 7);
	assert_int_equal(r.epoch, 1700000000000000ULL);
	assert_int_equal(rec_of("{\"node\":\"n1\",\"session\":7,"
	    "\"user\":\"a\",\"key\":\"k\",\"epoch\":-1}", &r), -1);
	assert_int_equal(rec_of("{\"node\":\"n1\",\"session\":7,"
	    "\"user\":\"a\",\"key\":\"k\",\"epoch\":9000000000000000000}",
	    &r), -1);
	assert_int_equal(rec_of("{\"node\":\"n1\",\"user\":\"a\","
	    "\"key\":\"k\",\"epoch\":1}", &r), -1);
	assert_int_equal(rec_of("[]", &r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_settings),
		cmocka_unit_test(test_differences_named),
		cmocka_unit_test(test_missing_extra_escaped),
		cmocka_unit_test(test_not_a_record),
		cmocka_unit_test(test_forward_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
