/* The sans-I/O etcd layer (src/fleet/etcd.h): request bodies as the
 * gateway takes them, answers recorded from etcd 3.4's gateway
 * (tests/unit/data/etcd/) parsed into their structs, and malformed or
 * oversized answers refused with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/etcd.h"
#include "datafile.h"
#include "keys/base64.h"

#define DATA	"data/etcd/"
#define LEASE	4111120470690158853LL

static char *
slurp(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), DATA "%s", name);
	return datafile_read(path, len);
}

/* The JSON of a body, for checks by field. */
static json_t *
load(const char *body)
{
	json_t *o;

	assert_non_null(body);
	o = json_loads(body, 0, NULL);
	assert_non_null(o);
	return o;
}

/* The base64 string at a path of members, decoded. */
static void
assert_b64(json_t *o, const char *name, const char *want, size_t wantlen)
{
	json_t *v = json_object_get(o, name);
	uint8_t out[ETCD_KEY_MAX + 8];
	int n;

	assert_true(json_is_string(v));
	n = b64_decode(json_string_value(v), json_string_length(v), out,
	    sizeof(out));
	assert_int_equal(n, (int)wantlen);
	assert_memory_equal(out, want, wantlen);
}

static void
assert_str(json_t *o, const char *name, const char *want)
{
	json_t *v = json_object_get(o, name);

	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), want);
}

static void
test_req_put_if_absent(void **state)
{
	char err[128];
	char *b = etcd_req_put_if_absent("/f/fwd/tcp/80", "v1", 2, 42, err,
	    sizeof(err));
	json_t *o = load(b), *c, *p, *r;

	(void)state;
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_b64(c, "key", "/f/fwd/tcp/80", 13);
	assert_str(c, "target", "CREATE");
	assert_str(c, "result", "EQUAL");
	assert_str(c, "create_revision", "0");
	p = json_object_get(json_array_get(json_object_get(o, "success"), 0),
	    "request_put");
	assert_b64(p, "key", "/f/fwd/tcp/80", 13);
	assert_b64(p, "value", "v1", 2);
	assert_str(p, "lease", "42");
	r = json_object_get(json_array_get(json_object_get(o, "failure"), 0),
	    "request_range");
	assert_b64(r, "key", "/f/fwd/tcp/80", 13);
	json_decref(o);
	free(b);
}

static void
test_req_cas_delete(void **state)
{
	char err[128], *b;
	json_t *o, *c, *p;

	(void)state;
	b = etcd_req_cas("k", 17, "", 0, 0, err, sizeof(err));
	o = load(b);
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_str(c, "target", "MOD");
	assert_str(c, "mod_revision", "17");
	p = json_object_get(json_array_get(json_object_get(o, "success"), 0),
	    "request_put");
	assert_null(json_object_get(p, "lease"));
	assert_b64(p, "value", "", 0);
	json_decref(o);
	free(b);

	b = etcd_req_delete_if("k", 9, err, sizeof(err));
	o = load(b);
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_str(c, "mod_revision", "9");
	p = json_object_get(json_array_get(json_object_get(o, "success"), 0),
	    "request_delete_range");
	assert_b64(p, "key", "k", 1);
	json_decref(o);
	free(b);
}

static void
test_req_refusals(void **state)
{
	char err[128], big[ETCD_KEY_MAX + 2];
	static char val[ETCD_VALUE_MAX + 1];

	(void)state;
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(etcd_req_put_if_absent(big, "v", 1, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "513 bytes"));
	assert_null(etcd_req_put_if_absent("", "v", 1, 0, err, sizeof(err)));
	assert_null(etcd_req_put_if_absent("k", val, sizeof(val), 0, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "value of 2049 bytes"));
	assert_null(etcd_req_cas("k", 0, "v", 1, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "revision 0"));
	assert_null(etcd_req_delete_if("k", -3, err, sizeof(err)));
	assert_null(etcd_req_range_prefix("p/", NULL, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "limit 0"));
	assert_null(etcd_req_range_prefix("p/", NULL, ETCD_RANGE_LIMIT_MAX + 1,
	    0, err, sizeof(err)));
	assert_null(etcd_req_lease_grant(0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "TTL 0"));
	assert_null(etcd_req_lease_keepalive(0, err, sizeof(err)));
	assert_null(etcd_req_lease_revoke(-1, err, sizeof(err)));
	assert_null(etcd_req_watch_prefix("p/", -1, false, err, sizeof(err)));
}

static void
test_prefix_end(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(etcd_prefix_end("/a/", out, sizeof(out)), 3);
	assert_string_equal(out, "/a0");
	assert_int_equal(etcd_prefix_end("a\xff", out, sizeof(out)), 1);
	assert_string_equal(out, "b");
	assert_int_equal(etcd_prefix_end("\xff\xff", out, sizeof(out)), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(etcd_prefix_end("abcdef", out, 4), -1);
}

static void
test_req_range_watch_lease(void **state)
{
	char err[128], *b;
	json_t *o, *c;

	(void)state;
	b = etcd_req_range_prefix("/f/fwd/", NULL, 100, 0, err, sizeof(err));
	o = load(b);
	assert_b64(o, "key", "/f/fwd/", 7);
	assert_b64(o, "range_end", "/f/fwd0", 7);
	assert_str(o, "limit", "100");
	assert_null(json_object_get(o, "revision"));
	json_decref(o);
	free(b);

	/* the next page: keys after the last one, at the first's revision */
	b = etcd_req_range_prefix("/f/fwd/", "/f/fwd/tcp/9", 100, 55, err,
	    sizeof(err));
	o = load(b);
	assert_b64(o, "key", "/f/fwd/tcp/9\0", 13);
	assert_str(o, "revision", "55");
	json_decref(o);
	free(b);

	b = etcd_req_watch_prefix("/f/", 12, true, err, sizeof(err));
	o = load(b);
	c = json_object_get(o, "create_request");
	assert_b64(c, "key", "/f/", 3);
	assert_b64(c, "range_end", "/f0", 3);
	assert_str(c, "start_revision", "12");
	assert_true(json_is_true(json_object_get(c, "prev_kv")));
	assert_true(json_is_true(json_object_get(c, "progress_notify")));
	json_decref(o);
	free(b);

	b = etcd_req_lease_grant(10, 0, err, sizeof(err));
	assert_string_equal(b, "{\"TTL\":\"10\"}");
	free(b);
	b = etcd_req_lease_keepalive(LEASE, err, sizeof(err));
	assert_string_equal(b, "{\"ID\":\"4111120470690158853\"}");
	free(b);
}

static void
test_txn_answers(void **state)
{
	struct etcd_txn_result r;
	struct etcd_error e;
	size_t len;
	char *b;

	(void)state;
	b = slurp("txn_create_ok.json", &len);
	assert_int_equal(etcd_parse_txn(b, len, &r, &e), 0);
	assert_true(r.succeeded);
	assert_false(r.has_kv);
	assert_int_equal(r.hdr.revision, 2);
	assert_true(r.hdr.cluster_id == 15118495548433857066ULL);
	assert_true(r.hdr.member_id == 13668033151171901709ULL);
	etcd_txn_result_free(&r);
	free(b);

	/* the holder comes back with the refusal */
	b = slurp("txn_create_held.json", &len);
	assert_int_equal(etcd_parse_txn(b, len, &r, &e), 0);
	assert_false(r.succeeded);
	assert_true(r.has_kv);
	assert_string_equal(r.kv.key, "/ferry/fwd/tcp/8080");
	assert_int_equal(r.kv.valuelen, 25);
	assert_memory_equal(r.kv.value, "{\"node\":\"n1\",\"session\":7}", 25);
	assert_int_equal(r.kv.create_revision, 2);
	assert_int_equal(r.kv.mod_revision, 2);
	assert_int_equal(r.kv.version, 1);
	assert_true(r.kv.lease == LEASE);
	etcd_txn_result_free(&r);
	free(b);

	b = slurp("txn_cas_stale.json", &len);
	assert_int_equal(etcd_parse_txn(b, len, &r, &e), 0);
	assert_false(r.succeeded);
	assert_int_equal(r.kv.mod_revision, 3);
	etcd_txn_result_free(&r);
	free(b);

	b = slurp("txn_delete_ok.json", &len);
	assert_int_equal(etcd_parse_txn(b, len, &r, &e), 0);
	assert_true(r.succeeded);
	assert_int_equal(r.hdr.revision, 7);
	free(b);

	/* the key is gone: a refusal without a holder */
	b = slurp("txn_delete_gone.json", &len);
	assert_int_equal(etcd_parse_txn(b, len, &r, &e), 0);
	assert_false(r.succeeded);
	assert_false(r.has_kv);
	free(b);
}

static void
test_range_answers(void **state)
{
	struct etcd_range_result r;
	struct etcd_error e;
	size_t len;
	char *b;

	(void)state;
	b = slurp("range_page.json", &len);
	assert_int_equal(etcd_parse_range(b, len, &r, &e), 0);
	assert_int_equal(r.nkvs, 2);
	assert_true(r.more);
	assert_int_equal(r.count, 4);
	assert_string_equal(r.kvs[0].key, "/ferry/fwd/tcp/8080");
	assert_string_equal(r.kvs[1].key, "/ferry/fwd/tcp/8081");
	assert_string_equal((char *)r.kvs[1].value, "{\"port\":8081}");
	assert_int_equal(r.kvs[1].lease, 0);
	etcd_range_result_free(&r);
	free(b);

	b = slurp("range_empty.json", &len);
	assert_int_equal(etcd_parse_range(b, len, &r, &e), 0);
	assert_int_equal(r.nkvs, 0);
	assert_null(r.kvs);
	assert_false(r.more);
	assert_int_equal(r.hdr.revision, 6);
	etcd_range_result_free(&r);
	free(b);
}

static void
test_lease_answers(void **state)
{
	struct etcd_lease_result r;
	struct etcd_header h;
	struct etcd_error e;
	size_t len;
	char *b;

	(void)state;
	b = slurp("grant.json", &len);
	assert_int_equal(etcd_parse_grant(b, len, &r, &e), 0);
	assert_true(r.id == LEASE);
	assert_int_equal(r.ttl, 30);
	free(b);

	b = slurp("keepalive.json", &len);
	assert_int_equal(etcd_parse_keepalive(b, len, &r, &e), 0);
	assert_true(r.id == LEASE);
	assert_int_equal(r.ttl, 30);
	free(b);

	/* no TTL: the lease is gone */
	b = slurp("keepalive_gone.json", &len);
	assert_int_equal(etcd_parse_keepalive(b, len, &r, &e), 0);
	assert_int_equal(r.ttl, 0);
	free(b);

	b = slurp("revoke.json", &len);
	assert_int_equal(etcd_parse_revoke(b, len, &h, &e), 0);
	assert_int_equal(h.revision, 7);
	free(b);

	b = slurp("revoke_notfound.json", &len);
	assert_int_equal(etcd_parse_revoke(b, len, &h, &e), -1);
	assert_int_equal(e.kind, ETCD_E_SERVER);
	assert_int_equal(e.code, ETCD_GRPC_NOT_FOUND);
	assert_string_equal(e.msg, "etcdserver: requested lease not found");
	free(b);
}

/* Each body must fail with a message containing want. */
static void
refused(const char *body, int want_kind, const char *want)
{
	struct etcd_txn_result t;
	struct etcd_error e;

	assert_int_equal(etcd_parse_txn(body, strlen(body), &t, &e), -1);
	assert_int_equal(e.kind, want_kind);
	if (strstr(e.msg, want) == NULL)
		fail_msg("\"%s\" not in \"%s\"", want, e.msg);
}

#define HDR	"\"header\":{\"revision\":\"3\"}"

static void
test_malformed(void **state)
{
	char *big;

	(void)state;
	refused("", ETCD_E_MALFORMED, "not JSON");
	refused("garbage\x1b[2J", ETCD_E_MALFORMED, "not JSON");
	refused("[1]", ETCD_E_MALFORMED, "not a JSON object");
	refused("{}", ETCD_E_MALFORMED, "no \"header\"");
	refused("{\"header\":7}", ETCD_E_MALFORMED, "\"header\" is not");
	refused("{\"header\":{\"revision\":\"x1\"}}", ETCD_E_MALFORMED,
	    "\"revision\" is not an integer");
	refused("{\"header\":{\"revision\":\"9223372036854775808\"}}",
	    ETCD_E_MALFORMED, "out of range");
	refused("{\"header\":{\"member_id\":\"-1\"}}", ETCD_E_MALFORMED,
	    "non-negative");
	refused("{" HDR ",\"succeeded\":\"yes\"}", ETCD_E_MALFORMED,
	    "true or false");
	refused("{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":"
	    "[{\"key\":\"a2V5\",\"value\":\"!!\"}]}}]}", ETCD_E_MALFORMED,
	    "value of key is not base64");
	refused("{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":"
	    "[{\"value\":\"dg==\"}]}}]}", ETCD_E_MALFORMED, "without a key");
	refused("{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":"
	    "[{\"key\":\"YQBi\"}]}}]}", ETCD_E_MALFORMED, "NUL byte");
	refused("{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":"
	    "[{\"key\":\"YQ==\"},{\"key\":\"Yg==\"}]}}]}", ETCD_E_MALFORMED,
	    "2 keys read back");
	refused("{" HDR ",\"header\":{}}", ETCD_E_MALFORMED, "not JSON");
	/* etcd's own errors, escaped */
	refused("{\"error\":\"etcdserver: no leader\",\"code\":14,"
	    "\"message\":\"etcdserver: no leader\"}", ETCD_E_SERVER,
	    "etcdserver: no leader");
	refused("{\"error\":{\"grpc_code\":14,\"message\":\"bad\\u001b[0m\"}}",
	    ETCD_E_SERVER, "bad\\x1b[0m");
	refused("{\"error\":5}", ETCD_E_MALFORMED, "neither");

	/* a value over the bound, and an answer over the bound */
	big = malloc(ETCD_RESP_MAX + 2);
	assert_non_null(big);
	snprintf(big, ETCD_RESP_MAX, "{" HDR ",\"responses\":[{\"response_"
	    "range\":{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"");
	memset(big + strlen(big), 'A', 4000);
	big[strlen("{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":"
	    "[{\"key\":\"YQ==\",\"value\":\"") + 4000] = '\0';
	strcat(big, "\"}]}}]}");
	refused(big, ETCD_E_MALFORMED, "value of a of about 3000 bytes, over the 2048-byte bound");
	memset(big, ' ', ETCD_RESP_MAX + 1);
	big[ETCD_RESP_MAX + 1] = '\0';
	refused(big, ETCD_E_MALFORMED, "over the 1048576-byte bound");
	free(big);
}

static void
test_lease_malformed(void **state)
{
	struct etcd_lease_result r;
	struct etcd_error e;
	const char *s;

	(void)state;
	s = "{\"header\":{},\"ID\":\"0\",\"TTL\":\"5\"}";
	assert_int_equal(etcd_parse_grant(s, strlen(s), &r, &e), -1);
	assert_non_null(strstr(e.msg, "ID 0"));
	s = "{\"header\":{},\"ID\":\"1\",\"error\":\"no space\"}";
	assert_int_equal(etcd_parse_grant(s, strlen(s), &r, &e), -1);
	assert_int_equal(e.kind, ETCD_E_SERVER);
	assert_non_null(strstr(e.msg, "no space"));
	s = "{\"result\":5}";
	assert_int_equal(etcd_parse_keepalive(s, strlen(s), &r, &e), -1);
	s = "{\"result\":{\"header\":{},\"ID\":\"1\",\"TTL\":\"-1\"}}";
	assert_int_equal(etcd_parse_keepalive(s, strlen(s), &r, &e), -1);
}

static void
test_endpoints(void **state)
{
	struct etcd_endpoints ep;
	char err[256];

	(void)state;
	assert_int_equal(etcd_endpoints_parse("etcd:http://127.0.0.1:2379,"
	    "http://etcd-2.example:2379/,http://[::1]:2379", &ep, err,
	    sizeof(err)), 0);
	assert_int_equal(ep.n, 3);
	assert_false(ep.tls);
	assert_string_equal(ep.url[0], "http://127.0.0.1:2379");
	assert_string_equal(ep.url[1], "http://etcd-2.example:2379");
	assert_string_equal(ep.url[2], "http://[::1]:2379");
	assert_int_equal(etcd_endpoints_parse("etcd:https://etcd-1.example,"
	    "https://[::1]:2379/", &ep, err, sizeof(err)), 0);
	assert_true(ep.tls);
	assert_string_equal(ep.url[1], "https://[::1]:2379");
	assert_int_equal(etcd_endpoints_parse("etcd:http://h", &ep, err,
	    sizeof(err)), 0);
	/* one fleet, one way: a mix of http:// and https:// is refused */
	assert_int_equal(etcd_endpoints_parse("etcd:https://a:1,http://b:2",
	    &ep, err, sizeof(err)), -1);
	assert_string_equal(err, "URL http://b:2 is http:// while https://a:1 "
	    "is https://: the members are all https:// or all http://");
	assert_int_equal(etcd_endpoints_parse("etcd:http://a,http://b,"
	    "https://c", &ep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "all https:// or all http://"));

	assert_int_equal(etcd_endpoints_parse("http://h:1", &ep, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "is not etcd:URL"));
	assert_int_equal(etcd_endpoints_parse("etcd:", &ep, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "an empty URL");
	assert_int_equal(etcd_endpoints_parse("etcd:http://a,,http://b", &ep,
	    err, sizeof(err)), -1);
	assert_int_equal(etcd_endpoints_parse("etcd:ftp://h", &ep, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_endpoints_parse("etcd:http://h:0", &ep, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_endpoints_parse("etcd:http://h:99999", &ep, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_endpoints_parse("etcd:http://h/v3", &ep, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_endpoints_parse("etcd:http://u@h", &ep, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_endpoints_parse("etcd:http://h\x1b[2J", &ep, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "\\x1b[2J"));
	assert_int_equal(etcd_endpoints_parse("etcd:http://a,http://a/", &ep,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "listed twice"));
	assert_int_equal(etcd_endpoints_parse("etcd:http://[::1", &ep, err,
	    sizeof(err)), -1);
	assert_int_equal(etcd_endpoints_parse("etcd:http://a,http://b,http://c,"
	    "http://d,http://e,http://f,http://g,http://h,http://i,http://j,"
	    "http://k,http://l,http://m,http://n,http://o,http://p,http://q",
	    &ep, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 16 URLs");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_put_if_absent),
		cmocka_unit_test(test_req_cas_delete),
		cmocka_unit_test(test_req_refusals),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_req_range_watch_lease),
		cmocka_unit_test(test_txn_answers),
		cmocka_unit_test(test_range_answers),
		cmocka_unit_test(test_lease_answers),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_lease_malformed),
		cmocka_unit_test(test_endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
