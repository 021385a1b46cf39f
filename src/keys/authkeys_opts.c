/* authorized_keys options (sshd(8) AUTHORIZED_KEYS FILE FORMAT, OpenSSH's
 * auth-options.c for what each means): applied in the order written, one
 * table row each; one bad option makes the whole line unusable (a
 * half-understood restriction must not grant access). */
#include "authkeys_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/hostport.h"

#define AK_VALUE_MAX	8192	/* longest option value (sshd's old limit) */

static void fail(struct ak_parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct ak_parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ak_vformat(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
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
	p->cert_authority = true;
	return 0;
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
		    ak_show_len(strlen(v)), v);
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
		    "(YYYYMMDD[HHMM[SS]][Z])", ak_show_len(strlen(v)), v);
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
		    ak_show_len(strlen(v)), v);
		return -1;
	}
	if (r == HP_NO_PORT) {
		fail(p, "%s: missing port in '%.*s' (host:port)", name,
		    ak_show_len(strlen(v)), v);
		return -1;
	}
	if (hlen == 0) {
		fail(p, "%s: missing host in '%.*s'", name,
		    ak_show_len(strlen(v)), v);
		return -1;
	}
	if (hlen >= sizeof(arr->host)) {
		fail(p, "%s: host name too long (max %zu)", name,
		    sizeof(arr->host) - 1);
		return -1;
	}
	if (r == HP_BAD_PORT) {
		fail(p, "%s: bad port in '%.*s'", name, ak_show_len(strlen(v)), v);
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

/* The names a cert-authority line's certificates may log in under. */
static int
opt_principals(struct ak_parse *p, bool on, const char *v)
{
	if (p->principals) {
		fail(p, "principals: given more than once");
		return -1;
	}
	if (strlen(v) >= sizeof(p->o->principals)) {
		fail(p, "principals: list too long (max %zu)",
		    sizeof(p->o->principals) - 1);
		return -1;
	}
	p->principals = true;
	snprintf(p->o->principals, sizeof(p->o->principals), "%s", v);
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

const char *
ak_parse_options(struct ak_parse *p, const char *s, const char *end)
{
	const struct ak_option *opt;
	const char *name;
	char val[AK_VALUE_MAX];
	size_t nlen;
	bool on;

	for (;;) {
		name = s;
		while (s < end && *s != '=' && *s != ',' && !ak_is_blank(*s))
			s++;
		nlen = (size_t)(s - name);
		if (nlen == 0) {
			fail(p, "empty option (a stray comma?)");
			return NULL;
		}
		if ((opt = option_find(name, nlen, &on)) == NULL) {
			fail(p, "unknown option '%.*s'", ak_show_len(nlen), name);
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
		if (s >= end || ak_is_blank(*s))
			break;
		if (*s != ',') {
			fail(p, "unexpected '%c' after %s", *s, opt->name);
			return NULL;
		}
		s++;
	}
	return s;
}
