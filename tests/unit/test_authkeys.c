/* Unit tests for keys/authkeys.c: authorized_keys lines with every option
 * ferryd knows, the reasons given for skipped lines, from= pattern lists
 * (wildcards, negation, CIDR for IPv4 and IPv6) and expiry-time=. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys/authkeys.h"
#include "keys/keyfile.h"

#define FNAME	"authorized_keys"
#define IP	"192.0.2.10"

static struct key *ed, *ec, *rsa, *other;
static char *ed_line, *ec_line, *rsa_line, *other_line;

/* Everything warn() was told during one lookup. */
static struct {
	int	 n;
	int	 line;		/* of the last one */
	char	 file[512];
	char	 why[512];
	char	 all[8192];	/* "line: why\n" for each */
} warns;

static struct ak_opts opts;

static void
warn_cb(void *ud, const char *file, int line, const char *why)
{
	size_t used = strlen(warns.all);

	warns.n++;
	warns.line = line;
	snprintf(warns.file, sizeof(warns.file), "%s", file);
	snprintf(warns.why, sizeof(warns.why), "%s", why);
	snprintf(warns.all + used, sizeof(warns.all) - used, "%d: %s\n", line,
	    why);
}

static int
group_setup(void **state)
{
	if (key_generate(KEY_ED25519, &ed) != 0 ||
	    key_generate(KEY_ECDSA_P256, &ec) != 0 ||
	    key_generate(KEY_RSA, &rsa) != 0 ||
	    key_generate(KEY_ED25519, &other) != 0)
		return -1;
	if (keyfile_format_public(ed, "alice@laptop", &ed_line) != 0 ||
	    keyfile_format_public(ec, "bob@desk", &ec_line) != 0 ||
	    keyfile_format_public(rsa, NULL, &rsa_line) != 0 ||
	    keyfile_format_public(other, "carol", &other_line) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	key_free(ed);
	key_free(ec);
	key_free(rsa);
	key_free(other);
	free(ed_line);
	free(ec_line);
	free(rsa_line);
	free(other_line);
	return 0;
}

/* Looks key up in text, copied to an exact-size buffer so that reading
 * past the length is caught by ASan. */
static int
find_ip(const char *text, const struct key *k, const char *ip)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, text, len);
	memset(&warns, 0, sizeof(warns));
	memset(&opts, 0xa5, sizeof(opts));
	r = ak_find_text(copy, len, FNAME, k, ip, &opts, warn_cb, NULL);
	free(copy);
	return r;
}

static int
find(const char *text, const struct key *k)
{
	return find_ip(text, k, IP);
}

/* "<options> <ed25519 line>\n" */
static char *
with_opts(const char *options)
{
	char *s;

	assert_true(asprintf(&s, "%s %s\n", options, ed_line) > 0);
	return s;
}

/* The line with these options matches ed; no warning. */
static void
opts_ok(const char *options)
{
	char *text = with_opts(options);

	if (find(text, ed) != 1)
		fail_msg("'%s' refused: %s", options, warns.why);
	if (warns.n != 0)
		fail_msg("'%s': unexpected warning '%s'", options, warns.why);
	free(text);
}

/* The line is skipped with a warning for line 1 containing want. */
static void
opts_bad(const char *options, const char *want)
{
	char *text = with_opts(options);

	if (find(text, ed) != 0)
		fail_msg("'%s' accepted", options);
	if (warns.n != 1 || warns.line != 1 ||
	    strcmp(warns.file, FNAME) != 0)
		fail_msg("'%s': %d warnings, last at %s:%d", options, warns.n,
		    warns.file, warns.line);
	if (strstr(warns.why, want) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", options, warns.why,
		    want);
	free(text);
}

static void
assert_defaults(const struct ak_opts *o)
{
	assert_true(o->port_forwarding);
	assert_false(o->restricted);
	assert_int_equal(o->nopen, 0);
	assert_int_equal(o->nlisten, 0);
	assert_string_equal(o->from, "");
}

static void
test_plain_line(void **state)
{
	char *text;

	assert_true(asprintf(&text, "%s\n", ed_line) > 0);
	assert_int_equal(find(text, ed), 1);
	assert_int_equal(warns.n, 0);
	assert_defaults(&opts);
	assert_string_equal(opts.file, FNAME);
	assert_int_equal(opts.line, 1);
	free(text);
	/* Without a trailing newline or a comment, too. */
	assert_int_equal(find(other_line, other), 1);
	assert_int_equal(opts.line, 1);
}

static void
test_key_types(void **state)
{
	char *text;

	assert_true(asprintf(&text, "%s\n%s\n%s\n", rsa_line, ec_line,
	    ed_line) > 0);
	assert_int_equal(find(text, rsa), 1);
	assert_int_equal(opts.line, 1);
	assert_int_equal(find(text, ec), 1);
	assert_int_equal(opts.line, 2);
	assert_int_equal(find(text, ed), 1);
	assert_int_equal(opts.line, 3);
	assert_int_equal(warns.n, 0);
	assert_int_equal(find(text, other), 0);
	assert_int_equal(warns.n, 0);
	free(text);
}

static void
test_no_match_resets(void **state)
{
	char *text;

	assert_true(asprintf(&text, "restrict,permitopen=\"a:1\" %s\n",
	    other_line) > 0);
	assert_int_equal(find(text, ed), 0);
	assert_int_equal(warns.n, 0);	/* another key: not a problem */
	assert_defaults(&opts);
	assert_int_equal(opts.line, 0);
	assert_int_equal(find("", ed), 0);
	assert_defaults(&opts);
	free(text);
}

/* The first line listing the key wins; lines count comments and blanks. */
static void
test_first_line_wins(void **state)
{
	char *text;

	assert_true(asprintf(&text, "# keys\n\n   \n%s\nrestrict %s\n"
	    "no-port-forwarding %s\n", other_line, ed_line, ed_line) > 0);
	assert_int_equal(find(text, ed), 1);
	assert_true(opts.restricted);
	assert_int_equal(opts.line, 5);
	free(text);

	assert_true(asprintf(&text, "%s\nrestrict %s\n", ed_line,
	    ed_line) > 0);
	assert_int_equal(find(text, ed), 1);
	assert_false(opts.restricted);
	assert_true(opts.port_forwarding);
	assert_int_equal(opts.line, 1);
	free(text);
}

static void
test_restrict_and_forwarding(void **state)
{
	opts_ok("restrict");
	assert_false(opts.port_forwarding);
	assert_true(opts.restricted);

	opts_ok("restrict,port-forwarding");
	assert_true(opts.port_forwarding);
	assert_true(opts.restricted);

	/* Options apply in order: restrict after port-forwarding wins. */
	opts_ok("port-forwarding,restrict");
	assert_false(opts.port_forwarding);

	opts_ok("no-port-forwarding");
	assert_false(opts.port_forwarding);
	assert_false(opts.restricted);

	opts_ok("no-port-forwarding,port-forwarding");
	assert_true(opts.port_forwarding);

	opts_ok("port-forwarding");
	assert_true(opts.port_forwarding);
	assert_false(opts.restricted);
}

static void
test_case_insensitive(void **state)
{
	opts_ok("RESTRICT,Port-Forwarding,PermitOpen=\"a.example:1\","
	    "No-Pty,NO-X11-FORWARDING,From=\"" IP "\"");
	assert_true(opts.restricted);
	assert_true(opts.port_forwarding);
	assert_int_equal(opts.nopen, 1);
	assert_string_equal(opts.from, IP);

	opts_ok("No-Port-Forwarding");
	assert_false(opts.port_forwarding);
}

static void
test_permitopen(void **state)
{
	opts_ok("permitopen=\"host.example:80\","
	    "permitopen=\"[2001:db8::1]:443\","
	    "permitopen=\"*:22\",permitopen=\"10.0.0.1:*\","
	    "permitopen=\"*:*\",permitopen=\"localhost:65535\"");
	assert_int_equal(opts.nopen, 6);
	assert_int_equal(opts.nlisten, 0);
	assert_string_equal(opts.open[0].host, "host.example");
	assert_int_equal(opts.open[0].port, 80);
	assert_string_equal(opts.open[1].host, "2001:db8::1");
	assert_int_equal(opts.open[1].port, 443);
	assert_string_equal(opts.open[2].host, "*");
	assert_int_equal(opts.open[2].port, 22);
	assert_string_equal(opts.open[3].host, "10.0.0.1");
	assert_int_equal(opts.open[3].port, -1);
	assert_string_equal(opts.open[4].host, "*");
	assert_int_equal(opts.open[4].port, -1);
	assert_int_equal(opts.open[5].port, 65535);
	/* permitopen alone does not disable forwarding. */
	assert_true(opts.port_forwarding);
}

static void
test_permitlisten(void **state)
{
	opts_ok("permitlisten=\"8080\",permitlisten=\"localhost:9000\","
	    "permitlisten=\"[::1]:22000\",permitlisten=\"*\","
	    "permitlisten=\"0.0.0.0:*\"");
	assert_int_equal(opts.nlisten, 5);
	assert_int_equal(opts.nopen, 0);
	assert_string_equal(opts.listen[0].host, "*");
	assert_int_equal(opts.listen[0].port, 8080);
	assert_string_equal(opts.listen[1].host, "localhost");
	assert_int_equal(opts.listen[1].port, 9000);
	assert_string_equal(opts.listen[2].host, "::1");
	assert_int_equal(opts.listen[2].port, 22000);
	assert_string_equal(opts.listen[3].host, "*");
	assert_int_equal(opts.listen[3].port, -1);
	assert_string_equal(opts.listen[4].host, "0.0.0.0");
	assert_int_equal(opts.listen[4].port, -1);
}

static void
test_permit_errors(void **state)
{
	char host[300], opt[400];

	opts_bad("permitopen=\"host.example\"", "permitopen: missing port");
	opts_bad("permitopen=\"host:0\"", "permitopen: bad port");
	opts_bad("permitopen=\"host:65536\"", "permitopen: bad port");
	opts_bad("permitopen=\"host:99999999999999999999\"",
	    "permitopen: bad port");
	opts_bad("permitopen=\"host:http\"", "permitopen: bad port");
	opts_bad("permitopen=\"host:\"", "permitopen: bad port");
	opts_bad("permitopen=\"host:-1\"", "permitopen: bad port");
	opts_bad("permitopen=\"host:+80\"", "permitopen: bad port");
	opts_bad("permitopen=\"host:80 \"", "permitopen: bad port");
	opts_bad("permitopen=\":80\"", "permitopen: missing host");
	opts_bad("permitopen=\"[]:80\"", "permitopen: missing host");
	opts_bad("permitopen=\"[::1]80\"", "permitopen: bad value");
	opts_bad("permitopen=\"[::1\"", "permitopen: bad value");
	opts_bad("permitopen=\"::1:80\"", "permitopen: missing host");
	opts_bad("permitlisten=\"0\"", "permitlisten: bad port");
	opts_bad("permitlisten=\":8080\"", "permitlisten: missing host");
	opts_bad("permitlisten=\"[::1]\"", "permitlisten: bad value");
	opts_bad("permitlisten=\"\"", "permitlisten: bad port");

	memset(host, 'h', 255);
	host[255] = '\0';
	snprintf(opt, sizeof(opt), "permitopen=\"%s:1\"", host);
	opts_ok(opt);
	assert_string_equal(opts.open[0].host, host);
	host[255] = 'h';
	host[256] = '\0';
	snprintf(opt, sizeof(opt), "permitopen=\"%s:1\"", host);
	opts_bad(opt, "permitopen: host name too long");
}

static void
test_too_many_permits(void **state)
{
	char buf[4096];
	int i;

	buf[0] = '\0';
	for (i = 0; i < AK_MAX_PERMITS; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "%spermitopen=\"h%d:%d\"", i ? "," : "", i, i + 1);
	opts_ok(buf);
	assert_int_equal(opts.nopen, AK_MAX_PERMITS);
	assert_string_equal(opts.open[AK_MAX_PERMITS - 1].host, "h31");
	assert_int_equal(opts.open[AK_MAX_PERMITS - 1].port, 32);
	strcat(buf, ",permitopen=\"one:1\"");
	opts_bad(buf, "permitopen: too many");

	buf[0] = '\0';
	for (i = 0; i <= AK_MAX_PERMITS; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "%spermitlisten=\"%d\"", i ? "," : "", i + 1000);
	opts_bad(buf, "permitlisten: too many");
}

/* Options that mean nothing to a tunnel server are accepted and change
 * nothing about forwarding. */
static void
test_harmless_options(void **state)
{
	static const char *const harmless[] = {
		"no-pty", "no-agent-forwarding", "no-X11-forwarding",
		"no-user-rc", "pty", "agent-forwarding", "x11-forwarding",
		"user-rc", "command=\"/bin/true\"",
		"environment=\"LANG=C.UTF-8\"", "tunnel=\"0\"",
		"no-touch-required", "touch-required", "verify-required",
		"no-verify-required",
	};
	size_t i;

	for (i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++) {
		opts_ok(harmless[i]);
		assert_defaults(&opts);
	}
	opts_ok("no-pty,no-agent-forwarding,no-X11-forwarding,no-user-rc,"
	    "environment=\"A=1\",environment=\"B=2\"");
	assert_defaults(&opts);
}

/* A forced command does not take forwarding away (as in sshd); quotes
 * inside it are escaped and commas in it are not option separators. */
static void
test_command(void **state)
{
	opts_ok("command=\"echo \\\"a, b\\\" x,y\",permitopen=\"db:5432\"");
	assert_true(opts.port_forwarding);
	assert_int_equal(opts.nopen, 1);
	assert_string_equal(opts.open[0].host, "db");
	assert_int_equal(opts.open[0].port, 5432);

	opts_ok("restrict,command=\"dump /home\"");
	assert_false(opts.port_forwarding);

	opts_bad("command=\"a\",command=\"b\"",
	    "command: given more than once");
	opts_bad("command=\"echo \\\"unterminated", "command: missing closing "
	    "quote");
}

static void
test_environment(void **state)
{
	opts_ok("environment=\"PATH=/usr/bin:/bin\"");
	opts_ok("environment=\"EMPTY=\"");
	opts_bad("environment=\"NOEQUALS\"", "environment: bad value");
	opts_bad("environment=\"=x\"", "environment: bad value");
	opts_bad("environment=\"A B=c\"", "environment: bad value");
}

static void
test_expiry(void **state)
{
	opts_ok("expiry-time=\"29991231\"");
	opts_ok("expiry-time=\"299912312359\"");
	opts_ok("expiry-time=\"29991231235959\"");
	opts_ok("expiry-time=\"29991231235959Z\"");
	opts_ok("expiry-time=\"29960229\"");	/* a leap year */

	opts_bad("expiry-time=\"20000101\"", "key expired");
	assert_non_null(strstr(warns.why, "20000101"));
	opts_bad("expiry-time=\"20000101000000Z\"", "key expired");
	opts_bad("expiry-time=\"197001010000Z\"", "key expired");
	/* Several: the earliest counts, in either order. */
	opts_bad("expiry-time=\"29991231\",expiry-time=\"20100101\"",
	    "key expired (expiry-time=\"20100101\")");
	opts_bad("expiry-time=\"20100101\",expiry-time=\"29991231\"",
	    "key expired (expiry-time=\"20100101\")");

	opts_bad("expiry-time=\"2024\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"20241301\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"20240001\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"20240230\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"29970229\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"20240100\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"202401012400\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"202401010060\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"20240101000060\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"2024010112\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"abcdefgh\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"Z\"", "expiry-time: bad time");
	opts_bad("expiry-time=\"29991231ZZ\"", "expiry-time: bad time");
}

/* Without Z the time is local, with Z it is UTC: checked in a zone 14
 * hours ahead of UTC, with a time 7 hours from now written in UTC. */
static void
test_expiry_zone(void **state)
{
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	char stamp[32], opt[64];
	time_t later = time(NULL) + 7 * 3600;
	struct tm tm;

	assert_non_null(gmtime_r(&later, &tm));
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	setenv("TZ", "<+14>-14", 1);
	tzset();
	snprintf(opt, sizeof(opt), "expiry-time=\"%sZ\"", stamp);
	opts_ok(opt);
	snprintf(opt, sizeof(opt), "expiry-time=\"%s\"", stamp);
	opts_bad(opt, "key expired");
	stamp[12] = '\0';	/* YYYYMMDDHHMM */
	snprintf(opt, sizeof(opt), "expiry-time=\"%sZ\"", stamp);
	opts_ok(opt);
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

/* principals= on a plain key's line is ignored: the key still matches,
 * and the caller is told. */
static void
test_principals(void **state)
{
	char *text = with_opts("principals=\"alice,bob\"");

	assert_int_equal(find(text, ed), 1);
	assert_int_equal(warns.n, 1);
	assert_non_null(strstr(warns.why, "principals"));
	assert_int_equal(warns.line, 1);
	free(text);
}

static void
test_cert_authority(void **state)
{
	opts_bad("cert-authority", "cert-authority: the key offered is not a "
	    "certificate");
	opts_bad("cert-authority,principals=\"x\"", "cert-authority");
}

static void
test_unknown_options(void **state)
{
	char *text;

	opts_bad("frobnicate", "unknown option 'frobnicate'");
	opts_bad("restrict,frobnicate=\"x\"", "unknown option 'frobnicate'");
	opts_bad("no-restrict", "unknown option 'no-restrict'");
	opts_bad("no-from=\"x\"", "unknown option 'no-from'");
	opts_bad("no-", "unknown option 'no-'");
	opts_bad("permit-open=\"a:1\"", "unknown option 'permit-open'");

	/* The line number is the one of the bad line. */
	assert_true(asprintf(&text, "%s\n# x\nfrobnicate %s\n%s\n", other_line,
	    ed_line, ed_line) > 0);
	assert_int_equal(find(text, ed), 1);
	assert_int_equal(opts.line, 4);
	assert_int_equal(warns.n, 1);
	assert_int_equal(warns.line, 3);
	assert_non_null(strstr(warns.why, "frobnicate"));
	free(text);
}

static void
test_malformed_options(void **state)
{
	opts_bad("from=\"10.0.0.1", "from: missing closing quote");
	opts_bad("from=10.0.0.1", "from: value must be in double quotes");
	opts_bad("from=", "from: value must be in double quotes");
	opts_bad("from", "from needs a value");
	opts_bad("permitopen", "permitopen needs a value");
	opts_bad("restrict=\"yes\"", "restrict takes no value");
	opts_bad("no-pty=\"x\"", "pty takes no value");
	opts_bad("restrict,", "empty option");
	opts_bad(",restrict", "empty option");
	opts_bad("restrict,,pty", "empty option");
	opts_bad("from=\"10.0.0.1\"x", "unexpected 'x' after from");
	opts_bad("from=\"10.0.0.1\"=", "unexpected '=' after from");
	opts_bad("restrict garbage", "unknown key type 'garbage'");
}

static void
test_missing_key(void **state)
{
	assert_int_equal(find("restrict\n", ed), 0);
	assert_int_equal(warns.n, 1);
	assert_non_null(strstr(warns.why, "no key after the options"));
	assert_int_equal(find("restrict,from=\"a b\"   \n", ed), 0);
	assert_non_null(strstr(warns.why, "no key after the options"));
}

/* Key types sshd knows are skipped as unsupported, never taken for
 * options. */
static void
test_unsupported_types(void **state)
{
	static const char *const types[] = {
		"ssh-dss", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ecdsa-sha2-nistp256@openssh.com",
		"sk-ssh-ed25519@openssh.com",
		"ssh-ed25519-cert-v01@openssh.com",
		"ssh-rsa-cert-v01@openssh.com",
		"ecdsa-sha2-nistp256-cert-v01@openssh.com",
		"ssh-xmss@openssh.com",
	};
	char *text;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_true(asprintf(&text, "%s AAAAB3NzaC1kc3MAAACBAP== c\n"
		    "restrict %s AAAA\n", types[i], types[i]) > 0);
		assert_int_equal(find(text, ed), 0);
		assert_int_equal(warns.n, 2);
		if (strstr(warns.all, "unknown option") != NULL ||
		    strstr(warns.all, "1: unsupported key type") == NULL ||
		    strstr(warns.all, "2: unsupported key type") == NULL ||
		    strstr(warns.all, types[i]) == NULL)
			fail_msg("%s: %s", types[i], warns.all);
		free(text);
	}
}

static void
test_bad_key(void **state)
{
	char *text, *b64;

	assert_int_equal(find("ssh-ed25519 !!!! x\n", ed), 0);
	assert_int_equal(warns.n, 1);
	assert_non_null(strstr(warns.why, "bad ssh-ed25519 key"));

	assert_int_equal(find("restrict ssh-ed25519\n", ed), 0);
	assert_non_null(strstr(warns.why, "bad ssh-ed25519 key"));

	/* An ed25519 blob under another type name. */
	b64 = strchr(ed_line, ' ') + 1;
	assert_true(asprintf(&text, "ssh-rsa %s\n", b64) > 0);
	assert_int_equal(find(text, ed), 0);
	assert_int_equal(warns.n, 1);
	assert_non_null(strstr(warns.why, "bad ssh-rsa key"));
	free(text);
}

static void
test_comments_blanks_crlf(void **state)
{
	char *text;

	assert_true(asprintf(&text, "# comment\n\n   \n\t# indented\r\n"
	    "\r\n  restrict,permitopen=\"a:1\"\t%s\r\n", ed_line) > 0);
	assert_int_equal(find(text, ed), 1);
	assert_int_equal(warns.n, 0);
	assert_int_equal(opts.line, 6);
	assert_true(opts.restricted);
	assert_int_equal(opts.nopen, 1);
	free(text);

	assert_int_equal(find("#restrict frobnicate\n", ed), 0);
	assert_int_equal(warns.n, 0);
}

static void
test_from_option(void **state)
{
	char *text;

	opts_ok("from=\"10.0.0.0/8," IP "\"");
	assert_string_equal(opts.from, "10.0.0.0/8," IP);

	text = with_opts("from=\"10.0.0.0/8\"");
	assert_int_equal(find_ip(text, ed, "10.1.2.3"), 1);
	assert_int_equal(warns.n, 0);
	assert_string_equal(opts.from, "10.0.0.0/8");
	assert_int_equal(find_ip(text, ed, "192.168.1.1"), 0);
	assert_int_equal(warns.n, 1);
	assert_non_null(strstr(warns.why, "from=\"10.0.0.0/8\""));
	assert_non_null(strstr(warns.why, "192.168.1.1"));
	assert_int_equal(find_ip(text, ed, NULL), 0);
	assert_int_equal(warns.n, 1);
	free(text);

	/* A from= that does not match skips the line; a later line for the
	 * same key may still let it in. */
	assert_true(asprintf(&text, "from=\"10.0.0.0/8\" %s\nrestrict %s\n",
	    ed_line, ed_line) > 0);
	assert_int_equal(find_ip(text, ed, "192.168.1.1"), 1);
	assert_int_equal(opts.line, 2);
	assert_true(opts.restricted);
	assert_string_equal(opts.from, "");
	assert_int_equal(warns.n, 1);
	assert_int_equal(warns.line, 1);
	free(text);

	/* A from= on another key's line is not checked. */
	assert_true(asprintf(&text, "from=\"10.0.0.0/8\" %s\n", other_line) >
	    0);
	assert_int_equal(find_ip(text, ed, "192.168.1.1"), 0);
	assert_int_equal(warns.n, 0);
	free(text);

	opts_bad("from=\"" IP "\",from=\"*\"", "from: given more than once");
	opts_bad("from=\"\"", "does not allow");
}

static void
test_from_too_long(void **state)
{
	char pat[1100], opt[1200];

	memset(pat, '*', sizeof(opts.from) - 1);
	pat[sizeof(opts.from) - 1] = '\0';
	snprintf(opt, sizeof(opt), "from=\"%s\"", pat);
	opts_ok(opt);
	assert_int_equal(strlen(opts.from), sizeof(opts.from) - 1);
	strcat(pat, "*");
	snprintf(opt, sizeof(opt), "from=\"%s\"", pat);
	opts_bad(opt, "from: pattern list too long");
}

static void
test_match_from_ipv4(void **state)
{
	assert_true(ak_match_from("192.0.2.10", "192.0.2.10"));
	assert_false(ak_match_from("192.0.2.1", "192.0.2.10"));
	assert_true(ak_match_from("10.0.0.0/8", "10.255.255.255"));
	assert_false(ak_match_from("10.0.0.0/8", "11.0.0.0"));
	assert_true(ak_match_from("0.0.0.0/0", "203.0.113.7"));
	assert_true(ak_match_from("0.0.0.0/0", "0.0.0.0"));
	assert_false(ak_match_from("0.0.0.0/0", "::1"));
	assert_true(ak_match_from("192.0.2.10/32", "192.0.2.10"));
	assert_false(ak_match_from("192.0.2.10/32", "192.0.2.11"));
	assert_true(ak_match_from("192.0.2.10/31", "192.0.2.11"));
	assert_false(ak_match_from("192.0.2.10/31", "192.0.2.12"));
	assert_true(ak_match_from("172.16.0.0/12", "172.31.1.1"));
	assert_false(ak_match_from("172.16.0.0/12", "172.32.0.1"));
	assert_true(ak_match_from("192.0.2.0/25", "192.0.2.127"));
	assert_false(ak_match_from("192.0.2.0/25", "192.0.2.128"));
	/* A list: any entry may match. */
	assert_true(ak_match_from("10.0.0.0/8,192.0.2.0/24", "192.0.2.99"));
	/* Invalid CIDR entries deny the whole list. */
	assert_false(ak_match_from("10.0.0.1/8", "10.0.0.1"));
	assert_false(ak_match_from("10.0.0.0/33", "10.0.0.1"));
	assert_false(ak_match_from("10.0.0.1/33", "10.0.0.1"));
	assert_false(ak_match_from("10.0.0.0/", "10.0.0.1"));
	assert_false(ak_match_from("10.0.0.0/x", "10.0.0.1"));
	assert_false(ak_match_from("10.0.0.0/0008", "10.0.0.1"));
	assert_false(ak_match_from("*,10.0.0.1/8", "192.0.2.1"));
}

static void
test_match_from_ipv6(void **state)
{
	assert_true(ak_match_from("2001:db8::/32", "2001:db8:1::5"));
	assert_true(ak_match_from("2001:db8::/32", "2001:DB8::1"));
	assert_false(ak_match_from("2001:db8::/32", "2001:db9::1"));
	assert_true(ak_match_from("::/0", "2001:db8::1"));
	assert_true(ak_match_from("::/0", "::"));
	assert_false(ak_match_from("::/0", "192.0.2.1"));
	assert_true(ak_match_from("::1/128", "::1"));
	assert_true(ak_match_from("::1", "0:0:0:0:0:0:0:1"));
	assert_false(ak_match_from("::1/128", "::2"));
	assert_true(ak_match_from("2001:db8::/127", "2001:db8::1"));
	assert_false(ak_match_from("2001:db8::/127", "2001:db8::2"));
	assert_true(ak_match_from("fe80::/10", "febf::1"));
	assert_false(ak_match_from("fe80::/10", "fec0::1"));
	/* A zone on the client address does not stop a match. */
	assert_true(ak_match_from("fe80::/10", "fe80::1%eth0"));
	/* A dual-stack socket's mapped address is its IPv4 address. */
	assert_true(ak_match_from("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_true(ak_match_from("10.1.2.*", "::ffff:10.1.2.3"));
	assert_false(ak_match_from("!10.0.0.0/8,*", "::ffff:10.1.2.3"));
	assert_false(ak_match_from("2001:db8::1/64", "2001:db8::1"));
	assert_false(ak_match_from("::/129", "::1"));
	assert_false(ak_match_from("::1/129", "::1"));
	assert_false(ak_match_from("::1/999", "::1"));
	assert_false(ak_match_from("2001:db8::/32", "not-an-address"));
}

static void
test_match_from_negation(void **state)
{
	assert_false(ak_match_from("10.0.0.0/8,!10.0.0.5", "10.0.0.5"));
	assert_true(ak_match_from("10.0.0.0/8,!10.0.0.5", "10.0.0.6"));
	assert_false(ak_match_from("!10.0.0.5,10.0.0.0/8", "10.0.0.5"));
	assert_true(ak_match_from("!10.0.0.5,10.0.0.0/8", "10.0.0.6"));
	/* Only negations: nothing positive matched. */
	assert_false(ak_match_from("!10.0.0.5", "10.0.0.6"));
	assert_false(ak_match_from("*,!192.168.*", "192.168.1.1"));
	assert_true(ak_match_from("*,!192.168.*", "10.0.0.1"));
	assert_false(ak_match_from("!*", "10.0.0.1"));
	assert_false(ak_match_from("*,!2001:db8::/32", "2001:db8::7"));
	assert_true(ak_match_from("*,!2001:db8::/32", "2001:db9::7"));
	assert_false(ak_match_from("!0.0.0.0/0,10.0.0.1", "10.0.0.1"));
}

static void
test_match_from_wildcards(void **state)
{
	assert_true(ak_match_from("10.0.0.?", "10.0.0.1"));
	assert_false(ak_match_from("10.0.0.?", "10.0.0.10"));
	assert_true(ak_match_from("192.168.*", "192.168.44.3"));
	assert_false(ak_match_from("192.168.*", "192.169.0.1"));
	assert_true(ak_match_from("*", "198.51.100.1"));
	assert_true(ak_match_from("*.*.*.1", "198.51.100.1"));
	assert_true(ak_match_from("2001:db8::*", "2001:db8::abcd"));
	/* Names are never resolved: they match only their own text. */
	assert_false(ak_match_from("localhost", "127.0.0.1"));
	assert_false(ak_match_from("*.example.com", "192.0.2.1"));
	assert_true(ak_match_from("LOCALHOST", "localhost"));
	/* Empty entries and lists deny. */
	assert_false(ak_match_from("", "10.0.0.1"));
	assert_false(ak_match_from("10.0.0.1,", "10.0.0.1"));
	assert_false(ak_match_from(",10.0.0.1", "10.0.0.1"));
	assert_false(ak_match_from("!", "10.0.0.1"));
	assert_false(ak_match_from(NULL, "10.0.0.1"));
	assert_false(ak_match_from("*", NULL));
	/* Blanks are not trimmed (as in sshd). */
	assert_false(ak_match_from("10.0.0.2, 10.0.0.1", "10.0.0.1"));
}

/* Every prefix of a line that uses every kind of option: none may crash
 * or read past its length, none but those ending inside the comment may
 * match, and each non-empty one is reported. */
static void
test_truncations(void **state)
{
	char *text, *copy;
	size_t len, cut, keyend;
	int r;

	assert_true(asprintf(&text, "restrict,port-forwarding,"
	    "no-port-forwarding,permitopen=\"[2001:db8::1]:443\","
	    "permitlisten=\"8080\",from=\"10.0.0.0/8,!10.0.0.5\","
	    "command=\"echo \\\"x\\\"\",environment=\"A=b\","
	    "expiry-time=\"29991231Z\",no-pty,tunnel=\"1\" %s\n",
	    ed_line) > 0);
	len = strlen(text);
	keyend = len - strlen(" alice@laptop\n");
	for (cut = 0; cut <= len; cut++) {
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, text, cut);
		memset(&warns, 0, sizeof(warns));
		r = ak_find_text(copy, cut, FNAME, ed, "10.0.0.1", &opts,
		    warn_cb, NULL);
		free(copy);
		if (cut < keyend) {
			if (r != 0)
				fail_msg("prefix of %zu bytes matched", cut);
			if (cut > 0 && warns.n != 1)
				fail_msg("prefix of %zu bytes: %d warnings",
				    cut, warns.n);
		} else {
			if (r != 1)
				fail_msg("prefix of %zu bytes: %s", cut,
				    warns.why);
			assert_false(opts.port_forwarding);
			assert_int_equal(opts.nopen, 1);
			assert_int_equal(opts.nlisten, 1);
		}
	}
	free(text);
}

static void
test_nul_byte(void **state)
{
	char text[2048];
	size_t n;
	int r;

	n = (size_t)snprintf(text, sizeof(text), "restrict %s", ed_line);
	text[n++] = '\0';
	n += (size_t)snprintf(text + n, sizeof(text) - n, "x\n%s\n", ed_line);
	memset(&warns, 0, sizeof(warns));
	r = ak_find_text(text, n, FNAME, ed, IP, &opts, warn_cb, NULL);
	assert_int_equal(r, 1);
	assert_int_equal(opts.line, 2);
	assert_false(opts.restricted);
	assert_int_equal(warns.n, 1);
	assert_int_equal(warns.line, 1);
	assert_non_null(strstr(warns.why, "NUL"));
}

/* Reasons quote the file; control characters must not reach the log. */
static void
test_sanitized_reason(void **state)
{
	opts_bad("evil\033[31m", "unknown option 'evil?[31m'");
	assert_null(strchr(warns.why, '\033'));
}

static void
test_length_respected(void **state)
{
	char *text;

	/* Only the first len bytes are the file. */
	assert_true(asprintf(&text, "# nothing\n%s\n", ed_line) > 0);
	assert_int_equal(ak_find_text(text, 10, FNAME, ed, IP, &opts, warn_cb,
	    NULL), 0);
	assert_int_equal(ak_find_text(text, strlen(text), FNAME, ed, IP,
	    &opts, warn_cb, NULL), 1);
	free(text);
}

static void
test_warn_null(void **state)
{
	char *text;

	assert_true(asprintf(&text, "frobnicate %s\nssh-dss AAAA\n"
	    "from=\"1.1.1.1\" %s\nprincipals=\"x\" %s\n", ed_line, ed_line,
	    ed_line) > 0);
	assert_int_equal(ak_find_text(text, strlen(text), NULL, ed, IP, &opts,
	    NULL, NULL), 1);
	assert_int_equal(opts.line, 4);
	assert_string_equal(opts.file, "");
	free(text);
}

/* 0 if ak_find_file() reports path as unreadable with its reason. */
static int
unreadable_check(const char *path)
{
	char err[512] = "";
	pid_t pid;
	int st, r;

	if (geteuid() != 0) {
		r = ak_find_file(path, ed, IP, &opts, warn_cb, NULL, err,
		    sizeof(err));
		return r == -1 && strstr(err, path) != NULL &&
		    strstr(err, strerror(EACCES)) != NULL ? 0 : 1;
	}
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		_exit(unreadable_check(path));
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_find_file(void **state)
{
	char dir[] = "/tmp/test_authkeys.XXXXXX", path[256], err[512];
	FILE *fp;
	int i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/authorized_keys", dir);

	/* Missing: no match, not an error. */
	err[0] = '\0';
	assert_int_equal(ak_find_file(path, ed, IP, &opts, warn_cb, NULL, err,
	    sizeof(err)), 0);
	assert_string_equal(err, "");
	snprintf(path, sizeof(path), "%s/nodir/authorized_keys", dir);
	assert_int_equal(ak_find_file(path, ed, IP, &opts, warn_cb, NULL, err,
	    sizeof(err)), 0);

	snprintf(path, sizeof(path), "%s/authorized_keys", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "# mine\npermitopen=\"db:5432\" %s\n", ed_line);
	fclose(fp);
	memset(&warns, 0, sizeof(warns));
	assert_int_equal(ak_find_file(path, ed, IP, &opts, warn_cb, NULL, err,
	    sizeof(err)), 1);
	assert_string_equal(opts.file, path);
	assert_int_equal(opts.line, 2);
	assert_int_equal(opts.nopen, 1);
	assert_int_equal(ak_find_file(path, other, IP, &opts, warn_cb, NULL,
	    err, sizeof(err)), 0);

	/* Unreadable: an error, not "no match". Root reads anything, so
	 * then the check runs in a child that dropped to nobody. */
	assert_int_equal(chmod(path, 0), 0);
	assert_int_equal(unreadable_check(path), 0);
	assert_int_equal(chmod(path, 0600), 0);

	/* Not a file. */
	err[0] = '\0';
	assert_int_equal(ak_find_file(dir, ed, IP, &opts, warn_cb, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	/* Larger than 1 MiB, even if the key is on the first line. */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%s\n", ed_line);
	for (i = 0; i < 1024 * 1024 / 64 + 1; i++)
		fprintf(fp, "# %61d\n", i);
	fclose(fp);
	err[0] = '\0';
	assert_int_equal(ak_find_file(path, ed, IP, &opts, warn_cb, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 1 MiB"));

	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_line),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_no_match_resets),
		cmocka_unit_test(test_first_line_wins),
		cmocka_unit_test(test_restrict_and_forwarding),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_permitopen),
		cmocka_unit_test(test_permitlisten),
		cmocka_unit_test(test_permit_errors),
		cmocka_unit_test(test_too_many_permits),
		cmocka_unit_test(test_harmless_options),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_expiry_zone),
		cmocka_unit_test(test_principals),
		cmocka_unit_test(test_cert_authority),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_malformed_options),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_unsupported_types),
		cmocka_unit_test(test_bad_key),
		cmocka_unit_test(test_comments_blanks_crlf),
		cmocka_unit_test(test_from_option),
		cmocka_unit_test(test_from_too_long),
		cmocka_unit_test(test_match_from_ipv4),
		cmocka_unit_test(test_match_from_ipv6),
		cmocka_unit_test(test_match_from_negation),
		cmocka_unit_test(test_match_from_wildcards),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_sanitized_reason),
		cmocka_unit_test(test_length_respected),
		cmocka_unit_test(test_warn_null),
		cmocka_unit_test(test_find_file),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
