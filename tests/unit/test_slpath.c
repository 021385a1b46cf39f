/* StreamLocalDirectory path rules (fwd/slpath.h): the parse of a peer's
 * path against a user's directory, the %u expansion, and the file system
 * walk that refuses symlinks and unsafe directories. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include "fwd/slpath.h"

#define ROOT	"/run/ferryd/alice"

static void
ok(const char *root, const char *path, const char *dir, const char *name)
{
	struct slpath p;
	char err[256] = "";
	int r = slpath_parse(root, path, strlen(path), &p, err, sizeof(err));

	if (r != SLPATH_OK)
		fail_msg("\"%s\" under %s: %d (%s)", path, root ? root : "none",
		    r, err);
	assert_string_equal(p.dir, dir);
	assert_string_equal(p.name, name);
}

static void
bad(const char *root, const char *path, size_t len, int want,
    const char *words)
{
	struct slpath p;
	char err[256] = "";
	int r = slpath_parse(root, path, len, &p, err, sizeof(err));

	if (r != want)
		fail_msg("\"%.*s\" under %s: %d, want %d (%s)", (int)len, path,
		    root ? root : "none", r, want, err);
	if (strstr(err, words) == NULL)
		fail_msg("\"%s\": '%s' does not say '%s'", path, err, words);
}

static void
test_under_root(void **state)
{
	(void)state;
	ok(ROOT, "app.sock", "", "app.sock");
	ok(ROOT, "./app.sock", "", "app.sock");
	ok(ROOT, "sub//x/./app.sock", "sub/x", "app.sock");
	ok(ROOT, ROOT "/app.sock", "", "app.sock");
	/* the spellings of one socket give one result */
	ok(ROOT, "/run//ferryd/./alice//app.sock", "", "app.sock");
	ok(ROOT "/", ROOT "/sub/app.sock", "sub", "app.sock");
	ok("/run/./ferryd//alice", ROOT "/app.sock", "", "app.sock");
	ok("/", "/a/b.sock", "a", "b.sock");
	ok(ROOT, ".a..b/..c", ".a..b", "..c");
}

static void
test_refused_under_root(void **state)
{
	(void)state;
	bad(ROOT, "/run/ferryd/bob/app.sock", 24, SLPATH_OUTSIDE, "outside");
	bad(ROOT, "/run/ferryd/alicex/a", 20, SLPATH_OUTSIDE, ROOT);
	bad(ROOT, "/run/ferryd", 11, SLPATH_OUTSIDE, "outside");
	bad(ROOT, "/var/run/docker.sock", 20, SLPATH_OUTSIDE, "outside");
	bad(ROOT, ROOT "/../bob/app.sock", strlen(ROOT "/../bob/app.sock"),
	    SLPATH_DOTDOT, "\"..\"");
	bad(ROOT, "../bob/app.sock", 15, SLPATH_DOTDOT, "..");
	bad(ROOT, "sub/..", 6, SLPATH_DOTDOT, "..");
	bad(ROOT, "..", 2, SLPATH_DOTDOT, "..");
	bad(ROOT, ROOT, strlen(ROOT), SLPATH_NOT_SOCKET, "directory");
	bad(ROOT, ROOT "/", strlen(ROOT "/"), SLPATH_NOT_SOCKET, "directory");
	bad(ROOT, "sub/.", 5, SLPATH_NOT_SOCKET, "directory");
	bad(ROOT, ".", 1, SLPATH_NOT_SOCKET, "directory");
	bad(ROOT, "", 0, SLPATH_EMPTY, "empty");
	bad(ROOT, "a\nb", 3, SLPATH_BAD_CHAR, "control");
	bad(ROOT, "a\0b", 3, SLPATH_BAD_CHAR, "NUL");
}

static void
test_no_root(void **state)
{
	char longp[300];

	(void)state;
	ok(NULL, "/tmp/app.sock", "/tmp", "app.sock");
	ok(NULL, "/app.sock", "/", "app.sock");
	ok(NULL, "//tmp/./a/../b.sock", "/tmp/a/..", "b.sock");
	bad(NULL, "app.sock", 8, SLPATH_RELATIVE, "relative");
	bad(NULL, "/tmp/..", 7, SLPATH_NOT_SOCKET, "directory");
	bad(NULL, "/", 1, SLPATH_NOT_SOCKET, "directory");
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	bad(NULL, longp, SLPATH_MAX, SLPATH_TOO_LONG, "longer");
	bad(NULL, longp, SLPATH_NAME_MAX + 2, SLPATH_TOO_LONG, "name");
	ok(NULL, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

/* len bounds the read: bytes after it are never looked at */
static void
test_len_bounds(void **state)
{
	(void)state;
	bad(ROOT, "app.sock/", 9, SLPATH_NOT_SOCKET, "directory");
	ok(ROOT, "app.sock", "", "app.sock");
	{
		struct slpath p;

		assert_int_equal(slpath_parse(ROOT, "a.sock/..", 6, &p, NULL,
		    0), SLPATH_OK);
		assert_string_equal(p.name, "a.sock");
	}
}

static void
test_template(void **state)
{
	char out[64], err[128];

	(void)state;
	assert_int_equal(slpath_check_template("none", err, sizeof(err)), 0);
	assert_int_equal(slpath_check_template("/run/%u/%%", err,
	    sizeof(err)), 0);
	assert_int_equal(slpath_check_template("/run/%h", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "%h"));
	assert_int_equal(slpath_check_template("/run/%", err, sizeof(err)),
	    -1);
	assert_int_equal(slpath_expand("/run/%u/x%%y", "bob", out,
	    sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "/run/bob/x%y");
	assert_int_equal(slpath_expand("/run/%u", "bob", out, 8, err,
	    sizeof(err)), -1);
	assert_int_equal(slpath_expand("/run/%u", "bob", out, 9, err,
	    sizeof(err)), 0);
}

static char tmp[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/slpathXXXXXX");
	return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_root_created_and_checked(void **state)
{
	char root[128], err[512];
	struct stat st;
	int fd;

	(void)state;
	snprintf(root, sizeof(root), "%s/sockets/alice", tmp);
	assert_int_equal(slpath_root(root, false, err, sizeof(err)), -1);
	fd = slpath_root(root, true, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s", err);
	close(fd);
	assert_int_equal(stat(root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	chmod(root, 0720);
	assert_int_equal(slpath_root(root, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by group or others (mode 0720)"));
	chmod(root, 0700);
}

static void
test_walk_refuses_symlinks(void **state)
{
	char root[128], link[160], canon[256], err[512];
	struct slpath p;
	int rootfd, dirfd;

	(void)state;
	snprintf(root, sizeof(root), "%s/r", tmp);
	rootfd = slpath_root(root, true, err, sizeof(err));
	assert_true(rootfd >= 0);
	snprintf(link, sizeof(link), "%s/r/sub", tmp);
	assert_int_equal(mkdir(link, 0700), 0);
	snprintf(link, sizeof(link), "%s/r/sub/deeper", tmp);
	assert_int_equal(mkdir(link, 0700), 0);
	snprintf(link, sizeof(link), "%s/r/out", tmp);
	assert_int_equal(symlink("/tmp", link), 0);

	assert_int_equal(slpath_parse(root, "sub//deeper/a.sock", 18, &p, err,
	    sizeof(err)), SLPATH_OK);
	dirfd = slpath_dir(rootfd, &p, err, sizeof(err));
	assert_true(dirfd >= 0);
	slpath_canon(dirfd, p.name, canon, sizeof(canon));
	snprintf(link, sizeof(link), "%s/r/sub/deeper/a.sock", tmp);
	assert_string_equal(canon, link);
	close(dirfd);

	assert_int_equal(slpath_parse(root, "out/a.sock", 10, &p, err,
	    sizeof(err)), SLPATH_OK);
	assert_int_equal(slpath_dir(rootfd, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out is a symbolic link"));
	assert_int_equal(slpath_parse(root, "missing/a.sock", 14, &p, err,
	    sizeof(err)), SLPATH_OK);
	assert_int_equal(slpath_dir(rootfd, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing"));
	close(rootfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_under_root),
		cmocka_unit_test(test_refused_under_root),
		cmocka_unit_test(test_no_root),
		cmocka_unit_test(test_len_bounds),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_root_created_and_checked),
		cmocka_unit_test(test_walk_refuses_symlinks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
