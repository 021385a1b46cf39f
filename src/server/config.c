/* ferryd's configuration: sshd_config(5) lines read from -o and files,
 * each applied through the keyword table (config_kw.c) with sshd's rule
 * that the first value obtained for a keyword wins. */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_kw.h"
#include "util/cfgtok.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_CONFIG_SIZE	(1024 * 1024)
#define MAX_LINE	8192

void
server_config_init(struct server_config *c)
{
	memset(c, 0, sizeof(*c));
	sc_fields_unset(c);
	c->npermit_open = FWD_PERMIT_UNSET;
	c->npermit_listen = FWD_PERMIT_UNSET;
	c->max_startups_begin = SC_UNSET;
	c->cluster_port_low = SC_UNSET;
	c->max_startups_rate = SC_UNSET;
	c->max_startups_full = SC_UNSET;
	c->per_source_max_startups = SC_UNSET;
	c->nchan_timeouts = SC_UNSET;
	c->unused_connection_timeout = SC_UNSET;
	c->per_source_v4_bits = SC_UNSET;
	c->per_source_v6_bits = SC_UNSET;
	c->cur_match = -1;
}

void
server_config_free(struct server_config *c)
{
	int i;

	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	for (i = 0; i < c->nhostkeys; i++)
		free(c->hostkeys[i]);
	for (i = 0; i < c->nhostcerts; i++)
		free(c->hostcerts[i]);
	for (i = 0; i < c->nauthorized_keys; i++)
		free(c->authorized_keys[i]);
	for (i = 0; i < c->nallow_users; i++)
		free(c->allow_users[i]);
	for (i = 0; i < c->ndeny_users; i++)
		free(c->deny_users[i]);
	for (i = 0; i < c->akc_argc; i++)
		free(c->akc_argv[i]);
	for (i = 0; i < c->apc_argc; i++)
		free(c->apc_argv[i]);
	sc_fields_free(c);
	free(c->algs_left_out);
	free(c->banner_text);
	sc_match_free(c);
	memset(c, 0, sizeof(*c));
}

/* Messages quote what the file says: no control characters in them. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

/* A Match line starts a block, read to the next Match line or the end of
 * its file; -o cannot start one (sshd's rule). */
static int
match_line(struct server_config *c, char **w, int n, const char *where,
    bool cmdline, char *err, size_t errlen)
{
	char why[1024];

	if (cmdline) {
		seterr(err, errlen, "%s: Match is not supported as a "
		    "command-line option", where);
		return -1;
	}
	why[0] = '\0';
	if (sc_match_begin(c, where, w + 1, n - 1, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s: %s", where, why[0] ? why :
		    "out of memory");
		return -1;
	}
	return 0;
}

static int
apply_words(struct server_config *c, char **w, int n, const char *where,
    bool cmdline, char *err, size_t errlen)
{
	const struct sc_keyword *kw;
	struct server_config *to;
	char why[1024];
	int i;

	if (strcasecmp(w[0], "Match") == 0)
		return match_line(c, w, n, where, cmdline, err, errlen);
	if ((kw = sc_keyword_find(w[0])) == NULL) {
		seterr(err, errlen, "%s: Bad configuration option: %s", where,
		    w[0]);
		return -1;
	}
	if (n - 1 < kw->min_args || n - 1 > kw->max_args) {
		seterr(err, errlen, "%s: %s: %s", where, kw->name,
		    n - 1 < kw->min_args ? "missing argument" :
		    "too many arguments");
		return -1;
	}
	for (i = 1; i < n; i++)
		if (w[i][0] == '\0') {
			seterr(err, errlen, "%s: %s: empty argument", where,
			    kw->name);
			return -1;
		}
	why[0] = '\0';
	if ((to = sc_match_target(c, kw, why, sizeof(why))) == NULL) {
		seterr(err, errlen, "%s: %s", where, why);
		return -1;
	}
	if (sc_keyword_set(to, kw, w + 1, n - 1, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s: %s", where, why[0] ? why :
		    "out of memory");
		return -1;
	}
	return 0;
}

/* One included file. An error also names the outermost Include line
 * that led to it (before the error's own file and line). */
static int
include_file(struct server_config *c, const char *path, const char *where,
    char *err, size_t errlen)
{
	char why[1024];

	if (server_config_file(c, path, true, why, sizeof(why)) == 0)
		return 0;
	if (c->include_depth == 1)
		seterr(err, errlen, "%s: %s", where, why);
	else
		seterr(err, errlen, "%s", why);
	return -1;
}

/* Include: each file a glob(7) pattern names, in order, read where the
 * line stands; a relative pattern is under /etc/ssh, as in sshd; a
 * pattern matching nothing is no error. */
static int
include_line(struct server_config *c, char **a, int n, const char *where,
    char *err, size_t errlen)
{
	char pat[PATH_MAX];
	glob_t g;
	size_t k;
	int i, r = 0;

	if (n == 0) {
		seterr(err, errlen, "%s: Include: missing argument", where);
		return -1;
	}
	if (c->include_depth >= SC_MAX_INCLUDE_DEPTH) {
		seterr(err, errlen, "%s: Include: too many recursive "
		    "configuration includes", where);
		return -1;
	}
	c->include_depth++;
	for (i = 0; i < n && r == 0; i++) {
		snprintf(pat, sizeof(pat), "%s%s", a[i][0] == '/' ? "" :
		    SSHD_INCLUDE_DIR "/", a[i]);
		switch (glob(pat, 0, NULL, &g)) {
		case 0:
			for (k = 0; k < g.gl_pathc && r == 0; k++)
				r = include_file(c, g.gl_pathv[k], where, err,
				    errlen);
			globfree(&g);
			break;
		case GLOB_NOMATCH:
			log_debug("%s: Include %s matches no file", where,
			    pat);
			break;
		default:
			seterr(err, errlen, "%s: Include %s: cannot read the "
			    "directory", where, pat);
			r = -1;
			break;
		}
	}
	c->include_depth--;
	return r;
}

/* Applies one line held in a writable buffer. */
static int
apply_buf(struct server_config *c, char *line, const char *where,
    bool cmdline, char *err, size_t errlen)
{
	struct cfgtok_line tl;
	char *w[CFGTOK_MAX_ARGS + 1];
	int n, r;

	/* sshd_config's quoting is ssh_config's (argv_split) */
	switch (cfgtok_split(line, &tl)) {
	case CFGTOK_QUOTES:
		seterr(err, errlen, "%s: missing closing quote", where);
		return -1;
	case CFGTOK_TOOMANY:
		seterr(err, errlen, "%s: too many words (max %d)", where,
		    CFGTOK_MAX_ARGS);
		return -1;
	case CFGTOK_EMPTY:
		return 0;
	default:	/* a line, or a keyword alone (missing argument) */
		break;
	}
	if (strcasecmp(tl.keyword, "Include") == 0)
		return include_line(c, tl.args, tl.nargs, where, err, errlen);
	w[0] = tl.keyword;
	for (n = 0; n < tl.nargs; n++)
		w[n + 1] = tl.args[n];
	n++;
	r = apply_words(c, w, n, where, cmdline, err, errlen);
	if (r != 0 && err != NULL && errlen > 0)
		sanitize(err);
	return r;
}

int
server_config_line(struct server_config *c, const char *line,
    const char *where, char *err, size_t errlen)
{
	char *copy;
	int r;

	if ((copy = strdup(line)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	r = apply_buf(c, copy, where, true, err, errlen);
	free(copy);
	return r;
}

int
server_config_text(struct server_config *c, const char *text, size_t len,
    const char *fname, char *err, size_t errlen)
{
	char line[MAX_LINE], where[600];
	size_t i = 0, j, ll;
	int lineno = 0, outer = c->cur_match;

	/* a Match block ends with its file: an included file's blocks leave
	 * the including file's lines where they were (sshd's rule) */
	while (i < len) {
		for (j = i; j < len && text[j] != '\n'; j++)
			;
		ll = j - i;
		lineno++;
		snprintf(where, sizeof(where), "%s line %d", fname, lineno);
		if (ll >= sizeof(line) || memchr(text + i, '\0', ll) != NULL) {
			seterr(err, errlen, "%s: line too long or contains "
			    "a NUL byte", where);
			c->cur_match = outer;
			return -1;
		}
		memcpy(line, text + i, ll);
		line[ll] = '\0';
		i = j + 1;
		if (apply_buf(c, line, where, false, err, errlen) != 0) {
			c->cur_match = outer;
			return -1;
		}
	}
	c->cur_match = outer;
	return 0;
}

int
server_config_file(struct server_config *c, const char *path, bool required,
    char *err, size_t errlen)
{
	FILE *fp;
	char *buf;
	size_t n;
	int r;

	if ((fp = fopen(path, "r")) == NULL) {
		if (!required && errno == ENOENT)
			return 0;
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(MAX_CONFIG_SIZE)) == NULL) {
		fclose(fp);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	n = fread(buf, 1, MAX_CONFIG_SIZE, fp);
	if (ferror(fp)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		r = -1;
	} else if (n == MAX_CONFIG_SIZE) {
		seterr(err, errlen, "%s: config file too large (max 1 MiB)",
		    path);
		r = -1;
	} else
		r = server_config_text(c, buf, n, path, err, errlen);
	free(buf);
	fclose(fp);
	return r;
}

void
server_config_log_notes(const struct server_config *c)
{
	int i;
	const char *p, *nl;

	for (i = 0; i < c->nnoeffect; i++)
		log_verbose("%s has no effect in ferryd", c->noeffect[i]);
	for (p = c->algs_left_out; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		log_verbose("%.*s: not implemented by ferryd, left out",
		    (int)(nl - p), p);
	}
	for (i = 0; i < c->nmatch; i++)
		server_config_log_notes(server_config_match_cfg(c, i));
}
