/* AuthorizedKeysCommand for a login: the request the engine holds waits
 * for the command (server/authcmd.h); its output is read as an
 * authorized_keys file, options and all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/authkeys.h"
#include "keys/key.h"
#include "server/sess_int.h"
#include "util/log.h"

#define AKC_NAME	"AuthorizedKeysCommand"

static void
akc_warn(void *ud, const char *file, int line, const char *why)
{
	(void)ud;
	log_info("%s output line %d: %s", file, line, why);
}

/* A copy of the key that outlives the event. */
static struct key *
key_copy(const struct key *k)
{
	struct key *c = NULL;
	char err[64];
	struct wb w;

	wb_init(&w);
	if (key_to_blob(k, &w) != 0 || w.err ||
	    key_from_blob(w.p, w.len, &c, err, sizeof(err)) != 0)
		c = NULL;
	wb_free(&w);
	return c;
}

/* The command is done: its output decides, then the engine answers.
 * Nothing of s may be used after net_conn_auth_answer (it may close the
 * connection, and the session with it). */
static void
akc_done(void *ud, bool ok, const char *out, size_t len, const char *why)
{
	struct session *s = ud;
	struct key *key = s->akc_key;
	bool allow = false;
	char what[160];

	s->akc_job = NULL;
	s->akc_key = NULL;
	if (!ok)
		log_error("%s for %s (%s %s): %s; key refused", AKC_NAME,
		    s->auth_user, key_type_label(key), s->akc_fp, why);
	else if (s->ak_pending != NULL) {
		memset(s->ak_pending, 0, sizeof(*s->ak_pending));
		allow = ak_find_text(out, len, AKC_NAME, key, s->ip,
		    s->ak_pending, akc_warn, s) == 1;
		if (!allow)
			log_verbose("%s key %s %s not in the output of %s",
			    s->auth_user, key_type_name(key), s->akc_fp,
			    AKC_NAME);
	}
	snprintf(what, sizeof(what), "%s %s", key_type_label(key), s->akc_fp);
	if (allow) {
		log_verbose("Accepted key %s found at %s:%d", what,
		    s->ak_pending->file, s->ak_pending->line);
		sess_auth_accepted(s, what, s->akc_fp, s->akc_has_sig);
	} else
		sess_auth_refused(s, what);
	key_free(key);
	net_conn_auth_answer(s->nc, allow);
}

/* Starts the command for the event's request and defers the verdict.
 * Returns 0 when it runs, -1 when the key is refused now (no command,
 * or it could not start: logged). */
int
sess_akc_start(struct session *s, struct ssh_event *ev, const char *fp)
{
	const struct server_config *c = &s->pol->cfg;
	struct authcmd_subject sub = { .user = s->auth_user,
	    .key = ev->u.auth_request.key };
	char *argv[SC_MAX_CMD_ARGS + 2], buf[16384], err[256];

	if (!s->pol->akc.enabled || s->akc_job != NULL ||
	    s->ak_pending == NULL)
		return -1;
	if (authcmd_argv(c, &s->pol->akc, &sub, argv, buf, sizeof(buf), err,
	    sizeof(err)) != 0) {
		log_error("%s for %s: %s", AKC_NAME, s->auth_user, err);
		return -1;
	}
	if ((s->akc_key = key_copy(ev->u.auth_request.key)) == NULL)
		return -1;
	s->akc_job = authcmd_start(&s->list->cmds, s->loop, &s->pol->akc,
	    argv, s->ip, akc_done, s, err, sizeof(err));
	if (s->akc_job == NULL) {
		log_error("%s for %s from %s port %d not run: %s", AKC_NAME,
		    s->auth_user, s->ip, s->port, err);
		key_free(s->akc_key);
		s->akc_key = NULL;
		return -1;
	}
	snprintf(s->akc_fp, sizeof(s->akc_fp), "%s", fp);
	s->akc_has_sig = ev->u.auth_request.has_sig;
	ev->u.auth_request.defer = true;
	log_verbose("%s running for %s from %s port %d: %s %s", AKC_NAME,
	    s->auth_user, s->ip, s->port, key_type_label(s->akc_key), fp);
	return 0;
}

/* The connection is gone: the command's verdict is no longer wanted. */
void
sess_akc_end(struct session *s)
{
	authcmd_cancel(s->akc_job);
	s->akc_job = NULL;
	key_free(s->akc_key);
	s->akc_key = NULL;
}
