/* AuthorizedPrincipalsCommand for a login: a certificate of a
 * TrustedUserCAKeys CA whose principals AuthorizedPrincipalsFile does not
 * list (or which is not set) waits, the engine holding its request, for
 * the command (server/authcmd.h); its output is read as
 * AuthorizedPrincipalsFile lines, options and all, and the certificate's
 * own checks then finish as sess_cert.c does them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/authkeys.h"
#include "keys/cert.h"
#include "keys/key.h"
#include "server/sess_int.h"
#include "util/log.h"

#define APC_NAME	"AuthorizedPrincipalsCommand"
/* the expanded words: %k and %K of the largest certificate fit */
#define APC_ARGV_MAX	(128 * 1024)

/* One run for the request the engine holds. Owned by its session (s->apc)
 * from the start until the verdict or the connection's end. */
struct sess_apc {
	struct authcmd_job	*job;
	struct cert		*cert;	/* a copy of the event's */
	char			*desc;	/* sess_cert_describe's */
	char			 fp[128];	/* its key's fingerprint */
	bool			 has_sig;
};

static void
apc_warn(void *ud, const char *file, int line, const char *why)
{
	(void)ud;
	log_info("%s output line %d: %s", file, line, why);
}

static void
apc_free(struct sess_apc *a)
{
	if (a == NULL)
		return;
	cert_free(a->cert);
	free(a->desc);
	free(a);
}

/* Whether the command's output names a principal of the certificate for
 * this client (the line's options in s->ak_pending); a refusal logged
 * with its reason. */
static bool
apc_judge(struct session *s, struct sess_apc *a, bool ok, const char *out,
    size_t len, const char *why)
{
	if (!ok) {
		log_error("Refusing certificate for %s from %s port %d: %s: "
		    "%s failed: %s", s->auth_user, s->ip, s->port, a->desc,
		    APC_NAME, why);
		return false;
	}
	memset(s->ak_pending, 0, sizeof(*s->ak_pending));
	if (ak_find_principal_text(out, len, APC_NAME, a->cert, s->ip,
	    s->ak_pending, apc_warn, s) == 1)
		return true;
	log_info("Refusing certificate for %s from %s port %d: %s: no "
	    "principal of it in the output of %s", s->auth_user, s->ip,
	    s->port, a->desc, APC_NAME);
	return false;
}

/* The command is done: its output decides (then, as sshd, the
 * cert-authority lines of authorized_keys), the certificate's own checks
 * follow, and the engine answers. Nothing of s may be used after
 * net_conn_auth_answer (it may close the connection, and the session
 * with it). */
static void
apc_done(void *ud, bool ok, const char *out, size_t len, const char *why)
{
	struct session *s = ud;
	struct sess_apc *a = s->apc;
	bool allow;

	a->job = NULL;
	s->apc = NULL;
	allow = apc_judge(s, a, ok, out, len, why) ||
	    sess_cert_authkeys(s, a->cert);
	if (allow)
		allow = sess_cert_finish(s, a->cert, a->desc, NULL);
	if (allow)
		sess_auth_accepted(s, a->desc, a->fp, a->has_sig);
	else
		sess_auth_refused(s, a->desc);
	apc_free(a);
	net_conn_auth_answer(s->nc, allow);
}

/* The run's state and argument vector (in buf, APC_ARGV_MAX). NULL when
 * it cannot be made (logged). */
static struct sess_apc *
apc_new(struct session *s, const struct cert *c, const char *desc,
    char **argv, char *buf)
{
	struct authcmd_subject sub = { .user = s->auth_user, .cert = c };
	struct sess_apc *a;
	char err[256] = "cannot encode the certificate";

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->desc = strdup(desc)) == NULL) {
		log_error("%s for %s: out of memory", APC_NAME, s->auth_user);
		apc_free(a);
		return NULL;
	}
	if (authcmd_argv(&s->pol->cfg, &s->pol->apc, &sub, argv, buf,
	    APC_ARGV_MAX, err, sizeof(err)) != 0 ||
	    cert_parse(c->blob, c->bloblen, &a->cert, err, sizeof(err)) != 0 ||
	    key_fingerprint(c->key, a->fp, sizeof(a->fp)) < 0) {
		log_error("%s for %s: %s", APC_NAME, s->auth_user, err);
		apc_free(a);
		return NULL;
	}
	return a;
}

/* Starts the command for the event's certificate and defers the
 * verdict. Returns 0 when it runs, -1 when it does not (logged). */
int
sess_apc_start(struct session *s, struct ssh_event *ev, const struct cert *c,
    const char *desc)
{
	char *argv[SC_MAX_CMD_ARGS + 2], *buf, err[256];
	struct sess_apc *a = NULL;

	if (!s->pol->apc.enabled || s->apc != NULL || s->akc_job != NULL ||
	    s->ak_pending == NULL)
		return -1;
	if ((buf = malloc(APC_ARGV_MAX)) == NULL ||
	    (a = apc_new(s, c, desc, argv, buf)) == NULL) {
		free(buf);
		return -1;
	}
	a->has_sig = ev->u.auth_request.has_sig;
	/* uv_spawn has exec'd the command when it returns: buf may go */
	a->job = authcmd_start(&s->list->cmds, s->loop, &s->pol->apc, argv,
	    s->ip, apc_done, s, err, sizeof(err));
	free(buf);
	if (a->job == NULL) {
		log_error("%s for %s from %s port %d not run: %s", APC_NAME,
		    s->auth_user, s->ip, s->port, err);
		apc_free(a);
		return -1;
	}
	s->apc = a;
	ev->u.auth_request.defer = true;
	log_verbose("%s running for %s from %s port %d: %s", APC_NAME,
	    s->auth_user, s->ip, s->port, desc);
	return 0;
}

/* The connection is gone: the command's verdict is no longer wanted. */
void
sess_apc_end(struct session *s)
{
	if (s->apc == NULL)
		return;
	authcmd_cancel(s->apc->job);
	apc_free(s->apc);
	s->apc = NULL;
}
