/* sshd_config's Match blocks: the criteria of a Match line, which
 * keywords a block may hold, and the values one connection gets.
 *
 * sshd's rule, which ferryd follows: the global lines are read first
 * (the first value obtained wins); a Match block's lines do not touch the
 * global values. For a connection, sshd reads the file again with every
 * global line inactive and only the blocks whose criteria all match
 * active, into an empty set of options where again the first value
 * obtained wins; then each option that this pass set replaces the global
 * one. So a keyword takes the value of the first matching block (in file
 * order, Include'd files where they are included) that sets it, else the
 * global value. ferryd parses each block once into a configuration of
 * its own (every field unset until a line of the block sets it) and
 * resolves a connection by walking the blocks in order. */
#include "config_kw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/authkeys.h"
#include "util/cfgval.h"
#include "util/err.h"
#include "util/match.h"
#include "util/netaddr.h"

#define MAX_PATTERN	256

enum mc_kind {
	MC_ALL,
	MC_USER,
	MC_HOST,
	MC_ADDRESS,
	MC_LADDRESS,
	MC_LPORT,
};

struct sc_criterion {
	enum mc_kind	 kind;
	char		*arg;		/* owned; NULL for All */
	int		 port;		/* LocalPort */
};

/* One Match block: its criteria (all must match) and the values its
 * lines gave (unset fields were not given). Owned by the configuration
 * that read it. */
struct sc_match {
	struct sc_criterion crit[SC_MAX_CRITERIA];
	int		 ncrit;
	bool		 needs_user;	/* a User criterion */
	char		 where[160];	/* its Match line, for the log */
	struct server_config cfg;
};

/* Keywords sshd allows inside a Match block that ferryd knows. A row with
 * a reason is refused there with it; every other keyword of ferryd's
 * table is not allowed within a Match block (sshd's words). WHOLE_SERVER:
 * keywords ferryd reads once for the whole server (with the host keys
 * and the revocation list), not per connection. */
#define WHOLE_SERVER	"ferryd reads it for the whole server only"

static const struct {
	const char	*name;
	const char	*refuse;
} match_keywords[] = {
	{ "AcceptEnv", NULL },
	{ "AllowAgentForwarding", NULL },
	{ "AllowGroups", NULL },	/* refused by the table */
	{ "AllowStreamLocalForwarding", NULL },
	{ "AllowTcpForwarding", NULL },
	{ "AllowUsers", "ferryd checks AllowUsers for the whole server only" },
	{ "AuthenticationMethods", NULL },
	{ "AuthorizedKeysCommand", WHOLE_SERVER },
	{ "AuthorizedKeysCommandUser", WHOLE_SERVER },
	{ "AuthorizedKeysFile", NULL },
	{ "AuthorizedPrincipalsCommand", WHOLE_SERVER },
	{ "AuthorizedPrincipalsCommandUser", WHOLE_SERVER },
	{ "AuthorizedPrincipalsFile", WHOLE_SERVER },
	{ "Banner", NULL },
	{ "CASignatureAlgorithms", NULL },
	{ "ChallengeResponseAuthentication", NULL },
	{ "ChannelTimeout", NULL },
	{ "ChrootDirectory", NULL },
	{ "ClientAliveCountMax", NULL },
	{ "ClientAliveInterval", NULL },
	{ "DenyGroups", NULL },		/* refused by the table */
	{ "DenyUsers", "ferryd checks DenyUsers for the whole server only" },
	{ "DisableForwarding", NULL },
	{ "ExposeAuthInfo", NULL },
	{ "ForceCommand", "ferryd runs no commands (a session only lists "
	    "its forwards), so a block forcing one cannot be honoured" },
	{ "GatewayPorts", NULL },
	{ "GSSAPIAuthentication", NULL },
	{ "HostbasedAcceptedAlgorithms", NULL },
	{ "HostbasedAcceptedKeyTypes", NULL },
	{ "HostbasedAuthentication", NULL },
	{ "HostbasedUsesNameFromPacketOnly", NULL },
	{ "IgnoreRhosts", NULL },
	{ "IPQoS", NULL },
	{ "KbdInteractiveAuthentication", NULL },
	{ "KerberosAuthentication", NULL },
	{ "LogLevel", "ferryd has one log level for all its connections" },
	{ "LogVerbose", NULL },
	{ "MaxAuthTries", NULL },
	{ "MaxSessions", NULL },
	{ "PasswordAuthentication", NULL },
	{ "PermitEmptyPasswords", NULL },
	{ "PermitListen", NULL },
	{ "PermitOpen", NULL },
	{ "PermitRootLogin", NULL },
	{ "PermitTTY", NULL },
	{ "PermitTunnel", NULL },
	{ "PermitUserRC", NULL },
	{ "PubkeyAcceptedAlgorithms", NULL },
	{ "PubkeyAcceptedKeyTypes", NULL },
	{ "PubkeyAuthentication", NULL },
	{ "PubkeyAuthOptions", NULL },
	{ "RekeyLimit", NULL },
	{ "RequiredRSASize", NULL },
	{ "RevokedKeys", WHOLE_SERVER },
	{ "SetEnv", NULL },
	{ "StreamLocalBindMask", NULL },
	{ "StreamLocalBindUnlink", NULL },
	{ "TrustedUserCAKeys", WHOLE_SERVER },
	{ "UnusedConnectionTimeout", NULL },
	{ "X11DisplayOffset", NULL },
	{ "X11Forwarding", NULL },
	{ "X11UseLocalhost", NULL },
};

/* A '!'-negatable, comma-separated list of glob patterns against s:
 * a negated entry that matches vetoes, else any entry that matches. */
static bool
pattern_list(const char *list, const char *s, bool icase)
{
	const char *p = list, *comma;
	char pat[MAX_PATTERN];
	bool neg, hit, found = false;
	size_t n;

	for (;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if ((neg = n > 0 && *p == '!')) {
			p++;
			n--;
		}
		if (icase)
			hit = match_glob(p, n, s);
		else if (n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = '\0';
			hit = match_glob_case(pat, s);
		} else
			hit = false;
		if (hit && neg)
			return false;
		found |= hit;
		if (comma == NULL)
			return found;
	}
}

/* Whether an Address list is well formed: as OpenSSH's
 * addr_match_list(), an address/masklen entry must name a network (no
 * host bits), else the whole list would never match. */
static bool
addr_list_ok(const char *list)
{
	const char *p = list, *comma, *slash;
	char entry[MAX_PATTERN], prefix[MAX_PATTERN];
	struct netaddr a;
	size_t n;

	for (;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n > 0 && *p == '!') {
			p++;
			n--;
		}
		if (n == 0 || n >= sizeof(entry))
			return false;
		memcpy(entry, p, n);
		entry[n] = '\0';
		/* a valid network holds its own first address */
		if ((slash = strchr(entry, '/')) != NULL &&
		    netaddr_parse(entry, (size_t)(slash - entry), false, &a)) {
			memcpy(prefix, entry, (size_t)(slash - entry));
			prefix[slash - entry] = '\0';
			if (!ak_match_from(entry, prefix))
				return false;
		}
		if (comma == NULL)
			return true;
	}
}

static const struct cfgval_word crit_words[] = {
	{ "All", MC_ALL }, { "User", MC_USER }, { "Host", MC_HOST },
	{ "Address", MC_ADDRESS }, { "LocalAddress", MC_LADDRESS },
	{ "LocalPort", MC_LPORT },
};

/* One criterion and its argument into cr: 0, or -1 with the reason. */
static int
criterion(struct sc_criterion *cr, const char *attr, const char *arg,
    char *err, size_t errlen)
{
	int kind;

	if (strcasecmp(attr, "Group") == 0) {
		seterr(err, errlen, "Match Group: ferryd has no system "
		    "accounts, so users have no groups (Match User names "
		    "users)");
		return -1;
	}
	if (strcasecmp(attr, "RDomain") == 0) {
		seterr(err, errlen, "Match RDomain: ferryd does not use "
		    "routing domains");
		return -1;
	}
	if (cfgval_word(crit_words, CFGVAL_NWORDS(crit_words), attr,
	    &kind) != 0 || kind == MC_ALL) {
		seterr(err, errlen, "Match: unsupported attribute '%s' (User, "
		    "Address, LocalAddress, LocalPort, Host or All)", attr);
		return -1;
	}
	if (arg == NULL) {
		seterr(err, errlen, "Match: missing criteria for %s", attr);
		return -1;
	}
	cr->kind = (enum mc_kind)kind;
	if ((kind == MC_ADDRESS || kind == MC_LADDRESS) &&
	    !addr_list_ok(arg)) {
		seterr(err, errlen, "Match %s: invalid address list '%s'", attr,
		    arg);
		return -1;
	}
	if (kind == MC_LPORT && cfgval_uint(arg, 1, 65535, &cr->port) != 0) {
		seterr(err, errlen, "Match LocalPort: invalid port '%s'", arg);
		return -1;
	}
	if ((cr->arg = strdup(arg)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
block_free(struct sc_match *m)
{
	int i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ncrit; i++)
		free(m->crit[i].arg);
	server_config_free(&m->cfg);
	free(m);
}

/* The criteria a[0..n-1] of a Match line. */
static int
block_criteria(struct sc_match *m, char **a, int n, char *err,
    size_t errlen)
{
	int i;

	if (n == 0) {
		seterr(err, errlen, "Match: one or more attributes required");
		return -1;
	}
	if (strcasecmp(a[0], "All") == 0) {
		if (n > 1) {
			seterr(err, errlen, "Match: 'All' cannot be combined "
			    "with other Match attributes");
			return -1;
		}
		m->crit[m->ncrit++].kind = MC_ALL;
		return 0;
	}
	for (i = 0; i < n; i += 2) {
		if (m->ncrit >= SC_MAX_CRITERIA) {
			seterr(err, errlen, "Match: too many criteria (max %d)",
			    SC_MAX_CRITERIA);
			return -1;
		}
		if (strcasecmp(a[i], "All") == 0) {
			seterr(err, errlen, "Match: 'All' cannot be combined "
			    "with other Match attributes");
			return -1;
		}
		if (criterion(&m->crit[m->ncrit], a[i], i + 1 < n ? a[i + 1] :
		    NULL, err, errlen) != 0)
			return -1;
		m->needs_user |= m->crit[m->ncrit].kind == MC_USER;
		m->ncrit++;
	}
	return 0;
}

int
sc_match_begin(struct server_config *c, const char *where, char **a, int n,
    char *err, size_t errlen)
{
	struct sc_match *m;

	if (c->nmatch >= SC_MAX_MATCH) {
		seterr(err, errlen, "Match: too many Match blocks (max %d)",
		    SC_MAX_MATCH);
		return -1;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	server_config_init(&m->cfg);
	snprintf(m->where, sizeof(m->where), "%s", where);
	if (block_criteria(m, a, n, err, errlen) != 0) {
		block_free(m);
		return -1;
	}
	c->cur_match = c->nmatch;
	c->match[c->nmatch++] = m;
	return 0;
}

struct server_config *
sc_match_target(struct server_config *c, const struct sc_keyword *kw,
    char *err, size_t errlen)
{
	struct sc_match *m;
	size_t i;

	if (c->cur_match < 0)
		return c;
	m = c->match[c->cur_match];
	for (i = 0; i < sizeof(match_keywords) / sizeof(match_keywords[0]);
	    i++)
		if (strcmp(match_keywords[i].name, kw->name) == 0)
			break;
	if (i == sizeof(match_keywords) / sizeof(match_keywords[0])) {
		seterr(err, errlen, "Directive '%s' is not allowed within a "
		    "Match block", kw->name);
		return NULL;
	}
	if (match_keywords[i].refuse != NULL) {
		seterr(err, errlen, "%s within a Match block is not supported: "
		    "%s", kw->name, match_keywords[i].refuse);
		return NULL;
	}
	/* the engine sends the banner before it hands ferryd the user */
	if (m->needs_user && strcmp(kw->name, "Banner") == 0) {
		seterr(err, errlen, "Banner within a 'Match User' block is not "
		    "supported: ferryd sends the banner before it learns the "
		    "user name");
		return NULL;
	}
	return &m->cfg;
}

void
sc_match_free(struct server_config *c)
{
	int i;

	for (i = 0; i < c->nmatch; i++)
		block_free(c->match[i]);
	c->nmatch = 0;
}

struct server_config *
server_config_match_cfg(const struct server_config *c, int i)
{
	return &c->match[i]->cfg;
}

const char *
server_config_match_where(const struct server_config *c, int i)
{
	return c->match[i]->where;
}

static bool
criterion_match(const struct sc_criterion *cr, const struct sc_conninfo *ci)
{
	switch (cr->kind) {
	case MC_ALL:
		return true;
	case MC_USER:
		return ci->user != NULL && pattern_list(cr->arg, ci->user,
		    false);
	case MC_HOST:
		return ci->host != NULL && pattern_list(cr->arg, ci->host,
		    true);
	case MC_ADDRESS:
		return ci->addr != NULL && ak_match_from(cr->arg, ci->addr);
	case MC_LADDRESS:
		return ci->laddr != NULL && ak_match_from(cr->arg, ci->laddr);
	case MC_LPORT:
		return ci->lport == cr->port;
	}
	return false;
}

/* Whether every criterion of m matches ci. */
static bool
block_match(const struct sc_match *m, const struct sc_conninfo *ci)
{
	int i;

	for (i = 0; i < m->ncrit; i++)
		if (!criterion_match(&m->crit[i], ci))
			return false;
	return true;
}

/* Each value of o still unset takes c's, if c set it. */
static void
fill(struct server_conn_cfg *o, bool *banner_set,
    const struct server_config *c)
{
#define TAKE(f)	do {							\
		if ((int)o->f == SC_UNSET && (int)c->f != SC_UNSET)	\
			o->f = c->f;					\
	} while (0)
	TAKE(allow_tcp_forwarding);
	TAKE(allow_streamlocal_forwarding);
	TAKE(gateway_ports);
	TAKE(streamlocal_bind_unlink);
	TAKE(streamlocal_bind_mask);
	TAKE(client_alive_interval);
	TAKE(client_alive_count_max);
	TAKE(max_auth_tries);
	TAKE(required_rsa_size);
	TAKE(max_sessions);
	TAKE(unused_connection_timeout);
#undef TAKE
	o->disable_forwarding |= c->disable_forwarding;
	if (o->nchan_timeouts == SC_UNSET && c->nchan_timeouts != SC_UNSET) {
		o->nchan_timeouts = c->nchan_timeouts;
		o->chan_timeouts = c->chan_timeouts;
		o->chan_timeouts_text = c->chan_timeouts_text;
	}
	if (o->npermit_open == FWD_PERMIT_UNSET &&
	    c->npermit_open != FWD_PERMIT_UNSET) {
		o->npermit_open = c->npermit_open;
		o->permit_open = c->permit_open;
	}
	if (o->npermit_listen == FWD_PERMIT_UNSET &&
	    c->npermit_listen != FWD_PERMIT_UNSET) {
		o->npermit_listen = c->npermit_listen;
		o->permit_listen = c->permit_listen;
	}
	if (o->nauthorized_keys == 0 && c->nauthorized_keys > 0) {
		o->nauthorized_keys = c->nauthorized_keys;
		o->authorized_keys = c->authorized_keys;
	}
	if (!*banner_set && c->banner != NULL) {
		*banner_set = true;
		o->banner = c->banner;
		o->banner_text = c->banner_text;
	}
	if (o->pubkey_algs == NULL)
		o->pubkey_algs = c->pubkey_algs;
	if (o->ca_sign_algs == NULL)
		o->ca_sign_algs = c->ca_sign_algs;
}

int
server_conn_resolve(const struct server_config *c,
    const struct sc_conninfo *ci, struct server_conn_cfg *out)
{
	bool banner_set = false;
	int i, n = 0;

	memset(out, 0, sizeof(*out));
	out->allow_tcp_forwarding = (enum allow_fwd)SC_UNSET;
	out->allow_streamlocal_forwarding = (enum allow_fwd)SC_UNSET;
	out->gateway_ports = (enum gateway_ports)SC_UNSET;
	out->streamlocal_bind_unlink = SC_UNSET;
	out->streamlocal_bind_mask = SC_UNSET;
	out->client_alive_interval = SC_UNSET;
	out->client_alive_count_max = SC_UNSET;
	out->max_auth_tries = SC_UNSET;
	out->required_rsa_size = SC_UNSET;
	out->max_sessions = SC_UNSET;
	out->unused_connection_timeout = SC_UNSET;
	out->nchan_timeouts = SC_UNSET;
	out->npermit_open = FWD_PERMIT_UNSET;
	out->npermit_listen = FWD_PERMIT_UNSET;
	for (i = 0; i < c->nmatch; i++)
		if (ci != NULL && block_match(c->match[i], ci)) {
			fill(out, &banner_set, &c->match[i]->cfg);
			out->matched |= (uint64_t)1 << i;
			n++;
		}
	fill(out, &banner_set, c);
	return n;
}

int
server_conninfo_parse(char *spec, struct sc_conninfo *ci, char *err,
    size_t errlen)
{
	char *p, *eq;

	memset(ci, 0, sizeof(*ci));
	ci->lport = -1;
	while ((p = strsep(&spec, ",")) != NULL) {
		if ((eq = strchr(p, '=')) == NULL)
			goto bad;
		*eq++ = '\0';
		if (strcmp(p, "user") == 0)
			ci->user = eq;
		else if (strcmp(p, "host") == 0)
			ci->host = eq;
		else if (strcmp(p, "addr") == 0)
			ci->addr = eq;
		else if (strcmp(p, "laddr") == 0)
			ci->laddr = eq;
		else if (strcmp(p, "lport") == 0) {
			if (cfgval_uint(eq, 1, 65535, &ci->lport) != 0) {
				seterr(err, errlen, "-C: invalid lport '%s'",
				    eq);
				return -1;
			}
		} else
			goto bad;
	}
	return 0;
bad:
	seterr(err, errlen, "-C: invalid test mode specification '%s' "
	    "(user=, host=, addr=, laddr= and lport=, separated by commas)",
	    p);
	return -1;
}
