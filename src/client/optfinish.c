/* Once the command line and the files are read: the defaults, and what
 * was read resolved into the typed fields of struct options. */
#include "options.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static bool
yes_or(int parsed, bool def)
{
	return parsed == OPT_UNSET ? def : parsed == 1;
}

static int
value_or(int parsed, int def)
{
	return parsed == OPT_UNSET ? def : parsed;
}

/* The yes/no and multi-valued keywords. */
static void
resolve_parsed(struct options *o)
{
	const struct options_parsed *p = &o->parsed;

	o->batch_mode = yes_or(p->batch_mode, false);
	o->check_host_ip = yes_or(p->check_host_ip, false);	/* ssh 9.x */
	o->compression = yes_or(p->compression, false);
	/* -f waits for every forward, as ssh -f with ExitOnForwardFailure */
	o->exit_on_forward_failure = yes_or(p->exit_on_forward_failure,
	    o->background);
	o->gateway_ports = yes_or(p->gateway_ports, false);
	o->hash_known_hosts = yes_or(p->hash_known_hosts, false);
	o->identities_only = yes_or(p->identities_only, false);
	o->reconnect = yes_or(p->reconnect, false);
	o->stream_local_bind_unlink = yes_or(p->stream_local_bind_unlink,
	    false);
	o->tcp_keepalive = yes_or(p->tcp_keepalive, true);
	o->strict = (enum strict_hk)value_or(p->strict, SHK_ASK);
	o->family = (enum addr_family)value_or(p->family, AFAM_ANY);
	o->log_level = (enum log_level)value_or(p->log_level, LOG_INFO);
}

/* -W as ssh: ClearAllForwardings and ExitOnForwardFailure; ferry ends
 * with its one channel, so no Reconnect either. No control socket: the
 * ControlPath of an ssh_config is ssh's multiplexing socket, which a
 * ProxyCommand must leave to ssh. */
static void
finish_stdio(struct options *o)
{
	if (o->stdio_host == NULL)
		return;
	free(o->control_path);
	o->control_path = NULL;
	o->nlocal = 0;
	o->nremote = 0;
	o->exit_on_forward_failure = true;
	o->reconnect = false;
	o->no_shell = true;
}

/* Stores def in an unset (negative) number. */
static void
default_int(int *field, int def)
{
	if (*field < 0)
		*field = def;
}

/* The numbers; the yes/no keywords are resolved. */
static void
finish_numbers(struct options *o)
{
	if (o->rekey_bytes < 0)
		o->rekey_bytes = 0;
	/* a supervised tunnel does not wait minutes for one SYN */
	default_int(&o->connect_timeout, o->reconnect ? 5 : 0);
	default_int(&o->connection_attempts, 1);
	default_int(&o->reconnect_delay_ms, 1000);
	default_int(&o->reconnect_max_delay_ms, 5000);
	if (o->reconnect_max_delay_ms < o->reconnect_delay_ms)
		o->reconnect_max_delay_ms = o->reconnect_delay_ms;
	/* a supervised tunnel must notice a dead server by itself; ssh
	 * uses 300 in batch mode */
	default_int(&o->server_alive_interval, o->reconnect ? 10 :
	    o->batch_mode ? 300 : 0);
	default_int(&o->server_alive_count_max, 3);
	default_int(&o->stream_local_bind_mask, 0177);
	default_int(&o->required_rsa_size, 1024);	/* ssh 9.2's */
	if (o->npermit_remote_open == FWD_PERMIT_UNSET)
		o->npermit_remote_open = -1;
}

/* Fills an empty list of paths with defs; -1 if out of memory. */
static int
default_paths(char **v, int *n, const char *const *defs, size_t ndefs)
{
	size_t i;

	if (*n > 0)
		return 0;
	for (i = 0; i < ndefs; i++) {
		if ((v[*n] = strdup(defs[i])) == NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

/* HostName, Port, User, IdentityFile, the known_hosts files and
 * HostKeyAlias. */
static int
finish_destination(struct options *o, char *err, size_t errlen)
{
	static const char *const ids[] = {
		"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519",
	};
	static const char *const kh[] = {
		"~/.ssh/known_hosts", "~/.ssh/known_hosts2",
	};
	static const char *const global_kh[] = {
		"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2",
	};
	struct passwd *pw;
	char host[1024], *p;

	if (options_expand_hostname(o, host, sizeof(host), err, errlen) != 0)
		return -1;
	free(o->hostname);
	if ((o->hostname = strdup(host)) == NULL)
		goto nomem;
	default_int(&o->port, 22);
	if (o->user == NULL) {
		if ((pw = getpwuid(getuid())) == NULL) {
			snprintf(err, errlen, "No user exists for uid %u",
			    (unsigned)getuid());
			return -1;
		}
		if ((o->user = strdup(pw->pw_name)) == NULL)
			goto nomem;
	}
	if (default_paths(o->identity, &o->nidentity, ids, nitems(ids)) != 0 ||
	    default_paths(o->known_hosts, &o->nknown_hosts, kh,
	    nitems(kh)) != 0 ||
	    default_paths(o->global_known_hosts, &o->nglobal_known_hosts,
	    global_kh, nitems(global_kh)) != 0)
		goto nomem;
	/* ssh looks the alias up, and prints it, in lower case */
	for (p = o->host_key_alias; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Frees a path that says "none" (or is empty, with empty_too). */
static void
none_to_null(char **path, bool empty_too)
{
	if (*path != NULL && (strcasecmp(*path, "none") == 0 ||
	    (empty_too && (*path)[0] == '\0'))) {
		free(*path);
		*path = NULL;
	}
}

/* IdentityAgent: the environment's socket unless one is named; "none"
 * for no agent, "SSH_AUTH_SOCK" for the environment's. */
static int
finish_agent(struct options *o)
{
	const char *env = getenv("SSH_AUTH_SOCK");

	if (o->identity_agent == NULL && env != NULL &&
	    (o->identity_agent = strdup(env)) == NULL)
		return -1;
	none_to_null(&o->identity_agent, true);
	if (o->identity_agent != NULL &&
	    strcmp(o->identity_agent, "SSH_AUTH_SOCK") == 0) {
		free(o->identity_agent);
		o->identity_agent = env != NULL ? strdup(env) : NULL;
	}
	return 0;
}

int
options_finish(struct options *o, char *err, size_t errlen)
{
	if (finish_destination(o, err, errlen) != 0)
		return -1;
	resolve_parsed(o);
	finish_stdio(o);
	finish_numbers(o);
	none_to_null(&o->control_path, false);
	none_to_null(&o->revoked_host_keys, false);
	if (options_expand(o, err, errlen) != 0)
		return -1;
	none_to_null(&o->metrics_listen, false);
	if (connector_src_set(&o->src, o->bind_address, o->bind_interface,
	    err, errlen) != 0)
		return -1;
	if (finish_agent(o) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
