/* Unit tests for client/options.c, optargs.c, optkw.c, optfinish.c,
 * optprint.c, readconf.c, sshkw.c and optexpand.c: -o lines, ssh_config
 * text with Host and Match blocks, Include, IgnoreUnknown, the keywords
 * of ssh ferry only stores, tokens, Host pattern matching, the command
 * line, and what options_finish resolves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/jump.h"
#include "client/options.h"
#include "client/readconf.h"
#include "client/sshkw.h"

#define WHERE	"command line"

static struct options opts;
static char err[1024];

static int
setup(void **state)
{
	setenv("HOME", "/home/tester", 1);
	options_init(&opts);
	memset(err, 0, sizeof(err));
	return 0;
}

static int
teardown(void **state)
{
	options_free(&opts);
	return 0;
}

/* The password database's home of this user followed by tail. */
static const char *
pw_path(const char *tail)
{
	static char buf[1024];
	struct passwd *pw = getpwuid(getuid());

	assert_non_null(pw);
	snprintf(buf, sizeof(buf), "%s%s", pw->pw_dir, tail);
	return buf;
}

static void
apply_ok(const char *line)
{
	err[0] = '\0';
	if (options_apply_line(&opts, line, WHERE, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", line, err);
}

/* Applies a line that must fail; the message must contain each of the
 * given strings. */
static void
apply_bad(const char *line, const char *want1, const char *want2)
{
	err[0] = '\0';
	if (options_apply_line(&opts, line, WHERE, err, sizeof(err)) != -1)
		fail_msg("'%s' accepted", line);
	if (strstr(err, want1) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", line, err, want1);
	if (want2 != NULL && strstr(err, want2) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", line, err, want2);
}

/* Every keyword of the table, each on fresh options. */
static void
test_keywords(void **state)
{
	struct options fresh;

	apply_ok("AddressFamily inet");
	assert_int_equal(opts.parsed.family, AFAM_INET);
	options_free(&opts);
	options_init(&opts);
	apply_ok("AddressFamily inet6");
	assert_int_equal(opts.parsed.family, AFAM_INET6);
	options_free(&opts);
	options_init(&opts);
	apply_ok("AddressFamily any");
	assert_int_equal(opts.parsed.family, OPT_UNSET);

	assert_int_equal(opts.parsed.batch_mode, OPT_UNSET);
	apply_ok("BatchMode yes");
	assert_int_equal(opts.parsed.batch_mode, 1);

	assert_int_equal(opts.parsed.compression, OPT_UNSET);
	apply_ok("Compression yes");
	assert_int_equal(opts.parsed.compression, 1);
	apply_ok("Compression no");	/* the first value wins */
	assert_int_equal(opts.parsed.compression, 1);

	apply_ok("Ciphers aes256-gcm@openssh.com,aes128-ctr");
	assert_non_null(opts.ciphers);
	assert_string_equal(opts.ciphers, "aes256-gcm@openssh.com,aes128-ctr");

	apply_ok("ConnectTimeout 15");
	assert_int_equal(opts.connect_timeout, 15);

	apply_ok("ExitOnForwardFailure yes");
	assert_int_equal(opts.parsed.exit_on_forward_failure, 1);

	apply_ok("GatewayPorts true");
	assert_int_equal(opts.parsed.gateway_ports, 1);

	apply_ok("HashKnownHosts no");
	assert_int_equal(opts.parsed.hash_known_hosts, 0);

	apply_ok("HostName real.example.org");
	assert_string_equal(opts.hostname, "real.example.org");

	apply_ok("IdentitiesOnly yes");
	assert_int_equal(opts.parsed.identities_only, 1);

	/* kept as written until options_finish (test_finish_tokens) */
	apply_ok("IdentityAgent ~/.ssh/agent.sock");
	assert_string_equal(opts.identity_agent, "~/.ssh/agent.sock");

	apply_ok("IdentityFile ~/.ssh/id_work");
	assert_int_equal(opts.nidentity, 1);
	assert_true(opts.identity_given);
	assert_string_equal(opts.identity[0], "~/.ssh/id_work");

	apply_ok("LocalForward 8080 localhost:80");
	assert_int_equal(opts.nlocal, 1);
	assert_int_equal(opts.local[0].kind, FWD_LOCAL);
	assert_int_equal(opts.local[0].bind, BIND_DEFAULT);
	assert_int_equal(opts.local[0].listen_port, 8080);
	assert_string_equal(opts.local[0].host, "localhost");
	assert_int_equal(opts.local[0].port, 80);
	apply_ok("LocalForward [::1]:9090 [fe80::2]:22");
	assert_int_equal(opts.nlocal, 2);
	assert_int_equal(opts.local[1].bind, BIND_ADDR);
	assert_string_equal(opts.local[1].bind_addr, "::1");
	assert_string_equal(opts.local[1].host, "fe80::2");
	assert_int_equal(opts.local[1].port, 22);

	apply_ok("LogLevel DEBUG2");
	assert_int_equal(opts.parsed.log_level, LOG_DEBUG);

	apply_ok("MACs hmac-sha2-512,hmac-sha2-256-etm@openssh.com");
	assert_string_equal(opts.macs,
	    "hmac-sha2-512,hmac-sha2-256-etm@openssh.com");

	apply_ok("Port 2222");
	assert_int_equal(opts.port, 2222);

	apply_ok("RekeyLimit 1G 1h");
	assert_true(opts.rekey_bytes == (int64_t)1 << 30);

	apply_ok("RemoteForward 0.0.0.0:9000 localhost:22");
	assert_int_equal(opts.nremote, 1);
	assert_int_equal(opts.nlocal, 2);	/* a separate list */
	assert_int_equal(opts.remote[0].kind, FWD_REMOTE);
	assert_int_equal(opts.remote[0].bind, BIND_ADDR);
	assert_string_equal(opts.remote[0].bind_addr, "0.0.0.0");
	assert_int_equal(opts.remote[0].listen_port, 9000);
	assert_string_equal(opts.remote[0].host, "localhost");
	assert_int_equal(opts.remote[0].port, 22);

	apply_ok("ServerAliveCountMax 5");
	assert_int_equal(opts.server_alive_count_max, 5);

	apply_ok("ServerAliveInterval 30");
	assert_int_equal(opts.server_alive_interval, 30);

	apply_ok("TCPKeepAlive no");
	assert_int_equal(opts.parsed.tcp_keepalive, 0);

	apply_ok("StrictHostKeyChecking accept-new");
	assert_int_equal(opts.parsed.strict, SHK_ACCEPT_NEW);

	apply_ok("User alice");
	assert_string_equal(opts.user, "alice");

	apply_ok("UserKnownHostsFile ~/.ssh/kh_a /etc/kh_b");
	assert_int_equal(opts.nknown_hosts, 2);
	assert_string_equal(opts.known_hosts[0], "~/.ssh/kh_a");
	assert_string_equal(opts.known_hosts[1], "/etc/kh_b");
	apply_ok("GlobalKnownHostsFile /etc/ssh/a /etc/ssh/b");
	assert_int_equal(opts.nglobal_known_hosts, 2);
	assert_string_equal(opts.global_known_hosts[1], "/etc/ssh/b");
	apply_ok("GlobalKnownHostsFile /etc/ssh/c");	/* the first wins */
	assert_int_equal(opts.nglobal_known_hosts, 2);
	apply_ok("HostKeyAlias gw");
	assert_string_equal(opts.host_key_alias, "gw");
	options_free(&opts);
	options_init(&opts);
	apply_bad("UserKnownHostsFile none /a", "\"none\" argument must "
	    "appear alone", NULL);
	apply_bad("GlobalKnownHostsFile /a none", "\"none\" argument must "
	    "appear alone", NULL);
	apply_ok("UserKnownHostsFile none");
	assert_string_equal(opts.known_hosts[0], "none");

	/* Keywords that mean nothing here are accepted, stored for -G and
	 * change nothing else. */
	options_free(&opts);
	options_init(&opts);
	options_init(&fresh);
	apply_ok("VisualHostKey yes");
	apply_ok("RequestTTY no");
	apply_ok("SendEnv LANG LC_*");
	apply_ok("SetEnv FOO=bar BAZ=1");
	assert_int_equal(opts.nsshkw, 4);
	assert_int_equal(opts.sshkw[2].nargs, 2);
	assert_string_equal(opts.sshkw[2].args[1], "LC_*");
	opts.nsshkw = 0;
	fresh.sshkw = opts.sshkw;
	assert_memory_equal(&opts, &fresh, sizeof(fresh));
	opts.nsshkw = 4;
}

/* The values each keyword accepts beyond the first example. */
static void
test_keyword_values(void **state)
{
	static const struct {
		const char	*line;
		enum strict_hk	 want;
	} shk[] = {
		{ "StrictHostKeyChecking yes", SHK_YES },
		{ "StrictHostKeyChecking TRUE", SHK_YES },
		{ "StrictHostKeyChecking no", SHK_NO },
		{ "StrictHostKeyChecking off", SHK_NO },
		{ "StrictHostKeyChecking false", SHK_NO },
		{ "StrictHostKeyChecking ask", SHK_ASK },
	};
	static const struct {
		const char	*line;
		int64_t		 want;
	} rekey[] = {
		{ "RekeyLimit default", 0 },
		{ "RekeyLimit none", 0 },
		{ "RekeyLimit 16", 16 },
		{ "RekeyLimit 4096", 4096 },
		{ "RekeyLimit 64K", 64 << 10 },
		{ "RekeyLimit 500m", (int64_t)500 << 20 },
		{ "RekeyLimit 4G", (int64_t)4 << 30 },
	};
	static const struct {
		const char	*line;
		enum log_level	 want;
	} levels[] = {
		{ "LogLevel QUIET", LOG_QUIET },
		{ "LogLevel fatal", LOG_ERROR },
		{ "LogLevel ERROR", LOG_ERROR },
		{ "LogLevel INFO", LOG_INFO },
		{ "LogLevel VERBOSE", LOG_VERBOSE },
		{ "LogLevel DEBUG", LOG_VERBOSE },
		{ "LogLevel DEBUG1", LOG_VERBOSE },
		{ "LogLevel DEBUG3", LOG_DEBUG2 },
	};
	size_t i;

	for (i = 0; i < sizeof(shk) / sizeof(shk[0]); i++) {
		options_free(&opts);
		options_init(&opts);
		apply_ok(shk[i].line);
		assert_int_equal(opts.parsed.strict, shk[i].want);
	}
	for (i = 0; i < sizeof(rekey) / sizeof(rekey[0]); i++) {
		options_free(&opts);
		options_init(&opts);
		apply_ok(rekey[i].line);
		if (opts.rekey_bytes != rekey[i].want)
			fail_msg("'%s' gave %lld", rekey[i].line,
			    (long long)opts.rekey_bytes);
	}
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		options_free(&opts);
		options_init(&opts);
		apply_ok(levels[i].line);
		assert_int_equal(opts.parsed.log_level, levels[i].want);
	}
	options_free(&opts);
	options_init(&opts);
	apply_ok("BatchMode false");
	assert_int_equal(opts.parsed.batch_mode, 0);
	apply_ok("ConnectTimeout 0");
	assert_int_equal(opts.connect_timeout, 0);
	apply_ok("Port 65535");
	assert_int_equal(opts.port, 65535);
}

/* "Key=Value", "Key = Value", "Key Value", case-insensitive keywords,
 * quotes and trailing comments. */
static void
test_line_forms(void **state)
{
	static const char *ports[] = {
		"Port=2222", "Port = 2222", "Port 2222", "Port\t2222",
		"  port  2222  ", "PORT=2222", "Port 2222 # a comment",
		"Port \"2222\"", "Port 2222\r",
	};
	size_t i;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		options_free(&opts);
		options_init(&opts);
		apply_ok(ports[i]);
		if (opts.port != 2222)
			fail_msg("'%s' gave port %d", ports[i], opts.port);
	}

	apply_ok("User=\"john smith\"");
	assert_string_equal(opts.user, "john smith");
	apply_ok("IdentityFile \"/tmp/my key\"");
	assert_string_equal(opts.identity[0], "/tmp/my key");

	/* Blank lines and comments are no-ops. */
	options_free(&opts);
	options_init(&opts);
	apply_ok("");
	apply_ok("   ");
	apply_ok("# Port 1");
	assert_int_equal(opts.port, -1);

	apply_bad("Port", "Port", "missing argument");
	apply_bad("Port=", "Port", "missing argument");
	apply_bad("Port 1 2", "Port", "too many");
	apply_bad("User \"unterminated", WHERE, "malformed");
	assert_null(opts.user);
	assert_int_equal(opts.port, -1);
}

/* ssh's rule: the first value obtained for a keyword is used. */
static void
test_first_value_wins(void **state)
{
	apply_ok("Port 2222");
	apply_ok("Port 3333");
	assert_int_equal(opts.port, 2222);

	apply_ok("User first");
	apply_ok("User second");
	assert_string_equal(opts.user, "first");

	apply_ok("HostName one.example");
	apply_ok("HostName two.example");
	assert_string_equal(opts.hostname, "one.example");

	apply_ok("Ciphers aes128-ctr");
	apply_ok("Ciphers aes256-ctr");
	assert_string_equal(opts.ciphers, "aes128-ctr");

	apply_ok("MACs hmac-sha2-256");
	apply_ok("MACs hmac-sha2-512");
	assert_string_equal(opts.macs, "hmac-sha2-256");

	apply_ok("StrictHostKeyChecking no");
	apply_ok("StrictHostKeyChecking yes");
	assert_int_equal(opts.parsed.strict, SHK_NO);

	apply_ok("BatchMode no");
	apply_ok("BatchMode yes");
	assert_int_equal(opts.parsed.batch_mode, 0);

	apply_ok("GatewayPorts no");
	apply_ok("GatewayPorts yes");
	assert_int_equal(opts.parsed.gateway_ports, 0);

	apply_ok("ExitOnForwardFailure no");
	apply_ok("ExitOnForwardFailure yes");
	assert_int_equal(opts.parsed.exit_on_forward_failure, 0);

	apply_ok("HashKnownHosts yes");
	apply_ok("HashKnownHosts no");
	assert_int_equal(opts.parsed.hash_known_hosts, 1);

	apply_ok("ConnectTimeout 5");
	apply_ok("ConnectTimeout 9");
	assert_int_equal(opts.connect_timeout, 5);

	apply_ok("RekeyLimit 1M");
	apply_ok("RekeyLimit 2M");
	assert_true(opts.rekey_bytes == 1 << 20);

	apply_ok("AddressFamily inet6");
	apply_ok("AddressFamily inet");
	assert_int_equal(opts.parsed.family, AFAM_INET6);

	apply_ok("IdentitiesOnly no");
	apply_ok("IdentitiesOnly yes");
	assert_int_equal(opts.parsed.identities_only, 0);

	apply_ok("IdentityAgent /run/a1");
	apply_ok("IdentityAgent /run/a2");
	assert_string_equal(opts.identity_agent, "/run/a1");

	apply_ok("ServerAliveInterval 10");
	apply_ok("ServerAliveInterval 20");
	assert_int_equal(opts.server_alive_interval, 10);

	apply_ok("ServerAliveCountMax 0");
	apply_ok("ServerAliveCountMax 7");
	assert_int_equal(opts.server_alive_count_max, 0);

	apply_ok("TCPKeepAlive yes");
	apply_ok("TCPKeepAlive no");
	assert_int_equal(opts.parsed.tcp_keepalive, 1);

	apply_ok("UserKnownHostsFile /a");
	apply_ok("UserKnownHostsFile /b /c");
	assert_int_equal(opts.nknown_hosts, 1);
	assert_string_equal(opts.known_hosts[0], "/a");

	/* IdentityFile and LocalForward accumulate, as in ssh. */
	apply_ok("IdentityFile /k1");
	apply_ok("IdentityFile /k2");
	assert_int_equal(opts.nidentity, 2);
	assert_string_equal(opts.identity[0], "/k1");
	assert_string_equal(opts.identity[1], "/k2");
	apply_ok("LocalForward 1 h:1");
	apply_ok("LocalForward 2 h:2");
	assert_int_equal(opts.nlocal, 2);
	assert_int_equal(opts.local[1].listen_port, 2);
	apply_ok("RemoteForward 3 h:3");
	apply_ok("RemoteForward 4 h:4");
	assert_int_equal(opts.nremote, 2);
	assert_int_equal(opts.remote[1].listen_port, 4);
}

/* -v on the command line must survive a LogLevel line read later from a
 * config file (the first value wins for LogLevel too). */
static void
test_loglevel_first_wins(void **state)
{
	char *argv[] = { "ferry", "-v", "host", NULL };

	assert_int_equal(options_parse_args(&opts, 3, argv, err,
	    sizeof(err)), 0);
	assert_int_equal(opts.parsed.log_level, LOG_VERBOSE);
	apply_ok("LogLevel ERROR");
	assert_int_equal(opts.parsed.log_level, LOG_VERBOSE);

	options_free(&opts);
	options_init(&opts);
	apply_ok("LogLevel DEBUG3");
	apply_ok("LogLevel QUIET");
	assert_int_equal(opts.parsed.log_level, LOG_DEBUG2);
}

/* Old names for keywords: the value goes where the keyword's would, and
 * a bad value is named by the keyword. */
static void
test_aliases(void **state)
{
	apply_ok("IdentityFile2 /k1");
	assert_int_equal(opts.nidentity, 1);
	assert_string_equal(opts.identity[0], "/k1");
	apply_ok("protocolkeepalives 15");
	assert_int_equal(opts.server_alive_interval, 15);
	apply_ok("SetupTimeOut 9");
	assert_int_equal(opts.connect_timeout, 9);
	apply_bad("KeepAlive maybe", "TCPKeepAlive takes yes or no", "'maybe'");
	apply_bad("ProtocolKeepAlives x", "ServerAliveInterval takes",
	    "'x'");
	apply_bad("SetupTimeOut soon", "Bad ConnectTimeout", "'soon'");
	/* the argument count is told with the name as written in ssh */
	apply_bad("keepalive yes no", "KeepAlive: too many", NULL);
	apply_bad("IgnoreUnknown a b", "IgnoreUnknown: too many", NULL);
}

static void
test_unknown_keyword(void **state)
{
	apply_bad("Frobnicate yes", "Bad configuration option", "Frobnicate");
	assert_non_null(strstr(err, WHERE));
	apply_bad("UseKeychain yes", "Bad configuration option",
	    "UseKeychain");
}

/* ProxyCommand is kept as written; ProxyJump's hops are checked; the
 * first of the two wins, as in ssh. */
static void
test_proxy_keywords(void **state)
{
	apply_ok("ProxyCommand = sh -c \"nc '%h' %p\"  # note  ");
	assert_string_equal(opts.proxy_command, "sh -c \"nc '%h' %p\"  # note");
	apply_ok("ProxyJump gw");
	assert_null(opts.proxy_jump);
	options_free(&opts);
	options_init(&opts);
	apply_bad("ProxyJump a@", "Invalid ProxyJump \"a@\"", NULL);
	apply_bad("ProxyJump gw:0", "Invalid ProxyJump", "gw:0");
	apply_bad("ProxyJump gw,[::1", "Invalid ProxyJump", "[::1");
	apply_ok("ProxyJump u@a:2222,ssh://v@[::1]:5,c");
	assert_string_equal(opts.proxy_jump, "u@a:2222,ssh://v@[::1]:5,c");
	apply_ok("ProxyCommand nc %h %p");
	assert_null(opts.proxy_command);
	options_free(&opts);
	options_init(&opts);
	/* "ProxyJump none" lets a later ProxyCommand in */
	apply_ok("ProxyJump none");
	apply_ok("ProxyCommand nc %h %p");
	assert_string_equal(opts.proxy_command, "nc %h %p");
}

/* The hops, and the ferry -W command that reaches the last one. */
static void
test_jump_command(void **state)
{
	char e[256], *c;
	struct jump_hop h;

	assert_int_equal(jump_hop_parse("u@h:22", 6, &h), 0);
	assert_string_equal(h.user, "u");
	assert_string_equal(h.host, "h");
	assert_int_equal(h.port, 22);
	assert_int_equal(jump_hop_parse("ssh://[fe80::1]", 15, &h), 0);
	assert_string_equal(h.host, "fe80::1");
	assert_int_equal(h.port, -1);
	assert_int_equal(jump_hop_parse("a@b@c", 5, &h), 0);
	assert_string_equal(h.user, "a@b");
	assert_int_equal(jump_hop_parse(":22", 3, &h), -1);
	assert_int_equal(jump_hop_parse("h:65536", 7, &h), -1);
	c = jump_command("a,u@b%x:7", "/usr/bin/fe'rry", 2, "/c f", e,
	    sizeof(e));
	assert_non_null(c);
	assert_string_equal(c, "'/usr/bin/fe'\\''rry' -vv -F '/c f' -W "
	    "'[%h]:%p' -l 'u' -p '7' -J 'a' 'b%%x'");
	free(c);
	c = jump_command("gw", "/f", 0, NULL, e, sizeof(e));
	assert_string_equal(c, "'/f' -W '[%h]:%p' 'gw'");
	free(c);
	assert_null(jump_command("gw:x", "/f", 0, NULL, e, sizeof(e)));
}

static void
test_bad_values(void **state)
{
	apply_bad("Port 0", "Bad port", "'0'");
	apply_bad("Port abc", "Bad port", "'abc'");
	apply_bad("Port 65536", "Bad port", "'65536'");
	apply_bad("Port 22x", "Bad port", "'22x'");
	assert_int_equal(opts.port, -1);	/* nothing was taken */
	apply_bad("StrictHostKeyChecking maybe", "StrictHostKeyChecking",
	    "'maybe'");
	assert_int_equal(opts.parsed.strict, OPT_UNSET);
	apply_bad("Ciphers nosuch", "no cipher OpenSSH knows", "'nosuch'");
	apply_bad("Ciphers aes128-ctr,nosuch2", "cipher", "'nosuch2'");
	apply_bad("Ciphers aes*", "no pattern", "'aes*'");
	assert_null(opts.ciphers);
	apply_bad("MACs hmac-md5", "leaves no MAC implemented",
	    "'hmac-md5'");
	assert_null(opts.macs);
	apply_bad("RekeyLimit 1Q", "RekeyLimit", "'1Q'");
	apply_bad("RekeyLimit 8", "RekeyLimit", "'8'");
	apply_bad("RekeyLimit -5", "RekeyLimit", "'-5'");
	apply_bad("RekeyLimit 1GB", "RekeyLimit", "'1GB'");
	assert_true(opts.rekey_bytes == -1);
	apply_bad("BatchMode maybe", "BatchMode", "'maybe'");
	apply_bad("GatewayPorts 2", "GatewayPorts", "'2'");
	apply_bad("ExitOnForwardFailure on", "ExitOnForwardFailure", "'on'");
	apply_bad("HashKnownHosts x", "HashKnownHosts", "'x'");
	apply_bad("ConnectTimeout soon", "ConnectTimeout", "'soon'");
	apply_bad("ConnectTimeout -1", "ConnectTimeout", "'-1'");
	apply_bad("AddressFamily ipx", "AddressFamily", "'ipx'");
	apply_bad("LogLevel loud", "LogLevel", "'loud'");
	apply_bad("LocalForward 8080", "LocalForward", NULL);
	apply_bad("LocalForward 8080 h:0", "Bad local forwarding "
	    "specification", "bad destination port");
	assert_int_equal(opts.nlocal, 0);
	apply_bad("RemoteForward /tmp/s", "Bad remote forwarding "
	    "specification", "needs a port");
	apply_bad("RemoteForward 9000 h:0", "Bad remote forwarding "
	    "specification", "bad destination port");
	assert_int_equal(opts.nremote, 0);
	apply_bad("DynamicForward 1080 h:80", "DynamicForward",
	    "[bind_address:]port");
	apply_bad("DynamicForward 1080:h:80", "Bad dynamic forwarding "
	    "specification", "expected [bind_address:]port");
	apply_bad("StreamLocalBindMask 0999", "StreamLocalBindMask", "'0999'");
	apply_bad("StreamLocalBindUnlink maybe", "StreamLocalBindUnlink",
	    "'maybe'");
	apply_bad("PermitRemoteOpen host", "PermitRemoteOpen", "'host'");
	apply_bad("PermitRemoteOpen any h:1", "PermitRemoteOpen",
	    "must appear alone");
	assert_int_equal(opts.nlocal, 0);
	assert_int_equal(opts.npermit_remote_open, FWD_PERMIT_UNSET);
	apply_bad("ServerAliveInterval soon", "ServerAliveInterval",
	    "'soon'");
	apply_bad("ServerAliveInterval -1", "ServerAliveInterval", "'-1'");
	apply_bad("ServerAliveCountMax 3x", "ServerAliveCountMax", "'3x'");
	apply_bad("TCPKeepAlive sometimes", "TCPKeepAlive", "'sometimes'");
	apply_bad("IdentitiesOnly perhaps", "IdentitiesOnly", "'perhaps'");
	assert_int_equal(opts.parsed.identities_only, OPT_UNSET);
	assert_int_equal(opts.server_alive_interval, -1);
	assert_int_equal(opts.server_alive_count_max, -1);
	assert_int_equal(opts.parsed.tcp_keepalive, OPT_UNSET);
	/* Every message says where the line came from. */
	assert_int_equal(strncmp(err, WHERE ": ", strlen(WHERE) + 2), 0);
}

/* A RekeyLimit too large for 64 bits is an error, not a wrapped value
 * (17179869185G is 2^64 + 1 GiB). */
static void
test_rekeylimit_overflow(void **state)
{
	apply_bad("RekeyLimit 17179869185G", "RekeyLimit", "'17179869185G'");
	apply_bad("RekeyLimit 99999999999999999999", "RekeyLimit", NULL);
	apply_bad("RekeyLimit 9223372036854775808", "RekeyLimit", NULL);
	assert_true(opts.rekey_bytes == -1);
	apply_ok("RekeyLimit 8589934591G");	/* just below 2^63 */
	assert_true(opts.rekey_bytes == (int64_t)8589934591 << 30);
}

/* RekeyLimit's second argument: a time in ssh's format, "none" or absent
 * for no time limit; the first RekeyLimit wins for both parts. */
static void
test_rekeylimit_time(void **state)
{
	static const struct {
		const char	*line;
		int64_t		 bytes;
		int		 seconds;
	} ok[] = {
		{ "RekeyLimit 1G 30s", (int64_t)1 << 30, 30 },
		{ "RekeyLimit default none", 0, 0 },
		{ "RekeyLimit default 5m", 0, 300 },
		{ "RekeyLimit 500M 1h30m", (int64_t)500 << 20, 5400 },
		{ "RekeyLimit 16 2", 16, 2 },
		{ "RekeyLimit default 0", 0, 0 },
		{ "RekeyLimit 64K", 64 << 10, 0 },
		{ "RekeyLimit=default 2s", 0, 2 },
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		options_free(&opts);
		options_init(&opts);
		apply_ok(ok[i].line);
		if (opts.rekey_bytes != ok[i].bytes ||
		    opts.rekey_seconds != ok[i].seconds)
			fail_msg("'%s' gave %lld %d", ok[i].line,
			    (long long)opts.rekey_bytes, opts.rekey_seconds);
	}
	options_free(&opts);
	options_init(&opts);
	apply_bad("RekeyLimit 1G soon", "Bad RekeyLimit time", "'soon'");
	apply_bad("RekeyLimit 1G -5s", "Bad RekeyLimit time", "'-5s'");
	apply_bad("RekeyLimit default 1x", "Bad RekeyLimit time", "'1x'");
	assert_true(opts.rekey_bytes == -1);
	apply_ok("RekeyLimit 1M 10s");
	apply_ok("RekeyLimit 2M 20s");
	assert_true(opts.rekey_bytes == 1 << 20);
	assert_int_equal(opts.rekey_seconds, 10);
}

static int
read_text(const char *text, const char *host)
{
	err[0] = '\0';
	return readconf_host_text(&opts, text, strlen(text), "test.conf", host,
	    err, sizeof(err));
}

static const char two_blocks[] =
	"# global settings first\n"
	"ConnectTimeout 7\n"
	"\n"
	"Host other\n"
	"    Port 1111\n"
	"    User bob\n"
	"Host example\n"
	"    Port 2222\n"
	"    User alice\n"
	"    LocalForward 8080 localhost:80\n"
	"Host *\n"
	"    Port 3333\n"
	"    HostName fallback.example\n";

static void
test_read_text_blocks(void **state)
{
	assert_int_equal(read_text(two_blocks, "example"), 0);
	assert_int_equal(opts.connect_timeout, 7);
	assert_int_equal(opts.port, 2222);
	assert_string_equal(opts.user, "alice");
	assert_string_equal(opts.hostname, "fallback.example");
	assert_int_equal(opts.nlocal, 1);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text(two_blocks, "other"), 0);
	assert_int_equal(opts.port, 1111);
	assert_string_equal(opts.user, "bob");
	assert_int_equal(opts.nlocal, 0);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text(two_blocks, "unlisted"), 0);
	assert_int_equal(opts.port, 3333);
	assert_null(opts.user);
	assert_string_equal(opts.hostname, "fallback.example");
}

static void
test_read_text_patterns(void **state)
{
	static const char text[] =
	    "Host *.corp.example !build.corp.example\n"
	    "  User corp\n"
	    "Host db? web[0-9]\n"
	    "  Port 5000\n"
	    "Host * !*.corp.example\n"
	    "  HostName outside\n";

	assert_int_equal(read_text(text, "a.corp.example"), 0);
	assert_string_equal(opts.user, "corp");
	assert_null(opts.hostname);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text(text, "build.corp.example"), 0);
	assert_null(opts.user);			/* negated */
	assert_null(opts.hostname);		/* negated in the last block */

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text(text, "db1"), 0);
	assert_int_equal(opts.port, 5000);
	assert_string_equal(opts.hostname, "outside");

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text(text, "db12"), 0);
	assert_int_equal(opts.port, -1);
	assert_string_equal(opts.hostname, "outside");
}

static void
test_read_text_errors(void **state)
{
	/* A bad keyword in a block for another host is still an error. */
	static const char bad_kw[] =
	    "Host example\n"
	    "  Port 2222\n"
	    "\n"
	    "Host elsewhere\n"
	    "  Bogus 1\n";
	/* CRLF line ends and no final newline. */
	static const char crlf[] = "Host example\r\n  Port 4444\r\n  User u";

	assert_int_equal(read_text(bad_kw, "example"), -1);
	assert_non_null(strstr(err, "test.conf line 5"));
	assert_non_null(strstr(err, "Bogus"));

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Port 22\nMatch tagged x\n", "example"),
	    -1);
	assert_non_null(strstr(err, "test.conf line 2"));
	assert_non_null(strstr(err, "Unsupported Match attribute tagged"));

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("\nMatch\n", "example"), -1);
	assert_non_null(strstr(err, "test.conf line 2"));
	assert_non_null(strstr(err, "Match"));

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Match host\n", "example"), -1);
	assert_non_null(strstr(err, "test.conf line 1"));
	assert_non_null(strstr(err, "missing pattern"));

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Host\n", "example"), -1);
	assert_non_null(strstr(err, "test.conf line 1"));

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Host example\nPort abc\n", "example"), -1);
	assert_non_null(strstr(err, "test.conf line 2"));
	assert_non_null(strstr(err, "'abc'"));

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(readconf_host_text(&opts, "Port 22\nUser a\0b\n", 17,
	    "test.conf", "example", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "test.conf line 2"));

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text(crlf, "example"), 0);
	assert_int_equal(opts.port, 4444);
	assert_string_equal(opts.user, "u");

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("", "example"), 0);
	assert_int_equal(opts.port, -1);
}

/* Match blocks: all, host (which sees a HostName set earlier),
 * originalhost, negation, and several criteria that must all hold. */
static void
test_read_text_match(void **state)
{
	static const char text[] =
	    "Match host other\n"
	    "  Port 1111\n"
	    "Match originalhost ex*ple\n"
	    "  HostName real.example\n"
	    "Match host real.example\n"
	    "  User viahostname\n"
	    "Match originalhost example !host real.example\n"
	    "  ConnectTimeout 3\n"
	    "Match !originalhost example\n"
	    "  BatchMode yes\n"
	    "Match !all\n"
	    "  Port 9\n"
	    "Match all\n"
	    "  Port 2222\n";

	assert_int_equal(read_text(text, "example"), 0);
	assert_string_equal(opts.hostname, "real.example");
	assert_string_equal(opts.user, "viahostname");
	assert_int_equal(opts.connect_timeout, -1);
	assert_int_equal(opts.parsed.batch_mode, OPT_UNSET);
	assert_int_equal(opts.port, 2222);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text(text, "other"), 0);
	assert_int_equal(opts.port, 1111);
	assert_null(opts.hostname);
	assert_null(opts.user);
	assert_int_equal(opts.parsed.batch_mode, 1);

	/* Host after Match starts a new block. */
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Match host nomatch\nHost *\nUser u\n",
	    "example"), 0);
	assert_string_equal(opts.user, "u");
}

/* A Host line whose patterns add up to more than 1 KiB: the host named
 * after a long pattern still matches (or the line is refused), and
 * nothing overflows. Runs in a child so that a crash (FORTIFY_SOURCE or
 * the stack protector aborting) fails this test alone. */
static void
test_read_text_long_host_line(void **state)
{
	char text[4000];
	size_t n;
	pid_t pid;
	int status;

	n = (size_t)snprintf(text, sizeof(text), "Host ");
	memset(text + n, 'a', 1100);
	n += 1100;
	snprintf(text + n, sizeof(text) - n,
	    " example bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
	    "Port 2222\n");
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (read_text(text, "example") == 0 && opts.port != 2222)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("options_read_text crashed (signal %d) on a 1.2 KiB "
		    "Host line", WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("'example' in a long Host line did not match");
}

static void
test_match_host(void **state)
{
	assert_true(options_match_host("*", "anything.example"));
	assert_true(options_match_host("example", "example"));
	assert_true(options_match_host("EXAMPLE", "example"));
	assert_false(options_match_host("example", "example2"));
	assert_false(options_match_host("example", "xexample"));
	assert_true(options_match_host("a,b,example", "example"));
	assert_true(options_match_host("a b\texample", "example"));
	assert_true(options_match_host("*.example.com", "www.example.com"));
	assert_false(options_match_host("*.example.com", "example.com"));
	assert_true(options_match_host("ex?mple", "example"));
	assert_false(options_match_host("ex?mple", "exmple"));
	assert_true(options_match_host("10.0.0.*", "10.0.0.7"));
	assert_false(options_match_host("!example,*", "example"));
	assert_false(options_match_host("*,!example", "example"));
	assert_true(options_match_host("!example,*", "other"));
	assert_false(options_match_host("!example", "other"));
	assert_false(options_match_host("", "example"));
}

static void
test_parse_args_realistic(void **state)
{
	char *argv[] = {
		"ferry", "-p", "2222", "-l", "alice", "-i", "/tmp/id test",
		"-L", "8080:localhost:80", "-L", "127.0.0.1:9090:db:5432",
		"-R", "8022:localhost:22",
		"-o", "StrictHostKeyChecking=accept-new", "-o", "Port 1",
		"-c", "aes256-ctr,aes128-gcm@openssh.com", "-N", "-v", "-G",
		"bob@server.example", NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	if (options_parse_args(&opts, argc, argv, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_int_equal(opts.port, 2222);		/* -p before -o Port */
	assert_string_equal(opts.user, "alice");	/* -l beats user@ */
	assert_string_equal(opts.host, "server.example");
	assert_int_equal(opts.nidentity, 1);
	assert_string_equal(opts.identity[0], "/tmp/id test");
	assert_int_equal(opts.nlocal, 2);
	assert_int_equal(opts.local[0].listen_port, 8080);
	assert_string_equal(opts.local[0].host, "localhost");
	assert_int_equal(opts.local[1].bind, BIND_ADDR);
	assert_string_equal(opts.local[1].bind_addr, "127.0.0.1");
	assert_int_equal(opts.local[1].port, 5432);
	assert_int_equal(opts.nremote, 1);
	assert_int_equal(opts.remote[0].kind, FWD_REMOTE);
	assert_int_equal(opts.remote[0].listen_port, 8022);
	assert_int_equal(opts.parsed.strict, SHK_ACCEPT_NEW);
	assert_string_equal(opts.ciphers, "aes256-ctr,aes128-gcm@openssh.com");
	assert_true(opts.no_shell);
	assert_true(opts.print_config);
	assert_int_equal(opts.parsed.log_level, LOG_VERBOSE);
}

static void
test_parse_args_more_flags(void **state)
{
	char *a1[] = {
		"ferry", "-4", "-g", "-vvv", "-E", "/tmp/log", "-F",
		"/tmp/cfg", "-TC", "carol@h1", NULL,
	};
	char *a2[] = { "ferry", "-6", "-q", "-v", "h2", NULL };
	char *a3[] = { "ferry", "-vvvvvv", "h3", NULL };

	assert_int_equal(options_parse_args(&opts, 10, a1, err, sizeof(err)),
	    0);
	assert_int_equal(opts.parsed.family, AFAM_INET);
	assert_int_equal(opts.parsed.gateway_ports, 1);
	assert_int_equal(opts.parsed.compression, 1);	/* -C */
	assert_int_equal(opts.parsed.log_level, LOG_DEBUG2);
	assert_string_equal(opts.log_file, "/tmp/log");
	assert_string_equal(opts.config_file, "/tmp/cfg");
	assert_true(opts.no_shell);
	assert_string_equal(opts.user, "carol");
	assert_string_equal(opts.host, "h1");

	/* A second parse starts from the first argument again. */
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 5, a2, err, sizeof(err)),
	    0);
	assert_int_equal(opts.parsed.family, AFAM_INET6);
	assert_int_equal(opts.parsed.compression, OPT_UNSET);
	assert_int_equal(opts.parsed.log_level, LOG_QUIET);
	assert_string_equal(opts.host, "h2");
	assert_null(opts.user);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 3, a3, err, sizeof(err)),
	    0);
	assert_int_equal(opts.parsed.log_level, LOG_DEBUG2);	/* capped */
}

static void
test_parse_args_uri(void **state)
{
	char *a1[] = { "ferry", "ssh://h.example:2200", NULL };
	char *a2[] = { "ferry", "-p", "10", "ssh://h:20", NULL };
	char *a3[] = { "ferry", "ssh://h.example", NULL };

	assert_int_equal(options_parse_args(&opts, 2, a1, err, sizeof(err)),
	    0);
	assert_string_equal(opts.host, "h.example");
	assert_int_equal(opts.port, 2200);
	assert_null(opts.user);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 4, a2, err, sizeof(err)),
	    0);
	assert_string_equal(opts.host, "h");
	assert_int_equal(opts.port, 10);	/* -p came first */

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 2, a3, err, sizeof(err)),
	    0);
	assert_string_equal(opts.host, "h.example");
	assert_int_equal(opts.port, -1);
}

/* -W host:port, [host]:port (IPv6, or any host as ProxyJump writes
 * it); options_finish then clears the forwards and Reconnect. */
static void
test_parse_args_stdio(void **state)
{
	char *a1[] = { "ferry", "-W", "db.example:5432", "-L", "1:h:2",
	    "-o", "Reconnect=yes", "-S", "/tmp/ctl", "h", NULL };
	char *a2[] = { "ferry", "-W", "[2001:db8::1]:22", "h", NULL };
	char *a3[] = { "ferry", "-W", "[name.example]:2222", "h", NULL };
	char *a4[] = { "ferry", "-W", "h:22:33", "h", NULL };

	assert_int_equal(options_parse_args(&opts, 10, a1, err, sizeof(err)),
	    0);
	assert_string_equal(opts.stdio_host, "db.example");
	assert_int_equal(opts.stdio_port, 5432);
	assert_int_equal(opts.nlocal, 1);
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_int_equal(opts.nlocal, 0);
	assert_false(opts.reconnect);
	assert_true(opts.exit_on_forward_failure);
	assert_null(opts.control_path);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 4, a2, err, sizeof(err)),
	    0);
	assert_string_equal(opts.stdio_host, "2001:db8::1");
	assert_int_equal(opts.stdio_port, 22);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 4, a3, err, sizeof(err)),
	    0);
	assert_string_equal(opts.stdio_host, "name.example");
	assert_int_equal(opts.stdio_port, 2222);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 4, a4, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "'h:22:33'"));
}

/* ssh://user@host:port: the user part must not stop the port (or the
 * brackets) from being parsed. */
static void
test_parse_args_uri_user(void **state)
{
	char *a1[] = { "ferry", "ssh://user@host:2222", NULL };
	char *a2[] = { "ferry", "ssh://dave@[2001:db8::5]", NULL };

	assert_int_equal(options_parse_args(&opts, 2, a1, err, sizeof(err)),
	    0);
	assert_string_equal(opts.user, "user");
	assert_string_equal(opts.host, "host");
	assert_int_equal(opts.port, 2222);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 2, a2, err, sizeof(err)),
	    0);
	assert_string_equal(opts.user, "dave");
	assert_string_equal(opts.host, "2001:db8::5");
	assert_int_equal(opts.port, -1);
}

/* ssh://[v6addr]:port */
static void
test_parse_args_uri_ipv6_port(void **state)
{
	char *a1[] = { "ferry", "ssh://[::1]:2201", NULL };
	char *a2[] = { "ferry", "ssh://[::1]", NULL };

	assert_int_equal(options_parse_args(&opts, 2, a2, err, sizeof(err)),
	    0);
	assert_string_equal(opts.host, "::1");
	assert_int_equal(opts.port, -1);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 2, a1, err, sizeof(err)),
	    0);
	assert_string_equal(opts.host, "::1");
	assert_int_equal(opts.port, 2201);
}

/* ssh's session flags set their keywords and are noted; -f -n -y -b -B
 * -m -J reach their options. */
static void
test_parse_flags(void **state)
{
	char *a[] = { "ferry", "-AxtnfyT", "-b", "127.0.0.2", "-B", "lo",
	    "-m", "hmac-sha2-256", "-J", "gw", "host", NULL };

	assert_int_equal(options_parse_args(&opts, 11, a, err, sizeof(err)),
	    0);
	assert_string_equal(opts.session_flags, "Axt");
	assert_true(opts.background && opts.stdin_null && opts.use_syslog &&
	    opts.no_shell);
	assert_string_equal(opts.bind_address, "127.0.0.2");
	assert_string_equal(opts.bind_interface, "lo");
	assert_string_equal(opts.macs, "hmac-sha2-256");
	assert_string_equal(opts.proxy_jump, "gw");
	assert_int_equal(opts.nsshkw, 3);	/* ForwardAgent, ForwardX11,
						 * RequestTTY */
}

static void
parse_bad(char **argv, int argc, const char *want1, const char *want2)
{
	options_free(&opts);
	options_init(&opts);
	err[0] = '\0';
	if (options_parse_args(&opts, argc, argv, err, sizeof(err)) != -1)
		fail_msg("%s ... accepted", argv[1]);
	if (strstr(err, want1) == NULL)
		fail_msg("message '%s' lacks '%s'", err, want1);
	if (want2 != NULL && strstr(err, want2) == NULL)
		fail_msg("message '%s' lacks '%s'", err, want2);
}

static void
test_parse_args_errors(void **state)
{
	char *missing[] = { "ferry", "host", "-p", NULL };
	char *missing_l[] = { "ferry", "-L", NULL };
	char *unknown[] = { "ferry", "-z", "host", NULL };
	char *unknown2[] = { "ferry", "-vZ", "host", NULL };
	char *command[] = { "ferry", "host", "uptime", NULL };
	char *nodest[] = { "ferry", "-N", NULL };
	char *badport[] = { "ferry", "-p", "0", "host", NULL };
	char *badfwd[] = { "ferry", "-L", "8080:h", "host", NULL };
	char *badrfwd[] = { "ferry", "-R", "x:h:1", "host", NULL };
	char *badopt[] = { "ferry", "-o", "Nope yes", "host", NULL };
	char *badcipher[] = { "ferry", "-c", "rc4", "host", NULL };
	char *baduri[] = { "ferry", "ssh://h:99999", NULL };
	char *nohost[] = { "ferry", "user@", NULL };
	char *good[] = { "ferry", "-N", "host", NULL };

	parse_bad(missing, 3, "requires an argument", "-- p");
	parse_bad(missing_l, 2, "requires an argument", "-- L");
	parse_bad(unknown, 3, "unknown or unsupported option", "-- z");
	parse_bad(unknown2, 3, "unknown or unsupported option", "-- Z");
	parse_bad(command, 3, "not supported", "'uptime'");
	parse_bad(nodest, 2, "usage:", NULL);
	parse_bad(badport, 4, "Bad port", "'0'");
	parse_bad(badfwd, 4, "Bad local forwarding specification", "8080:h");
	parse_bad(badrfwd, 4, "Bad remote forwarding specification", "x:h:1");
	parse_bad(badopt, 4, "Bad configuration option", "Nope");
	parse_bad(badcipher, 4, "Unknown cipher type", "'rc4'");
	parse_bad(baduri, 2, "Bad port", "ssh://h:99999");
	parse_bad(nohost, 2, "Missing host", NULL);

	/* After all those failures a good command line still parses. */
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(options_parse_args(&opts, 3, good, err, sizeof(err)),
	    0);
	assert_string_equal(opts.host, "host");
	assert_true(opts.no_shell);
}

static void
test_finish_defaults(void **state)
{
	char *argv[] = { "ferry", "-l", "u", "h", NULL };

	unsetenv("SSH_AUTH_SOCK");
	assert_int_equal(options_parse_args(&opts, 4, argv, err, sizeof(err)),
	    0);
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_string_equal(opts.hostname, "h");
	assert_int_equal(opts.port, 22);
	assert_int_equal(opts.nidentity, 3);
	assert_false(opts.identity_given);
	/* the home of the password database, not $HOME (as ssh) */
	assert_string_equal(opts.identity[0], pw_path("/.ssh/id_rsa"));
	assert_int_equal(opts.nknown_hosts, 2);
	assert_string_equal(opts.known_hosts[0], pw_path("/.ssh/known_hosts"));
	assert_int_equal(opts.strict, SHK_ASK);
	assert_false(opts.batch_mode);
	assert_false(opts.compression);
	assert_true(opts.rekey_bytes == 0);
	assert_int_equal(opts.server_alive_interval, 0);
	assert_int_equal(opts.server_alive_count_max, 3);
	assert_true(opts.tcp_keepalive);
	assert_false(opts.identities_only);
	assert_false(opts.exit_on_forward_failure);
	assert_false(opts.gateway_ports);
	assert_false(opts.hash_known_hosts);
	assert_false(opts.reconnect);
	assert_false(opts.stream_local_bind_unlink);
	assert_int_equal(opts.family, AFAM_ANY);
	assert_int_equal(opts.log_level, LOG_INFO);
	assert_int_equal(opts.connect_timeout, 0);
	assert_null(opts.identity_agent);
	assert_false(opts.print_config);
}

/* What was read becomes the typed fields: each yes/no keyword the other
 * way from its default, and the multi-valued ones. */
static void
test_finish_resolves(void **state)
{
	static const char *lines[] = {
		"BatchMode yes", "Compression yes", "ExitOnForwardFailure yes",
		"GatewayPorts yes",
		"HashKnownHosts yes", "IdentitiesOnly yes", "Reconnect yes",
		"StreamLocalBindUnlink yes", "TCPKeepAlive no",
		"StrictHostKeyChecking accept-new", "AddressFamily inet6",
		"LogLevel ERROR", "HostName h",
	};
	size_t i;

	unsetenv("SSH_AUTH_SOCK");
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		apply_ok(lines[i]);
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_true(opts.batch_mode);
	assert_true(opts.compression);
	assert_true(opts.exit_on_forward_failure);
	assert_true(opts.gateway_ports);
	assert_true(opts.hash_known_hosts);
	assert_true(opts.identities_only);
	assert_true(opts.reconnect);
	assert_true(opts.stream_local_bind_unlink);
	assert_false(opts.tcp_keepalive);
	assert_int_equal(opts.strict, SHK_ACCEPT_NEW);
	assert_int_equal(opts.family, AFAM_INET6);
	assert_int_equal(opts.family, AF_INET6);	/* what sockets take */
	assert_int_equal(opts.log_level, LOG_ERROR);
	/* Reconnect's defaults follow the resolved value */
	assert_int_equal(opts.connect_timeout, 5);
	assert_int_equal(opts.server_alive_interval, 10);
}

/* IdentityAgent: the environment's socket by default, "none" for no
 * agent, "SSH_AUTH_SOCK" for the environment's even when set later. */
static void
test_finish_agent(void **state)
{
	setenv("SSH_AUTH_SOCK", "/tmp/env-agent.sock", 1);
	apply_ok("HostName h");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_string_equal(opts.identity_agent, "/tmp/env-agent.sock");

	options_free(&opts);
	options_init(&opts);
	apply_ok("HostName h");
	apply_ok("IdentityAgent none");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_null(opts.identity_agent);

	options_free(&opts);
	options_init(&opts);
	apply_ok("HostName h");
	apply_ok("IdentityAgent SSH_AUTH_SOCK");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_string_equal(opts.identity_agent, "/tmp/env-agent.sock");

	options_free(&opts);
	options_init(&opts);
	apply_ok("HostName h");
	apply_ok("IdentityAgent /run/my.sock");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_string_equal(opts.identity_agent, "/run/my.sock");
	unsetenv("SSH_AUTH_SOCK");
}

/* -G output: ssh's lower-case keywords, one per line. */
static void
test_print_config(void **state)
{
	char *argv[] = {
		"ferry", "-G", "-p", "2222", "-L", "8080:localhost:80", "-R",
		"[::1]:9000:[fe80::1]:22", "-o", "StrictHostKeyChecking no",
		"-D", "*:1080", "-R", "9001", "-L", "/tmp/a.sock:/run/b.sock",
		"-o", "PermitRemoteOpen 127.0.0.1:80 [::1]:*",
		"-o", "StreamLocalBindMask 0117",
		"alice@h.example", NULL,
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	unsetenv("SSH_AUTH_SOCK");
	assert_int_equal(options_parse_args(&opts, 21, argv, err,
	    sizeof(err)), 0);
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_int_equal(opts.npermit_remote_open, 2);
	assert_int_equal(opts.permit_remote_open[1].port, -1);
	assert_int_equal(opts.stream_local_bind_mask, 0117);
	assert_false(opts.stream_local_bind_unlink);
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	options_print(&opts, fp);
	fclose(fp);
	assert_non_null(strstr(buf, "host h.example\n"));
	assert_non_null(strstr(buf, "hostname h.example\n"));
	assert_non_null(strstr(buf, "user alice\n"));
	assert_non_null(strstr(buf, "port 2222\n"));
	assert_non_null(strstr(buf, "stricthostkeychecking false\n"));
	assert_non_null(strstr(buf, "localforward 8080 [localhost]:80\n"));
	assert_non_null(strstr(buf, "remoteforward [::1]:9000 [fe80::1]:22\n"));
	assert_non_null(strstr(buf, "dynamicforward [*]:1080\n"));
	assert_non_null(strstr(buf, "remoteforward 9001 [socks]:0\n"));
	assert_non_null(strstr(buf, "localforward /tmp/a.sock /run/b.sock\n"));
	assert_non_null(strstr(buf,
	    "permitremoteopen 127.0.0.1:80 [::1]:*\n"));
	assert_non_null(strstr(buf, "streamlocalbindmask 0117\n"));
	assert_non_null(strstr(buf, "streamlocalbindunlink no\n"));
	{
		char want[1100];

		snprintf(want, sizeof(want), "identityfile %s\n",
		    pw_path("/.ssh/id_rsa"));
		assert_non_null(strstr(buf, want));
	}
	assert_null(strstr(buf, "identityagent"));
	free(buf);
}


/* A scratch directory for the file tests. */
static char tmpdir[64];

static void
write_file(const char *name, const char *text, int mode)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

static int
read_file_for(const char *name, const char *host, bool userconf)
{
	struct readconf rc;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(readconf_init(&rc, host, err, sizeof(err)), 0);
	err[0] = '\0';
	return readconf_file(&opts, &rc, path, userconf, true, true, err,
	    sizeof(err));
}

/* Include: glob patterns, several per line, nested, inside a block (parse
 * only when the block does not apply), the depth limit, a missing file. */
static void
test_readconf_include(void **state)
{
	char text[1024];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("a.conf", "Host x\n  User from-a\n", 0644);
	write_file("b.conf", "Port 2001\nVisualHostKey yes\n", 0644);
	write_file("inner.conf", "Host *\n  ConnectTimeout 4\n", 0644);
	snprintf(text, sizeof(text), "Include %s/[ab].conf %s/none*.conf\n"
	    "Host y\n  Include %s/inner.conf\nHost *\n  User last\n",
	    tmpdir, tmpdir, tmpdir);
	write_file("main.conf", text, 0644);
	assert_int_equal(read_file_for("main.conf", "x", true), 0);
	assert_string_equal(opts.user, "from-a");
	assert_int_equal(opts.port, 2001);
	/* inner.conf's Host * is inside Host y: parsed, not applied */
	assert_int_equal(opts.connect_timeout, -1);
	assert_int_equal(opts.nsshkw, 1);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_file_for("main.conf", "y", true), 0);
	assert_int_equal(opts.connect_timeout, 4);
	assert_string_equal(opts.user, "last");	/* Include kept Host y */

	/* an error in an included file names that file */
	write_file("b.conf", "Port 2001\nNotAKeyword 1\n", 0644);
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_file_for("main.conf", "x", true), -1);
	assert_non_null(strstr(err, "b.conf line 2: Bad configuration "
	    "option: NotAKeyword"));

	/* including itself: stops at the depth limit */
	snprintf(text, sizeof(text), "Include %s/self.conf\n", tmpdir);
	write_file("self.conf", text, 0644);
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_file_for("self.conf", "x", true), -1);
	assert_non_null(strstr(err, "Too many recursive configuration "
	    "includes"));

	/* an included file others may write is refused, as ssh does */
	write_file("b.conf", "Port 2001\n", 0666);
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_file_for("main.conf", "x", true), -1);
	assert_non_null(strstr(err, "Bad owner or permissions"));

	/* ~ is for user files only */
	write_file("sys.conf", "Include ~/x.conf\n", 0644);
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_file_for("sys.conf", "x", false), -1);
	assert_non_null(strstr(err, "bad include path"));
	snprintf(text, sizeof(text), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(text), 0);
}

/* IgnoreUnknown skips the unknown names it matches, from its line on;
 * every OpenSSH keyword is known; refused ones only where they apply. */
static void
test_readconf_ignore_unknown(void **state)
{
	assert_int_equal(read_text("UseKeychain yes\n", "x"), -1);
	assert_non_null(strstr(err, "Bad configuration option: UseKeychain"));
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("IgnoreUnknown usekeychain,Foo*\n"
	    "UseKeychain yes\nFooBar 1\nPort 7\n", "x"), 0);
	assert_int_equal(opts.port, 7);
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Host other\n  ProxyJump gw\n"
	    "  HostKeyAlias a\n  BindAddress 10.0.0.1\nHost *\n"
	    "  ProxyCommand none\n  ControlMaster auto\n"
	    "  ControlPersist 10m\n  Compression maybe\n", "x"), -1);
	assert_non_null(strstr(err, "test.conf line 9"));
	assert_non_null(strstr(err, "Compression"));
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Host x\n  ProxyCommand nc \"%h\" %p\n",
	    "x"), 0);
	assert_string_equal(opts.proxy_command, "nc \"%h\" %p");
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("HostKeyAlgorithms ssh-ed25519\n", "x"),
	    0);
	assert_string_equal(opts.hostkey_algs, "ssh-ed25519");
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("HostKeyAlgorithms +ssh-rsa\n"
	    "KexAlgorithms curve25519-sha256@libssh.org,ecdh-sha2-nistp256\n"
	    "PubkeyAuthentication yes\nRequiredRSASize 1024\n", "x"), 0);
	assert_int_equal(read_text("PubkeyAuthentication no\n", "x"), 0);
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("PubkeyAuthentication no\n", "x"), -1);
}

/* Match user / localuser / exec with tokens / final (a second pass). */
static void
test_readconf_match(void **state)
{
	struct passwd *pw = getpwuid(getuid());
	char text[1024];

	assert_non_null(pw);
	snprintf(text, sizeof(text),
	    "Match user bob\n  Port 1\n"
	    "Match localuser %s\n  User bob\n"
	    "Match user bob localuser !%s\n  ConnectTimeout 3\n"
	    "Match exec \"test %%r = bob && test %%n = x && test %%u = %s\"\n"
	    "  BatchMode yes\n"
	    "Match !exec false\n  VisualHostKey yes\n"
	    "Match exec false\n  HashKnownHosts yes\n"
	    "Match final\n  TCPKeepAlive no\n", pw->pw_name, pw->pw_name,
	    pw->pw_name);
	assert_int_equal(read_text(text, "x"), 0);
	assert_string_equal(opts.user, "bob");
	assert_int_equal(opts.port, -1);	/* before User was set */
	assert_int_equal(opts.connect_timeout, -1);
	assert_int_equal(opts.parsed.batch_mode, 1);
	assert_int_equal(opts.nsshkw, 1);	/* VisualHostKey */
	assert_int_equal(opts.parsed.hash_known_hosts, OPT_UNSET);
	/* Match final: the first pass only */
	assert_int_equal(opts.parsed.tcp_keepalive, OPT_UNSET);

	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Match all host x\n", "x"), -1);
	assert_non_null(strstr(err, "cannot be combined"));
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(read_text("Match exec \"echo %z\"\n", "x"), -1);
	assert_non_null(strstr(err, "unknown key %z"));
}

/* Tokens and ~ in what ferry honours, with the passwd home. */
static void
test_finish_tokens(void **state)
{
	struct passwd *pw = getpwuid(getuid());
	char want[1100];

	assert_non_null(pw);
	unsetenv("SSH_AUTH_SOCK");
	apply_ok("HostName %h.Example.ORG");
	apply_ok("User u");
	apply_ok("Port 2222");
	apply_ok("IdentityFile ~/.ssh/%r@%h-%p");
	apply_ok("UserKnownHostsFile %d/kh_%n %%/x");
	apply_ok("ControlPath /tmp/c-%C");
	apply_ok("LocalForward /tmp/l-%r.sock h:1");
	apply_ok("CertificateFile ~/.ssh/%r-cert.pub");
	apply_ok("CertificateFile /c/%h");
	apply_ok("CertificateFile ~/.ssh/%r-cert.pub");	/* once, as ssh */
	opts.host = strdup("web");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	/* -G prints them as written; the client reads the expanded ones */
	assert_int_equal(opts.ncertificate, 2);
	assert_string_equal(opts.certificate[0], "~/.ssh/%r-cert.pub");
	snprintf(want, sizeof(want), "%s/.ssh/u-cert.pub", pw->pw_dir);
	assert_string_equal(opts.certificate_path[0], want);
	assert_string_equal(opts.certificate_path[1], "/c/web.example.org");
	assert_string_equal(opts.hostname, "web.example.org");
	snprintf(want, sizeof(want), "%s/.ssh/u@web.example.org-2222",
	    pw->pw_dir);
	assert_string_equal(opts.identity[0], want);
	snprintf(want, sizeof(want), "%s/kh_web", pw->pw_dir);
	assert_string_equal(opts.known_hosts[0], want);
	assert_string_equal(opts.known_hosts[1], "%/x");
	assert_int_equal(strlen(opts.control_path), strlen("/tmp/c-") + 40);
	assert_string_equal(opts.local[0].listen_path, "/tmp/l-u.sock");

	options_free(&opts);
	options_init(&opts);
	apply_ok("IdentityFile /k/%Z");
	opts.host = strdup("web");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key %Z"));

	options_free(&opts);
	options_init(&opts);
	apply_ok("CertificateFile /k/%Z");
	opts.host = strdup("web");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CertificateFile /k/%Z"));
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_keywords),
		T(test_keyword_values),
		T(test_line_forms),
		T(test_first_value_wins),
		T(test_loglevel_first_wins),
		T(test_aliases),
		T(test_unknown_keyword),
		T(test_proxy_keywords),
		T(test_parse_flags),
		T(test_jump_command),
		T(test_bad_values),
		T(test_rekeylimit_overflow),
		T(test_rekeylimit_time),
		T(test_read_text_blocks),
		T(test_read_text_patterns),
		T(test_read_text_errors),
		T(test_read_text_match),
		T(test_read_text_long_host_line),
		T(test_match_host),
		T(test_parse_args_realistic),
		T(test_parse_args_more_flags),
		T(test_parse_args_uri),
		T(test_parse_args_uri_user),
		T(test_parse_args_stdio),
		T(test_parse_args_uri_ipv6_port),
		T(test_parse_args_errors),
		T(test_finish_defaults),
		T(test_finish_resolves),
		T(test_finish_agent),
		T(test_print_config),
		T(test_readconf_include),
		T(test_readconf_ignore_unknown),
		T(test_readconf_match),
		T(test_finish_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
