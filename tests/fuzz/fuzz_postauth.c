/* libFuzzer target: what happens after authentication. A client engine
 * and a server engine are connected in memory (KEX, publickey auth with a
 * key generated once), then the input is read as a sequence of operations
 * on either side: channel opens of several types, data (copying and
 * zero-copy), EOF, close, window updates, global and channel requests,
 * rekeys, answers to deferred opens, debug messages, disconnects and raw
 * packets of any type and body built with pkt_begin/pkt_end (optionally
 * past the sender's own KEX deferral). After each operation bytes are
 * pumped between the engines, whole or in pieces through
 * ssh_in_reserve/ssh_in_commit, or not at all so that operations pile
 * up (e.g. inside a key exchange). The event handlers answer by a per-side
 * policy the input sets, and may call back into the engine (echo data,
 * close on EOF, rekey) as ssh.h allows.
 *
 * Checked: no crash, leak or undefined behaviour; a failed feed leaves
 * ssh_error set and later feeds fail too; the backlog covers the pending
 * output; ssh_chan_count matches the channels the events account for;
 * and, as long as no raw packet was injected, channel data arrives intact
 * and in order. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "ssh/ssh.h"
#include "ssh/ssh_int.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NTRACK		64	/* channel ids whose streams are checked */
#define MAX_DEFER	8
#define ECHO_BUDGET	(64 * 1024)
#define PUMP_ROUNDS	64
#define RAW_MAX		2048

static struct key *hostkey, *userkey;
static bool trace;		/* POSTAUTH_TRACE=1: events to stderr */

/* Per-side policy bits, set by an operation. */
enum {
	P_OPEN_MASK	= 0x03,	/* 0/3 accept, 1 refuse, 2 defer */
	P_REQ_OK	= 0x04,	/* requests succeed */
	P_CONSUME	= 0x08,	/* give the window back */
	P_ECHO		= 0x10,	/* send data back from the data event */
	P_CLOSE_EOF	= 0x20,	/* close from the EOF event */
	P_CLOSE_REQ	= 0x40,	/* close from the channel request event */
	P_REKEY_EV	= 0x80,	/* rekey from the KEX_DONE / window event */
};

struct fside {
	struct ssh_conn	*c;
	const char	*name;
	uint8_t		 policy;
	bool		 dead;		/* a feed failed */
	long		 tracked;	/* channels the events account for */
	bool		 untracked;	/* raw packets: tracked is unreliable */
	uint32_t	 deferred[MAX_DEFER];
	size_t		 ndeferred;
	uint64_t	 tx_off[NTRACK];
	uint64_t	 rx_off[NTRACK];
	uint64_t	 unconsumed[NTRACK];	/* delivered, window not back */
	bool		 authed;
};

static struct fside sides[2];
static bool tainted;		/* raw packets: no stream check */
static bool clean;		/* no raw packet, no disconnect: nothing
				 * may fail between two ferry engines */
static size_t echo_left;
static int rekey_left;		/* rekeys started from KEX_DONE */

static uint8_t
pattern(uint32_t id, uint64_t off)
{
	return (uint8_t)(off * 7 + id * 13 + (off >> 8));
}

/* The engine says it failed: it must say why. */
static void
check_conn(struct fside *s)
{
	if (clean && ssh_error(s->c) != NULL) {
		if (trace)
			fprintf(stderr, "%s failed: %s\n", s->name,
			    ssh_error(s->c));
		abort();	/* two ferry engines fell out */
	}
	if (s->dead && ssh_error(s->c) == NULL)
		abort();
	if (ssh_out_backlog(s->c) < ssh_out_pending(s->c))
		abort();
	if (s->c->in_off > s->c->in.len || s->c->out_off > s->c->out.len)
		abort();
	if (s->c->building)
		abort();
	if (!s->dead && ssh_error(s->c) == NULL && !s->untracked &&
	    (long)ssh_chan_count(s->c) != s->tracked) {
		if (trace)
			fprintf(stderr, "%s: %zu channels, events say %ld\n",
			    s->name, ssh_chan_count(s->c), s->tracked);
		abort();
	}
}

static void
gen(uint8_t *p, uint32_t id, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = pattern(id, off + i);
}

/* Sends up to n bytes of ch's stream; returns how many went out. */
static size_t
send_stream(struct fside *s, uint32_t ch, size_t n, bool zero_copy)
{
	size_t k = ssh_chan_sendable(s->c, ch), want;
	uint8_t *slot;
	uint8_t buf[4096];

	if (ch >= NTRACK)
		return 0;
	if (k > n)
		k = n;
	if (k > sizeof(buf))
		k = sizeof(buf);
	if (k == 0)
		return 0;
	if (zero_copy) {
		want = k;
		if ((slot = ssh_chan_slot(s->c, ch, &want)) == NULL)
			abort();	/* sendable said yes */
		if (want == 0 || want > k)
			abort();
		gen(slot, ch, s->tx_off[ch], want);
		if (ssh_chan_commit(s->c, ch, want) != 0)
			abort();
		k = want;
	} else {
		gen(buf, ch, s->tx_off[ch], k);
		if (ssh_chan_send(s->c, ch, buf, k) != 0)
			abort();
	}
	s->tx_off[ch] += k;
	return k;
}

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct fside *s = ud;
	const struct chan *ch;
	uint32_t id = ev->chan;
	size_t i;

	if (trace)
		fprintf(stderr, "%s: event %d chan %u len %zu\n", s->name,
		    (int)ev->type, id, ev->type == SSH_EV_CHAN_DATA ?
		    ev->u.data.len : 0);
	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		ev->u.hostkey.accept = key_equal(ev->u.hostkey.key, hostkey);
		break;
	case SSH_EV_AUTH_REQUEST:
		ev->u.auth_request.allow = key_equal(ev->u.auth_request.key,
		    userkey);
		break;
	case SSH_EV_AUTH_SUCCESS:
		s->authed = true;
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		s->tracked++;
		if (id < NTRACK)
			s->tx_off[id] = s->rx_off[id] =
			    s->unconsumed[id] = 0;
		switch (s->policy & P_OPEN_MASK) {
		case 1:
			ev->u.open_request.accept = false;
			ev->u.open_request.reason = SSH_OPEN_CONNECT_FAILED;
			ev->u.open_request.message = "refused by policy";
			s->tracked--;
			break;
		case 2:
			if (s->ndeferred < MAX_DEFER) {
				ev->u.open_request.defer = true;
				s->deferred[s->ndeferred++] = id;
				break;
			}
			s->tracked--;	/* refused by default */
			break;
		default:
			ev->u.open_request.accept = true;
			break;
		}
		break;
	case SSH_EV_CHAN_OPEN_FAILED:
		s->tracked--;
		break;
	case SSH_EV_CHAN_CLOSED:
		s->tracked--;
		break;
	case SSH_EV_CHAN_DATA:
		if (!tainted && id < NTRACK && id < s->c->nchans) {
			uint32_t rid = s->c->chans[id].remote_id;

			for (i = 0; i < ev->u.data.len; i++)
				if (ev->u.data.p[i] !=
				    pattern(rid, s->rx_off[id] + i))
					abort();	/* data corrupted */
			s->rx_off[id] += ev->u.data.len;
		}
		if (s->policy & P_CONSUME)
			ssh_chan_consumed(s->c, id, ev->u.data.len);
		else if (id < NTRACK)
			s->unconsumed[id] += ev->u.data.len;
		if ((s->policy & P_ECHO) && echo_left > 0)
			echo_left -= send_stream(s, id, ev->u.data.len >
			    echo_left ? echo_left : ev->u.data.len, false);
		break;
	case SSH_EV_CHAN_EOF:
		if (s->policy & P_CLOSE_EOF)
			ssh_chan_close(s->c, id);
		break;
	case SSH_EV_CHAN_WINDOW:
		ch = id < s->c->nchans ? &s->c->chans[id] : NULL;
		if (ch == NULL || ch->state != CH_OPEN)
			abort();	/* a window event for a dead channel */
		if ((s->policy & P_ECHO) && echo_left > 0)
			echo_left -= send_stream(s, id, echo_left > 1024 ?
			    1024 : echo_left, true);
		break;
	case SSH_EV_GLOBAL_REQUEST:
		ev->u.request.success = (s->policy & P_REQ_OK) != 0;
		wb_u32(ev->u.request.reply, 4242);
		break;
	case SSH_EV_CHAN_REQUEST:
		ev->u.request.success = (s->policy & P_REQ_OK) != 0;
		if (s->policy & P_CLOSE_REQ)
			ssh_chan_close(s->c, id);
		break;
	case SSH_EV_KEX_DONE:
		if ((s->policy & P_REKEY_EV) && rekey_left > 0) {
			rekey_left--;
			ssh_rekey(s->c);
		}
		break;
	default:
		break;
	}
}

/* The input, read a byte at a time; zeros once it runs out. */
struct in {
	const uint8_t	*p;
	size_t		 n;
	size_t		 off;
};

static uint8_t
u8(struct in *r)
{
	return r->off < r->n ? r->p[r->off++] : 0;
}

static uint16_t
u16(struct in *r)
{
	uint16_t hi = u8(r);

	return (uint16_t)(hi << 8 | u8(r));
}

static void
feed_to(struct fside *dst, const uint8_t *p, size_t n, size_t chunk)
{
	uint8_t *buf;
	size_t k, room;
	int rc = 0;

	if (dst->dead) {
		if (ssh_feed(dst->c, p, n) != -1)
			abort();	/* a failed engine stays failed */
		return;
	}
	if (chunk == 0) {
		rc = ssh_feed(dst->c, p, n);
	} else {
		while (n > 0 && rc == 0) {
			k = n < chunk ? n : chunk;
			room = k;
			if ((buf = ssh_in_reserve(dst->c, &room)) == NULL ||
			    room < k)
				abort();
			memcpy(buf, p, k);
			rc = ssh_in_commit(dst->c, k);
			p += k;
			n -= k;
		}
	}
	if (rc != 0) {
		dst->dead = true;
		if (ssh_error(dst->c) == NULL)
			abort();
	} else if (ssh_error(dst->c) != NULL) {
		/* failed from inside (an API call): input must say so */
		if (ssh_in_commit(dst->c, 0) == 0)
			abort();
		dst->dead = true;
	}
	check_conn(dst);
}

/* Moves bytes both ways until quiet (or a round limit: handlers may
 * answer each other). chunk 0: ssh_feed; else reserve/commit pieces. */
static void
pump(size_t chunk)
{
	const uint8_t *p;
	size_t n;
	int round, i;
	bool moved = true;

	for (round = 0; moved && round < PUMP_ROUNDS; round++) {
		moved = false;
		for (i = 0; i < 2; i++) {
			ssh_out_peek(sides[i].c, &p, &n);
			if (n == 0)
				continue;
			moved = true;
			feed_to(&sides[1 - i], p, n, chunk);
			ssh_out_consume(sides[i].c, n);
		}
	}
}

static void
new_side(struct fside *s, enum ssh_role role, const char *cipher,
    uint32_t window, uint64_t rekey)
{
	struct ssh_config cfg;

	memset(s, 0, sizeof(*s));
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.ciphers = cipher;
	cfg.window = window;
	cfg.rekey_bytes = rekey;
	cfg.event = on_event;
	cfg.event_ud = s;
	cfg.hostkeys = &hostkey;
	cfg.nhostkeys = 1;
	s->name = role == SSH_ROLE_CLIENT ? "client" : "server";
	s->policy = P_CONSUME | P_REQ_OK;
	if ((s->c = ssh_conn_new(&cfg)) == NULL)
		abort();
}

/* A raw packet on s, past its KEX deferral when asked (never when that
 * could make pkt_end start a key exchange of its own). */
static void
raw_packet(struct fside *s, uint8_t type, const uint8_t *body, size_t len,
    bool bypass)
{
	struct kex *k = s->c->kex;

	bypass = bypass && k != NULL &&
	    s->c->tx.bytes + 4 * RAW_MAX < s->c->rekey_bytes;
	if (bypass)
		s->c->kex = NULL;
	if (pkt_begin(s->c, type) == 0) {
		wb_put(&s->c->out, body, len);
		pkt_end(s->c);
	}
	if (bypass) {
		if (s->c->kex != NULL)
			abort();
		s->c->kex = k;
	}
}

static const char *const chan_types[] = {
	"session", "direct-tcpip", "forwarded-tcpip", "x11",
	"direct-streamlocal@openssh.com", "auth-agent@openssh.com", "",
	"unknown-type",
};

static const char *const req_names[] = {
	"tcpip-forward", "cancel-tcpip-forward", "keepalive@openssh.com",
	"no-more-sessions@openssh.com", "exec", "env", "exit-status",
	"pty-req",
};

static void
op_open(struct fside *s, struct in *r)
{
	const char *type = chan_types[u8(r) % 8];
	uint8_t extra[256];
	size_t n = u8(r);
	struct wb w;
	int id;

	wb_init(&w);
	if (strcmp(type, "direct-tcpip") == 0 && (n & 1))
		ssh_direct_tcpip_extra(&w, "localhost", 80, "127.0.0.1",
		    5555);
	else {
		for (size_t i = 0; i < n; i++)
			extra[i] = u8(r);
		wb_put(&w, extra, n);
	}
	id = ssh_chan_open(s->c, type, w.p, w.len, NULL);
	if (id >= 0) {
		s->tracked++;
		if (id < NTRACK)
			s->tx_off[id] = s->rx_off[id] =
			    s->unconsumed[id] = 0;
	}
	wb_free(&w);
}

static void
op_chanreq(struct fside *s, uint32_t id, struct in *r)
{
	const struct chan *ch;
	uint8_t b = u8(r);

	if (id >= s->c->nchans || s->c->state != ST_OPEN)
		return;
	ch = &s->c->chans[id];
	if (ch->state != CH_OPEN || ch->close_sent)
		return;		/* no remote id to address */
	if (pkt_begin(s->c, MSG_CHANNEL_REQUEST) != 0)
		return;
	wb_u32(&s->c->out, ch->remote_id);
	wb_cstring(&s->c->out, req_names[b % 8]);
	wb_bool(&s->c->out, (b & 8) != 0);
	wb_u32(&s->c->out, u8(r));
	pkt_end(s->c);
}

static void
op_global(struct fside *s, struct in *r)
{
	uint8_t b = u8(r), extra[64];
	size_t n = u8(r) % sizeof(extra), i;

	for (i = 0; i < n; i++)
		extra[i] = u8(r);
	ssh_global_request(s->c, (b & 16) ? "yes" : req_names[b % 8],
	    (b & 8) != 0, extra, n, (void *)(uintptr_t)b);
}

static void
op_answer(struct fside *s, struct in *r)
{
	uint8_t b = u8(r);
	size_t i;
	uint32_t id;

	if (s->ndeferred == 0)
		return;
	i = b % s->ndeferred;
	id = s->deferred[i];
	s->deferred[i] = s->deferred[--s->ndeferred];
	if (b & 0x80) {
		if (ssh_chan_refuse(s->c, id, SSH_OPEN_CONNECT_FAILED,
		    "later") == 0)
			s->tracked--;
	} else
		ssh_chan_accept(s->c, id, NULL);
}

/* Gives back the window for data actually delivered (claiming more
 * would be the caller's bug, and the peer rightly fails on an overflow). */
static void
op_consumed(struct fside *s, uint32_t id, size_t n)
{
	if (id >= NTRACK)
		return;
	if (n > s->unconsumed[id])
		n = (size_t)s->unconsumed[id];
	s->unconsumed[id] -= n;
	ssh_chan_consumed(s->c, id, n);
}

/* Closing a deferred open refuses it. */
static void
op_close(struct fside *s, uint32_t id)
{
	bool pending = id < s->c->nchans &&
	    s->c->chans[id].state == CH_PENDING;
	size_t i;

	if (ssh_chan_close(s->c, id) != 0 || !pending)
		return;
	s->tracked--;
	for (i = 0; i < s->ndeferred; i++)
		if (s->deferred[i] == id) {
			s->deferred[i] = s->deferred[--s->ndeferred];
			break;
		}
}

static void
op_raw(struct fside *s, struct in *r)
{
	uint8_t type = u8(r), flags = u8(r), body[RAW_MAX];
	size_t n = u16(r) % RAW_MAX, i;

	for (i = 0; i < n; i++)
		body[i] = u8(r);
	/* Some raw messages make a channel appear or vanish outside the
	 * events the count follows: stop checking it for this input. */
	tainted = true;
	clean = false;
	if (type == MSG_CHANNEL_OPEN || type == MSG_CHANNEL_OPEN_FAILURE ||
	    type == MSG_CHANNEL_OPEN_CONFIRMATION ||
	    type == MSG_CHANNEL_CLOSE)
		sides[0].untracked = sides[1].untracked = true;
	raw_packet(s, type, body, n, (flags & 1) != 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	trace = getenv("POSTAUTH_TRACE") != NULL;
	if (key_generate(KEY_ED25519, &hostkey) != 0 ||
	    key_generate(KEY_ED25519, &userkey) != 0)
		abort();
	return 0;
}

static const char *const ciphers[] = {
	"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com",
	"aes256-ctr", NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in r = { data, size, 0 };
	uint8_t cfgb = u8(&r), op, b;
	static const uint32_t windows[] = { 0, 256, 4096, 65536 };
	struct fside *s;
	uint32_t id;
	size_t chunk, steps = 0;
	int i;

	tainted = false;
	clean = true;
	echo_left = ECHO_BUDGET;
	rekey_left = 4;
	new_side(&sides[0], SSH_ROLE_CLIENT, ciphers[cfgb & 3],
	    windows[(cfgb >> 2) & 3], (cfgb & 0x10) ? 32 * 1024 : 0);
	new_side(&sides[1], SSH_ROLE_SERVER, ciphers[cfgb & 3],
	    windows[(cfgb >> 5) & 3], (cfgb & 0x80) ? 48 * 1024 : 0);
	pump(0);
	if (sides[0].dead || sides[1].dead ||
	    ssh_auth_pubkey(sides[0].c, "alice", userkey) != 0)
		abort();
	pump(0);
	if (!sides[0].authed || !ssh_authenticated(sides[0].c) ||
	    ssh_auth_user(sides[1].c) == NULL)
		abort();	/* the harness itself is broken */

	while (r.off < r.n && steps++ < 512) {
		op = u8(&r);
		s = &sides[op & 1];
		b = u8(&r);
		id = b % 24;
		if (trace)
			fprintf(stderr, "op %d on %s, byte %u\n",
			    (op >> 1) % 16, s->name, b);
		switch ((op >> 1) % 16) {
		case 0:
			op_open(s, &r);
			break;
		case 1:
			send_stream(s, id, u16(&r), false);
			break;
		case 2:
			send_stream(s, id, u16(&r), true);
			break;
		case 3:
			ssh_chan_eof(s->c, id);
			break;
		case 4:
			op_close(s, id);
			break;
		case 5:
			op_consumed(s, id, u16(&r));
			break;
		case 6:
			op_global(s, &r);
			break;
		case 7:
			op_chanreq(s, id, &r);
			break;
		case 8:
			ssh_rekey(s->c);
			break;
		case 9:
			op_answer(s, &r);
			break;
		case 10:
			s->policy = b;
			break;
		case 11:
			ssh_send_debug(s->c, (b & 2) != 0, (b & 1) ? "debug text" : "");
			break;
		case 12:
			op_raw(s, &r);
			break;
		case 13:
			if (b == 0xd1) {	/* rarely: the connection ends */
				clean = false;
				ssh_disconnect(s->c, b & 15, "fuzz says bye");
			}
			break;
		default:
			/* no pump this step: operations pile up */
			continue;
		}
		for (i = 0; i < 2; i++)
			check_conn(&sides[i]);
		if (op & 0x40)
			continue;	/* pile up: no pump after this one */
		chunk = (op & 0x20) ? 0 : 1 + (size_t)u8(&r) * 37;
		pump(chunk);
	}
	pump(0);
	if (trace)
		fprintf(stderr, "end: client %s (late %llu), server %s "
		    "(late %llu)\n",
		    ssh_error(sides[0].c) ? ssh_error(sides[0].c) : "ok",
		    (unsigned long long)ssh_late_msgs(sides[0].c),
		    ssh_error(sides[1].c) ? ssh_error(sides[1].c) : "ok",
		    (unsigned long long)ssh_late_msgs(sides[1].c));
	for (i = 0; i < 2; i++) {
		check_conn(&sides[i]);
		ssh_conn_free(sides[i].c);
	}
	return 0;
}
