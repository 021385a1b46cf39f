/* Unit tests for keys/known_hosts.c. The hashed file was made by
 * ssh-keygen -H (data/keys/gen.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "keys/known_hosts.h"

#define DATA	"data/keys/"

static struct key *ed, *ec, *rsa, *ed2;	/* from the .pub files */
static char *ed_line, *ec_line, *rsa_line, *ed2_line;	/* "type b64" */
static char tmpdir[64];

static char *
read_text(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf = malloc(1024 * 1024);
	n = fread(buf, 1, 1024 * 1024 - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static int
load_pub(const char *name, struct key **k, char **line)
{
	char path[128], *text, *sp;
	size_t len;

	snprintf(path, sizeof(path), DATA "%s.pub", name);
	if ((text = read_text(path, &len)) == NULL)
		return -1;
	if (keyfile_parse_public(text, len, k, NULL, 0) != 0)
		return -1;
	sp = strchr(strchr(text, ' ') + 1, ' ');
	*sp = '\0';
	*line = text;
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	if (load_pub("id_ed25519", &ed, &ed_line) != 0 ||
	    load_pub("id_ecdsa", &ec, &ec_line) != 0 ||
	    load_pub("id_rsa", &rsa, &rsa_line) != 0 ||
	    load_pub("id_ed25519_enc", &ed2, &ed2_line) != 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-kh-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	key_free(ed);
	key_free(ec);
	key_free(rsa);
	key_free(ed2);
	free(ed_line);
	free(ec_line);
	free(rsa_line);
	free(ed2_line);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct kh_result
check(const char *text, const char *host, int port, const struct key *k)
{
	struct kh_result res;

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_text(text, strlen(text), "kh", host, port, k,
	    &res), 0);
	return res;
}

static void
test_hostname(void **state)
{
	char buf[64];

	(void)state;
	kh_hostname("example.com", 22, buf, sizeof(buf));
	assert_string_equal(buf, "example.com");
	kh_hostname("example.com", 2222, buf, sizeof(buf));
	assert_string_equal(buf, "[example.com]:2222");
	kh_hostname("Example.COM", 22, buf, sizeof(buf));
	assert_string_equal(buf, "example.com");
	kh_hostname("::1", 22, buf, sizeof(buf));
	assert_string_equal(buf, "::1");
	kh_hostname("::1", 8022, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:8022");
	kh_hostname("example.com", 2222, buf, 8);
	assert_string_equal(buf, "[exampl");
}

static void
test_plain(void **state)
{
	char text[1024];
	struct kh_result res;

	(void)state;
	snprintf(text, sizeof(text), "# comment\n\nexample.com %s\n", ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 3);
	assert_string_equal(res.file, "kh");
	assert_int_equal(res.types_known, 1u << KEY_ED25519);
	/* case does not matter */
	res = check(text, "EXAMPLE.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
	/* other hosts know nothing */
	res = check(text, "example.org", 22, ed);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(res.types_known, 0);
	res = check(text, "www.example.com", 22, ed);
	assert_int_equal(res.status, KH_NEW);
	/* a comment after the key, tabs, CRLF */
	snprintf(text, sizeof(text), "example.com\t%s  some comment\r\n",
	    ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 1);
	/* comma-separated names */
	snprintf(text, sizeof(text), "a.test,example.com,192.0.2.1 %s",
	    ed_line);
	assert_int_equal(check(text, "192.0.2.1", 22, ed).status, KH_MATCH);
	assert_int_equal(check(text, "a.test", 22, ed).status, KH_MATCH);
	assert_int_equal(check(text, "b.test", 22, ed).status, KH_NEW);
}

static void
test_port(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "[example.com]:2222 %s\n", ed_line);
	assert_int_equal(check(text, "example.com", 2222, ed).status,
	    KH_MATCH);
	assert_int_equal(check(text, "example.com", 22, ed).status, KH_NEW);
	assert_int_equal(check(text, "example.com", 2223, ed).status, KH_NEW);
	snprintf(text, sizeof(text), "example.com %s\n", ed_line);
	assert_int_equal(check(text, "example.com", 2222, ed).status, KH_NEW);
	assert_int_equal(check(text, "example.com", 22, ed).status, KH_MATCH);
	/* port 22 written out in brackets is not how OpenSSH stores it */
	snprintf(text, sizeof(text), "[example.com]:22 %s\n", ed_line);
	assert_int_equal(check(text, "example.com", 22, ed).status, KH_NEW);
	/* wildcard over the port form */
	snprintf(text, sizeof(text), "[*.example.com]:* %s\n", ed_line);
	assert_int_equal(check(text, "a.example.com", 2022, ed).status,
	    KH_MATCH);
}

static void
test_wildcards(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "*.example.com %s\n", ed_line);
	assert_int_equal(check(text, "a.example.com", 22, ed).status,
	    KH_MATCH);
	assert_int_equal(check(text, "a.b.example.com", 22, ed).status,
	    KH_MATCH);
	assert_int_equal(check(text, "example.com", 22, ed).status, KH_NEW);
	assert_int_equal(check(text, "a.example.org", 22, ed).status, KH_NEW);
	snprintf(text, sizeof(text), "host? %s\n", ed_line);
	assert_int_equal(check(text, "host1", 22, ed).status, KH_MATCH);
	assert_int_equal(check(text, "host", 22, ed).status, KH_NEW);
	assert_int_equal(check(text, "host12", 22, ed).status, KH_NEW);
	snprintf(text, sizeof(text), "192.0.2.* %s\n", ed_line);
	assert_int_equal(check(text, "192.0.2.77", 22, ed).status, KH_MATCH);
	assert_int_equal(check(text, "192.0.3.77", 22, ed).status, KH_NEW);
	snprintf(text, sizeof(text), "* %s\n", ed_line);
	assert_int_equal(check(text, "anything", 22, ed).status, KH_MATCH);
	/* A pathological pattern finishes quickly. */
	snprintf(text, sizeof(text), "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b %s\n",
	    ed_line);
	assert_int_equal(check(text, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 22,
	    ed).status, KH_NEW);
}

static void
test_negation(void **state)
{
	char text[1024];
	struct kh_result res;

	(void)state;
	snprintf(text, sizeof(text), "*.example.com,!bad.example.com %s\n",
	    ed_line);
	assert_int_equal(check(text, "good.example.com", 22, ed).status,
	    KH_MATCH);
	res = check(text, "bad.example.com", 22, ed);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(res.types_known, 0);
	/* the negation wins wherever it stands */
	snprintf(text, sizeof(text), "!bad.example.com,*.example.com %s\n",
	    ed_line);
	assert_int_equal(check(text, "bad.example.com", 22, ed).status,
	    KH_NEW);
	/* a negation alone matches nothing */
	snprintf(text, sizeof(text), "!bad.example.com %s\n", ed_line);
	assert_int_equal(check(text, "good.example.com", 22, ed).status,
	    KH_NEW);
	/* a negated line does not stop a later line from matching */
	snprintf(text, sizeof(text), "*,!bad.example.com %s\n"
	    "bad.example.com %s\n", ed2_line, ed_line);
	res = check(text, "bad.example.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 2);
}

/* Lines ssh-keygen -H hashed match their hosts, and only those. */
static void
test_hashed_file(void **state)
{
	struct kh_result res;
	char err[256];

	(void)state;
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(DATA "known_hosts_hashed", "example.com",
	    22, ed, &res, err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 1);
	assert_string_equal(res.file, DATA "known_hosts_hashed");

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(DATA "known_hosts_hashed", "example.org",
	    2222, ec, &res, err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 2);

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(DATA "known_hosts_hashed", "192.0.2.7",
	    22, rsa, &res, err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 3);

	/* the host without its port, or another key, is not a match */
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(DATA "known_hosts_hashed", "example.org",
	    22, ec, &res, err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_NEW);
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(DATA "known_hosts_hashed", "example.com",
	    22, ed2, &res, err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_CHANGED);
	assert_int_equal(res.line, 1);
}

static void
test_match_hashed(void **state)
{
	char *text, *sp;
	size_t len;

	(void)state;
	text = read_text(DATA "known_hosts_hashed", &len);
	assert_non_null(text);
	sp = strchr(text, ' ');
	assert_int_equal(kh_match_hashed(text, (size_t)(sp - text),
	    "example.com"), 1);
	assert_int_equal(kh_match_hashed(text, (size_t)(sp - text),
	    "example.co"), 0);
	assert_int_equal(kh_match_hashed(text, (size_t)(sp - text),
	    "Example.com"), 0);	/* callers pass the lowercased form */
	/* cut anywhere: no match, no over-read */
	for (len = 0; len < (size_t)(sp - text); len++) {
		char *copy = malloc(len > 0 ? len : 1);

		memcpy(copy, text, len);
		assert_int_equal(kh_match_hashed(copy, len, "example.com"), 0);
		free(copy);
	}
	assert_int_equal(kh_match_hashed("|2|abc|def", 10, "example.com"), 0);
	assert_int_equal(kh_match_hashed("|1||", 4, "example.com"), 0);
	assert_int_equal(kh_match_hashed("|1|AAAA|AAAA", 12, "x"), 0);
	free(text);
}

struct names {
	char	text[1024];
	int	n;
};

static void
collect(void *ud, const char *path, int lineno, const char *hosts,
    size_t hlen)
{
	struct names *nm = ud;
	size_t used = strlen(nm->text);

	nm->n++;
	snprintf(nm->text + used, sizeof(nm->text) - used, "%s:%d:%.*s;",
	    path, lineno, (int)hlen, hosts);
}

/* The names a question lists besides the host's: lines with the same key
 * under names that do not match, markers and comments skipped. */
static void
test_other_names(void **state)
{
	char text[4096];
	struct names nm;

	(void)state;
	snprintf(text, sizeof(text),
	    "other.example %s\n"
	    "# example.net %s\n"
	    "example.com,alias %s\n"		/* ours: not another name */
	    "[example.com]:2222 %s\n"		/* another port: another name */
	    "@revoked gone %s\n"
	    "third %s\n"			/* another key */
	    "|1|AAAA|BBBB %s\n"
	    "*.com %s\n",			/* a pattern that matches us */
	    ed_line, ed_line, ed_line, ed_line, ed_line, ed2_line, ed_line,
	    ed_line);
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(kh_other_names_text(text, strlen(text), "kh",
	    "Example.COM", 22, ed, collect, &nm), 0);
	assert_string_equal(nm.text, "kh:1:other.example;"
	    "kh:4:[example.com]:2222;kh:7:|1|AAAA|BBBB;");
	assert_int_equal(nm.n, 3);
	/* the same host on port 2222: line 4 is its own name now */
	memset(&nm, 0, sizeof(nm));
	kh_other_names_text(text, strlen(text), "kh", "example.com", 2222,
	    ed, collect, &nm);
	assert_string_equal(nm.text, "kh:1:other.example;kh:3:example.com,"
	    "alias;kh:7:|1|AAAA|BBBB;kh:8:*.com;");
	/* an alias (port 0) is looked up alone */
	memset(&nm, 0, sizeof(nm));
	kh_other_names_text(text, strlen(text), "kh", "alias", 0, ed,
	    collect, &nm);
	assert_int_equal(nm.n, 4);
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(kh_other_names("/nonexistent/kh", "example.com", 22,
	    ed, collect, &nm, NULL, 0), 0);
	assert_int_equal(nm.n, 0);
}

static void
test_changed(void **state)
{
	char text[2048], fp[128];
	struct kh_result res;

	(void)state;
	snprintf(text, sizeof(text),
	    "other.example %s\n"
	    "# comment\n"
	    "example.com %s\n"
	    "example.com %s\n"
	    "example.com %s\n",		/* the first change is reported */
	    ed_line, ed2_line, ec_line, ed2_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_CHANGED);
	assert_string_equal(res.file, "kh");
	assert_int_equal(res.line, 3);
	/* the key listed there, for CheckHostIP's comparison */
	key_fingerprint(ed2, fp, sizeof(fp));
	assert_string_equal(res.listed_fp, fp);
	assert_int_equal(res.types_known,
	    (1u << KEY_ED25519) | (1u << KEY_ECDSA_P256));
	/* the ecdsa key in the same file matches */
	res = check(text, "example.com", 22, ec);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 4);

	/* Two keys of one type, one ours: a match, as in OpenSSH. */
	snprintf(text, sizeof(text), "example.com %s\nexample.com %s\n",
	    ed2_line, ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 2);
	/* Listed twice: the first line is reported. */
	snprintf(text, sizeof(text), "example.com %s\n*.com %s\n", ed_line,
	    ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 1);
}

static void
test_other_type_only(void **state)
{
	char text[2048];
	struct kh_result res;

	(void)state;
	snprintf(text, sizeof(text), "example.com %s\n", ec_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(res.types_known, 1u << KEY_ECDSA_P256);
	snprintf(text, sizeof(text), "example.com %s\nexample.com %s\n",
	    rsa_line, ec_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(res.types_known,
	    (1u << KEY_RSA) | (1u << KEY_ECDSA_P256));
}

static void
test_revoked(void **state)
{
	char text[2048];
	struct kh_result res;

	(void)state;
	snprintf(text, sizeof(text), "example.com %s\n@revoked * %s\n",
	    ed_line, ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_REVOKED);
	/* revoked before the match, and whatever the pattern says */
	snprintf(text, sizeof(text),
	    "@revoked unrelated.example %s\nexample.com %s\n", ed_line,
	    ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_REVOKED);
	assert_int_equal(res.line, 1);
	/* revoking another key changes nothing for ours */
	snprintf(text, sizeof(text), "@revoked * %s\nexample.com %s\n",
	    ed2_line, ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
}

static void
test_garbage_skipped(void **state)
{
	char text[4096];
	struct kh_result res;

	(void)state;
	snprintf(text, sizeof(text),
	    "garbage\n"
	    "example.com\n"
	    "example.com ssh-ed25519\n"
	    "example.com ssh-ed25519 !!!!\n"
	    "example.com ssh-ed25519 AAAA\n"
	    "example.com ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4Ed\n"
	    "example.com sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5\n"
	    "example.com ssh-rsa %s\n"		/* type and blob disagree */
	    "@cert-authority example.com %s\n"
	    "@bogus example.com %s\n"
	    "@revoked\n"
	    "\x01\x02\xff\n"
	    "   \t  \n"
	    "  # indented comment %s\n"
	    "example.com %s",			/* no final newline */
	    ed_line + 12, ed_line, ed_line, ed_line, ed_line);
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 15);
	assert_int_equal(res.types_known, 1u << KEY_ED25519);
	/* Without the last line nothing at all is known. */
	*strrchr(text, '\n') = '\0';
	res = check(text, "example.com", 22, ed);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(res.types_known, 0);
}

/* Results accumulate over files; the strongest status wins. */
static void
test_accumulate(void **state)
{
	char a[1024], b[1024];
	struct kh_result res;

	(void)state;
	snprintf(a, sizeof(a), "example.com %s\n", ed2_line);
	snprintf(b, sizeof(b), "\nexample.com %s\n", ed_line);
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	kh_check_text(a, strlen(a), "a", "example.com", 22, ed, &res);
	assert_int_equal(res.status, KH_CHANGED);
	assert_string_equal(res.file, "a");
	kh_check_text(b, strlen(b), "b", "example.com", 22, ed, &res);
	assert_int_equal(res.status, KH_MATCH);
	assert_string_equal(res.file, "b");
	assert_int_equal(res.line, 2);
	/* and a change after a match stays a match */
	kh_check_text(a, strlen(a), "a", "example.com", 22, ed, &res);
	assert_int_equal(res.status, KH_MATCH);
	assert_string_equal(res.file, "b");
}

static void
test_add_plain(void **state)
{
	char path[128], want[1024], err[256], *text;
	struct kh_result res;
	struct stat st;
	unsigned types = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/ssh/known_hosts", tmpdir);
	assert_int_equal(kh_add(path, "Example.com", 22, ed, 0, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(want, sizeof(want), "%s/ssh", tmpdir);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(kh_add(path, "example.org", 2222, ec, 0, err,
	    sizeof(err)), 0);
	text = read_text(path, NULL);
	snprintf(want, sizeof(want), "example.com %s\n[example.org]:2222 %s\n",
	    ed_line, ec_line);
	assert_string_equal(text, want);
	free(text);

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(path, "example.org", 2222, ec, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 2);
	assert_string_equal(res.file, path);
	assert_int_equal(kh_known_types(path, "example.com", 22, &types, NULL), 0);
	assert_int_equal(types, 1u << KEY_ED25519);

	/* Host names that would change the line's meaning are refused. */
	assert_int_equal(kh_add(path, "a b", 22, ed, 0, err, sizeof(err)), -1);
	assert_int_equal(kh_add(path, "a\n* ssh-ed25519 AAAA", 22, ed, 0, err,
	    sizeof(err)), -1);
	assert_int_equal(kh_add(path, "*.example.com", 22, ed, 0, err,
	    sizeof(err)), -1);
	assert_int_equal(kh_add(path, "a,b", 22, ed, 0, err, sizeof(err)), -1);
	assert_int_equal(kh_add(path, "@revoked", 22, ed, 0, err,
	    sizeof(err)), -1);
	text = read_text(path, NULL);
	assert_string_equal(text, want);
	free(text);
}

/* kh_add_names: a host with its address (CheckHostIP), on one line
 * plain, one hashed line each; a bad name refuses them all. */
static void
test_add_names(void **state)
{
	const char *pair[2] = { "[gw.example]:2222", "[192.0.2.7]:2222" };
	const char *bad[2] = { "gw.example", "a b" };
	char path[128], want[1024], err[256], *text, *nl;
	struct kh_result res;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/kh_names", tmpdir);
	assert_int_equal(kh_add_names(path, pair, 2, ed, 0, err,
	    sizeof(err)), 0);
	text = read_text(path, NULL);
	snprintf(want, sizeof(want), "[gw.example]:2222,[192.0.2.7]:2222 "
	    "%s\n", ed_line);
	assert_string_equal(text, want);
	free(text);
	assert_int_equal(kh_add_names(path, bad, 2, ed, 0, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "refusing"));

	snprintf(path, sizeof(path), "%s/kh_names_hashed", tmpdir);
	assert_int_equal(kh_add_names(path, pair, 2, ec, 1, err,
	    sizeof(err)), 0);
	text = read_text(path, NULL);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_non_null(strchr(nl + 1, '\n'));
	assert_string_equal(strchr(nl + 1, '\n') + 1, "");
	assert_int_equal(kh_match_hashed(text, 31 + 29, pair[0]), 1);
	assert_int_equal(kh_match_hashed(nl + 1, 31 + 29, pair[1]), 1);
	assert_int_equal(kh_match_hashed(text, 31 + 29, pair[1]), 0);
	free(text);
	for (i = 0; i < 2; i++) {
		memset(&res, 0, sizeof(res));
		res.status = KH_NEW;
		assert_int_equal(kh_check_file(path, i == 0 ? "gw.example" :
		    "192.0.2.7", 2222, ec, &res, err, sizeof(err)), 0);
		assert_int_equal(res.status, KH_MATCH);
		assert_int_equal(res.line, i + 1);
	}
}

/* kh_add appends after a last line that lacks its newline. */
static void
test_add_unterminated(void **state)
{
	char path[128], want[1024], err[256], *text;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/kh_unterminated", tmpdir);
	f = fopen(path, "w");
	fputs("# no newline", f);
	fclose(f);
	assert_int_equal(kh_add(path, "example.com", 22, ed, 0, err,
	    sizeof(err)), 0);
	text = read_text(path, NULL);
	snprintf(want, sizeof(want), "# no newline\nexample.com %s\n",
	    ed_line);
	assert_string_equal(text, want);
	free(text);
}

static void
test_add_hashed(void **state)
{
	char path[128], err[256], *text, *sp, *bar;
	struct kh_result res;

	(void)state;
	snprintf(path, sizeof(path), "%s/kh_hashed", tmpdir);
	assert_int_equal(kh_add(path, "example.net", 2200, rsa, 1, err,
	    sizeof(err)), 0);
	assert_int_equal(kh_add(path, "example.net", 2200, ed, 1, err,
	    sizeof(err)), 0);
	text = read_text(path, NULL);
	assert_memory_equal(text, "|1|", 3);
	assert_null(strstr(text, "example"));
	/* |1|<28 chars>|<28 chars> type b64 */
	sp = strchr(text, ' ');
	bar = strchr(text + 3, '|');
	assert_int_equal(bar - text, 3 + 28);
	assert_int_equal(sp - bar, 1 + 28);
	assert_int_equal(strncmp(sp + 1, rsa_line, strlen(rsa_line)), 0);
	assert_int_equal(kh_match_hashed(text, (size_t)(sp - text),
	    "[example.net]:2200"), 1);
	assert_int_equal(kh_match_hashed(text, (size_t)(sp - text),
	    "example.net"), 0);
	/* salts are random: the two lines' host fields differ */
	assert_int_equal(strncmp(text, strchr(text, '\n') + 1, 31) == 0, 0);
	free(text);

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(path, "EXAMPLE.net", 2200, ed, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 2);
	assert_int_equal(res.types_known, (1u << KEY_RSA) | (1u << KEY_ED25519));
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(path, "example.net", 22, ed, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(res.types_known, 0);
}

/* ssh-keygen -F finds what we hashed (skipped without ssh-keygen). */
static void
test_add_hashed_ssh_keygen(void **state)
{
	char path[128], cmd[512], err[256];

	(void)state;
	if (system("command -v ssh-keygen >/dev/null 2>&1") != 0)
		skip();
	snprintf(path, sizeof(path), "%s/kh_for_keygen", tmpdir);
	assert_int_equal(kh_add(path, "host.example", 2022, ed, 1, err,
	    sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -F '[host.example]:2022' -f "
	    "'%s' >/dev/null 2>&1", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -F 'host.example' -f '%s' "
	    ">/dev/null 2>&1", path);
	assert_true(system(cmd) != 0);
}

static void
test_missing_file(void **state)
{
	struct kh_result res;
	char path[128], err[256];
	unsigned types = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_file(path, "example.com", 22, ed, &res, err,
	    sizeof(err)), 0);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(kh_known_types(path, "example.com", 22, &types, NULL), 0);
	assert_int_equal(types, 0);
	/* a directory is not a known_hosts file */
	assert_int_equal(kh_check_file(tmpdir, "example.com", 22, ed, &res,
	    err, sizeof(err)), -1);
}

/* Random bytes and every cut of a valid text: no crash, no over-read. */
static void
test_fuzzish(void **state)
{
	char *text, *copy;
	size_t len, cut, i;
	struct kh_result res;
	int n;

	(void)state;
	text = read_text(DATA "known_hosts_hashed", &len);
	for (cut = 0; cut <= len; cut++) {
		copy = malloc(cut > 0 ? cut : 1);
		memcpy(copy, text, cut);
		memset(&res, 0, sizeof(res));
		res.status = KH_NEW;
		kh_check_text(copy, cut, "f", "example.com", 22, ed, &res);
		assert_true(res.status == KH_NEW || res.status == KH_MATCH);
		free(copy);
	}
	srand(3);
	copy = malloc(len);
	for (n = 0; n < 2000; n++) {
		memcpy(copy, text, len);
		for (i = 0; i < 1 + (size_t)(rand() % 8); i++)
			copy[(size_t)rand() % len] = (char)(rand() % 256);
		memset(&res, 0, sizeof(res));
		res.status = KH_NEW;
		kh_check_text(copy, len, "f", "example.com", 22, ed, &res);
	}
	free(copy);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_negation),
		cmocka_unit_test(test_hashed_file),
		cmocka_unit_test(test_match_hashed),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_other_names),
		cmocka_unit_test(test_other_type_only),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_add_names),
		cmocka_unit_test(test_garbage_skipped),
		cmocka_unit_test(test_accumulate),
		cmocka_unit_test(test_add_plain),
		cmocka_unit_test(test_add_unterminated),
		cmocka_unit_test(test_add_hashed),
		cmocka_unit_test(test_add_hashed_ssh_keygen),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_fuzzish),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
