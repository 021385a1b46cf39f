/* The ferry client: one SSH connection, host key checking against
 * known_hosts, publickey authentication, then the forwards. */
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

#define EXIT_FAILURE_SSH	255

/* Everything one run of the client owns. */
struct client {
	uv_loop_t		*loop;
	struct options		*o;
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
	struct fwd_listener	*locals[MAX_FORWARDS];
	int			 nlocals;
	bool			 locals_started;
	struct fwd_remote_set	 remotes;
	uv_timer_t		 alive;		/* ServerAliveInterval */
	int			 alive_missed;
	uv_signal_t		 sig[3];
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
		if (!o->identity_given && strstr(err, "No such file") != NULL)
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
stop(struct client *cl, int code, const char *why)
{
	int i;

	if (cl->stopping)
		return;
	cl->stopping = true;
	cl->exit_code = code;
	if (why != NULL && why[0] != '\0')
		log_error("%s", why);
	agent_close(cl->agent);
	cl->agent = NULL;
	cl->agent_pending = false;
	for (i = 0; i < cl->nlocals; i++)
		fwd_listener_stop(cl->locals[i]);
	cl->nlocals = 0;
	for (i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&cl->sig[i], NULL);
	uv_close((uv_handle_t *)&cl->alive, NULL);
	uv_close((uv_handle_t *)&cl->retry, NULL);
	uv_close((uv_handle_t *)&cl->rfwd_retry, NULL);
	if (cl->nc != NULL) {
		struct ssh_conn *ssh = net_conn_ssh(cl->nc);

		if (ssh != NULL && cl->authenticated) {
			fwd_remote_cancel_all(&cl->remotes, ssh);
			ssh_disconnect(ssh, 11, "disconnected by user");
		}
		net_conn_close(cl->nc, "");
	}
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

	if (cl->o->identities_only != 1)
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
	if (cl->o->reconnect == 1 && !cl->fatal && cl->nc != NULL) {
		ssh_disconnect(net_conn_ssh(cl->nc), 11, "retrying later");
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
	    id->blob, id->bloblen, sig, siglen) != 0) {
		try_next_key(cl);
		return;
	}
	net_conn_kick(cl->nc);
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
		if (ssh_auth_pubkey(ssh, cl->o->user, k) == 0) {
			net_conn_kick(cl->nc);
			return;
		}
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
		if (cl->o->reconnect == 1) {
			net_conn_close(cl->nc, msg);
			return;
		}
		stop(cl, EXIT_FAILURE_SSH, msg);
		return;
	}
	if (ssh_authenticated(ssh) &&
	    ssh_global_request(ssh, "keepalive@openssh.com", true, NULL, 0,
	    NULL) == 0)
		net_conn_kick(cl->nc);
}

static void
start_forwards(struct client *cl)
{
	struct options *o = cl->o;
	struct fwd_local_opts lo;
	struct fwd_listener *fl;
	char err[512], target[300];
	int i;

	lo.gateway_ports = o->gateway_ports == 1;
	lo.family = o->family;
	lo.bind_mask = o->stream_local_bind_mask;
	lo.bind_unlink = o->stream_local_bind_unlink == 1;
	/* local listeners stay bound across reconnects */
	for (i = 0; i < o->nlocal && !cl->locals_started; i++) {
		if (fwd_local_start(cl->loop, &o->local[i], &lo, &cl->pumps,
		    &fl, err, sizeof(err)) != 0) {
			log_error("%s", err);
			log_error("Could not request local forwarding.");
			if (o->exit_on_forward_failure == 1) {
				stop(cl, EXIT_FAILURE_SSH, "Error: local "
				    "port forwarding failed");
				return;
			}
			continue;
		}
		cl->locals[cl->nlocals++] = fl;
		if (o->local[i].listen_port != 0 ||
		    o->local[i].listen_path[0] != '\0')
			continue;
		if (o->local[i].dynamic) {
			log_plain("Allocated port %d for dynamic forward",
			    fwd_listener_port(fl));
			continue;
		}
		fwd_spec_target(&o->local[i], target, sizeof(target));
		log_plain("Allocated port %d for local forward to %s",
		    fwd_listener_port(fl), target);
	}
	cl->locals_started = true;
	if (fwd_remote_request_all(&cl->remotes, net_conn_ssh(cl->nc)) != 0)
		stop(cl, EXIT_FAILURE_SSH, "cannot send remote forward requests");
	net_conn_kick(cl->nc);
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
	net_conn_kick(cl->nc);
}

static void
global_reply(struct client *cl, struct ssh_event *ev)
{
	struct fwd_remote *r = ev->u.global_reply.ud;
	char msg[200];

	if (r == NULL)		/* a keepalive's answer */
		return;
	if (fwd_remote_reply(&cl->remotes, r, ev) == 0) {
		if (cl->remotes.pending == 0 &&
		    !fwd_remote_any_refused(&cl->remotes))
			cl->rfwd_attempt = 0;
		return;
	}
	if (cl->o->reconnect == 1 && cl->o->exit_on_forward_failure != 1) {
		/* retried on its own schedule; the others carry on */
		if (!uv_is_active((uv_handle_t *)&cl->rfwd_retry)) {
			uint64_t ms = backoff_ms(cl->o, ++cl->rfwd_attempt);

			log_plain("Retrying the refused remote forward%s in "
			    "%.1f s", cl->remotes.pending ? "s" : "",
			    (double)ms / 1000);
			uv_timer_start(&cl->rfwd_retry, rfwd_retry_tick, ms, 0);
		}
		return;
	}
	if (cl->o->exit_on_forward_failure == 1) {
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

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct client *cl = ud;

	if (ev->type >= SSH_EV_CHAN_CONFIRM && ev->type <= SSH_EV_CHAN_WINDOW &&
	    ev->type != SSH_EV_CHAN_OPEN_REQUEST) {
		/* A NULL ud is a channel whose socket is already gone. */
		if (ev->chan_ud != NULL)
			pump_event(ev->chan_ud, ev);
		return;
	}
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
		if (log_get_level() > LOG_QUIET)
			fputs(ev->u.text.text, stderr);
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
		cl->ever_up = true;
		cl->attempt = 0;
		start_forwards(cl);
		break;
	case SSH_EV_KEX_DONE:
		pump_resume_all(&cl->pumps);
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
	pump_flush_dirty(&cl->pumps);
}

static void
on_drained(void *ud)
{
	struct client *cl = ud;

	pump_resume_all(&cl->pumps);
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
on_closed(void *ud, const char *why)
{
	struct client *cl = ud;
	bool was_up = cl->authenticated;
	char reason[300];
	uint64_t ms;
	size_t n;

	cl->nc = NULL;
	cl->pumps.nc = NULL;
	cl->authenticated = false;
	uv_timer_stop(&cl->rfwd_retry);
	pump_abort_all(&cl->pumps);
	agent_close(cl->agent);
	cl->agent = NULL;
	cl->agent_pending = false;
	if (cl->stopping)
		return;
	if (was_up && strncmp(why, "Connection closed", 17) == 0)
		why = "Connection to remote host closed by remote host.";
	if (cl->o->reconnect != 1 || cl->fatal) {
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
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct client *cl = h->data;
	char msg[64];

	snprintf(msg, sizeof(msg), "Killed by signal %d.", signum);
	log_verbose("%s", msg);
	/* a supervised tunnel asked to stop ends well (a service manager
	 * reads 255 as a failure) */
	stop(cl, cl->o->reconnect == 1 && signum != SIGHUP ? 0 :
	    EXIT_FAILURE_SSH, NULL);
}

static const struct net_conn_ops conn_ops = {
	.event = on_event,
	.connected = on_connected,
	.input_done = on_input_done,
	.drained = on_drained,
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
	cl->nc = net_conn_start(cl->loop, &cl->nopts, &cl->cfg, &conn_ops, cl);
	cl->pumps.nc = cl->nc;
	if (cl->nc == NULL)
		stop(cl, EXIT_FAILURE_SSH, "out of memory");
}

int
client_run(struct options *o)
{
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	struct client cl;
	char *hk_algs;
	int i;

	memset(&cl, 0, sizeof(cl));
	cl.o = o;
	cl.loop = uv_default_loop();
	srandom((unsigned)getpid() ^ (unsigned)uv_hrtime());
	load_identities(&cl);
	if (fwd_remote_set_init(&cl.remotes, o->remote, o->nremote, &cl.pumps,
	    cl.loop) != 0) {
		log_error("out of memory");
		return EXIT_FAILURE_SSH;
	}
	cl.remotes.permits = o->permit_remote_open;
	cl.remotes.npermits = o->npermit_remote_open;
	uv_timer_init(cl.loop, &cl.alive);
	cl.alive.data = &cl;
	uv_timer_init(cl.loop, &cl.retry);
	cl.retry.data = &cl;
	uv_timer_init(cl.loop, &cl.rfwd_retry);
	cl.rfwd_retry.data = &cl;
	if (o->server_alive_interval > 0)
		uv_timer_start(&cl.alive, alive_tick,
		    (uint64_t)o->server_alive_interval * 1000,
		    (uint64_t)o->server_alive_interval * 1000);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 3; i++) {
		uv_signal_init(cl.loop, &cl.sig[i]);
		cl.sig[i].data = &cl;
		uv_signal_start(&cl.sig[i], on_signal, sigs[i]);
	}
	hk_algs = hostkey_algs(&cl);
	cl.cfg.role = SSH_ROLE_CLIENT;
	cl.cfg.ciphers = o->ciphers;
	cl.cfg.macs = o->macs;
	cl.cfg.hostkey_algs = hk_algs;
	cl.cfg.rekey_bytes = (uint64_t)o->rekey_bytes;
	snprintf(cl.portstr, sizeof(cl.portstr), "%d", o->port);
	cl.nopts.host = o->hostname;
	cl.nopts.port = cl.portstr;
	cl.nopts.family = o->family;
	cl.nopts.connect_timeout_ms = (unsigned)o->connect_timeout * 1000;
	cl.nopts.tcp_keepalive = o->tcp_keepalive == 1;
	connect_now(&cl);
	uv_run(cl.loop, UV_RUN_DEFAULT);
	free(hk_algs);
	fwd_remote_set_free(&cl.remotes);
	for (i = 0; i < cl.nids; i++)
		key_free(cl.ids[i]);
	for (i = 0; i < cl.npubs; i++)
		key_free(cl.id_pubs[i]);
	wb_free(&cl.sigdata);
	uv_loop_close(cl.loop);
	return cl.exit_code;
}
