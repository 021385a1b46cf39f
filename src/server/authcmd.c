/* The authentication commands' runs (AuthorizedKeysCommand,
 * AuthorizedPrincipalsCommand): spawned on the loop, read through a pipe,
 * bounded in time, output and number. */
#include "server/authcmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

/* One run. Owned by its set from authcmd_start until its three handles
 * closed; ud is the waiting side's until the verdict or a cancel. */
struct authcmd_job {
	struct authcmd_job	*next;
	struct authcmd_set	*set;
	uv_process_t		 proc;
	uv_pipe_t		 out;
	uv_timer_t		 timer;
	int			 open;		/* handles not closed yet */
	bool			 exited;
	int64_t			 status;
	int			 signal;
	bool			 eof;
	bool			 judged;	/* done called or not owed */
	authcmd_done_fn		 done;
	void			*ud;
	char			 source[64];
	char			*buf;		/* output, AUTHCMD_OUTPUT_MAX */
	size_t			 len;
};

static void
job_unlink(struct authcmd_job *j)
{
	struct authcmd_job **pp;

	uv_mutex_lock(&j->set->lock);
	for (pp = &j->set->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	j->set->running--;
	uv_mutex_unlock(&j->set->lock);
}

int
authcmd_set_init(struct authcmd_set *set)
{
	memset(set, 0, sizeof(*set));
	return uv_mutex_init(&set->lock) == 0 ? 0 : -1;
}

void
authcmd_set_destroy(struct authcmd_set *set)
{
	uv_mutex_destroy(&set->lock);
}

/* The memory goes with the last handle. */
static void
on_handle_closed(uv_handle_t *h)
{
	struct authcmd_job *j = h->data;

	if (--j->open > 0)
		return;
	job_unlink(j);
	free(j->buf);
	free(j);
}

static void
close_one(struct authcmd_job *j, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_handle_closed);
}

/* Kills the command's process group (it runs in a session of its own)
 * unless it exited and was reaped. */
static void
kill_group(struct authcmd_job *j)
{
	if (j->proc.pid > 0)
		kill(-j->proc.pid, SIGKILL);
}

/* The verdict, once: ok only for a clean exit with all of the output. */
static void
judge(struct authcmd_job *j, const char *why)
{
	char reason[128];
	bool ok = why == NULL;

	if (j->judged)
		return;
	j->judged = true;
	if (ok && j->signal != 0) {
		snprintf(reason, sizeof(reason), "killed by signal %d",
		    j->signal);
		why = reason;
		ok = false;
	} else if (ok && j->status != 0) {
		snprintf(reason, sizeof(reason), "exit status %lld",
		    (long long)j->status);
		why = reason;
		ok = false;
	}
	if (j->done != NULL)
		j->done(j->ud, ok, j->buf, j->len, why);
	j->done = NULL;
	close_one(j, (uv_handle_t *)&j->timer);
}

static void
maybe_judge(struct authcmd_job *j)
{
	if (j->exited && j->eof)
		judge(j, NULL);
}

static void
on_proc_exit(uv_process_t *p, int64_t status, int sig)
{
	struct authcmd_job *j = p->data;

	j->exited = true;
	j->status = status;
	j->signal = sig;
	close_one(j, (uv_handle_t *)&j->proc);
	maybe_judge(j);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct authcmd_job *j = h->data;

	/* one byte past the bound shows that the output is too long */
	b->base = j->buf + j->len;
	b->len = AUTHCMD_OUTPUT_MAX + 1 - j->len;
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct authcmd_job *j = s->data;

	if (n > 0) {
		j->len += (size_t)n;
		if (j->len <= AUTHCMD_OUTPUT_MAX)
			return;
		j->len = AUTHCMD_OUTPUT_MAX;
		kill_group(j);
		close_one(j, (uv_handle_t *)&j->out);
		judge(j, "output larger than 1 MiB");
		return;
	}
	if (n == 0)
		return;
	j->eof = true;
	close_one(j, (uv_handle_t *)&j->out);
	if (n != UV_EOF) {
		kill_group(j);
		judge(j, uv_strerror((int)n));
	}
	else
		maybe_judge(j);
}

static void
on_timeout(uv_timer_t *t)
{
	struct authcmd_job *j = t->data;
	char why[64];

	kill_group(j);
	close_one(j, (uv_handle_t *)&j->out);
	snprintf(why, sizeof(why), "timed out after %d s, killed",
	    AUTHCMD_TIMEOUT_MS / 1000);
	judge(j, why);
}

/* The bounds: in all and per source. */
static int
room(struct authcmd_set *set, const char *source, char *err, size_t errlen)
{
	struct authcmd_job *j;
	int n = 0;

	if (set->running >= AUTHCMD_MAX_RUNNING) {
		seterr(err, errlen, "%d commands already running",
		    AUTHCMD_MAX_RUNNING);
		return -1;
	}
	for (j = set->head; j != NULL; j = j->next)
		n += strcmp(j->source, source) == 0;
	if (n >= AUTHCMD_MAX_PER_SOURCE) {
		seterr(err, errlen, "%d commands already running for %s",
		    AUTHCMD_MAX_PER_SOURCE, source);
		return -1;
	}
	return 0;
}

static int
spawn(struct authcmd_job *j, uv_loop_t *loop, const struct authcmd_conf *conf,
    char *const *argv, char *err, size_t errlen)
{
	static char *env[] = { "PATH=/usr/bin:/bin:/usr/sbin:/sbin", NULL };
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	int r;

	memset(&o, 0, sizeof(o));
	memset(io, 0, sizeof(io));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&j->out;
	io[2].flags = UV_IGNORE;
	o.file = argv[0];
	o.args = (char **)argv;
	o.env = env;
	o.cwd = "/";
	o.exit_cb = on_proc_exit;
	o.stdio = io;
	o.stdio_count = 3;
	o.flags = UV_PROCESS_DETACHED;	/* a process group to kill */
	if (conf->setid) {
		o.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		o.uid = conf->uid;
		o.gid = conf->gid;
	}
	if ((r = uv_spawn(loop, &j->proc, &o)) != 0) {
		seterr(err, errlen, "cannot run %s: %s", argv[0],
		    uv_strerror(r));
		return -1;
	}
	return 0;
}

struct authcmd_job *
authcmd_start(struct authcmd_set *set, uv_loop_t *loop,
    const struct authcmd_conf *conf, char *const *argv, const char *source,
    authcmd_done_fn done, void *ud, char *err, size_t errlen)
{
	struct authcmd_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->buf = malloc(AUTHCMD_OUTPUT_MAX + 1)) == NULL) {
		if (j != NULL)
			free(j);
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	/* the bounds are checked and the job counted at once: every loop
	 * starts commands */
	uv_mutex_lock(&set->lock);
	if (room(set, source, err, errlen) != 0) {
		uv_mutex_unlock(&set->lock);
		free(j->buf);
		free(j);
		return NULL;
	}
	snprintf(j->source, sizeof(j->source), "%s", source);
	j->next = set->head;
	set->head = j;
	set->running++;
	uv_mutex_unlock(&set->lock);
	j->set = set;
	j->done = done;
	j->ud = ud;
	uv_pipe_init(loop, &j->out, 0);
	uv_timer_init(loop, &j->timer);
	j->proc.data = j->out.data = j->timer.data = j;
	j->open = 2;
	if (spawn(j, loop, conf, argv, err, errlen) != 0) {
		/* uv_spawn closes nothing of ours: no done, free when the
		 * pipe and the timer closed (the process handle was not
		 * started; libuv still wants it closed) */
		j->judged = true;
		j->done = NULL;
		j->open = 3;
		uv_close((uv_handle_t *)&j->proc, on_handle_closed);
		close_one(j, (uv_handle_t *)&j->out);
		close_one(j, (uv_handle_t *)&j->timer);
		return NULL;
	}
	j->open = 3;
	uv_timer_start(&j->timer, on_timeout, AUTHCMD_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&j->out, on_alloc, on_read);
	return j;
}

void
authcmd_cancel(struct authcmd_job *j)
{
	if (j == NULL)
		return;
	j->done = NULL;
	j->ud = NULL;
	if (j->judged)
		return;
	j->judged = true;
	kill_group(j);
	close_one(j, (uv_handle_t *)&j->out);
	close_one(j, (uv_handle_t *)&j->timer);
}
