/* Unit tests for server/config_match.c: Match lines and their errors,
 * which keywords a block may hold, each criterion, and the values one
 * connection resolves to (sshd's rule: the first matching block that sets
 * a keyword wins, else the global value). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static struct server_config cfg;
static char err[1024];

static int
setup(void **state)
{
	server_config_init(&cfg);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	server_config_free(&cfg);
	return 0;
}

static void
load(const char *text)
{
	server_config_free(&cfg);
	server_config_init(&cfg);
	err[0] = '\0';
	if (server_config_text(&cfg, text, strlen(text), "m.conf", err,
	    sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	if (server_config_finish(&cfg, err, sizeof(err)) != 0)
		fail_msg("finish: %s", err);
}

static void
bad(const char *text, const char *want)
{
	server_config_free(&cfg);
	server_config_init(&cfg);
	err[0] = '\0';
	if (server_config_text(&cfg, text, strlen(text), "m.conf", err,
	    sizeof(err)) != -1)
		fail_msg("'%s' accepted", text);
	if (strcmp(err, want) != 0)
		fail_msg("message '%s', expected '%s'", err, want);
}

static struct sc_conninfo
conn(const char *user, const char *addr, const char *laddr, int lport)
{
	struct sc_conninfo ci = { .user = user, .host = addr, .addr = addr,
	    .laddr = laddr, .lport = lport };

	return ci;
}

/* How many blocks match user from addr to laddr:lport. */
static int
nmatch(const char *user, const char *addr, const char *laddr, int lport)
{
	struct sc_conninfo ci = conn(user, addr, laddr, lport);
	struct server_conn_cfg v;

	return server_conn_resolve(&cfg, &ci, &v);
}

static void
test_match_errors(void **state)
{
	bad("Port 22\nMatch Group wheel\n", "m.conf line 2: Match Group: "
	    "ferryd has no system accounts, so users have no groups (Match "
	    "User names users)");
	bad("Match User a Group b\n", "m.conf line 1: Match Group: ferryd has "
	    "no system accounts, so users have no groups (Match User names "
	    "users)");
	bad("Match RDomain r1\n", "m.conf line 1: Match RDomain: ferryd does "
	    "not use routing domains");
	bad("Match Colour blue\n", "m.conf line 1: Match: unsupported "
	    "attribute 'Colour' (User, Address, LocalAddress, LocalPort, Host "
	    "or All)");
	bad("Match\n", "m.conf line 1: Match: one or more attributes "
	    "required");
	bad("Match User\n", "m.conf line 1: Match: missing criteria for "
	    "User");
	bad("Match User alice Address\n", "m.conf line 1: Match: missing "
	    "criteria for Address");
	bad("Match All User bob\n", "m.conf line 1: Match: 'All' cannot be "
	    "combined with other Match attributes");
	bad("Match User bob All\n", "m.conf line 1: Match: 'All' cannot be "
	    "combined with other Match attributes");
	bad("Match LocalPort 99999\n", "m.conf line 1: Match LocalPort: "
	    "invalid port '99999'");
	bad("Match Address 10.0.0.1/8\n", "m.conf line 1: Match Address: "
	    "invalid address list '10.0.0.1/8'");
	bad("Match LocalAddress 10.0.0.0/8,,\n", "m.conf line 1: Match "
	    "LocalAddress: invalid address list '10.0.0.0/8,,'");
	/* keywords a block may not hold, sshd's words */
	bad("Match User bob\n  AllowTcpForwarding no\n  Port 2222\n",
	    "m.conf line 3: Directive 'Port' is not allowed within a Match "
	    "block");
	bad("Match All\nMaxListeners 3\n", "m.conf line 2: Directive "
	    "'MaxListeners' is not allowed within a Match block");
	bad("Match User bob\nForceCommand /bin/true\n", "m.conf line 2: "
	    "ForceCommand within a Match block is not supported: ferryd runs "
	    "no commands (a session only lists its forwards), so a block "
	    "forcing one cannot be honoured");
	/* read once for the whole server: a block cannot change them */
	bad("Match User bob\nTrustedUserCAKeys /ca.pub\n", "m.conf line 2: "
	    "TrustedUserCAKeys within a Match block is not supported: ferryd "
	    "reads it for the whole server only");
	bad("Match User bob\nRevokedKeys /krl\n", "m.conf line 2: "
	    "RevokedKeys within a Match block is not supported: ferryd "
	    "reads it for the whole server only");
	bad("Match User bob\nAuthorizedPrincipalsCommand /p %u\n", "m.conf "
	    "line 2: AuthorizedPrincipalsCommand within a Match block is not "
	    "supported: ferryd reads it for the whole server only");
	bad("Match All\nAuthorizedPrincipalsCommandUser nobody\n", "m.conf "
	    "line 2: AuthorizedPrincipalsCommandUser within a Match block is "
	    "not supported: ferryd reads it for the whole server only");
	bad("Match Address 10.0.0.0/8\nLogLevel DEBUG\n", "m.conf line 2: "
	    "LogLevel within a Match block is not supported: ferryd has one "
	    "log level for all its connections");
	bad("Match User bob\nBanner /etc/issue\n", "m.conf line 2: Banner "
	    "within a 'Match User' block is not supported: ferryd sends the "
	    "banner before it learns the user name");
	/* values are checked inside a block as outside */
	bad("Match User bob\nGatewayPorts maybe\n", "m.conf line 2: "
	    "GatewayPorts: bad value 'maybe' (no, yes or clientspecified)");
	bad("Match User bob\nChrootDirectory /srv\n", "m.conf line 2: "
	    "ChrootDirectory is not supported: ferryd has no chroot "
	    "(Unix-socket paths are confined by StreamLocalDirectory)");
	bad("Match User bob\nNoSuchThing 1\n", "m.conf line 2: Bad "
	    "configuration option: NoSuchThing");
}

static void
test_match_too_many(void **state)
{
	char text[SC_MAX_MATCH * 20 + 64];
	size_t off = 0;
	int i;

	for (i = 0; i <= SC_MAX_MATCH; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "Match User u%d\n", i);
	bad(text, "m.conf line 65: Match: too many Match blocks (max 64)");
}

static void
test_match_accepts(void **state)
{
	/* the keywords a block may hold, and no-effect ones sshd allows */
	load("AllowTcpForwarding yes\n"
	    "Match User alice,bob Address 10.0.0.0/8,!10.9.0.0/16\n"
	    "  AllowTcpForwarding no\n  AllowStreamLocalForwarding local\n"
	    "  AuthorizedKeysFile /keys/%u .ssh/k2\n  ClientAliveInterval 1m\n"
	    "  ClientAliveCountMax 5\n  ChannelTimeout direct-tcpip=10m\n"
	    "  UnusedConnectionTimeout 5m\n  DisableForwarding no\n"
	    "  GatewayPorts clientspecified\n  MaxAuthTries 2\n"
	    "  MaxSessions 4\n  PermitListen 8080\n  PermitOpen a:1 b:2\n"
	    "  StreamLocalBindUnlink yes\n  StreamLocalBindMask 0077\n"
	    "  PubkeyAcceptedAlgorithms ssh-ed25519\n"
	    "  PasswordAuthentication no\n  PermitTTY no\n"
	    "  X11Forwarding no\n"
	    "match all # comment\n  Banner none\n");
	assert_int_equal(cfg.nmatch, 2);
	/* none of it touched the global values */
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_ALL);
	assert_int_equal(cfg.gateway_ports, GW_NO);
	assert_int_equal(cfg.npermit_open, -1);
	assert_int_equal(cfg.client_alive_interval, 0);
	assert_string_equal(cfg.authorized_keys[0], ".ssh/authorized_keys");
}

static void
test_match_criteria(void **state)
{
	load("Match User alice,b?b,!bobby,adm*\n AllowTcpForwarding no\n");
	assert_int_equal(nmatch("alice", NULL, NULL, -1), 1);
	assert_int_equal(nmatch("bob", NULL, NULL, -1), 1);
	assert_int_equal(nmatch("admin", NULL, NULL, -1), 1);
	assert_int_equal(nmatch("Alice", NULL, NULL, -1), 0);	/* case */
	assert_int_equal(nmatch("carol", NULL, NULL, -1), 0);
	assert_int_equal(nmatch(NULL, "1.2.3.4", NULL, -1), 0);	/* unknown */

	load("Match User !bob\n AllowTcpForwarding no\n");
	/* only negations: nothing matches (sshd's pattern lists) */
	assert_int_equal(nmatch("carol", NULL, NULL, -1), 0);
	assert_int_equal(nmatch("bob", NULL, NULL, -1), 0);

	load("Match Address 10.0.0.0/8,!10.9.0.0/16,192.168.1.*,::1\n"
	    " GatewayPorts yes\n");
	assert_int_equal(nmatch(NULL, "10.1.2.3", NULL, -1), 1);
	assert_int_equal(nmatch(NULL, "10.9.2.3", NULL, -1), 0);
	assert_int_equal(nmatch(NULL, "192.168.1.77", NULL, -1), 1);
	assert_int_equal(nmatch(NULL, "192.168.2.77", NULL, -1), 0);
	assert_int_equal(nmatch(NULL, "::1", NULL, -1), 1);
	assert_int_equal(nmatch(NULL, "::ffff:10.0.0.5", NULL, -1), 1);
	assert_int_equal(nmatch("x", NULL, NULL, -1), 0);

	load("Match LocalAddress 127.0.0.0/8 LocalPort 2222\n"
	    " GatewayPorts yes\n");
	assert_int_equal(nmatch(NULL, "1.1.1.1", "127.0.0.1", 2222), 1);
	assert_int_equal(nmatch(NULL, "1.1.1.1", "127.0.0.1", 22), 0);
	assert_int_equal(nmatch(NULL, "1.1.1.1", "10.0.0.1", 2222), 0);
	assert_int_equal(nmatch(NULL, "1.1.1.1", NULL, 2222), 0);

	/* Host: the address text (no DNS), patterns without case */
	load("Match Host 10.0.*.1,!10.0.9.1\n GatewayPorts yes\n"
	    "Match HOST Example.COM\n GatewayPorts no\n");
	assert_int_equal(nmatch(NULL, "10.0.3.1", NULL, -1), 1);
	assert_int_equal(nmatch(NULL, "10.0.9.1", NULL, -1), 0);
	{
		struct sc_conninfo ci = { .host = "example.com", .lport = -1 };
		struct server_conn_cfg v;

		assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 1);
		assert_int_equal(v.gateway_ports, GW_NO);
	}

	load("Match All\n GatewayPorts yes\n");
	assert_int_equal(nmatch(NULL, NULL, NULL, -1), 1);

	/* every criterion of a line must match */
	load("Match User alice Address 127.0.0.2 LocalPort 22\n"
	    " GatewayPorts yes\n");
	assert_int_equal(nmatch("alice", "127.0.0.2", "1.1.1.1", 22), 1);
	assert_int_equal(nmatch("alice", "127.0.0.1", "1.1.1.1", 22), 0);
	assert_int_equal(nmatch("bob", "127.0.0.2", "1.1.1.1", 22), 0);
	assert_int_equal(nmatch("alice", "127.0.0.2", "1.1.1.1", 23), 0);
}

/* The first matching block that sets a keyword gives it; keywords no
 * matching block sets keep the global value. */
static void
test_match_resolve(void **state)
{
	struct sc_conninfo ci;
	struct server_conn_cfg v;

	load("AllowTcpForwarding remote\nPermitOpen g:1\nClientAliveInterval 7\n"
	    "Match Address 127.0.0.2\n"
	    "  PermitOpen a:1 b:2\n  MaxAuthTries 2\n"
	    "Match User alice\n"
	    "  AllowTcpForwarding no\n  PermitOpen c:3\n  MaxAuthTries 9\n"
	    "  AuthorizedKeysFile /k/%u\n  ChannelTimeout session=1m\n"
	    "Match All\n"
	    "  AllowTcpForwarding local\n  GatewayPorts yes\n"
	    "  ClientAliveCountMax 0\n");
	/* only All: its values over the global ones */
	ci = conn("bob", "127.0.0.1", "127.0.0.1", 22);
	assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 1);
	assert_int_equal(v.allow_tcp_forwarding, FWD_ALLOW_LOCAL);
	assert_int_equal(v.gateway_ports, GW_YES);
	assert_int_equal(v.client_alive_count_max, 0);
	assert_int_equal(v.client_alive_interval, 7);
	assert_int_equal(v.npermit_open, 1);
	assert_string_equal(v.permit_open[0].host, "g");
	assert_int_equal(v.max_auth_tries, 6);
	assert_int_equal(v.nauthorized_keys, 1);
	assert_string_equal(v.authorized_keys[0], ".ssh/authorized_keys");
	assert_int_equal(v.nchan_timeouts, 0);
	/* the address block first, then alice's, then All */
	ci = conn("alice", "127.0.0.2", "127.0.0.1", 22);
	assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 3);
	assert_true(v.matched == 7);
	assert_string_equal(server_config_match_where(&cfg, 1),
	    "m.conf line 7");
	assert_int_equal(v.npermit_open, 2);
	assert_string_equal(v.permit_open[1].host, "b");
	assert_int_equal(v.max_auth_tries, 2);
	assert_int_equal(v.allow_tcp_forwarding, FWD_ALLOW_NO);
	assert_string_equal(v.authorized_keys[0], "/k/%u");
	assert_int_equal(v.nchan_timeouts, 1);
	assert_int_equal(v.chan_timeouts[0].secs, 60);
	assert_string_equal(v.chan_timeouts_text, "session=1m");
	/* before the user is named, alice's block waits */
	ci = conn(NULL, "127.0.0.2", "127.0.0.1", 22);
	assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 2);
	assert_true(v.matched == 5);
	assert_int_equal(v.allow_tcp_forwarding, FWD_ALLOW_LOCAL);
	/* no connection: the global values */
	assert_int_equal(server_conn_resolve(&cfg, NULL, &v), 0);
	assert_int_equal(v.allow_tcp_forwarding, FWD_ALLOW_REMOTE);
	assert_int_equal(v.gateway_ports, GW_NO);
	assert_int_equal(v.client_alive_count_max, 3);
	assert_string_equal(v.pubkey_algs, cfg.pubkey_algs);
}

/* DisableForwarding yes in a matching block wins over an
 * AllowTcpForwarding of an earlier one (it overrides every forwarding
 * option, as in sshd). */
static void
test_match_disable(void **state)
{
	struct sc_conninfo ci = conn("alice", "10.0.0.1", NULL, -1);
	struct server_conn_cfg v;

	load("Match User alice\n  AllowTcpForwarding yes\n"
	    "Match Address 10.0.0.0/8\n  DisableForwarding yes\n");
	assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 2);
	assert_true(v.disable_forwarding);
	assert_false(cfg.disable_forwarding);
}

static char *
tmpfile_with(const char *text)
{
	static char path[4][64];
	static int n;
	char *p = path[n++ % 4];
	FILE *f;
	int fd;

	snprintf(p, 64, "/tmp/test_config_match.XXXXXX");
	assert_true((fd = mkstemp(p)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	return p;
}

/* Include inside a block: the file's lines belong to it, a Match in the
 * file ends with the file (sshd's rule), and the end of a file ends its
 * block. */
static void
test_match_include(void **state)
{
	char text[512], *inc;
	struct sc_conninfo ci;
	struct server_conn_cfg v;

	inc = tmpfile_with("GatewayPorts yes\nMatch User carol\n"
	    "PermitOpen c:1\n");
	snprintf(text, sizeof(text), "Match User bob\nInclude %s\n"
	    "AllowTcpForwarding no\n", inc);
	load(text);
	assert_int_equal(cfg.nmatch, 2);
	ci = conn("bob", "1.1.1.1", NULL, -1);
	assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 1);
	assert_int_equal(v.gateway_ports, GW_YES);
	assert_int_equal(v.allow_tcp_forwarding, FWD_ALLOW_NO);
	assert_int_equal(v.npermit_open, -1);
	ci = conn("carol", "1.1.1.1", NULL, -1);
	assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 1);
	assert_int_equal(v.npermit_open, 1);
	assert_int_equal(v.allow_tcp_forwarding, FWD_ALLOW_ALL);
	unlink(inc);

	/* a block at the end of an included file ends there */
	inc = tmpfile_with("Match User dave\nGatewayPorts yes\n");
	snprintf(text, sizeof(text), "Include %s\nGatewayPorts "
	    "clientspecified\n", inc);
	load(text);
	assert_int_equal(cfg.gateway_ports, GW_CLIENTSPECIFIED);
	ci = conn("dave", "1.1.1.1", NULL, -1);
	assert_int_equal(server_conn_resolve(&cfg, &ci, &v), 1);
	assert_int_equal(v.gateway_ports, GW_YES);
	unlink(inc);

	/* an error in an included block names the included file's line */
	inc = tmpfile_with("Match User x\nPort 1\n");
	snprintf(text, sizeof(text), "Include %s\n", inc);
	server_config_free(&cfg);
	server_config_init(&cfg);
	assert_int_equal(server_config_text(&cfg, text, strlen(text), "m.conf",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2: Directive 'Port' is not allowed "
	    "within a Match block"));
	assert_non_null(strstr(err, inc));
	unlink(inc);
}

/* -o lines come first and stay global; a file's block ends with it. */
static void
test_match_cmdline(void **state)
{
	server_config_free(&cfg);
	server_config_init(&cfg);
	assert_int_equal(server_config_text(&cfg, "Match User a\nGatewayPorts "
	    "yes\n", 30, "m.conf", err, sizeof(err)), 0);
	assert_int_equal(server_config_line(&cfg, "Port 2", "command line",
	    err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0], 2);
	assert_int_equal(server_config_line(&cfg, "Match All", "command line",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "command line: Match is not supported as a "
	    "command-line option");
}

static char *
printed(const struct sc_conninfo *ci)
{
	char *buf = NULL;
	size_t len;
	FILE *fp;

	assert_non_null(fp = open_memstream(&buf, &len));
	server_config_print_conn(&cfg, ci, fp);
	fclose(fp);
	return buf;
}

static void
test_match_print(void **state)
{
	struct sc_conninfo ci = { .lport = -1 };
	char spec[] = "user=alice,addr=127.0.0.2,laddr=127.0.0.1,lport=2222";
	char bad1[] = "user=alice,colour=blue", bad2[] = "lport=0";
	char *out;

	load("Match User alice Address 127.0.0.2\n"
	    "  AllowTcpForwarding local\n  PermitOpen h:80 [::1]:22\n"
	    "  AuthorizedKeysFile /k/%u none\n"
	    "Match LocalPort 2222\n  PermitListen 127.0.0.1:9000\n"
	    "  GatewayPorts clientspecified\n  ChannelTimeout session=2m\n"
	    "  UnusedConnectionTimeout 1h\n");
	out = printed(&ci);
	assert_non_null(strstr(out, "\nallowtcpforwarding yes\n"));
	assert_non_null(strstr(out, "\npermitopen any\n"));
	assert_non_null(strstr(out, "\nunusedconnectiontimeout none\n"));
	free(out);
	assert_int_equal(server_conninfo_parse(spec, &ci, err, sizeof(err)),
	    0);
	assert_int_equal(ci.lport, 2222);
	assert_string_equal(ci.laddr, "127.0.0.1");
	out = printed(&ci);
	assert_non_null(strstr(out, "\nallowtcpforwarding local\n"));
	assert_non_null(strstr(out, "\npermitopen h:80 [::1]:22\n"));
	assert_non_null(strstr(out, "\npermitlisten 127.0.0.1:9000\n"));
	assert_non_null(strstr(out, "\ngatewayports clientspecified\n"));
	assert_non_null(strstr(out, "\nauthorizedkeysfile /k/%u none\n"));
	assert_non_null(strstr(out, "\nchanneltimeout session=2m\n"));
	assert_non_null(strstr(out, "\nunusedconnectiontimeout 3600\n"));
	free(out);
	assert_int_equal(server_conninfo_parse(bad1, &ci, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "invalid test mode specification"));
	assert_int_equal(server_conninfo_parse(bad2, &ci, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "-C: invalid lport '0'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_match_errors),
		T(test_match_too_many),
		T(test_match_accepts),
		T(test_match_criteria),
		T(test_match_resolve),
		T(test_match_disable),
		T(test_match_include),
		T(test_match_cmdline),
		T(test_match_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
