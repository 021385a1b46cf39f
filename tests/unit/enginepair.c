/* The in-memory client/server engine pair shared by the engine tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "keys/key.h"
#include "ssh/ssh.h"
#include "enginepair.h"

struct key *hostkey, *userkey, *otherkey;

int
keys_setup(void **state)
{
	(void)state;
	if (key_generate(KEY_ED25519, &hostkey) != 0 ||
	    key_generate(KEY_ECDSA_P256, &userkey) != 0 ||
	    key_generate(KEY_ED25519, &otherkey) != 0)
		return -1;
	return 0;
}

int
keys_teardown(void **state)
{
	(void)state;
	key_free(hostkey);
	key_free(userkey);
	key_free(otherkey);
	hostkey = userkey = otherkey = NULL;
	return 0;
}

void
on_event(void *ud, struct ssh_event *ev)
{
	struct side *s = ud;

	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		s->hostkey_seen++;
		ev->u.hostkey.accept = key_equal(ev->u.hostkey.key, hostkey);
		ev->u.hostkey.defer = s->defer_hostkey;
		break;
	case SSH_EV_AUTH_READY:
		s->auth_ready++;
		break;
	case SSH_EV_AUTH_REQUEST:
		ev->u.auth_request.allow = s->allow_user &&
		    strcmp(ev->u.auth_request.user, "alice") == 0 &&
		    key_equal(ev->u.auth_request.key, userkey);
		if (s->defer_auth) {
			ev->u.auth_request.defer = true;
			s->auth_deferred++;
		}
		break;
	case SSH_EV_AUTH_SUCCESS:
		s->auth_ok++;
		break;
	case SSH_EV_AUTH_BANNER:
		s->banners++;
		snprintf(s->banner_text, sizeof(s->banner_text), "%s",
		    ev->u.text.text);
		break;
	case SSH_EV_KEX_DONE:
		s->kex_done++;
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		ev->u.open_request.accept = true;
		s->chan = ev->chan;
		s->has_chan = true;
		s->opens++;
		break;
	case SSH_EV_CHAN_CONFIRM:
		s->confirmed++;
		break;
	case SSH_EV_CHAN_DATA:
		wb_put(&s->rcvd, ev->u.data.p, ev->u.data.len);
		ssh_chan_consumed(s->c, ev->chan, ev->u.data.len);
		break;
	case SSH_EV_CHAN_EOF:
		s->eof++;
		break;
	case SSH_EV_CHAN_CLOSED:
		s->closed++;
		break;
	case SSH_EV_CHAN_WINDOW:
		s->window++;
		break;
	case SSH_EV_CHAN_REQUEST:
		s->chan_requests++;
		ev->u.request.success = true;
		break;
	case SSH_EV_DEBUG:
		s->debug++;
		break;
	case SSH_EV_GLOBAL_REQUEST:
		/* succeed for "yes", reply with a port number */
		s->global_requests++;
		/* "defer" waits for ssh_global_answer */
		ev->u.request.defer = strcmp(ev->u.request.name, "defer") == 0;
		ev->u.request.success = strcmp(ev->u.request.name, "yes") == 0;
		wb_u32(ev->u.request.reply, 4242);
		break;
	case SSH_EV_GLOBAL_REPLY:
		if (s->nreplies < 8)
			s->replies[s->nreplies++] =
			    ev->u.global_reply.success ?
			    (int)(intptr_t)ev->u.global_reply.ud : -1;
		break;
	default:
		break;
	}
}

struct ssh_conn *
mk(struct side *s, enum ssh_role role, const char *cipher)
{
	struct ssh_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.ciphers = cipher;
	cfg.compression = s->compression;
	cfg.kex_algs = s->kex_algs;
	cfg.hostkey_algs = s->hostkey_algs;
	cfg.pubkey_algs = s->pubkey_algs;
	cfg.event = on_event;
	cfg.event_ud = s;
	cfg.hostkeys = &hostkey;
	cfg.nhostkeys = 1;
	cfg.banner = s->banner;
	s->c = ssh_conn_new(&cfg);
	assert_non_null(s->c);
	return s->c;
}

int
pump(struct side *a, struct side *b)
{
	const uint8_t *p;
	size_t len;
	int moved = 1, rounds = 0;

	while (moved && rounds++ < 10000) {
		moved = 0;
		ssh_out_peek(a->c, &p, &len);
		if (len > 0) {
			moved = 1;
			if (ssh_feed(b->c, p, len) != 0)
				return -1;
			ssh_out_consume(a->c, len);
		}
		ssh_out_peek(b->c, &p, &len);
		if (len > 0) {
			moved = 1;
			if (ssh_feed(a->c, p, len) != 0)
				return -1;
			ssh_out_consume(b->c, len);
		}
	}
	return 0;
}

void
connect_pair(struct side *cl, struct side *sv, const char *cipher)
{
	connect_pair_comp(cl, sv, cipher, NULL, NULL);
}

void
connect_pair_comp(struct side *cl, struct side *sv, const char *cipher,
    const char *cl_comp, const char *sv_comp)
{
	memset(cl, 0, sizeof(*cl));
	memset(sv, 0, sizeof(*sv));
	cl->compression = cl_comp;
	sv->compression = sv_comp;
	sv->allow_user = true;
	mk(cl, SSH_ROLE_CLIENT, cipher);
	mk(sv, SSH_ROLE_SERVER, cipher);
	assert_int_equal(pump(cl, sv), 0);
	assert_int_equal(cl->hostkey_seen, 1);
	assert_int_equal(cl->auth_ready, 1);
	assert_int_equal(ssh_auth_pubkey(cl->c, "alice", userkey), 0);
	assert_int_equal(pump(cl, sv), 0);
	assert_int_equal(cl->auth_ok, 1);
	assert_int_equal(sv->auth_ok, 1);
	assert_string_equal(ssh_auth_user(sv->c), "alice");
}

void
free_pair(struct side *cl, struct side *sv)
{
	ssh_conn_free(cl->c);
	ssh_conn_free(sv->c);
	wb_free(&cl->rcvd);
	wb_free(&sv->rcvd);
}

void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}
