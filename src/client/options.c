/* The life of a struct options, its forwards, and ssh_config's host
 * patterns and Host lines. */
#include "options.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/sshkw.h"

/* Nothing read yet: every keyword unset. */
void
options_init(struct options *o)
{
	static const struct options_parsed unset = {
		.batch_mode = OPT_UNSET, .check_host_ip = OPT_UNSET,
		.compression = OPT_UNSET,
		.exit_on_forward_failure = OPT_UNSET,
		.gateway_ports = OPT_UNSET, .hash_known_hosts = OPT_UNSET,
		.identities_only = OPT_UNSET, .reconnect = OPT_UNSET,
		.stream_local_bind_unlink = OPT_UNSET,
		.tcp_keepalive = OPT_UNSET, .strict = OPT_UNSET,
		.family = OPT_UNSET, .log_level = OPT_UNSET,
	};

	memset(o, 0, sizeof(*o));
	o->parsed = unset;
	o->port = -1;
	o->rekey_bytes = -1;
	o->connect_timeout = -1;
	o->connection_attempts = -1;
	o->npermit_remote_open = FWD_PERMIT_UNSET;
	o->stream_local_bind_mask = -1;
	o->reconnect_delay_ms = -1;
	o->reconnect_max_delay_ms = -1;
	o->server_alive_interval = -1;
	o->server_alive_count_max = -1;
	o->required_rsa_size = -1;
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
	for (i = 0; i < o->nglobal_known_hosts; i++)
		free(o->global_known_hosts[i]);
	free(o->host_key_alias);
	free(o->revoked_host_keys);
	for (i = 0; i < o->ncertificate; i++) {
		free(o->certificate[i]);
		free(o->certificate_path[i]);
	}
	free(o->ciphers);
	free(o->macs);
	free(o->kex_algs);
	free(o->hostkey_algs);
	free(o->pubkey_algs);
	free(o->ca_sign_algs);
	free(o->algs_left_out);
	free(o->config_file);
	free(o->log_file);
	free(o->stdio_host);
	free(o->identity_agent);
	free(o->control_path);
	free(o->proxy_command);
	free(o->proxy_jump);
	free(o->proxy_run);
	free(o->bind_address);
	free(o->bind_interface);
	free(o->mux_command);
	free(o->metrics_listen);
	free(o->ignore_unknown);
	sshkw_free(o);
	memset(o, 0, sizeof(*o));
}

int
options_add_forward(struct options *o, enum fwd_kind kind, const char *spec,
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
