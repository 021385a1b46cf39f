/* One destination's forwards: the local (-L) and dynamic (-D) listeners,
 * bound once and kept across reconnects; the remote (-R) forward requests
 * and their replies (fwd/remote.c keeps their state), retried with backoff
 * when refused; the channels the server opens for them; forwards added
 * and removed at runtime (control socket, reload) and their status. */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/local.h"
#include "fwd/pump.h"
#include "fwd/remote.h"
#include "util/log.h"

static void
lfwd_free(struct client *cl, struct lfwd *f)
{
	if (f->fl != NULL)
		fwd_listener_stop(f->fl);
	pump_forget_stats(&cl->pumps, &f->stats);
	free(f);
}

void
cli_free_locals(struct client *cl)
{
	struct lfwd *f;

	while ((f = cl->lfwds) != NULL) {
		cl->lfwds = f->next;
		lfwd_free(cl, f);
	}
}

/* Binds one local forward's listener. Returns 0 or -1 (logged, and kept
 * in the forward's error). */
static int
lfwd_start(struct client *cl, struct lfwd *f)
{
	struct options *o = cl->o;
	struct fwd_local_opts lo;
	char target[300];

	lo.gateway_ports = o->gateway_ports;
	lo.family = o->family;
	lo.bind_mask = o->stream_local_bind_mask;
	lo.bind_unlink = o->stream_local_bind_unlink;
	if (fwd_local_start(cl->loop, &f->spec, &lo, &cl->pumps, &f->stats,
	    &f->fl, f->error, sizeof(f->error)) != 0) {
		f->fl = NULL;
		log_error("%s%s", cl->tag, f->error);
		log_error("Could not request local forwarding.");
		return -1;
	}
	f->error[0] = '\0';
	if (f->spec.listen_port != 0 || f->spec.listen_path[0] != '\0')
		return 0;
	if (f->spec.dynamic) {
		log_plain("%sAllocated port %d for dynamic forward", cl->tag,
		    fwd_listener_port(f->fl));
		return 0;
	}
	fwd_spec_target(&f->spec, target, sizeof(target));
	log_plain("%sAllocated port %d for local forward to %s", cl->tag,
	    fwd_listener_port(f->fl), target);
	return 0;
}

/* Binds the local forwards not bound yet; how many still are not. */
static int
lfwd_start_failed(struct client *cl)
{
	struct lfwd *f;
	int left = 0;

	for (f = cl->lfwds; f != NULL; f = f->next)
		if (f->fl == NULL && lfwd_start(cl, f) != 0)
			left++;
	return left;
}

static void
lfwd_retry_tick(uv_timer_t *t)
{
	struct client *cl = t->data;

	if (cl->stopping)
		return;
	cli_lfwd_retry(cl, lfwd_start_failed(cl));
}

void
cli_lfwd_retry(struct client *cl, int failed)
{
	uint64_t ms;

	if (failed == 0) {
		cl->lfwd_attempt = 0;
		cli_changed(cl);
		return;
	}
	ms = cli_backoff_ms(cl->o, ++cl->lfwd_attempt);
	log_plain("%sRetrying %d local forward%s in %.1f s", cl->tag, failed,
	    failed == 1 ? "" : "s", (double)ms / 1000);
	uv_timer_start(&cl->lfwd_retry, lfwd_retry_tick, ms, 0);
}

void
cli_start_forwards(struct client *cl)
{
	struct lfwd *f;
	int failed = 0;

	/* local listeners stay bound across reconnects; one that failed is
	 * retried on its own schedule under Reconnect, like a refused -R */
	for (f = cl->lfwds; f != NULL && !cl->locals_started; f = f->next) {
		if (lfwd_start(cl, f) == 0)
			continue;
		if (cl->o->exit_on_forward_failure) {
			cli_stop(cl, EXIT_FAILURE_SSH, "Error: local port "
			    "forwarding failed");
			return;
		}
		failed++;
	}
	if (!cl->locals_started && failed > 0 && cl->o->reconnect)
		cli_lfwd_retry(cl, failed);
	cl->locals_started = true;
	if (fwd_remote_request_all(&cl->remotes, net_conn_ssh(cl->nc)) != 0)
		cli_conn_failed(cl, "cannot send remote forward requests");
	cli_changed(cl);
}

static void
rfwd_retry_tick(uv_timer_t *t)
{
	struct client *cl = t->data;

	if (cl->nc == NULL || !cl->authenticated || cl->stopping)
		return;
	log_verbose("retrying the refused remote forwards");
	if (fwd_remote_request_all(&cl->remotes, net_conn_ssh(cl->nc)) != 0)
		cli_conn_failed(cl, "cannot send remote forward requests");
}

bool
cli_retry_forwards_now(struct client *cl)
{
	bool any = false;

	if (uv_is_active((uv_handle_t *)&cl->lfwd_retry)) {
		uv_timer_stop(&cl->lfwd_retry);
		lfwd_retry_tick(&cl->lfwd_retry);
		any = true;
	}
	if (uv_is_active((uv_handle_t *)&cl->rfwd_retry)) {
		uv_timer_stop(&cl->rfwd_retry);
		rfwd_retry_tick(&cl->rfwd_retry);
		any = true;
	}
	return any;
}

void
cli_global_reply(struct client *cl, struct ssh_event *ev)
{
	struct fwd_remote *r = ev->u.global_reply.ud;
	char msg[200];
	int ret;

	if (r == NULL)		/* a keepalive's answer */
		return;
	ret = fwd_remote_reply(&cl->remotes, r, ev, net_conn_ssh(cl->nc));
	cli_changed(cl);
	if (ret == 1)		/* cancelled meanwhile */
		return;
	if (ret == 0) {
		if (cl->remotes.pending == 0 &&
		    !fwd_remote_any_refused(&cl->remotes))
			cl->rfwd_attempt = 0;
		return;
	}
	if (cl->o->reconnect && !cl->o->exit_on_forward_failure) {
		/* retried on its own schedule; the others carry on */
		if (!uv_is_active((uv_handle_t *)&cl->rfwd_retry)) {
			uint64_t ms = cli_backoff_ms(cl->o, ++cl->rfwd_attempt);

			log_plain("%sRetrying refused remote forwards in %.1f s",
			    cl->tag, (double)ms / 1000);
			uv_timer_start(&cl->rfwd_retry, rfwd_retry_tick, ms, 0);
		}
		return;
	}
	if (cl->o->exit_on_forward_failure) {
		if (r->spec.listen_path[0] != '\0')
			snprintf(msg, sizeof(msg), "Error: remote port "
			    "forwarding failed for listen path %.80s",
			    r->spec.listen_path);
		else
			snprintf(msg, sizeof(msg), "Error: remote port "
			    "forwarding failed for listen port %d",
			    r->spec.listen_port);
		cli_stop(cl, EXIT_FAILURE_SSH, msg);
	}
}

/* A connection to one of our remote forwards' listeners. */
static void
open_forwarded(struct client *cl, struct ssh_event *ev)
{
	fwd_remote_open(&cl->remotes, ev);
}

/* The channel types a server may open to ferry: the connections of the
 * remote forwards, TCP and Unix socket alike. */
static const struct {
	const char	*type;
	void		(*open)(struct client *, struct ssh_event *);
} open_types[] = {
	{ "forwarded-tcpip", open_forwarded },
	{ "forwarded-streamlocal@openssh.com", open_forwarded },
};

void
cli_open_request(struct client *cl, struct ssh_event *ev)
{
	size_t i;

	for (i = 0; i < sizeof(open_types) / sizeof(open_types[0]); i++)
		if (strcmp(ev->u.open_request.type, open_types[i].type) == 0) {
			open_types[i].open(cl, ev);
			return;
		}
	log_info("refused a %s channel from the server: ferry opens none of "
	    "that type", ev->u.open_request.type);
	ev->u.open_request.reason = SSH_OPEN_UNKNOWN_CHANNEL_TYPE;
	ev->u.open_request.message = "unsupported channel type";
}

int
cli_add_forward(struct client *cl, const struct fwd_spec *spec)
{
	struct lfwd *f, **pp;

	if (spec->kind == FWD_REMOTE)
		return fwd_remote_add(&cl->remotes, spec) != NULL ? 0 : -1;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	f->spec = *spec;
	for (pp = &cl->lfwds; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = f;
	return 0;
}

static const char *const remote_states[] = {
	"idle", "requested", "active", "refused",
};

int
client_forward_info(const struct client *cl, int i, struct forward_info *out)
{
	const struct lfwd *f;
	const struct fwd_remote *r;

	memset(out, 0, sizeof(*out));
	for (f = cl->lfwds; f != NULL && i > 0; f = f->next)
		i--;
	if (f != NULL) {
		out->kind = f->spec.kind;
		fwd_spec_format(&f->spec, out->spec, sizeof(out->spec));
		out->up = f->fl != NULL;
		out->state = f->fl != NULL ? "listening" : f->error[0] ?
		    "failed" : "not started";
		if (f->fl != NULL) {
			snprintf(out->where, sizeof(out->where), "%s",
			    fwd_listener_where(f->fl));
			if (f->spec.listen_path[0] == '\0')
				out->port = fwd_listener_port(f->fl);
		}
		out->stats = &f->stats;
		out->error = f->error;
		return 0;
	}
	for (r = cl->remotes.head; r != NULL; r = r->next) {
		if (r->doomed)
			continue;
		if (i-- > 0)
			continue;
		out->kind = FWD_REMOTE;
		fwd_spec_format(&r->spec, out->spec, sizeof(out->spec));
		out->up = r->state == RF_ACTIVE;
		out->state = remote_states[r->state];
		if (r->state == RF_ACTIVE) {
			if (r->spec.listen_path[0] != '\0')
				snprintf(out->where, sizeof(out->where), "%s",
				    r->spec.listen_path);
			else {
				snprintf(out->where, sizeof(out->where), "%s",
				    fwd_remote_bind_address(&r->spec));
				out->port = r->port;
			}
		}
		out->stats = &r->stats;
		out->error = r->error;
		return 0;
	}
	return -1;
}

static struct lfwd *
find_local(struct client *cl, const char *text)
{
	struct lfwd *f;
	char buf[600];

	for (f = cl->lfwds; f != NULL; f = f->next) {
		fwd_spec_format(&f->spec, buf, sizeof(buf));
		if (strcmp(buf, text) == 0)
			return f;
	}
	return NULL;
}

static struct fwd_remote *
find_remote(struct client *cl, const char *text)
{
	struct fwd_remote *r;
	char buf[600];

	for (r = cl->remotes.head; r != NULL; r = r->next) {
		fwd_spec_format(&r->spec, buf, sizeof(buf));
		if (!r->doomed && strcmp(buf, text) == 0)
			return r;
	}
	return NULL;
}

static bool
has_forward(struct client *cl, const struct fwd_spec *spec)
{
	char text[600];

	fwd_spec_format(spec, text, sizeof(text));
	if (spec->kind == FWD_REMOTE)
		return find_remote(cl, text) != NULL;
	return find_local(cl, text) != NULL;
}

/* Starts a forward added while running: a listener now (once the
 * locals started), a request now if connected. */
static int
start_added(struct client *cl, const struct fwd_spec *spec, char *err,
    size_t errlen)
{
	struct lfwd *f;
	struct ssh_conn *ssh;

	if (spec->kind == FWD_REMOTE) {
		if (cl->authenticated && cl->nc != NULL &&
		    (ssh = net_conn_ssh(cl->nc)) != NULL) {
			if (fwd_remote_request_all(&cl->remotes, ssh) != 0) {
				snprintf(err, errlen, "cannot send the request");
				return -1;
			}
		}
		return 0;
	}
	for (f = cl->lfwds; f->next != NULL; f = f->next)
		;
	if (cl->locals_started && lfwd_start(cl, f) != 0) {
		snprintf(err, errlen, "%s", f->error);
		return -1;
	}
	return 0;
}

int
client_forward(struct client *cl, enum fwd_kind kind, const char *text,
    char *err, size_t errlen)
{
	struct fwd_spec spec;

	if (cl->stopping) {
		snprintf(err, errlen, "%s is stopping", cl->o->host);
		return -1;
	}
	if (fwd_spec_parse(text, kind, &spec, err, errlen) != 0)
		return -1;
	if (has_forward(cl, &spec)) {
		snprintf(err, errlen, "%s already has that forward",
		    cl->o->host);
		return -1;
	}
	if (cli_add_forward(cl, &spec) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	log_info("%s: forward added: %s", cl->o->host, text);
	if (start_added(cl, &spec, err, errlen) != 0) {
		/* a listener that cannot bind is not kept */
		client_cancel(cl, kind, text, NULL, 0);
		return -1;
	}
	cli_changed(cl);
	return 0;
}

static void
remove_local(struct client *cl, struct lfwd *f)
{
	struct lfwd **pp;

	for (pp = &cl->lfwds; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	lfwd_free(cl, f);
}

static struct ssh_conn *
live_ssh(struct client *cl)
{
	if (cl->nc == NULL || !cl->authenticated)
		return NULL;
	return net_conn_ssh(cl->nc);
}

int
client_cancel(struct client *cl, enum fwd_kind kind, const char *text,
    char *err, size_t errlen)
{
	struct fwd_spec spec;
	char canon[600];
	struct lfwd *f;
	struct fwd_remote *r;

	if (fwd_spec_parse(text, kind, &spec, err, errlen) != 0)
		return -1;
	fwd_spec_format(&spec, canon, sizeof(canon));
	if (kind == FWD_REMOTE && (r = find_remote(cl, canon)) != NULL) {
		fwd_remote_remove(&cl->remotes, r, live_ssh(cl));
	} else if (kind != FWD_REMOTE && (f = find_local(cl, canon)) != NULL &&
	    f->spec.kind == kind)
		remove_local(cl, f);
	else {
		if (err != NULL)
			snprintf(err, errlen, "%s has no forward %s",
			    cl->o->host, canon);
		return -1;
	}
	log_info("%s: forward cancelled: %s", cl->o->host, canon);
	cli_changed(cl);
	return 0;
}

/* The connection settings of two option sets differ (then a reload
 * replaces the client): everything -G prints but the forwards. */
static bool
same_connection(const struct options *a, const struct options *b)
{
	char *pa = NULL, *pb = NULL;
	size_t la = 0, lb = 0;
	FILE *fa, *fb;
	bool same = false;

	if ((fa = open_memstream(&pa, &la)) == NULL)
		return false;
	if ((fb = open_memstream(&pb, &lb)) == NULL) {
		fclose(fa);
		free(pa);
		return false;
	}
	options_print_connection(a, fa);
	options_print_connection(b, fb);
	fclose(fa);
	fclose(fb);
	same = la == lb && memcmp(pa, pb, la) == 0;
	free(pa);
	free(pb);
	return same;
}

int
client_reload(struct client *cl, struct options *n)
{
	struct lfwd *f, *fnext;
	struct fwd_remote *r, *rnext;
	char text[600];
	int i;

	if (!same_connection(cl->o, n))
		return 1;
	/* gone from the file: removed */
	for (f = cl->lfwds; f != NULL; f = fnext) {
		fnext = f->next;
		if (!options_has_forward(n, &f->spec)) {
			fwd_spec_format(&f->spec, text, sizeof(text));
			log_info("%s: reload removes %s", cl->o->host, text);
			remove_local(cl, f);
		}
	}
	for (r = cl->remotes.head; r != NULL; r = rnext) {
		rnext = r->next;
		if (!r->doomed && !options_has_forward(n, &r->spec)) {
			fwd_spec_format(&r->spec, text, sizeof(text));
			log_info("%s: reload removes -R %s", cl->o->host, text);
			fwd_remote_remove(&cl->remotes, r, live_ssh(cl));
		}
	}
	/* new in the file: added */
	for (i = 0; i < n->nlocal + n->nremote; i++) {
		const struct fwd_spec *sp = i < n->nlocal ? &n->local[i] :
		    &n->remote[i - n->nlocal];
		char err[300];

		if (has_forward(cl, sp))
			continue;
		fwd_spec_format(sp, text, sizeof(text));
		log_info("%s: reload adds %s%s", cl->o->host,
		    sp->kind == FWD_REMOTE ? "-R " : "", text);
		if (cli_add_forward(cl, sp) != 0 ||
		    start_added(cl, sp, err, sizeof(err)) != 0)
			log_error("%s: %s", cl->o->host, text);
	}
	/* the connection settings are the same: only PermitRemoteOpen is
	 * taken from the new options (it is not a connection setting) */
	memcpy(cl->o->permit_remote_open, n->permit_remote_open,
	    sizeof(n->permit_remote_open));
	cl->o->npermit_remote_open = n->npermit_remote_open;
	cl->remotes.npermits = n->npermit_remote_open;
	options_free(n);
	free(n);
	cli_changed(cl);
	return 0;
}
