/* ferryd's configuration: sshd_config(5) keywords read from -o lines and
 * files, with sshd's rule that the first value obtained for a keyword
 * wins (Port, ListenAddress and HostKey accumulate, as in sshd). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fwd/slpath.h"
#include "ssh/cipher.h"
#include "ssh/ssh.h"
#include "util/cfgtok.h"
#include "util/err.h"
#include "util/log.h"
#include "util/text.h"
#include "util/tokens.h"

#define MAX_CONFIG_SIZE	(1024 * 1024)
#define MAX_LINE	8192
#define MAX_WORDS	(SC_MAX_PERMITS + 8)
#define ANY_WORDS	CFGTOK_MAX_ARGS
/* RSA keys ferryd accepts (keys/key.c) */
#define RSA_MIN_BITS	1024

/* Before server_config_finish() a field may still be unset, so that the
 * first value given wins; finish replaces every one of these. */
#define UNSET		(-1)
#define GW_UNSET	((enum gateway_ports)-1)
#define FWD_UNSET	((enum allow_fwd)-1)

#define DEF_PORT		22
#define DEF_AUTHKEYS		".ssh/authorized_keys"
#define DEF_ALIVE_COUNT		3
#define DEF_GRACE		120
#define DEF_STARTUPS_BEGIN	10
#define DEF_STARTUPS_RATE	30
#define DEF_STARTUPS_FULL	100
#define DEF_AUTH_TRIES		6
#define DEF_SESSIONS		10
#define DEF_LISTENERS		64
#define DEF_CONNECT_TIMEOUT	10
#define DEF_PENDING_CONNECTS	64
#define DEF_USER_CHANNELS	1024
#define DEF_FORWARD_CONNS	256
#define DEF_STATE_DIR		"/var/lib/ferryd"
#define DEF_SL_DIR		"sockets/%u"	/* under StateDirectory */

void
server_config_init(struct server_config *c)
{
	memset(c, 0, sizeof(*c));
	c->gateway_ports = GW_UNSET;
	c->allow_tcp_forwarding = FWD_UNSET;
	c->allow_streamlocal_forwarding = FWD_UNSET;
	c->streamlocal_bind_unlink = UNSET;
	c->streamlocal_bind_mask = UNSET;
	c->key_permits_cover_sl = UNSET;
	c->reclaim_forwards = UNSET;
	c->npermit_open = FWD_PERMIT_UNSET;
	c->npermit_listen = FWD_PERMIT_UNSET;
	c->client_alive_interval = UNSET;
	c->client_alive_count_max = UNSET;
	c->login_grace_time = UNSET;
	c->max_startups_begin = UNSET;
	c->max_startups_rate = UNSET;
	c->max_startups_full = UNSET;
	c->max_auth_tries = UNSET;
	c->max_sessions = UNSET;
	c->max_listeners = UNSET;
	c->forward_connect_timeout = UNSET;
	c->max_pending_connects = UNSET;
	c->max_user_channels = UNSET;
	c->max_forward_connections = UNSET;
	c->log_level = UNSET;
}

void
server_config_free(struct server_config *c)
{
	int i;

	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	for (i = 0; i < c->nhostkeys; i++)
		free(c->hostkeys[i]);
	for (i = 0; i < c->nauthorized_keys; i++)
		free(c->authorized_keys[i]);
	free(c->ciphers);
	free(c->macs);
	free(c->kex_algs);
	free(c->hostkey_algs);
	free(c->pubkey_algs);
	free(c->ca_sign_algs);
	free(c->state_dir);
	free(c->streamlocal_dir);
	free(c->user);
	free(c->pid_file);
	free(c->control_socket);
	free(c->metrics_listen);
	memset(c, 0, sizeof(*c));
}

typedef int (*kw_fn)(struct server_config *, const char *kw, char **args,
    int nargs, char *err, size_t errlen);

/* A string keyword: only the first value is kept. */
static int
set_str(char **field, const char *v, char *err, size_t errlen)
{
	if (*field == NULL && (*field = strdup(v)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A decimal number in [min, max] with nothing around it. */
static int
parse_int(const char *v, long min, long max, int *out)
{
	long x = 0;
	const char *s;

	for (s = v; isdigit((unsigned char)*s); s++) {
		x = x * 10 + (*s - '0');
		if (x > max)
			return -1;
	}
	if (s == v || *s != '\0' || x < min)
		return -1;
	*out = (int)x;
	return 0;
}

static int
int_kw(int *field, const char *kw, const char *v, long max, char *err,
    size_t errlen)
{
	int x;

	if (parse_int(v, 0, max, &x) != 0) {
		seterr(err, errlen, "%s: bad value '%s' (a number from 0 to "
		    "%ld)", kw, v, max);
		return -1;
	}
	if (*field == UNSET)
		*field = x;
	return 0;
}

/* sshd_config(5) TIME FORMATS: a sequence of number[smhdw], summed. */
static int
parse_time(const char *v, int *out)
{
	long long total = 0, n, mult;
	const char *s = v;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return -1;
		for (n = 0; isdigit((unsigned char)*s); s++) {
			n = n * 10 + (*s - '0');
			if (n > INT_MAX)
				return -1;
		}
		switch (*s) {
		case '\0':
			mult = 1;
			break;
		case 's': case 'S':
			mult = 1;
			break;
		case 'm': case 'M':
			mult = 60;
			break;
		case 'h': case 'H':
			mult = 60 * 60;
			break;
		case 'd': case 'D':
			mult = 24 * 60 * 60;
			break;
		case 'w': case 'W':
			mult = 7 * 24 * 60 * 60;
			break;
		default:
			return -1;
		}
		if (*s != '\0')
			s++;
		total += n * mult;
		if (total > INT_MAX)
			return -1;
	}
	*out = (int)total;
	return 0;
}

static int
time_kw(int *field, const char *kw, const char *v, char *err, size_t errlen)
{
	int x;

	if (parse_time(v, &x) != 0) {
		seterr(err, errlen, "%s: bad value '%s' (seconds, or a time "
		    "such as 90s, 10m or 1h30m)", kw, v);
		return -1;
	}
	if (*field == UNSET)
		*field = x;
	return 0;
}

/* A keyword's words and the value each stands for. */
struct choice {
	const char	*word;
	int		 value;
};

static int
choose(const struct choice *tab, size_t n, const char *kw, const char *v,
    const char *allowed, int *out, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v, tab[i].word) == 0) {
			*out = tab[i].value;
			return 0;
		}
	seterr(err, errlen, "%s: bad value '%s' (%s)", kw, v, allowed);
	return -1;
}

static const struct choice gateway_choices[] = {
	{ "no", GW_NO }, { "yes", GW_YES },
	{ "clientspecified", GW_CLIENTSPECIFIED },
};

static const struct choice fwd_choices[] = {
	{ "yes", FWD_ALLOW_ALL }, { "all", FWD_ALLOW_ALL },
	{ "no", FWD_ALLOW_NO }, { "local", FWD_ALLOW_LOCAL },
	{ "remote", FWD_ALLOW_REMOTE },
};

static const struct choice yesno_choices[] = {
	{ "yes", 1 }, { "no", 0 },
};

/* FATAL is ERROR and DEBUG is DEBUG1, as for the client (ssh -v). The
 * first word for a level is the one printed. */
static const struct choice level_choices[] = {
	{ "QUIET", LOG_QUIET }, { "ERROR", LOG_ERROR }, { "FATAL", LOG_ERROR },
	{ "INFO", LOG_INFO }, { "VERBOSE", LOG_VERBOSE },
	{ "DEBUG", LOG_VERBOSE }, { "DEBUG1", LOG_VERBOSE },
	{ "DEBUG2", LOG_DEBUG }, { "DEBUG3", LOG_DEBUG2 },
};

#define NCHOICES(t)	(sizeof(t) / sizeof((t)[0]))

static int
kw_port(struct server_config *c, const char *kw, char **a, int n, char *err,
    size_t errlen)
{
	int port;

	if (parse_int(a[0], 0, 65535, &port) != 0) {
		seterr(err, errlen, "%s: bad value '%s' (a port from 0 to "
		    "65535)", kw, a[0]);
		return -1;
	}
	if (c->nports >= SC_MAX_LISTEN) {
		seterr(err, errlen, "%s: too many ports (max %d)", kw,
		    SC_MAX_LISTEN);
		return -1;
	}
	c->ports[c->nports++] = port;
	return 0;
}

static int
colons(const char *s, size_t n)
{
	int k = 0;

	while (n-- > 0)
		k += *s++ == ':';
	return k;
}

/* host, host:port, [host]:port or a bare IPv6 address (two or more
 * colons, no brackets), as sshd reads ListenAddress. Stored as "host" or
 * "host:port", with brackets when host is an IPv6 address; port 0 (the
 * kernel picks) is kept, so it is not mistaken for "every Port". */
static int
kw_listen(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	char *v = a[0], *host, *rb, *colon, *out;
	const char *portstr = NULL;
	size_t hlen;
	int port = 0;

	if (n > 1) {
		if (strcasecmp(a[1], "rdomain") == 0)
			seterr(err, errlen, "%s: rdomain is not supported",
			    kw);
		else
			seterr(err, errlen, "%s: unexpected '%s' after the "
			    "address", kw, a[1]);
		return -1;
	}
	if (v[0] == '[') {
		if ((rb = strchr(v, ']')) == NULL ||
		    (rb[1] != '\0' && rb[1] != ':')) {
			seterr(err, errlen, "%s: bad value '%s' (host, "
			    "host:port or [address]:port)", kw, v);
			return -1;
		}
		host = v + 1;
		hlen = (size_t)(rb - host);
		if (rb[1] == ':')
			portstr = rb + 2;
	} else if ((colon = strchr(v, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		host = v;
		hlen = (size_t)(colon - v);
		portstr = colon + 1;
	} else {
		host = v;	/* no port, or a bare IPv6 address */
		hlen = strlen(v);
	}
	if (hlen == 0) {
		seterr(err, errlen, "%s: missing address in '%s'", kw, v);
		return -1;
	}
	/* Brackets, or a single colon ("[a:b]"), would make the stored
	 * form read back as something else. */
	if (memchr(host, '[', hlen) != NULL ||
	    memchr(host, ']', hlen) != NULL || colons(host, hlen) == 1) {
		seterr(err, errlen, "%s: bad value '%s' (host, host:port or "
		    "[address]:port)", kw, v);
		return -1;
	}
	if (portstr != NULL && parse_int(portstr, 0, 65535, &port) != 0) {
		seterr(err, errlen, "%s: bad port in '%s'", kw, v);
		return -1;
	}
	if (c->nlisten >= SC_MAX_LISTEN) {
		seterr(err, errlen, "%s: too many addresses (max %d)", kw,
		    SC_MAX_LISTEN);
		return -1;
	}
	if (portstr == NULL)
		out = strndup(host, hlen);
	else if (asprintf(&out, "%s%.*s%s:%d",
	    memchr(host, ':', hlen) ? "[" : "", (int)hlen, host,
	    memchr(host, ':', hlen) ? "]" : "", port) == -1)
		out = NULL;
	if (out == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	c->listen[c->nlisten++] = out;
	return 0;
}

static int
kw_hostkey(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	if (c->nhostkeys >= SC_MAX_HOSTKEYS) {
		seterr(err, errlen, "%s: too many host keys (max %d)", kw,
		    SC_MAX_HOSTKEYS);
		return -1;
	}
	if ((c->hostkeys[c->nhostkeys] = strdup(a[0])) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	c->nhostkeys++;
	return 0;
}

/* Several files, tried in order; the first line's list wins, as in sshd.
 * %u, %h and %% are expanded per user by the caller; any other token is
 * an error here. */
static int
kw_authkeys(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	struct tokens t;
	char out[1024], why[256];
	int i;

	if (n > SC_MAX_AKFILES) {
		seterr(err, errlen, "%s: too many files (max %d)", kw,
		    SC_MAX_AKFILES);
		return -1;
	}
	tokens_init(&t);
	tokens_set(&t, 'u', "u");
	tokens_set(&t, 'h', "h");
	for (i = 0; i < n; i++)
		if (tokens_expand(a[i], &t, out, sizeof(out), why,
		    sizeof(why)) < 0) {
			seterr(err, errlen, "%s: '%s': %s (ferryd knows %%u, "
			    "%%h and %%%%)", kw, a[i], why);
			return -1;
		}
	if (c->nauthorized_keys > 0)
		return 0;
	for (i = 0; i < n; i++) {
		if ((c->authorized_keys[i] = strdup(a[i])) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		c->nauthorized_keys++;
	}
	return 0;
}

/* An algorithm list: assembled against ferryd's default and every name
 * it implements; the first value wins but each is checked, as sshd
 * does. */
static int
alg_kw(char **field, const char *kw, const char *v, const char *def,
    const char *all, char *err, size_t errlen)
{
	char bad[128], *list;

	if (ssh_algs_assemble(v, def, all, &list, bad, sizeof(bad)) != 0) {
		if (bad[0] == '\0')
			seterr(err, errlen, "%s: '%s' leaves no algorithm",
			    kw, v);
		else
			seterr(err, errlen, "%s: '%s' is not an algorithm "
			    "ferryd implements (it has %s)", kw, bad, all);
		return -1;
	}
	if (*field == NULL)
		*field = list;
	else
		free(list);
	return 0;
}

static int
kw_ciphers(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return alg_kw(&c->ciphers, kw, a[0], ssh_cipher_default,
	    ssh_cipher_all, err, errlen);
}

static int
kw_macs(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return alg_kw(&c->macs, kw, a[0], ssh_mac_default, ssh_mac_all, err,
	    errlen);
}

static int
kw_kex_algs(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return alg_kw(&c->kex_algs, kw, a[0], ssh_kex_default,
	    ssh_kex_default, err, errlen);
}

static int
kw_hostkey_algs(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return alg_kw(&c->hostkey_algs, kw, a[0], ssh_hostkey_default,
	    ssh_hostkey_default, err, errlen);
}

/* PubkeyAcceptedAlgorithms, and its old name PubkeyAcceptedKeyTypes */
static int
kw_pubkey_algs(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return alg_kw(&c->pubkey_algs, kw, a[0], ssh_pubkey_default,
	    ssh_pubkey_default, err, errlen);
}

/* Checked now, used once ferryd accepts certificates. */
static int
kw_ca_algs(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return alg_kw(&c->ca_sign_algs, kw, a[0], ssh_pubkey_default,
	    ssh_pubkey_default, err, errlen);
}

static int
kw_state_dir(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	/* the host key, sockets and relative paths live under it: it must
	 * not depend on the directory ferryd was started in */
	if (a[0][0] != '/') {
		seterr(err, errlen, "%s: '%s' is not an absolute path", kw,
		    a[0]);
		return -1;
	}
	return set_str(&c->state_dir, a[0], err, errlen);
}

static int
kw_user(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return set_str(&c->user, a[0], err, errlen);
}

static int
kw_control_socket(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return set_str(&c->control_socket, a[0], err, errlen);
}

static int
kw_metrics_listen(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return set_str(&c->metrics_listen, a[0], err, errlen);
}

static int
kw_pid_file(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return set_str(&c->pid_file, a[0], err, errlen);
}

static int
kw_gateway(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(gateway_choices, NCHOICES(gateway_choices), kw, a[0],
	    "no, yes or clientspecified", &v, err, errlen) != 0)
		return -1;
	if (c->gateway_ports == GW_UNSET)
		c->gateway_ports = (enum gateway_ports)v;
	return 0;
}

static int
kw_allow_tcp(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(fwd_choices, NCHOICES(fwd_choices), kw, a[0],
	    "yes, all, no, local or remote", &v, err, errlen) != 0)
		return -1;
	if (c->allow_tcp_forwarding == FWD_UNSET)
		c->allow_tcp_forwarding = (enum allow_fwd)v;
	return 0;
}

static int
kw_allow_streamlocal(struct server_config *c, const char *kw, char **a,
    int n, char *err, size_t errlen)
{
	int v;

	if (choose(fwd_choices, NCHOICES(fwd_choices), kw, a[0],
	    "yes, all, no, local or remote", &v, err, errlen) != 0)
		return -1;
	if (c->allow_streamlocal_forwarding == FWD_UNSET)
		c->allow_streamlocal_forwarding = (enum allow_fwd)v;
	return 0;
}

static int
kw_sl_unlink(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(yesno_choices, NCHOICES(yesno_choices), kw, a[0],
	    "yes or no", &v, err, errlen) != 0)
		return -1;
	if (c->streamlocal_bind_unlink == UNSET)
		c->streamlocal_bind_unlink = v;
	return 0;
}

/* "none", or a directory with %u and %% (checked here, expanded per
 * user when a request comes). */
static int
kw_sl_dir(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	char why[200];

	if (slpath_check_template(a[0], why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s: bad value '%s': %s", kw, a[0], why);
		return -1;
	}
	return set_str(&c->streamlocal_dir, a[0], err, errlen);
}

static int
kw_key_permits_sl(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(yesno_choices, NCHOICES(yesno_choices), kw, a[0],
	    "yes or no", &v, err, errlen) != 0)
		return -1;
	if (c->key_permits_cover_sl == UNSET)
		c->key_permits_cover_sl = v;
	return 0;
}

static int
kw_reclaim(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(yesno_choices, NCHOICES(yesno_choices), kw, a[0],
	    "yes or no", &v, err, errlen) != 0)
		return -1;
	if (c->reclaim_forwards == UNSET)
		c->reclaim_forwards = v;
	return 0;
}

/* An octal umask for the sockets streamlocal-forward creates. */
static int
kw_sl_mask(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	char *end;
	long v;

	v = strtol(a[0], &end, 8);
	if (a[0][0] == '\0' || *end != '\0' || v < 0 || v > 0777) {
		seterr(err, errlen, "%s: '%s' is not an octal mask 0-0777",
		    kw, a[0]);
		return -1;
	}
	if (c->streamlocal_bind_mask == UNSET)
		c->streamlocal_bind_mask = (int)v;
	return 0;
}

/* DisableForwarding overrides every other forwarding option (sshd), so
 * "yes" wins over an AllowTcpForwarding seen earlier. */
static int
kw_disable_fwd(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(yesno_choices, NCHOICES(yesno_choices), kw, a[0],
	    "yes or no", &v, err, errlen) != 0)
		return -1;
	if (v == 1) {
		c->disable_forwarding = true;
		c->allow_tcp_forwarding = FWD_ALLOW_NO;
		c->allow_streamlocal_forwarding = FWD_ALLOW_NO;
	}
	return 0;
}

static int
kw_permit_open(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return fwd_permit_words(c->permit_open, SC_MAX_PERMITS,
	    &c->npermit_open, false, kw, a, n, err, errlen);
}

static int
kw_permit_listen(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return fwd_permit_words(c->permit_listen, SC_MAX_PERMITS,
	    &c->npermit_listen, true, kw, a, n, err, errlen);
}

static int
kw_alive_interval(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return time_kw(&c->client_alive_interval, kw, a[0], err, errlen);
}

static int
kw_alive_count(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return int_kw(&c->client_alive_count_max, kw, a[0], INT_MAX, err,
	    errlen);
}

static int
kw_grace(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return time_kw(&c->login_grace_time, kw, a[0], err, errlen);
}

/* N, or start:rate:full with 1 <= rate <= 100 and start <= full. N alone
 * is N:30:N, which sshd -T prints for it. */
static int
kw_startups(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	char buf[64], *c1, *c2;
	int begin, rate = DEF_STARTUPS_RATE, full;

	snprintf(buf, sizeof(buf), "%s", a[0]);
	if (strlen(a[0]) >= sizeof(buf))
		goto bad;
	if ((c1 = strchr(buf, ':')) == NULL) {
		if (parse_int(buf, 1, INT_MAX, &begin) != 0)
			goto bad;
		full = begin;
	} else {
		*c1++ = '\0';
		if ((c2 = strchr(c1, ':')) == NULL)
			goto bad;
		*c2++ = '\0';
		if (parse_int(buf, 1, INT_MAX, &begin) != 0 ||
		    parse_int(c1, 1, 100, &rate) != 0 ||
		    parse_int(c2, 1, INT_MAX, &full) != 0 || begin > full)
			goto bad;
	}
	if (c->max_startups_begin == UNSET) {
		c->max_startups_begin = begin;
		c->max_startups_rate = rate;
		c->max_startups_full = full;
	}
	return 0;
bad:
	seterr(err, errlen, "%s: bad value '%s' (N, or start:rate:full with "
	    "rate 1 to 100 and start <= full)", kw, a[0]);
	return -1;
}

static int
kw_auth_tries(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return int_kw(&c->max_auth_tries, kw, a[0], INT_MAX, err, errlen);
}

static int
kw_sessions(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return int_kw(&c->max_sessions, kw, a[0], INT_MAX, err, errlen);
}

static int
kw_listeners(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return int_kw(&c->max_listeners, kw, a[0], INT_MAX, err, errlen);
}

static int
kw_connect_timeout(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return time_kw(&c->forward_connect_timeout, kw, a[0], err, errlen);
}

static int
kw_pending_connects(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return int_kw(&c->max_pending_connects, kw, a[0], INT_MAX, err,
	    errlen);
}

static int
kw_user_channels(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return int_kw(&c->max_user_channels, kw, a[0], INT_MAX, err, errlen);
}

static int
kw_forward_conns(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	return int_kw(&c->max_forward_connections, kw, a[0], INT_MAX, err,
	    errlen);
}

static int
kw_loglevel(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(level_choices, NCHOICES(level_choices), kw, a[0],
	    "QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or "
	    "DEBUG3", &v, err, errlen) != 0)
		return -1;
	if (c->log_level == UNSET)
		c->log_level = v;
	return 0;
}

/* ferryd authenticates with public keys only: turning them off would
 * lock everyone out, which is surely not what the file means. */
static int
kw_pubkey(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int v;

	if (choose(yesno_choices, NCHOICES(yesno_choices), kw, a[0],
	    "yes or no", &v, err, errlen) != 0)
		return -1;
	if (v == 0) {
		seterr(err, errlen, "%s: 'no' is not supported: ferryd has "
		    "only public key authentication", kw);
		return -1;
	}
	return 0;
}

/* Keywords sshd knows that mean nothing to a tunnel-only server: the
 * values are ignored, and ferryd -d says so once per keyword. */
static int
kw_ignored(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int i;

	for (i = 0; i < c->nnoeffect; i++)
		if (c->noeffect[i] == kw)
			return 0;
	if (c->nnoeffect < SC_MAX_NOTES)
		c->noeffect[c->nnoeffect++] = kw;
	return 0;
}

/* note: for kw_refused and kw_none_only, why the keyword is refused. */
struct keyword {
	const char	*name;
	kw_fn		 fn;
	int		 min_args;
	int		 max_args;
	const char	*note;
};

static const struct keyword *keyword_find(const char *name);

/* Keywords that restrict who may log in or what a key may do, which
 * ferryd does not implement yet: running without them would give less
 * protection than the file asks for. */
static int
kw_refused(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	seterr(err, errlen, "%s is not supported: %s", kw,
	    keyword_find(kw)->note);
	return -1;
}

/* The same, except that "none" (sshd's default) asks for nothing. */
static int
kw_none_only(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	if (n == 1 && strcasecmp(a[0], "none") == 0)
		return 0;
	return kw_refused(c, kw, a, n, err, errlen);
}

/* "any" is what ferryd does; one family only is not implemented yet, and
 * ignoring it would listen and forward on the other family too. */
static int
kw_address_family(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	if (strcasecmp(a[0], "any") == 0)
		return 0;
	if (strcasecmp(a[0], "inet") == 0 || strcasecmp(a[0], "inet6") == 0) {
		seterr(err, errlen, "%s %s is not supported yet: ferryd would "
		    "still listen and forward on every address family (name "
		    "the addresses with ListenAddress)", kw, a[0]);
		return -1;
	}
	seterr(err, errlen, "%s: bad value '%s' (any, inet or inet6)", kw,
	    a[0]);
	return -1;
}

/* ferryd's only method is publickey: a list it satisfies is one where
 * some alternative is publickey alone; one asking for a second method
 * (or a second key) cannot be met and must not be ignored. */
static int
kw_auth_methods(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int i;

	if (n == 1 && strcmp(a[0], "any") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(a[i], "publickey") == 0)
			return 0;
	seterr(err, errlen, "%s is not supported: ferryd's only method is "
	    "one publickey, and no alternative here is 'publickey' alone", kw);
	return -1;
}

/* ferryd takes RSA keys from 1024 bits (sshd's default); a higher minimum
 * is not implemented yet. */
static int
kw_required_rsa(struct server_config *c, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	int bits;

	if (parse_int(a[0], 0, INT_MAX, &bits) != 0) {
		seterr(err, errlen, "%s: bad value '%s' (a number of bits)", kw,
		    a[0]);
		return -1;
	}
	if (bits > RSA_MIN_BITS) {
		seterr(err, errlen, "%s %d is not supported yet: ferryd accepts "
		    "RSA keys from %d bits (PubkeyAcceptedAlgorithms "
		    "-rsa-* refuses RSA keys)", kw, bits, RSA_MIN_BITS);
		return -1;
	}
	return 0;
}

#define AUTHZ	"ferryd would let in every user whose key is in the user's " \
		"AuthorizedKeysFile"
#define CERTS	"ferryd does not accept certificates yet"

static const struct keyword keywords[] = {
	{ "AcceptEnv", kw_ignored, 1, ANY_WORDS, NULL },
	{ "AddressFamily", kw_address_family, 1, 1, NULL },
	{ "AllowAgentForwarding", kw_ignored, 1, 1, NULL },
	{ "AllowGroups", kw_refused, 1, ANY_WORDS, AUTHZ },
	{ "AllowStreamLocalForwarding", kw_allow_streamlocal, 1, 1, NULL },
	{ "AllowTcpForwarding", kw_allow_tcp, 1, 1, NULL },
	{ "AllowUsers", kw_refused, 1, ANY_WORDS, AUTHZ },
	{ "AuthenticationMethods", kw_auth_methods, 1, ANY_WORDS, NULL },
	{ "AuthorizedKeysCommand", kw_none_only, 1, ANY_WORDS,
	    "ferryd reads keys only from AuthorizedKeysFile" },
	{ "AuthorizedKeysCommandUser", kw_ignored, 1, 1, NULL },
	{ "AuthorizedKeysFile", kw_authkeys, 1, ANY_WORDS, NULL },
	{ "AuthorizedPrincipalsCommand", kw_none_only, 1, ANY_WORDS, CERTS },
	{ "AuthorizedPrincipalsCommandUser", kw_ignored, 1, 1, NULL },
	{ "AuthorizedPrincipalsFile", kw_none_only, 1, 1, CERTS },
	{ "Banner", kw_ignored, 1, 1, NULL },
	{ "CASignatureAlgorithms", kw_ca_algs, 1, 1, NULL },
	{ "ChallengeResponseAuthentication", kw_ignored, 1, 1, NULL },
	{ "ChannelTimeout", kw_ignored, 1, ANY_WORDS, NULL },
	{ "ChrootDirectory", kw_none_only, 1, 1, "ferryd has no chroot "
	    "(Unix-socket paths are confined by StreamLocalDirectory)" },
	{ "Ciphers", kw_ciphers, 1, 1, NULL },
	{ "ClientAliveCountMax", kw_alive_count, 1, 1, NULL },
	{ "ClientAliveInterval", kw_alive_interval, 1, 1, NULL },
	{ "Compression", kw_ignored, 1, 1, NULL },
	{ "ControlSocket", kw_control_socket, 1, 1, NULL },
	{ "DebianBanner", kw_ignored, 1, 1, NULL },
	{ "DenyGroups", kw_refused, 1, ANY_WORDS, AUTHZ },
	{ "DenyUsers", kw_refused, 1, ANY_WORDS, AUTHZ },
	{ "DisableForwarding", kw_disable_fwd, 1, 1, NULL },
	{ "ExposeAuthInfo", kw_ignored, 1, 1, NULL },
	{ "FingerprintHash", kw_ignored, 1, 1, NULL },
	{ "ForceCommand", kw_ignored, 1, ANY_WORDS, NULL },
	{ "ForwardConnectTimeout", kw_connect_timeout, 1, 1, NULL },
	{ "GSSAPIAuthentication", kw_ignored, 1, 1, NULL },
	{ "GSSAPICleanupCredentials", kw_ignored, 1, 1, NULL },
	{ "GSSAPIKexAlgorithms", kw_ignored, 1, 1, NULL },
	{ "GSSAPIKeyExchange", kw_ignored, 1, 1, NULL },
	{ "GSSAPIStoreCredentialsOnRekey", kw_ignored, 1, 1, NULL },
	{ "GSSAPIStrictAcceptorCheck", kw_ignored, 1, 1, NULL },
	{ "GatewayPorts", kw_gateway, 1, 1, NULL },
	{ "HostCertificate", kw_ignored, 1, 1, NULL },
	{ "HostKey", kw_hostkey, 1, 1, NULL },
	{ "HostKeyAgent", kw_none_only, 1, 1,
	    "ferryd reads its host keys from HostKey files" },
	{ "HostKeyAlgorithms", kw_hostkey_algs, 1, 1, NULL },
	{ "HostbasedAcceptedAlgorithms", kw_ignored, 1, 1, NULL },
	{ "HostbasedAcceptedKeyTypes", kw_ignored, 1, 1, NULL },
	{ "HostbasedAuthentication", kw_ignored, 1, 1, NULL },
	{ "HostbasedUsesNameFromPacketOnly", kw_ignored, 1, 1, NULL },
	{ "IPQoS", kw_ignored, 1, 2, NULL },
	{ "IgnoreRhosts", kw_ignored, 1, 1, NULL },
	{ "IgnoreUserKnownHosts", kw_ignored, 1, 1, NULL },
	{ "KbdInteractiveAuthentication", kw_ignored, 1, 1, NULL },
	{ "KerberosAuthentication", kw_ignored, 1, 1, NULL },
	{ "KerberosGetAFSToken", kw_ignored, 1, 1, NULL },
	{ "KerberosOrLocalPasswd", kw_ignored, 1, 1, NULL },
	{ "KerberosTicketCleanup", kw_ignored, 1, 1, NULL },
	{ "KexAlgorithms", kw_kex_algs, 1, 1, NULL },
	{ "KeyPermitsCoverStreamLocal", kw_key_permits_sl, 1, 1, NULL },
	{ "ListenAddress", kw_listen, 1, 3, NULL },
	{ "LogLevel", kw_loglevel, 1, 1, NULL },
	{ "LogVerbose", kw_ignored, 1, ANY_WORDS, NULL },
	{ "LoginGraceTime", kw_grace, 1, 1, NULL },
	{ "MACs", kw_macs, 1, 1, NULL },
	{ "MaxAuthTries", kw_auth_tries, 1, 1, NULL },
	{ "MaxForwardConnections", kw_forward_conns, 1, 1, NULL },
	{ "MaxListeners", kw_listeners, 1, 1, NULL },
	{ "MaxPendingConnects", kw_pending_connects, 1, 1, NULL },
	{ "MaxSessions", kw_sessions, 1, 1, NULL },
	{ "MaxStartups", kw_startups, 1, 1, NULL },
	{ "MaxUserChannels", kw_user_channels, 1, 1, NULL },
	{ "MetricsListen", kw_metrics_listen, 1, 1, NULL },
	{ "ModuliFile", kw_ignored, 1, 1, NULL },
	{ "PasswordAuthentication", kw_ignored, 1, 1, NULL },
	{ "PerSourceMaxStartups", kw_none_only, 1, 1, "ferryd applies "
	    "MaxStartups to all sources together" },
	{ "PerSourceNetBlockSize", kw_ignored, 1, 1, NULL },
	{ "PermitEmptyPasswords", kw_ignored, 1, 1, NULL },
	{ "PermitListen", kw_permit_listen, 1, MAX_WORDS, NULL },
	{ "PermitOpen", kw_permit_open, 1, MAX_WORDS, NULL },
	{ "PermitRootLogin", kw_ignored, 1, 1, NULL },
	{ "PermitTTY", kw_ignored, 1, 1, NULL },
	{ "PermitTunnel", kw_ignored, 1, 1, NULL },
	{ "PermitUserEnvironment", kw_ignored, 1, 1, NULL },
	{ "PermitUserRC", kw_ignored, 1, 1, NULL },
	{ "PidFile", kw_pid_file, 1, 1, NULL },
	{ "Port", kw_port, 1, 1, NULL },
	{ "PrintLastLog", kw_ignored, 1, 1, NULL },
	{ "PrintMotd", kw_ignored, 1, 1, NULL },
	{ "Protocol", kw_ignored, 1, 1, NULL },
	{ "PubkeyAcceptedAlgorithms", kw_pubkey_algs, 1, 1, NULL },
	{ "PubkeyAcceptedKeyTypes", kw_pubkey_algs, 1, 1, NULL },
	{ "PubkeyAuthOptions", kw_ignored, 1, ANY_WORDS, NULL },
	{ "PubkeyAuthentication", kw_pubkey, 1, 1, NULL },
	{ "ReclaimForwards", kw_reclaim, 1, 1, NULL },
	{ "RekeyLimit", kw_ignored, 1, 2, NULL },
	{ "RequiredRSASize", kw_required_rsa, 1, 1, NULL },
	{ "RevokedKeys", kw_none_only, 1, 1,
	    "ferryd cannot check a revocation list yet" },
	{ "RunAsUser", kw_user, 1, 1, NULL },
	{ "SecurityKeyProvider", kw_ignored, 1, 1, NULL },
	{ "SetEnv", kw_ignored, 1, ANY_WORDS, NULL },
	{ "StateDirectory", kw_state_dir, 1, 1, NULL },
	{ "StreamLocalBindMask", kw_sl_mask, 1, 1, NULL },
	{ "StreamLocalBindUnlink", kw_sl_unlink, 1, 1, NULL },
	{ "StreamLocalDirectory", kw_sl_dir, 1, 1, NULL },
	{ "StrictModes", kw_ignored, 1, 1, NULL },
	{ "Subsystem", kw_ignored, 1, ANY_WORDS, NULL },
	{ "SyslogFacility", kw_ignored, 1, 1, NULL },
	{ "TCPKeepAlive", kw_ignored, 1, 1, NULL },
	{ "TrustedUserCAKeys", kw_none_only, 1, 1, CERTS },
	{ "UnusedConnectionTimeout", kw_ignored, 1, 1, NULL },
	{ "UseDNS", kw_ignored, 1, 1, NULL },
	{ "UsePAM", kw_ignored, 1, 1, NULL },
	{ "UsePrivilegeSeparation", kw_ignored, 1, 1, NULL },
	{ "VersionAddendum", kw_ignored, 1, ANY_WORDS, NULL },
	{ "X11DisplayOffset", kw_ignored, 1, 1, NULL },
	{ "X11Forwarding", kw_ignored, 1, 1, NULL },
	{ "X11UseLocalhost", kw_ignored, 1, 1, NULL },
	{ "XAuthLocation", kw_ignored, 1, 1, NULL },
};

static const struct keyword *
keyword_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcasecmp(keywords[i].name, name) == 0)
			return &keywords[i];
	return NULL;
}

/* Messages quote what the file says: no control characters in them. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

static int
apply_words(struct server_config *c, char **w, int n, const char *where,
    char *err, size_t errlen)
{
	const struct keyword *kw;
	char why[1024];
	int i;

	if (strcasecmp(w[0], "Match") == 0) {
		seterr(err, errlen, "%s: Match blocks are not supported",
		    where);
		return -1;
	}
	if (strcasecmp(w[0], "Include") == 0) {
		seterr(err, errlen, "%s: Include is not supported", where);
		return -1;
	}
	if ((kw = keyword_find(w[0])) == NULL) {
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
	if (kw->fn(c, kw->name, w + 1, n - 1, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s: %s", where, why[0] ? why :
		    "out of memory");
		return -1;
	}
	return 0;
}

/* Applies one line held in a writable buffer. */
static int
apply_buf(struct server_config *c, char *line, const char *where, char *err,
    size_t errlen)
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
	w[0] = tl.keyword;
	for (n = 0; n < tl.nargs; n++)
		w[n + 1] = tl.args[n];
	n++;
	r = apply_words(c, w, n, where, err, errlen);
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
	r = apply_buf(c, copy, where, err, errlen);
	free(copy);
	return r;
}

int
server_config_text(struct server_config *c, const char *text, size_t len,
    const char *fname, char *err, size_t errlen)
{
	char line[MAX_LINE], where[600];
	size_t i = 0, j, ll;
	int lineno = 0;

	while (i < len) {
		for (j = i; j < len && text[j] != '\n'; j++)
			;
		ll = j - i;
		lineno++;
		snprintf(where, sizeof(where), "%s line %d", fname, lineno);
		if (ll >= sizeof(line) || memchr(text + i, '\0', ll) != NULL) {
			seterr(err, errlen, "%s: line too long or contains "
			    "a NUL byte", where);
			return -1;
		}
		memcpy(line, text + i, ll);
		line[ll] = '\0';
		i = j + 1;
		if (apply_buf(c, line, where, err, errlen) != 0)
			return -1;
	}
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

static void
int_default(int *field, int v)
{
	if (*field == UNSET)
		*field = v;
}

/* StreamLocalDirectory: sockets/%u under StateDirectory by default, and
 * a relative value is under it too (ferryd has no home directories). */
static int
sl_dir_default(struct server_config *c)
{
	const char *v = c->streamlocal_dir ? c->streamlocal_dir : DEF_SL_DIR;
	char *full;

	struct wb w;
	const char *p;

	if (strcasecmp(v, "none") == 0 || v[0] == '/')
		return c->streamlocal_dir == NULL ? set_str(&c->streamlocal_dir,
		    v, NULL, 0) : 0;
	/* the value takes %u and %%: a '%' of StateDirectory is doubled */
	wb_init(&w);
	for (p = c->state_dir; *p != '\0'; p++)
		wb_put(&w, *p == '%' ? "%%" : p, *p == '%' ? 2 : 1);
	wb_printf(&w, "/%s", v);
	wb_u8(&w, 0);
	if (w.err || (full = strdup((const char *)w.p)) == NULL) {
		wb_free(&w);
		return -1;
	}
	wb_free(&w);
	free(c->streamlocal_dir);
	c->streamlocal_dir = full;
	return 0;
}

int
server_config_finish(struct server_config *c, char *err, size_t errlen)
{
	if (c->nports == 0)
		c->ports[c->nports++] = DEF_PORT;
	if (c->nauthorized_keys == 0 &&
	    (c->authorized_keys[0] = strdup(DEF_AUTHKEYS)) != NULL)
		c->nauthorized_keys = 1;
	if (c->nauthorized_keys == 0 ||
	    (c->ciphers == NULL &&
	    (c->ciphers = strdup(ssh_cipher_default)) == NULL) ||
	    (c->macs == NULL && (c->macs = strdup(ssh_mac_default)) == NULL) ||
	    (c->kex_algs == NULL &&
	    (c->kex_algs = strdup(ssh_kex_default)) == NULL) ||
	    (c->hostkey_algs == NULL &&
	    (c->hostkey_algs = strdup(ssh_hostkey_default)) == NULL) ||
	    (c->pubkey_algs == NULL &&
	    (c->pubkey_algs = strdup(ssh_pubkey_default)) == NULL) ||
	    (c->ca_sign_algs == NULL &&
	    (c->ca_sign_algs = strdup(ssh_pubkey_default)) == NULL) ||
	    (c->state_dir == NULL &&
	    (c->state_dir = strdup(DEF_STATE_DIR)) == NULL)) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (c->gateway_ports == GW_UNSET)
		c->gateway_ports = GW_NO;
	if (c->allow_tcp_forwarding == FWD_UNSET)
		c->allow_tcp_forwarding = FWD_ALLOW_ALL;
	if (c->allow_streamlocal_forwarding == FWD_UNSET)
		c->allow_streamlocal_forwarding = FWD_ALLOW_ALL;
	if (c->streamlocal_bind_unlink == UNSET)
		c->streamlocal_bind_unlink = 0;
	if (c->streamlocal_bind_mask == UNSET)
		c->streamlocal_bind_mask = 0177;
	if (c->control_socket == NULL && asprintf(&c->control_socket,
	    "%s/ferryd.sock", c->state_dir) == -1) {
		c->control_socket = NULL;
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (sl_dir_default(c) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	int_default(&c->key_permits_cover_sl, 1);
	if (c->reclaim_forwards == UNSET)
		c->reclaim_forwards = 1;
	if (c->npermit_open == FWD_PERMIT_UNSET)
		c->npermit_open = -1;
	if (c->npermit_listen == FWD_PERMIT_UNSET)
		c->npermit_listen = -1;
	int_default(&c->client_alive_interval, 0);
	int_default(&c->client_alive_count_max, DEF_ALIVE_COUNT);
	int_default(&c->login_grace_time, DEF_GRACE);
	if (c->max_startups_begin == UNSET) {
		c->max_startups_begin = DEF_STARTUPS_BEGIN;
		c->max_startups_rate = DEF_STARTUPS_RATE;
		c->max_startups_full = DEF_STARTUPS_FULL;
	}
	int_default(&c->max_auth_tries, DEF_AUTH_TRIES);
	int_default(&c->max_sessions, DEF_SESSIONS);
	int_default(&c->max_listeners, DEF_LISTENERS);
	int_default(&c->forward_connect_timeout, DEF_CONNECT_TIMEOUT);
	int_default(&c->max_pending_connects, DEF_PENDING_CONNECTS);
	int_default(&c->max_user_channels, DEF_USER_CHANNELS);
	int_default(&c->max_forward_connections, DEF_FORWARD_CONNS);
	int_default(&c->log_level, LOG_INFO);
	return 0;
}

/* Prints a value so that reading the output back gives it again: in
 * double quotes when it holds blanks, quotes or a backslash (which the
 * tokenizer then takes escaped). */
static void
print_word(FILE *fp, const char *s)
{
	bool quote = *s == '\0' || *s == '#' || *s == '=' ||
	    strpbrk(s, " \t\r\n\"'\\") != NULL;

	if (!quote) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
print_kv(FILE *fp, const char *kw, const char *v)
{
	fprintf(fp, "%s ", kw);
	print_word(fp, v != NULL ? v : "none");
	fputc('\n', fp);
}

static const char *
choice_word(const struct choice *tab, size_t n, int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tab[i].value == v)
			return tab[i].word;
	return "?";
}

/* port < 0: addr already carries its port. */
static void
print_listen(FILE *fp, const char *addr, int port)
{
	char buf[600];

	if (port < 0)
		snprintf(buf, sizeof(buf), "%s", addr);
	else
		snprintf(buf, sizeof(buf), "%s%s%s:%d",
		    strchr(addr, ':') ? "[" : "", addr,
		    strchr(addr, ':') ? "]" : "", port);
	fprintf(fp, "listenaddress ");
	print_word(fp, buf);
	fputc('\n', fp);
}

/* Stored ListenAddress values carry a port when bracketed or when they
 * have exactly one colon (a bare IPv6 address has two or more). */
static bool
listen_has_port(const char *a)
{
	const char *colon = strchr(a, ':');

	return a[0] == '[' || (colon != NULL && strchr(colon + 1, ':') ==
	    NULL);
}

static void
print_permits(FILE *fp, const char *kw, const struct fwd_permit *p, int n)
{
	char buf[300], port[16];
	int i;

	fprintf(fp, "%s", kw);
	if (n < 0)
		fprintf(fp, " any");
	else if (n == 0)
		fprintf(fp, " none");
	for (i = 0; i < n; i++) {
		if (p[i].port < 0)
			snprintf(port, sizeof(port), "*");
		else
			snprintf(port, sizeof(port), "%d", p[i].port);
		snprintf(buf, sizeof(buf), "%s%s%s:%s",
		    strchr(p[i].host, ':') ? "[" : "", p[i].host,
		    strchr(p[i].host, ':') ? "]" : "", port);
		fputc(' ', fp);
		print_word(fp, buf);
	}
	fputc('\n', fp);
}

void
server_config_print(const struct server_config *c, FILE *fp)
{
	int i, j;

	for (i = 0; i < c->nports; i++)
		fprintf(fp, "port %d\n", c->ports[i]);
	for (i = 0; i < c->nlisten; i++) {
		if (listen_has_port(c->listen[i]))
			print_listen(fp, c->listen[i], -1);
		else
			for (j = 0; j < c->nports; j++)
				print_listen(fp, c->listen[i], c->ports[j]);
	}
	if (c->nlisten == 0)
		for (j = 0; j < c->nports; j++) {
			print_listen(fp, "::", c->ports[j]);
			print_listen(fp, "0.0.0.0", c->ports[j]);
		}
	for (i = 0; i < c->nhostkeys; i++)
		print_kv(fp, "hostkey", c->hostkeys[i]);
	fprintf(fp, "authorizedkeysfile");
	for (i = 0; i < c->nauthorized_keys; i++) {
		fputc(' ', fp);
		print_word(fp, c->authorized_keys[i]);
	}
	fputc('\n', fp);
	print_kv(fp, "ciphers", c->ciphers);
	print_kv(fp, "macs", c->macs);
	print_kv(fp, "kexalgorithms", c->kex_algs);
	print_kv(fp, "hostkeyalgorithms", c->hostkey_algs);
	print_kv(fp, "pubkeyacceptedalgorithms", c->pubkey_algs);
	print_kv(fp, "casignaturealgorithms", c->ca_sign_algs);
	fprintf(fp, "gatewayports %s\n", choice_word(gateway_choices,
	    NCHOICES(gateway_choices), (int)c->gateway_ports));
	fprintf(fp, "allowtcpforwarding %s\n", choice_word(fwd_choices,
	    NCHOICES(fwd_choices), (int)c->allow_tcp_forwarding));
	fprintf(fp, "allowstreamlocalforwarding %s\n", choice_word(fwd_choices,
	    NCHOICES(fwd_choices), (int)c->allow_streamlocal_forwarding));
	fprintf(fp, "streamlocalbindmask %04o\n", c->streamlocal_bind_mask);
	fprintf(fp, "streamlocalbindunlink %s\n",
	    c->streamlocal_bind_unlink ? "yes" : "no");
	print_kv(fp, "streamlocaldirectory", c->streamlocal_dir);
	fprintf(fp, "keypermitscoverstreamlocal %s\n",
	    c->key_permits_cover_sl ? "yes" : "no");
	fprintf(fp, "reclaimforwards %s\n", c->reclaim_forwards ? "yes" : "no");
	print_permits(fp, "permitopen", c->permit_open, c->npermit_open);
	print_permits(fp, "permitlisten", c->permit_listen,
	    c->npermit_listen);
	fprintf(fp, "clientaliveinterval %d\n", c->client_alive_interval);
	fprintf(fp, "clientalivecountmax %d\n", c->client_alive_count_max);
	fprintf(fp, "logingracetime %d\n", c->login_grace_time);
	fprintf(fp, "maxstartups %d:%d:%d\n", c->max_startups_begin,
	    c->max_startups_rate, c->max_startups_full);
	fprintf(fp, "maxauthtries %d\n", c->max_auth_tries);
	fprintf(fp, "maxsessions %d\n", c->max_sessions);
	fprintf(fp, "maxlisteners %d\n", c->max_listeners);
	fprintf(fp, "forwardconnecttimeout %d\n", c->forward_connect_timeout);
	fprintf(fp, "maxpendingconnects %d\n", c->max_pending_connects);
	fprintf(fp, "maxuserchannels %d\n", c->max_user_channels);
	fprintf(fp, "maxforwardconnections %d\n", c->max_forward_connections);
	fprintf(fp, "loglevel %s\n", choice_word(level_choices,
	    NCHOICES(level_choices), c->log_level));
	print_kv(fp, "pidfile", c->pid_file);
	print_kv(fp, "statedirectory", c->state_dir);
	print_kv(fp, "runasuser", c->user);
	print_kv(fp, "controlsocket", c->control_socket);
	print_kv(fp, "metricslisten", c->metrics_listen);
}

void
server_config_log_notes(const struct server_config *c)
{
	int i;

	for (i = 0; i < c->nnoeffect; i++)
		log_verbose("%s has no effect in ferryd", c->noeffect[i]);
}
