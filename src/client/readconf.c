/* ssh_config files as ssh(1) reads them: files, Include, Host, Match. */
#include "readconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client/options.h"
#include "client/sshkw.h"
#include "util/cfgtok.h"
#include "util/tokens.h"

#define MAX_CONFIG_SIZE	(1024 * 1024)
#define MAX_LINE	8192

static int
default_glob(void *ud, const char *pattern, char ***paths, size_t *n,
    char *err, size_t errlen)
{
	glob_t gl;
	size_t i;
	int r;

	*paths = NULL;
	*n = 0;
	memset(&gl, 0, sizeof(gl));
	r = glob(pattern, GLOB_TILDE, NULL, &gl);
	if (r == GLOB_NOMATCH)
		return 0;
	if (r != 0) {
		snprintf(err, errlen, "glob failed for %s", pattern);
		globfree(&gl);
		return -1;
	}
	if ((*paths = calloc(gl.gl_pathc + 1, sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < gl.gl_pathc; i++) {
		if (((*paths)[i] = strdup(gl.gl_pathv[i])) == NULL)
			goto nomem;
		(*n)++;
	}
	globfree(&gl);
	return 0;
nomem:
	globfree(&gl);
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int
default_read(void *ud, const char *path, bool check_perm, char **text,
    size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	ssize_t r;
	size_t n = 0;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "Can't open user config file %s: %s",
		    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || (check_perm && ((sb.st_uid != 0 &&
	    sb.st_uid != getuid()) || (sb.st_mode & 022) != 0))) {
		snprintf(err, errlen, "Bad owner or permissions on %s", path);
		close(fd);
		return -1;
	}
	if ((buf = malloc(MAX_CONFIG_SIZE)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (n < MAX_CONFIG_SIZE && (r = read(fd, buf + n,
	    MAX_CONFIG_SIZE - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		n += (size_t)r;
	}
	if (n == MAX_CONFIG_SIZE) {
		snprintf(err, errlen, "%s: config file too large", path);
		goto fail;
	}
	close(fd);
	*text = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* Runs cmd with /bin/sh, stdin and stdout on /dev/null, in its own process
 * group, for at most READCONF_EXEC_TIMEOUT_MS. */
static int
default_exec(void *ud, const char *cmd, char *err, size_t errlen)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status, i, fd;
	pid_t pid, w;

	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "Match exec: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			if (fd > 2)
				close(fd);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < READCONF_EXEC_TIMEOUT_MS / 10; i++) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "Match exec: waitpid: %s",
			    strerror(errno));
			return -1;
		}
		nanosleep(&tick, NULL);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	snprintf(err, errlen, "Match exec '%s' did not finish within %d s",
	    cmd, READCONF_EXEC_TIMEOUT_MS / 1000);
	return -1;
}

const struct readconf_io readconf_default_io = {
	default_glob, default_read, default_exec, NULL,
};

int
readconf_init(struct readconf *rc, const char *host, char *err,
    size_t errlen)
{
	static char uid[16];
	struct passwd *pw;

	memset(rc, 0, sizeof(*rc));
	if ((pw = getpwuid(getuid())) == NULL) {
		snprintf(err, errlen, "No user exists for uid %u",
		    (unsigned)getuid());
		return -1;
	}
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	rc->host = rc->original_host = host;
	rc->home = pw->pw_dir;
	rc->local_user = pw->pw_name;
	rc->uid = uid;
	rc->io = &readconf_default_io;
	return 0;
}

/* State of one file being read. */
struct file_ctx {
	struct readconf	*rc;
	const char	*fname;
	bool		 userconf;
	bool		 nevermatch;	/* included from an inactive block */
	bool		*active;
	int		 depth;
};

static int	read_depth(struct options *o, struct readconf *rc,
		    const char *path, bool userconf, bool check_perm,
		    bool nevermatch, bool *active, int depth, char *err,
		    size_t errlen);

/* Host PATTERN...: active when one pattern matches and none negated does. */
static int
host_line(struct file_ctx *f, char **a, int n, const char *where, char *err,
    size_t errlen)
{
	bool neg;
	int i;

	*f->active = false;
	for (i = 0; i < n; i++) {
		if (a[i][0] == '\0') {
			snprintf(err, errlen, "%s: Host: empty argument",
			    where);
			return -1;
		}
		if (f->nevermatch)
			return 0;
		neg = a[i][0] == '!';
		if (!options_match_host(a[i] + neg, f->rc->host))
			continue;
		if (neg) {
			*f->active = false;
			return 0;
		}
		*f->active = true;
	}
	return 0;
}

/* Match exec's tokens (ssh_config(5) TOKENS). */
static int
exec_matches(struct options *o, struct readconf *rc, const char *host,
    const char *arg, const char *where, int *r, char *err, size_t errlen)
{
	char cmd[4096], lhost[256], shost[256], port[16], hash[41], why[512];
	const char *ruser = o->user ? o->user : rc->local_user;
	struct tokens t;

	if (gethostname(lhost, sizeof(lhost)) != 0)
		snprintf(lhost, sizeof(lhost), "localhost");
	lhost[sizeof(lhost) - 1] = '\0';
	snprintf(shost, sizeof(shost), "%.*s", (int)strcspn(lhost, "."),
	    lhost);
	snprintf(port, sizeof(port), "%d", o->port > 0 ? o->port : 22);
	if (tokens_conn_hash(lhost, host, port, ruser, hash) != 0) {
		snprintf(err, errlen, "%s: Match exec: hash failed", where);
		return -1;
	}
	tokens_init(&t);
	tokens_set(&t, 'C', hash);
	tokens_set(&t, 'L', shost);
	tokens_set(&t, 'd', rc->home);
	tokens_set(&t, 'h', host);
	tokens_set(&t, 'k', host);
	tokens_set(&t, 'l', lhost);
	tokens_set(&t, 'n', rc->original_host);
	tokens_set(&t, 'p', port);
	tokens_set(&t, 'r', ruser);
	tokens_set(&t, 'u', rc->local_user);
	tokens_set(&t, 'i', rc->uid);
	if (tokens_expand(arg, &t, cmd, sizeof(cmd), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: Match exec: %s", where, why);
		return -1;
	}
	why[0] = '\0';
	if ((*r = rc->io->exec(rc->io->ud, cmd, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s: %s", where, why);
		return -1;
	}
	return 0;
}

/* Match CRITERIA (OpenSSH 9.2): all, canonical, final, exec, host,
 * originalhost, user, localuser; '!' negates; all must hold. The exec of
 * a criterion after one that failed is not run. */
static int
match_line(struct options *o, struct file_ctx *f, char **a, int n,
    const char *where, char *err, size_t errlen)
{
	struct readconf *rc = f->rc;
	char hostbuf[1024];
	const char *host = rc->host, *crit, *target;
	bool result = true, neg;
	int i, r, attributes = 0;

	if (rc->final_pass && o->hostname != NULL)
		host = o->hostname;
	else if (o->hostname != NULL) {
		struct tokens t;

		tokens_init(&t);
		tokens_set(&t, 'h', rc->original_host);
		if (tokens_expand(o->hostname, &t, hostbuf, sizeof(hostbuf),
		    err, errlen) < 0)
			snprintf(hostbuf, sizeof(hostbuf), "%s", o->hostname);
		host = hostbuf;
	} else
		host = rc->original_host;
	for (i = 0; i < n; i++) {
		crit = a[i];
		neg = crit[0] == '!';
		crit += neg;
		if (strcasecmp(crit, "all") == 0) {
			if (attributes > 1 || i + 1 < n) {
				snprintf(err, errlen, "%s: 'all' cannot be "
				    "combined with other Match attributes",
				    where);
				return -1;
			}
			if (result)
				result = !neg;
			break;
		}
		attributes++;
		if (strcasecmp(crit, "canonical") == 0 ||
		    strcasecmp(crit, "final") == 0) {
			if (strcasecmp(crit, "final") == 0)
				rc->want_final = true;
			if (rc->final_pass == neg)
				result = false;
			continue;
		}
		if (i + 1 >= n || a[i + 1][0] == '\0') {
			snprintf(err, errlen, "%s: Match %s: missing pattern",
			    where, crit);
			return -1;
		}
		i++;
		if (strcasecmp(crit, "host") == 0)
			target = host;
		else if (strcasecmp(crit, "originalhost") == 0)
			target = rc->original_host;
		else if (strcasecmp(crit, "user") == 0)
			target = o->user ? o->user : rc->local_user;
		else if (strcasecmp(crit, "localuser") == 0)
			target = rc->local_user;
		else if (strcasecmp(crit, "exec") == 0) {
			if (!result || f->nevermatch)
				continue;
			if (exec_matches(o, rc, host, a[i], where, &r, err,
			    errlen) != 0)
				return -1;
			if (r == neg)
				result = false;
			continue;
		} else {
			snprintf(err, errlen, "%s: Unsupported Match attribute "
			    "%s", where, crit);
			return -1;
		}
		if (options_match_host(a[i], target) == neg)
			result = false;
	}
	if (attributes == 0 && n > 0 && strcasecmp(a[0] + (a[0][0] == '!'),
	    "all") != 0) {
		snprintf(err, errlen, "%s: One or more attributes required for "
		    "Match", where);
		return -1;
	}
	*f->active = result && !f->nevermatch;
	return 0;
}

/* Include PATH...: relative paths under ~/.ssh (user files) or /etc/ssh;
 * each a glob(3) pattern; files that match are read in order with this
 * block's state, which they cannot change. */
static int
include_line(struct options *o, struct file_ctx *f, char **a, int n,
    const char *where, char *err, size_t errlen)
{
	struct readconf *rc = f->rc;
	char pattern[4096], **paths = NULL, why[1024];
	size_t np = 0, j;
	bool oactive;
	int i, r = 0;

	for (i = 0; i < n && r == 0; i++) {
		if (a[i][0] == '\0') {
			snprintf(err, errlen, "%s: Include: empty argument",
			    where);
			return -1;
		}
		if (a[i][0] == '~' && !f->userconf) {
			snprintf(err, errlen, "%s: bad include path %s.",
			    where, a[i]);
			return -1;
		}
		if (a[i][0] != '/' && a[i][0] != '~')
			snprintf(pattern, sizeof(pattern), "%s/%s",
			    f->userconf ? "~/.ssh" : "/etc/ssh", a[i]);
		else
			snprintf(pattern, sizeof(pattern), "%s", a[i]);
		why[0] = '\0';
		if (rc->io->glob(rc->io->ud, pattern, &paths, &np, why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", where, why);
			return -1;
		}
		oactive = *f->active;
		for (j = 0; j < np && r == 0; j++) {
			r = read_depth(o, rc, paths[j], f->userconf, true,
			    !oactive || f->nevermatch, f->active,
			    f->depth + 1, err, errlen);
			if (r > 0)
				r = 0;	/* vanished since the glob */
			*f->active = oactive;
		}
		for (j = 0; j < np; j++)
			free(paths[j]);
		free(paths);
		paths = NULL;
		np = 0;
	}
	return r;
}

/* One line, split in place; raw is its unsplit copy. */
static int
one_split(struct options *o, struct file_ctx *f, char *line, const char *raw,
    const char *where, char *err, size_t errlen)
{
	char *w[CFGTOK_MAX_ARGS + 1], rest[CMDLINE_MAX];
	struct cfgtok_line tl;
	int r, n;

	r = cfgtok_split(line, &tl);
	if (r == CFGTOK_EMPTY)
		return 0;
	if (r == CFGTOK_NOARG) {
		snprintf(err, errlen, "%s: no argument after keyword \"%s\"",
		    where, tl.keyword);
		return -1;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", where, cfgtok_strerror(r));
		return -1;
	}
	if (strcasecmp(tl.keyword, "host") == 0)
		return host_line(f, tl.args, tl.nargs, where, err, errlen);
	if (strcasecmp(tl.keyword, "match") == 0)
		return match_line(o, f, tl.args, tl.nargs, where, err, errlen);
	if (strcasecmp(tl.keyword, "include") == 0) {
		if (f->depth >= READCONF_MAX_DEPTH) {
			snprintf(err, errlen, "%s: Too many recursive "
			    "configuration includes", where);
			return -1;
		}
		return include_line(o, f, tl.args, tl.nargs, where, err,
		    errlen);
	}
	if ((n = options_line_words(raw, &tl, w, rest, sizeof(rest))) < 0) {
		snprintf(err, errlen, "%s: %s: too long", where, tl.keyword);
		return -1;
	}
	if (*f->active)
		return options_apply_words(o, w, n, where, err, errlen);
	return options_check_words(o, w, n, where, err, errlen);
}

static int
one_line(struct options *o, struct file_ctx *f, char *line,
    const char *where, char *err, size_t errlen)
{
	char *raw;
	int r;

	if ((raw = strdup(line)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = one_split(o, f, line, raw, where, err, errlen);
	free(raw);
	return r;
}

/* The lines of one file's text. */
static int
parse_text(struct options *o, struct file_ctx *f, const char *text,
    size_t len, char *err, size_t errlen)
{
	char *line, where[600];
	size_t i = 0, j, ll;
	int lineno = 0, r = 0;

	if ((line = malloc(MAX_LINE)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (i < len && r == 0) {
		for (j = i; j < len && text[j] != '\n'; j++)
			;
		ll = j - i;
		lineno++;
		snprintf(where, sizeof(where), "%s line %d", f->fname, lineno);
		if (ll >= MAX_LINE || memchr(text + i, '\0', ll) != NULL) {
			snprintf(err, errlen, "%s: line too long or contains "
			    "a NUL byte", where);
			r = -1;
			break;
		}
		memcpy(line, text + i, ll);
		line[ll] = '\0';
		i = j + 1;
		r = one_line(o, f, line, where, err, errlen);
	}
	free(line);
	return r;
}

int
readconf_text(struct options *o, struct readconf *rc, const char *text,
    size_t len, const char *fname, bool userconf, char *err, size_t errlen)
{
	struct file_ctx f;
	bool active = true;

	memset(&f, 0, sizeof(f));
	f.rc = rc;
	f.fname = fname;
	f.userconf = userconf;
	f.active = &active;
	return parse_text(o, &f, text, len, err, errlen);
}

int
readconf_host_text(struct options *o, const char *text, size_t len,
    const char *fname, const char *host, char *err, size_t errlen)
{
	struct readconf rc;

	if (readconf_init(&rc, host, err, errlen) != 0)
		return -1;
	return readconf_text(o, &rc, text, len, fname, true, err, errlen);
}

/* A file at some Include depth, sharing the includer's block state. */
static int
read_depth(struct options *o, struct readconf *rc, const char *path,
    bool userconf, bool check_perm, bool nevermatch, bool *active, int depth,
    char *err, size_t errlen)
{
	struct file_ctx f;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (depth > READCONF_MAX_DEPTH) {
		snprintf(err, errlen, "Too many recursive configuration "
		    "includes (%s)", path);
		return -1;
	}
	if ((r = rc->io->read(rc->io->ud, path, check_perm, &text, &len, err,
	    errlen)) != 0)
		return r;
	memset(&f, 0, sizeof(f));
	f.rc = rc;
	f.fname = path;
	f.userconf = userconf;
	f.nevermatch = nevermatch;
	f.active = active;
	f.depth = depth;
	r = parse_text(o, &f, text, len, err, errlen);
	free(text);
	return r;
}

int
readconf_file(struct options *o, struct readconf *rc, const char *path,
    bool userconf, bool check_perm, bool required, char *err, size_t errlen)
{
	bool active = true;
	int r;

	r = read_depth(o, rc, path, userconf, check_perm, false, &active, 0,
	    err, errlen);
	if (r == 1 && required) {
		snprintf(err, errlen, "Can't open user config file %s: %s",
		    path, strerror(ENOENT));
		return -1;
	}
	return r < 0 ? -1 : r;
}

/* One pass over the files ssh would read. */
static int
load_pass(struct options *o, struct readconf *rc, const char *config_file,
    const char *system_file, char *err, size_t errlen)
{
	char path[4096];

	if (config_file != NULL) {
		if (strcasecmp(config_file, "none") == 0)
			return 0;
		return readconf_file(o, rc, config_file, true, false, true,
		    err, errlen) < 0 ? -1 : 0;
	}
	snprintf(path, sizeof(path), "%s/.ssh/config", rc->home);
	if (readconf_file(o, rc, path, true, true, false, err, errlen) < 0)
		return -1;
	if (system_file != NULL && readconf_file(o, rc, system_file, false,
	    false, false, err, errlen) < 0)
		return -1;
	return 0;
}

int
readconf_load(struct options *o, const char *config_file,
    const char *system_file, char *err, size_t errlen)
{
	struct readconf rc;
	char host[1024];

	if (readconf_init(&rc, o->host, err, errlen) != 0)
		return -1;
	if (load_pass(o, &rc, config_file, system_file, err, errlen) != 0)
		return -1;
	if (!rc.want_final && !sshkw_wants_final_pass(o))
		return 0;
	/* the final pass: Host and Match host see the HostName (%h expanded) */
	if (options_expand_hostname(o, host, sizeof(host), err, errlen) != 0)
		return -1;
	free(o->hostname);
	if ((o->hostname = strdup(host)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc.host = host;
	rc.final_pass = true;
	return load_pass(o, &rc, config_file, system_file, err, errlen);
}
