/* Unit tests for server/config*.c: the keyword table, every keyword, the first-value-wins
 * rule, the error messages (file, line and the bad thing), defaults and
 * the sshd -T style printout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server/config.h"
#include "server/config_kw.h"
#include "server/users.h"
#include "util/log.h"

#define WHERE	"command line"
/* What ferryd -T prints for the algorithm keywords and Compression by
 * default. */
#define DEFAULT_ALGS							\
	"ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,"	\
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com\n"		\
	"macs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"\
	"hmac-sha2-256,hmac-sha2-512\n"					\
	"kexalgorithms curve25519-sha256,curve25519-sha256@libssh.org\n"	\
	"hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,"		\
	"ecdsa-sha2-nistp256-cert-v01@openssh.com,"			\
	"rsa-sha2-512-cert-v01@openssh.com,"				\
	"rsa-sha2-256-cert-v01@openssh.com,"				\
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,"			\
	"rsa-sha2-256\n"						\
	"pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,"	\
	"ecdsa-sha2-nistp256-cert-v01@openssh.com,"			\
	"rsa-sha2-512-cert-v01@openssh.com,"				\
	"rsa-sha2-256-cert-v01@openssh.com,"				\
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256\n"	\
	"casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,"	\
	"rsa-sha2-512,rsa-sha2-256\n"					\
	"compression yes\n"

static struct server_config cfg;
static char err[1024];

static int
setup(void **state)
{
	server_config_init(&cfg);
	memset(err, 0, sizeof(err));
	return 0;
}

static int
teardown(void **state)
{
	server_config_free(&cfg);
	return 0;
}

static void
fresh(void)
{
	server_config_free(&cfg);
	server_config_init(&cfg);
}

static void
line_ok(const char *line)
{
	err[0] = '\0';
	if (server_config_line(&cfg, line, WHERE, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", line, err);
}

/* The line must fail with exactly this message. */
static void
line_bad(const char *line, const char *want)
{
	err[0] = '\0';
	if (server_config_line(&cfg, line, WHERE, err, sizeof(err)) != -1)
		fail_msg("'%s' accepted", line);
	if (strcmp(err, want) != 0)
		fail_msg("'%s': message '%s', expected '%s'", line, err, want);
}

static void
text_ok(const char *text)
{
	err[0] = '\0';
	if (server_config_text(&cfg, text, strlen(text), "test.conf", err,
	    sizeof(err)) != 0)
		fail_msg("refused: %s", err);
}

static void
text_bad(const char *text, const char *want)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, text, len);
	err[0] = '\0';
	if (server_config_text(&cfg, copy, len, "test.conf", err,
	    sizeof(err)) != -1)
		fail_msg("'%s' accepted", text);
	if (strcmp(err, want) != 0)
		fail_msg("message '%s', expected '%s'", err, want);
	free(copy);
}

static void
finish(void)
{
	assert_int_equal(server_config_finish(&cfg, err, sizeof(err)), 0);
}

/* The printout, malloc'd. */
static char *
printed(const struct server_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	server_config_print(c, fp);
	fclose(fp);
	return buf;
}

/* The keyword table: sorted for its binary search, each keyword found
 * whatever its case, each row complete for its kind, and every field a
 * row names unset after init and at the row's default after finish. */
static void
test_keyword_table(void **state)
{
	const struct sc_keyword *kw;
	char lower[64];
	size_t i, j;

	assert_true(sc_nkeywords > 100);
	for (i = 0; i < sc_nkeywords; i++) {
		kw = &sc_keywords[i];
		if (i > 0 && strcasecmp(sc_keywords[i - 1].name,
		    kw->name) >= 0)
			fail_msg("%s is out of order", kw->name);
		for (j = 0; kw->name[j] != '\0' && j < sizeof(lower) - 1; j++)
			lower[j] = (char)tolower((unsigned char)kw->name[j]);
		lower[j] = '\0';
		assert_ptr_equal(sc_keyword_find(lower), kw);
		assert_ptr_equal(sc_keyword_find(kw->name), kw);
		assert_true(kw->min_args == 1 && kw->max_args >= 1);
		switch (kw->kind) {
		case SC_FLAG: case SC_INT: case SC_TIME: case SC_MASK:
			assert_int_equal(sc_int_value(&cfg, kw), -1);
			break;
		case SC_ENUM:
			assert_int_equal(sc_int_value(&cfg, kw), -1);
			assert_non_null(kw->u.choices);
			break;
		case SC_STR:
			assert_null(sc_str_value(&cfg, kw));
			break;
		case SC_ALGS:
			assert_null(sc_str_value(&cfg, kw));
			assert_non_null(kw->u.algs);
			break;
		case SC_REFUSED: case SC_NONE_ONLY:
			assert_non_null(kw->u.note);
			break;
		case SC_CODE:
			assert_non_null(kw->u.fn);
			break;
		case SC_IGNORED:
			break;
		}
	}
	assert_null(sc_keyword_find("Match"));
	assert_null(sc_keyword_find("Include"));
	assert_null(sc_keyword_find("Ports"));
	assert_null(sc_keyword_find(""));
	assert_int_equal(server_config_finish(&cfg, err, sizeof(err)), 0);
	for (i = 0; i < sc_nkeywords; i++) {
		kw = &sc_keywords[i];
		if (kw->kind == SC_ALGS)
			assert_string_equal(sc_str_value(&cfg, kw),
			    kw->u.algs->def);
		else if (strcmp(kw->name, "EventLoops") == 0)	/* per CPU */
			assert_int_equal(sc_int_value(&cfg, kw),
			    sysconf(_SC_NPROCESSORS_ONLN) > 64 ? 64 :
			    sysconf(_SC_NPROCESSORS_ONLN));
		else if (kw->kind <= SC_MASK)	/* the int kinds */
			assert_int_equal(sc_int_value(&cfg, kw), kw->def);
	}
}

static void
test_defaults(void **state)
{
	finish();
	assert_int_equal(cfg.nports, 1);
	assert_int_equal(cfg.ports[0], 22);
	assert_int_equal(cfg.nlisten, 0);
	assert_int_equal(cfg.nhostkeys, 0);
	assert_int_equal(cfg.nauthorized_keys, 1);
	assert_string_equal(cfg.authorized_keys[0], ".ssh/authorized_keys");
	assert_string_equal(cfg.state_dir, "/var/lib/ferryd");
	assert_null(cfg.user);
	assert_null(cfg.pid_file);
	assert_int_equal(cfg.gateway_ports, GW_NO);
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_ALL);
	assert_int_equal(cfg.npermit_open, -1);
	assert_int_equal(cfg.npermit_listen, -1);
	assert_int_equal(cfg.client_alive_interval, 0);
	assert_int_equal(cfg.client_alive_count_max, 3);
	assert_int_equal(cfg.login_grace_time, 120);
	assert_int_equal(cfg.max_startups_begin, 10);
	assert_int_equal(cfg.max_startups_rate, 30);
	assert_int_equal(cfg.max_startups_full, 100);
	assert_int_equal(cfg.max_auth_tries, 6);
	assert_int_equal(cfg.max_sessions, 10);
	assert_int_equal(cfg.max_listeners, 64);
	assert_int_equal(cfg.log_level, LOG_INFO);
}

static void
test_keywords(void **state)
{
	line_ok("Port 2222");
	line_ok("ListenAddress 127.0.0.1");
	line_ok("HostKey /etc/ferryd/host_ed25519");
	line_ok("AuthorizedKeysFile /etc/ferryd/keys/%u");
	line_ok("GatewayPorts clientspecified");
	line_ok("AllowTcpForwarding remote");
	line_ok("PermitOpen db.internal:5432");
	line_ok("PermitListen 8080");
	line_ok("ClientAliveInterval 15");
	line_ok("ClientAliveCountMax 4");
	line_ok("LoginGraceTime 30");
	line_ok("MaxStartups 5:50:20");
	line_ok("MaxAuthTries 3");
	line_ok("MaxSessions 20");
	line_ok("MaxListeners 8");
	line_ok("LogLevel VERBOSE");
	line_ok("PidFile /run/ferryd.pid");
	line_ok("StateDirectory /var/lib/ferryd");
	line_ok("RunAsUser ferryd");
	finish();
	assert_int_equal(cfg.nports, 1);
	assert_int_equal(cfg.ports[0], 2222);
	assert_int_equal(cfg.nlisten, 1);
	assert_string_equal(cfg.listen[0], "127.0.0.1");
	assert_int_equal(cfg.nhostkeys, 1);
	assert_string_equal(cfg.hostkeys[0], "/etc/ferryd/host_ed25519");
	assert_string_equal(cfg.authorized_keys[0], "/etc/ferryd/keys/%u");
	assert_int_equal(cfg.gateway_ports, GW_CLIENTSPECIFIED);
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_REMOTE);
	assert_int_equal(cfg.npermit_open, 1);
	assert_string_equal(cfg.permit_open[0].host, "db.internal");
	assert_int_equal(cfg.permit_open[0].port, 5432);
	assert_int_equal(cfg.npermit_listen, 1);
	assert_string_equal(cfg.permit_listen[0].host, "*");
	assert_int_equal(cfg.permit_listen[0].port, 8080);
	assert_int_equal(cfg.client_alive_interval, 15);
	assert_int_equal(cfg.client_alive_count_max, 4);
	assert_int_equal(cfg.login_grace_time, 30);
	assert_int_equal(cfg.max_startups_begin, 5);
	assert_int_equal(cfg.max_startups_rate, 50);
	assert_int_equal(cfg.max_startups_full, 20);
	assert_int_equal(cfg.max_auth_tries, 3);
	assert_int_equal(cfg.max_sessions, 20);
	assert_int_equal(cfg.max_listeners, 8);
	assert_int_equal(cfg.log_level, LOG_VERBOSE);
	assert_string_equal(cfg.pid_file, "/run/ferryd.pid");
	assert_string_equal(cfg.state_dir, "/var/lib/ferryd");
	assert_string_equal(cfg.user, "ferryd");
}

static void
test_line_forms(void **state)
{
	line_ok("Port=2200");
	line_ok("Port = 2201");
	line_ok("Port =2202");
	line_ok("  port\t2203   # a comment");
	line_ok("PORT 2204\r");
	line_ok("# Port 1");
	line_ok("");
	line_ok("   \t");
	line_ok("HostKey \"/etc/with space/key\"");
	line_ok("HostKey=\"/q/k\"");
	line_ok("gAtEwAyPoRtS YES");
	/* Quotes may sit anywhere in a word and are removed (sshd). */
	line_ok("HostKey /a\"b c\"d");
	line_ok("HostKey \"\"/e\"\"");
	assert_int_equal(cfg.nports, 5);
	assert_int_equal(cfg.ports[0], 2200);
	assert_int_equal(cfg.ports[1], 2201);
	assert_int_equal(cfg.ports[2], 2202);
	assert_int_equal(cfg.ports[3], 2203);
	assert_int_equal(cfg.ports[4], 2204);
	assert_string_equal(cfg.hostkeys[0], "/etc/with space/key");
	assert_string_equal(cfg.hostkeys[1], "/q/k");
	assert_string_equal(cfg.hostkeys[2], "/ab cd");
	assert_string_equal(cfg.hostkeys[3], "/e");
	assert_int_equal(cfg.gateway_ports, GW_YES);
}

/* The first value for a keyword wins; later ones are still checked. */
static void
test_first_value_wins(void **state)
{
	text_ok("AuthorizedKeysFile /first\nAuthorizedKeysFile /second\n"
	    "GatewayPorts yes\nGatewayPorts no\n"
	    "AllowTcpForwarding local\nAllowTcpForwarding yes\n"
	    "PermitOpen a:1 b:2\nPermitOpen any\n"
	    "PermitListen none\nPermitListen 9000\n"
	    "ClientAliveInterval 5\nClientAliveInterval 50\n"
	    "ClientAliveCountMax 0\nClientAliveCountMax 9\n"
	    "LoginGraceTime 0\nLoginGraceTime 60\n"
	    "MaxStartups 3\nMaxStartups 10:30:100\n"
	    "MaxAuthTries 2\nMaxAuthTries 9\n"
	    "MaxSessions 0\nMaxSessions 9\n"
	    "MaxListeners 1\nMaxListeners 9\n"
	    "LogLevel DEBUG3\nLogLevel QUIET\n"
	    "PidFile /a.pid\nPidFile /b.pid\n"
	    "StateDirectory /s1\nStateDirectory /s2\n"
	    "RunAsUser u1\nRunAsUser u2\n");
	finish();
	assert_string_equal(cfg.authorized_keys[0], "/first");
	assert_int_equal(cfg.gateway_ports, GW_YES);
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_LOCAL);
	assert_int_equal(cfg.npermit_open, 2);
	assert_string_equal(cfg.permit_open[1].host, "b");
	assert_int_equal(cfg.npermit_listen, 0);
	assert_int_equal(cfg.client_alive_interval, 5);
	assert_int_equal(cfg.client_alive_count_max, 0);
	assert_int_equal(cfg.login_grace_time, 0);
	assert_int_equal(cfg.max_startups_begin, 3);
	assert_int_equal(cfg.max_startups_rate, 30);
	assert_int_equal(cfg.max_startups_full, 3);
	assert_int_equal(cfg.max_auth_tries, 2);
	assert_int_equal(cfg.max_sessions, 0);
	assert_int_equal(cfg.max_listeners, 1);
	assert_int_equal(cfg.log_level, LOG_DEBUG2);
	assert_string_equal(cfg.pid_file, "/a.pid");
	assert_string_equal(cfg.state_dir, "/s1");
	assert_string_equal(cfg.user, "u1");

	/* A -o line given first beats the file. */
	fresh();
	line_ok("GatewayPorts no");
	text_ok("GatewayPorts yes\n");
	finish();
	assert_int_equal(cfg.gateway_ports, GW_NO);

	/* A value that loses is still checked. */
	fresh();
	line_ok("GatewayPorts yes");
	line_bad("GatewayPorts maybe", WHERE ": GatewayPorts: bad value "
	    "'maybe' (no, yes or clientspecified)");
	line_ok("PermitOpen any");
	line_bad("PermitOpen a:1 b", WHERE ": PermitOpen: bad value 'b' "
	    "(host:port, any or none)");
	assert_int_equal(cfg.npermit_open, -1);
	line_ok("MaxStartups 1");
	line_bad("MaxStartups 2:3", WHERE ": MaxStartups: bad value '2:3' "
	    "(N, or start:rate:full with rate 1 to 100 and start <= full)");
	/* paths derived from it must not depend on the working directory
	 * (and read back the same from -T) */
	line_bad("StateDirectory var/lib/ferryd", WHERE ": StateDirectory: "
	    "'var/lib/ferryd' is not an absolute path");
}

/* Port, ListenAddress and HostKey accumulate, as in sshd. */
static void
test_repeatable(void **state)
{
	text_ok("Port 22\nPort 2222\nPort 22\n"
	    "ListenAddress 10.0.0.1\nListenAddress [::1]:2200\n"
	    "ListenAddress host.example:23\n"
	    "HostKey /k1\nHostKey /k2\nHostKey /k1\n");
	finish();
	assert_int_equal(cfg.nports, 3);
	assert_int_equal(cfg.ports[1], 2222);
	assert_int_equal(cfg.nlisten, 3);
	assert_string_equal(cfg.listen[0], "10.0.0.1");
	assert_string_equal(cfg.listen[1], "[::1]:2200");
	assert_string_equal(cfg.listen[2], "host.example:23");
	assert_int_equal(cfg.nhostkeys, 3);
	assert_string_equal(cfg.hostkeys[2], "/k1");
}

static void
test_too_many(void **state)
{
	char line[64];
	int i;

	for (i = 0; i < SC_MAX_LISTEN; i++) {
		snprintf(line, sizeof(line), "Port %d", 1000 + i);
		line_ok(line);
		snprintf(line, sizeof(line), "ListenAddress 10.0.0.%d", i);
		line_ok(line);
	}
	line_bad("Port 1", WHERE ": Port: too many ports (max 16)");
	line_bad("ListenAddress ::1", WHERE ": ListenAddress: too many "
	    "addresses (max 16)");
	for (i = 0; i < SC_MAX_HOSTKEYS; i++) {
		snprintf(line, sizeof(line), "HostKey /k%d", i);
		line_ok(line);
	}
	line_bad("HostKey /k", WHERE ": HostKey: too many host keys (max 8)");
	assert_int_equal(cfg.nports, SC_MAX_LISTEN);
	assert_int_equal(cfg.nlisten, SC_MAX_LISTEN);
	assert_int_equal(cfg.nhostkeys, SC_MAX_HOSTKEYS);
}

static void
test_listen_forms(void **state)
{
	line_ok("ListenAddress 0.0.0.0");
	line_ok("ListenAddress 127.0.0.1:2222");
	line_ok("ListenAddress [::1]:2223");
	line_ok("ListenAddress ::");
	line_ok("ListenAddress [::1]");
	line_ok("ListenAddress [gw.example]:24");
	line_ok("ListenAddress fe80::1%eth0");
	line_ok("ListenAddress gw.example");
	line_ok("ListenAddress 127.0.0.1:0");
	line_ok("ListenAddress [::1]:0");
	assert_int_equal(cfg.nlisten, 10);
	assert_string_equal(cfg.listen[0], "0.0.0.0");
	assert_string_equal(cfg.listen[1], "127.0.0.1:2222");
	assert_string_equal(cfg.listen[2], "[::1]:2223");
	assert_string_equal(cfg.listen[3], "::");
	assert_string_equal(cfg.listen[4], "::1");
	assert_string_equal(cfg.listen[5], "gw.example:24");
	assert_string_equal(cfg.listen[6], "fe80::1%eth0");
	assert_string_equal(cfg.listen[7], "gw.example");
	/* Port 0 (the kernel picks) is a port, not "every Port". */
	assert_string_equal(cfg.listen[8], "127.0.0.1:0");
	assert_string_equal(cfg.listen[9], "[::1]:0");

	line_bad("ListenAddress :22", WHERE ": ListenAddress: missing "
	    "address in ':22'");
	line_bad("ListenAddress []:22", WHERE ": ListenAddress: missing "
	    "address in '[]:22'");
	line_bad("ListenAddress h:65536", WHERE ": ListenAddress: bad port in "
	    "'h:65536'");
	line_bad("ListenAddress h:ssh", WHERE ": ListenAddress: bad port in "
	    "'h:ssh'");
	line_bad("ListenAddress h:", WHERE ": ListenAddress: bad port in "
	    "'h:'");
	line_bad("ListenAddress [::1", WHERE ": ListenAddress: bad value "
	    "'[::1' (host, host:port or [address]:port)");
	line_bad("ListenAddress [::1]22", WHERE ": ListenAddress: bad value "
	    "'[::1]22' (host, host:port or [address]:port)");
	line_bad("ListenAddress [[]", WHERE ": ListenAddress: bad value "
	    "'[[]' (host, host:port or [address]:port)");
	line_bad("ListenAddress [a:b]", WHERE ": ListenAddress: bad value "
	    "'[a:b]' (host, host:port or [address]:port)");
	line_bad("ListenAddress x]:22", WHERE ": ListenAddress: bad value "
	    "'x]:22' (host, host:port or [address]:port)");
	line_bad("ListenAddress h rdomain 1", WHERE ": ListenAddress: "
	    "rdomain is not supported");
	line_bad("ListenAddress h extra", WHERE ": ListenAddress: unexpected "
	    "'extra' after the address");
	line_bad("ListenAddress a b c d", WHERE ": ListenAddress: too many "
	    "arguments");
	assert_int_equal(cfg.nlisten, 10);
}

static void
test_permits(void **state)
{
	line_ok("PermitOpen a.example:1 [2001:db8::1]:22 *:* b:* 10.0.0.1:80");
	assert_int_equal(cfg.npermit_open, 5);
	assert_string_equal(cfg.permit_open[0].host, "a.example");
	assert_int_equal(cfg.permit_open[0].port, 1);
	assert_string_equal(cfg.permit_open[1].host, "2001:db8::1");
	assert_int_equal(cfg.permit_open[1].port, 22);
	assert_string_equal(cfg.permit_open[2].host, "*");
	assert_int_equal(cfg.permit_open[2].port, -1);
	assert_string_equal(cfg.permit_open[3].host, "b");
	assert_int_equal(cfg.permit_open[3].port, -1);
	assert_int_equal(cfg.permit_open[4].port, 80);

	line_ok("PermitListen 8080 localhost:9000 [::1]:22 * 0.0.0.0:*");
	assert_int_equal(cfg.npermit_listen, 5);
	assert_string_equal(cfg.permit_listen[0].host, "*");
	assert_int_equal(cfg.permit_listen[0].port, 8080);
	assert_string_equal(cfg.permit_listen[1].host, "localhost");
	assert_int_equal(cfg.permit_listen[1].port, 9000);
	assert_string_equal(cfg.permit_listen[2].host, "::1");
	assert_string_equal(cfg.permit_listen[3].host, "*");
	assert_int_equal(cfg.permit_listen[3].port, -1);
	assert_string_equal(cfg.permit_listen[4].host, "0.0.0.0");

	fresh();
	line_ok("PermitOpen any");
	line_ok("PermitListen NONE");
	finish();
	assert_int_equal(cfg.npermit_open, -1);
	assert_int_equal(cfg.npermit_listen, 0);

	fresh();
	line_ok("PermitOpen none");
	line_ok("PermitListen Any");
	finish();
	assert_int_equal(cfg.npermit_open, 0);
	assert_int_equal(cfg.npermit_listen, -1);
}

static void
test_permit_errors(void **state)
{
	char line[2048];
	int i;

	line_bad("PermitOpen any a:1", WHERE ": PermitOpen: 'any' must "
	    "appear alone");
	line_bad("PermitOpen a:1 none", WHERE ": PermitOpen: 'none' must "
	    "appear alone");
	line_bad("PermitListen none 1", WHERE ": PermitListen: 'none' must "
	    "appear alone");
	line_bad("PermitOpen host", WHERE ": PermitOpen: bad value 'host' "
	    "(host:port, any or none)");
	line_bad("PermitOpen :80", WHERE ": PermitOpen: bad value ':80' "
	    "(host:port, any or none)");
	line_bad("PermitOpen h:0", WHERE ": PermitOpen: bad value 'h:0' "
	    "(host:port, any or none)");
	line_bad("PermitOpen h:65536", WHERE ": PermitOpen: bad value "
	    "'h:65536' (host:port, any or none)");
	line_bad("PermitOpen [::1]80", WHERE ": PermitOpen: bad value "
	    "'[::1]80' (host:port, any or none)");
	line_bad("PermitOpen [[]:1", WHERE ": PermitOpen: bad value "
	    "'[[]:1' (host:port, any or none)");
	line_bad("PermitListen a]:1", WHERE ": PermitListen: bad value "
	    "'a]:1' ([host:]port, any or none)");
	line_bad("PermitListen 0", WHERE ": PermitListen: bad value '0' "
	    "([host:]port, any or none)");
	line_bad("PermitListen [::1]", WHERE ": PermitListen: bad value "
	    "'[::1]' ([host:]port, any or none)");
	line_bad("PermitOpen", WHERE ": PermitOpen: missing argument");
	/* A failed first line leaves the keyword unset. */
	finish();
	assert_int_equal(cfg.npermit_open, -1);
	assert_int_equal(cfg.npermit_listen, -1);

	fresh();
	snprintf(line, sizeof(line), "PermitOpen");
	for (i = 0; i < SC_MAX_PERMITS; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    " h%d:%d", i, i + 1);
	line_ok(line);
	assert_int_equal(cfg.npermit_open, SC_MAX_PERMITS);
	assert_string_equal(cfg.permit_open[SC_MAX_PERMITS - 1].host, "h63");
	fresh();
	strcat(line, " last:1");
	line_bad(line, WHERE ": PermitOpen: too many entries (max 64)");
}

static void
test_times(void **state)
{
	static const struct {
		const char	*v;
		int		 secs;
	} ok[] = {
		{ "0", 0 }, { "90", 90 }, { "30s", 30 }, { "2m", 120 },
		{ "2M", 120 }, { "1h30m", 5400 }, { "1H", 3600 },
		{ "1d", 86400 }, { "1w", 604800 }, { "1h30", 3630 },
		{ "2147483647", INT_MAX },
	};
	static const char *const bad[] = { "-1", "1x", "m", "1.5m",
	    "2147483648", "3550000w", "99999999999999999999", "1mm" };
	char line[128], want[256];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		fresh();
		snprintf(line, sizeof(line), "LoginGraceTime %s", ok[i].v);
		line_ok(line);
		assert_int_equal(cfg.login_grace_time, ok[i].secs);
		snprintf(line, sizeof(line), "ClientAliveInterval %s",
		    ok[i].v);
		line_ok(line);
		assert_int_equal(cfg.client_alive_interval, ok[i].secs);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "LoginGraceTime %s", bad[i]);
		snprintf(want, sizeof(want), WHERE ": LoginGraceTime: bad "
		    "value '%s' (seconds, or a time such as 90s, 10m or "
		    "1h30m)", bad[i]);
		line_bad(line, want);
	}
	line_bad("LoginGraceTime 1h 30m", WHERE ": LoginGraceTime: too many "
	    "arguments");
	line_bad("ClientAliveInterval x", WHERE ": ClientAliveInterval: bad "
	    "value 'x' (seconds, or a time such as 90s, 10m or 1h30m)");
}

static void
test_max_startups(void **state)
{
	static const char *const bad[] = { "0", "0:30:10", "10:0:60",
	    "10:101:60", "60:30:10", "10:30", "10:30:", ":30:60", "a:b:c",
	    "10:30:60:1", "-1", "10:30:0", "99999999999",
	    "10:30:100000000000000000000000000000000000000000000000000000000" };
	char line[160], want[300];
	size_t i;

	line_ok("MaxStartups 10:30:60");
	assert_int_equal(cfg.max_startups_begin, 10);
	assert_int_equal(cfg.max_startups_rate, 30);
	assert_int_equal(cfg.max_startups_full, 60);
	fresh();
	line_ok("MaxStartups 7");
	assert_int_equal(cfg.max_startups_begin, 7);
	assert_int_equal(cfg.max_startups_full, 7);
	fresh();
	line_ok("MaxStartups 5:100:5");
	assert_int_equal(cfg.max_startups_rate, 100);
	fresh();
	line_ok("MaxStartups 1:1:1");
	assert_int_equal(cfg.max_startups_rate, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "MaxStartups %s", bad[i]);
		snprintf(want, sizeof(want), WHERE ": MaxStartups: bad value "
		    "'%s' (N, or start:rate:full with rate 1 to 100 and "
		    "start <= full)", bad[i]);
		line_bad(line, want);
	}
}

static void
test_loglevel(void **state)
{
	static const struct {
		const char	*name;
		int		 level;
	} levels[] = {
		{ "QUIET", LOG_QUIET }, { "FATAL", LOG_ERROR },
		{ "ERROR", LOG_ERROR }, { "INFO", LOG_INFO },
		{ "VERBOSE", LOG_VERBOSE }, { "DEBUG", LOG_VERBOSE },
		{ "DEBUG1", LOG_VERBOSE }, { "DEBUG2", LOG_DEBUG },
		{ "DEBUG3", LOG_DEBUG2 }, { "debug3", LOG_DEBUG2 },
		{ "quiet", LOG_QUIET },
	};
	char line[64];
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		fresh();
		snprintf(line, sizeof(line), "LogLevel %s", levels[i].name);
		line_ok(line);
		assert_int_equal(cfg.log_level, levels[i].level);
	}
	line_bad("LogLevel LOUD", WHERE ": LogLevel: bad value 'LOUD' (QUIET, "
	    "FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or DEBUG3)");
	line_bad("LogLevel DEBUG4", WHERE ": LogLevel: bad value 'DEBUG4' "
	    "(QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or "
	    "DEBUG3)");
}

static void
test_enums(void **state)
{
	static const struct {
		const char	*v;
		int		 gw;
	} gws[] = { { "no", GW_NO }, { "yes", GW_YES },
	    { "clientspecified", GW_CLIENTSPECIFIED },
	    { "ClientSpecified", GW_CLIENTSPECIFIED } };
	static const struct {
		const char	*v;
		int		 fwd;
	} fwds[] = { { "yes", FWD_ALLOW_ALL }, { "all", FWD_ALLOW_ALL },
	    { "no", FWD_ALLOW_NO }, { "local", FWD_ALLOW_LOCAL },
	    { "remote", FWD_ALLOW_REMOTE }, { "NO", FWD_ALLOW_NO } };
	char line[64];
	size_t i;

	for (i = 0; i < sizeof(gws) / sizeof(gws[0]); i++) {
		fresh();
		snprintf(line, sizeof(line), "GatewayPorts %s", gws[i].v);
		line_ok(line);
		assert_int_equal(cfg.gateway_ports, gws[i].gw);
	}
	for (i = 0; i < sizeof(fwds) / sizeof(fwds[0]); i++) {
		fresh();
		snprintf(line, sizeof(line), "AllowTcpForwarding %s",
		    fwds[i].v);
		line_ok(line);
		assert_int_equal(cfg.allow_tcp_forwarding, fwds[i].fwd);
	}
	fresh();
	finish();
	assert_int_equal(cfg.compression, 1);	/* sshd's default */
	fresh();
	line_ok("Compression delayed");
	assert_int_equal(cfg.compression, 1);
	fresh();
	line_ok("Compression no");
	assert_int_equal(cfg.compression, 0);
	line_bad("Compression zlib", WHERE ": Compression: bad value 'zlib' "
	    "(yes, delayed or no)");
	line_bad("GatewayPorts maybe", WHERE ": GatewayPorts: bad value "
	    "'maybe' (no, yes or clientspecified)");
	line_bad("GatewayPorts true", WHERE ": GatewayPorts: bad value "
	    "'true' (no, yes or clientspecified)");
	line_bad("AllowTcpForwarding both", WHERE ": AllowTcpForwarding: bad "
	    "value 'both' (yes, all, no, local or remote)");
	line_bad("AllowStreamLocalForwarding maybe", WHERE ": "
	    "AllowStreamLocalForwarding: bad value 'maybe' (yes, all, no, "
	    "local or remote)");
}

static void
test_ints(void **state)
{
	static const char *const kws[] = { "ClientAliveCountMax",
	    "MaxAuthTries", "MaxSessions", "MaxListeners" };
	static const char *const bad[] = { "-1", "abc", "1e3", "2147483648",
	    "12x", "+5", " 5" };
	char line[128], want[256];
	size_t i, j;

	for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
		fresh();
		snprintf(line, sizeof(line), "%s 2147483647", kws[i]);
		line_ok(line);
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			snprintf(line, sizeof(line), "%s \"%s\"", kws[i],
			    bad[j]);
			snprintf(want, sizeof(want), WHERE ": %s: bad value "
			    "'%s' (a number from 0 to 2147483647)", kws[i],
			    bad[j]);
			line_bad(line, want);
		}
	}
	assert_int_equal(cfg.max_listeners, INT_MAX);
	line_bad("Port 65536", WHERE ": Port: bad value '65536' (a port from "
	    "0 to 65535)");
	line_bad("Port ssh", WHERE ": Port: bad value 'ssh' (a port from 0 to "
	    "65535)");
	line_bad("Port -1", WHERE ": Port: bad value '-1' (a port from 0 to "
	    "65535)");
	/* 0: the kernel picks (ferryd's tests and demo use it). */
	line_ok("Port 0");
	line_ok("Port 65535");
	line_ok("Port 1");
	assert_int_equal(cfg.ports[0], 0);
	assert_int_equal(cfg.ports[2], 1);
}

/* Keywords sshd knows and ferryd has no use for: accepted, no effect. */
static void
test_ignored(void **state)
{
	static const char *const lines[] = {
		"UsePAM yes", "PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"ChallengeResponseAuthentication no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes", "X11Forwarding yes",
		"PrintMotd no", "AcceptEnv LANG LC_*",
		"Subsystem sftp /usr/lib/openssh/sftp-server",
		"UsePrivilegeSeparation sandbox", "StrictModes yes",
		"AllowAgentForwarding no", "PermitTTY no",
		"Banner none", "DisableForwarding no",
		"AddressFamily any", "AuthenticationMethods publickey",
		"AuthenticationMethods any", "RequiredRSASize 1024",
		"AuthorizedKeysCommand none", "TrustedUserCAKeys none",
		"RevokedKeys none", "ChrootDirectory none",
		"AuthorizedPrincipalsFile none", "PerSourceMaxStartups none",
		"Ciphers -aes128-cbc,nonsense*", "Protocol 2",
		"ForceCommand /bin/false -x", "SetEnv A=1 B=2",
	};
	struct server_config def;
	char *a, *b;
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		line_ok(lines[i]);
	finish();
	server_config_init(&def);
	assert_int_equal(server_config_finish(&def, err, sizeof(err)), 0);
	a = printed(&cfg);
	b = printed(&def);
	assert_string_equal(a, b);
	free(a);
	free(b);
	server_config_free(&def);
}

static void
test_pubkey_no(void **state)
{
	line_bad("PubkeyAuthentication no", WHERE ": PubkeyAuthentication: "
	    "'no' is not supported: ferryd has only public key "
	    "authentication");
	line_bad("PubkeyAuthentication maybe", WHERE ": PubkeyAuthentication: "
	    "bad value 'maybe' (yes or no)");
}

static void
test_disable_forwarding(void **state)
{
	line_ok("AllowTcpForwarding yes");
	line_ok("DisableForwarding yes");
	finish();
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_NO);
	fresh();
	line_ok("DisableForwarding yes");
	line_ok("AllowTcpForwarding yes");
	line_ok("AllowStreamLocalForwarding yes");
	finish();
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_NO);
	assert_int_equal(cfg.allow_streamlocal_forwarding, FWD_ALLOW_NO);
	fresh();
	line_ok("AllowStreamLocalForwarding remote");
	line_ok("AllowStreamLocalForwarding no");	/* first wins */
	line_ok("StreamLocalBindUnlink yes");
	line_ok("StreamLocalBindMask 0077");
	line_ok("ReclaimForwards no");
	finish();
	assert_int_equal(cfg.reclaim_forwards, 0);
	assert_int_equal(cfg.allow_streamlocal_forwarding, FWD_ALLOW_REMOTE);
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_ALL);
	assert_int_equal(cfg.streamlocal_bind_unlink, 1);
	assert_int_equal(cfg.streamlocal_bind_mask, 077);
	line_bad("StreamLocalBindMask 8", WHERE ": StreamLocalBindMask: "
	    "'8' is not an octal mask 0-0777");
	line_bad("AllowStreamLocalForwarding maybe", WHERE
	    ": AllowStreamLocalForwarding: bad value 'maybe' (yes, all, no, "
	    "local or remote)");
	fresh();
	line_ok("DisableForwarding no");
	line_ok("AllowTcpForwarding local");
	finish();
	assert_int_equal(cfg.allow_tcp_forwarding, FWD_ALLOW_LOCAL);
	line_bad("DisableForwarding sometimes", WHERE ": DisableForwarding: "
	    "bad value 'sometimes' (yes or no)");
}

static void
test_authkeys_tokens(void **state)
{
	line_ok("AuthorizedKeysFile %h/.ssh/authorized_keys "
	    ".ssh/authorized_keys2");
	line_ok("AuthorizedKeysFile /other");
	assert_int_equal(cfg.nauthorized_keys, 2);
	assert_string_equal(cfg.authorized_keys[0], "%h/.ssh/authorized_keys");
	assert_string_equal(cfg.authorized_keys[1], ".ssh/authorized_keys2");
	fresh();
	line_ok("AuthorizedKeysFile /etc/ferryd/%u%%");
	assert_string_equal(cfg.authorized_keys[0], "/etc/ferryd/%u%%");
	line_bad("AuthorizedKeysFile /a /b/%U", WHERE ": AuthorizedKeysFile: "
	    "'/b/%U': unknown key %U (ferryd knows %u, %h and %%)");
	fresh();
	line_ok("AuthorizedKeysFile none");
	finish();
	assert_int_equal(cfg.nauthorized_keys, 1);
	assert_string_equal(cfg.authorized_keys[0], "none");
}

static void
test_match_include(void **state)
{
	/* Match blocks: test_config_match.c; -o cannot start one */
	/* a pattern matching nothing reads nothing; no argument is an error */
	text_ok("Include /nonexistent/sshd_config.d/*.conf\n");
	text_bad("Include\n", "test.conf line 1: Include: missing argument");
	line_bad("Match Address 10.0.0.0/8", WHERE ": Match is not supported "
	    "as a command-line option");
}

static void
test_errors_name_file_line(void **state)
{
	text_bad("Port 22\n\n# c\nFrobnicate yes\n", "test.conf line 4: Bad "
	    "configuration option: Frobnicate");
	text_bad("Frobnicate\n", "test.conf line 1: Bad configuration option: "
	    "Frobnicate");
	text_bad("ProxyJump=gw\n", "test.conf line 1: Bad configuration "
	    "option: ProxyJump");
	text_bad("ChallengeResponse no\n", "test.conf line 1: Bad "
	    "configuration option: ChallengeResponse");
	text_bad("\n\nGatewayPorts maybe\n", "test.conf line 3: GatewayPorts: "
	    "bad value 'maybe' (no, yes or clientspecified)");
	text_bad("Port\n", "test.conf line 1: Port: missing argument");
	text_bad("Port=\n", "test.conf line 1: Port: missing argument");
	text_bad("Port 22 23\n", "test.conf line 1: Port: too many arguments");
	text_bad("HostKey \"/a b\n", "test.conf line 1: missing closing quote");
	text_bad("HostKey /a\"b\n", "test.conf line 1: missing closing quote");
	text_bad("HostKey \"\"\n", "test.conf line 1: HostKey: empty "
	    "argument");
	text_bad("LogLevel \"\033[2J\"\n", "test.conf line 1: LogLevel: bad "
	    "value '?[2J' (QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, "
	    "DEBUG1, DEBUG2 or DEBUG3)");
	line_bad("Frobnicate yes", WHERE ": Bad configuration option: "
	    "Frobnicate");
}

/* The longest line is 8191 bytes; a NUL byte is refused. */
static void
test_long_lines(void **state)
{
	static const char nul[] = "Port 22\nPort 2\0002\n";
	char *text = malloc(8192);

	assert_non_null(text);
	memset(text, ' ', 8192);
	memcpy(text + 8191 - 9, "Port 2222", 9);
	err[0] = '\0';
	assert_int_equal(server_config_text(&cfg, text, 8191, "test.conf",
	    err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0], 2222);
	memset(text, ' ', 8192);
	memcpy(text + 8192 - 9, "Port 2223", 9);
	assert_int_equal(server_config_text(&cfg, text, 8192, "test.conf",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "test.conf line 1: line too long or "
	    "contains a NUL byte");
	free(text);

	assert_int_equal(server_config_text(&cfg, nul, sizeof(nul) - 1,
	    "test.conf", err, sizeof(err)), -1);
	assert_string_equal(err, "test.conf line 2: line too long or "
	    "contains a NUL byte");
	assert_int_equal(cfg.nports, 2);
}

static void
test_config_file(void **state)
{
	char dir[] = "/tmp/test_server_config.XXXXXX", path[256], want[512];
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ferryd_config", dir);
	assert_int_equal(server_config_file(&cfg, path, false, err,
	    sizeof(err)), 0);
	assert_int_equal(server_config_file(&cfg, path, true, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "# ferryd\nPort 2022\nGatewayPorts yes\n");
	fclose(fp);
	assert_int_equal(server_config_file(&cfg, path, true, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.ports[0], 2022);
	assert_int_equal(cfg.gateway_ports, GW_YES);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "Port 2022\nMaxSessions lots\n");
	fclose(fp);
	assert_int_equal(server_config_file(&cfg, path, false, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s line 2: MaxSessions: bad value "
	    "'lots' (a number from 0 to 2147483647)", path);
	assert_string_equal(err, want);
	unlink(path);
	rmdir(dir);
}

static void
test_print(void **state)
{
	char *out;

	text_ok("Port 2222\nPort 2223\nListenAddress 127.0.0.1\n"
	    "ListenAddress [::1]:3000\nListenAddress ::\n"
	    "HostKey /etc/ferryd/k1\nHostKey \"/etc/ferry d/k2\"\n"
	    "AuthorizedKeysFile /etc/ferryd/%u\nGatewayPorts clientspecified\n"
	    "AllowTcpForwarding all\nPermitOpen a:1 [::1]:22 *:*\n"
	    "PermitListen 8080 localhost:*\nClientAliveInterval 1m\n"
	    "ClientAliveCountMax 5\nLoginGraceTime 1h\nMaxStartups 3\n"
	    "MaxAuthTries 4\nMaxSessions 2\nMaxListeners 7\nEventLoops 3\n"
	    "LogLevel DEBUG2\nPidFile /run/ferryd.pid\n"
	    "StateDirectory /var/lib/ferryd\nRunAsUser nobody\n"
	    "SyslogFacility local3\nBanner /etc/issue.net\n"
	    "AllowUsers alice bob@10.0.0.0/8,!10.1.*\nDenyUsers mallory\n"
	    "AllowUsers carol\nClusterRegistry etcd:http://10.0.0.1:2379\n"
	    "ClusterNodeName n1\nClusterBindAddress 127.0.0.2\n"
	    "ClusterPortRange 20000-20099\nClusterLeaseTime 5\n"
	    "ClusterPrefix /f2\nClusterCAFile /etc/ferryd/etcd-ca.pem\n"
	    "ClusterCertificateFile /etc/ferryd/etcd.pem\n"
	    "ClusterKeyFile /etc/ferryd/etcd.key\n");
	finish();
	out = printed(&cfg);
	assert_string_equal(out,
	    "port 2222\n"
	    "port 2223\n"
	    "listenaddress 127.0.0.1:2222\n"
	    "listenaddress 127.0.0.1:2223\n"
	    "listenaddress [::1]:3000\n"
	    "listenaddress [::]:2222\n"
	    "listenaddress [::]:2223\n"
	    "hostkey /etc/ferryd/k1\n"
	    "hostkey \"/etc/ferry d/k2\"\n"
	    "authorizedkeysfile /etc/ferryd/%u\n"
	    "authorizedprincipalsfile none\n"
	    "trustedusercakeys none\n"
	    DEFAULT_ALGS
	    "gatewayports clientspecified\n"
	    "allowtcpforwarding yes\n"
	    "allowstreamlocalforwarding yes\n"
	    "streamlocalbindmask 0177\n"
	    "streamlocalbindunlink no\n"
	    "streamlocaldirectory /var/lib/ferryd/sockets/%u\n"
	    "keypermitscoverstreamlocal yes\n"
	    "reclaimforwards yes\n"
	    "permitopen a:1 [::1]:22 *:*\n"
	    "permitlisten *:8080 localhost:*\n"
	    "clientaliveinterval 60\n"
	    "clientalivecountmax 5\n"
	    "unusedconnectiontimeout none\n"
	    "logingracetime 3600\n"
	    "maxstartups 3:30:3\n"
	    "persourcemaxstartups none\n"
	    "persourcenetblocksize 32:128\n"
	    "maxauthtries 4\n"
	    "requiredrsasize 1024\n"
	    "maxsessions 2\n"
	    "maxlisteners 7\n"
	    "forwardconnecttimeout 10\n"
	    "maxpendingconnects 64\n"
	    "maxuserchannels 1024\n"
	    "maxcompressedsessions 128\n"
	    "maxforwardconnections 256\n"
	    "eventloops 3\n"
	    "loglevel DEBUG2\n"
	    "syslogfacility LOCAL3\n"
	    "banner /etc/issue.net\n"
	    "authorizedkeyscommand none\n"
	    "authorizedkeyscommanduser none\n"
	    "revokedkeys none\n"
	    "authorizedprincipalscommand none\n"
	    "authorizedprincipalscommanduser none\n"
	    "allowusers alice\n"
	    "allowusers bob@10.0.0.0/8,!10.1.*\n"
	    "allowusers carol\n"
	    "denyusers mallory\n"
	    "pidfile /run/ferryd.pid\n"
	    "statedirectory /var/lib/ferryd\n"
	    "runasuser nobody\n"
	    "controlsocket /var/lib/ferryd/ferryd.sock\n"
	    "metricslisten none\n"
	    "clusterregistry etcd:http://10.0.0.1:2379\n"
	    "clusternodename n1\n"
	    "clusterbindaddress 127.0.0.2\n"
	    "clusterportrange 20000-20099\n"
	    "clusterleasetime 5\n"
	    "clusterprefix /f2\n"
	    "clustercafile /etc/ferryd/etcd-ca.pem\n"
	    "clustercertificatefile /etc/ferryd/etcd.pem\n"
	    "clusterkeyfile /etc/ferryd/etcd.key\n");
	free(out);
}

/* The defaults that depend on the machine: EventLoops' (one loop per
 * online CPU) and ClusterNodeName's (the host name). out's lines say so,
 * and go (what remains is the same on every machine). */
static void
cut_line(char *out, const char *want)
{
	size_t at, len = strlen(want);
	char *p;

	p = strstr(out, want);
	assert_non_null(p);
	at = (size_t)(p - out);
	memmove(out + at + 1, out + at + len, strlen(out + at + len) + 1);
}

static void __attribute__((noinline))
cut_machine_lines(char *out)
{
	char want[300], host[256];
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(want, sizeof(want), "\neventloops %ld\n", n > 64 ? 64 : n);
	cut_line(out, want);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(want, sizeof(want), "\nclusternodename %s\n", host);
	cut_line(out, want);
}

/* The fleet's keywords refuse what they cannot use, naming it. */
static void
test_cluster_bad(void **state)
{
	(void)state;
	fresh();
	line_bad("ClusterRegistry http://a:2379", WHERE ": ClusterRegistry: "
	    "'http://a:2379' is neither none nor etcd:URL[,URL...]");
	line_bad("ClusterRegistry etcd:ftp://a:2379", WHERE ": ClusterRegistry: "
	    "URL ftp://a:2379 is not http[s]://HOST[:PORT]");
	line_bad("ClusterPortRange 9-3", WHERE ": ClusterPortRange: bad value "
	    "'9-3' (LOW-HIGH, ports from 1 to 65535 with LOW <= HIGH, or "
	    "none)");
	line_bad("ClusterPortRange 80", WHERE ": ClusterPortRange: bad value "
	    "'80' (LOW-HIGH, ports from 1 to 65535 with LOW <= HIGH, or "
	    "none)");
	line_bad("ClusterBindAddress example.org", WHERE ": ClusterBindAddress:"
	    " 'example.org' is neither any nor an IP address literal");
	line_bad("ClusterNodeName a/b", WHERE ": ClusterNodeName: 'a/b' is not "
	    "a name of at most 63 letters, digits, '-', '_' or '.'");
	line_bad("ClusterPrefix ferry", WHERE ": ClusterPrefix: 'ferry' is not "
	    "a key prefix such as /ferry (starting with '/', not ending with "
	    "one, under 128 bytes)");
	line_bad("ClusterLeaseTime 1", WHERE ": ClusterLeaseTime: bad value "
	    "'1' (a number from 2 to 3600)");
	line_bad("ClusterRegistry etcd:https://a:2379,http://b:2379", WHERE
	    ": ClusterRegistry: URL http://b:2379 is http:// while "
	    "https://a:2379 is https://: the members are all https:// or all "
	    "http://");
	line_bad("ClusterCAFile etcd-ca.pem", WHERE ": ClusterCAFile: "
	    "'etcd-ca.pem' is neither none nor an absolute path");
	line_bad("ClusterKeyFile ~/etcd.key", WHERE ": ClusterKeyFile: "
	    "'~/etcd.key' is neither none nor an absolute path");
	finish();
}

static void
test_print_defaults(void **state)
{
	char *out;

	finish();
	out = printed(&cfg);
	cut_machine_lines(out);
	assert_string_equal(out,
	    "port 22\n"
	    "listenaddress [::]:22\n"
	    "listenaddress 0.0.0.0:22\n"
	    "authorizedkeysfile .ssh/authorized_keys\n"
	    "authorizedprincipalsfile none\n"
	    "trustedusercakeys none\n"
	    DEFAULT_ALGS
	    "gatewayports no\n"
	    "allowtcpforwarding yes\n"
	    "allowstreamlocalforwarding yes\n"
	    "streamlocalbindmask 0177\n"
	    "streamlocalbindunlink no\n"
	    "streamlocaldirectory /var/lib/ferryd/sockets/%u\n"
	    "keypermitscoverstreamlocal yes\n"
	    "reclaimforwards yes\n"
	    "permitopen any\n"
	    "permitlisten any\n"
	    "clientaliveinterval 0\n"
	    "clientalivecountmax 3\n"
	    "unusedconnectiontimeout none\n"
	    "logingracetime 120\n"
	    "maxstartups 10:30:100\n"
	    "persourcemaxstartups none\n"
	    "persourcenetblocksize 32:128\n"
	    "maxauthtries 6\n"
	    "requiredrsasize 1024\n"
	    "maxsessions 10\n"
	    "maxlisteners 64\n"
	    "forwardconnecttimeout 10\n"
	    "maxpendingconnects 64\n"
	    "maxuserchannels 1024\n"
	    "maxcompressedsessions 128\n"
	    "maxforwardconnections 256\n"
	    "loglevel INFO\n"
	    "syslogfacility AUTH\n"
	    "banner none\n"
	    "authorizedkeyscommand none\n"
	    "authorizedkeyscommanduser none\n"
	    "revokedkeys none\n"
	    "authorizedprincipalscommand none\n"
	    "authorizedprincipalscommanduser none\n"
	    "pidfile none\n"
	    "statedirectory /var/lib/ferryd\n"
	    "runasuser none\n"
	    "controlsocket /var/lib/ferryd/ferryd.sock\n"
	    "metricslisten none\n"
	    "clusterregistry none\n"
	    "clusterbindaddress any\n"
	    "clusterportrange none\n"
	    "clusterleasetime 10\n"
	    "clusterprefix /ferry\n"
	    "clustercafile none\n"
	    "clustercertificatefile none\n"
	    "clusterkeyfile none\n");
	free(out);

	fresh();
	line_ok("AllowTcpForwarding local");
	line_ok("PermitOpen none");
	line_ok("LogLevel FATAL");
	line_ok("GatewayPorts yes");
	finish();
	out = printed(&cfg);
	assert_non_null(strstr(out, "\nallowtcpforwarding local\n"));
	assert_non_null(strstr(out, "\npermitopen none\n"));
	assert_non_null(strstr(out, "\nloglevel ERROR\n"));
	assert_non_null(strstr(out, "\ngatewayports yes\n"));
	free(out);
}

/* What -T prints reads back to the same configuration. */
static void
test_print_round_trip(void **state)
{
	struct server_config again;
	char *one, *two;

	text_ok("Port 2222\nPort 0\nListenAddress 10.1.1.1\n"
	    "ListenAddress [fe80::1]:5\nListenAddress 127.0.0.1:0\n"
	    "HostKey \"/k with space\"\nHostKey \"#hash\"\nHostKey ==eq\n"
	    "HostKey a#b\n"
	    "AuthorizedKeysFile \"/a b/%u\"\nGatewayPorts clientspecified\n"
	    "AllowTcpForwarding remote\nPermitOpen \"sp ace:1\" [::1]:*\n"
	    "PermitListen 1 h:2\nMaxStartups 1:2:3\nLogLevel QUIET\n"
	    "RunAsUser \"#u\"\n");
	finish();
	one = printed(&cfg);
	server_config_init(&again);
	err[0] = '\0';
	if (server_config_text(&again, one, strlen(one), "printed", err,
	    sizeof(err)) != 0)
		fail_msg("%s\n%s", err, one);
	assert_int_equal(server_config_finish(&again, err, sizeof(err)), 0);
	two = printed(&again);
	assert_string_equal(one, two);
	assert_non_null(strstr(one, "\nlistenaddress 10.1.1.1:0\n"));
	assert_non_null(strstr(one, "\nlistenaddress 127.0.0.1:0\n"));
	assert_string_equal(again.hostkeys[0], "/k with space");
	assert_string_equal(again.hostkeys[1], "#hash");
	assert_string_equal(again.hostkeys[2], "=eq");
	assert_string_equal(again.hostkeys[3], "a#b");
	assert_string_equal(again.user, "#u");
	free(one);
	free(two);
	server_config_free(&again);
}

/* Algorithm lists as sshd reads them (the syntax: test_alglist.c); the
 * first line wins but every line is checked; errors name the keyword. */
static void
test_alg_lists(void **state)
{
	line_ok("Ciphers aes256-gcm@openssh.com,aes192-ctr");
	line_ok("Ciphers aes128-ctr");
	assert_string_equal(cfg.ciphers, "aes256-gcm@openssh.com");
	line_ok("PubkeyAcceptedKeyTypes ssh-ed25519,sk-ssh-ed25519@openssh.com");
	assert_string_equal(cfg.pubkey_algs, "ssh-ed25519");
	fresh();
	line_ok("PubkeyAcceptedAlgorithms ssh-ed25519,ecdsa-*256");
	line_ok("Ciphers +aes128-ctr");
	finish();
	assert_string_equal(cfg.pubkey_algs, "ssh-ed25519,ecdsa-sha2-nistp256");
	assert_string_equal(cfg.ciphers, "chacha20-poly1305@openssh.com,"
	    "aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,"
	    "aes256-gcm@openssh.com");
	assert_string_equal(cfg.kex_algs, "curve25519-sha256,"
	    "curve25519-sha256@libssh.org");
}

static void
test_alg_errors(void **state)
{
	line_bad("KexAlgorithms diffie-hellman-group14-sha256", WHERE
	    ": KexAlgorithms: 'diffie-hellman-group14-sha256' leaves no key "
	    "exchange implemented here (left out: "
	    "diffie-hellman-group14-sha256; implemented: curve25519-sha256,"
	    "curve25519-sha256@libssh.org)");
	line_bad("MACs +hmac-sha3", WHERE ": MACs: 'hmac-sha3' is no MAC "
	    "OpenSSH knows (implemented here: hmac-sha2-256-etm@openssh.com,"
	    "hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512)");
	line_bad("Ciphers a b", WHERE ": Ciphers: too many arguments");
}

/* -T prints the effective lists, and they read back the same. */
static void
test_print_algs(void **state)
{
	char *out;

	line_ok("Ciphers aes256-gcm@openssh.com,aes128-ctr");
	line_ok("HostKeyAlgorithms -ecdsa*");
	line_ok("AuthorizedKeysFile /k/%u \"/a b/%u\" none");
	finish();
	out = printed(&cfg);
	assert_non_null(strstr(out, "\nciphers aes256-gcm@openssh.com,"
	    "aes128-ctr\n"));
	assert_non_null(strstr(out, "\nhostkeyalgorithms "
	    "ssh-ed25519-cert-v01@openssh.com,"
	    "rsa-sha2-512-cert-v01@openssh.com,"
	    "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,"
	    "rsa-sha2-512,rsa-sha2-256\n"));
	assert_non_null(strstr(out, "\nmacs hmac-sha2-256-etm@openssh.com,"
	    "hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512\n"));
	assert_non_null(strstr(out, "\nauthorizedkeysfile /k/%u \"/a b/%u\" "
	    "none\n"));
	free(out);
}

/* AllowUsers / DenyUsers: words added line after line, each checked;
 * matching as sshd: user globs case-sensitive, USER@HOST with address
 * patterns and address/masklen, '!' refusing, DenyUsers first. */
static void
test_users(void **state)
{
	char *allow[] = { "alice", "ops-*", "bob@10.0.0.0/8,!10.1.2.3",
	    "eve@192.168.1.?", "v6@2001:db8::/32" };
	char *deny[] = { "ops-intern", "*@203.0.113.*" };

	line_ok("AllowUsers alice bob@10.0.0.0/8");
	line_ok("AllowUsers carol");
	line_ok("DenyUsers mallory");
	assert_int_equal(cfg.nallow_users, 3);
	assert_string_equal(cfg.allow_users[2], "carol");
	assert_int_equal(cfg.ndeny_users, 1);
	line_bad("AllowUsers bob@10.0.0.0/33", WHERE ": AllowUsers: "
	    "'bob@10.0.0.0/33': '10.0.0.0/33' is not an address/masklen or a "
	    "host pattern");
	line_bad("DenyUsers x@a,,b", WHERE ": DenyUsers: 'x@a,,b': '' is not "
	    "an address/masklen or a host pattern");
	line_bad("DenyUsers x@nonsense/8", WHERE ": DenyUsers: "
	    "'x@nonsense/8': 'nonsense/8' is not an address/masklen or a host "
	    "pattern");

	assert_true(users_pattern_match("ali?e", "alice", "1.2.3.4"));
	assert_false(users_pattern_match("alice", "Alice", "1.2.3.4"));
	assert_true(users_pattern_match("*", "x", "1.2.3.4"));
	assert_true(users_pattern_match("bob@10.0.0.0/8", "bob", "10.200.1.1"));
	assert_false(users_pattern_match("bob@10.0.0.0/8", "bob", "11.0.0.1"));
	assert_true(users_pattern_match("bob@10.1.2.0/23", "bob",
	    "10.1.3.255"));
	assert_false(users_pattern_match("bob@10.1.2.0/23", "bob", "10.1.4.0"));
	assert_true(users_pattern_match("bob@0.0.0.0/0", "bob", "8.8.8.8"));
	assert_false(users_pattern_match("bob@10.0.0.0/8,!10.1.2.3", "bob",
	    "10.1.2.3"));
	assert_true(users_pattern_match("v6@2001:db8::/32", "v6",
	    "2001:db8:1::5"));
	assert_false(users_pattern_match("v6@2001:db8::/32", "v6",
	    "2001:db9::5"));
	assert_false(users_pattern_match("v6@2001:db8::/32", "v6", "10.0.0.1"));
	assert_true(users_pattern_match("*@127.0.0.*", "x", "127.0.0.9"));

	assert_int_equal(users_check(allow, 5, deny, 2, "alice", "1.1.1.1"),
	    USERS_ALLOWED);
	assert_int_equal(users_check(allow, 5, deny, 2, "alice", "203.0.113.7"),
	    USERS_DENIED);
	assert_int_equal(users_check(allow, 5, deny, 2, "ops-intern",
	    "1.1.1.1"), USERS_DENIED);
	assert_int_equal(users_check(allow, 5, deny, 2, "ops-anna", "1.1.1.1"),
	    USERS_ALLOWED);
	assert_int_equal(users_check(allow, 5, deny, 2, "bob", "10.1.2.3"),
	    USERS_NOT_ALLOWED);
	assert_int_equal(users_check(allow, 5, deny, 2, "eve", "192.168.1.7"),
	    USERS_ALLOWED);
	assert_int_equal(users_check(allow, 5, deny, 2, "eve", "192.168.1.70"),
	    USERS_NOT_ALLOWED);
	assert_int_equal(users_check(allow, 0, deny, 2, "anyone", "1.1.1.1"),
	    USERS_ALLOWED);
	assert_int_equal(users_check(allow, 0, deny, 0, "anyone", "1.1.1.1"),
	    USERS_ALLOWED);
}

/* SyslogFacility: syslog's names in any case, others refused. */
static void
test_syslog_facility(void **state)
{
	line_ok("SyslogFacility authpriv");
	line_bad("SyslogFacility LOCAL8", WHERE ": SyslogFacility: bad value "
	    "'LOCAL8' (DAEMON, USER, AUTH, AUTHPRIV or LOCAL0 to LOCAL7)");
	finish();
	assert_string_equal(cfg.syslog_facility, "AUTHPRIV");
	fresh();
	finish();
	assert_string_equal(cfg.syslog_facility, "AUTH");
	assert_string_equal(cfg.banner, "none");
}

/* TrustedUserCAKeys and AuthorizedPrincipalsFile: the first value wins,
 * as printed by -T. */
static void
test_cert_keywords(void **state)
{
	char *out;

	line_ok("TrustedUserCAKeys /etc/ssh/user_ca.pub");
	line_ok("TrustedUserCAKeys /ignored");
	line_ok("AuthorizedPrincipalsFile principals/%u");
	line_ok("CASignatureAlgorithms ssh-ed25519");
	finish();
	assert_string_equal(cfg.trusted_ca_keys, "/etc/ssh/user_ca.pub");
	assert_string_equal(cfg.principals_file, "principals/%u");
	out = printed(&cfg);
	assert_non_null(strstr(out, "\nauthorizedprincipalsfile "
	    "principals/%u\ntrustedusercakeys /etc/ssh/user_ca.pub\n"));
	assert_non_null(strstr(out, "\ncasignaturealgorithms ssh-ed25519\n"));
	free(out);
}

/* Keywords a config may rely on for protection that ferryd lacks are
 * refused with the reason; their harmless values are accepted. */
static void
test_refused(void **state)
{
	line_bad("DenyGroups wheel", WHERE ": DenyGroups is not supported: "
	    "ferryd has no system accounts, so users have no groups "
	    "(AllowUsers and DenyUsers name users)");
	line_bad("AllowGroups ferry", WHERE ": AllowGroups is not supported: "
	    "ferryd has no system accounts, so users have no groups "
	    "(AllowUsers and DenyUsers name users)");
	line_bad("AuthorizedKeysCommand keys %u", WHERE
	    ": AuthorizedKeysCommand: 'keys' is not an absolute path");
	line_bad("AuthorizedKeysCommand /usr/bin/keys %u %i", WHERE
	    ": AuthorizedKeysCommand: '%i': unknown key %i "
	    "(AuthorizedKeysCommand takes %f, %h, %k, %t, %u, %U and %%)");
	line_bad("AuthorizedPrincipalsCommand usr/bin/p %u", WHERE
	    ": AuthorizedPrincipalsCommand: 'usr/bin/p' is not an absolute "
	    "path");
	line_bad("ChrootDirectory /srv/%u", WHERE ": ChrootDirectory is not "
	    "supported: ferryd has no chroot (Unix-socket paths are confined "
	    "by StreamLocalDirectory)");
	line_bad("AuthenticationMethods publickey,publickey", WHERE
	    ": AuthenticationMethods is not supported: ferryd's only method "
	    "is one publickey, and no alternative here is 'publickey' alone");
	line_ok("AuthenticationMethods publickey,password publickey");
	line_bad("AddressFamily inet", WHERE ": AddressFamily inet is not "
	    "supported yet: ferryd would still listen and forward on every "
	    "address family (name the addresses with ListenAddress)");
	line_bad("AddressFamily ipx", WHERE ": AddressFamily: bad value 'ipx' "
	    "(any, inet or inet6)");
	line_bad("RequiredRSASize 768", WHERE ": RequiredRSASize: bad value "
	    "'768' (a number from 1024 to 16384)");
	line_bad("PerSourceMaxStartups 0", WHERE ": PerSourceMaxStartups: bad "
	    "value '0' (a number, or none)");
	line_bad("PerSourceNetBlockSize 24:129", WHERE ": "
	    "PerSourceNetBlockSize: bad value '24:129' (IPv4 bits 0-32, then "
	    "optionally :IPv6 bits 0-128)");
}

/* Keywords without effect are remembered once each, for ferryd -d. */
static void
test_noeffect_notes(void **state)
{
	line_ok("PasswordAuthentication no");
	line_ok("X11Forwarding yes");
	line_ok("passwordauthentication yes");
	line_ok("Port 22");
	assert_int_equal(cfg.nnoeffect, 2);
	assert_string_equal(cfg.noeffect[0], "PasswordAuthentication");
	assert_string_equal(cfg.noeffect[1], "X11Forwarding");
}

/* sshd_config quoting is ssh_config's: single quotes and escapes too. */
static void
test_quoting(void **state)
{
	line_ok("HostKey '/a b'");
	line_ok("HostKey /c\\ d");
	line_ok("HostKey \"/e \\\"f\\\"\"");
	assert_string_equal(cfg.hostkeys[0], "/a b");
	assert_string_equal(cfg.hostkeys[1], "/c d");
	assert_string_equal(cfg.hostkeys[2], "/e \"f\"");
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_keyword_table),
		T(test_defaults),
		T(test_keywords),
		T(test_line_forms),
		T(test_first_value_wins),
		T(test_repeatable),
		T(test_too_many),
		T(test_listen_forms),
		T(test_permits),
		T(test_permit_errors),
		T(test_times),
		T(test_max_startups),
		T(test_loglevel),
		T(test_enums),
		T(test_ints),
		T(test_ignored),
		T(test_pubkey_no),
		T(test_disable_forwarding),
		T(test_authkeys_tokens),
		T(test_match_include),
		T(test_errors_name_file_line),
		T(test_long_lines),
		T(test_config_file),
		T(test_print),
		T(test_print_defaults),
		T(test_cluster_bad),
		T(test_print_round_trip),
		T(test_alg_lists),
		T(test_alg_errors),
		T(test_print_algs),
		T(test_refused),
		T(test_cert_keywords),
		T(test_users),
		T(test_syslog_facility),
		T(test_noeffect_notes),
		T(test_quoting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
