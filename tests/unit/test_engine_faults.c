/* The engine against peers that misbehave or merely race: messages for
 * channels already closed, channel traffic in the middle of a rekey,
 * IGNORE/DEBUG in a strict initial key exchange, a DISCONNECT without a
 * body, a peer that always holds back the last byte of its packets, and
 * the output backlog while a key exchange holds messages back. Every
 * case runs with the client and with the server as the side under test.
 * Packets a well-behaved engine would never send are built with the
 * engine's own pkt_begin/pkt_end (ssh_int.h), so they are sealed with the
 * sender's current keys and sequence numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "keys/key.h"
#include "ssh/ssh.h"
#include "ssh/ssh_int.h"
#include "enginepair.h"

/* Queues one packet of type with body on c, as is: even while c's own
 * key exchange would hold it back (c->kex is hidden from pkt_end). */
static void
raw(struct ssh_conn *c, uint8_t type, const void *body, size_t len)
{
	struct kex *k = c->kex;

	c->kex = NULL;
	assert_int_equal(pkt_begin(c, type), 0);
	if (len > 0)
		assert_int_equal(wb_put(&c->out, body, len), 0);
	assert_int_equal(pkt_end(c), 0);
	assert_null(c->kex);	/* pkt_end started no key exchange */
	c->kex = k;
}

/* Channel message bodies addressed to the recipient's channel id. */
static void
raw_window_adjust(struct ssh_conn *c, uint32_t id, uint32_t add)
{
	uint8_t b[8];

	put_u32(b, id);
	put_u32(b + 4, add);
	raw(c, MSG_CHANNEL_WINDOW_ADJUST, b, sizeof(b));
}

static void
raw_data(struct ssh_conn *c, uint32_t id, const uint8_t *p, size_t n)
{
	struct wb w;

	wb_init(&w);
	wb_u32(&w, id);
	wb_string(&w, p, n);
	assert_int_equal(w.err, 0);
	raw(c, MSG_CHANNEL_DATA, w.p, w.len);
	wb_free(&w);
}

static void
raw_ext_data(struct ssh_conn *c, uint32_t id, const char *s)
{
	struct wb w;

	wb_init(&w);
	wb_u32(&w, id);
	wb_u32(&w, 1);		/* SSH_EXTENDED_DATA_STDERR */
	wb_cstring(&w, s);
	raw(c, MSG_CHANNEL_EXTENDED_DATA, w.p, w.len);
	wb_free(&w);
}

static void
raw_eof(struct ssh_conn *c, uint32_t id)
{
	uint8_t b[4];

	put_u32(b, id);
	raw(c, MSG_CHANNEL_EOF, b, sizeof(b));
}

static void
raw_request(struct ssh_conn *c, uint32_t id, const char *name,
    bool want_reply)
{
	struct wb w;

	wb_init(&w);
	wb_u32(&w, id);
	wb_cstring(&w, name);
	wb_bool(&w, want_reply);
	wb_u32(&w, 0);
	raw(c, MSG_CHANNEL_REQUEST, w.p, w.len);
	wb_free(&w);
}

/* Opens a direct-tcpip channel from a to b; returns a's id, *bid b's. */
static uint32_t
open_chan(struct side *a, struct side *b, uint32_t *bid)
{
	struct wb extra;
	int id, confirmed = a->confirmed, opens = b->opens;

	wb_init(&extra);
	ssh_direct_tcpip_extra(&extra, "localhost", 80, "127.0.0.1", 5555);
	id = ssh_chan_open(a->c, "direct-tcpip", extra.p, extra.len, NULL);
	wb_free(&extra);
	assert_true(id >= 0);
	assert_int_equal(pump(a, b), 0);
	assert_int_equal(a->confirmed, confirmed + 1);
	assert_int_equal(b->opens, opens + 1);
	*bid = b->chan;
	return (uint32_t)id;
}

/* Sends s from a's channel aid; b must receive exactly s (appended). */
static void
send_check(struct side *a, uint32_t aid, struct side *b, const char *s)
{
	size_t before = b->rcvd.len, n = strlen(s);

	assert_int_equal(ssh_chan_send(a->c, aid, (const uint8_t *)s, n), 0);
	assert_int_equal(pump(a, b), 0);
	assert_int_equal(b->rcvd.len, before + n);
	assert_memory_equal(b->rcvd.p + before, s, n);
}

static void
pair_sides(struct side *cl, struct side *sv, bool victim_client,
    struct side **v, struct side **p)
{
	*v = victim_client ? cl : sv;
	*p = victim_client ? sv : cl;
}

/*
 * 1. Late channel messages.
 */

/* After the CLOSE exchange of a channel the peer sends WINDOW_ADJUST,
 * DATA, EXTENDED_DATA, EOF and a CHANNEL_REQUEST for it: all counted and
 * dropped, nothing answered, the other channel unaffected. */
static void
late_messages(bool victim_client)
{
	struct side cl, sv, *v, *p;
	uint32_t c0, s0, c1, s1, v0;

	connect_pair(&cl, &sv, NULL);
	pair_sides(&cl, &sv, victim_client, &v, &p);
	c0 = open_chan(&cl, &sv, &s0);
	c1 = open_chan(&cl, &sv, &s1);
	v0 = victim_client ? c0 : s0;
	/* the victim closes channel 0; the CLOSE exchange completes */
	assert_int_equal(ssh_chan_close(v->c, v0), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.closed, 1);
	assert_int_equal(sv.closed, 1);
	assert_int_equal(ssh_chan_count(cl.c), 1);
	assert_int_equal(ssh_chan_count(sv.c), 1);
	assert_int_equal(ssh_late_msgs(v->c), 0);

	raw_window_adjust(p->c, v0, 1000);
	raw_data(p->c, v0, (const uint8_t *)"late", 4);
	raw_ext_data(p->c, v0, "late stderr");
	raw_eof(p->c, v0);
	raw_request(p->c, v0, "exit-status", true);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_null(ssh_error(cl.c));
	assert_null(ssh_error(sv.c));
	assert_int_equal(ssh_late_msgs(v->c), 5);
	/* ignored: no event, no reply (a reply would be late at p) */
	assert_int_equal(v->rcvd.len, 0);
	assert_int_equal(v->eof, 0);
	assert_int_equal(v->window, 0);
	assert_int_equal(v->chan_requests, 0);
	assert_int_equal(v->closed, 1);
	assert_int_equal(ssh_late_msgs(p->c), 0);
	/* the other channel still works both ways */
	send_check(&cl, c1, &sv, "up");
	send_check(&sv, s1, &cl, "down");
	assert_int_equal(ssh_chan_count(cl.c), 1);
	assert_int_equal(ssh_chan_count(sv.c), 1);
	/* and closes normally */
	assert_int_equal(ssh_chan_close(p->c, victim_client ? s1 : c1), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.closed, 2);
	assert_int_equal(sv.closed, 2);
	assert_null(ssh_error(cl.c));
	assert_null(ssh_error(sv.c));
	free_pair(&cl, &sv);
}

static void
test_late_messages_client(void **state)
{
	(void)state;
	late_messages(true);
}

static void
test_late_messages_server(void **state)
{
	(void)state;
	late_messages(false);
}

/* The peer's EOF, then DATA and a second EOF for a channel whose CLOSE
 * we sent and the peer has not answered yet (it sent them before it saw
 * our CLOSE): counted and dropped. Without our CLOSE in flight, data
 * after EOF still ends the connection. */
static void
close_in_flight(bool victim_client)
{
	struct side cl, sv, *v, *p;
	uint32_t c0, s0, c1, s1, v0, p0, v1, p1;

	connect_pair(&cl, &sv, NULL);
	pair_sides(&cl, &sv, victim_client, &v, &p);
	c0 = open_chan(&cl, &sv, &s0);
	c1 = open_chan(&cl, &sv, &s1);
	v0 = victim_client ? c0 : s0;
	p0 = victim_client ? s0 : c0;
	v1 = victim_client ? c1 : s1;
	p1 = victim_client ? s1 : c1;
	assert_int_equal(ssh_chan_close(v->c, v0), 0);	/* not pumped yet */
	assert_int_equal(ssh_chan_eof(p->c, p0), 0);
	raw_data(p->c, v0, (const uint8_t *)"raced", 5);
	raw_eof(p->c, v0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_null(ssh_error(v->c));
	assert_int_equal(ssh_late_msgs(v->c), 2);
	assert_int_equal(v->rcvd.len, 0);
	assert_int_equal(v->closed, 1);
	/* an open channel: data after EOF is the peer's protocol error */
	assert_int_equal(ssh_chan_eof(p->c, p1), 0);
	raw_data(p->c, v1, (const uint8_t *)"bad", 3);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(strstr(ssh_error(v->c), "data after EOF"));
	free_pair(&cl, &sv);
}

static void
test_close_in_flight_client(void **state)
{
	(void)state;
	close_in_flight(true);
}

static void
test_close_in_flight_server(void **state)
{
	(void)state;
	close_in_flight(false);
}

/* A message for a channel id that never existed still ends the
 * connection, with an id inside the channel table and one far beyond. */
static void
unknown_channel(bool victim_client, uint32_t id, uint8_t type)
{
	struct side cl, sv, *v, *p;
	uint32_t c0, s0;

	connect_pair(&cl, &sv, NULL);
	pair_sides(&cl, &sv, victim_client, &v, &p);
	c0 = open_chan(&cl, &sv, &s0);
	(void)c0;
	(void)s0;
	switch (type) {
	case MSG_CHANNEL_WINDOW_ADJUST:
		raw_window_adjust(p->c, id, 1);
		break;
	case MSG_CHANNEL_DATA:
		raw_data(p->c, id, (const uint8_t *)"x", 1);
		break;
	case MSG_CHANNEL_EOF:
		raw_eof(p->c, id);
		break;
	default:
		raw_request(p->c, id, "exit-status", false);
		break;
	}
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(ssh_error(v->c));
	assert_non_null(strstr(ssh_error(v->c), "unknown channel"));
	assert_int_equal(ssh_late_msgs(v->c), 0);
	free_pair(&cl, &sv);
}

static void
test_unknown_channel_fails(void **state)
{
	static const uint8_t types[] = { MSG_CHANNEL_WINDOW_ADJUST,
	    MSG_CHANNEL_DATA, MSG_CHANNEL_EOF, MSG_CHANNEL_REQUEST };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types); i++) {
		unknown_channel(true, 7, types[i]);
		unknown_channel(false, 7, types[i]);
		unknown_channel(true, 100000, types[i]);
		unknown_channel(false, 100000, types[i]);
	}
}

/* A just-released id is not handed out again while others are free, by
 * ssh_chan_open (opener) nor for an accepted open (peer); a late message
 * for it is dropped rather than delivered to the new channel. */
static void
no_quick_reuse(bool opener_client)
{
	struct side cl, sv, *o, *q;
	uint32_t oa, qa, ob, qb, oc, qc;

	connect_pair(&cl, &sv, NULL);
	o = opener_client ? &cl : &sv;
	q = opener_client ? &sv : &cl;
	oa = open_chan(o, q, &qa);
	ob = open_chan(o, q, &qb);
	assert_int_equal(ssh_chan_close(o->c, oa), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(o->closed, 1);
	assert_int_equal(q->closed, 1);
	oc = open_chan(o, q, &qc);
	assert_int_not_equal(oc, oa);
	assert_int_not_equal(oc, ob);
	assert_int_not_equal(qc, qa);
	assert_int_not_equal(qc, qb);
	/* late data for the old channel at both ends: dropped */
	raw_data(q->c, oa, (const uint8_t *)"old", 3);
	raw_data(o->c, qa, (const uint8_t *)"old", 3);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(ssh_late_msgs(o->c), 1);
	assert_int_equal(ssh_late_msgs(q->c), 1);
	assert_int_equal(o->rcvd.len, 0);
	assert_int_equal(q->rcvd.len, 0);
	send_check(o, oc, q, "new");
	send_check(q, qc, o, "new");
	/* the same after another round: ids keep moving forward */
	assert_int_equal(ssh_chan_close(q->c, qc), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	oa = open_chan(o, q, &qa);
	assert_int_not_equal(oa, oc);
	assert_int_not_equal(qa, qc);
	assert_null(ssh_error(cl.c));
	assert_null(ssh_error(sv.c));
	free_pair(&cl, &sv);
}

static void
test_no_quick_reuse_client(void **state)
{
	(void)state;
	no_quick_reuse(true);
}

static void
test_no_quick_reuse_server(void **state)
{
	(void)state;
	no_quick_reuse(false);
}

/*
 * 2. Channel traffic during a key exchange.
 */

/* The initiator rekeys; the sender (initiator or responder) sends DATA,
 * WINDOW_ADJUST and a CHANNEL_REQUEST after its KEXINIT and before its
 * NEWKEYS. The receiver processes them; the data arrives intact. */
static void
rekey_traffic(bool initiator_client, bool from_initiator)
{
	struct side cl, sv, *a, *b, *s, *r;
	uint32_t cid, sid, s_id, r_id;
	uint8_t data[8192];
	const uint8_t *p;
	size_t n;

	connect_pair(&cl, &sv, NULL);
	cid = open_chan(&cl, &sv, &sid);
	a = initiator_client ? &cl : &sv;
	b = initiator_client ? &sv : &cl;
	s = from_initiator ? a : b;
	r = from_initiator ? b : a;
	s_id = s == &cl ? cid : sid;
	r_id = s == &cl ? sid : cid;
	(void)s_id;
	fill(data, sizeof(data), 7);

	assert_int_equal(ssh_rekey(a->c), 0);
	assert_false(ssh_can_send(a->c));
	if (!from_initiator) {
		/* B reads A's KEXINIT and answers with its own */
		ssh_out_peek(a->c, &p, &n);
		assert_int_equal(ssh_feed(b->c, p, n), 0);
		ssh_out_consume(a->c, n);
		assert_false(ssh_can_send(b->c));
	}
	raw_data(s->c, r_id, data, sizeof(data));
	raw_window_adjust(s->c, r_id, 4096);
	raw_request(s->c, r_id, "env", true);
	raw_data(s->c, r_id, (const uint8_t *)"tail", 4);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_null(ssh_error(cl.c));
	assert_null(ssh_error(sv.c));
	assert_int_equal(cl.kex_done, 2);
	assert_int_equal(sv.kex_done, 2);
	assert_int_equal(r->rcvd.len, sizeof(data) + 4);
	assert_memory_equal(r->rcvd.p, data, sizeof(data));
	assert_memory_equal(r->rcvd.p + sizeof(data), "tail", 4);
	assert_int_equal(r->window, 1);
	assert_int_equal(r->chan_requests, 1);
	assert_int_equal(ssh_late_msgs(cl.c), 0);
	assert_int_equal(ssh_late_msgs(sv.c), 0);
	/* the channel keeps working under the new keys */
	send_check(&cl, cid, &sv, "after");
	send_check(&sv, sid, &cl, "after");
	free_pair(&cl, &sv);
}

static void
test_rekey_traffic(void **state)
{
	(void)state;
	rekey_traffic(true, true);	/* client rekeys, client sends */
	rekey_traffic(false, true);	/* server rekeys, server sends */
	rekey_traffic(true, false);	/* client rekeys, server sends */
	rekey_traffic(false, false);	/* server rekeys, client sends */
}

/* In the initial key exchange channel messages stay a protocol error. */
static void
initial_kex_traffic(bool sender_client, uint8_t type)
{
	struct side cl, sv, *s, *r;

	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	s = sender_client ? &cl : &sv;
	r = sender_client ? &sv : &cl;
	switch (type) {
	case MSG_CHANNEL_WINDOW_ADJUST:
		raw_window_adjust(s->c, 0, 1);
		break;
	case MSG_CHANNEL_DATA:
		raw_data(s->c, 0, (const uint8_t *)"x", 1);
		break;
	default:
		raw_request(s->c, 0, "env", true);
		break;
	}
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(ssh_error(r->c));
	assert_int_equal(r->kex_done, 0);
	assert_int_equal(r->rcvd.len, 0);
	free_pair(&cl, &sv);
}

static void
test_initial_kex_traffic_fails(void **state)
{
	(void)state;
	initial_kex_traffic(true, MSG_CHANNEL_DATA);
	initial_kex_traffic(false, MSG_CHANNEL_DATA);
	initial_kex_traffic(true, MSG_CHANNEL_WINDOW_ADJUST);
	initial_kex_traffic(false, MSG_CHANNEL_WINDOW_ADJUST);
	initial_kex_traffic(true, MSG_CHANNEL_REQUEST);
	initial_kex_traffic(false, MSG_CHANNEL_REQUEST);
}

/*
 * 3. Strict KEX.
 */

static void
raw_generic(struct ssh_conn *c, uint8_t type)
{
	struct wb w;

	wb_init(&w);
	if (type == MSG_DEBUG) {
		wb_bool(&w, true);
		wb_cstring(&w, "hello");
		wb_cstring(&w, "");
	} else
		wb_cstring(&w, "padding");
	raw(c, type, w.p, w.len);
	wb_free(&w);
}

/* Both engines offer strict KEX: IGNORE/DEBUG after KEXINIT fails. */
static void
strict_generic(bool sender_client, uint8_t type)
{
	struct side cl, sv, *s, *r;

	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	s = sender_client ? &cl : &sv;
	r = sender_client ? &sv : &cl;
	raw_generic(s->c, type);	/* right behind s's KEXINIT */
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(ssh_error(r->c));
	assert_non_null(strstr(ssh_error(r->c), "strict KEX"));
	assert_int_not_equal(ssh_fail_kind(r->c), SSH_FAIL_PEER);
	assert_int_equal(r->debug, 0);
	free_pair(&cl, &sv);
}

static void
test_strict_kex_ignore_debug(void **state)
{
	(void)state;
	strict_generic(true, MSG_IGNORE);
	strict_generic(false, MSG_IGNORE);
	strict_generic(true, MSG_DEBUG);
	strict_generic(false, MSG_DEBUG);
}

/* A clear-text packet (before the first NEWKEYS). */
static void
clear_pkt(struct wb *w, const struct wb *payload)
{
	size_t padlen = 8 - ((payload->len + 5) % 8);
	uint8_t pad[16];

	if (padlen < 4)
		padlen += 8;
	memset(pad, 0, sizeof(pad));
	wb_u32(w, (uint32_t)(1 + payload->len + padlen));
	wb_u8(w, (uint8_t)padlen);
	wb_put(w, payload->p, payload->len);
	wb_put(w, pad, padlen);
}

/* What a peer of the other role sends first: its version line and a
 * KEXINIT, with or without the strict KEX marker, then IGNORE and DEBUG. */
static void
fake_peer(struct wb *w, bool peer_client, bool strict)
{
	struct wb pl;
	uint8_t cookie[16];
	char kex[128];

	wb_put(w, "SSH-2.0-OldSSH_1.0\r\n", 20);
	snprintf(kex, sizeof(kex), "curve25519-sha256%s", !strict ? "" :
	    peer_client ? ",kex-strict-c-v00@openssh.com" :
	    ",kex-strict-s-v00@openssh.com");
	memset(cookie, 0x5a, sizeof(cookie));
	wb_init(&pl);
	wb_u8(&pl, MSG_KEXINIT);
	wb_put(&pl, cookie, sizeof(cookie));
	wb_cstring(&pl, kex);
	wb_cstring(&pl, "ssh-ed25519");
	wb_cstring(&pl, "chacha20-poly1305@openssh.com");
	wb_cstring(&pl, "chacha20-poly1305@openssh.com");
	wb_cstring(&pl, "hmac-sha2-256");
	wb_cstring(&pl, "hmac-sha2-256");
	wb_cstring(&pl, "none");
	wb_cstring(&pl, "none");
	wb_cstring(&pl, "");
	wb_cstring(&pl, "");
	wb_bool(&pl, false);
	wb_u32(&pl, 0);
	clear_pkt(w, &pl);
	wb_reset(&pl);
	wb_u8(&pl, MSG_IGNORE);
	wb_cstring(&pl, "padding");
	clear_pkt(w, &pl);
	wb_reset(&pl);
	wb_u8(&pl, MSG_DEBUG);
	wb_bool(&pl, false);
	wb_cstring(&pl, "hello");
	wb_cstring(&pl, "");
	clear_pkt(w, &pl);
	wb_free(&pl);
	assert_int_equal(w->err, 0);
}

static void
nonstrict_peer(bool victim_client, bool strict)
{
	struct side v;
	struct wb w;
	int rc;

	memset(&v, 0, sizeof(v));
	mk(&v, victim_client ? SSH_ROLE_CLIENT : SSH_ROLE_SERVER, NULL);
	wb_init(&w);
	fake_peer(&w, !victim_client, strict);
	rc = ssh_feed(v.c, w.p, w.len);
	if (strict) {
		/* the control: the same peer offering strict KEX fails */
		assert_int_equal(rc, -1);
		assert_non_null(ssh_error(v.c));
		assert_non_null(strstr(ssh_error(v.c), "strict KEX"));
		assert_int_equal(v.debug, 0);
	} else {
		assert_int_equal(rc, 0);
		assert_null(ssh_error(v.c));
		assert_int_equal(v.debug, 1);
		if (victim_client) {
			/* and the KEX goes on: version, KEXINIT, ECDH_INIT */
			const uint8_t *p;
			size_t n;

			ssh_out_peek(v.c, &p, &n);
			assert_true(n > 0);
		}
	}
	wb_free(&w);
	ssh_conn_free(v.c);
	wb_free(&v.rcvd);
}

static void
test_nonstrict_ignore_accepted(void **state)
{
	(void)state;
	nonstrict_peer(true, false);
	nonstrict_peer(false, false);
	nonstrict_peer(true, true);
	nonstrict_peer(false, true);
}

/*
 * 4. DISCONNECT with a truncated body.
 */

static void
disconnect_body(bool sender_client, const void *body, size_t len,
    const char *want)
{
	struct side cl, sv, *s, *r;

	connect_pair(&cl, &sv, NULL);
	s = sender_client ? &cl : &sv;
	r = sender_client ? &sv : &cl;
	raw(s->c, MSG_DISCONNECT, body, len);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(ssh_error(r->c));
	assert_int_equal(ssh_fail_kind(r->c), SSH_FAIL_PEER);
	assert_string_equal(ssh_error(r->c), want);
	free_pair(&cl, &sv);
}

/* A client that asks for ssh-userauth again during authentication (as
 * paramiko does before each attempt) gets SERVICE_ACCEPT again, as from
 * sshd; our client, which never asks twice, refuses the second accept. */
static void
test_service_request_again(void **state)
{
	static const uint8_t body[] = "\0\0\0\x0cssh-userauth";
	struct side cl, sv;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ready, 1);
	raw(cl.c, MSG_SERVICE_REQUEST, body, sizeof(body) - 1);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_null(ssh_error(sv.c));
	assert_non_null(ssh_error(cl.c));
	assert_non_null(strstr(ssh_error(cl.c), "unexpected message type 6"));
	free_pair(&cl, &sv);
}

static void
test_disconnect_truncated(void **state)
{
	uint8_t b[400];
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		bool cl = i == 0;

		/* no body at all */
		disconnect_body(cl, NULL, 0, "disconnected by peer (code 0): "
		    "(unreadable reason)");
		/* half a reason code */
		disconnect_body(cl, "\0\0", 2, "disconnected by peer "
		    "(code 0): (unreadable reason)");
		/* a code and nothing else */
		put_u32(b, 11);
		disconnect_body(cl, b, 4, "disconnected by peer (code 11): "
		    "(unreadable reason)");
		/* a code and a reason cut short */
		put_u32(b + 4, 100);
		memcpy(b + 8, "bye", 3);
		disconnect_body(cl, b, 11, "disconnected by peer (code 11): "
		    "(unreadable reason)");
		/* a complete one, for comparison */
		put_u32(b + 4, 3);
		put_u32(b + 11, 0);
		disconnect_body(cl, b, 15, "disconnected by peer (code 11): "
		    "bye");
	}
}

/*
 * 5. The input buffer of an engine fed by a peer that holds back the last
 * byte of every write.
 */

#define BOUND_TOTAL	(64u * 1024 * 1024)
#define BOUND_PKT	4000
#define BOUND_PKTS	16
#define BOUND_CAP	(1024 * 1024)

static void
input_bound(bool victim_client, bool use_reserve)
{
	struct side cl, sv, *v, *p;
	static uint8_t body[BOUND_PKT], scratch[BOUND_PKTS * (BOUND_PKT + 128)];
	const uint8_t *out;
	size_t n, room, total = 0, maxcap = 0;
	uint8_t held = 0, *dst;
	bool have_held = false;
	int i;

	connect_pair(&cl, &sv, NULL);
	pair_sides(&cl, &sv, victim_client, &v, &p);
	memset(body, 'i', sizeof(body));
	put_u32(body, BOUND_PKT - 4);		/* IGNORE's string */
	while (total < BOUND_TOTAL) {
		for (i = 0; i < BOUND_PKTS; i++)
			raw(p->c, MSG_IGNORE, body, sizeof(body));
		ssh_out_peek(p->c, &out, &n);
		assert_true(n > 1 && n + 1 <= sizeof(scratch));
		/* this write: the byte held last time and all but the
		 * last byte of the new output */
		room = 0;
		if (have_held)
			scratch[room++] = held;
		memcpy(scratch + room, out, n - 1);
		room += n - 1;
		held = out[n - 1];
		have_held = true;
		ssh_out_consume(p->c, n);
		if (use_reserve) {
			size_t want = room;

			dst = ssh_in_reserve(v->c, &want);
			assert_non_null(dst);
			assert_true(want >= room);
			memcpy(dst, scratch, room);
			assert_int_equal(ssh_in_commit(v->c, room), 0);
		} else
			assert_int_equal(ssh_feed(v->c, scratch, room), 0);
		total += room;
		if (v->c->in.cap > maxcap)
			maxcap = v->c->in.cap;
		assert_true(v->c->in.cap < BOUND_CAP);
		/* a partial packet always remains */
		assert_true(v->c->in.len > v->c->in_off);
	}
	assert_true(maxcap < BOUND_CAP);
	/* the held byte completes the last packet; the connection is fine */
	assert_int_equal(ssh_feed(v->c, &held, 1), 0);
	assert_int_equal(v->c->in_off, v->c->in.len);
	assert_null(ssh_error(v->c));
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(ssh_global_request(v->c, "yes", true, NULL, 0,
	    (void *)5), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(v->nreplies, 1);
	assert_int_equal(v->replies[0], 5);
	free_pair(&cl, &sv);
}

static void
test_input_bound_reserve(void **state)
{
	(void)state;
	input_bound(true, true);
	input_bound(false, true);
}

static void
test_input_bound_feed(void **state)
{
	(void)state;
	input_bound(true, false);
	input_bound(false, false);
}

/*
 * 6. The output backlog counts what a key exchange holds back.
 */

static void
backlog_during_rekey(bool initiator_client)
{
	struct side cl, sv, *a, *b;
	uint32_t cid, sid, aid;
	uint8_t extra[1000];
	const uint8_t *p;
	size_t n, pend, back;

	connect_pair(&cl, &sv, NULL);
	cid = open_chan(&cl, &sv, &sid);
	a = initiator_client ? &cl : &sv;
	b = initiator_client ? &sv : &cl;
	aid = a == &cl ? cid : sid;
	memset(extra, 'x', sizeof(extra));
	assert_int_equal(ssh_out_backlog(a->c), 0);
	assert_int_equal(ssh_out_backlog(b->c), 0);

	assert_int_equal(ssh_rekey(a->c), 0);
	pend = ssh_out_pending(a->c);
	assert_true(pend > 0);			/* the KEXINIT */
	assert_int_equal(ssh_out_backlog(a->c), pend);
	/* held back by the KEX: not pending, but in the backlog */
	assert_int_equal(ssh_global_request(a->c, "quiet", false, extra,
	    sizeof(extra), NULL), 0);
	assert_int_equal(ssh_out_pending(a->c), pend);
	back = ssh_out_backlog(a->c);
	assert_true(back >= pend + sizeof(extra));
	assert_int_equal(ssh_chan_eof(a->c, aid), 0);
	assert_int_equal(ssh_out_pending(a->c), pend);
	assert_true(ssh_out_backlog(a->c) > back);

	/* B reads the KEXINIT; its own traffic is now held back too */
	ssh_out_peek(a->c, &p, &n);
	assert_int_equal(ssh_feed(b->c, p, n), 0);
	ssh_out_consume(a->c, n);
	assert_int_equal(ssh_out_pending(a->c), 0);
	assert_true(ssh_out_backlog(a->c) >= sizeof(extra));
	pend = ssh_out_pending(b->c);
	assert_int_equal(ssh_out_backlog(b->c), pend);
	assert_int_equal(ssh_global_request(b->c, "quiet", false, extra,
	    500, NULL), 0);
	assert_int_equal(ssh_out_pending(b->c), pend);
	assert_true(ssh_out_backlog(b->c) >= pend + 500);

	/* after the KEX everything went out */
	assert_int_equal(pump(&cl, &sv), 0);
	assert_null(ssh_error(cl.c));
	assert_null(ssh_error(sv.c));
	assert_int_equal(a->kex_done, 2);
	assert_int_equal(b->kex_done, 2);
	assert_int_equal(ssh_out_backlog(a->c), 0);
	assert_int_equal(ssh_out_backlog(b->c), 0);
	assert_int_equal(a->global_requests, 1);
	assert_int_equal(b->global_requests, 1);
	assert_int_equal(b->eof, 1);
	free_pair(&cl, &sv);
}

static void
test_backlog_during_rekey(void **state)
{
	(void)state;
	backlog_during_rekey(true);
	backlog_during_rekey(false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_messages_client),
		cmocka_unit_test(test_close_in_flight_client),
		cmocka_unit_test(test_close_in_flight_server),
		cmocka_unit_test(test_late_messages_server),
		cmocka_unit_test(test_unknown_channel_fails),
		cmocka_unit_test(test_no_quick_reuse_client),
		cmocka_unit_test(test_no_quick_reuse_server),
		cmocka_unit_test(test_rekey_traffic),
		cmocka_unit_test(test_initial_kex_traffic_fails),
		cmocka_unit_test(test_strict_kex_ignore_debug),
		cmocka_unit_test(test_nonstrict_ignore_accepted),
		cmocka_unit_test(test_disconnect_truncated),
		cmocka_unit_test(test_service_request_again),
		cmocka_unit_test(test_input_bound_reserve),
		cmocka_unit_test(test_input_bound_feed),
		cmocka_unit_test(test_backlog_during_rekey),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
