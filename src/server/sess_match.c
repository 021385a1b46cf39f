/* sshd_config's Match blocks for one ferryd session: the blocks that
 * match are applied when the connection is accepted (Address,
 * LocalAddress, LocalPort, Host, All) and again when the first auth
 * request names the user (User), as sshd applies them. A session no
 * block matches reads its policy's shared values; one some block matches
 * gets values of its own (a small struct borrowing the policy's lists),
 * so idle sessions cost no copy of the configuration. */
#include <stdlib.h>
#include <string.h>

#include "server/sess_int.h"
#include "util/log.h"

static enum fwd_dirs
fwd_dirs(enum allow_fwd a)
{
	switch (a) {
	case FWD_ALLOW_ALL:
		return FWD_DIRS_ALL;
	case FWD_ALLOW_LOCAL:
		return FWD_DIRS_LOCAL;
	case FWD_ALLOW_REMOTE:
		return FWD_DIRS_REMOTE;
	default:
		return FWD_DIRS_NONE;
	}
}

static enum gw_mode
gw_mode(enum gateway_ports g)
{
	switch (g) {
	case GW_YES:
		return GW_MODE_YES;
	case GW_CLIENTSPECIFIED:
		return GW_MODE_CLIENTSPECIFIED;
	default:
		return GW_MODE_NO;
	}
}

/* The values as the forwarding decisions read them; the lists stay the
 * policy's, which lives as long as the session's reference to it. */
static void
rules_init(struct fwd_srv_rules *r, const struct server_conn_cfg *v,
    const struct server_config *c)
{
	r->disable_forwarding = v->disable_forwarding;
	r->allow_tcp = fwd_dirs(v->allow_tcp_forwarding);
	r->allow_streamlocal = fwd_dirs(v->allow_streamlocal_forwarding);
	r->key_permits_cover_sl = c->key_permits_cover_sl != 0;
	r->permit_open = v->permit_open;
	r->npermit_open = v->npermit_open;
	r->permit_listen = v->permit_listen;
	r->npermit_listen = v->npermit_listen;
	r->gateway_ports = gw_mode(v->gateway_ports);
}

void
server_policy_conn_init(struct server_policy *p)
{
	server_conn_resolve(&p->cfg, NULL, &p->conn);
}

/* Which blocks apply, by their Match lines: the operator's answer to
 * "why does this connection get that". */
static void
log_matched(const struct session *s, const char *user,
    const struct server_conn_cfg *v)
{
	char list[600] = "";
	size_t len = 0;
	int i;

	for (i = 0; i < s->pol->cfg.nmatch && len < sizeof(list); i++)
		if (v->matched & ((uint64_t)1 << i))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%s", len ? ", " : "",
			    server_config_match_where(&s->pol->cfg, i));
	log_verbose("Match for %s%s%s port %d: %s", user ? user : "",
	    user ? " from " : "", s->ip, s->port, list);
}

int
sess_match_apply(struct session *s, const char *user)
{
	struct sc_conninfo ci = { .user = user, .host = s->ip, .addr = s->ip,
	    .lport = -1 };
	struct server_conn_cfg v;
	char lip[64];
	int n;

	if (s->nc != NULL && net_conn_local(s->nc, lip, sizeof(lip),
	    &ci.lport) == 0)
		ci.laddr = lip;
	else
		ci.lport = -1;
	if ((n = server_conn_resolve(&s->pol->cfg, &ci, &v)) == 0) {
		free(s->own_cc);
		s->own_cc = NULL;
		s->cc = &s->pol->conn;
	} else {
		if (s->own_cc == NULL &&
		    (s->own_cc = malloc(sizeof(*s->own_cc))) == NULL)
			return -1;
		*s->own_cc = v;
		s->cc = s->own_cc;
		log_matched(s, user, &v);
	}
	rules_init(&s->rules, s->cc, &s->pol->cfg);
	if (s->nc != NULL)
		ssh_server_set_auth(sess_ssh(s), s->cc->banner_text,
		    (unsigned)s->cc->max_auth_tries);
	return 0;
}
