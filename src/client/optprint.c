/* The effective configuration as `ssh -G` prints it: ssh's lower-case
 * keywords, one a line, from finished options. */
#include "options.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client/sshkw.h"

static void
print_yesno(FILE *fp, const char *kw, bool v)
{
	fprintf(fp, "%s %s\n", kw, v ? "yes" : "no");
}

static const char *
family_name(enum addr_family f)
{
	switch (f) {
	case AFAM_INET:
		return "inet";
	case AFAM_INET6:
		return "inet6";
	case AFAM_ANY:
		break;
	}
	return "any";
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

/* IdentityAgent, IdentityFile, HostKeyAlias, the known_hosts files,
 * ControlPath. */
static void
print_files(const struct options *o, FILE *fp)
{
	int i;

	if (o->identity_agent != NULL)
		fprintf(fp, "identityagent %s\n", o->identity_agent);
	for (i = 0; i < o->nidentity; i++)
		fprintf(fp, "identityfile %s\n", o->identity[i]);
	for (i = 0; i < o->ncertificate; i++)	/* as written, as ssh -G */
		fprintf(fp, "certificatefile %s\n", o->certificate[i]);
	if (o->host_key_alias != NULL)
		fprintf(fp, "hostkeyalias %s\n", o->host_key_alias);
	if (o->revoked_host_keys != NULL)	/* ssh -G leaves "none" out */
		fprintf(fp, "revokedhostkeys %s\n", o->revoked_host_keys);
	fprintf(fp, "globalknownhostsfile");
	for (i = 0; i < o->nglobal_known_hosts; i++)
		fprintf(fp, " %s", o->global_known_hosts[i]);
	fputc('\n', fp);
	fprintf(fp, "userknownhostsfile");
	for (i = 0; i < o->nknown_hosts; i++)
		fprintf(fp, " %s", o->known_hosts[i]);
	fputc('\n', fp);
	if (o->control_path != NULL)	/* ssh -G leaves "none" out */
		fprintf(fp, "controlpath %s\n", o->control_path);
	if (o->proxy_command != NULL &&
	    strcasecmp(o->proxy_command, "none") != 0)
		fprintf(fp, "proxycommand %s\n", o->proxy_command);
	if (o->proxy_jump != NULL && strcasecmp(o->proxy_jump, "none") != 0)
		fprintf(fp, "proxyjump %s\n", o->proxy_jump);
	if (o->bind_address != NULL)
		fprintf(fp, "bindaddress %s\n", o->bind_address);
	if (o->bind_interface != NULL)
		fprintf(fp, "bindinterface %s\n", o->bind_interface);
}

void
options_print_connection(const struct options *o, FILE *fp)
{
	static const char *const strict[] = {
		[SHK_NO] = "false", [SHK_YES] = "true",
		[SHK_ACCEPT_NEW] = "accept-new", [SHK_ASK] = "ask",
	};
	static const char *const levels[] = {
		[LOG_QUIET] = "SILENT", [LOG_ERROR] = "ERROR",
		[LOG_INFO] = "INFO", [LOG_VERBOSE] = "DEBUG1",
		[LOG_DEBUG] = "DEBUG2", [LOG_DEBUG2] = "DEBUG3",
	};

	fprintf(fp, "host %s\nhostname %s\nuser %s\nport %d\n", o->host,
	    o->hostname, o->user, o->port);
	fprintf(fp, "addressfamily %s\n", family_name(o->family));
	fprintf(fp, "loglevel %s\n", levels[o->log_level]);
	print_yesno(fp, "batchmode", o->batch_mode);
	print_yesno(fp, "checkhostip", o->check_host_ip);
	print_yesno(fp, "compression", o->compression);
	fprintf(fp, "connectionattempts %d\n", o->connection_attempts);
	if (o->connect_timeout > 0)
		fprintf(fp, "connecttimeout %d\n", o->connect_timeout);
	else
		fprintf(fp, "connecttimeout none\n");
	print_yesno(fp, "exitonforwardfailure", o->exit_on_forward_failure);
	print_yesno(fp, "gatewayports", o->gateway_ports);
	print_yesno(fp, "hashknownhosts", o->hash_known_hosts);
	print_yesno(fp, "identitiesonly", o->identities_only);
	fprintf(fp, "serveralivecountmax %d\n", o->server_alive_count_max);
	fprintf(fp, "serveraliveinterval %d\n", o->server_alive_interval);
	fprintf(fp, "stricthostkeychecking %s\n", strict[o->strict]);
	print_yesno(fp, "tcpkeepalive", o->tcp_keepalive);
	options_print_algs(o, fp);
	fprintf(fp, "rekeylimit %lld %d\n", (long long)o->rekey_bytes,
	    o->rekey_seconds);
	print_files(o, fp);
	fprintf(fp, "metricslisten %s\n", o->metrics_listen ?
	    o->metrics_listen : "none");
	print_yesno(fp, "reconnect", o->reconnect);
	fprintf(fp, "reconnectdelay %.1f\n",
	    (double)o->reconnect_delay_ms / 1000);
	fprintf(fp, "reconnectmaxdelay %.1f\n",
	    (double)o->reconnect_max_delay_ms / 1000);
	fprintf(fp, "streamlocalbindmask %04o\n", o->stream_local_bind_mask);
	print_yesno(fp, "streamlocalbindunlink", o->stream_local_bind_unlink);
}

/* PermitRemoteOpen: any, none, or host:port with "*" for any port. */
static void
print_permits(const struct options *o, FILE *fp)
{
	int i;

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
}

void
options_print(const struct options *o, FILE *fp)
{
	int i;

	options_print_connection(o, fp);
	print_permits(o, fp);
	for (i = 0; i < o->nlocal; i++)
		print_forward(fp, &o->local[i]);
	for (i = 0; i < o->nremote; i++)
		print_forward(fp, &o->remote[i]);
	sshkw_print(o, fp);
}
