/* ferry's ssh_config keywords: the table, and what each keyword does with
 * its arguments. A value is checked even when an earlier one won; only
 * the first value obtained is stored. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/jump.h"
#include "client/sshkw.h"
#include "ssh/alglist.h"
#include "util/cfgtok.h"
#include "util/cfgval.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
/* The field of o a keyword's table entry names. */
#define FIELD(o, kw, type)	((type *)(void *)((char *)(o) + (kw)->field))
#define F(name)		offsetof(struct options, name)

struct keyword;
typedef int (*kw_fn)(struct options *, const struct keyword *, char **args,
    int nargs, char *err, size_t errlen);

/* One keyword: fn is given min_args to max_args arguments; field (an
 * offset into struct options) and arg tell the shared handlers what to
 * fill and how. */
struct keyword {
	const char	*name;
	kw_fn		 fn;
	int		 min_args;
	int		 max_args;
	size_t		 field;
	const void	*arg;
};

/* The values of a keyword that takes a word (kw_choice), and what its
 * message says of any other: "<pre><keyword><mid> 'value'". The words
 * are util/cfgval's, as ferryd's are. */
struct choices {
	const struct cfgval_word *v;
	size_t		 n;
	const char	*pre;
	const char	*mid;
};

/* An algorithm list (optalgs.c): its vocabulary, and whether ssh takes
 * patterns in it. */
struct alg_kw {
	const struct alg_kind *kind;
	bool		 patterns;
};

/* LocalForward, RemoteForward, DynamicForward. */
struct fwd_kw {
	enum fwd_kind	 kind;
	int		 min_args;
	int		 max_args;
	const char	*usage;
};

/* A number keyword (kw_number): how it is written, its range, whether
 * "none" means 0, and what a message says of a bad value. */
enum num_form {
	NUM_DECIMAL,
	NUM_OCTAL,
	NUM_SECONDS,	/* ssh's time format: 30, 1m30s */
};
struct number_kw {
	enum num_form	 form;
	long		 min;
	long		 max;
	bool		 none_is_zero;
	const char	*bad;
};

/* Stores v in an unset (negative) field. */
static void
set_int(int *field, long v)
{
	if (*field < 0)
		*field = (int)v;
}

/* Stores a copy of v in an unset field; -1 if out of memory. */
static int
set_str(char **field, const char *v)
{
	if (*field == NULL && (*field = strdup(v)) == NULL)
		return -1;
	return 0;
}

/* v, all of it, as a number of form from min to max. */
static int
parse_number(const char *v, enum num_form form, long min, long max,
    long *out)
{
	int x;

	if ((form == NUM_SECONDS ? cfgval_time(v, &x) : form == NUM_OCTAL ?
	    cfgval_octal_mask(v, &x) : cfgval_uint(v, min, max, &x)) != 0 ||
	    x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

/* A byte count with an optional K/M/G suffix (RekeyLimit). */
static int
parse_size(const char *v, int64_t *out)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: break;
	}
	if (n > (unsigned long long)INT64_MAX >> shift)
		return -1;
	n <<= shift;
	if (*end != '\0' || n < 16 || n > INT64_MAX)
		return -1;
	*out = (int64_t)n;
	return 0;
}

/* A keyword whose value is one of a few words, into a field of
 * struct options_parsed. */
static int
kw_choice(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	const struct choices *c = kw->arg;
	int *field = FIELD(o, kw, int), v;

	if (cfgval_word(c->v, c->n, a[0], &v) == 0) {
		if (*field == OPT_UNSET)
			*field = v;
		return 0;
	}
	snprintf(err, errlen, "%s%s%s '%s'", c->pre, kw->name, c->mid, a[0]);
	return -1;
}

/* A number into an int field of struct options. */
static int
kw_number(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	const struct number_kw *nk = kw->arg;
	long v = 0;

	if ((!nk->none_is_zero || strcasecmp(a[0], "none") != 0) &&
	    parse_number(a[0], nk->form, nk->min, nk->max, &v) != 0) {
		snprintf(err, errlen, "%s '%s'", nk->bad, a[0]);
		return -1;
	}
	set_int(FIELD(o, kw, int), v);
	return 0;
}

/* A string kept as written (paths are expanded by options_finish). */
static int
kw_string(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	return set_str(FIELD(o, kw, char *), a[0]);
}

/* ProxyCommand and ProxyJump compete: whichever is obtained first keeps
 * the other from taking effect (ssh_config(5)); as in ssh, "ProxyCommand
 * none" keeps a later ProxyJump out, "ProxyJump none" lets a later
 * ProxyCommand in. */
static int
kw_proxy_command(struct options *o, const struct keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	if (o->proxy_jump != NULL && strcasecmp(o->proxy_jump, "none") != 0)
		return 0;
	return set_str(&o->proxy_command, a[0]);
}

static int
kw_proxy_jump(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	if (jump_check(a[0], err, errlen) != 0)
		return -1;
	if (o->proxy_command != NULL)
		return 0;
	return set_str(&o->proxy_jump, a[0]);
}

bool
options_raw_keyword(const char *keyword)
{
	static const char *const raw[] = { "ProxyCommand", "LocalCommand",
	    "RemoteCommand", "KnownHostsCommand" };
	size_t i;

	for (i = 0; i < nitems(raw); i++)
		if (strcasecmp(raw[i], keyword) == 0)
			return true;
	return false;
}

static int
kw_algs(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	const struct alg_kw *ak = kw->arg;

	return options_set_algs(o, kw->name, ak->kind, ak->patterns,
	    FIELD(o, kw, char *), a[0], err, errlen);
}

/* Seconds, fractions allowed (0.1 to 3600), into milliseconds. */
static int
kw_delay(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	char *end;
	double d;

	d = strtod(a[0], &end);
	if (a[0][0] == '\0' || *end != '\0' || !(d >= 0.1 && d <= 3600)) {
		snprintf(err, errlen, "%s takes seconds from 0.1 to 3600, not "
		    "'%s'", kw->name, a[0]);
		return -1;
	}
	set_int(FIELD(o, kw, int), (long)(d * 1000 + 0.5));
	return 0;
}

/* LocalForward / RemoteForward listen target (either may be a path);
 * RemoteForward and DynamicForward [bind_address:]port alone are SOCKS */
static int
kw_forward(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	const struct fwd_kw *f = kw->arg;
	char spec[600];

	if (n < f->min_args || n > f->max_args) {
		snprintf(err, errlen, "%s takes %s", kw->name, f->usage);
		return -1;
	}
	if (n == 2)
		snprintf(spec, sizeof(spec), "%s:%s", a[0], a[1]);
	else
		snprintf(spec, sizeof(spec), "%s", a[0]);
	return options_add_forward(o, f->kind, spec, err, errlen);
}

static int
kw_identity(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	int i;

	if (o->nidentity >= MAX_IDENTITIES) {
		snprintf(err, errlen, "Too many identity files specified "
		    "(max %d)", MAX_IDENTITIES);
		return -1;
	}
	o->identity_given = true;
	for (i = 0; i < o->nidentity; i++)
		if (strcmp(o->identity[i], a[0]) == 0)
			return 0;	/* as ssh: the same file once */
	if ((o->identity[o->nidentity] = strdup(a[0])) == NULL)
		return -1;
	o->nidentity++;
	return 0;
}

/* UserKnownHostsFile and GlobalKnownHostsFile: several files, the first
 * line wins; "none" only alone, as ssh has it. field: the array; arg:
 * the offset of its count. */
static int
kw_certificate(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	int i;

	for (i = 0; i < o->ncertificate; i++)
		if (strcmp(o->certificate[i], a[0]) == 0)
			return 0;	/* as ssh: the same file once */
	if (o->ncertificate >= MAX_IDENTITIES) {
		snprintf(err, errlen, "Too many certificate files specified "
		    "(max %d)", MAX_IDENTITIES);
		return -1;
	}
	if ((o->certificate[o->ncertificate] = strdup(a[0])) == NULL)
		return -1;
	o->ncertificate++;
	return 0;
}

static int
kw_known_hosts(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	char **files = (char **)((char *)o + kw->field);
	int *nfiles = (int *)((char *)o + *(const size_t *)kw->arg);
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(a[i], "none") == 0 && n > 1) {
			snprintf(err, errlen, "keyword %s \"none\" argument "
			    "must appear alone.", kw->name);
			return -1;
		}
	if (*nfiles > 0)
		return 0;
	for (i = 0; i < n && i < MAX_KH_FILES; i++)
		if ((files[(*nfiles)++] = strdup(a[i])) == NULL)
			return -1;
	return 0;
}

static int
kw_rekey(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	bool timed = n == 2 && strcasecmp(a[1], "none") != 0;
	int64_t v = 0;

	if (strcasecmp(a[0], "default") != 0 && strcasecmp(a[0], "none") != 0 &&
	    parse_size(a[0], &v) != 0) {
		snprintf(err, errlen, "Bad RekeyLimit '%s'", a[0]);
		return -1;
	}
	/* the engine counts the bytes; the time is kept by the connection
	 * (net/conn.h rekey_interval_ms) */
	if (timed && sshkw_convtime(a[1]) < 0) {
		snprintf(err, errlen, "Bad RekeyLimit time '%s'", a[1]);
		return -1;
	}
	if (o->rekey_bytes < 0) {
		o->rekey_bytes = v;
		o->rekey_seconds = timed ? (int)sshkw_convtime(a[1]) : 0;
	}
	return 0;
}

static int
kw_permit_remote_open(struct options *o, const struct keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	return fwd_permit_words(o->permit_remote_open, MAX_PERMITS,
	    &o->npermit_remote_open, false, kw->name, a, n, err, errlen);
}

/* AddressFamily: once a family is set, later lines are not looked at;
 * "any" sets none. */
static int
kw_family(struct options *o, const struct keyword *kw, char **a, int n,
    char *err, size_t errlen)
{
	if (o->parsed.family != OPT_UNSET)
		return 0;
	if (strcasecmp(a[0], "inet") == 0)
		o->parsed.family = AFAM_INET;
	else if (strcasecmp(a[0], "inet6") == 0)
		o->parsed.family = AFAM_INET6;
	else if (strcasecmp(a[0], "any") != 0) {
		snprintf(err, errlen, "Bad %s '%s'", kw->name, a[0]);
		return -1;
	}
	return 0;
}

static const struct cfgval_word yesno_v[] = {
	{ "yes", 1 }, { "true", 1 }, { "no", 0 }, { "false", 0 },
};
static const struct choices yesno = {
	yesno_v, nitems(yesno_v), "", " takes yes or no, not"
};

static const struct cfgval_word strict_v[] = {
	{ "yes", SHK_YES }, { "true", SHK_YES },
	{ "no", SHK_NO }, { "off", SHK_NO }, { "false", SHK_NO },
	{ "accept-new", SHK_ACCEPT_NEW }, { "ask", SHK_ASK },
};
static const struct choices strict = {
	strict_v, nitems(strict_v), "unsupported ", " value"
};

static const struct choices loglevel = {
	cfgval_loglevels, CFGVAL_NLOGLEVELS, "Bad ", ""
};

static const struct number_kw port = {
	NUM_DECIMAL, 1, 65535, false, "Bad port"
};
static const struct number_kw connect_timeout = {
	NUM_SECONDS, 0, 86400, true, "Bad ConnectTimeout"
};
static const struct number_kw attempts = {
	NUM_DECIMAL, 1, 10000, false, "Invalid number of ConnectionAttempts"
};
static const struct number_kw alive_interval = {
	NUM_SECONDS, 0, 86400, false,
	"ServerAliveInterval takes a number from 0 to 86400, not"
};
static const struct number_kw alive_count = {
	NUM_DECIMAL, 0, 10000, false,
	"ServerAliveCountMax takes a number from 0 to 10000, not"
};
/* the umask of the Unix sockets ferry binds (ssh: 0177) */
static const struct number_kw sl_mask = {
	NUM_OCTAL, 0, 0777, false,
	"StreamLocalBindMask takes an octal mask 0-0777, not"
};

static const struct number_kw rsa_size = {
	NUM_DECIMAL, 0, INT_MAX, false, "Bad RequiredRSASize"
};

static const struct alg_kw ciphers = { &alg_kind_cipher, false };
static const struct alg_kw macs = { &alg_kind_mac, false };
static const struct alg_kw kex = { &alg_kind_kex, false };
static const struct alg_kw hostkey = { &alg_kind_hostkey_client, true };
static const struct alg_kw pubkey = { &alg_kind_pubkey_client, true };
static const struct alg_kw ca_sign = { &alg_kind_ca_sign, true };

static const struct fwd_kw local_fwd = {
	FWD_LOCAL, 2, 2, "[bind_address:]port host:hostport"
};
static const struct fwd_kw remote_fwd = {
	FWD_REMOTE, 1, 2, "[bind_address:]port [host:hostport]"
};
static const struct fwd_kw dynamic_fwd = {
	FWD_DYNAMIC, 1, 1, "[bind_address:]port"
};

static const size_t user_kh_count = F(nknown_hosts);
static const size_t global_kh_count = F(nglobal_known_hosts);

static const struct keyword keywords[] = {
	{ "AddressFamily", kw_family, 1, 1, 0, NULL },
	{ "BatchMode", kw_choice, 1, 1, F(parsed.batch_mode), &yesno },
	{ "BindAddress", kw_string, 1, 1, F(bind_address), NULL },
	{ "BindInterface", kw_string, 1, 1, F(bind_interface), NULL },
	{ "CASignatureAlgorithms", kw_algs, 1, 1, F(ca_sign_algs), &ca_sign },
	{ "CertificateFile", kw_certificate, 1, 1, 0, NULL },
	{ "CheckHostIP", kw_choice, 1, 1, F(parsed.check_host_ip), &yesno },
	{ "Ciphers", kw_algs, 1, 1, F(ciphers), &ciphers },
	{ "Compression", kw_choice, 1, 1, F(parsed.compression), &yesno },
	{ "ConnectionAttempts", kw_number, 1, 1, F(connection_attempts),
	    &attempts },
	{ "ConnectTimeout", kw_number, 1, 1, F(connect_timeout),
	    &connect_timeout },
	{ "ControlPath", kw_string, 1, 1, F(control_path), NULL },
	{ "DynamicForward", kw_forward, 1, 2, 0, &dynamic_fwd },
	{ "ExitOnForwardFailure", kw_choice, 1, 1,
	    F(parsed.exit_on_forward_failure), &yesno },
	{ "GatewayPorts", kw_choice, 1, 1, F(parsed.gateway_ports), &yesno },
	{ "GlobalKnownHostsFile", kw_known_hosts, 1, MAX_KH_FILES,
	    F(global_known_hosts), &global_kh_count },
	{ "HashKnownHosts", kw_choice, 1, 1, F(parsed.hash_known_hosts),
	    &yesno },
	{ "HostKeyAlgorithms", kw_algs, 1, 1, F(hostkey_algs), &hostkey },
	{ "HostKeyAlias", kw_string, 1, 1, F(host_key_alias), NULL },
	{ "HostName", kw_string, 1, 1, F(hostname), NULL },
	{ "IdentitiesOnly", kw_choice, 1, 1, F(parsed.identities_only),
	    &yesno },
	{ "IdentityAgent", kw_string, 1, 1, F(identity_agent), NULL },
	{ "IdentityFile", kw_identity, 1, 1, 0, NULL },
	{ "KexAlgorithms", kw_algs, 1, 1, F(kex_algs), &kex },
	{ "LocalForward", kw_forward, 1, 2, 0, &local_fwd },
	{ "LogLevel", kw_choice, 1, 1, F(parsed.log_level), &loglevel },
	{ "MACs", kw_algs, 1, 1, F(macs), &macs },
	{ "MetricsListen", kw_string, 1, 1, F(metrics_listen), NULL },
	{ "PermitRemoteOpen", kw_permit_remote_open, 1, MAX_PERMITS, 0,
	    NULL },
	{ "Port", kw_number, 1, 1, F(port), &port },
	{ "ProxyCommand", kw_proxy_command, 1, 1, 0, NULL },
	{ "ProxyJump", kw_proxy_jump, 1, 1, 0, NULL },
	{ "PubkeyAcceptedAlgorithms", kw_algs, 1, 1, F(pubkey_algs), &pubkey },
	{ "Reconnect", kw_choice, 1, 1, F(parsed.reconnect), &yesno },
	{ "ReconnectDelay", kw_delay, 1, 1, F(reconnect_delay_ms), NULL },
	{ "ReconnectMaxDelay", kw_delay, 1, 1, F(reconnect_max_delay_ms),
	    NULL },
	{ "RekeyLimit", kw_rekey, 1, 2, 0, NULL },
	{ "RemoteForward", kw_forward, 1, 2, 0, &remote_fwd },
	{ "RequiredRSASize", kw_number, 1, 1, F(required_rsa_size),
	    &rsa_size },
	{ "RevokedHostKeys", kw_string, 1, 1, F(revoked_host_keys), NULL },
	{ "ServerAliveCountMax", kw_number, 1, 1,
	    F(server_alive_count_max), &alive_count },
	{ "ServerAliveInterval", kw_number, 1, 1,
	    F(server_alive_interval), &alive_interval },
	{ "StreamLocalBindMask", kw_number, 1, 1,
	    F(stream_local_bind_mask), &sl_mask },
	{ "StreamLocalBindUnlink", kw_choice, 1, 1,
	    F(parsed.stream_local_bind_unlink), &yesno },
	{ "StrictHostKeyChecking", kw_choice, 1, 1, F(parsed.strict),
	    &strict },
	{ "TCPKeepAlive", kw_choice, 1, 1, F(parsed.tcp_keepalive), &yesno },
	{ "User", kw_string, 1, 1, F(user), NULL },
	{ "UserKnownHostsFile", kw_known_hosts, 1, MAX_KH_FILES,
	    F(known_hosts), &user_kh_count },
};

/* IgnoreUnknown shapes how files are read, as Host and Match do: it is
 * not among the keywords above, which ferry(1) lists and -o completes. */
static const struct keyword ignore_unknown = {
	"IgnoreUnknown", kw_string, 1, 1, F(ignore_unknown), NULL
};

/* Other names for the keywords above: old ones OpenSSH still accepts,
 * and Debian's. */
static const struct {
	const char	*name;
	const char	*keyword;
} aliases[] = {
	{ "IdentityFile2", "IdentityFile" },
	{ "KeepAlive", "TCPKeepAlive" },
	{ "PubkeyAcceptedKeyTypes", "PubkeyAcceptedAlgorithms" },
	{ "ProtocolKeepAlives", "ServerAliveInterval" },
	{ "SetupTimeOut", "ConnectTimeout" },
};

/* The entry for name (any case, aliases too); *spelling gets the name as
 * the tables write it. */
static const struct keyword *
keyword_find(const char *name, const char **spelling)
{
	size_t i;

	*spelling = NULL;
	for (i = 0; i < nitems(aliases) && *spelling == NULL; i++)
		if (strcasecmp(aliases[i].name, name) == 0) {
			*spelling = aliases[i].name;
			name = aliases[i].keyword;
		}
	for (i = 0; i < nitems(keywords); i++) {
		if (strcasecmp(keywords[i].name, name) != 0)
			continue;
		if (*spelling == NULL)
			*spelling = keywords[i].name;
		return &keywords[i];
	}
	if (strcasecmp(ignore_unknown.name, name) != 0)
		return NULL;
	*spelling = ignore_unknown.name;
	return &ignore_unknown;
}

/* Keywords only a file may use: they shape how a file is read. */
static bool
file_only(const char *kw)
{
	return strcasecmp(kw, "Host") == 0 || strcasecmp(kw, "Match") == 0 ||
	    strcasecmp(kw, "Include") == 0;
}

/* An unknown keyword: an error unless IgnoreUnknown names it. */
static int
unknown_keyword(const struct options *o, const char *kw, const char *where,
    char *err, size_t errlen)
{
	char lower[128];
	size_t i;

	for (i = 0; kw[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)kw[i]);
	lower[i] = '\0';
	if (o->ignore_unknown != NULL &&
	    options_match_host(o->ignore_unknown, lower))
		return 0;
	snprintf(err, errlen, "%s: Bad configuration option: %s", where, kw);
	return -1;
}

/* "where: why" in err; returns -1. */
static int
located(char *err, size_t errlen, const char *where, const char *why)
{
	snprintf(err, errlen, "%s: %s", where, why);
	return -1;
}

/* One of ssh's keywords that sshkw.c keeps, or an unknown one. */
static int
apply_ssh_keyword(struct options *o, char **w, int n, const char *where,
    char *err, size_t errlen)
{
	char why[512];
	int ext;

	if ((ext = sshkw_find(w[0])) < 0)
		return unknown_keyword(o, w[0], where, err, errlen);
	why[0] = '\0';
	if (sshkw_apply(o, ext, w + 1, n - 1, why, sizeof(why)) == 0)
		return 0;
	return located(err, errlen, where, why);
}

int
options_apply_words(struct options *o, char **w, int n, const char *where,
    char *err, size_t errlen)
{
	const struct keyword *kw;
	const char *name;
	char why[1024];

	if (file_only(w[0])) {
		snprintf(err, errlen, "%s: %s directive not supported as a "
		    "command-line option", where, w[0]);
		return -1;
	}
	if ((kw = keyword_find(w[0], &name)) == NULL)
		return apply_ssh_keyword(o, w, n, where, err, errlen);
	if (n - 1 < kw->min_args || n - 1 > kw->max_args) {
		snprintf(err, errlen, "%s: %s: %s argument", where, name,
		    n - 1 < kw->min_args ? "missing" : "too many");
		return -1;
	}
	why[0] = '\0';
	if (kw->fn(o, kw, w + 1, n - 1, why, sizeof(why)) != 0)
		return located(err, errlen, where, why[0] ? why :
		    "out of memory");
	return 0;
}

int
options_check_words(struct options *o, char **w, int n, const char *where,
    char *err, size_t errlen)
{
	const struct keyword *kw;
	const struct alg_kw *ak;
	const char *name;
	char why[1024];
	int ext;

	/* ssh checks a ProxyJump's hops in any block */
	if ((kw = keyword_find(w[0], &name)) != NULL &&
	    kw->fn == kw_proxy_jump && n == 2 &&
	    jump_check(w[1], why, sizeof(why)) != 0)
		return located(err, errlen, where, why);
	/* and an algorithm list's names */
	ak = kw != NULL && kw->fn == kw_algs ? kw->arg : NULL;
	if (ak != NULL && n == 2 && options_set_algs(o, kw->name, ak->kind,
	    ak->patterns, NULL, w[1], why, sizeof(why)) != 0)
		return located(err, errlen, where, why);
	if (kw != NULL)
		return 0;
	if ((ext = sshkw_find(w[0])) < 0)
		return unknown_keyword(o, w[0], where, err, errlen);
	why[0] = '\0';
	if (sshkw_check(ext, w + 1, n - 1, why, sizeof(why)) == 0)
		return 0;
	return located(err, errlen, where, why);
}

int
options_line_words(const char *raw, const struct cfgtok_line *tl, char **w,
    char *rest, size_t restlen)
{
	int i;

	w[0] = tl->keyword;
	if (options_raw_keyword(tl->keyword)) {
		if (cfgtok_rest(raw, tl, rest, restlen) != 0)
			return -1;
		w[1] = rest;
		return 2;
	}
	for (i = 0; i < tl->nargs; i++)
		w[i + 1] = tl->args[i];
	return tl->nargs + 1;
}

int
options_apply_line(struct options *o, const char *line, const char *where,
    char *err, size_t errlen)
{
	struct cfgtok_line tl;
	char *copy, *w[CFGTOK_MAX_ARGS + 1], rest[CMDLINE_MAX];
	int r = -1, n, t;

	if ((copy = strdup(line)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t = cfgtok_split(copy, &tl);
	if (t == CFGTOK_EMPTY)
		r = 0;
	else if (t == CFGTOK_NOARG)
		snprintf(err, errlen, "%s: %s: missing argument", where,
		    tl.keyword);
	else if (t < 0)
		snprintf(err, errlen, "%s: malformed line (%s)", where,
		    cfgtok_strerror(t));
	else if ((n = options_line_words(line, &tl, w, rest,
	    sizeof(rest))) < 0)
		snprintf(err, errlen, "%s: %s: too long", where, tl.keyword);
	else
		r = options_apply_words(o, w, n, where, err, errlen);
	free(copy);
	return r;
}
