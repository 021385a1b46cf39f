/* Drives the ssh-agent codec (keys/agent.c) over a libuv pipe. The agent
 * answers requests in order, so one request at a time keeps replies
 * matched to callbacks without any bookkeeping. */
#include "agent.h"

#include <sys/un.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK	(64 * 1024)
#define PATH_MAX_SUN	sizeof(((struct sockaddr_un *)0)->sun_path)

enum agent_state {
	AGENT_CONNECTING,
	AGENT_LISTING,		/* identities requested */
	AGENT_IDLE,
	AGENT_SIGNING,		/* sign_cb waits for the reply */
	AGENT_FAILED,		/* why says what happened; nothing pending */
};

/* One request on its way out. It owns its bytes and frees itself in its
 * write callback, which libuv runs (with UV_ECANCELED if need be) before
 * the pipe's close callback frees the agent. */
struct agent_write {
	uv_write_t	 req;
	struct agent	*a;
	struct wb	 buf;
};

/* Owns the identities, the input buffer and both handles; freed when the
 * last handle's close callback has run (libuv: memory a handle uses is
 * freed only in its close callback). */
struct agent {
	uv_pipe_t		 pipe;
	uv_connect_t		 creq;
	uv_timer_t		 timer;	/* reports errors found in agent_open */
	enum agent_state	 state;
	bool			 closing;
	int			 handles;	/* open libuv handles */
	agent_ready_cb		 ready_cb;
	void			*ready_ud;
	agent_sign_cb		 sign_cb;
	void			*sign_ud;
	struct agent_id		*ids;
	int			 nids;
	struct wb		 in;	/* read, not yet a whole message */
	char			 sigalg[64];	/* asked of the pending sign; "" any */
	char			 path[PATH_MAX_SUN];
	char			 why[512];
};

static void __attribute__((format(printf, 2, 3)))
refuse(struct agent *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

/* The connection is unusable: fail whatever is pending. The callback gets
 * a copy of the message, since it may call agent_sign, which rewrites
 * why. */
static void __attribute__((format(printf, 2, 3)))
fail(struct agent *a, const char *fmt, ...)
{
	char msg[sizeof(a->why)];
	enum agent_state was = a->state;
	agent_sign_cb cb;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(a->why, msg, sizeof(a->why));
	a->state = AGENT_FAILED;
	uv_read_stop((uv_stream_t *)&a->pipe);
	switch (was) {
	case AGENT_CONNECTING:
	case AGENT_LISTING:
		a->ready_cb(a->ready_ud, NULL, 0, msg);
		break;
	case AGENT_SIGNING:
		cb = a->sign_cb;
		a->sign_cb = NULL;
		cb(a->sign_ud, NULL, 0, msg);
		break;
	case AGENT_IDLE:
	case AGENT_FAILED:
		break;
	}
}

static struct agent_write *
write_new(struct agent *a)
{
	struct agent_write *aw;

	if ((aw = calloc(1, sizeof(*aw))) == NULL)
		return NULL;
	aw->a = a;
	aw->req.data = aw;
	wb_init(&aw->buf);
	return aw;
}

static void
write_free(struct agent_write *aw)
{
	wb_free(&aw->buf);
	free(aw);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct agent_write *aw = req->data;
	struct agent *a = aw->a;

	write_free(aw);
	if (status == 0 || a->closing || a->state == AGENT_FAILED)
		return;
	fail(a, "cannot write to agent at %s: %s", a->path,
	    uv_strerror(status));
}

/* Hands aw to libuv, which gives it back in write_cb; freed here if
 * libuv refuses it. */
static int
write_start(struct agent *a, struct agent_write *aw)
{
	uv_buf_t b;
	int r;

	b = uv_buf_init((char *)aw->buf.p, (unsigned)aw->buf.len);
	if ((r = uv_write(&aw->req, (uv_stream_t *)&a->pipe, &b, 1,
	    write_cb)) < 0)
		write_free(aw);
	return r;
}

static void
closed_cb(uv_handle_t *h)
{
	struct agent *a = h->data;

	if (--a->handles > 0)
		return;
	agent_ids_free(a->ids, a->nids);
	wb_free(&a->in);
	free(a);
}

/* One whole message: the answer to the pending request. */
static void
dispatch(struct agent *a, const uint8_t *msg, size_t len)
{
	const uint8_t *sig;
	size_t siglen;
	agent_sign_cb cb;
	char err[256];
	int r;

	switch (a->state) {
	case AGENT_LISTING:
		if (agent_parse_identities(msg, len, &a->ids, &a->nids, err,
		    sizeof(err)) != 0) {
			fail(a, "%s", err);
			return;
		}
		a->state = AGENT_IDLE;
		a->ready_cb(a->ready_ud, a->ids, a->nids, NULL);
		break;
	case AGENT_SIGNING:
		/* The framing held, so even a bad answer leaves the
		 * connection usable for the next request. */
		r = agent_parse_sign(msg, len, &sig, &siglen, err,
		    sizeof(err));
		if (r == 0)
			r = agent_sig_check(sig, siglen, a->sigalg[0] != '\0' ?
			    a->sigalg : NULL, err, sizeof(err));
		cb = a->sign_cb;
		a->sign_cb = NULL;
		a->state = AGENT_IDLE;
		if (r == 0)
			cb(a->sign_ud, sig, siglen, NULL);
		else
			cb(a->sign_ud, NULL, 0, err);
		break;
	case AGENT_CONNECTING:
	case AGENT_IDLE:
	case AGENT_FAILED:
		fail(a, "unexpected message type %u from agent at %s",
		    msg[4], a->path);
		break;
	}
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct agent *a = h->data;
	uint8_t *p;

	(void)suggested;
	if ((p = wb_reserve(&a->in, READ_CHUNK)) == NULL) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)p, READ_CHUNK);
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct agent *a = s->data;
	size_t off = 0, mlen;
	int r;

	(void)buf;
	if (a->closing || a->state == AGENT_FAILED)
		return;
	if (n == UV_EOF) {
		fail(a, "agent at %s closed the connection", a->path);
		return;
	}
	if (n < 0) {
		fail(a, "cannot read from agent at %s: %s", a->path,
		    uv_strerror((int)n));
		return;
	}
	a->in.len += (size_t)n;
	/* A callback may close the agent or fail it; stop there. */
	while (!a->closing && a->state != AGENT_FAILED) {
		r = agent_frame(a->in.p + off, a->in.len - off, &mlen);
		if (r == 0)
			break;
		if (r < 0) {
			fail(a, "agent at %s sent a message of invalid length "
			    "%u", a->path, get_u32(a->in.p + off));
			return;
		}
		dispatch(a, a->in.p + off, mlen);
		off += mlen;
	}
	if (off > 0) {
		memmove(a->in.p, a->in.p + off, a->in.len - off);
		a->in.len -= off;
	}
}

static void
connect_cb(uv_connect_t *req, int status)
{
	struct agent *a = req->data;
	struct agent_write *aw;
	int r;

	if (a->closing)
		return;
	if (status < 0) {
		fail(a, "cannot connect to agent at %s: %s", a->path,
		    uv_strerror(status));
		return;
	}
	if ((r = uv_read_start((uv_stream_t *)&a->pipe, alloc_cb,
	    read_cb)) < 0) {
		fail(a, "cannot read from agent at %s: %s", a->path,
		    uv_strerror(r));
		return;
	}
	if ((aw = write_new(a)) == NULL ||
	    agent_req_identities(&aw->buf) != 0) {
		if (aw != NULL)
			write_free(aw);
		fail(a, "out of memory");
		return;
	}
	if ((r = write_start(a, aw)) < 0) {
		fail(a, "cannot write to agent at %s: %s", a->path,
		    uv_strerror(r));
		return;
	}
	a->state = AGENT_LISTING;
}

/* An error agent_open found, reported from the loop as promised. */
static void
open_failed_cb(uv_timer_t *t)
{
	struct agent *a = t->data;
	char msg[sizeof(a->why)];

	memcpy(msg, a->why, sizeof(msg));
	fail(a, "%s", msg);
}

struct agent *
agent_open(uv_loop_t *loop, const char *path, agent_ready_cb cb, void *ud)
{
	struct agent *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->ready_cb = cb;
	a->ready_ud = ud;
	a->state = AGENT_CONNECTING;
	wb_init(&a->in);
	uv_pipe_init(loop, &a->pipe, 0);
	a->pipe.data = a;
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	a->handles = 2;

	if (path == NULL && (path = getenv("SSH_AUTH_SOCK")) == NULL)
		refuse(a, "no agent: SSH_AUTH_SOCK is not set");
	else if (*path == '\0')
		refuse(a, "no agent: empty agent socket path");
	else if (strlen(path) >= sizeof(a->path))
		refuse(a, "agent socket path too long (%zu bytes, at most "
		    "%zu): %s", strlen(path), sizeof(a->path) - 1, path);
	else {
		memcpy(a->path, path, strlen(path) + 1);
		a->creq.data = a;
		uv_pipe_connect(&a->creq, &a->pipe, a->path, connect_cb);
		return a;
	}
	uv_timer_start(&a->timer, open_failed_cb, 0, 0);
	return a;
}

int
agent_sign(struct agent *a, const struct agent_id *id, const char *sigalg,
    const uint8_t *data, size_t dlen, agent_sign_cb cb, void *ud)
{
	struct agent_write *aw;
	int r;

	if (a->closing) {
		refuse(a, "agent connection is closed");
		return -1;
	}
	switch (a->state) {
	case AGENT_CONNECTING:
	case AGENT_LISTING:
		refuse(a, "agent connection is not ready");
		return -1;
	case AGENT_SIGNING:
		refuse(a, "agent is busy with another sign request");
		return -1;
	case AGENT_FAILED:
		return -1;	/* why keeps the failure */
	case AGENT_IDLE:
		break;
	}
	if ((aw = write_new(a)) == NULL) {
		refuse(a, "out of memory");
		return -1;
	}
	if (agent_req_sign(&aw->buf, id->blob, id->bloblen, data, dlen,
	    sigalg) != 0) {
		write_free(aw);
		refuse(a, "cannot make a sign request for %zu bytes of data",
		    dlen);
		return -1;
	}
	if ((r = write_start(a, aw)) < 0) {
		fail(a, "cannot write to agent at %s: %s", a->path,
		    uv_strerror(r));
		return -1;
	}
	snprintf(a->sigalg, sizeof(a->sigalg), "%s", sigalg != NULL ? sigalg :
	    "");
	a->state = AGENT_SIGNING;
	a->sign_cb = cb;
	a->sign_ud = ud;
	return 0;
}

const char *
agent_error(const struct agent *a)
{
	return a->why;
}

void
agent_close(struct agent *a)
{
	if (a == NULL || a->closing)
		return;
	a->closing = true;
	uv_close((uv_handle_t *)&a->pipe, closed_cb);
	uv_close((uv_handle_t *)&a->timer, closed_cb);
}
