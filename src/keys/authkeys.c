/* authorized_keys lookups for ferryd, following sshd(8) AUTHORIZED_KEYS
 * FILE FORMAT and OpenSSH's auth-options.c for what each option means:
 * options apply in the order written, and one bad option makes the whole
 * line unusable (a half-understood restriction must not grant access). */
#include "authkeys.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "keyfile.h"
#include "util/err.h"
#include "util/hostport.h"
#include "util/match.h"
#include "util/readfile.h"

#define AK_FILE_MAX	(1024 * 1024)
#define AK_VALUE_MAX	8192	/* longest option value (sshd's old limit) */
#define AK_WHY_MAX	512
#define AK_SHOW_MAX	64	/* how much of a bad token a message quotes */

/* One lookup: what we search for and where problems go. */
struct ak_ctx {
	const char	*fname;
	const struct key *key;
	const char	*client_ip;
	ak_warn_fn	 warn;
	void		*ud;
	int		 lineno;
};

/* One line's options while they are parsed; o is the caller's result. */
struct ak_parse {
	struct ak_opts	*o;
	bool		 has_from;
	bool		 has_command;
	bool		 has_expiry;
	time_t		 expires;	/* earliest expiry-time= */
	char		 expiry[32];	/* as written, for the message */
	bool		 principals;
	char		 why[AK_WHY_MAX];
};

enum ak_ktype {
	KT_NONE,	/* not a key type: the line starts with options */
	KT_SUPPORTED,
	KT_OTHER,	/* a type sshd knows that ferryd does not take */
};

static void vformat(char *, size_t, const char *, va_list)
    __attribute__((format(printf, 3, 0)));
static void fail(struct ak_parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void report(struct ak_ctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Messages end up in logs: nothing in them may pose as a new log line. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

static void
vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(buf, len, fmt, ap);
	sanitize(buf);
}

static void
fail(struct ak_parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

static void
report(struct ak_ctx *c, const char *fmt, ...)
{
	char why[AK_WHY_MAX];
	va_list ap;

	if (c->warn == NULL)
		return;
	va_start(ap, fmt);
	vformat(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->warn(c->ud, c->fname, c->lineno, why);
}

static int
show_len(size_t n)
{
	return (int)(n > AK_SHOW_MAX ? AK_SHOW_MAX : n);
}

struct ak_addr {
	int	af;
	uint8_t	b[16];
};

/* A numeric IPv4 or IPv6 address (no names, no CIDR suffix). A client
 * address may carry an IPv6 zone ("fe80::1%eth0"), which is dropped. */
static bool
addr_parse(const char *s, size_t n, bool drop_zone, struct ak_addr *a)
{
	char buf[64], *pct;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (drop_zone && strchr(buf, ':') != NULL &&
	    (pct = strchr(buf, '%')) != NULL)
		*pct = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->b) == 1) {
		a->af = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, a->b) == 1) {
		a->af = AF_INET6;
		return true;
	}
	return false;
}

/* A client on a dual-stack socket shows up as ::ffff:a.b.c.d; sshd
 * matches it as the IPv4 address it is. Returns whether it was mapped. */
static bool
addr_unmap(struct ak_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (a->af != AF_INET6 || memcmp(a->b, mapped, sizeof(mapped)) != 0)
		return false;
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->af = AF_INET;
	return true;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rem = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rem == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rem));
	return (a[full] & mask) == (b[full] & mask);
}

/* "10.0.0.1/8" names no network: as in OpenSSH's addr_pton_cidr(), bits
 * set past the prefix make the pattern invalid. */
static bool
host_bits_zero(const struct ak_addr *a, unsigned bits)
{
	unsigned total = a->af == AF_INET ? 32 : 128, i;

	for (i = bits; i < total; i++)
		if (a->b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* One from= entry (without '!'): 1 match, 0 none, -1 invalid. An entry
 * that is an address or addr/len is compared numerically; anything else
 * is a wildcard pattern on the address text (names are never resolved). */
static int
entry_match(const char *e, size_t n, const struct ak_addr *ca,
    bool have_ca, const char *ipstr)
{
	const char *slash = memchr(e, '/', n), *m;
	struct ak_addr pa;
	unsigned bits = 0, max;
	size_t i, mlen;

	if (!addr_parse(e, slash ? (size_t)(slash - e) : n, false, &pa))
		return match_glob(e, n, ipstr);
	max = pa.af == AF_INET ? 32 : 128;
	if (slash == NULL)
		bits = max;
	else {
		m = slash + 1;
		mlen = (size_t)(e + n - m);
		if (mlen == 0 || mlen > 3)
			return -1;
		for (i = 0; i < mlen; i++) {
			if (!isdigit((unsigned char)m[i]))
				return -1;
			bits = bits * 10 + (unsigned)(m[i] - '0');
		}
		if (bits > max || !host_bits_zero(&pa, bits))
			return -1;
	}
	return have_ca && ca->af == pa.af && prefix_equal(ca->b, pa.b, bits);
}

bool
ak_match_from(const char *patterns, const char *client_ip)
{
	const char *p, *comma, *ipstr;
	char mapped[INET_ADDRSTRLEN];
	struct ak_addr ca;
	bool have_ca, neg, found = false;
	size_t n;
	int r;

	if (patterns == NULL || client_ip == NULL)
		return false;
	ipstr = client_ip;
	have_ca = addr_parse(client_ip, strlen(client_ip), true, &ca);
	if (have_ca && addr_unmap(&ca) &&
	    inet_ntop(AF_INET, ca.b, mapped, sizeof(mapped)) != NULL)
		ipstr = mapped;
	for (p = patterns;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if ((neg = n > 0 && *p == '!')) {
			p++;
			n--;
		}
		/* An empty or invalid entry makes the whole list deny, as
		 * OpenSSH's addr_match_list() does. */
		if (n == 0 || (r = entry_match(p, n, &ca, have_ca, ipstr)) < 0)
			return false;
		if (r == 1) {
			if (neg)
				return false;	/* a negated match vetoes */
			found = true;
		}
		if (comma == NULL)
			return found;
	}
}

/* Copies a double-quoted value starting at s (on the '"'), turning \" into
 * ". Returns the position after the closing quote, or NULL with why. */
static const char *
dequote(struct ak_parse *p, const char *name, const char *s,
    const char *end, char *out, size_t outlen)
{
	size_t n = 0;

	for (s++; s < end && *s != '"'; s++) {
		if (*s == '\\' && s + 1 < end && s[1] == '"')
			s++;
		if (n + 1 >= outlen) {
			fail(p, "%s: value too long", name);
			return NULL;
		}
		out[n++] = *s;
	}
	if (s >= end) {
		fail(p, "%s: missing closing quote", name);
		return NULL;
	}
	out[n] = '\0';
	return s + 1;
}

static int
opt_restrict(struct ak_parse *p, bool on, const char *v)
{
	p->o->port_forwarding = false;
	p->o->restricted = true;
	return 0;
}

static int
opt_port_forwarding(struct ak_parse *p, bool on, const char *v)
{
	p->o->port_forwarding = on;
	return 0;
}

/* pty, agent and X11 forwarding, ~/.ssh/rc, FIDO flags and tunnel=: there
 * is nothing in ferryd they could allow or forbid. */
static int
opt_harmless(struct ak_parse *p, bool on, const char *v)
{
	return 0;
}

static int
opt_cert_authority(struct ak_parse *p, bool on, const char *v)
{
	fail(p, "cert-authority: certificates are not supported");
	return -1;
}

/* ferryd runs no commands; like sshd it still allows forwarding with a
 * forced command unless no-port-forwarding or restrict says otherwise. */
static int
opt_command(struct ak_parse *p, bool on, const char *v)
{
	if (p->has_command) {
		fail(p, "command: given more than once");
		return -1;
	}
	p->has_command = true;
	return 0;
}

static int
opt_environment(struct ak_parse *p, bool on, const char *v)
{
	const char *s;

	for (s = v; isalnum((unsigned char)*s) || *s == '_'; s++)
		;
	if (s == v || *s != '=') {
		fail(p, "environment: bad value '%.*s' (NAME=value)",
		    show_len(strlen(v)), v);
		return -1;
	}
	return 0;
}

static int
days_in_month(int year, int mon)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : days[mon - 1];
}

static int
digits(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* YYYYMMDD[HHMM[SS]][Z]: system time zone unless Z says UTC (sshd(8)). */
static int
parse_expiry(const char *s, time_t *out)
{
	size_t n = strlen(s), i;
	struct tm tm;
	bool utc = false;

	if (n > 0 && (s[n - 1] == 'Z' || s[n - 1] == 'z')) {
		utc = true;
		n--;
	}
	if (n != 8 && n != 12 && n != 14)
		return -1;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 4, 2) - 1;
	tm.tm_mday = digits(s + 6, 2);
	if (n >= 12) {
		tm.tm_hour = digits(s + 8, 2);
		tm.tm_min = digits(s + 10, 2);
	}
	if (n == 14)
		tm.tm_sec = digits(s + 12, 2);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > days_in_month(tm.tm_year + 1900, tm.tm_mon + 1) ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -1;
	if (utc)
		*out = timegm(&tm);
	else {
		tm.tm_isdst = -1;
		*out = mktime(&tm);
	}
	return 0;
}

static int
opt_expiry(struct ak_parse *p, bool on, const char *v)
{
	time_t t;

	if (parse_expiry(v, &t) != 0) {
		fail(p, "expiry-time: bad time '%.*s' "
		    "(YYYYMMDD[HHMM[SS]][Z])", show_len(strlen(v)), v);
		return -1;
	}
	/* Several expiry-time= options: the earliest one counts (sshd). */
	if (!p->has_expiry || t < p->expires) {
		p->has_expiry = true;
		p->expires = t;
		snprintf(p->expiry, sizeof(p->expiry), "%s", v);
	}
	return 0;
}

static int
opt_from(struct ak_parse *p, bool on, const char *v)
{
	if (p->has_from) {
		fail(p, "from: given more than once");
		return -1;
	}
	if (strlen(v) >= sizeof(p->o->from)) {
		fail(p, "from: pattern list too long (max %zu)",
		    sizeof(p->o->from) - 1);
		return -1;
	}
	p->has_from = true;
	snprintf(p->o->from, sizeof(p->o->from), "%s", v);
	return 0;
}

/* permitopen="host:port" and permitlisten="[host:]port" (a bare port
 * listens on any host, as sshd reads it); [v6] in brackets, port "*". */
static int
add_permit(struct ak_parse *p, bool listen, const char *v)
{
	const char *name = listen ? "permitlisten" : "permitopen";
	struct ak_permit *arr = listen ? p->o->listen : p->o->open;
	int *np = listen ? &p->o->nlisten : &p->o->nopen;
	enum hostport_err r;
	const char *host;
	size_t hlen;
	int port;

	if (*np >= AK_MAX_PERMITS) {
		fail(p, "%s: too many (max %d)", name, AK_MAX_PERMITS);
		return -1;
	}
	if ((r = hostport_split(v, listen, &host, &hlen, &port)) ==
	    HP_BAD_BRACKET) {
		fail(p, "%s: bad value '%.*s' ([address]:port)", name,
		    show_len(strlen(v)), v);
		return -1;
	}
	if (r == HP_NO_PORT) {
		fail(p, "%s: missing port in '%.*s' (host:port)", name,
		    show_len(strlen(v)), v);
		return -1;
	}
	if (hlen == 0) {
		fail(p, "%s: missing host in '%.*s'", name,
		    show_len(strlen(v)), v);
		return -1;
	}
	if (hlen >= sizeof(arr->host)) {
		fail(p, "%s: host name too long (max %zu)", name,
		    sizeof(arr->host) - 1);
		return -1;
	}
	if (r == HP_BAD_PORT) {
		fail(p, "%s: bad port in '%.*s'", name, show_len(strlen(v)), v);
		return -1;
	}
	memcpy(arr[*np].host, host, hlen);
	arr[*np].host[hlen] = '\0';
	arr[*np].port = port;
	(*np)++;
	return 0;
}

static int
opt_permitopen(struct ak_parse *p, bool on, const char *v)
{
	return add_permit(p, false, v);
}

static int
opt_permitlisten(struct ak_parse *p, bool on, const char *v)
{
	return add_permit(p, true, v);
}

/* Only meaningful on cert-authority lines, which ferryd skips anyway;
 * the line stays usable and the caller hears about it. */
static int
opt_principals(struct ak_parse *p, bool on, const char *v)
{
	p->principals = true;
	return 0;
}

typedef int (*ak_opt_fn)(struct ak_parse *, bool on, const char *value);

static const struct ak_option {
	const char	*name;
	bool		 value;		/* takes ="..." */
	bool		 negatable;	/* "no-" + name clears it */
	ak_opt_fn	 fn;
} ak_options[] = {
	{ "agent-forwarding", false, true, opt_harmless },
	{ "cert-authority", false, false, opt_cert_authority },
	{ "command", true, false, opt_command },
	{ "environment", true, false, opt_environment },
	{ "expiry-time", true, false, opt_expiry },
	{ "from", true, false, opt_from },
	{ "permitlisten", true, false, opt_permitlisten },
	{ "permitopen", true, false, opt_permitopen },
	{ "port-forwarding", false, true, opt_port_forwarding },
	{ "principals", true, false, opt_principals },
	{ "pty", false, true, opt_harmless },
	{ "restrict", false, false, opt_restrict },
	{ "touch-required", false, true, opt_harmless },
	{ "tunnel", true, false, opt_harmless },
	{ "user-rc", false, true, opt_harmless },
	{ "verify-required", false, true, opt_harmless },
	{ "x11-forwarding", false, true, opt_harmless },
};

static const struct ak_option *
option_find(const char *name, size_t n, bool *on)
{
	size_t i;
	bool neg = n > 3 && strncasecmp(name, "no-", 3) == 0;
	const char *base = neg ? name + 3 : name;
	size_t blen = neg ? n - 3 : n;

	*on = !neg;
	for (i = 0; i < sizeof(ak_options) / sizeof(ak_options[0]); i++) {
		const struct ak_option *o = &ak_options[i];

		if (strlen(o->name) == blen &&
		    strncasecmp(o->name, base, blen) == 0 &&
		    (!neg || o->negatable))
			return o;
	}
	return NULL;
}

/* Parses the comma-separated options at s. Returns where they end (at a
 * blank or the end of the line), or NULL with p->why. */
static const char *
parse_options(struct ak_parse *p, const char *s, const char *end)
{
	const struct ak_option *opt;
	const char *name;
	char val[AK_VALUE_MAX];
	size_t nlen;
	bool on;

	for (;;) {
		name = s;
		while (s < end && *s != '=' && *s != ',' && !is_blank(*s))
			s++;
		nlen = (size_t)(s - name);
		if (nlen == 0) {
			fail(p, "empty option (a stray comma?)");
			return NULL;
		}
		if ((opt = option_find(name, nlen, &on)) == NULL) {
			fail(p, "unknown option '%.*s'", show_len(nlen), name);
			return NULL;
		}
		if (s < end && *s == '=') {
			if (!opt->value) {
				fail(p, "%s takes no value", opt->name);
				return NULL;
			}
			if (++s >= end || *s != '"') {
				fail(p, "%s: value must be in double quotes",
				    opt->name);
				return NULL;
			}
			if ((s = dequote(p, opt->name, s, end, val,
			    sizeof(val))) == NULL)
				return NULL;
		} else if (opt->value) {
			fail(p, "%s needs a value (%s=\"...\")", opt->name,
			    opt->name);
			return NULL;
		}
		if (opt->fn(p, on, opt->value ? val : NULL) != 0)
			return NULL;
		if (s >= end || is_blank(*s))
			break;
		if (*s != ',') {
			fail(p, "unexpected '%c' after %s", *s, opt->name);
			return NULL;
		}
		s++;
	}
	return s;
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

	while (f < end && !is_blank(*f))
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

	while (s < end && is_blank(*s))
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
		if ((s = parse_options(&p, s, end)) == NULL) {
			report(c, "%s", p.why);
			return 0;
		}
		while (s < end && is_blank(*s))
			s++;
		tlen = field_len(s, end);
	}
	switch (classify(s, tlen)) {
	case KT_NONE:
		if (tlen == 0)
			report(c, "no key after the options");
		else
			report(c, "unknown key type '%.*s'", show_len(tlen), s);
		return 0;
	case KT_OTHER:
		report(c, "unsupported key type '%.*s'", show_len(tlen), s);
		return 0;
	case KT_SUPPORTED:
		break;
	}
	if (keyfile_parse_public(s, (size_t)(end - s), &k, kerr,
	    sizeof(kerr)) != 0) {
		report(c, "bad %.*s key: %s", show_len(tlen), s, kerr);
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
