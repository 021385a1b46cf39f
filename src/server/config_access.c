/* sshd_config keywords for who may log in and what they may forward,
 * where the value has a rule of its own: AuthorizedKeysFile,
 * PubkeyAuthentication, AuthenticationMethods,
 * DisableForwarding, PermitOpen, PermitListen, ChannelTimeout,
 * UnusedConnectionTimeout, AllowUsers, DenyUsers and the checks of
 * StreamLocalDirectory and SyslogFacility. */
#include "config_kw.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fwd/policy.h"
#include "fwd/slpath.h"
#include "server/users.h"
#include "util/cfgval.h"
#include "util/err.h"
#include "util/syslogout.h"
#include "util/tokens.h"

/* Several files, tried in order; the first line's list wins, as in sshd.
 * %u, %h and %% are expanded per user by the caller; any other token is
 * an error here. */
int
sc_kw_authkeys(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	struct tokens t;
	char out[1024], why[256];
	int i;

	if (n > SC_MAX_AKFILES) {
		seterr(err, errlen, "%s: too many files (max %d)", kw->name,
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
			    "%%h and %%%%)", kw->name, a[i], why);
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

/* ferryd authenticates with public keys only: turning them off would
 * lock everyone out, which is surely not what the file means. */
int
sc_kw_pubkey(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	int v;

	if (sc_yesno(kw->name, a[0], &v, err, errlen) != 0)
		return -1;
	if (v == 0) {
		seterr(err, errlen, "%s: 'no' is not supported: ferryd has "
		    "only public key authentication", kw->name);
		return -1;
	}
	return 0;
}

/* ferryd's only method is publickey: a list it satisfies is one where
 * some alternative is publickey alone; one asking for a second method
 * (or a second key) cannot be met and must not be ignored. */
int
sc_kw_auth_methods(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	int i;

	if (n == 1 && strcmp(a[0], "any") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(a[i], "publickey") == 0)
			return 0;
	seterr(err, errlen, "%s is not supported: ferryd's only method is "
	    "one publickey, and no alternative here is 'publickey' alone",
	    kw->name);
	return -1;
}

/* DisableForwarding overrides every other forwarding option (sshd), so
 * "yes" wins over an AllowTcpForwarding seen earlier. */
int
sc_kw_disable_fwd(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	int v;

	if (sc_yesno(kw->name, a[0], &v, err, errlen) != 0)
		return -1;
	if (v == 1) {
		c->disable_forwarding = true;
		c->allow_tcp_forwarding = FWD_ALLOW_NO;
		c->allow_streamlocal_forwarding = FWD_ALLOW_NO;
	}
	return 0;
}

int
sc_kw_permit_open(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	return fwd_permit_words(c->permit_open, SC_MAX_PERMITS,
	    &c->npermit_open, false, kw->name, a, n, err, errlen);
}

int
sc_kw_permit_listen(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	return fwd_permit_words(c->permit_listen, SC_MAX_PERMITS,
	    &c->npermit_listen, true, kw->name, a, n, err, errlen);
}

/* "none", or a directory with %u and %% (checked here, expanded per
 * user when a request comes). */
int
sc_check_sl_dir(const char *kw, const char *v, char *err, size_t errlen)
{
	char why[200];

	if (slpath_check_template(v, why, sizeof(why)) == 0)
		return 0;
	seterr(err, errlen, "%s: bad value '%s': %s", kw, v, why);
	return -1;
}

/* ChannelTimeout type=interval ...: each type a pattern of channel type
 * names (direct-tcpip, forwarded-streamlocal@openssh.com, session:*...),
 * the interval a time (0: none). */
int
sc_kw_chan_timeout(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	char *eq;
	size_t tl;
	int i, secs;

	for (i = 0; i < n; i++) {
		if ((eq = strchr(a[i], '=')) == NULL || eq == a[i] ||
		    (tl = (size_t)(eq - a[i])) >= sizeof(c->chan_timeouts[0].type) ||
		    cfgval_time(eq + 1, &secs) != 0) {
			seterr(err, errlen, "%s: bad entry '%s' (type=interval)",
			    kw->name, a[i]);
			return -1;
		}
		if (c->nchan_timeouts != SC_UNSET)
			continue;
		memcpy(c->chan_timeouts[i].type, a[i], tl);
		c->chan_timeouts[i].type[tl] = '\0';
		c->chan_timeouts[i].secs = secs;
	}
	if (c->nchan_timeouts == SC_UNSET) {
		c->nchan_timeouts = n;
		c->chan_timeouts_text[0] = '\0';
		for (i = 0; i < n; i++)
			snprintf(c->chan_timeouts_text +
			    strlen(c->chan_timeouts_text),
			    sizeof(c->chan_timeouts_text) -
			    strlen(c->chan_timeouts_text), "%s%s", i ? " " : "",
			    a[i]);
	}
	return 0;
}

int
sc_kw_unused_timeout(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	int secs = 0;

	if (strcasecmp(a[0], "none") != 0 && cfgval_time(a[0], &secs) != 0) {
		seterr(err, errlen, "%s: bad time '%s'", kw->name, a[0]);
		return -1;
	}
	if (c->unused_connection_timeout == SC_UNSET)
		c->unused_connection_timeout = secs;
	return 0;
}

/* AllowUsers / DenyUsers: every line adds its words (sshd keeps them
 * all, unlike most keywords); each is checked here (server/users.h). */
static int
user_words(char **list, int *nlist, const char *kw, char **a, int n,
    char *err, size_t errlen)
{
	char why[300];
	int i;

	for (i = 0; i < n; i++) {
		if (users_pattern_check(a[i], why, sizeof(why)) != 0) {
			seterr(err, errlen, "%s: %s", kw, why);
			return -1;
		}
		if (*nlist >= SC_MAX_USERPATS) {
			seterr(err, errlen, "%s: too many patterns (max %d)",
			    kw, SC_MAX_USERPATS);
			return -1;
		}
		if ((list[*nlist] = strdup(a[i])) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		(*nlist)++;
	}
	return 0;
}

int
sc_kw_allow_users(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	return user_words(c->allow_users, &c->nallow_users, kw->name, a, n,
	    err, errlen);
}

int
sc_kw_deny_users(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	return user_words(c->deny_users, &c->ndeny_users, kw->name, a, n, err,
	    errlen);
}

/* SyslogFacility: a name syslog knows (util/syslogout.h). */
int
sc_check_facility(const char *kw, const char *v, char *err, size_t errlen)
{
	if (syslogout_facility(v) >= 0)
		return 0;
	seterr(err, errlen, "%s: bad value '%s' (DAEMON, USER, AUTH, AUTHPRIV "
	    "or LOCAL0 to LOCAL7)", kw, v);
	return -1;
}
