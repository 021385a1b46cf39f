/* ferryd's publickey authentication: the key a client offers is looked
 * up in the user's authorized_keys files; the line that allowed it is
 * kept for the forwarding decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/authkeys.h"
#include "server/sess_int.h"
#include "util/log.h"
#include "util/tokens.h"

static void
ak_warn(void *ud, const char *file, int line, const char *why)
{
	(void)ud;
	log_info("%s line %d: %s", file, line, why);
}

/* One AuthorizedKeysFile entry with %u, %h and %% expanded; %h and a
 * relative path mean StateDirectory (ferryd has no home directories).
 * "none" names no file. */
static int
keys_path(const struct server_config *c, const char *tmpl, const char *user,
    char *out, size_t outlen)
{
	struct tokens t;
	char exp[1024], err[128];

	if (strcasecmp(tmpl, "none") == 0)
		return -1;
	tokens_init(&t);
	tokens_set(&t, 'u', user);
	tokens_set(&t, 'h', c->state_dir);
	if (tokens_expand(tmpl, &t, exp, sizeof(exp), err, sizeof(err)) < 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s%s%s", exp[0] == '/' ? "" :
	    c->state_dir, exp[0] == '/' ? "" : "/", exp) >= outlen)
		return -1;
	return 0;
}

/* A user name is a label: it must not be able to name another file. */
static bool
user_ok(const char *u)
{
	return u[0] != '\0' && u[0] != '.' && strchr(u, '/') == NULL &&
	    strlen(u) < 64;
}

/* A key offered (and, once signed, proved): allowed when a line of the
 * user's AuthorizedKeysFile holds it and its options let this client in;
 * the line's parse stays in ak_pending for sess_auth_keep. */
void
sess_auth_request(struct session *s, struct ssh_event *ev)
{
	const char *user = ev->u.auth_request.user;
	const struct server_config *c = &s->pol->cfg;
	char path[1024], tried[1100] = "", err[256], fp[128];
	int r = 0, i;

	ev->u.auth_request.allow = false;
	key_fingerprint(ev->u.auth_request.key, fp, sizeof(fp));
	if (!user_ok(user)) {
		log_info("invalid user name from %s port %d", s->ip, s->port);
		return;
	}
	if (!ssh_algs_has(c->pubkey_algs, ev->u.auth_request.alg)) {
		log_info("refused publickey for %s from %s port %d: %s %s: "
		    "signature algorithm %s not in PubkeyAcceptedAlgorithms",
		    user, s->ip, s->port,
		    key_type_name(ev->u.auth_request.key), fp,
		    ev->u.auth_request.alg);
		return;
	}
	if (s->ak_pending == NULL &&
	    (s->ak_pending = malloc(sizeof(*s->ak_pending))) == NULL)
		return;
	for (i = 0; i < c->nauthorized_keys && r != 1; i++) {
		if (keys_path(c, c->authorized_keys[i], user, path,
		    sizeof(path)) != 0)
			continue;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried),
		    "%s%s", tried[0] ? ", " : "", path);
		memset(s->ak_pending, 0, sizeof(*s->ak_pending));
		r = ak_find_file(path, ev->u.auth_request.key, s->ip,
		    s->ak_pending, ak_warn, s, err, sizeof(err));
		if (r < 0)
			log_info("%s", err);
	}
	if (r != 1) {
		if (ev->u.auth_request.has_sig)
			log_info("Failed publickey for %s from %s port %d: %s "
			    "%s not in %s", user, s->ip, s->port,
			    key_type_name(ev->u.auth_request.key), fp,
			    tried[0] ? tried : "any file (AuthorizedKeysFile "
			    "none)");
		return;
	}
	ev->u.auth_request.allow = true;
	if (ev->u.auth_request.has_sig)
		snprintf(s->key_fp, sizeof(s->key_fp), "%s", fp);
	if (ev->u.auth_request.has_sig)
		log_info("Accepted publickey for %s from %s port %d: %s %s "
		    "(%s line %d)", user, s->ip, s->port,
		    key_type_name(ev->u.auth_request.key), fp,
		    s->ak_pending->file, s->ak_pending->line);
}

/* A permission list of authorized_keys in the policy's terms. */
static struct fwd_permit *
ak_permits(const struct ak_permit *v, int n)
{
	struct fwd_permit *out;
	int i;

	if (n == 0 || (out = calloc((size_t)n, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		memcpy(out[i].host, v[i].host, sizeof(out[i].host));
		out[i].host[sizeof(out[i].host) - 1] = '\0';
		out[i].port = v[i].port;
	}
	return out;
}

/* Keeps what the successful key's line allows; the bulky parse result
 * goes. Returns 0 or -1 (out of memory). */
int
sess_auth_keep(struct session *s)
{
	struct ak_opts *a = s->ak_pending;
	struct fwd_key_rules *k = &s->ak;

	k->port_forwarding = a->port_forwarding;
	k->restricted = a->restricted;
	k->line = a->line;
	k->file = strdup(a->file);
	k->open = ak_permits(a->open, a->nopen);
	k->nopen = a->nopen;
	k->listen = ak_permits(a->listen, a->nlisten);
	k->nlisten = a->nlisten;
	free(s->ak_pending);
	s->ak_pending = NULL;
	if (k->file == NULL || (k->nopen > 0 && k->open == NULL) ||
	    (k->nlisten > 0 && k->listen == NULL))
		return -1;
	return 0;
}
