/* The transport layer (RFC 4253): identification lines, the binary packet
 * protocol with its limits, sequence numbers, the per-state message filter
 * and dispatch to kex, auth and channel handling. */
#include "ssh_int.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_STRING		"SSH-2.0-ferry_0.1"
#define MAX_VERSION_LINES	1024
#define MAX_LINE		8192
/* Everything a peer may send before authentication completes. */
#define MAX_PRE_AUTH_BYTES	(1024 * 1024)
/* Input held while a deferred host key verdict is awaited. */
#define HOSTKEY_WAIT_INPUT_MAX	(64 * 1024)
/* Default rekey volume: well inside the AES-GCM and ChaCha20 limits. */
#define DEFAULT_REKEY_BYTES	(1ULL << 30)
/* Rekey long before a sequence number could wrap. */
#define REKEY_PACKETS		(1ULL << 31)

struct ssh_conn *
ssh_conn_new(const struct ssh_config *cfg)
{
	struct ssh_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cfg = *cfg;
	c->state = ST_VERSION;
	wb_init(&c->in);
	wb_init(&c->out);
	wb_init(&c->deferred);
	wb_init(&c->zbuf);
	ssh_zstore_init(&c->zstore);
	c->rekey_bytes = cfg->rekey_bytes ? cfg->rekey_bytes :
	    DEFAULT_REKEY_BYTES;
	if (RAND_bytes(c->pad_pool, sizeof(c->pad_pool)) != 1)
		goto fail;
	snprintf(c->v_ours, sizeof(c->v_ours), "%s", VERSION_STRING);
	if (wb_put(&c->out, c->v_ours, strlen(c->v_ours)) != 0 ||
	    wb_put(&c->out, "\r\n", 2) != 0)
		goto fail;
	if (cfg->wake != NULL)
		cfg->wake(cfg->event_ud);
	if (kex_start(c) != 0)
		goto fail;
	return c;
fail:
	ssh_conn_free(c);
	return NULL;
}

void
ssh_conn_free(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	chan_free_all(c);
	kex_free(c->kex);
	ssh_pcipher_free(c->tx.pc);
	ssh_pcipher_free(c->rx.pc);
	ssh_zstream_free(c->tx.z);
	ssh_zstream_free(c->rx.z);
	ssh_zstore_free(&c->zstore);
	wb_free(&c->zbuf);
	wb_free(&c->in);
	wb_free(&c->out);
	wb_free(&c->deferred);
	wb_free(&c->hostkey_blob);
	auth_wait_free(c);
	free(c->greqs);
	free(c->server_sig_algs);
	free(c->error);
	OPENSSL_cleanse(c->session_id, sizeof(c->session_id));
	free(c);
}

/* Records the first failure, queues a DISCONNECT when keys allow, and
 * turns the engine dead. Always returns -1. */
int
conn_fail(struct ssh_conn *c, uint32_t code, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	if (c->state == ST_DEAD)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(c->error);
	c->error = strdup(msg);
	if (c->fail == SSH_FAIL_NONE)
		c->fail = SSH_FAIL_PROTOCOL;
	if (code != 0 && c->state != ST_VERSION) {
		if (c->building) {	/* drop a half-built packet */
			c->out.len = c->pkt_start;
			c->building = false;
		}
		if (pkt_begin(c, MSG_DISCONNECT) == 0) {
			wb_u32(&c->out, code);
			wb_cstring(&c->out, msg);
			wb_cstring(&c->out, "");
			pkt_end(c);
		}
	}
	c->state = ST_DEAD;
	return -1;
}

void
conn_emit(struct ssh_conn *c, struct ssh_event *ev)
{
	c->cfg.event(c->cfg.event_ud, ev);
}

const char *
ssh_error(const struct ssh_conn *c)
{
	return c->error;
}

enum ssh_fail
ssh_fail_kind(const struct ssh_conn *c)
{
	return c->fail;
}

void
ssh_disconnect(struct ssh_conn *c, enum ssh_disc code, const char *msg)
{
	if (c->state != ST_DEAD)
		c->fail = SSH_FAIL_LOCAL;
	conn_fail(c, code ? code : DISC_BY_APPLICATION, "%s", msg);
}

const char *
ssh_cipher_name(const struct ssh_conn *c, bool outgoing)
{
	return outgoing ? c->tx.cipher : c->rx.cipher;
}

const char *
ssh_peer_version(const struct ssh_conn *c)
{
	return c->v_peer;
}

bool
ssh_authenticated(const struct ssh_conn *c)
{
	return c->authenticated;
}

const char *
ssh_auth_user(const struct ssh_conn *c)
{
	return c->authenticated ? c->auth_user : NULL;
}

int
ssh_send_debug(struct ssh_conn *c, bool display, const char *text)
{
	if (c->state == ST_DEAD || pkt_begin(c, MSG_DEBUG) != 0)
		return -1;
	wb_bool(&c->out, display);
	wb_cstring(&c->out, text);
	wb_cstring(&c->out, "");
	return pkt_end(c);
}

/* Transport messages may be sent during a KEX; the rest wait. */
static bool
is_kex_safe(uint8_t type)
{
	return (type >= MSG_DISCONNECT && type <= MSG_DEBUG) ||
	    (type >= MSG_KEXINIT && type <= 49);
}

static bool
tx_blocked(const struct ssh_conn *c)
{
	return c->kex != NULL && !kex_tx_open(c->kex);
}

bool
ssh_can_send(const struct ssh_conn *c)
{
	return c->state == ST_OPEN && !tx_blocked(c);
}

int
pkt_begin(struct ssh_conn *c, uint8_t type)
{
	uint8_t *p;

	if (c->building)
		abort();	/* a packet inside a packet: engine bug */
	if (c->state == ST_DEAD)
		return -1;	/* only the DISCONNECT may follow a failure */
	if ((p = wb_reserve(&c->out, 6)) == NULL)
		return -1;
	c->pkt_start = c->out.len;
	p[5] = type;
	c->out.len += 6;
	c->building = true;
	return 0;
}

/* Compresses, pads, seals and counts the packet started by pkt_begin. */
static int
pkt_seal(struct ssh_conn *c)
{
	struct ssh_pcipher *pc = c->tx.pc;
	size_t block = pc ? ssh_pcipher_block(pc) : 8;
	size_t aad = pc ? ssh_pcipher_aad_len(pc) : 0;
	size_t tag = pc ? ssh_pcipher_tag_len(pc) : 0;
	size_t n, padlen;
	uint8_t *p;

	if (c->tx.z != NULL && comp_seal(c) != 0)
		return -1;
	n = c->out.len - c->pkt_start;
	padlen = block - ((n - aad) % block);
	if (padlen < 4)
		padlen += block;
	if (wb_reserve(&c->out, padlen + tag) == NULL)
		return -1;
	p = c->out.p + c->pkt_start;
	memcpy(p + n, c->pad_pool + (c->tx.seq & 0x7f), padlen);
	put_u32(p, (uint32_t)(n - 4 + padlen));
	p[4] = (uint8_t)padlen;
	n += padlen;
	if (pc != NULL && ssh_pcipher_seal(pc, c->tx.seq, p, n) != 0)
		return -1;
	c->out.len += padlen + tag;
	c->tx.seq++;
	c->tx.packets++;
	c->tx.bytes += n + tag;
	if (c->cfg.wake != NULL)
		c->cfg.wake(c->cfg.event_ud);
	return 0;
}

int
pkt_end(struct ssh_conn *c)
{
	uint8_t type;
	size_t plen;

	if (!c->building)
		abort();
	c->building = false;
	if (c->out.err)
		return -1;
	type = c->out.p[c->pkt_start + 5];
	if (tx_blocked(c) && !is_kex_safe(type)) {
		/* After our KEXINIT only KEX messages may go out. */
		plen = c->out.len - c->pkt_start - 5;
		c->out.len = c->pkt_start;
		return wb_string(&c->deferred, c->out.p + c->pkt_start + 5,
		    plen);
	}
	if (pkt_seal(c) != 0)
		return -1;
	/* zlib@openssh.com: what follows the server's USERAUTH_SUCCESS is
	 * compressed, both ways (the client sends nothing in between). */
	if (type == MSG_USERAUTH_SUCCESS && c->cfg.role == SSH_ROLE_SERVER &&
	    comp_authed(c) != 0)
		return -1;
	if (c->kex == NULL && c->first_kex_done &&
	    (c->tx.bytes > c->rekey_bytes || c->tx.packets > REKEY_PACKETS))
		return kex_start(c);
	return 0;
}

/* Sends what was deferred during a KEX, now under the new keys. */
int
transport_flush_deferred(struct ssh_conn *c)
{
	struct rd r;
	const uint8_t *p;
	size_t n;
	struct wb q = c->deferred;

	wb_init(&c->deferred);
	rd_init(&r, q.p, q.len);
	while (rd_left(&r) > 0 && rd_string(&r, &p, &n) == 0) {
		if (pkt_begin(c, p[0]) != 0 ||
		    wb_put(&c->out, p + 1, n - 1) != 0 || pkt_end(c) != 0) {
			wb_free(&q);
			return -1;
		}
	}
	wb_free(&q);
	return 0;
}

size_t
ssh_out_pending(const struct ssh_conn *c)
{
	return c->out.len - c->out_off;
}

size_t
ssh_out_backlog(const struct ssh_conn *c)
{
	return ssh_out_pending(c) + c->deferred.len;
}

void
ssh_out_peek(const struct ssh_conn *c, const uint8_t **p, size_t *len)
{
	*p = c->out.p + c->out_off;
	*len = c->out.len - c->out_off;
}

void
ssh_out_consume(struct ssh_conn *c, size_t n)
{
	c->out_off += n;
	if (c->out_off == c->out.len)
		c->out_off = c->out.len = 0;
}

void
ssh_out_take(struct ssh_conn *c, struct wb *dst, size_t *off)
{
	struct wb spare = *dst;

	*dst = c->out;
	*off = c->out_off;
	c->out = spare;
	c->out.len = 0;
	c->out.err = 0;
	c->out_off = 0;
}

/* Parses identification lines; returns 1 when the peer's version is
 * known, 0 when more input is needed, -1 on failure. */
static int
version_input(struct ssh_conn *c)
{
	const uint8_t *p, *nl;
	size_t avail, n;

	for (;;) {
		p = c->in.p + c->in_off;
		avail = c->in.len - c->in_off;
		if ((nl = memchr(p, '\n', avail)) == NULL) {
			if (avail > MAX_LINE)
				return conn_fail(c, 0, "identification "
				    "line too long");
			return 0;
		}
		n = (size_t)(nl - p);
		c->in_off += n + 1;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= 4 && memcmp(p, "SSH-", 4) == 0)
			break;
		/* Only a server may send other lines first (RFC 4253 4.2). */
		if (c->cfg.role == SSH_ROLE_SERVER ||
		    ++c->version_lines > MAX_VERSION_LINES)
			return conn_fail(c, 0, "peer sent no SSH "
			    "identification string");
	}
	if (n >= sizeof(c->v_peer) || memchr(p, '\0', n) != NULL)
		return conn_fail(c, 0, "malformed identification string");
	memcpy(c->v_peer, p, n);
	c->v_peer[n] = '\0';
	if (strncmp(c->v_peer, "SSH-2.0-", 8) != 0 &&
	    strncmp(c->v_peer, "SSH-1.99-", 9) != 0)
		return conn_fail(c, 0, "unsupported protocol version: %s",
		    c->v_peer);
	c->state = ST_KEX;
	return 1;
}

/* Which message numbers the peer may send in the current state: nothing
 * of the connection protocol before authentication (CVE-2018-10933), and
 * only the messages of the peer's role. */
static bool
msg_allowed(const struct ssh_conn *c, uint8_t t)
{
	bool generic = t >= MSG_DISCONNECT && t <= MSG_DEBUG;
	bool kex = t >= MSG_KEXINIT && t <= 49;
	bool server = c->cfg.role == SSH_ROLE_SERVER;

	/* Strict KEX: nothing but KEX messages in the initial exchange (a
	 * DISCONNECT ends it anyway, and its reason is worth showing). */
	if (c->state == ST_KEX)
		return kex || t == MSG_DISCONNECT || (generic && !c->kex_strict);
	/* During a rekey the peer should send only KEX messages after its
	 * KEXINIT (RFC 4253 §7.1), but some stacks keep sending channel
	 * traffic; like OpenSSH we process it once authenticated. */
	if (c->kex != NULL && kex_rx_closed(c->kex) && c->state != ST_OPEN)
		return generic || kex;
	switch (c->state) {
	case ST_SERVICE:
		return generic || kex || (server ? t == MSG_SERVICE_REQUEST :
		    (t == MSG_SERVICE_ACCEPT || t == MSG_EXT_INFO));
	case ST_AUTH:
		/* a client may ask for ssh-userauth again before each
		 * attempt (paramiko does); sshd answers it */
		if (server)
			return generic || kex || t == MSG_USERAUTH_REQUEST ||
			    t == MSG_SERVICE_REQUEST;
		return generic || kex || t == MSG_EXT_INFO ||
		    (t >= MSG_USERAUTH_FAILURE && t <= 79 &&
		    t != MSG_USERAUTH_REQUEST);
	case ST_OPEN:
		/* RFC 4252 §5.1: later auth requests are ignored. */
		return generic || kex || t >= 80 || (server ?
		    t == MSG_USERAUTH_REQUEST : t == MSG_EXT_INFO);
	default:
		return false;
	}
}

static int
ext_info_input(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	struct rd r;
	uint32_t n, i;
	const uint8_t *name, *val;
	size_t nlen, vlen;

	rd_init(&r, p, len);
	if (rd_u32(&r, &n) != 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "bad EXT_INFO");
	for (i = 0; i < n; i++) {
		if (rd_string(&r, &name, &nlen) != 0 ||
		    rd_string(&r, &val, &vlen) != 0)
			return conn_fail(c, DISC_PROTOCOL_ERROR,
			    "bad EXT_INFO");
		if (nlen == 15 && memcmp(name, "server-sig-algs", 15) == 0) {
			free(c->server_sig_algs);
			if ((c->server_sig_algs = strndup((const char *)val,
			    vlen)) == NULL)
				return conn_fail(c, 0, "out of memory");
		}
	}
	return 0;
}

static int
generic_input(struct ssh_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct ssh_event ev;
	struct rd r;
	uint32_t code = 0;
	char msg[256];
	bool display;

	rd_init(&r, p, len);
	switch (type) {
	case MSG_DISCONNECT:
		if (rd_u32(&r, &code) != 0 ||
		    rd_cstring(&r, msg, sizeof(msg)) != 0)
			snprintf(msg, sizeof(msg), "(unreadable reason)");
		c->fail = SSH_FAIL_PEER;
		free(c->error);
		c->error = NULL;
		{
			char full[320];

			snprintf(full, sizeof(full), "disconnected by peer "
			    "(code %u): %s", code, msg);
			c->error = strdup(full);
		}
		c->state = ST_DEAD;
		return -1;
	case MSG_DEBUG:
		if (rd_bool(&r, &display) == 0 &&
		    rd_cstring(&r, msg, sizeof(msg)) == 0) {
			memset(&ev, 0, sizeof(ev));
			ev.type = SSH_EV_DEBUG;
			ev.u.text.text = msg;
			ev.u.text.display = display;
			conn_emit(c, &ev);
		}
		return 0;
	default:	/* IGNORE, UNIMPLEMENTED */
		return 0;
	}
}

static int
service_request_input(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	struct rd r;

	rd_init(&r, p, len);
	if (rd_string_eq(&r, "ssh-userauth") != 0)
		return conn_fail(c, DISC_SERVICE_NOT_AVAILABLE,
		    "service not available");
	if (pkt_begin(c, MSG_SERVICE_ACCEPT) != 0)
		return -1;
	wb_cstring(&c->out, "ssh-userauth");
	c->state = ST_AUTH;
	return pkt_end(c);
}

static int
service_input(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	struct rd r;
	struct ssh_event ev;

	rd_init(&r, p, len);
	if (c->cfg.role != SSH_ROLE_CLIENT ||
	    rd_string_eq(&r, "ssh-userauth") != 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "unexpected SERVICE_ACCEPT");
	c->state = ST_AUTH;
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_AUTH_READY;
	conn_emit(c, &ev);
	return 0;
}

static int
unimplemented(struct ssh_conn *c, uint32_t seq)
{
	if (pkt_begin(c, MSG_UNIMPLEMENTED) != 0)
		return -1;
	wb_u32(&c->out, seq);
	return pkt_end(c);
}

static int
dispatch(struct ssh_conn *c, uint32_t seq, const uint8_t *payload,
    size_t len)
{
	uint8_t t = payload[0];
	const uint8_t *p = payload + 1;
	size_t n = len - 1;

	if (!msg_allowed(c, t)) {
		if (c->state == ST_OPEN && (t < 50 || t > 79) &&
		    (c->kex == NULL || !kex_rx_closed(c->kex)))
			return unimplemented(c, seq);
		if (c->state == ST_KEX && c->kex_strict)
			return conn_fail(c, DISC_PROTOCOL_ERROR, "strict KEX "
			    "violation: unexpected message type %u during the "
			    "initial key exchange", t);
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "unexpected message type %u", t);
	}
	if (t <= MSG_DEBUG)
		return generic_input(c, t, p, n);
	if (t == MSG_SERVICE_ACCEPT)
		return service_input(c, p, n);
	if (t == MSG_SERVICE_REQUEST)
		return service_request_input(c, p, n);
	if (t == MSG_EXT_INFO)
		return ext_info_input(c, p, n);
	if (t >= MSG_KEXINIT && t <= 49)
		return kex_input(c, t, p, n);
	if (t >= MSG_USERAUTH_REQUEST && t <= 79)
		return auth_input(c, t, p, n);
	if (t >= MSG_GLOBAL_REQUEST && t <= MSG_REQUEST_FAILURE)
		return global_input(c, t, p, n);
	if (t >= MSG_CHANNEL_OPEN && t <= MSG_CHANNEL_FAILURE)
		return chan_input(c, t, p, n);
	return unimplemented(c, seq);
}

/* Reads, checks and decrypts one packet; returns 1 when one was
 * dispatched, 0 when more input is needed, -1 on failure. */
static int
packet_input(struct ssh_conn *c)
{
	struct ssh_pcipher *pc = c->rx.pc;
	size_t avail = c->in.len - c->in_off;
	size_t lb = pc ? ssh_pcipher_len_block(pc) : 4;
	size_t block = pc ? ssh_pcipher_block(pc) : 8;
	size_t aad = pc ? ssh_pcipher_aad_len(pc) : 0;
	size_t tag = pc ? ssh_pcipher_tag_len(pc) : 0;
	uint8_t *p = c->in.p + c->in_off;
	uint32_t len, seq;
	size_t need, padlen, plen;
	const uint8_t *payload;
	bool inflated = false;

	if (c->in_pktlen == 0) {
		if (avail < lb)
			return 0;
		if (pc != NULL) {
			if (ssh_pcipher_peek_len(pc, c->rx.seq, p, &len) != 0)
				return conn_fail(c, DISC_PROTOCOL_ERROR,
				    "cannot decrypt packet length");
		} else
			len = get_u32(p);
		if (len < 5 || len > SSH_MAX_PACKET ||
		    (len + 4 - aad) % block != 0)
			return conn_fail(c, DISC_PROTOCOL_ERROR,
			    "bad packet length %u", len);
		c->in_pktlen = len;
	}
	len = c->in_pktlen;
	need = 4 + (size_t)len + tag;
	if (avail < need)
		return 0;
	if (pc != NULL && ssh_pcipher_open(pc, c->rx.seq, p, 4 + len) != 0)
		return conn_fail(c, DISC_MAC_ERROR, "corrupted MAC on input");
	padlen = p[4];
	if (padlen < 4 || padlen + 1 >= len)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "bad padding length");
	seq = c->rx.seq++;
	c->rx.packets++;
	c->rx.bytes += need;
	c->in_off += need;
	c->in_pktlen = 0;
	if (!c->authenticated) {
		c->in_pre_auth += need;
		if (c->in_pre_auth > MAX_PRE_AUTH_BYTES)
			return conn_fail(c, DISC_PROTOCOL_ERROR,
			    "too much data before authentication");
	}
	payload = p + 5;
	plen = len - padlen - 1;
	if (c->rx.z != NULL) {
		if (comp_open(c, &payload, &plen) != 0)
			return -1;
		inflated = true;
	}
	if (dispatch(c, seq, payload, plen) != 0)
		return -1;
	/* Only channel data is referred to after its event (ssh.h). */
	if (inflated && payload[0] != MSG_CHANNEL_DATA &&
	    payload[0] != MSG_CHANNEL_EXTENDED_DATA)
		ssh_zstore_unkeep(&c->zstore, plen);
	if (c->kex == NULL && c->first_kex_done && c->state != ST_DEAD &&
	    (c->rx.bytes > c->rekey_bytes || c->rx.packets > REKEY_PACKETS))
		return kex_start(c) == 0 ? 1 : -1;
	return 1;
}

static int
process(struct ssh_conn *c)
{
	int r;

	for (;;) {
		if (c->state == ST_DEAD)
			return -1;
		if (c->hostkey_wait || c->auth_wait != NULL ||
		    c->greq_wait)
			break;
		if (c->state == ST_VERSION)
			r = version_input(c);
		else
			r = packet_input(c);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	/* Processed bytes stay where they are until the next input, so the
	 * data events' pointers stay valid (ssh.h); ssh_in_reserve and
	 * ssh_feed make room. */
	return 0;
}

/* Moves unprocessed input to the front of the buffer. */
static void
compact_input(struct ssh_conn *c)
{
	if (c->in_off == c->in.len)
		c->in.len = c->in_off = 0;
	else if (c->in_off > 0) {
		memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
}

/* Processed bytes are dropped whenever keeping them would grow the
 * buffer, so it never holds more than one partial packet and one read:
 * a peer that always holds back a packet's last byte cannot grow it. An
 * empty buffer more than twice the size asked for is given back, so that
 * a connection gone idle after a burst holds only what its reads ask. */
uint8_t *
ssh_in_reserve(struct ssh_conn *c, size_t *len)
{
	size_t want = *len;
	uint8_t *p;

	ssh_zstore_reset(&c->zstore);
	if (c->in_off == c->in.len && c->in.cap / 2 > want) {
		wb_free(&c->in);
		c->in_off = 0;
	}
	if (c->in_off == c->in.len || c->in.len + want > c->in.cap)
		compact_input(c);
	if ((p = wb_reserve(&c->in, want)) == NULL)
		return NULL;
	*len = c->in.cap - c->in.len;
	return p;
}

/* Input held while the host key verdict is awaited is bounded: the
 * server owes us nothing but its NEWKEYS and EXT_INFO meanwhile. */
static int
held_input_ok(struct ssh_conn *c)
{
	if (c->hostkey_wait && c->in.len - c->in_off > HOSTKEY_WAIT_INPUT_MAX)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "too much data while "
		    "the host key is being verified");
	if (c->auth_wait != NULL &&
	    c->in.len - c->in_off > HOSTKEY_WAIT_INPUT_MAX)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "too much data while "
		    "a publickey request is being decided");
	return 0;
}

int
transport_resume(struct ssh_conn *c)
{
	return process(c);
}

int
ssh_in_commit(struct ssh_conn *c, size_t n)
{
	if (c->state == ST_DEAD)
		return -1;
	c->in.len += n;
	if (held_input_ok(c) != 0)
		return -1;
	return process(c);
}

int
ssh_feed(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	if (c->state == ST_DEAD)
		return -1;
	ssh_zstore_reset(&c->zstore);
	compact_input(c);
	if (wb_put(&c->in, p, len) != 0)
		return conn_fail(c, 0, "out of memory");
	if (held_input_ok(c) != 0)
		return -1;
	return process(c);
}

int
ssh_hostkey_verdict(struct ssh_conn *c, bool accept)
{
	if (c->state == ST_DEAD || !c->hostkey_wait)
		return -1;
	c->hostkey_wait = false;
	if (kex_hostkey_verdict(c, accept) != 0)
		return -1;
	return process(c);
}
