/* The GatewayPorts table (OpenSSH's channel_fwd_bind_addr) and the
 * PermitOpen / PermitListen matching rules, and ferryd's decisions on
 * a forward with the sentences that explain them. */
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

/* ferryd's decisions: everything allowed but what a test changes. */
static struct fwd_srv_rules
open_rules(void)
{
	struct fwd_srv_rules r;

	memset(&r, 0, sizeof(r));
	r.allow_tcp = FWD_DIRS_ALL;
	r.allow_streamlocal = FWD_DIRS_ALL;
	r.key_permits_cover_sl = true;
	r.npermit_open = -1;
	r.npermit_listen = -1;
	r.gateway_ports = GW_MODE_NO;
	return r;
}

static struct fwd_key_rules
open_key(void)
{
	static char file[] = "/keys/alice";
	struct fwd_key_rules k;

	memset(&k, 0, sizeof(k));
	k.port_forwarding = true;
	k.file = file;
	k.line = 3;
	return k;
}

/* req decided under r and k is want, told as text (NULL: not checked). */
static void
decide(const struct fwd_srv_rules *r, const struct fwd_key_rules *k,
    enum fwd_req_kind kind, const char *name, int port, enum fwd_deny want,
    const char *text)
{
	struct fwd_req req = { kind, name, port, true };
	enum fwd_deny got = fwd_srv_check(r, k, &req);
	char out[1024];

	if (got != want)
		fail_msg("kind %d \"%s\" %d: rule %d, want %d", kind, name,
		    port, got, want);
	if (text == NULL)
		return;
	fwd_deny_text(got, r, k, &req, out, sizeof(out));
	assert_string_equal(out, text);
}

static void
test_srv_allowed(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();

	(void)state;
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432, FWD_OK,
	    "connection to db port 5432: allowed");
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 8080, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0, FWD_OK, NULL);
}

static void
test_srv_disable_forwarding(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();

	(void)state;
	r.disable_forwarding = true;
	r.allow_tcp = FWD_DIRS_NONE;	/* DisableForwarding comes first */
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432,
	    FWD_DENY_DISABLE_FORWARDING, "connection to db port 5432: "
	    "DisableForwarding yes forbids local (-L) forwarding");
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 8080,
	    FWD_DENY_DISABLE_FORWARDING, "remote forward \"\":8080: "
	    "DisableForwarding yes forbids remote (-R) forwarding");
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0,
	    FWD_DENY_DISABLE_FORWARDING, "connection to socket /run/a.sock: "
	    "DisableForwarding yes forbids local Unix-socket forwarding");
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0,
	    FWD_DENY_DISABLE_FORWARDING, "remote forward of socket "
	    "/run/b.sock: DisableForwarding yes forbids remote Unix-socket "
	    "forwarding");
}

static void
test_srv_allow_tcp(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();

	(void)state;
	r.allow_tcp = FWD_DIRS_NONE;
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432, FWD_DENY_ALLOW_TCP,
	    "connection to db port 5432: AllowTcpForwarding no forbids local "
	    "(-L) forwarding");
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "localhost", 8080,
	    FWD_DENY_ALLOW_TCP, "remote forward \"localhost\":8080: "
	    "AllowTcpForwarding no forbids remote (-R) forwarding");
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0, FWD_OK, NULL);
	r.allow_tcp = FWD_DIRS_LOCAL;
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 8080, FWD_DENY_ALLOW_TCP,
	    "remote forward \"\":8080: AllowTcpForwarding local forbids "
	    "remote (-R) forwarding");
	r.allow_tcp = FWD_DIRS_REMOTE;
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 8080, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432, FWD_DENY_ALLOW_TCP,
	    "connection to db port 5432: AllowTcpForwarding remote forbids "
	    "local (-L) forwarding");
}

static void
test_srv_allow_streamlocal(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();

	(void)state;
	r.allow_streamlocal = FWD_DIRS_NONE;
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0,
	    FWD_DENY_ALLOW_STREAMLOCAL, "connection to socket /run/a.sock: "
	    "AllowStreamLocalForwarding no forbids local Unix-socket "
	    "forwarding (direct-streamlocal)");
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0,
	    FWD_DENY_ALLOW_STREAMLOCAL, "remote forward of socket "
	    "/run/b.sock: AllowStreamLocalForwarding no forbids remote "
	    "Unix-socket forwarding (streamlocal-forward)");
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432, FWD_OK, NULL);
	r.allow_streamlocal = FWD_DIRS_LOCAL;
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0,
	    FWD_DENY_ALLOW_STREAMLOCAL, "remote forward of socket "
	    "/run/b.sock: AllowStreamLocalForwarding local forbids remote "
	    "Unix-socket forwarding (streamlocal-forward)");
	r.allow_streamlocal = FWD_DIRS_REMOTE;
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0,
	    FWD_DENY_ALLOW_STREAMLOCAL, NULL);
}

static void
test_srv_key_no_port_forwarding(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();

	(void)state;
	k.port_forwarding = false;
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432,
	    FWD_DENY_KEY_NO_PORT_FORWARDING, "connection to db port 5432: "
	    "the key's authorized_keys line (/keys/alice line 3) has "
	    "no-port-forwarding");
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0,
	    FWD_DENY_KEY_NO_PORT_FORWARDING, NULL);
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0,
	    FWD_DENY_KEY_NO_PORT_FORWARDING, NULL);
	k.restricted = true;
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 8080,
	    FWD_DENY_KEY_NO_PORT_FORWARDING, "remote forward \"\":8080: the "
	    "key's authorized_keys line (/keys/alice line 3) has restrict "
	    "without port-forwarding");
	/* the server's rules are told before the key's */
	r.allow_tcp = FWD_DIRS_LOCAL;
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 8080, FWD_DENY_ALLOW_TCP, NULL);
}

static void
test_srv_listen_port(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();
	struct fwd_req req = { FWD_REQ_LISTEN_TCP, "", 0, false };
	char out[256];

	(void)state;
	assert_int_equal(fwd_srv_check(&r, &k, &req), FWD_DENY_PORT0_NO_REPLY);
	fwd_deny_text(FWD_DENY_PORT0_NO_REPLY, &r, &k, &req, out, sizeof(out));
	assert_string_equal(out, "remote forward \"\":0: a port-0 request "
	    "must ask for a reply to learn its port");
	req.want_reply = true;
	assert_int_equal(fwd_srv_check(&r, &k, &req), FWD_OK);
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 1023, FWD_DENY_PRIVILEGED_PORT,
	    "remote forward \"\":1023: privileged ports are not forwarded");
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 1, FWD_DENY_PRIVILEGED_PORT,
	    NULL);
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 1024, FWD_OK, NULL);
	/* opens may reach any port */
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 22, FWD_OK, NULL);
}

static void
test_srv_permit_listen(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();
	struct fwd_permit cfg = { "localhost", 8080 }, key = { "", 9090 };

	(void)state;
	r.permit_listen = &cfg;
	r.npermit_listen = 1;
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "localhost", 8080, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "localhost", 8081,
	    FWD_DENY_PERMIT_LISTEN, "remote forward \"localhost\":8081: not "
	    "allowed by PermitListen");
	r.npermit_listen = 0;			/* none */
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "localhost", 8080,
	    FWD_DENY_PERMIT_LISTEN, NULL);
	r.npermit_listen = -1;
	k.listen = &key;
	k.nlisten = 1;
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "0.0.0.0", 9090, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "0.0.0.0", 8080,
	    FWD_DENY_KEY_PERMIT_LISTEN, "remote forward \"0.0.0.0\":8080: not "
	    "allowed by permitlisten in /keys/alice line 3");
	/* a listen list says nothing about opens */
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 8080, FWD_OK, NULL);
}

static void
test_srv_permit_open(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();
	struct fwd_permit cfg = { "db", 5432 }, key = { "db", -1 };

	(void)state;
	r.permit_open = &cfg;
	r.npermit_open = 1;
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 5432, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_OPEN_TCP, "web", 80, FWD_DENY_PERMIT_OPEN,
	    "connection to web port 80: not allowed by PermitOpen");
	r.npermit_open = -1;
	k.open = &key;
	k.nopen = 1;
	decide(&r, &k, FWD_REQ_OPEN_TCP, "db", 6379, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_OPEN_TCP, "web", 80, FWD_DENY_KEY_PERMIT_OPEN,
	    "connection to web port 80: not allowed by permitopen in "
	    "/keys/alice line 3");
	/* an open list says nothing about listeners */
	decide(&r, &k, FWD_REQ_LISTEN_TCP, "", 8080, FWD_OK, NULL);
}

static void
test_srv_key_permits_cover_sl(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();
	struct fwd_permit p = { "db", 5432 };

	(void)state;
	k.open = &p;
	k.nopen = 1;
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0,
	    FWD_DENY_KEY_PERMITS_COVER_SL, "connection to socket "
	    "/run/a.sock: the key's authorized_keys line (/keys/alice line 3) "
	    "has permitopen=, which names TCP destinations only, so it gets "
	    "no local Unix-socket forwarding (KeyPermitsCoverStreamLocal "
	    "yes)");
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0, FWD_OK, NULL);
	k.open = NULL;
	k.nopen = 0;
	k.listen = &p;
	k.nlisten = 1;
	decide(&r, &k, FWD_REQ_OPEN_UNIX, "/run/a.sock", 0, FWD_OK, NULL);
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0,
	    FWD_DENY_KEY_PERMITS_COVER_SL, "remote forward of socket "
	    "/run/b.sock: the key's authorized_keys line (/keys/alice line 3) "
	    "has permitlisten=, which names TCP listeners only, so it gets "
	    "no remote Unix-socket forwarding (KeyPermitsCoverStreamLocal "
	    "yes)");
	r.key_permits_cover_sl = false;		/* sshd's rule */
	decide(&r, &k, FWD_REQ_LISTEN_UNIX, "/run/b.sock", 0, FWD_OK, NULL);
}

static void
test_srv_bind(void **state)
{
	struct fwd_srv_rules r = open_rules();
	struct fwd_key_rules k = open_key();
	struct fwd_req req = { FWD_REQ_LISTEN_TCP, "slow.example", 8080, true };
	enum bind_scope scope;
	const char *addr;
	char why[256], out[512];

	(void)state;
	/* GatewayPorts no binds loopback whatever was asked */
	assert_int_equal(fwd_srv_bind(&r, &req, &scope, &addr, why,
	    sizeof(why)), FWD_OK);
	assert_int_equal(scope, SCOPE_LOOPBACK);
	r.gateway_ports = GW_MODE_CLIENTSPECIFIED;
	assert_int_equal(fwd_srv_bind(&r, &req, &scope, &addr, why,
	    sizeof(why)), FWD_DENY_BIND_NOT_LITERAL);
	fwd_deny_text(FWD_DENY_BIND_NOT_LITERAL, &r, &k, &req, out,
	    sizeof(out));
	assert_string_equal(out, "remote forward \"slow.example\":8080: the "
	    "bind address is not an address literal (ferryd does not resolve "
	    "names for remote forwards)");
	req.name = "192.0.2.1";
	assert_int_equal(fwd_srv_bind(&r, &req, &scope, &addr, why,
	    sizeof(why)), FWD_OK);
	assert_int_equal(scope, SCOPE_ADDR);
	assert_string_equal(addr, "192.0.2.1");
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
		cmocka_unit_test(test_srv_allowed),
		cmocka_unit_test(test_srv_disable_forwarding),
		cmocka_unit_test(test_srv_allow_tcp),
		cmocka_unit_test(test_srv_allow_streamlocal),
		cmocka_unit_test(test_srv_key_no_port_forwarding),
		cmocka_unit_test(test_srv_listen_port),
		cmocka_unit_test(test_srv_permit_listen),
		cmocka_unit_test(test_srv_permit_open),
		cmocka_unit_test(test_srv_key_permits_cover_sl),
		cmocka_unit_test(test_srv_bind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
