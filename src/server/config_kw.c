/* sshd_config's keywords: one table row each (its value kind, its field,
 * its default or why ferryd refuses it) and the setters for the kinds. */
#include "config_kw.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/key.h"
#include "ssh/alglist.h"
#include "ssh/cipher.h"
#include "ssh/ssh.h"
#include "util/cfgtok.h"
#include "util/err.h"
#include "util/log.h"

#define ANY_WORDS	CFGTOK_MAX_ARGS
#define MAX_WORDS	(SC_MAX_PERMITS + 8)

#define DEF_ALIVE_COUNT		3
#define DEF_GRACE		120
#define DEF_AUTH_TRIES		6
#define DEF_SESSIONS		10
#define DEF_LISTENERS		64
#define DEF_CONNECT_TIMEOUT	10
#define DEF_PENDING_CONNECTS	64
#define DEF_USER_CHANNELS	1024
#define DEF_COMPRESSED	128	/* ~0.8 MiB each: ~100 MiB in all */
#define DEF_FORWARD_CONNS	256
#define DEF_SL_MASK		0177
#define DEF_LEASE_TIME		10	/* ClusterLeaseTime, seconds */

static const struct cfgval_word gateway_words[] = {
	{ "no", GW_NO }, { "yes", GW_YES },
	{ "clientspecified", GW_CLIENTSPECIFIED },
};
static const struct sc_choices gateway_choices = {
	gateway_words, CFGVAL_NWORDS(gateway_words),
	"no, yes or clientspecified"
};

static const struct cfgval_word fwd_words[] = {
	{ "yes", FWD_ALLOW_ALL }, { "all", FWD_ALLOW_ALL },
	{ "no", FWD_ALLOW_NO }, { "local", FWD_ALLOW_LOCAL },
	{ "remote", FWD_ALLOW_REMOTE },
};
static const struct sc_choices fwd_choices = {
	fwd_words, CFGVAL_NWORDS(fwd_words), "yes, all, no, local or remote"
};

static const struct cfgval_word yesno_words[] = {
	{ "yes", 1 }, { "no", 0 },
};
static const struct sc_choices yesno_choices = {
	yesno_words, CFGVAL_NWORDS(yesno_words), "yes or no"
};

/* sshd's: "delayed" is an old name of "yes" */
static const struct cfgval_word comp_words[] = {
	{ "yes", 1 }, { "delayed", 1 }, { "no", 0 },
};
static const struct sc_choices comp_choices = {
	comp_words, CFGVAL_NWORDS(comp_words), "yes, delayed or no"
};

static const struct sc_choices level_choices = {
	cfgval_loglevels, CFGVAL_NLOGLEVELS,
	"QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or DEBUG3"
};

static sc_check_fn check_abs_path;

#define OFF(f)		offsetof(struct server_config, f)
/* A field's offset; the compiler refuses a field of another type. */
#define INT_AT(f)	_Generic(&((struct server_config *)0)->f,	\
			    int *: OFF(f),				\
			    enum gateway_ports *: OFF(f),		\
			    enum allow_fwd *: OFF(f))
#define STR_AT(f)	_Generic(&((struct server_config *)0)->f,	\
			    char **: OFF(f))

#define KW_FLAG(n, f, d) { n, SC_FLAG, 1, 1, INT_AT(f), d, { .note = NULL } }
#define KW_INT(n, f, d)	{ n, SC_INT, 1, 1, INT_AT(f), d,		\
			    { .range = { 0, INT_MAX } } }
/* a number from lo to hi */
#define KW_RANGE(n, f, d, lo, hi) { n, SC_INT, 1, 1, INT_AT(f), d,	\
			    { .range = { lo, hi } } }
/* sshd: the minimum may only be raised from the default */
#define KW_RSA(n, f)	{ n, SC_INT, 1, 1, INT_AT(f), KEY_RSA_MIN_BITS,	\
			    { .range = { KEY_RSA_MIN_BITS, 16384 } } }
#define KW_TIME(n, f, d) { n, SC_TIME, 1, 1, INT_AT(f), d, { .note = NULL } }
#define KW_ENUM(n, f, d, ch) { n, SC_ENUM, 1, 1, INT_AT(f), d,		\
			    { .choices = &(ch) } }
#define KW_MASK(n, f, d) { n, SC_MASK, 1, 1, INT_AT(f), d, { .note = NULL } }
#define KW_STR(n, f, chk) { n, SC_STR, 1, 1, STR_AT(f), 0, { .check = chk } }
#define KW_ALGS(n, f, al) { n, SC_ALGS, 1, 1, STR_AT(f), 0,		\
			    { .algs = &(al) } }
#define KW_REFUSED(n, why) { n, SC_REFUSED, 1, ANY_WORDS, 0, 0,		\
			    { .note = why } }
#define KW_NONE_ONLY(n, max, why) { n, SC_NONE_ONLY, 1, max, 0, 0,	\
			    { .note = why } }
#define KW_IGNORED(n, max) { n, SC_IGNORED, 1, max, 0, 0, { .note = NULL } }
#define KW_CODE(n, max, func) { n, SC_CODE, 1, max, 0, 0, { .fn = func } }

/* Why the keywords restricting who may log in or what a key may do are
 * refused: ferryd does not implement them yet, and running without them
 * would give less protection than the file asks for. */
#define AUTHZ	"ferryd would let in every user whose key is in the user's " \
		"AuthorizedKeysFile"
#define GROUPS	"ferryd has no system accounts, so users have no groups " \
		"(AllowUsers and DenyUsers name users)"

/* Keywords sshd knows that mean nothing to a tunnel-only server are
 * KW_IGNORED: ferryd -d says so once per keyword. */
const struct sc_keyword sc_keywords[] = {
	KW_IGNORED("AcceptEnv", ANY_WORDS),
	KW_CODE("AddressFamily", 1, sc_kw_address_family),
	KW_IGNORED("AllowAgentForwarding", 1),
	KW_REFUSED("AllowGroups", GROUPS),
	KW_ENUM("AllowStreamLocalForwarding", allow_streamlocal_forwarding,
	    FWD_ALLOW_ALL, fwd_choices),
	KW_ENUM("AllowTcpForwarding", allow_tcp_forwarding, FWD_ALLOW_ALL,
	    fwd_choices),
	KW_CODE("AllowUsers", ANY_WORDS, sc_kw_allow_users),
	KW_CODE("AuthenticationMethods", ANY_WORDS, sc_kw_auth_methods),
	KW_CODE("AuthorizedKeysCommand", SC_MAX_CMD_ARGS, sc_kw_akc),
	KW_STR("AuthorizedKeysCommandUser", akc_user, NULL),
	KW_CODE("AuthorizedKeysFile", ANY_WORDS, sc_kw_authkeys),
	KW_CODE("AuthorizedPrincipalsCommand", SC_MAX_CMD_ARGS, sc_kw_apc),
	KW_STR("AuthorizedPrincipalsCommandUser", apc_user, NULL),
	KW_STR("AuthorizedPrincipalsFile", principals_file, NULL),
	KW_STR("Banner", banner, NULL),
	KW_ALGS("CASignatureAlgorithms", ca_sign_algs, alg_kind_ca_sign),
	KW_IGNORED("ChallengeResponseAuthentication", 1),
	KW_CODE("ChannelTimeout", SC_MAX_CHAN_TIMEOUTS, sc_kw_chan_timeout),
	KW_NONE_ONLY("ChrootDirectory", 1,
	    "ferryd has no chroot (Unix-socket paths are confined by "
	    "StreamLocalDirectory)"),
	KW_ALGS("Ciphers", ciphers, alg_kind_cipher),
	KW_INT("ClientAliveCountMax", client_alive_count_max, DEF_ALIVE_COUNT),
	KW_TIME("ClientAliveInterval", client_alive_interval, 0),
	KW_STR("ClusterBindAddress", cluster_bind_address,
	    sc_check_bind_address),
	KW_STR("ClusterCAFile", cluster_ca_file, sc_check_cluster_file),
	KW_STR("ClusterCertificateFile", cluster_cert_file,
	    sc_check_cluster_file),
	KW_STR("ClusterKeyFile", cluster_key_file, sc_check_cluster_file),
	KW_RANGE("ClusterLeaseTime", cluster_lease_time, DEF_LEASE_TIME, 2,
	    3600),
	KW_STR("ClusterNodeName", cluster_node_name, sc_check_node_name),
	KW_CODE("ClusterPortRange", 1, sc_kw_cluster_ports),
	KW_STR("ClusterPrefix", cluster_prefix, sc_check_cluster_prefix),
	KW_STR("ClusterRegistry", cluster_registry,
	    sc_check_cluster_registry),
	KW_ENUM("Compression", compression, 1, comp_choices),
	KW_STR("ControlSocket", control_socket, NULL),
	KW_IGNORED("DebianBanner", 1),
	KW_REFUSED("DenyGroups", GROUPS),
	KW_CODE("DenyUsers", ANY_WORDS, sc_kw_deny_users),
	KW_CODE("DisableForwarding", 1, sc_kw_disable_fwd),
	/* 0: one per online CPU */
	KW_RANGE("EventLoops", event_loops, 0, 0, MAX_EVENT_LOOPS),
	KW_IGNORED("ExposeAuthInfo", 1),
	KW_IGNORED("FingerprintHash", 1),
	KW_IGNORED("ForceCommand", ANY_WORDS),
	KW_TIME("ForwardConnectTimeout", forward_connect_timeout,
	    DEF_CONNECT_TIMEOUT),
	KW_ENUM("GatewayPorts", gateway_ports, GW_NO, gateway_choices),
	KW_IGNORED("GSSAPIAuthentication", 1),
	KW_IGNORED("GSSAPICleanupCredentials", 1),
	KW_IGNORED("GSSAPIKexAlgorithms", 1),
	KW_IGNORED("GSSAPIKeyExchange", 1),
	KW_IGNORED("GSSAPIStoreCredentialsOnRekey", 1),
	KW_IGNORED("GSSAPIStrictAcceptorCheck", 1),
	KW_IGNORED("HostbasedAcceptedAlgorithms", 1),
	KW_IGNORED("HostbasedAcceptedKeyTypes", 1),
	KW_IGNORED("HostbasedAuthentication", 1),
	KW_IGNORED("HostbasedUsesNameFromPacketOnly", 1),
	KW_CODE("HostCertificate", 1, sc_kw_hostcert),
	KW_CODE("HostKey", 1, sc_kw_hostkey),
	KW_NONE_ONLY("HostKeyAgent", 1,
	    "ferryd reads its host keys from HostKey files"),
	KW_ALGS("HostKeyAlgorithms", hostkey_algs, alg_kind_hostkey_server),
	KW_IGNORED("IgnoreRhosts", 1),
	KW_IGNORED("IgnoreUserKnownHosts", 1),
	KW_IGNORED("IPQoS", 2),
	KW_IGNORED("KbdInteractiveAuthentication", 1),
	KW_IGNORED("KerberosAuthentication", 1),
	KW_IGNORED("KerberosGetAFSToken", 1),
	KW_IGNORED("KerberosOrLocalPasswd", 1),
	KW_IGNORED("KerberosTicketCleanup", 1),
	KW_ALGS("KexAlgorithms", kex_algs, alg_kind_kex),
	KW_FLAG("KeyPermitsCoverStreamLocal", key_permits_cover_sl, 1),
	KW_CODE("ListenAddress", 3, sc_kw_listen),
	KW_TIME("LoginGraceTime", login_grace_time, DEF_GRACE),
	KW_ENUM("LogLevel", log_level, LOG_INFO, level_choices),
	KW_IGNORED("LogVerbose", ANY_WORDS),
	KW_ALGS("MACs", macs, alg_kind_mac),
	KW_INT("MaxAuthTries", max_auth_tries, DEF_AUTH_TRIES),
	KW_INT("MaxCompressedSessions", max_compressed, DEF_COMPRESSED),
	KW_INT("MaxForwardConnections", max_forward_connections,
	    DEF_FORWARD_CONNS),
	KW_INT("MaxListeners", max_listeners, DEF_LISTENERS),
	KW_INT("MaxPendingConnects", max_pending_connects,
	    DEF_PENDING_CONNECTS),
	KW_INT("MaxSessions", max_sessions, DEF_SESSIONS),
	KW_CODE("MaxStartups", 1, sc_kw_startups),
	KW_INT("MaxUserChannels", max_user_channels, DEF_USER_CHANNELS),
	KW_STR("MetricsListen", metrics_listen, NULL),
	KW_IGNORED("ModuliFile", 1),
	KW_IGNORED("PasswordAuthentication", 1),
	KW_IGNORED("PermitEmptyPasswords", 1),
	KW_CODE("PermitListen", MAX_WORDS, sc_kw_permit_listen),
	KW_CODE("PermitOpen", MAX_WORDS, sc_kw_permit_open),
	KW_IGNORED("PermitRootLogin", 1),
	KW_IGNORED("PermitTTY", 1),
	KW_IGNORED("PermitTunnel", 1),
	KW_IGNORED("PermitUserEnvironment", 1),
	KW_IGNORED("PermitUserRC", 1),
	KW_CODE("PerSourceMaxStartups", 1, sc_kw_per_source),
	KW_CODE("PerSourceNetBlockSize", 1, sc_kw_netblock),
	KW_STR("PidFile", pid_file, NULL),
	KW_CODE("Port", 1, sc_kw_port),
	KW_IGNORED("PrintLastLog", 1),
	KW_IGNORED("PrintMotd", 1),
	KW_IGNORED("Protocol", 1),
	KW_ALGS("PubkeyAcceptedAlgorithms", pubkey_algs,
	    alg_kind_pubkey_server),
	KW_ALGS("PubkeyAcceptedKeyTypes", pubkey_algs,
	    alg_kind_pubkey_server),
	KW_CODE("PubkeyAuthentication", 1, sc_kw_pubkey),
	KW_IGNORED("PubkeyAuthOptions", ANY_WORDS),
	KW_FLAG("ReclaimForwards", reclaim_forwards, 1),
	KW_IGNORED("RekeyLimit", 2),
	KW_RSA("RequiredRSASize", required_rsa_size),
	KW_STR("RevokedKeys", revoked_keys, NULL),
	KW_STR("RunAsUser", user, NULL),
	KW_IGNORED("SecurityKeyProvider", 1),
	KW_IGNORED("SetEnv", ANY_WORDS),
	KW_STR("StateDirectory", state_dir, check_abs_path),
	KW_MASK("StreamLocalBindMask", streamlocal_bind_mask, DEF_SL_MASK),
	KW_FLAG("StreamLocalBindUnlink", streamlocal_bind_unlink, 0),
	KW_STR("StreamLocalDirectory", streamlocal_dir, sc_check_sl_dir),
	KW_IGNORED("StrictModes", 1),
	KW_IGNORED("Subsystem", ANY_WORDS),
	KW_STR("SyslogFacility", syslog_facility, sc_check_facility),
	KW_IGNORED("TCPKeepAlive", 1),
	KW_STR("TrustedUserCAKeys", trusted_ca_keys, NULL),
	KW_CODE("UnusedConnectionTimeout", 1, sc_kw_unused_timeout),
	KW_IGNORED("UseDNS", 1),
	KW_IGNORED("UsePAM", 1),
	KW_IGNORED("UsePrivilegeSeparation", 1),
	KW_IGNORED("VersionAddendum", ANY_WORDS),
	KW_IGNORED("X11DisplayOffset", 1),
	KW_IGNORED("X11Forwarding", 1),
	KW_IGNORED("X11UseLocalhost", 1),
	KW_IGNORED("XAuthLocation", 1),
};
const size_t sc_nkeywords = sizeof(sc_keywords) / sizeof(sc_keywords[0]);

static int
keyword_cmp(const void *name, const void *kw)
{
	return strcasecmp(name, ((const struct sc_keyword *)kw)->name);
}

const struct sc_keyword *
sc_keyword_find(const char *name)
{
	return bsearch(name, sc_keywords, sc_nkeywords, sizeof(sc_keywords[0]),
	    keyword_cmp);
}

static bool
kind_has_int(enum sc_kind kind)
{
	return kind == SC_FLAG || kind == SC_INT || kind == SC_TIME ||
	    kind == SC_ENUM || kind == SC_MASK;
}

static bool
kind_has_str(enum sc_kind kind)
{
	return kind == SC_STR || kind == SC_ALGS;
}

static int *
int_field(struct server_config *c, const struct sc_keyword *kw)
{
	return (int *)(void *)((char *)c + kw->off);
}

static char **
str_field(struct server_config *c, const struct sc_keyword *kw)
{
	return (char **)(void *)((char *)c + kw->off);
}

int
sc_int_value(const struct server_config *c, const struct sc_keyword *kw)
{
	return *(const int *)(const void *)((const char *)c + kw->off);
}

const char *
sc_str_value(const struct server_config *c, const struct sc_keyword *kw)
{
	return *(char *const *)(const void *)((const char *)c + kw->off);
}

static int
choose(const struct sc_choices *ch, const char *kw, const char *v, int *out,
    char *err, size_t errlen)
{
	if (cfgval_word(ch->words, ch->nwords, v, out) == 0)
		return 0;
	seterr(err, errlen, "%s: bad value '%s' (%s)", kw, v, ch->allowed);
	return -1;
}

int
sc_yesno(const char *kw, const char *v, int *out, char *err, size_t errlen)
{
	return choose(&yesno_choices, kw, v, out, err, errlen);
}

/* The value of an int kind. 0, or -1 with the message. */
static int
parse_int_kind(const struct sc_keyword *kw, const char *v, int *out,
    char *err, size_t errlen)
{
	switch (kw->kind) {
	case SC_FLAG:
		return sc_yesno(kw->name, v, out, err, errlen);
	case SC_ENUM:
		return choose(kw->u.choices, kw->name, v, out, err, errlen);
	case SC_INT:
		if (cfgval_uint(v, kw->u.range.min, kw->u.range.max, out) == 0)
			return 0;
		seterr(err, errlen, "%s: bad value '%s' (a number from %ld to "
		    "%ld)", kw->name, v, kw->u.range.min, kw->u.range.max);
		return -1;
	case SC_TIME:
		if (cfgval_time(v, out) == 0)
			return 0;
		seterr(err, errlen, "%s: bad value '%s' (seconds, or a time "
		    "such as 90s, 10m or 1h30m)", kw->name, v);
		return -1;
	case SC_MASK:
		if (cfgval_octal_mask(v, out) == 0)
			return 0;
		seterr(err, errlen, "%s: '%s' is not an octal mask 0-0777",
		    kw->name, v);
		return -1;
	default:
		seterr(err, errlen, "%s: not a number kind", kw->name);
		return -1;
	}
}

/* Every value is checked; the first one is kept. */
static int
set_int_kind(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	int v, *field = int_field(c, kw);

	if (parse_int_kind(kw, a[0], &v, err, errlen) != 0)
		return -1;
	if (*field == SC_UNSET)
		*field = v;
	return 0;
}

int
sc_set_str(char **field, const char *v, char *err, size_t errlen)
{
	if (*field == NULL && (*field = strdup(v)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
set_str(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	if (kw->u.check != NULL && kw->u.check(kw->name, a[0], err,
	    errlen) != 0)
		return -1;
	return sc_set_str(str_field(c, kw), a[0], err, errlen);
}

/* The host key, sockets and relative paths live under StateDirectory: it
 * must not depend on the directory ferryd was started in. */
static int
check_abs_path(const char *kw, const char *v, char *err, size_t errlen)
{
	if (v[0] == '/')
		return 0;
	seterr(err, errlen, "%s: '%s' is not an absolute path", kw, v);
	return -1;
}

/* Adds "name: dropped" to c's lines for ferryd -d. */
static int
note_left_out(struct server_config *c, const char *name,
    const char *dropped, char *err, size_t errlen)
{
	char *more;

	if (asprintf(&more, "%s%s: %s\n", c->algs_left_out != NULL ?
	    c->algs_left_out : "", name, dropped) == -1) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	free(c->algs_left_out);
	c->algs_left_out = more;
	return 0;
}

/* Read as sshd reads it; the names sshd knows that ferryd does not
 * implement are left out, which keeps the list's meaning (alglist.h). */
static int
set_algs(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	char why[1024], dropped[512], *list, **field = str_field(c, kw);

	if (alglist_assemble(a[0], kw->u.algs, &list, dropped,
	    sizeof(dropped), why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s: %s", kw->name, why);
		return -1;
	}
	if (*field != NULL) {
		free(list);
		return 0;
	}
	*field = list;
	if (dropped[0] != '\0')
		return note_left_out(c, kw->name, dropped, err, errlen);
	return 0;
}

static int
set_refused(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	seterr(err, errlen, "%s is not supported: %s", kw->name, kw->u.note);
	return -1;
}

/* "none", sshd's default, asks for nothing. */
static int
set_none_only(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	if (n == 1 && strcasecmp(a[0], "none") == 0)
		return 0;
	return set_refused(c, kw, a, n, err, errlen);
}

/* Noted once per keyword (the table's name, not owned). */
static int
set_ignored(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < c->nnoeffect; i++)
		if (c->noeffect[i] == kw->name)
			return 0;
	if (c->nnoeffect < SC_MAX_NOTES)
		c->noeffect[c->nnoeffect++] = kw->name;
	return 0;
}

static sc_set_fn *const setters[] = {
	[SC_FLAG] = set_int_kind,
	[SC_INT] = set_int_kind,
	[SC_TIME] = set_int_kind,
	[SC_ENUM] = set_int_kind,
	[SC_MASK] = set_int_kind,
	[SC_STR] = set_str,
	[SC_ALGS] = set_algs,
	[SC_REFUSED] = set_refused,
	[SC_NONE_ONLY] = set_none_only,
	[SC_IGNORED] = set_ignored,
	[SC_CODE] = NULL,
};

int
sc_keyword_set(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	sc_set_fn *fn = kw->kind == SC_CODE ? kw->u.fn : setters[kw->kind];

	return fn(c, kw, a, n, err, errlen);
}

void
sc_fields_unset(struct server_config *c)
{
	size_t i;

	for (i = 0; i < sc_nkeywords; i++)
		if (kind_has_int(sc_keywords[i].kind))
			*int_field(c, &sc_keywords[i]) = SC_UNSET;
}

int
sc_fields_default(struct server_config *c)
{
	const struct sc_keyword *kw;
	char **field;
	size_t i;

	for (i = 0; i < sc_nkeywords; i++) {
		kw = &sc_keywords[i];
		if (kind_has_int(kw->kind) && *int_field(c, kw) == SC_UNSET)
			*int_field(c, kw) = kw->def;
		if (kw->kind != SC_ALGS)
			continue;
		field = str_field(c, kw);
		if (*field == NULL &&
		    (*field = strdup(kw->u.algs->def)) == NULL)
			return -1;
	}
	return 0;
}

/* Aliases share a field: it is freed once. */
void
sc_fields_free(struct server_config *c)
{
	char **field;
	size_t i;

	for (i = 0; i < sc_nkeywords; i++)
		if (kind_has_str(sc_keywords[i].kind)) {
			field = str_field(c, &sc_keywords[i]);
			free(*field);
			*field = NULL;
		}
}
