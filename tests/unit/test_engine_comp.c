/* Compression between two engines: zlib@openssh.com negotiated by the
 * client's order, started only once authentication succeeded, data intact
 * both ways across rekeys (each NEWKEYS starts the streams afresh), and
 * channel data still valid until the next feed although it was inflated.
 * Hostile payloads (a packet that inflates past the limit, a stream that
 * does not continue) end the connection with a protocol error. */
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

#define ZLIB	"zlib@openssh.com"

/* Sends n bytes from a to b on channel ch as windows allow; rekeys from
 * a after every third of the way when asked. */
static void
transfer(struct side *a, struct side *b, uint32_t ch, const uint8_t *data,
    size_t n, bool rekey)
{
	size_t off = 0, k;
	int rounds = 0, rekeys = 0;

	while (off < n && rounds++ < 100000) {
		k = ssh_chan_sendable(a->c, ch);
		if (k > n - off)
			k = n - off;
		if (k > 0) {
			assert_int_equal(ssh_chan_send(a->c, ch, data + off, k),
			    0);
			off += k;
		}
		if (rekey && rekeys < 2 && off > (size_t)(rekeys + 1) * n / 3) {
			assert_int_equal(ssh_rekey(a->c), 0);
			rekeys++;
		}
		assert_int_equal(pump(a, b), 0);
	}
	assert_int_equal(off, n);
}

static int
open_chan(struct side *cl, struct side *sv)
{
	struct wb extra;
	int id;

	wb_init(&extra);
	ssh_direct_tcpip_extra(&extra, "localhost", 80, "127.0.0.1", 5555);
	id = ssh_chan_open(cl->c, "direct-tcpip", extra.p, extra.len, NULL);
	wb_free(&extra);
	assert_true(id >= 0);
	assert_int_equal(pump(cl, sv), 0);
	assert_int_equal(cl->confirmed, 1);
	assert_true(sv->has_chan);
	return id;
}

/* Compressible text: repeated lines with a counter. */
static void
fill_text(uint8_t *p, size_t n)
{
	size_t i = 0;
	int line = 0, k;
	char buf[80];

	while (i < n) {
		k = snprintf(buf, sizeof(buf), "line %d of the tunnel log\n",
		    line++);
		if ((size_t)k > n - i)
			k = (int)(n - i);
		memcpy(p + i, buf, (size_t)k);
		i += (size_t)k;
	}
}

static void
run(const char *cipher, bool rekey)
{
	struct side cl, sv;
	static uint8_t text[2 * 1024 * 1024 + 11], rnd[1024 * 1024 + 5];
	uint64_t raw, wire, raw2, wire2;
	int id;

	connect_pair_comp(&cl, &sv, cipher, ssh_comp_yes, ssh_comp_no);
	assert_string_equal(ssh_comp_name(cl.c, true), ZLIB);
	assert_string_equal(ssh_comp_name(cl.c, false), ZLIB);
	assert_string_equal(ssh_comp_name(sv.c, true), ZLIB);
	assert_string_equal(ssh_comp_name(sv.c, false), ZLIB);
	id = open_chan(&cl, &sv);
	fill_text(text, sizeof(text));
	fill(rnd, sizeof(rnd), 9);
	transfer(&cl, &sv, (uint32_t)id, text, sizeof(text), rekey);
	transfer(&sv, &cl, sv.chan, rnd, sizeof(rnd), rekey);
	transfer(&sv, &cl, sv.chan, text, sizeof(text), rekey);
	assert_int_equal(sv.rcvd.len, sizeof(text));
	assert_memory_equal(sv.rcvd.p, text, sizeof(text));
	assert_int_equal(cl.rcvd.len, sizeof(rnd) + sizeof(text));
	assert_memory_equal(cl.rcvd.p, rnd, sizeof(rnd));
	assert_memory_equal(cl.rcvd.p + sizeof(rnd), text, sizeof(text));
	if (rekey) {
		assert_true(cl.kex_done >= 5);
		assert_true(sv.kex_done >= 5);
		assert_string_equal(ssh_comp_name(cl.c, true), ZLIB);
	}
	/* the text went up compressed; both ends count the same */
	ssh_comp_stats(cl.c, true, &raw, &wire);
	ssh_comp_stats(sv.c, false, &raw2, &wire2);
	assert_true(raw >= sizeof(text));
	assert_true(wire < raw / 4);
	assert_int_equal(raw, raw2);
	assert_int_equal(wire, wire2);
	ssh_comp_stats(sv.c, true, &raw, &wire);
	assert_true(raw >= sizeof(text) + sizeof(rnd));
	assert_true(wire > sizeof(rnd));
	assert_true(wire < raw);
	free_pair(&cl, &sv);
}

static void
test_zlib_chacha(void **state)
{
	(void)state;
	run("chacha20-poly1305@openssh.com", false);
}

static void
test_zlib_gcm_rekey(void **state)
{
	(void)state;
	run("aes128-gcm@openssh.com", true);
}

static void
test_zlib_ctr_rekey(void **state)
{
	(void)state;
	run("aes128-ctr", true);
}

/* Nothing is compressed before USERAUTH_SUCCESS (delayed compression);
 * a client that did not ask gets none though the server offers it, and
 * the client's order decides. */
static void
test_negotiation(void **state)
{
	struct side cl, sv;
	uint64_t raw, wire;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	cl.compression = ssh_comp_yes;
	sv.compression = ssh_comp_no;
	sv.allow_user = true;
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ready, 1);
	assert_string_equal(ssh_comp_name(cl.c, true), ZLIB);
	assert_null(cl.c->tx.z);
	assert_null(cl.c->rx.z);
	assert_null(sv.c->tx.z);
	assert_null(sv.c->rx.z);
	assert_int_equal(ssh_auth_pubkey(cl.c, "alice", userkey), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ok, 1);
	assert_non_null(cl.c->tx.z);
	assert_non_null(cl.c->rx.z);
	assert_non_null(sv.c->tx.z);
	assert_non_null(sv.c->rx.z);
	/* only USERAUTH_SUCCESS's successors went through zlib so far */
	ssh_comp_stats(cl.c, false, &raw, &wire);
	assert_int_equal(raw, 0);
	free_pair(&cl, &sv);

	connect_pair_comp(&cl, &sv, NULL, ssh_comp_no, ssh_comp_yes);
	assert_string_equal(ssh_comp_name(cl.c, true), "none");
	assert_string_equal(ssh_comp_name(sv.c, false), "none");
	assert_null(cl.c->tx.z);
	assert_null(sv.c->tx.z);
	free_pair(&cl, &sv);

	connect_pair_comp(&cl, &sv, NULL, NULL, NULL);
	assert_string_equal(ssh_comp_name(cl.c, true), "none");
	free_pair(&cl, &sv);

	connect_pair_comp(&cl, &sv, NULL, ssh_comp_yes, "none");
	assert_string_equal(ssh_comp_name(cl.c, true), "none");
	free_pair(&cl, &sv);
}

/* A server that insists on compression the client does not speak: the
 * connection fails naming what is missing. */
static void
test_no_common_method(void **state)
{
	struct side cl, sv;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	cl.compression = "none";
	sv.compression = ZLIB;
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(ssh_error(sv.c));
	assert_non_null(strstr(ssh_error(sv.c), "no matching compression "
	    "method found. Their offer: none"));
	assert_int_equal(ssh_fail_kind(sv.c), SSH_FAIL_NEGOTIATION);
	free_pair(&cl, &sv);
}

/* Channel data stays valid until the next feed (ssh.h) although it was
 * inflated: events of one batch are gathered without copying and checked
 * after the feed returned, over several store chunks. */
static struct {
	const uint8_t	*p[256];
	size_t		 n[256];
	int		 count;
} gathered;

static void
gather_event(void *ud, struct ssh_event *ev)
{
	if (ev->type == SSH_EV_CHAN_DATA && gathered.count < 256) {
		gathered.p[gathered.count] = ev->u.data.p;
		gathered.n[gathered.count++] = ev->u.data.len;
		return;
	}
	on_event(ud, ev);
}

static void
test_data_valid_until_next_feed(void **state)
{
	struct side cl, sv;
	static uint8_t data[1536 * 1024];
	const uint8_t *p;
	size_t len, off = 0, k;
	int id, i;

	(void)state;
	connect_pair_comp(&cl, &sv, NULL, ssh_comp_yes, ssh_comp_no);
	id = open_chan(&cl, &sv);
	fill(data, sizeof(data), 3);
	memset(data + 4096, 'a', 300 * 1024);	/* some of it compresses */
	while (off < sizeof(data)) {
		k = ssh_chan_sendable(cl.c, (uint32_t)id);
		assert_true(k > 0);	/* the window is 2 MiB */
		if (k > sizeof(data) - off)
			k = sizeof(data) - off;
		assert_int_equal(ssh_chan_send(cl.c, (uint32_t)id, data + off,
		    k), 0);
		off += k;
	}
	sv.c->cfg.event = gather_event;
	gathered.count = 0;
	ssh_out_peek(cl.c, &p, &len);
	assert_int_equal(ssh_feed(sv.c, p, len), 0);
	ssh_out_consume(cl.c, len);
	/* one event per packet: many of them from one feed */
	assert_true(gathered.count >= (int)(sizeof(data) / SSH_SEND_CHUNK));
	for (i = 0, off = 0; i < gathered.count; off += gathered.n[i++])
		assert_memory_equal(gathered.p[i], data + off, gathered.n[i]);
	assert_int_equal(off, sizeof(data));
	sv.c->cfg.event = on_event;
	free_pair(&cl, &sv);
}

/* A payload that inflates past SSH_MAX_PACKET: our own sender makes it
 * (an IGNORE of 300 KiB of zeros, a few hundred bytes compressed). */
static void
test_inflate_limit(void **state)
{
	struct side cl, sv;
	uint8_t *zeros = calloc(1, 300 * 1024);

	(void)state;
	assert_non_null(zeros);
	connect_pair_comp(&cl, &sv, NULL, ssh_comp_yes, ssh_comp_no);
	/* exactly at the limit passes */
	assert_int_equal(pkt_begin(cl.c, MSG_IGNORE), 0);
	wb_put(&cl.c->out, zeros, SSH_MAX_PACKET - 1);
	assert_int_equal(pkt_end(cl.c), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(pkt_begin(cl.c, MSG_IGNORE), 0);
	wb_put(&cl.c->out, zeros, 300 * 1024);
	assert_int_equal(pkt_end(cl.c), 0);
	assert_true(ssh_out_pending(cl.c) < 2048);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(strstr(ssh_error(sv.c), "inflates beyond"));
	assert_int_equal(ssh_fail_kind(sv.c), SSH_FAIL_PROTOCOL);
	free(zeros);
	free_pair(&cl, &sv);
}

/* A sender whose stream does not continue the one the receiver follows
 * (a fresh deflate stream in the middle): refused, not a crash. */
static void
test_stream_break(void **state)
{
	struct side cl, sv;

	(void)state;
	connect_pair_comp(&cl, &sv, NULL, ssh_comp_yes, ssh_comp_no);
	assert_int_equal(ssh_send_debug(cl.c, false, "first"), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(sv.debug, 1);
	ssh_zstream_free(cl.c->tx.z);
	cl.c->tx.z = ssh_zstream_new(true);
	assert_non_null(cl.c->tx.z);
	assert_int_equal(ssh_send_debug(cl.c, false, "second"), 0);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(strstr(ssh_error(sv.c), "corrupted compressed data"));
	assert_int_equal(sv.debug, 1);
	free_pair(&cl, &sv);
}

/* Our own deflate failing (here: a stream of the wrong kind) ends the
 * connection without queueing anything, not even a DISCONNECT that would
 * need the failed stream. */
static void
test_deflate_failure(void **state)
{
	struct side cl, sv;
	size_t before;

	(void)state;
	connect_pair_comp(&cl, &sv, NULL, ssh_comp_yes, ssh_comp_no);
	ssh_zstream_free(cl.c->tx.z);
	cl.c->tx.z = ssh_zstream_new(false);
	before = ssh_out_pending(cl.c);
	assert_int_equal(ssh_send_debug(cl.c, false, "lost"), -1);
	assert_string_equal(ssh_error(cl.c), "compression failed");
	assert_int_equal(ssh_out_pending(cl.c), before);
	assert_int_equal(ssh_feed(cl.c, (const uint8_t *)"x", 1), -1);
	free_pair(&cl, &sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zlib_chacha),
		cmocka_unit_test(test_zlib_gcm_rekey),
		cmocka_unit_test(test_zlib_ctr_rekey),
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_no_common_method),
		cmocka_unit_test(test_data_valid_until_next_feed),
		cmocka_unit_test(test_inflate_limit),
		cmocka_unit_test(test_stream_break),
		cmocka_unit_test(test_deflate_failure),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
