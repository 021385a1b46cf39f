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

#include "cert.h"
#include "keyfile.h"
#include "util/err.h"
#include "util/readfile.h"

#define AK_FILE_MAX	(1024 * 1024)

enum ak_ktype {
	KT_NONE,	/* not a key type: the line starts with options */
	KT_SUPPORTED,
	KT_OTHER,	/* a type sshd knows that ferryd does not take */
};

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

void
ak_report(struct ak_ctx *c, const char *fmt, ...)
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

void
ak_opts_reset(struct ak_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port_forwarding = true;
}

bool
ak_line_allows(struct ak_ctx *c, const struct ak_parse *p)
{
	if (p->has_expiry && p->expires < time(NULL)) {
		ak_report(c, "key expired (expiry-time=\"%s\")", p->expiry);
		return false;
	}
	if (p->has_from && !ak_match_from(p->o->from, c->client_ip)) {
		ak_report(c, "from=\"%s\" does not allow %s", p->o->from,
		    c->client_ip ? c->client_ip : "an unknown address");
		return false;
	}
	return true;
}

bool
ak_principal_listed(const char *list, const struct cert *c)
{
	const char *s = list, *e;
	size_t n;
	int i;

	while (*s != '\0') {
		e = strchr(s, ',');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		for (i = 0; i < c->nprincipals; i++)
			if (strlen(c->principals[i]) == n &&
			    memcmp(c->principals[i], s, n) == 0)
				return true;
		s += n;
		if (*s == ',')
			s++;
	}
	return false;
}

/* Whether the user name is one of c's principals. */
static bool
user_listed(const struct cert *c, const char *user)
{
	int i;

	for (i = 0; user != NULL && i < c->nprincipals; i++)
		if (strcmp(c->principals[i], user) == 0)
			return true;
	return false;
}

/* Whether the line's key k lets in what is looked for: the key itself on
 * a plain line, the certificate's CA on a cert-authority line whose
 * principals= (or the user name) a principal of the certificate meets. */
static bool
key_matches(struct ak_ctx *c, const struct ak_parse *p, const struct key *k)
{
	if (!key_equal(k, c->key))
		return false;
	if (c->cert == NULL) {
		if (p->cert_authority)
			ak_report(c, "cert-authority: the key offered is not a "
			    "certificate");
		return !p->cert_authority;
	}
	if (!p->cert_authority)
		return false;	/* a CA key listed as a plain key */
	if (p->principals ? !ak_principal_listed(p->o->principals, c->cert) :
	    !user_listed(c->cert, c->user)) {
		ak_report(c, "certificate principals do not match %s%s%s",
		    p->principals ? "principals=\"" : "user ",
		    p->principals ? p->o->principals : c->user,
		    p->principals ? "\"" : "");
		return false;
	}
	return true;
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
		ak_report(c, "line contains a NUL byte");
		return 0;
	}
	ak_opts_reset(o);
	memset(&p, 0, sizeof(p));
	p.o = o;
	tlen = field_len(s, end);
	if (classify(s, tlen) == KT_NONE) {
		if ((s = ak_parse_options(&p, s, end)) == NULL) {
			ak_report(c, "%s", p.why);
			return 0;
		}
		while (s < end && ak_is_blank(*s))
			s++;
		tlen = field_len(s, end);
	}
	switch (classify(s, tlen)) {
	case KT_NONE:
		if (tlen == 0)
			ak_report(c, "no key after the options");
		else
			ak_report(c, "unknown key type '%.*s'", ak_show_len(tlen), s);
		return 0;
	case KT_OTHER:
		ak_report(c, "unsupported key type '%.*s'", ak_show_len(tlen), s);
		return 0;
	case KT_SUPPORTED:
		break;
	}
	if (keyfile_parse_public(s, (size_t)(end - s), &k, kerr,
	    sizeof(kerr)) != 0) {
		ak_report(c, "bad %.*s key: %s", ak_show_len(tlen), s, kerr);
		return 0;
	}
	if (!key_matches(c, &p, k) || !ak_line_allows(c, &p))
		goto out;
	if (p.principals && !p.cert_authority)
		ak_report(c, "principals= ignored: it applies to cert-authority "
		    "lines only");
	snprintf(o->file, sizeof(o->file), "%s", c->fname);
	o->line = c->lineno;
	rc = 1;
out:
	key_free(k);
	return rc;
}

int
ak_scan_text(struct ak_ctx *c, const char *text, size_t len,
    struct ak_opts *o, ak_line_fn fn)
{
	const char *p = text, *end = text + len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (c->lineno < INT32_MAX)
			c->lineno++;
		if (fn(c, p, (size_t)(nl - p), o) == 1)
			return 1;
		p = nl + 1;
	}
	ak_opts_reset(o);
	return 0;
}

static void
ctx_init(struct ak_ctx *c, const char *fname, const struct key *key,
    const struct cert *cert, const char *user, const char *client_ip,
    ak_warn_fn warn, void *ud)
{
	memset(c, 0, sizeof(*c));
	c->fname = fname != NULL ? fname : "";
	c->key = key;
	c->cert = cert;
	c->user = user;
	c->client_ip = client_ip;
	c->warn = warn;
	c->ud = ud;
}

int
ak_find_text(const char *text, size_t len, const char *fname,
    const struct key *key, const char *client_ip, struct ak_opts *opts,
    ak_warn_fn warn, void *ud)
{
	struct ak_ctx c;

	ctx_init(&c, fname, key, NULL, NULL, client_ip, warn, ud);
	return ak_scan_text(&c, text, len, opts, check_line);
}

int
ak_find_ca_text(const char *text, size_t len, const char *fname,
    const struct cert *cert, const char *user, const char *client_ip,
    struct ak_opts *opts, ak_warn_fn warn, void *ud)
{
	struct ak_ctx c;

	ctx_init(&c, fname, cert->ca, cert, user, client_ip, warn, ud);
	return ak_scan_text(&c, text, len, opts, check_line);
}

int
ak_scan_file(struct ak_ctx *c, const char *path, struct ak_opts *opts,
    ak_line_fn fn, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc = -1;

	ak_opts_reset(opts);
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
	c->fname = path;
	rc = ak_scan_text(c, buf, n, opts, fn);
out:
	free(buf);
	close(fd);
	return rc;
}

int
ak_find_file(const char *path, const struct key *key, const char *client_ip,
    struct ak_opts *opts, ak_warn_fn warn, void *ud, char *err,
    size_t errlen)
{
	struct ak_ctx c;

	ctx_init(&c, path, key, NULL, NULL, client_ip, warn, ud);
	return ak_scan_file(&c, path, opts, check_line, err, errlen);
}

int
ak_find_ca_file(const char *path, const struct cert *cert, const char *user,
    const char *client_ip, struct ak_opts *opts, ak_warn_fn warn, void *ud,
    char *err, size_t errlen)
{
	struct ak_ctx c;

	ctx_init(&c, path, cert->ca, cert, user, client_ip, warn, ud);
	return ak_scan_file(&c, path, opts, check_line, err, errlen);
}
