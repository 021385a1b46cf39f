/* The session channel of a ferryd client: no shell, no command, but the
 * list of what this connection forwards and every refusal, shown once
 * per channel; closing it (or Ctrl-C) ends the connection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/sess_int.h"
#include "util/log.h"

/* Writes a line to the client's session channel if one shows output. */
static void
to_shell(struct session *s, const char *line)
{
	struct ssh_conn *ssh = sess_ssh(s);
	size_t n = strlen(line);

	if (!s->shell || s->session_chan == SESSION_CHAN_NONE ||
	    ssh_chan_sendable(ssh, s->session_chan) < n + 2)
		return;
	ssh_chan_send(ssh, s->session_chan, (const uint8_t *)line, n);
	ssh_chan_send(ssh, s->session_chan, (const uint8_t *)"\r\n", 2);
}

/* Keeps a line for the forwards listing and shows it if a shell is up. */
void
sess_note(struct session *s, const char *line)
{
	if (s->nnotes == MAX_NOTES) {
		free(s->notes[0]);
		memmove(s->notes, s->notes + 1, (MAX_NOTES - 1) *
		    sizeof(s->notes[0]));
		s->nnotes--;
	}
	if ((s->notes[s->nnotes] = strdup(line)) != NULL)
		s->nnotes++;
	to_shell(s, line);
}

/* Every refused forward: logged at info with its rule, sent to the client
 * as SSH_MSG_DEBUG (ssh -v shows it), and kept for the listing. */
void
sess_refuse(struct session *s, const char *fmt, ...)
{
	char msg[600], line[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("refused for %s from %s port %d: %s",
	    ssh_auth_user(sess_ssh(s)) ? ssh_auth_user(sess_ssh(s)) : "?",
	    s->ip, s->port, msg);
	sess_list_refusal(s, msg);
	ssh_send_debug(sess_ssh(s), true, msg);
	snprintf(line, sizeof(line), "Refused: %s", msg);
	sess_note(s, line);
}

/* A forward the policy refused: rule d, told as sess_refuse() tells. */
void
sess_refuse_rule(struct session *s, enum fwd_deny d, const struct fwd_req *req)
{
	char msg[1024];

	fwd_deny_text(d, &s->rules, &s->ak, req, msg, sizeof(msg));
	sess_refuse(s, "%s", msg);
}

static void
show_listing(struct session *s, bool command)
{
	char line[200];
	int i;

	s->shell = true;
	snprintf(line, sizeof(line), "ferryd: this server only forwards "
	    "ports%s. Your forwards:", command ? " and runs no commands" : "");
	to_shell(s, line);
	if (s->nnotes == 0)
		to_shell(s, "  (none yet)");
	for (i = 0; i < s->nnotes; i++)
		to_shell(s, s->notes[i]);
	to_shell(s, "Press Ctrl-C or close the session to end them.");
}

/* A terminal is granted (ssh asks for one before its shell); nothing
 * runs on it. */
static void
req_pty(struct session *s, struct ssh_event *ev)
{
	(void)s;
	ev->u.request.success = true;
}

/* Environment variables are refused: nothing runs to receive them. */
static void
req_env(struct session *s, struct ssh_event *ev)
{
	(void)s;
	ev->u.request.success = false;
}

/* The listing, once per channel, as sshd runs one command per session:
 * a repeated request must not replay it. */
static void
req_listing(struct session *s, struct ssh_event *ev, bool command)
{
	if (s->shell)
		return;
	ev->u.request.success = true;
	show_listing(s, command);
}

static void
req_shell(struct session *s, struct ssh_event *ev)
{
	req_listing(s, ev, false);
}

static void
req_exec(struct session *s, struct ssh_event *ev)
{
	req_listing(s, ev, true);
}

/* The session channel's requests; any other fails. */
static const struct sess_handler session_requests[] = {
	{ "pty-req", req_pty },
	{ "env", req_env },
	{ "shell", req_shell },
	{ "exec", req_exec },
	{ NULL, NULL },
};

static void
session_request(struct session *s, struct ssh_event *ev)
{
	const struct sess_handler *h;

	if ((h = sess_handler_find(session_requests,
	    ev->u.request.name)) != NULL)
		h->fn(s, ev);
}

static void
session_data(struct session *s, struct ssh_event *ev)
{
	ssh_chan_consumed(sess_ssh(s), ev->chan, ev->u.data.len);
	/* Ctrl-C on a terminal ends the session and its forwards */
	if (memchr(ev->u.data.p, 0x03, ev->u.data.len) != NULL) {
		log_info("%s from %s ended the session", ssh_auth_user(
		    sess_ssh(s)), s->ip);
		sess_end(s, SSH_DISC_BY_APPLICATION, "session ended",
		    "session ended by the client");
	}
}

static void
session_chan_event(struct net_chan *ch, struct ssh_event *ev)
{
	struct session *s = (struct session *)((char *)ch -
	    offsetof(struct session, session_nch));

	switch (ev->type) {
	case SSH_EV_CHAN_DATA:
		session_data(s, ev);
		break;
	case SSH_EV_CHAN_EOF:
		ssh_chan_close(sess_ssh(s), ev->chan);
		break;
	case SSH_EV_CHAN_REQUEST:
		session_request(s, ev);
		break;
	case SSH_EV_CHAN_CLOSED:
		net_chan_detach(&s->session_nch);
		/* the session was the client's way of holding the forwards */
		s->session_chan = SESSION_CHAN_NONE;
		s->shell = false;
		if (!s->closing)
			sess_end(s, SSH_DISC_BY_APPLICATION, "session closed",
			    "session closed by the client");
		break;
	default:
		break;
	}
}

/* The connection is gone: the session channel has nothing to undo. */
static void
session_chan_abort(struct net_chan *ch)
{
	(void)ch;
}

/* A session channel, the first of the connection: accepted, its events
 * come to session_chan_event. Returns false when one is open already. */
bool
sess_listing_open(struct session *s, struct ssh_event *ev)
{
	static const struct net_chan_ops ops = {
		.event = session_chan_event,
		.abort = session_chan_abort,
	};

	if (s->session_chan != SESSION_CHAN_NONE)
		return false;
	s->session_chan = ev->chan;
	net_conn_attach(s->nc, &s->session_nch, &ops);
	ev->u.open_request.ud = &s->session_nch;
	ev->u.open_request.accept = true;
	return true;
}
