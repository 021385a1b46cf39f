/* Command line and ssh_config parsing for ferry. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/sshkw.h"
#include "ssh/cipher.h"
#include "ssh/ssh.h"
#include "util/cfgtok.h"

#define OPTSTRING	":46c:gi:l:o:p:qvD:E:F:GL:NR:S:T"

void
options_init(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->port = -1;
	o->family = AF_UNSPEC;
	o->strict = SHK_UNSET;
	o->batch_mode = -1;
	o->rekey_bytes = -1;
	o->connect_timeout = -1;
	o->gateway_ports = -1;
	o->exit_on_forward_failure = -1;
	o->hash_known_hosts = -1;
	o->server_alive_interval = -1;
	o->server_alive_count_max = -1;
	o->tcp_keepalive = -1;
	o->identities_only = -1;
	o->npermit_remote_open = FWD_PERMIT_UNSET;
	o->stream_local_bind_unlink = -1;
	o->stream_local_bind_mask = -1;
	o->reconnect = -1;
	o->reconnect_delay_ms = -1;
	o->reconnect_max_delay_ms = -1;
	o->log_level = LOG_INFO;
}

void
options_free(struct options *o)
{
	int i;

	free(o->host);
	free(o->hostname);
	free(o->user);
	for (i = 0; i < o->nidentity; i++)
		free(o->identity[i]);
	for (i = 0; i < o->nknown_hosts; i++)
		free(o->known_hosts[i]);
	free(o->ciphers);
	free(o->macs);
	free(o->config_file);
	free(o->log_file);
	free(o->identity_agent);
	free(o->control_path);
	free(o->metrics_listen);
	free(o->ignore_unknown);
	sshkw_free(o);
	memset(o, 0, sizeof(*o));
}

/* Paths are kept as written: ~ and %-tokens are expanded once every
 * value is known (options_expand, at options_finish), as ssh does. */
static char *
expand_tilde(const char *path)
{
	return strdup(path);
}

static int
parse_yesno(const char *v, int *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
		*out = 1;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
		*out = 0;
	else
		return -1;
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

typedef int (*kw_fn)(struct options *, char **args, int nargs, char *err,
    size_t errlen);

static int
kw_port(struct options *o, char **a, int n, char *err, size_t errlen)
{
	char *end;
	long v = strtol(a[0], &end, 10);

	if (*end != '\0' || v < 1 || v > 65535) {
		snprintf(err, errlen, "Bad port '%s'", a[0]);
		return -1;
	}
	if (o->port < 0)
		o->port = (int)v;
	return 0;
}

static int
set_str(char **field, const char *v)
{
	if (*field == NULL && (*field = strdup(v)) == NULL)
		return -1;
	return 0;
}

static int
kw_user(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return set_str(&o->user, a[0]);
}

static int
kw_hostname(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return set_str(&o->hostname, a[0]);
}

static int
kw_identity(struct options *o, char **a, int n, char *err, size_t errlen)
{
	if (o->nidentity >= MAX_IDENTITIES) {
		snprintf(err, errlen, "Too many identity files specified "
		    "(max %d)", MAX_IDENTITIES);
		return -1;
	}
	o->identity_given = true;
	for (int i = 0; i < o->nidentity; i++)
		if (strcmp(o->identity[i], a[0]) == 0)
			return 0;	/* as ssh: the same file once */
	if ((o->identity[o->nidentity] = expand_tilde(a[0])) == NULL)
		return -1;
	o->nidentity++;
	return 0;
}

static int
kw_strict(struct options *o, char **a, int n, char *err, size_t errlen)
{
	enum strict_hk v;

	if (strcasecmp(a[0], "yes") == 0 || strcasecmp(a[0], "true") == 0)
		v = SHK_YES;
	else if (strcasecmp(a[0], "no") == 0 || strcasecmp(a[0], "off") == 0 ||
	    strcasecmp(a[0], "false") == 0)
		v = SHK_NO;
	else if (strcasecmp(a[0], "accept-new") == 0)
		v = SHK_ACCEPT_NEW;
	else if (strcasecmp(a[0], "ask") == 0)
		v = SHK_ASK;
	else {
		snprintf(err, errlen, "unsupported StrictHostKeyChecking "
		    "value '%s'", a[0]);
		return -1;
	}
	if (o->strict == SHK_UNSET)
		o->strict = v;
	return 0;
}

static int
kw_known_hosts(struct options *o, char **a, int n, char *err, size_t errlen)
{
	int i;

	if (o->nknown_hosts > 0)
		return 0;
	for (i = 0; i < n && i < MAX_KH_FILES; i++)
		if ((o->known_hosts[o->nknown_hosts++] =
		    expand_tilde(a[i])) == NULL)
			return -1;
	return 0;
}

static int
yesno_into(int *field, const char *kw, const char *v, char *err,
    size_t errlen)
{
	int b;

	if (parse_yesno(v, &b) != 0) {
		snprintf(err, errlen, "%s takes yes or no, not '%s'", kw, v);
		return -1;
	}
	if (*field < 0)
		*field = b;
	return 0;
}

static int
kw_ids_only(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return yesno_into(&o->identities_only, "IdentitiesOnly", a[0], err,
	    errlen);
}

static int
kw_identity_agent(struct options *o, char **a, int n, char *err,
    size_t errlen)
{
	if (o->identity_agent != NULL)
		return 0;
	o->identity_agent = expand_tilde(a[0]);
	return o->identity_agent ? 0 : -1;
}

static int
kw_control_path(struct options *o, char **a, int n, char *err,
    size_t errlen)
{
	if (o->control_path != NULL)
		return 0;
	o->control_path = expand_tilde(a[0]);
	return o->control_path ? 0 : -1;
}

static int
kw_metrics(struct options *o, char **a, int n, char *err, size_t errlen)
{
	if (o->metrics_listen != NULL)
		return 0;
	o->metrics_listen = strdup(a[0]);
	return o->metrics_listen ? 0 : -1;
}

static int
kw_batch(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return yesno_into(&o->batch_mode, "BatchMode", a[0], err, errlen);
}

static int
kw_gateway(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return yesno_into(&o->gateway_ports, "GatewayPorts", a[0], err,
	    errlen);
}

static int
kw_exit_fwd(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return yesno_into(&o->exit_on_forward_failure, "ExitOnForwardFailure",
	    a[0], err, errlen);
}

static int
kw_hash_kh(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return yesno_into(&o->hash_known_hosts, "HashKnownHosts", a[0], err,
	    errlen);
}

static int
alg_list(char **field, const char *v, const char *all, const char *what,
    char *err, size_t errlen)
{
	char bad[128];

	if (ssh_algs_validate(v, all, bad, sizeof(bad)) >= 0) {
		snprintf(err, errlen, "Unknown %s '%s' (supported: %s)", what,
		    bad, all);
		return -1;
	}
	return set_str(field, v);
}

static int
kw_ciphers(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return alg_list(&o->ciphers, a[0], ssh_cipher_all, "cipher type",
	    err, errlen);
}

static int
kw_macs(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return alg_list(&o->macs, a[0], ssh_mac_all, "MAC", err, errlen);
}

static int
kw_rekey(struct options *o, char **a, int n, char *err, size_t errlen)
{
	int64_t v = 0;

	if (strcasecmp(a[0], "default") != 0 && strcasecmp(a[0], "none") != 0 &&
	    parse_size(a[0], &v) != 0) {
		snprintf(err, errlen, "Bad RekeyLimit '%s'", a[0]);
		return -1;
	}
	/* the second argument, the time limit, is printed by -G; the engine
	 * rekeys by volume and its own time limit */
	if (n == 2 && strcasecmp(a[1], "none") != 0 &&
	    sshkw_convtime(a[1]) < 0) {
		snprintf(err, errlen, "Bad RekeyLimit time '%s'", a[1]);
		return -1;
	}
	if (o->rekey_bytes < 0) {
		o->rekey_bytes = v;
		o->rekey_seconds = n == 2 && strcasecmp(a[1], "none") != 0 ?
		    (int)sshkw_convtime(a[1]) : 0;
	}
	return 0;
}

/* Seconds in ssh's time format (30, 1m30s), up to max. */
static int
time_into(int *field, const char *kw, const char *v, long max, char *err,
    size_t errlen)
{
	long t = sshkw_convtime(v);

	if (t < 0 || t > max) {
		snprintf(err, errlen, "Bad %s '%s'", kw, v);
		return -1;
	}
	if (*field < 0)
		*field = (int)t;
	return 0;
}

static int
kw_timeout(struct options *o, char **a, int n, char *err, size_t errlen)
{
	if (strcasecmp(a[0], "none") == 0)
		return time_into(&o->connect_timeout, "ConnectTimeout", "0",
		    86400, err, errlen);
	return time_into(&o->connect_timeout, "ConnectTimeout", a[0], 86400,
	    err, errlen);
}

static int
add_forward(struct options *o, enum fwd_kind kind, const char *spec,
    char *err, size_t errlen)
{
	struct fwd_spec *v = kind != FWD_REMOTE ? o->local : o->remote;
	int *n = kind != FWD_REMOTE ? &o->nlocal : &o->nremote;

	if (*n >= MAX_FORWARDS) {
		snprintf(err, errlen, "too many forwards (max %d)",
		    MAX_FORWARDS);
		return -1;
	}
	if (fwd_spec_parse(spec, kind, &v[*n], err, errlen) != 0)
		return -1;
	if (options_has_forward(o, &v[*n]))
		return 0;	/* as ssh: the same forward once */
	(*n)++;
	return 0;
}

/* LocalForward / RemoteForward listen target (either may be a path);
 * RemoteForward and DynamicForward [bind_address:]port alone are SOCKS */
static int
forward_kw(struct options *o, enum fwd_kind kind, char **a, int n,
    char *err, size_t errlen)
{
	static const char *const kws[] = { "LocalForward", "RemoteForward",
	    "DynamicForward" };
	char spec[600];

	if (n != 2 && (kind == FWD_LOCAL || n != 1)) {
		snprintf(err, errlen, "%s takes %s", kws[kind],
		    kind == FWD_DYNAMIC ? "[bind_address:]port" :
		    kind == FWD_LOCAL ? "[bind_address:]port host:hostport" :
		    "[bind_address:]port [host:hostport]");
		return -1;
	}
	if (kind == FWD_DYNAMIC && n != 1) {
		snprintf(err, errlen, "DynamicForward takes "
		    "[bind_address:]port");
		return -1;
	}
	snprintf(spec, sizeof(spec), n == 2 ? "%s:%s" : "%s", a[0], a[1]);
	return add_forward(o, kind, spec, err, errlen);
}

static int
kw_dynamic(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return forward_kw(o, FWD_DYNAMIC, a, n, err, errlen);
}

static int
kw_permit_remote_open(struct options *o, char **a, int n, char *err,
    size_t errlen)
{
	return fwd_permit_words(o->permit_remote_open, MAX_PERMITS,
	    &o->npermit_remote_open, false, "PermitRemoteOpen", a, n, err,
	    errlen);
}

static int
kw_sl_unlink(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return yesno_into(&o->stream_local_bind_unlink,
	    "StreamLocalBindUnlink", a[0], err, errlen);
}

static int
kw_reconnect(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return yesno_into(&o->reconnect, "Reconnect", a[0], err, errlen);
}

/* Seconds, fractions allowed (0.1 to 3600). */
static int
delay_into(int *field, const char *kw, const char *v, char *err,
    size_t errlen)
{
	char *end;
	double d;

	d = strtod(v, &end);
	if (v[0] == '\0' || *end != '\0' || !(d >= 0.1 && d <= 3600)) {
		snprintf(err, errlen, "%s takes seconds from 0.1 to 3600, not "
		    "'%s'", kw, v);
		return -1;
	}
	if (*field < 0)
		*field = (int)(d * 1000 + 0.5);
	return 0;
}

static int
kw_reconnect_delay(struct options *o, char **a, int n, char *err,
    size_t errlen)
{
	return delay_into(&o->reconnect_delay_ms, "ReconnectDelay", a[0], err,
	    errlen);
}

static int
kw_reconnect_max(struct options *o, char **a, int n, char *err,
    size_t errlen)
{
	return delay_into(&o->reconnect_max_delay_ms, "ReconnectMaxDelay",
	    a[0], err, errlen);
}

/* An octal umask for the Unix sockets ferry binds (ssh: 0177). */
static int
kw_sl_mask(struct options *o, char **a, int n, char *err, size_t errlen)
{
	char *end;
	long v;

	v = strtol(a[0], &end, 8);
	if (a[0][0] == '\0' || *end != '\0' || v < 0 || v > 0777) {
		snprintf(err, errlen, "StreamLocalBindMask takes an octal "
		    "mask 0-0777, not '%s'", a[0]);
		return -1;
	}
	if (o->stream_local_bind_mask < 0)
		o->stream_local_bind_mask = (int)v;
	return 0;
}

static int
kw_local(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return forward_kw(o, FWD_LOCAL, a, n, err, errlen);
}

static int
kw_remote(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return forward_kw(o, FWD_REMOTE, a, n, err, errlen);
}

static int
int_into(int *field, const char *kw, const char *v, int min, int max,
    char *err, size_t errlen)
{
	char *end;
	long x = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || x < min || x > max) {
		snprintf(err, errlen, "%s takes a number from %d to %d, not "
		    "'%s'", kw, min, max, v);
		return -1;
	}
	if (*field < 0)
		*field = (int)x;
	return 0;
}

static int
kw_alive_interval(struct options *o, char **a, int n, char *err,
    size_t errlen)
{
	if (sshkw_convtime(a[0]) < 0 || sshkw_convtime(a[0]) > 86400) {
		snprintf(err, errlen, "ServerAliveInterval takes a number from "
		    "0 to 86400, not '%s'", a[0]);
		return -1;
	}
	if (o->server_alive_interval < 0)
		o->server_alive_interval = (int)sshkw_convtime(a[0]);
	return 0;
}

static int
kw_alive_count(struct options *o, char **a, int n, char *err, size_t errlen)
{
	return int_into(&o->server_alive_count_max, "ServerAliveCountMax",
	    a[0], 0, 10000, err, errlen);
}

static int
kw_tcp_keepalive(struct options *o, char **a, int n, char *err,
    size_t errlen)
{
	return yesno_into(&o->tcp_keepalive, "TCPKeepAlive", a[0], err,
	    errlen);
}

static int
kw_family(struct options *o, char **a, int n, char *err, size_t errlen)
{
	if (o->family != AF_UNSPEC)
		return 0;
	if (strcasecmp(a[0], "inet") == 0)
		o->family = AF_INET;
	else if (strcasecmp(a[0], "inet6") == 0)
		o->family = AF_INET6;
	else if (strcasecmp(a[0], "any") != 0) {
		snprintf(err, errlen, "Bad AddressFamily '%s'", a[0]);
		return -1;
	}
	return 0;
}

static int
kw_loglevel(struct options *o, char **a, int n, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{ "QUIET", LOG_QUIET }, { "FATAL", LOG_ERROR },
		{ "ERROR", LOG_ERROR }, { "INFO", LOG_INFO },
		{ "VERBOSE", LOG_VERBOSE }, { "DEBUG", LOG_VERBOSE },
		{ "DEBUG1", LOG_VERBOSE }, { "DEBUG2", LOG_DEBUG },
		{ "DEBUG3", LOG_DEBUG2 },
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(a[0], levels[i].name) == 0) {
			if (!o->log_level_set)
				o->log_level = levels[i].level;
			o->log_level_set = true;
			return 0;
		}
	snprintf(err, errlen, "Bad LogLevel '%s'", a[0]);
	return -1;
}

static const struct keyword {
	const char	*name;
	kw_fn		 fn;
	int		 min_args;
	int		 max_args;
} keywords[] = {
	{ "AddressFamily", kw_family, 1, 1 },
	{ "BatchMode", kw_batch, 1, 1 },
	{ "Ciphers", kw_ciphers, 1, 1 },
	{ "ConnectTimeout", kw_timeout, 1, 1 },
	{ "ControlPath", kw_control_path, 1, 1 },
	{ "DynamicForward", kw_dynamic, 1, 2 },
	{ "ExitOnForwardFailure", kw_exit_fwd, 1, 1 },
	{ "GatewayPorts", kw_gateway, 1, 1 },
	{ "HashKnownHosts", kw_hash_kh, 1, 1 },
	{ "HostName", kw_hostname, 1, 1 },
	{ "IdentitiesOnly", kw_ids_only, 1, 1 },
	{ "IdentityAgent", kw_identity_agent, 1, 1 },
	{ "IdentityFile", kw_identity, 1, 1 },
	{ "LocalForward", kw_local, 1, 2 },
	{ "LogLevel", kw_loglevel, 1, 1 },
	{ "MACs", kw_macs, 1, 1 },
	{ "MetricsListen", kw_metrics, 1, 1 },
	{ "PermitRemoteOpen", kw_permit_remote_open, 1, MAX_PERMITS },
	{ "Port", kw_port, 1, 1 },
	{ "Reconnect", kw_reconnect, 1, 1 },
	{ "ReconnectDelay", kw_reconnect_delay, 1, 1 },
	{ "ReconnectMaxDelay", kw_reconnect_max, 1, 1 },
	{ "RekeyLimit", kw_rekey, 1, 2 },
	{ "RemoteForward", kw_remote, 1, 2 },
	{ "ServerAliveCountMax", kw_alive_count, 1, 1 },
	{ "ServerAliveInterval", kw_alive_interval, 1, 1 },
	{ "StreamLocalBindMask", kw_sl_mask, 1, 1 },
	{ "StreamLocalBindUnlink", kw_sl_unlink, 1, 1 },
	{ "StrictHostKeyChecking", kw_strict, 1, 1 },
	{ "TCPKeepAlive", kw_tcp_keepalive, 1, 1 },
	{ "User", kw_user, 1, 1 },
	{ "UserKnownHostsFile", kw_known_hosts, 1, 8 },
	/* old names OpenSSH still accepts for the keywords above */
	{ "IdentityFile2", kw_identity, 1, 1 },
	{ "KeepAlive", kw_tcp_keepalive, 1, 1 },
	/* Debian's OpenSSH */
	{ "ProtocolKeepAlives", kw_alive_interval, 1, 1 },
	{ "SetupTimeOut", kw_timeout, 1, 1 },
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

int
options_apply_words(struct options *o, char **w, int n, const char *where,
    char *err, size_t errlen)
{
	const struct keyword *kw;
	char why[512];
	int ext;

	if (file_only(w[0])) {
		snprintf(err, errlen, "%s: %s directive not supported as a "
		    "command-line option", where, w[0]);
		return -1;
	}
	if (strcasecmp(w[0], "IgnoreUnknown") == 0) {
		if (n != 2) {
			snprintf(err, errlen, "%s: IgnoreUnknown: %s "
			    "argument", where, n < 2 ? "missing" : "too many");
			return -1;
		}
		return set_str(&o->ignore_unknown, w[1]);
	}
	why[0] = '\0';
	if ((kw = keyword_find(w[0])) == NULL) {
		if ((ext = sshkw_find(w[0])) < 0)
			return unknown_keyword(o, w[0], where, err, errlen);
		if (sshkw_apply(o, ext, w + 1, n - 1, why, sizeof(why)) == 0)
			return 0;
		snprintf(err, errlen, "%s: %s", where, why);
		return -1;
	}
	if (n - 1 < kw->min_args || n - 1 > kw->max_args) {
		snprintf(err, errlen, "%s: %s: %s argument", where, kw->name,
		    n - 1 < kw->min_args ? "missing" : "too many");
		return -1;
	}
	if (kw->fn(o, w + 1, n - 1, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", where, why[0] ? why :
		    "out of memory");
		return -1;
	}
	return 0;
}

int
options_check_words(struct options *o, char **w, int n, const char *where,
    char *err, size_t errlen)
{
	char why[512];
	int ext;

	if (keyword_find(w[0]) != NULL ||
	    strcasecmp(w[0], "IgnoreUnknown") == 0)
		return 0;
	if ((ext = sshkw_find(w[0])) < 0)
		return unknown_keyword(o, w[0], where, err, errlen);
	why[0] = '\0';
	if (sshkw_check(ext, w + 1, n - 1, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", where, why);
	return -1;
}

int
options_apply_line(struct options *o, const char *line, const char *where,
    char *err, size_t errlen)
{
	struct cfgtok_line tl;
	char *copy, *w[CFGTOK_MAX_ARGS + 1];
	int r = -1, i, t;

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
	else {
		w[0] = tl.keyword;
		for (i = 0; i < tl.nargs; i++)
			w[i + 1] = tl.args[i];
		r = options_apply_words(o, w, tl.nargs + 1, where, err,
		    errlen);
	}
	free(copy);
	return r;
}

/* One pattern list "a,b !c" against host: a negated match vetoes. */
bool
options_match_host(const char *patterns, const char *host)
{
	char buf[1024], *tok, *save = NULL;
	bool match = false, neg;

	if (strlen(patterns) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", patterns);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		neg = *tok == '!';
		if (fnmatch(neg ? tok + 1 : tok, host, FNM_CASEFOLD) == 0) {
			if (neg)
				return false;
			match = true;
		}
	}
	return match;
}

/* [user@]host or ssh://[user@]host[:port], the host of the URI form
 * possibly an [IPv6] literal. */
static int
parse_destination(struct options *o, const char *d, char *err, size_t errlen)
{
	bool uri = strncmp(d, "ssh://", 6) == 0;
	const char *h = uri ? d + 6 : d, *at, *portstr = NULL;
	char host[512], *end;
	size_t n;
	long port;

	if ((at = strrchr(h, '@')) != NULL) {
		if (o->user == NULL && (o->user = strndup(h,
		    (size_t)(at - h))) == NULL)
			return -1;
		h = at + 1;
	}
	n = strlen(h);
	if (uri && h[0] == '[') {
		if ((end = strchr(h, ']')) == NULL || (end[1] != '\0' &&
		    end[1] != ':')) {
			snprintf(err, errlen, "Bad destination '%s'", d);
			return -1;
		}
		n = (size_t)(end - h - 1);
		h++;
		if (end[1] == ':')
			portstr = end + 2;
	} else if (uri && (portstr = strrchr(h, ':')) != NULL) {
		n = (size_t)(portstr - h);
		portstr++;
	}
	if (n == 0 || n >= sizeof(host)) {
		snprintf(err, errlen, "%s host in destination '%s'",
		    n == 0 ? "Missing" : "Too long a", d);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (portstr != NULL) {
		port = strtol(portstr, &end, 10);
		if (*portstr == '\0' || *end != '\0' || port < 1 ||
		    port > 65535) {
			snprintf(err, errlen, "Bad port in destination '%s'",
			    d);
			return -1;
		}
		if (o->port < 0)
			o->port = (int)port;
	}
	o->host = strdup(host);
	return o->host ? 0 : -1;
}

int
options_parse_args(struct options *o, int argc, char **argv, char *err,
    size_t errlen)
{
	char line[1200], *words[2];
	const char *kw;
	int ch, verbose = 0;
	bool quiet = false;

	opterr = 0;
	optind = 1;
	while ((ch = getopt(argc, argv, OPTSTRING)) != -1) {
		switch (ch) {
		case '4':
			o->family = AF_INET;
			break;
		case '6':
			o->family = AF_INET6;
			break;
		case 'c':
			snprintf(line, sizeof(line), "Ciphers %s", optarg);
			goto apply;
		case 'g':
			o->gateway_ports = 1;
			break;
		case 'i':
			kw = "IdentityFile";
			goto apply_word;
		case 'l':
			kw = "User";
			goto apply_word;
		case 'o':
			snprintf(line, sizeof(line), "%s", optarg);
			goto apply;
		case 'p':
			kw = "Port";
			goto apply_word;
		case 'S':
			kw = "ControlPath";
			goto apply_word;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'E':
			free(o->log_file);
			o->log_file = strdup(optarg);
			break;
		case 'F':
			free(o->config_file);
			o->config_file = strdup(optarg);
			break;
		case 'D':
			if (add_forward(o, FWD_DYNAMIC, optarg, err,
			    errlen) != 0)
				return -1;
			break;
		case 'L':
			if (add_forward(o, FWD_LOCAL, optarg, err, errlen) != 0)
				return -1;
			break;
		case 'R':
			if (add_forward(o, FWD_REMOTE, optarg, err,
			    errlen) != 0)
				return -1;
			break;
		case 'N':
		case 'T':
			o->no_shell = true;
			break;
		case 'G':
			o->print_config = true;
			break;
		case ':':
			snprintf(err, errlen, "option requires an argument -- "
			    "%c", optopt);
			return -1;
		default:
			snprintf(err, errlen, "unknown or unsupported option "
			    "-- %c", optopt);
			return -1;
		}
		continue;
apply:
		if (options_apply_line(o, line, "command line", err,
		    errlen) != 0)
			return -1;
		continue;
apply_word:
		words[0] = (char *)kw;
		words[1] = optarg;
		if (options_apply_words(o, words, 2, "command line", err,
		    errlen) != 0)
			return -1;
	}
	/* -q and -v are the first values obtained: files cannot undo them. */
	if (quiet)
		o->log_level = LOG_QUIET;
	else if (verbose > 0)
		o->log_level = (enum log_level)(LOG_INFO + (verbose > 3 ? 3 :
		    verbose));
	if (quiet || verbose > 0)
		o->log_level_set = true;
	if (optind >= argc) {
		snprintf(err, errlen, "usage: ferry [-46GgNqTv] [-c cipher_spec] "
		    "[-D [bind_address:]port] [-E log_file] [-F configfile] "
		    "[-i identity_file] [-L address] [-l login_name] "
		    "[-o option] [-p port] [-R address] [-S ctl_path] "
		    "destination [destination...]\n"
		    "       ferry up [options] [host...]\n"
		    "       ferry status|metrics|forward|cancel ...");
		return -1;
	}
	if (parse_destination(o, argv[optind], err, errlen) != 0)
		return -1;
	if (optind + 1 < argc) {
		snprintf(err, errlen, "ferry only forwards: remote commands "
		    "are not supported ('%s')", argv[optind + 1]);
		return -1;
	}
	return 0;
}

int
options_finish(struct options *o, char *err, size_t errlen)
{
	static const char *def_ids[] = { "id_rsa", "id_ecdsa", "id_ed25519" };
	struct passwd *pw;
	char path[1024];
	size_t i;

	if (options_expand_hostname(o, path, sizeof(path), err, errlen) != 0)
		return -1;
	free(o->hostname);
	if ((o->hostname = strdup(path)) == NULL)
		goto nomem;
	if (o->port < 0)
		o->port = 22;
	if (o->user == NULL) {
		if ((pw = getpwuid(getuid())) == NULL) {
			snprintf(err, errlen, "No user exists for uid %u",
			    (unsigned)getuid());
			return -1;
		}
		if ((o->user = strdup(pw->pw_name)) == NULL)
			goto nomem;
	}
	if (o->nidentity == 0) {
		for (i = 0; i < sizeof(def_ids) / sizeof(def_ids[0]); i++) {
			snprintf(path, sizeof(path), "~/.ssh/%s",
			    def_ids[i]);
			if ((o->identity[o->nidentity++] = strdup(path)) ==
			    NULL)
				goto nomem;
		}
	}
	if (o->nknown_hosts == 0) {
		snprintf(path, sizeof(path), "~/.ssh/known_hosts");
		if ((o->known_hosts[o->nknown_hosts++] = strdup(path)) == NULL)
			goto nomem;
		snprintf(path, sizeof(path), "~/.ssh/known_hosts2");
		if ((o->known_hosts[o->nknown_hosts++] = strdup(path)) == NULL)
			goto nomem;
	}
	if (o->strict == SHK_UNSET)
		o->strict = SHK_ASK;
	if (o->batch_mode < 0)
		o->batch_mode = 0;
	if (o->rekey_bytes < 0)
		o->rekey_bytes = 0;
	/* a supervised tunnel does not wait minutes for one SYN */
	if (o->connect_timeout < 0)
		o->connect_timeout = o->reconnect == 1 ? 5 : 0;
	if (o->gateway_ports < 0)
		o->gateway_ports = 0;
	if (o->exit_on_forward_failure < 0)
		o->exit_on_forward_failure = 0;
	if (o->hash_known_hosts < 0)
		o->hash_known_hosts = 0;
	if (o->reconnect < 0)
		o->reconnect = 0;
	if (o->reconnect_delay_ms < 0)
		o->reconnect_delay_ms = 1000;
	if (o->reconnect_max_delay_ms < 0)
		o->reconnect_max_delay_ms = 5000;
	if (o->reconnect_max_delay_ms < o->reconnect_delay_ms)
		o->reconnect_max_delay_ms = o->reconnect_delay_ms;
	/* a supervised tunnel must notice a dead server by itself */
	if (o->server_alive_interval < 0)
		o->server_alive_interval = o->reconnect == 1 ? 10 :
		    o->batch_mode == 1 ? 300 : 0;	/* ssh: 300 in batch */
	if (o->server_alive_count_max < 0)
		o->server_alive_count_max = 3;
	if (o->tcp_keepalive < 0)
		o->tcp_keepalive = 1;
	if (o->identities_only < 0)
		o->identities_only = 0;
	if (o->control_path != NULL &&
	    strcasecmp(o->control_path, "none") == 0) {
		free(o->control_path);
		o->control_path = NULL;
	}
	if (options_expand(o, err, errlen) != 0)
		return -1;
	if (o->metrics_listen != NULL &&
	    strcasecmp(o->metrics_listen, "none") == 0) {
		free(o->metrics_listen);
		o->metrics_listen = NULL;
	}
	if (o->npermit_remote_open == FWD_PERMIT_UNSET)
		o->npermit_remote_open = -1;
	if (o->stream_local_bind_unlink < 0)
		o->stream_local_bind_unlink = 0;
	if (o->stream_local_bind_mask < 0)
		o->stream_local_bind_mask = 0177;
	if (o->identity_agent == NULL && getenv("SSH_AUTH_SOCK") != NULL &&
	    (o->identity_agent = strdup(getenv("SSH_AUTH_SOCK"))) == NULL)
		goto nomem;
	if (o->identity_agent != NULL &&
	    (strcasecmp(o->identity_agent, "none") == 0 ||
	    o->identity_agent[0] == '\0')) {
		free(o->identity_agent);
		o->identity_agent = NULL;
	} else if (o->identity_agent != NULL &&
	    strcmp(o->identity_agent, "SSH_AUTH_SOCK") == 0) {
		free(o->identity_agent);
		o->identity_agent = getenv("SSH_AUTH_SOCK") ?
		    strdup(getenv("SSH_AUTH_SOCK")) : NULL;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static const char *
yesno(int v)
{
	return v == 1 ? "yes" : "no";
}

/* "keyword listen [target]", as ssh -G writes forwards: hosts in
 * brackets, paths as they are, a remote SOCKS forward's target
 * "[socks]:0". */
static void
print_forward(FILE *fp, const struct fwd_spec *s)
{
	static const char *const kws[] = { "localforward", "remoteforward",
	    "dynamicforward" };

	fputs(kws[s->kind], fp);
	if (s->listen_path[0] != '\0')
		fprintf(fp, " %s", s->listen_path);
	else if (s->bind == BIND_DEFAULT)
		fprintf(fp, " %d", s->listen_port);
	else
		fprintf(fp, " [%s]:%d", s->bind == BIND_LOCALHOST ?
		    "localhost" : s->bind == BIND_ANY ? "*" : s->bind_addr,
		    s->listen_port);
	if (s->kind == FWD_DYNAMIC)
		;
	else if (s->dynamic)
		fputs(" [socks]:0", fp);
	else if (s->connect_path[0] != '\0')
		fprintf(fp, " %s", s->connect_path);
	else
		fprintf(fp, " [%s]:%d", s->host, s->port);
	fputc('\n', fp);
}

void
options_print_connection(const struct options *o, FILE *fp)
{
	static const char *strict[] = { "false", "true", "accept-new", "ask" };
	static const char *fam[] = { "any", "inet", "inet6" };
	int i;

	fprintf(fp, "host %s\nhostname %s\nuser %s\nport %d\n", o->host,
	    o->hostname, o->user, o->port);
	fprintf(fp, "addressfamily %s\n", fam[o->family == AF_INET ? 1 :
	    o->family == AF_INET6 ? 2 : 0]);
	fprintf(fp, "batchmode %s\n", yesno(o->batch_mode));
	if (o->connect_timeout > 0)
		fprintf(fp, "connecttimeout %d\n", o->connect_timeout);
	else
		fprintf(fp, "connecttimeout none\n");
	fprintf(fp, "exitonforwardfailure %s\n",
	    yesno(o->exit_on_forward_failure));
	fprintf(fp, "gatewayports %s\n", yesno(o->gateway_ports));
	fprintf(fp, "hashknownhosts %s\n", yesno(o->hash_known_hosts));
	fprintf(fp, "identitiesonly %s\n", yesno(o->identities_only));
	fprintf(fp, "serveralivecountmax %d\n", o->server_alive_count_max);
	fprintf(fp, "serveraliveinterval %d\n", o->server_alive_interval);
	fprintf(fp, "stricthostkeychecking %s\n", strict[o->strict]);
	fprintf(fp, "tcpkeepalive %s\n", yesno(o->tcp_keepalive));
	fprintf(fp, "ciphers %s\n", o->ciphers ? o->ciphers :
	    ssh_cipher_default);
	fprintf(fp, "macs %s\n", o->macs ? o->macs : ssh_mac_default);
	fprintf(fp, "rekeylimit %lld %d\n", (long long)o->rekey_bytes,
	    o->rekey_seconds);
	if (o->identity_agent != NULL)
		fprintf(fp, "identityagent %s\n", o->identity_agent);
	for (i = 0; i < o->nidentity; i++)
		fprintf(fp, "identityfile %s\n", o->identity[i]);
	fprintf(fp, "userknownhostsfile");
	for (i = 0; i < o->nknown_hosts; i++)
		fprintf(fp, " %s", o->known_hosts[i]);
	fputc('\n', fp);
	if (o->control_path != NULL)	/* ssh -G leaves "none" out */
		fprintf(fp, "controlpath %s\n", o->control_path);
	fprintf(fp, "metricslisten %s\n", o->metrics_listen ?
	    o->metrics_listen : "none");
	fprintf(fp, "reconnect %s\n", yesno(o->reconnect));
	fprintf(fp, "reconnectdelay %.1f\n",
	    (double)o->reconnect_delay_ms / 1000);
	fprintf(fp, "reconnectmaxdelay %.1f\n",
	    (double)o->reconnect_max_delay_ms / 1000);
	fprintf(fp, "streamlocalbindmask %04o\n", o->stream_local_bind_mask);
	fprintf(fp, "streamlocalbindunlink %s\n",
	    yesno(o->stream_local_bind_unlink));
}

void
options_print(const struct options *o, FILE *fp)
{
	int i;

	options_print_connection(o, fp);
	fprintf(fp, "permitremoteopen");
	if (o->npermit_remote_open < 0)
		fprintf(fp, " any");
	else if (o->npermit_remote_open == 0)
		fprintf(fp, " none");
	for (i = 0; i < o->npermit_remote_open; i++) {
		const struct fwd_permit *p = &o->permit_remote_open[i];
		bool v6 = strchr(p->host, ':') != NULL;

		fprintf(fp, " %s%s%s:", v6 ? "[" : "", p->host,
		    v6 ? "]" : "");
		if (p->port < 0)
			fputc('*', fp);
		else
			fprintf(fp, "%d", p->port);
	}
	fputc('\n', fp);
	for (i = 0; i < o->nlocal; i++)
		print_forward(fp, &o->local[i]);
	for (i = 0; i < o->nremote; i++)
		print_forward(fp, &o->remote[i]);
	sshkw_print(o, fp);
}

bool
options_has_forward(const struct options *o, const struct fwd_spec *spec)
{
	const struct fwd_spec *v = spec->kind == FWD_REMOTE ? o->remote :
	    o->local;
	int i, n = spec->kind == FWD_REMOTE ? o->nremote : o->nlocal;
	char a[600], b[600];

	fwd_spec_format(spec, a, sizeof(a));
	for (i = 0; i < n; i++) {
		fwd_spec_format(&v[i], b, sizeof(b));
		if (v[i].kind == spec->kind && strcmp(a, b) == 0)
			return true;
	}
	return false;
}

int
options_first_destination(int argc, char **argv)
{
	opterr = 0;
	optind = 1;
	while (getopt(argc, argv, OPTSTRING) != -1)
		;
	return optind;
}

/* Host names a config file gives literally ("Host a b", no patterns), in
 * order: the hosts `ferry up` runs. */
int
options_file_hosts(const char *path, char ***names, int *n, char *err,
    size_t errlen)
{
	char line[4096], *p, *w, *save = NULL, **v = NULL, **nv;
	int count = 0, i, lineno = 0;
	bool dup;
	FILE *fp;

	*names = NULL;
	*n = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "Can't open user config file %s: %s",
		    path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (strncasecmp(p, "host", 4) != 0 || (p[4] != ' ' &&
		    p[4] != '\t' && p[4] != '='))
			continue;
		for (w = strtok_r(p + 5, " \t\r\n=", &save); w != NULL;
		    w = strtok_r(NULL, " \t\r\n=", &save)) {
			if (strpbrk(w, "*?!,") != NULL)
				continue;
			for (i = 0, dup = false; i < count && !dup; i++)
				dup = strcmp(v[i], w) == 0;
			if (dup)
				continue;
			if ((nv = realloc(v, (size_t)(count + 1) *
			    sizeof(*v))) == NULL ||
			    (nv[count] = strdup(w)) == NULL) {
				if (nv != NULL)
					v = nv;
				options_free_hosts(v, count);
				fclose(fp);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			v = nv;
			count++;
		}
	}
	fclose(fp);
	*names = v;
	*n = count;
	return 0;
}

void
options_free_hosts(char **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
