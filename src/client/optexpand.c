/* ~ and %-tokens in the values ferry honours, expanded once every file was
 * read, with the final host, port and users (ssh.c does the same after
 * its configuration is complete). Which keyword takes which tokens is
 * ssh_config(5)'s TOKENS section. */
#include "options.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/jump.h"
#include "util/log.h"
#include "util/tokens.h"

int
options_expand_hostname(const struct options *o, char *out, size_t outlen,
    char *err, size_t errlen)
{
	struct tokens t;
	char *p;

	tokens_init(&t);
	tokens_set(&t, 'h', o->host);
	if (tokens_expand(o->hostname ? o->hostname : o->host, &t, out,
	    outlen, err, errlen) < 0)
		return -1;
	/* ssh lowercases the name it connects to */
	for (p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

/* The local host name, full and up to the first dot. */
static void
local_names(char *full, size_t fulllen, char *shrt, size_t shrtlen)
{
	if (gethostname(full, fulllen) != 0)
		snprintf(full, fulllen, "localhost");
	full[fulllen - 1] = '\0';
	snprintf(shrt, shrtlen, "%.*s", (int)strcspn(full, "."), full);
}

/* ~ then tokens, in place of *field (a malloc'd string). */
static int
expand_path(char **field, const char *home, const struct tokens *t,
    const char *kw, char *err, size_t errlen)
{
	char tilde[4096], out[4096], why[256];
	char *copy;

	if (tokens_tilde(*field, home, tilde, sizeof(tilde), why,
	    sizeof(why)) < 0 ||
	    tokens_expand(tilde, t, out, sizeof(out), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s %s: %s", kw, *field, why);
		return -1;
	}
	if ((copy = strdup(out)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* A Unix socket path of a forward, in its fixed-size field. */
static int
expand_fwd_path(char *path, size_t size, const char *home,
    const struct tokens *t, const char *kw, char *err, size_t errlen)
{
	char *tmp;
	int r;

	if (path[0] == '\0')
		return 0;
	if ((tmp = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = expand_path(&tmp, home, t, kw, err, errlen);
	if (r == 0 && strlen(tmp) >= size) {
		snprintf(err, errlen, "%s: %s is too long", kw, tmp);
		r = -1;
	}
	if (r == 0)
		memcpy(path, tmp, strlen(tmp) + 1);
	free(tmp);
	return r;
}

/* ferry's own executable, for a ProxyJump's ferry -W. */
static int
self_path(char *out, size_t outlen, char *err, size_t errlen)
{
	ssize_t n = readlink("/proc/self/exe", out, outlen - 1);

	if (n <= 0) {
		snprintf(err, errlen, "ProxyJump: cannot find ferry's own "
		    "executable: %s", strerror(errno));
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/* The command that carries the connection (options.h: proxy_run). */
static int
proxy_command(const struct options *o, char **cmd, char *err,
    size_t errlen)
{
	char self[4096], port[16], out[CMDLINE_MAX], why[256];
	char *jump = NULL;
	const char *in = o->proxy_command;
	struct tokens t;

	*cmd = NULL;
	if (o->proxy_jump != NULL && strcasecmp(o->proxy_jump, "none") != 0) {
		if (self_path(self, sizeof(self), err, errlen) != 0 ||
		    (jump = jump_command(o->proxy_jump, self,
		    o->log_level > LOG_INFO ? (int)(o->log_level - LOG_INFO) :
		    0, o->config_file, err, errlen)) == NULL)
			return -1;
		in = jump;
	}
	if (in == NULL || strcasecmp(in, "none") == 0)
		return 0;
	/* ProxyCommand's tokens (ssh_config(5)): %h %n %p %r */
	snprintf(port, sizeof(port), "%d", o->port);
	tokens_init(&t);
	tokens_set(&t, 'h', o->hostname);
	tokens_set(&t, 'n', o->host);
	tokens_set(&t, 'p', port);
	tokens_set(&t, 'r', o->user);
	if (tokens_expand(in, &t, out, sizeof(out), why, sizeof(why)) < 0)
		snprintf(err, errlen, "%s %s: %s", jump != NULL ? "ProxyJump" :
		    "ProxyCommand", jump != NULL ? o->proxy_jump : in, why);
	else if ((*cmd = strdup(out)) == NULL)
		snprintf(err, errlen, "out of memory");
	free(jump);
	return *cmd != NULL ? 0 : -1;
}

int
options_expand(struct options *o, char *err, size_t errlen)
{
	char lfull[256], lshort[256], port[16], uid[16], hash[41];
	struct passwd *pw;
	struct tokens t;
	int i;

	if ((pw = getpwuid(getuid())) == NULL) {
		snprintf(err, errlen, "No user exists for uid %u",
		    (unsigned)getuid());
		return -1;
	}
	local_names(lfull, sizeof(lfull), lshort, sizeof(lshort));
	snprintf(port, sizeof(port), "%d", o->port);
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	if (tokens_conn_hash(lfull, o->hostname, port, o->user, hash) != 0) {
		snprintf(err, errlen, "cannot compute %%C");
		return -1;
	}
	tokens_init(&t);
	tokens_set(&t, 'C', hash);
	tokens_set(&t, 'd', pw->pw_dir);
	tokens_set(&t, 'h', o->hostname);
	tokens_set(&t, 'i', uid);
	tokens_set(&t, 'k', o->host_key_alias != NULL ? o->host_key_alias :
	    o->host);
	tokens_set(&t, 'L', lshort);
	tokens_set(&t, 'l', lfull);
	tokens_set(&t, 'n', o->host);
	tokens_set(&t, 'p', port);
	tokens_set(&t, 'r', o->user);
	tokens_set(&t, 'u', pw->pw_name);
	for (i = 0; i < o->nidentity; i++)
		if (expand_path(&o->identity[i], pw->pw_dir, &t,
		    "IdentityFile", err, errlen) != 0)
			return -1;
	for (i = 0; i < o->ncertificate; i++) {
		free(o->certificate_path[i]);
		if ((o->certificate_path[i] = strdup(o->certificate[i])) ==
		    NULL || expand_path(&o->certificate_path[i], pw->pw_dir,
		    &t, "CertificateFile", err, errlen) != 0)
			return -1;
	}
	for (i = 0; i < o->nknown_hosts; i++)
		if (expand_path(&o->known_hosts[i], pw->pw_dir, &t,
		    "UserKnownHostsFile", err, errlen) != 0)
			return -1;
	if (o->control_path != NULL && strcasecmp(o->control_path,
	    "none") != 0 && expand_path(&o->control_path, pw->pw_dir, &t,
	    "ControlPath", err, errlen) != 0)
		return -1;
	if (o->identity_agent != NULL && strcasecmp(o->identity_agent,
	    "none") != 0 && strcmp(o->identity_agent, "SSH_AUTH_SOCK") != 0 &&
	    expand_path(&o->identity_agent, pw->pw_dir, &t, "IdentityAgent",
	    err, errlen) != 0)
		return -1;
	for (i = 0; i < o->nlocal; i++)
		if (expand_fwd_path(o->local[i].listen_path,
		    sizeof(o->local[i].listen_path), pw->pw_dir, &t,
		    "LocalForward", err, errlen) != 0 ||
		    expand_fwd_path(o->local[i].connect_path,
		    sizeof(o->local[i].connect_path), pw->pw_dir, &t,
		    "LocalForward", err, errlen) != 0)
			return -1;
	for (i = 0; i < o->nremote; i++)
		if (expand_fwd_path(o->remote[i].listen_path,
		    sizeof(o->remote[i].listen_path), pw->pw_dir, &t,
		    "RemoteForward", err, errlen) != 0 ||
		    expand_fwd_path(o->remote[i].connect_path,
		    sizeof(o->remote[i].connect_path), pw->pw_dir, &t,
		    "RemoteForward", err, errlen) != 0)
			return -1;
	free(o->proxy_run);
	return proxy_command(o, &o->proxy_run, err, errlen);
}
