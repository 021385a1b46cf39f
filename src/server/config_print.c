/* ferryd -T: the effective configuration printed as sshd -T does
 * (lowercase keywords, one value a line), in a form that reads back. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_kw.h"

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

static void
print_ports(const struct server_config *c, FILE *fp)
{
	int i;

	for (i = 0; i < c->nports; i++)
		fprintf(fp, "port %d\n", c->ports[i]);
}

/* Without a port of its own, an address is printed with every Port; no
 * ListenAddress is every address of both families. */
static void
print_listens(const struct server_config *c, FILE *fp)
{
	int i, j;

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
}

static void
print_hostkeys(const struct server_config *c, FILE *fp)
{
	int i;

	for (i = 0; i < c->nhostkeys; i++)
		print_kv(fp, "hostkey", c->hostkeys[i]);
}

static void
print_hostcerts(const struct server_config *c, FILE *fp)
{
	int i;

	for (i = 0; i < c->nhostcerts; i++)
		print_kv(fp, "hostcertificate", c->hostcerts[i]);
}

static void
print_authkeys(const struct server_config *c, FILE *fp)
{
	int i;

	fprintf(fp, "authorizedkeysfile");
	for (i = 0; i < c->nauthorized_keys; i++) {
		fputc(' ', fp);
		print_word(fp, c->authorized_keys[i]);
	}
	fputc('\n', fp);
}

/* A command's words as split, each quoted as it needs. */
static void
print_cmd(FILE *fp, const char *kw, char *const *argv, int argc)
{
	int i;

	fprintf(fp, "%s", kw);
	if (argc == 0)
		fprintf(fp, " none");
	for (i = 0; i < argc; i++) {
		fputc(' ', fp);
		print_word(fp, argv[i]);
	}
	fputc('\n', fp);
}

static void
print_akc(const struct server_config *c, FILE *fp)
{
	print_cmd(fp, "authorizedkeyscommand", c->akc_argv, c->akc_argc);
}

static void
print_apc(const struct server_config *c, FILE *fp)
{
	print_cmd(fp, "authorizedprincipalscommand", c->apc_argv,
	    c->apc_argc);
}

static void
print_permit_open(const struct server_config *c, FILE *fp)
{
	print_permits(fp, "permitopen", c->permit_open, c->npermit_open);
}

static void
print_permit_listen(const struct server_config *c, FILE *fp)
{
	print_permits(fp, "permitlisten", c->permit_listen,
	    c->npermit_listen);
}

/* sshd -T prints a word of these lists a line, nothing when empty. */
static void
print_users(const struct server_config *c, FILE *fp)
{
	int i;

	for (i = 0; i < c->nallow_users; i++)
		print_kv(fp, "allowusers", c->allow_users[i]);
	for (i = 0; i < c->ndeny_users; i++)
		print_kv(fp, "denyusers", c->deny_users[i]);
}

static void
print_startups(const struct server_config *c, FILE *fp)
{
	fprintf(fp, "maxstartups %d:%d:%d\n", c->max_startups_begin,
	    c->max_startups_rate, c->max_startups_full);
}

static void
print_chan_timeouts(const struct server_config *c, FILE *fp)
{
	if (c->nchan_timeouts > 0)
		fprintf(fp, "channeltimeout %s\n", c->chan_timeouts_text);
	if (c->unused_connection_timeout == 0)
		fprintf(fp, "unusedconnectiontimeout none\n");
	else
		fprintf(fp, "unusedconnectiontimeout %d\n",
		    c->unused_connection_timeout);
}

static void
print_per_source(const struct server_config *c, FILE *fp)
{
	if (c->per_source_max_startups == 0)
		fprintf(fp, "persourcemaxstartups none\n");
	else
		fprintf(fp, "persourcemaxstartups %d\n",
		    c->per_source_max_startups);
	fprintf(fp, "persourcenetblocksize %d:%d\n", c->per_source_v4_bits,
	    c->per_source_v6_bits);
}

/* A keyword of the table by its kind, its name in lowercase. */
static void
print_by_kind(const struct server_config *c, const struct sc_keyword *kw,
    FILE *fp)
{
	const char *s;
	char name[64];
	size_t i;
	int v;

	for (i = 0; kw->name[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = (char)tolower((unsigned char)kw->name[i]);
	name[i] = '\0';
	if (kw->kind == SC_STR || kw->kind == SC_ALGS) {
		print_kv(fp, name, sc_str_value(c, kw));
		return;
	}
	v = sc_int_value(c, kw);
	if (kw->kind == SC_FLAG)
		s = v ? "yes" : "no";
	else if (kw->kind == SC_ENUM)
		s = cfgval_word_name(kw->u.choices->words,
		    kw->u.choices->nwords, v);
	else if (kw->kind == SC_MASK) {
		fprintf(fp, "%s %04o\n", name, v);
		return;
	} else {
		fprintf(fp, "%s %d\n", name, v);
		return;
	}
	fprintf(fp, "%s %s\n", name, s);
}

/* sshd -T's order. A keyword without a printer of its own is printed by
 * its kind. */
static const struct {
	const char	*kw;
	void		(*print)(const struct server_config *, FILE *);
} print_order[] = {
	{ "Port", print_ports },
	{ "ListenAddress", print_listens },
	{ "HostKey", print_hostkeys },
	{ "HostCertificate", print_hostcerts },
	{ "AuthorizedKeysFile", print_authkeys },
	{ "AuthorizedPrincipalsFile", NULL },
	{ "TrustedUserCAKeys", NULL },
	{ "Ciphers", NULL },
	{ "MACs", NULL },
	{ "KexAlgorithms", NULL },
	{ "HostKeyAlgorithms", NULL },
	{ "PubkeyAcceptedAlgorithms", NULL },
	{ "CASignatureAlgorithms", NULL },
	{ "Compression", NULL },
	{ "GatewayPorts", NULL },
	{ "AllowTcpForwarding", NULL },
	{ "AllowStreamLocalForwarding", NULL },
	{ "StreamLocalBindMask", NULL },
	{ "StreamLocalBindUnlink", NULL },
	{ "StreamLocalDirectory", NULL },
	{ "KeyPermitsCoverStreamLocal", NULL },
	{ "ReclaimForwards", NULL },
	{ "PermitOpen", print_permit_open },
	{ "PermitListen", print_permit_listen },
	{ "ClientAliveInterval", NULL },
	{ "ClientAliveCountMax", NULL },
	{ "ChannelTimeout", print_chan_timeouts },
	{ "LoginGraceTime", NULL },
	{ "MaxStartups", print_startups },
	{ "PerSourceMaxStartups", print_per_source },
	{ "MaxAuthTries", NULL },
	{ "RequiredRSASize", NULL },
	{ "MaxSessions", NULL },
	{ "MaxListeners", NULL },
	{ "ForwardConnectTimeout", NULL },
	{ "MaxPendingConnects", NULL },
	{ "MaxUserChannels", NULL },
	{ "MaxCompressedSessions", NULL },
	{ "MaxForwardConnections", NULL },
	{ "EventLoops", NULL },
	{ "LogLevel", NULL },
	{ "SyslogFacility", NULL },
	{ "Banner", NULL },
	{ "AuthorizedKeysCommand", print_akc },
	{ "AuthorizedKeysCommandUser", NULL },
	{ "RevokedKeys", NULL },
	{ "AuthorizedPrincipalsCommand", print_apc },
	{ "AuthorizedPrincipalsCommandUser", NULL },
	{ "AllowUsers", print_users },
	{ "PidFile", NULL },
	{ "StateDirectory", NULL },
	{ "RunAsUser", NULL },
	{ "ControlSocket", NULL },
	{ "MetricsListen", NULL },
	{ "ClusterRegistry", NULL },
	{ "ClusterNodeName", NULL },
	{ "ClusterBindAddress", NULL },
	{ "ClusterPortRange", sc_print_cluster_ports },
	{ "ClusterLeaseTime", NULL },
	{ "ClusterPrefix", NULL },
	{ "ClusterCAFile", NULL },
	{ "ClusterCertificateFile", NULL },
	{ "ClusterKeyFile", NULL },
};

void
server_config_print(const struct server_config *c, FILE *fp)
{
	const struct sc_keyword *kw;
	size_t i;

	for (i = 0; i < sizeof(print_order) / sizeof(print_order[0]); i++) {
		if (print_order[i].print != NULL)
			print_order[i].print(c, fp);
		else if ((kw = sc_keyword_find(print_order[i].kw)) != NULL)
			print_by_kind(c, kw, fp);
	}
}

/* A shallow copy of c with the values a connection resolved to: printed,
 * then dropped without freeing (its pointers are c's and its blocks'). */
static void
apply_conn(struct server_config *t, const struct server_conn_cfg *v)
{
	int i;

	t->allow_tcp_forwarding = v->allow_tcp_forwarding;
	t->allow_streamlocal_forwarding = v->allow_streamlocal_forwarding;
	t->disable_forwarding = v->disable_forwarding;
	t->gateway_ports = v->gateway_ports;
	t->streamlocal_bind_unlink = v->streamlocal_bind_unlink;
	t->streamlocal_bind_mask = v->streamlocal_bind_mask;
	t->client_alive_interval = v->client_alive_interval;
	t->client_alive_count_max = v->client_alive_count_max;
	t->max_auth_tries = v->max_auth_tries;
	t->required_rsa_size = v->required_rsa_size;
	t->max_sessions = v->max_sessions;
	t->unused_connection_timeout = v->unused_connection_timeout;
	t->nchan_timeouts = v->nchan_timeouts;
	if (v->nchan_timeouts > 0) {
		memcpy(t->chan_timeouts, v->chan_timeouts,
		    (size_t)v->nchan_timeouts * sizeof(t->chan_timeouts[0]));
		snprintf(t->chan_timeouts_text, sizeof(t->chan_timeouts_text),
		    "%s", v->chan_timeouts_text);
	}
	t->npermit_open = v->npermit_open;
	if (v->npermit_open > 0)
		memcpy(t->permit_open, v->permit_open,
		    (size_t)v->npermit_open * sizeof(t->permit_open[0]));
	t->npermit_listen = v->npermit_listen;
	if (v->npermit_listen > 0)
		memcpy(t->permit_listen, v->permit_listen,
		    (size_t)v->npermit_listen * sizeof(t->permit_listen[0]));
	t->nauthorized_keys = v->nauthorized_keys;
	for (i = 0; i < v->nauthorized_keys; i++)
		t->authorized_keys[i] = v->authorized_keys[i];
	t->banner = (char *)(uintptr_t)v->banner;
	t->pubkey_algs = (char *)(uintptr_t)v->pubkey_algs;
	t->ca_sign_algs = (char *)(uintptr_t)v->ca_sign_algs;
}

void
server_config_print_conn(const struct server_config *c,
    const struct sc_conninfo *ci, FILE *fp)
{
	struct server_conn_cfg v;
	struct server_config *t;

	if ((t = malloc(sizeof(*t))) == NULL) {
		server_config_print(c, fp);
		return;
	}
	memcpy(t, c, sizeof(*t));
	server_conn_resolve(c, ci, &v);
	apply_conn(t, &v);
	server_config_print(t, fp);
	free(t);
}
