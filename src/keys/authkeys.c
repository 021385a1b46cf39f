/* authorized_keys lookups for ferryd: the lines of a file, which key each
 * lists (and whether ferryd takes that type), and whether a line that
 * lists the key lets it in from where and when it comes. */
#include "authkeys_int.h"

#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyfile.h"
#include "util/err.h"
#include "util/readfile.h"

#define AK_FILE_MAX	(1024 * 1024)

/* One lookup: what we search for and where problems go. */
struct ak_ctx {
	const char	*fname;
	const struct key *key;
	const char	*client_ip;
	ak_warn_fn	 warn;
	void		*ud;
	int		 lineno;
};

enum ak_ktype {
	KT_NONE,	/* not a key type: the line starts with options */
	KT_SUPPORTED,
	KT_OTHER,	/* a type sshd knows that ferryd does not take */
};

static void report(struct ak_ctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Messages end up in logs: nothing in them may pose as a new log line. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

void
ak_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(buf, len, fmt, ap);
	sanitize(buf);
}

static void
report(struct ak_ctx *c, const char *fmt, ...)
{
	char why[AK_WHY_MAX];
	va_list ap;

	if (c->warn == NULL)
		return;
	va_start(ap, fmt);
	ak_vformat(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->warn(c->ud, c->fname, c->lineno, why);
}

static bool
has_suffix(const char *t, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);

	return n >= sl && memcmp(t + n - sl, suffix, sl) == 0;
}

static bool
has_prefix(const char *t, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && memcmp(t, prefix, pl) == 0;
}

/* Whether a field is a key type: a line without options starts with one.
 * Types sshd knows (and look-alikes) are told apart from options so that
 * they are reported as unsupported, not as unknown options. */
static enum ak_ktype
classify(const char *t, size_t n)
{
	static const char *const supported[] = { "ssh-ed25519",
	    "ecdsa-sha2-nistp256", "ssh-rsa" };
	static const char *const prefixes[] = { "ssh-", "sk-", "ecdsa-",
	    "x509v3-" };
	size_t i;

	if (n == 0)
		return KT_NONE;
	for (i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		if (strlen(supported[i]) == n &&
		    memcmp(t, supported[i], n) == 0)
			return KT_SUPPORTED;
	if (memchr(t, '=', n) != NULL || memchr(t, '"', n) != NULL ||
	    memchr(t, ',', n) != NULL)
		return KT_NONE;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (has_prefix(t, n, prefixes[i]))
			return KT_OTHER;
	if (has_suffix(t, n, "@openssh.com"))
		return KT_OTHER;	/* certificates, sk-, xmss */
	return KT_NONE;
}

static size_t
field_len(const char *s, const char *end)
{
	const char *f = s;

	while (f < end && !ak_is_blank(*f))
		f++;
	return (size_t)(f - s);
}

static void
opts_reset(struct ak_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port_forwarding = true;
}

/* Checks one line (without its newline): 1 if it lists the key and lets
 * it in from client_ip now, else 0 (reasons for skipping go to warn). */
static int
check_line(struct ak_ctx *c, const char *line, size_t len,
    struct ak_opts *o)
{
	const char *s = line, *end = line + len;
	struct ak_parse p;
	struct key *k = NULL;
	char kerr[256];
	size_t tlen;
	int rc = 0;

	while (s < end && ak_is_blank(*s))
		s++;
	if (s == end || *s == '#')
		return 0;
	if (memchr(s, '\0', (size_t)(end - s)) != NULL) {
		report(c, "line contains a NUL byte");
		return 0;
	}
	opts_reset(o);
	memset(&p, 0, sizeof(p));
	p.o = o;
	tlen = field_len(s, end);
	if (classify(s, tlen) == KT_NONE) {
		if ((s = ak_parse_options(&p, s, end)) == NULL) {
			report(c, "%s", p.why);
			return 0;
		}
		while (s < end && ak_is_blank(*s))
			s++;
		tlen = field_len(s, end);
	}
	switch (classify(s, tlen)) {
	case KT_NONE:
		if (tlen == 0)
			report(c, "no key after the options");
		else
			report(c, "unknown key type '%.*s'", ak_show_len(tlen), s);
		return 0;
	case KT_OTHER:
		report(c, "unsupported key type '%.*s'", ak_show_len(tlen), s);
		return 0;
	case KT_SUPPORTED:
		break;
	}
	if (keyfile_parse_public(s, (size_t)(end - s), &k, kerr,
	    sizeof(kerr)) != 0) {
		report(c, "bad %.*s key: %s", ak_show_len(tlen), s, kerr);
		return 0;
	}
	if (!key_equal(k, c->key))
		goto out;
	if (p.has_expiry && p.expires < time(NULL)) {
		report(c, "key expired (expiry-time=\"%s\")", p.expiry);
		goto out;
	}
	if (p.has_from && !ak_match_from(o->from, c->client_ip)) {
		report(c, "from=\"%s\" does not allow %s", o->from,
		    c->client_ip ? c->client_ip : "an unknown address");
		goto out;
	}
	if (p.principals)
		report(c, "principals= ignored: certificates are not "
		    "supported");
	snprintf(o->file, sizeof(o->file), "%s", c->fname);
	o->line = c->lineno;
	rc = 1;
out:
	key_free(k);
	return rc;
}

int
ak_find_text(const char *text, size_t len, const char *fname,
    const struct key *key, const char *client_ip, struct ak_opts *opts,
    ak_warn_fn warn, void *ud)
{
	const char *p = text, *end = text + len, *nl;
	struct ak_ctx c;

	memset(&c, 0, sizeof(c));
	c.fname = fname != NULL ? fname : "";
	c.key = key;
	c.client_ip = client_ip;
	c.warn = warn;
	c.ud = ud;
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (c.lineno < INT32_MAX)
			c.lineno++;
		if (check_line(&c, p, (size_t)(nl - p), opts) == 1)
			return 1;
		p = nl + 1;
	}
	opts_reset(opts);
	return 0;
}

int
ak_find_file(const char *path, const struct key *key, const char *client_ip,
    struct ak_opts *opts, ak_warn_fn warn, void *ud, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc = -1;

	opts_reset(opts);
	/* A FIFO planted as the file must not hang the server. */
	if ((fd = readfile_open(path, READFILE_ABSENT_OK |
	    READFILE_NOTDIR_ABSENT | READFILE_NONBLOCK, &st, err,
	    errlen)) == READFILE_ABSENT)
		return 0;
	if (fd < 0)
		return -1;
	if (st.st_size > AK_FILE_MAX) {
		seterr(err, errlen, "%s: larger than 1 MiB", path);
		goto out;
	}
	if ((buf = malloc(AK_FILE_MAX + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	if (readfile_read(fd, path, buf, AK_FILE_MAX + 1, &n, err,
	    errlen) != 0)
		goto out;
	if (n > AK_FILE_MAX) {	/* it grew since fstat */
		seterr(err, errlen, "%s: larger than 1 MiB", path);
		goto out;
	}
	rc = ak_find_text(buf, n, path, key, client_ip, opts, warn, ud);
out:
	free(buf);
	close(fd);
	return rc;
}
