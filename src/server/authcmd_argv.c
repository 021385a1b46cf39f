/* The authentication commands' words: the keyword, command user and
 * tokens of each kind, who a command runs as, and its argument vector
 * with the tokens of one login expanded (one expander for both). */
#include "server/authcmd.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/base64.h"
#include "keys/cert.h"
#include "util/err.h"
#include "util/tokens.h"

/* Per kind: its keywords, the token letters it takes (sshd_config(5)
 * TOKENS, less %C and %D) and how an error lists them. */
static const struct {
	const char	*name;
	const char	*user_kw;
	const char	*letters;
	const char	*listed;
} kinds[] = {
	[AUTHCMD_KEYS] = { "AuthorizedKeysCommand",
	    "AuthorizedKeysCommandUser", "fhktuU",
	    "%f, %h, %k, %t, %u, %U and %%" },
	[AUTHCMD_PRINCIPALS] = { "AuthorizedPrincipalsCommand",
	    "AuthorizedPrincipalsCommandUser", "fFhikKstTuU",
	    "%f, %F, %h, %i, %k, %K, %s, %t, %T, %u, %U and %%" },
};

/* What the tokens of one run stand for; b64 and cab64 are owned. */
struct tokvals {
	char	 fp[128];
	char	 cafp[128];
	char	 uid[24];
	char	 serial[24];
	char	*b64;
	char	*cab64;
};

const char *
authcmd_name(enum authcmd_kind kind)
{
	return kinds[kind].name;
}

/* c's words of kind's command (their count) and its command user. */
static int
cmd_words(const struct server_config *c, enum authcmd_kind kind,
    char *const **w, const char **user)
{
	if (kind == AUTHCMD_PRINCIPALS) {
		*w = c->apc_argv;
		*user = c->apc_user;
		return c->apc_argc;
	}
	*w = c->akc_argv;
	*user = c->akc_user;
	return c->akc_argc;
}

int
authcmd_check_word(enum authcmd_kind kind, const char *word, char *why,
    size_t whylen)
{
	struct tokens t;
	const char *l;
	char out[4096], e[128];

	tokens_init(&t);
	for (l = kinds[kind].letters; *l != '\0'; l++)
		tokens_set(&t, *l, "x");
	if (tokens_expand(word, &t, out, sizeof(out), e, sizeof(e)) >= 0)
		return 0;
	if (strncmp(e, "unknown key", 11) == 0)
		seterr(why, whylen, "%s (%s takes %s)", e, kinds[kind].name,
		    kinds[kind].listed);
	else
		seterr(why, whylen, "%s", e);
	return -1;
}

/* The uid ferryd serves logins as: its own, or RunAsUser's when it
 * starts as root and drops to it; -1 if RunAsUser is unknown. */
static uid_t
serving_uid(const struct server_config *c)
{
	struct passwd *pw;

	if (getuid() != 0 || c->user == NULL)
		return getuid();
	pw = getpwnam(c->user);
	return pw != NULL ? pw->pw_uid : (uid_t)-1;
}

int
authcmd_conf_load(const struct server_config *c, enum authcmd_kind kind,
    struct authcmd_conf *out, char *err, size_t errlen)
{
	uid_t serving = serving_uid(c);
	char *const *w;
	const char *user;
	struct passwd *pw;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->login_uid = serving;
	if (cmd_words(c, kind, &w, &user) == 0)
		return 0;
	out->enabled = true;
	if (user == NULL || strcmp(user, "none") == 0) {
		if (serving != 0)
			return 0;	/* runs as ferryd's own user */
		seterr(err, errlen, "%s needs %s when ferryd runs as root",
		    kinds[kind].name, kinds[kind].user_kw);
		return -1;
	}
	if ((pw = getpwnam(user)) == NULL) {
		seterr(err, errlen, "%s %s: no such user", kinds[kind].user_kw,
		    user);
		return -1;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	if (serving == 0) {
		out->setid = true;
		return 0;
	}
	if (pw->pw_uid == serving)
		return 0;
	seterr(err, errlen, "%s %s: ferryd does not run as root, so the "
	    "command can only run as %s", kinds[kind].user_kw, user,
	    c->user != NULL ? c->user : "ferryd's own user");
	return -1;
}

/* A blob in base64, allocated; NULL out of memory. */
static char *
blob_b64(const uint8_t *p, size_t n)
{
	size_t len = (n + 2) / 3 * 4 + 1;
	char *out;

	if ((out = malloc(len)) == NULL)
		return NULL;
	if (b64_encode(p, n, out, len) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static char *
key_b64(const struct key *k)
{
	char *out = NULL;
	struct wb w;

	wb_init(&w);
	if (key_to_blob(k, &w) == 0 && !w.err)
		out = blob_b64(w.p, w.len);
	wb_free(&w);
	return out;
}

/* The certificate's tokens: %f %t %k are the certificate's (its key's
 * fingerprint, as ssh-keygen -l shows it), %F %T %K its CA's. */
static int
cert_tokens(struct tokvals *v, const struct cert *c, struct tokens *t)
{
	if ((v->b64 = blob_b64(c->blob, c->bloblen)) == NULL ||
	    (v->cab64 = key_b64(c->ca)) == NULL ||
	    key_fingerprint(c->key, v->fp, sizeof(v->fp)) < 0 ||
	    key_fingerprint(c->ca, v->cafp, sizeof(v->cafp)) < 0)
		return -1;
	snprintf(v->serial, sizeof(v->serial), "%" PRIu64, c->serial);
	tokens_set(t, 'f', v->fp);
	tokens_set(t, 't', c->type_name);
	tokens_set(t, 'k', v->b64);
	tokens_set(t, 'F', v->cafp);
	tokens_set(t, 'T', key_type_name(c->ca));
	tokens_set(t, 'K', v->cab64);
	tokens_set(t, 'i', c->key_id);
	tokens_set(t, 's', v->serial);
	return 0;
}

/* Every token of the run; only kind's letters pass authcmd_check_word,
 * so the others are never asked for. */
static int
tokens_fill(struct tokvals *v, const struct server_config *c,
    const struct authcmd_conf *conf, const struct authcmd_subject *sub,
    struct tokens *t)
{
	memset(v, 0, sizeof(*v));
	tokens_init(t);
	snprintf(v->uid, sizeof(v->uid), "%lu",
	    (unsigned long)conf->login_uid);
	tokens_set(t, 'u', sub->user);
	tokens_set(t, 'U', v->uid);
	tokens_set(t, 'h', c->state_dir);	/* NULL: not available */
	if (conf->kind == AUTHCMD_PRINCIPALS)
		return sub->cert != NULL ? cert_tokens(v, sub->cert, t) : -1;
	if (sub->key == NULL || (v->b64 = key_b64(sub->key)) == NULL ||
	    key_fingerprint(sub->key, v->fp, sizeof(v->fp)) < 0)
		return -1;
	tokens_set(t, 'f', v->fp);
	tokens_set(t, 't', key_type_name(sub->key));
	tokens_set(t, 'k', v->b64);
	return 0;
}

int
authcmd_argv(const struct server_config *c, const struct authcmd_conf *conf,
    const struct authcmd_subject *sub, char **argv, char *buf, size_t buflen,
    char *err, size_t errlen)
{
	struct tokvals v;
	struct tokens t;
	char *const *w;
	const char *user;
	size_t off = 0;
	int i = 0, n, nw, r = -1;

	nw = cmd_words(c, conf->kind, &w, &user);
	if (tokens_fill(&v, c, conf, sub, &t) != 0) {
		seterr(err, errlen, "cannot encode the key");
		goto out;
	}
	for (i = 0; i < nw; i++) {
		if ((n = tokens_expand(w[i], &t, buf + off, buflen - off, err,
		    errlen)) < 0)
			goto out;
		argv[i] = buf + off;
		off += (size_t)n + 1;
	}
	if (nw == 1) {
		/* sshd_config(5): a command alone gets the user name */
		if (off >= buflen || (size_t)snprintf(buf + off, buflen - off,
		    "%s", sub->user) >= buflen - off) {
			seterr(err, errlen, "no room for the arguments");
			goto out;
		}
		argv[i++] = buf + off;
	}
	argv[i] = NULL;
	r = 0;
out:
	free(v.b64);
	free(v.cab64);
	return r;
}
