/* AuthorizedKeysCommand and AuthorizedPrincipalsCommand: a program that
 * prints the authorized_keys lines of a user, or the
 * AuthorizedPrincipalsFile lines for a user certificate, run on the event
 * loop (uv_spawn, its stdout through a pipe) while the login it decides
 * waits (ssh_auth_answer).
 *
 * As sshd: the command's words were split when the configuration was
 * read; each word's %-tokens are expanded now (sshd_config(5) TOKENS:
 * both take %u the user, %U the uid logins are served as, %f the key's
 * SHA-256 fingerprint, %t its type, %k its base64 blob, %h
 * StateDirectory (ferryd has no home directories) and %%; the
 * principals command also %F the CA's fingerprint, %T its type, %K its
 * base64 blob, %i the key ID and %s the serial, %f, %t and %k being the
 * certificate's). A command of one word gets the user name as its
 * argument. No shell is involved. It runs as its command user
 * (AuthorizedKeysCommandUser, AuthorizedPrincipalsCommandUser: setuid
 * when ferryd is root), in its own process group, with stdin and stderr
 * on /dev/null and an environment of PATH alone. Its output counts only
 * if it exits with 0.
 *
 * Bounds, for both commands together: AUTHCMD_TIMEOUT_MS (then its
 * process group is killed and the key refused), AUTHCMD_OUTPUT_MAX bytes
 * of output (more: killed, refused), AUTHCMD_MAX_RUNNING commands at
 * once in the server and AUTHCMD_MAX_PER_SOURCE for one client address
 * (past them a key is refused, not queued). */
#ifndef FERRY_SERVER_AUTHCMD_H
#define FERRY_SERVER_AUTHCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "keys/key.h"
#include "server/config.h"

struct cert;

#define AUTHCMD_TIMEOUT_MS	30000
#define AUTHCMD_OUTPUT_MAX	(1024 * 1024)
#define AUTHCMD_MAX_RUNNING	32
#define AUTHCMD_MAX_PER_SOURCE	4

/* Which command: its keyword, its user's and the tokens it takes. */
enum authcmd_kind {
	AUTHCMD_KEYS,		/* AuthorizedKeysCommand */
	AUTHCMD_PRINCIPALS,	/* AuthorizedPrincipalsCommand */
};

/* Who the command runs as, resolved when the configuration loads. */
struct authcmd_conf {
	enum authcmd_kind kind;
	bool		 enabled;	/* the command is set */
	bool		 setid;	/* ferryd is root: switch to uid/gid */
	uid_t		 uid;
	gid_t		 gid;
	uid_t		 login_uid;	/* %U: the uid logins are served as */
};

/* What a run's tokens stand for, borrowed for the call: the user and the
 * key offered (AUTHCMD_KEYS) or the certificate (AUTHCMD_PRINCIPALS). */
struct authcmd_subject {
	const char		*user;
	const struct key	*key;
	const struct cert	*cert;
};

struct authcmd_job;

/* The commands running, for the bounds, on every event loop. Lives as
 * long as the loops (the session list's); jobs unlink themselves when
 * their handles closed. lock guards head, running and the jobs' links. */
struct authcmd_set {
	uv_mutex_t		 lock;
	struct authcmd_job	*head;
	int			 running;
};

/* 0, or -1 if no lock could be made. */
int	authcmd_set_init(struct authcmd_set *set);
void	authcmd_set_destroy(struct authcmd_set *set);

/* The outcome: ok when the command exited with 0 within the bounds; out
 * and len its output (valid during the call only); why says what went
 * wrong when !ok. */
typedef void (*authcmd_done_fn)(void *ud, bool ok, const char *out,
    size_t len, const char *why);

/* The keyword of kind ("AuthorizedKeysCommand"...). */
const char *authcmd_name(enum authcmd_kind kind);
/* Whether a word's %-tokens are ones the command of kind takes. 0, or -1
 * with why. */
int	authcmd_check_word(enum authcmd_kind kind, const char *word,
	    char *why, size_t whylen);
/* Resolves the command user of kind for c: required when ferryd runs as
 * root (sshd's rule); when it is not root the user must be the one it
 * runs as (a process cannot switch). 0, or -1 with err. */
int	authcmd_conf_load(const struct server_config *c,
	    enum authcmd_kind kind, struct authcmd_conf *out, char *err,
	    size_t errlen);
/* The argument vector of conf's command for sub: argv gets c's words
 * expanded (at most SC_MAX_CMD_ARGS + 1 pointers plus a NULL), each
 * copied into buf. 0, or -1 with err (a word too long, out of memory). */
int	authcmd_argv(const struct server_config *c,
	    const struct authcmd_conf *conf, const struct authcmd_subject *sub,
	    char **argv, char *buf, size_t buflen, char *err, size_t errlen);
/* Starts the command; done is called once, later, from the loop, unless
 * the job is cancelled first. source is the client's address (for
 * AUTHCMD_MAX_PER_SOURCE). Returns the job, or NULL with err (a bound
 * reached, or the spawn failed). */
struct authcmd_job *authcmd_start(struct authcmd_set *set, uv_loop_t *loop,
	    const struct authcmd_conf *conf, char *const *argv,
	    const char *source, authcmd_done_fn done, void *ud, char *err,
	    size_t errlen);
/* The waiting side is gone: done will not be called; the process group
 * is killed and the job frees itself once its handles closed. */
void	authcmd_cancel(struct authcmd_job *j);

#endif
