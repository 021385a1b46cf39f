/* libFuzzer target: the client engine fed a server's byte stream. Covers
 * identification lines, the clear-text binary packet decoder, KEXINIT
 * parsing and negotiation and the KEX_ECDH_REPLY parser (host key blob,
 * X25519 value, signature). The input is what a server sends after its
 * identification line; it is fed three ways, each on a fresh engine:
 *   1. after "SSH-2.0-OpenSSH_9.2\r\n", in one ssh_feed;
 *   2. the same, split in two at a position taken from the first byte, the
 *      second part through ssh_in_reserve/ssh_in_commit;
 *   3. without a banner, so the input's own lines are the version;
 *   4. to a server engine after a client's banner. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "ssh/ssh.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char banner[] = "SSH-2.0-OpenSSH_9.2\r\n";

/* Trusts any host key, refuses channel opens, tries no authentication. */
static void
on_event(void *ud, struct ssh_event *ev)
{
	(void)ud;
	if (ev->type == SSH_EV_HOSTKEY)
		ev->u.hostkey.accept = true;
}

static void
drain(struct ssh_conn *c)
{
	const uint8_t *p;
	size_t n;

	ssh_out_peek(c, &p, &n);
	if (n > 0 && p == NULL)
		abort();
	ssh_out_consume(c, n);
	if (ssh_out_pending(c) != 0)
		abort();
}

/* A failed feed must leave a reason (ssh.h: "see ssh_error"). */
static int
check(struct ssh_conn *c, int rc)
{
	if (rc != 0 && ssh_error(c) == NULL)
		abort();
	drain(c);
	return rc;
}

static int
feed(struct ssh_conn *c, const uint8_t *p, size_t n)
{
	return check(c, ssh_feed(c, p, n));
}

/* Copies p into the engine's own input buffer. */
static int
feed_reserve(struct ssh_conn *c, const uint8_t *p, size_t n)
{
	uint8_t *dst;
	size_t room, chunk;

	while (n > 0) {
		room = n;
		if ((dst = ssh_in_reserve(c, &room)) == NULL || room == 0)
			abort();	/* only on allocation failure */
		chunk = room < n ? room : n;
		memcpy(dst, p, chunk);
		if (check(c, ssh_in_commit(c, chunk)) != 0)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

static struct key *hostkey;

/* role SERVER fuzzes what a client may send: KEXINIT, KEX_ECDH_INIT, the
 * pre-auth message filter and the userauth request parser. */
static struct ssh_conn *
new_conn_role(enum ssh_role role)
{
	struct ssh_config cfg;
	struct ssh_conn *c;

	if (hostkey == NULL && key_generate(KEY_ED25519, &hostkey) != 0)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.event = on_event;
	cfg.hostkeys = &hostkey;
	cfg.nhostkeys = 1;
	if ((c = ssh_conn_new(&cfg)) == NULL)
		abort();
	drain(c);	/* our version line and KEXINIT */
	return c;
}

static struct ssh_conn *
new_conn(void)
{
	return new_conn_role(SSH_ROLE_CLIENT);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh_conn *c;
	size_t split;

	c = new_conn();
	if (feed(c, (const uint8_t *)banner, strlen(banner)) == 0 &&
	    size > 0)
		feed(c, data, size);
	ssh_conn_free(c);

	split = size > 0 ? (size * data[0]) / 255 : 0;
	c = new_conn();
	if (feed(c, (const uint8_t *)banner, strlen(banner)) == 0 &&
	    (split == 0 || feed(c, data, split) == 0))
		feed_reserve(c, data + split, size - split);
	ssh_conn_free(c);

	if (size > 0) {
		c = new_conn();
		feed(c, data, size);
		ssh_conn_free(c);
	}

	c = new_conn_role(SSH_ROLE_SERVER);
	if (feed(c, (const uint8_t *)banner, strlen(banner)) == 0 &&
	    size > 0)
		feed(c, data, size);
	ssh_conn_free(c);
	return 0;
}
