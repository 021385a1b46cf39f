/* One ferry destination: its SSH connection (reconnected when asked),
 * host key checking against known_hosts, publickey authentication, then
 * the forwards, which may change while it runs. */
#include "client.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwd/local.h"
#include "fwd/pump.h"
#include "fwd/remote.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "keys/known_hosts.h"
#include "net/agent.h"
#include "net/conn.h"
#include "util/log.h"
#include "util/text.h"

#define EXIT_FAILURE_SSH	255

/* A local (-L) or dynamic (-D) forward: its listener stays bound across
 * reconnects. */
struct lfwd {
	struct lfwd		*next;
	struct fwd_spec		 spec;
	struct fwd_listener	*fl;	/* NULL until started or if it failed */
	struct fwd_stats	 stats;
	char			 error[300];
};

/* Everything one destination owns. */
struct client {
	uv_loop_t		*loop;
	struct net_loop		*nl;
	struct options		*o;
	const struct client_hooks *hooks;
	void			*hooks_ud;
	enum client_state	 state;
	uint64_t		 state_since;	/* uv_now of the last change */
	int			 reconnects;	/* successful ones */
	char			 last_error[300];
	int			 handles_open;	/* timers not yet closed */
	struct net_conn		*nc;
	struct pump_set		 pumps;
	/* Keys to offer, in order: the agent's, then the files'. A file key
	 * that only has its public half (encrypted) selects agent keys. */
	struct key		*ids[MAX_IDENTITIES];
	struct key		*id_pubs[MAX_IDENTITIES];
	int			 nids;
	int			 npubs;
	struct agent		*agent;
	const struct agent_id	*agent_ids;
	int			 nagent_ids;
	bool			 agent_pending;	/* identities not in yet */
	bool			 auth_waiting;	/* AUTH_READY came first */
	int			 next_agent;
	int			 next_id;
	struct wb		 sigdata;	/* what the agent signs */
	const struct agent_id	*signing;
	struct lfwd		*lfwds;
	bool			 locals_started;
	struct fwd_remote_set	 remotes;
	uv_timer_t		 alive;		/* ServerAliveInterval */
	int			 alive_missed;
	int			 exit_code;
	bool			 authenticated;
	bool			 stopping;
	/* Reconnect: what each connection attempt needs, and the backoff */
	struct net_conn_opts	 nopts;
	struct ssh_config	 cfg;
	char			 portstr[16];
	uv_timer_t		 retry;		/* the next attempt */
	uv_timer_t		 rfwd_retry;	/* refused remote forwards */
	int			 attempt;	/* failed attempts in a row */
	int			 rfwd_attempt;
	bool			 ever_up;	/* a connection authenticated */
	bool			 fatal;		/* never retried (host key) */
	uint64_t		 down_since;	/* uv_now when it was lost */
	char			*hk_algs;
};

/* The public half of an identity from "path.pub". */
static bool
load_public(const char *path, struct key **out)
{
	char pub[1100], line[16384], err[128];
	FILE *fp;
	bool ok = false;

	snprintf(pub, sizeof(pub), "%s.pub", path);
	if ((fp = fopen(pub, "r")) == NULL)
		return false;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    keyfile_parse_public(line, strcspn(line, "\r\n"), out, err,
	    sizeof(err)) == 0)
		ok = true;
	fclose(fp);
	return ok;
}

static void
load_identities(struct client *cl)
{
	struct options *o = cl->o;
	char err[256];
	struct key *k;
	int i, r;

	for (i = 0; i < o->nidentity; i++) {
		r = keyfile_load_private(o->identity[i], &k, err, sizeof(err));
		if (r == 0) {
			cl->ids[cl->nids++] = k;
			log_verbose("Will attempt key: %s %s", o->identity[i],
			    key_type_name(k));
			continue;
		}
		/* Default keys that do not exist are not worth a word. */
		if (!o->identity_given && r == KEYFILE_MISSING)
			continue;
		if (r == KEYFILE_ENCRYPTED && load_public(o->identity[i], &k)) {
			cl->id_pubs[cl->npubs++] = k;
			if (cl->o->identity_agent != NULL) {
				log_verbose("%s is encrypted: its key is used "
				    "through the agent", o->identity[i]);
				continue;
			}
		}
		log_error("Load key \"%s\": %s", o->identity[i], err);
	}
}

static void
set_state(struct client *cl, enum client_state st)
{
	if (cl->state == st)
		return;
	cl->state = st;
	cl->state_since = uv_now(cl->loop);
	if (cl->hooks->changed != NULL)
		cl->hooks->changed(cl->hooks_ud);
}

/* Tells the owner once nothing of ours is left in the loop. */
static void
check_done(struct client *cl)
{
	if (cl->stopping && cl->handles_open == 0 && cl->nc == NULL &&
	    cl->pumps.count == 0 && cl->hooks->done != NULL)
		cl->hooks->done(cl->hooks_ud, cl, cl->exit_code);
}

static void
handle_closed(uv_handle_t *h)
{
	struct client *cl = h->data;

	cl->handles_open--;
	check_done(cl);
}

static void
pumps_empty(void *ud)
{
	check_done(ud);
}

static void
lfwd_free(struct client *cl, struct lfwd *f)
{
	if (f->fl != NULL)
		fwd_listener_stop(f->fl);
	pump_forget_stats(&cl->pumps, &f->stats);
	free(f);
}

static void
stop(struct client *cl, int code, const char *why)
{
	struct lfwd *f;

	if (cl->stopping)
		return;
	cl->stopping = true;
	cl->exit_code = code;
	if (why != NULL && why[0] != '\0') {
		log_error("%s", why);
		snprintf(cl->last_error, sizeof(cl->last_error), "%s", why);
	}
	agent_close(cl->agent);
	cl->agent = NULL;
	cl->agent_pending = false;
	while ((f = cl->lfwds) != NULL) {
		cl->lfwds = f->next;
		lfwd_free(cl, f);
	}
	uv_close((uv_handle_t *)&cl->alive, handle_closed);
	uv_close((uv_handle_t *)&cl->retry, handle_closed);
	uv_close((uv_handle_t *)&cl->rfwd_retry, handle_closed);
	if (cl->nc != NULL) {
		struct ssh_conn *ssh = net_conn_ssh(cl->nc);

		if (ssh != NULL && cl->authenticated) {
			fwd_remote_cancel_all(&cl->remotes, ssh);
			ssh_disconnect(ssh, SSH_DISC_BY_APPLICATION,
			    "disconnected by user");
		}
		net_conn_close(cl->nc, "");
	}
	set_state(cl, CLIENT_STOPPED);
}

static const char *
alg_for_type(unsigned type)
{
	switch (type) {
	case KEY_ED25519:
		return "ssh-ed25519";
	case KEY_ECDSA_P256:
		return "ecdsa-sha2-nistp256";
	default:
		return "rsa-sha2-512,rsa-sha2-256";
	}
}

/* Host key algorithms with the types known_hosts lists for this host
 * first, as ssh orders them, so a known key is asked for. */
static char *
hostkey_algs(const struct client *cl)
{
	static const unsigned order[] = { KEY_ED25519, KEY_ECDSA_P256,
	    KEY_RSA };
	char buf[256] = "";
	unsigned known = 0, t;
	int i, pass;

	for (i = 0; i < cl->o->nknown_hosts; i++)
		kh_known_types(cl->o->known_hosts[i], cl->o->hostname,
		    cl->o->port, &known);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < 3; i++) {
			t = order[i];
			if (((known >> t) & 1) != (pass == 0 ? 1u : 0u))
				continue;
			if (buf[0] != '\0')
				strcat(buf, ",");
			strcat(buf, alg_for_type(t));
		}
	return strdup(buf);
}

static void
changed_warning(const struct key *k, const struct kh_result *res,
    const char *name)
{
	char fp[128];

	key_fingerprint(k, fp, sizeof(fp));
	log_plain("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
	    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
	    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
	    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
	    "Someone could be eavesdropping on you right now "
	    "(man-in-the-middle attack)!\n"
	    "It is also possible that a host key has just been changed.\n"
	    "The fingerprint for the %s key sent by the remote host is\n%s.\n"
	    "Offending %s key in %s:%d\n"
	    "Host key for %s has changed and ferry refuses to connect.",
	    key_type_name(k), fp, key_type_name(k), res->file, res->line,
	    name);
}

/* Decides whether to trust the server's key (ssh's rules; a changed key
 * is refused whatever StrictHostKeyChecking says, since forwarding over
 * it is exactly what an attacker would want). */
static bool
check_host_key(struct client *cl, const struct key *k)
{
	struct options *o = cl->o;
	struct kh_result res;
	char err[256], name[300], fp[128];
	int i;

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	for (i = 0; i < o->nknown_hosts; i++)
		if (kh_check_file(o->known_hosts[i], o->hostname, o->port, k,
		    &res, err, sizeof(err)) != 0)
			log_info("%s", err);
	kh_hostname(o->hostname, o->port, name, sizeof(name));
	key_fingerprint(k, fp, sizeof(fp));
	switch (res.status) {
	case KH_MATCH:
		log_verbose("Host '%s' is known and matches the %s host key.",
		    name, key_type_name(k));
		return true;
	case KH_REVOKED:
		log_error("Host key %s %s revoked by file %s", key_type_name(k),
		    fp, res.file);
		return false;
	case KH_CHANGED:
		changed_warning(k, &res, name);
		return false;
	case KH_NEW:
		break;
	}
	if (o->strict == SHK_YES || o->strict == SHK_ASK) {
		log_error("No %s host key is known for %s and you have "
		    "requested strict checking.", key_type_name(k), name);
		return false;
	}
	if (kh_add(o->known_hosts[0], o->hostname, o->port, k,
	    o->hash_known_hosts, err, sizeof(err)) != 0)
		log_error("Failed to add the host to the list of known hosts "
		    "(%s): %s", o->known_hosts[0], err);
	else
		log_plain("Warning: Permanently added '%s' (%s) to the list of "
		    "known hosts.", name, key_type_name(k));
	return true;
}

/* With IdentitiesOnly only agent keys named by an IdentityFile count. */
static bool
agent_key_allowed(const struct client *cl, const struct agent_id *id)
{
	int i;

	if (!cl->o->identities_only)
		return true;
	for (i = 0; i < cl->nids; i++)
		if (key_equal(cl->ids[i], id->key))
			return true;
	for (i = 0; i < cl->npubs; i++)
		if (key_equal(cl->id_pubs[i], id->key))
			return true;
	return false;
}

static void	try_next_key(struct client *cl);

/* This connection cannot go on: with Reconnect it is closed and retried
 * (closed() schedules that), else ferry exits as ssh does. */
static void
conn_failed(struct client *cl, const char *why)
{
	struct ssh_conn *ssh;

	if (cl->o->reconnect && !cl->fatal && cl->nc != NULL) {
		if ((ssh = net_conn_ssh(cl->nc)) != NULL)
			ssh_disconnect(ssh, SSH_DISC_BY_APPLICATION,
			    "retrying later");
		net_conn_close(cl->nc, why);
		return;
	}
	stop(cl, EXIT_FAILURE_SSH, NULL);
}

static void
agent_signed(void *ud, const uint8_t *sig, size_t siglen, const char *err)
{
	struct client *cl = ud;
	const struct agent_id *id = cl->signing;
	struct ssh_conn *ssh;

	cl->signing = NULL;
	if (cl->stopping || cl->nc == NULL ||
	    (ssh = net_conn_ssh(cl->nc)) == NULL)
		return;
	if (err != NULL) {
		log_verbose("agent: %s", err);
		try_next_key(cl);
		return;
	}
	if (ssh_auth_send(ssh, cl->o->user, ssh_auth_sig_alg(ssh, id->key),
	    id->blob, id->bloblen, sig, siglen) != 0)
		try_next_key(cl);
}

/* Asks the agent to sign for its next usable key; false when none is
 * left. */
static bool
try_agent_key(struct client *cl)
{
	struct ssh_conn *ssh = net_conn_ssh(cl->nc);
	const struct agent_id *id;
	const char *alg;

	while (cl->agent != NULL && cl->next_agent < cl->nagent_ids) {
		id = &cl->agent_ids[cl->next_agent++];
		if (!agent_key_allowed(cl, id))
			continue;
		alg = ssh_auth_sig_alg(ssh, id->key);
		wb_reset(&cl->sigdata);
		if (ssh_auth_sigdata(ssh, cl->o->user, alg, id->blob,
		    id->bloblen, &cl->sigdata) != 0)
			continue;
		log_verbose("Offering public key: %s %s (agent)",
		    key_type_name(id->key), id->comment);
		cl->signing = id;
		if (agent_sign(cl->agent, id, alg, cl->sigdata.p,
		    cl->sigdata.len, agent_signed, cl) == 0)
			return true;
		cl->signing = NULL;
		log_verbose("agent: %s", agent_error(cl->agent));
	}
	return false;
}

static void
try_next_key(struct client *cl)
{
	struct ssh_conn *ssh = net_conn_ssh(cl->nc);

	if (cl->agent_pending) {
		cl->auth_waiting = true;
		return;
	}
	if (try_agent_key(cl))
		return;
	while (cl->next_id < cl->nids) {
		struct key *k = cl->ids[cl->next_id++];

		log_verbose("Offering public key: %s", key_type_name(k));
		if (ssh_auth_pubkey(ssh, cl->o->user, k) == 0)
			return;
	}
	log_plain("%s@%s: Permission denied (publickey).", cl->o->user,
	    cl->o->hostname);
	conn_failed(cl, "Permission denied (publickey)");
}

static void
agent_ready(void *ud, const struct agent_id *ids, int n, const char *err)
{
	struct client *cl = ud;

	cl->agent_pending = false;
	if (err != NULL) {
		log_verbose("agent: %s", err);
	} else {
		cl->agent_ids = ids;
		cl->nagent_ids = n;
		log_verbose("agent: %d usable key%s", n, n == 1 ? "" : "s");
	}
	if (cl->auth_waiting && !cl->stopping) {
		cl->auth_waiting = false;
		try_next_key(cl);
	}
}

/* ssh's ServerAlive: a keepalive for each interval without input; the
 * server is declared dead when CountMax of them went unanswered. */
static void
alive_tick(uv_timer_t *t)
{
	struct client *cl = t->data;
	struct ssh_conn *ssh;
	char msg[300];

	if (cl->nc == NULL || (ssh = net_conn_ssh(cl->nc)) == NULL)
		return;
	if (++cl->alive_missed > cl->o->server_alive_count_max) {
		snprintf(msg, sizeof(msg), "Timeout, server %s not responding.",
		    cl->o->hostname);
		if (cl->o->reconnect) {
			net_conn_close(cl->nc, msg);
			return;
		}
		stop(cl, EXIT_FAILURE_SSH, msg);
		return;
	}
	if (ssh_authenticated(ssh))
		ssh_global_request(ssh, "keepalive@openssh.com", true, NULL, 0,
		    NULL);
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
		log_error("%s", f->error);
		log_error("Could not request local forwarding.");
		return -1;
	}
	f->error[0] = '\0';
	if (f->spec.listen_port != 0 || f->spec.listen_path[0] != '\0')
		return 0;
	if (f->spec.dynamic) {
		log_plain("Allocated port %d for dynamic forward",
		    fwd_listener_port(f->fl));
		return 0;
	}
	fwd_spec_target(&f->spec, target, sizeof(target));
	log_plain("Allocated port %d for local forward to %s",
	    fwd_listener_port(f->fl), target);
	return 0;
}

static void
start_forwards(struct client *cl)
{
	struct lfwd *f;

	/* local listeners stay bound across reconnects */
	for (f = cl->lfwds; f != NULL && !cl->locals_started; f = f->next)
		if (lfwd_start(cl, f) != 0 &&
		    cl->o->exit_on_forward_failure) {
			stop(cl, EXIT_FAILURE_SSH, "Error: local port "
			    "forwarding failed");
			return;
		}
	cl->locals_started = true;
	if (fwd_remote_request_all(&cl->remotes, net_conn_ssh(cl->nc)) != 0)
		conn_failed(cl, "cannot send remote forward requests");
	if (cl->hooks->changed != NULL)
		cl->hooks->changed(cl->hooks_ud);
}

/* The next delay of a backoff: ReconnectDelay doubling per attempt up to
 * ReconnectMaxDelay, drawn uniformly from its upper half (jitter, so
 * many clients of one server do not come back in step). */
static uint64_t
backoff_ms(const struct options *o, int attempt)
{
	uint64_t d = (uint64_t)o->reconnect_delay_ms;
	int i;

	for (i = 1; i < attempt && d < (uint64_t)o->reconnect_max_delay_ms;
	    i++)
		d *= 2;
	if (d > (uint64_t)o->reconnect_max_delay_ms)
		d = (uint64_t)o->reconnect_max_delay_ms;
	return d / 2 + (uint64_t)random() % (d / 2 + 1);
}

static void
rfwd_retry_tick(uv_timer_t *t)
{
	struct client *cl = t->data;

	if (cl->nc == NULL || !cl->authenticated || cl->stopping)
		return;
	log_verbose("retrying the refused remote forwards");
	if (fwd_remote_request_all(&cl->remotes, net_conn_ssh(cl->nc)) != 0)
		conn_failed(cl, "cannot send remote forward requests");
}

static void
global_reply(struct client *cl, struct ssh_event *ev)
{
	struct fwd_remote *r = ev->u.global_reply.ud;
	char msg[200];
	int ret;

	if (r == NULL)		/* a keepalive's answer */
		return;
	ret = fwd_remote_reply(&cl->remotes, r, ev, net_conn_ssh(cl->nc));
	if (cl->hooks->changed != NULL)
		cl->hooks->changed(cl->hooks_ud);
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
			uint64_t ms = backoff_ms(cl->o, ++cl->rfwd_attempt);

			log_plain("Retrying refused remote forwards in %.1f s",
			    (double)ms / 1000);
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
		stop(cl, EXIT_FAILURE_SSH, msg);
	}
}

static void
open_request(struct client *cl, struct ssh_event *ev)
{
	if (strcmp(ev->u.open_request.type, "forwarded-tcpip") == 0 ||
	    strcmp(ev->u.open_request.type,
	    "forwarded-streamlocal@openssh.com") == 0) {
		fwd_remote_open(&cl->remotes, ev);
		return;
	}
	log_info("refused a %s channel from the server: ferry opens none of "
	    "that type", ev->u.open_request.type);
	ev->u.open_request.reason = SSH_OPEN_UNKNOWN_CHANNEL_TYPE;
	ev->u.open_request.message = "unsupported channel type";
}

/* The server's banner on the terminal, as ssh shows it: lines and tabs
 * kept, every other control character escaped. */
static void
show_banner(const char *text)
{
	size_t n = strlen(text) * 4 + 1;
	char *safe;

	if (log_get_level() <= LOG_QUIET || (safe = malloc(n)) == NULL)
		return;
	text_safe(safe, n, text, true);
	fputs(safe, stderr);
	free(safe);
}

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct client *cl = ud;

	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		ev->u.hostkey.accept = check_host_key(cl, ev->u.hostkey.key);
		if (!ev->u.hostkey.accept)
			cl->fatal = true;	/* never retried */
		break;
	case SSH_EV_AUTH_READY:
		log_verbose("Remote protocol version %s; cipher %s",
		    ssh_peer_version(net_conn_ssh(cl->nc)),
		    ssh_cipher_name(net_conn_ssh(cl->nc), true));
		try_next_key(cl);
		break;
	case SSH_EV_AUTH_FAILURE:
		if (strstr(ev->u.auth_failure.methods, "publickey") == NULL) {
			log_plain("%s@%s: Permission denied (%s).",
			    cl->o->user, cl->o->hostname,
			    ev->u.auth_failure.methods);
			conn_failed(cl, "Permission denied");
			break;
		}
		try_next_key(cl);
		break;
	case SSH_EV_AUTH_BANNER:
		show_banner(ev->u.text.text);
		break;
	case SSH_EV_AUTH_SUCCESS:
		cl->authenticated = true;
		agent_close(cl->agent);		/* no agent forwarding */
		cl->agent = NULL;
		log_verbose("Authenticated to %s ([%s]:%d) using \"publickey\".",
		    cl->o->hostname, net_conn_peer_ip(cl->nc), cl->o->port);
		if (cl->ever_up && cl->attempt > 0)
			log_plain("Reconnected to %s after %d attempt%s, down "
			    "%.1f s", cl->o->hostname, cl->attempt,
			    cl->attempt == 1 ? "" : "s",
			    (double)(uv_now(cl->loop) - cl->down_since) / 1000);
		if (cl->ever_up)
			cl->reconnects++;
		cl->ever_up = true;
		cl->attempt = 0;
		set_state(cl, CLIENT_UP);
		start_forwards(cl);
		break;
	case SSH_EV_GLOBAL_REPLY:
		global_reply(cl, ev);
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		open_request(cl, ev);
		break;
	case SSH_EV_DEBUG:
		log_verbose("Remote: %s", ev->u.text.text);
		break;
	default:
		break;
	}
}

static void
on_connected(void *ud)
{
	struct client *cl = ud;

	log_verbose("Connection established.");
	(void)cl;
}

static void
on_input_done(void *ud)
{
	struct client *cl = ud;

	cl->alive_missed = 0;
}

static void	connect_now(struct client *cl);

static void
retry_tick(uv_timer_t *t)
{
	struct client *cl = t->data;

	if (!cl->stopping)
		connect_now(cl);
}

static void
on_closed(void *ud, enum net_end end, const char *why)
{
	struct client *cl = ud;
	bool was_up = cl->authenticated;
	char reason[300];
	uint64_t ms;
	size_t n;

	cl->nc = NULL;
	cl->pumps.nc = NULL;
	cl->authenticated = false;
	agent_close(cl->agent);
	cl->agent = NULL;
	cl->agent_pending = false;
	if (cl->stopping) {
		check_done(cl);
		return;
	}
	uv_timer_stop(&cl->rfwd_retry);
	if (why[0] != '\0')
		snprintf(cl->last_error, sizeof(cl->last_error), "%s", why);
	if (was_up && end == NET_END_PEER_CLOSED)
		why = "Connection to remote host closed by remote host.";
	if (!cl->o->reconnect || cl->fatal) {
		stop(cl, EXIT_FAILURE_SSH, why);
		return;
	}
	fwd_remote_reset(&cl->remotes);
	snprintf(reason, sizeof(reason), "%s", why);
	if ((n = strlen(reason)) > 0 && reason[n - 1] == '.')
		reason[n - 1] = '\0';
	why = reason;
	ms = backoff_ms(cl->o, ++cl->attempt);
	if (was_up) {
		cl->down_since = uv_now(cl->loop);
		log_plain("Connection to %s lost: %s; reconnecting in %.1f s "
		    "(attempt %d)", cl->o->hostname, why, (double)ms / 1000,
		    cl->attempt);
	} else
		log_plain("Reconnect to %s failed: %s; next attempt in %.1f s "
		    "(attempt %d)", cl->o->hostname, why, (double)ms / 1000,
		    cl->attempt);
	uv_timer_start(&cl->retry, retry_tick, ms, 0);
	set_state(cl, CLIENT_DOWN);
}

static const struct net_conn_ops conn_ops = {
	.event = on_event,
	.connected = on_connected,
	.input_done = on_input_done,
	.closed = on_closed,
};

/* Starts one connection attempt: everything per connection starts anew
 * (keys to offer, the agent); listeners and counters stay. */
static void
connect_now(struct client *cl)
{
	struct options *o = cl->o;

	cl->next_agent = 0;
	cl->next_id = 0;
	cl->auth_waiting = false;
	cl->signing = NULL;
	cl->agent_ids = NULL;
	cl->nagent_ids = 0;
	cl->alive_missed = 0;
	if (o->identity_agent != NULL && cl->agent == NULL) {
		cl->agent = agent_open(cl->loop, o->identity_agent, agent_ready,
		    cl);
		cl->agent_pending = cl->agent != NULL;
	}
	log_verbose("Connecting to %s port %s.", o->hostname, cl->portstr);
	cl->nc = net_conn_start(cl->nl, &cl->nopts, &cl->cfg, &conn_ops, cl);
	cl->pumps.nc = cl->nc;
	if (cl->nc == NULL) {
		stop(cl, EXIT_FAILURE_SSH, "out of memory");
		return;
	}
	set_state(cl, CLIENT_CONNECTING);
}

static int
add_forward(struct client *cl, const struct fwd_spec *spec)
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

struct client *
client_new(struct net_loop *nl, struct options *o,
    const struct client_hooks *hooks, void *ud)
{
	uv_loop_t *loop;
	struct client *cl;
	int i;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->o = o;
	cl->nl = nl;
	cl->loop = loop = nl->uv;
	cl->hooks = hooks;
	cl->hooks_ud = ud;
	cl->state = CLIENT_CONNECTING;
	cl->state_since = uv_now(loop);
	cl->pumps.on_empty = pumps_empty;
	cl->pumps.ud = cl;
	fwd_remote_set_init(&cl->remotes, &cl->pumps, loop);
	cl->remotes.permits = o->permit_remote_open;
	cl->remotes.npermits = o->npermit_remote_open;
	for (i = 0; i < o->nlocal; i++)
		if (add_forward(cl, &o->local[i]) != 0)
			goto nomem;
	for (i = 0; i < o->nremote; i++)
		if (add_forward(cl, &o->remote[i]) != 0)
			goto nomem;
	uv_timer_init(loop, &cl->alive);
	cl->alive.data = cl;
	uv_timer_init(loop, &cl->retry);
	cl->retry.data = cl;
	uv_timer_init(loop, &cl->rfwd_retry);
	cl->rfwd_retry.data = cl;
	cl->handles_open = 3;
	load_identities(cl);
	cl->hk_algs = hostkey_algs(cl);
	cl->cfg.role = SSH_ROLE_CLIENT;
	cl->cfg.ciphers = o->ciphers;
	cl->cfg.macs = o->macs;
	cl->cfg.hostkey_algs = cl->hk_algs;
	cl->cfg.rekey_bytes = (uint64_t)o->rekey_bytes;
	snprintf(cl->portstr, sizeof(cl->portstr), "%d", o->port);
	cl->nopts.host = o->hostname;
	cl->nopts.port = cl->portstr;
	cl->nopts.family = o->family;
	cl->nopts.connect_timeout_ms = (unsigned)o->connect_timeout * 1000;
	cl->nopts.tcp_keepalive = o->tcp_keepalive;
	return cl;
nomem:
	client_free(cl);
	return NULL;
}

void
client_start(struct client *cl)
{
	if (cl->o->server_alive_interval > 0)
		uv_timer_start(&cl->alive, alive_tick,
		    (uint64_t)cl->o->server_alive_interval * 1000,
		    (uint64_t)cl->o->server_alive_interval * 1000);
	connect_now(cl);
}

void
client_stop(struct client *cl, int code)
{
	stop(cl, code, NULL);
}

/* Only once the done hook ran (or before client_start). */
void
client_free(struct client *cl)
{
	struct lfwd *f;
	int i;

	if (cl == NULL)
		return;
	while ((f = cl->lfwds) != NULL) {
		cl->lfwds = f->next;
		lfwd_free(cl, f);
	}
	fwd_remote_set_free(&cl->remotes);
	for (i = 0; i < cl->nids; i++)
		key_free(cl->ids[i]);
	for (i = 0; i < cl->npubs; i++)
		key_free(cl->id_pubs[i]);
	wb_free(&cl->sigdata);
	free(cl->hk_algs);
	options_free(cl->o);
	free(cl->o);
	free(cl);
}

const char *
client_name(const struct client *cl)
{
	return cl->o->host;
}

bool
client_stopping(const struct client *cl)
{
	return cl->stopping;
}

const struct options *
client_options(const struct client *cl)
{
	return cl->o;
}

void
client_info(const struct client *cl, struct client_info *out)
{
	out->name = cl->o->host;
	out->hostname = cl->o->hostname;
	out->user = cl->o->user;
	out->port = cl->o->port;
	out->state = cl->state;
	out->since_s = (double)(uv_now(cl->loop) - cl->state_since) / 1000;
	out->reconnects = cl->reconnects;
	out->last_error = cl->last_error;
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

bool
client_settled(const struct client *cl)
{
	struct forward_info fi;
	int i;

	if (cl->state == CLIENT_CONNECTING)
		return cl->ever_up || cl->attempt > 0;
	if (cl->state != CLIENT_UP)
		return true;
	for (i = 0; client_forward_info(cl, i, &fi) == 0; i++)
		if (!fi.up && fi.error[0] == '\0')
			return false;
	return true;
}

bool
client_ready(const struct client *cl)
{
	struct forward_info fi;
	int i;

	if (cl->state != CLIENT_UP)
		return false;
	for (i = 0; client_forward_info(cl, i, &fi) == 0; i++)
		if (!fi.up)
			return false;
	return true;
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
	if (add_forward(cl, &spec) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	log_info("%s: forward added: %s", cl->o->host, text);
	if (start_added(cl, &spec, err, errlen) != 0) {
		/* a listener that cannot bind is not kept */
		client_cancel(cl, kind, text, NULL, 0);
		return -1;
	}
	if (cl->hooks->changed != NULL)
		cl->hooks->changed(cl->hooks_ud);
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
	if (cl->hooks->changed != NULL)
		cl->hooks->changed(cl->hooks_ud);
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
		if (add_forward(cl, sp) != 0 ||
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
	if (cl->hooks->changed != NULL)
		cl->hooks->changed(cl->hooks_ud);
	return 0;
}
