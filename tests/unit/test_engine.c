/* A client engine and a server engine talking to each other in memory:
 * KEX (strict), host key check, publickey auth, channels with data both
 * ways, EOF/CLOSE, rekeying in the middle of a transfer, global requests
 * in order, for every cipher. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "keys/key.h"
#include "ssh/cipher.h"
#include "ssh/ssh.h"
#include "enginepair.h"

/* Sends n bytes from a to b on channel ch as fast as windows allow. */
static void
transfer(struct side *a, struct side *b, uint32_t ch, const uint8_t *data,
    size_t n, bool rekey_midway)
{
	size_t off = 0, k;
	int rounds = 0;
	bool rekeyed = false;

	while (off < n && rounds++ < 100000) {
		k = ssh_chan_sendable(a->c, ch);
		if (k > n - off)
			k = n - off;
		if (k > 0) {
			assert_int_equal(ssh_chan_send(a->c, ch, data + off, k),
			    0);
			off += k;
		}
		if (rekey_midway && !rekeyed && off > n / 2) {
			assert_int_equal(ssh_rekey(a->c), 0);
			rekeyed = true;
		}
		assert_int_equal(pump(a, b), 0);
	}
	assert_int_equal(off, n);
}

static void
run_cipher(const char *cipher, bool rekey)
{
	struct side cl, sv;
	static uint8_t up[3 * 1024 * 1024 + 7], down[1024 * 1024 + 3];
	struct wb extra;
	int id;

	connect_pair(&cl, &sv, cipher);
	assert_string_equal(ssh_cipher_name(cl.c, true), cipher);
	assert_string_equal(ssh_cipher_name(sv.c, true), cipher);
	wb_init(&extra);
	ssh_direct_tcpip_extra(&extra, "localhost", 80, "127.0.0.1", 5555);
	id = ssh_chan_open(cl.c, "direct-tcpip", extra.p, extra.len, NULL);
	wb_free(&extra);
	assert_true(id >= 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.confirmed, 1);
	assert_true(sv.has_chan);
	fill(up, sizeof(up), 1);
	fill(down, sizeof(down), 2);
	/* more than one window's worth each way: flow control must work */
	transfer(&cl, &sv, (uint32_t)id, up, sizeof(up), rekey);
	transfer(&sv, &cl, sv.chan, down, sizeof(down), rekey);
	assert_int_equal(sv.rcvd.len, sizeof(up));
	assert_memory_equal(sv.rcvd.p, up, sizeof(up));
	assert_int_equal(cl.rcvd.len, sizeof(down));
	assert_memory_equal(cl.rcvd.p, down, sizeof(down));
	if (rekey) {
		assert_true(cl.kex_done >= 3);
		assert_true(sv.kex_done >= 3);
	}
	/* half-close then close */
	assert_int_equal(ssh_chan_eof(cl.c, (uint32_t)id), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(sv.eof, 1);
	assert_int_equal(ssh_chan_send(sv.c, sv.chan, (const uint8_t *)"z",
	    1), 0);
	assert_int_equal(ssh_chan_eof(sv.c, sv.chan), 0);
	assert_int_equal(ssh_chan_close(sv.c, sv.chan), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.eof, 1);
	assert_int_equal(cl.closed, 1);
	assert_int_equal(sv.closed, 1);
	assert_int_equal(cl.rcvd.p[cl.rcvd.len - 1], 'z');
	assert_int_equal(ssh_chan_count(cl.c), 0);
	assert_int_equal(ssh_chan_count(sv.c), 0);
	assert_null(ssh_error(cl.c));
	assert_null(ssh_error(sv.c));
	free_pair(&cl, &sv);
}

static void
test_chacha(void **state)
{
	(void)state;
	run_cipher("chacha20-poly1305@openssh.com", false);
}

static void
test_gcm(void **state)
{
	(void)state;
	run_cipher("aes128-gcm@openssh.com", true);
	run_cipher("aes256-gcm@openssh.com", false);
}

static void
test_ctr(void **state)
{
	(void)state;
	run_cipher("aes128-ctr", true);
	run_cipher("aes256-ctr", false);
}

static void
test_chacha_rekey(void **state)
{
	(void)state;
	run_cipher("chacha20-poly1305@openssh.com", true);
}

static void
test_wrong_key_refused(void **state)
{
	struct side cl, sv;
	int i;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	sv.allow_user = true;
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), 0);
	/* an unknown key is refused each time; MaxAuthTries (6) ends it */
	for (i = 0; i < 5; i++) {
		assert_int_equal(ssh_auth_pubkey(cl.c, "alice", otherkey), 0);
		assert_int_equal(pump(&cl, &sv), 0);
		assert_int_equal(cl.auth_ok, 0);
	}
	assert_int_equal(ssh_auth_pubkey(cl.c, "alice", otherkey), 0);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_non_null(ssh_error(sv.c));
	assert_non_null(strstr(ssh_error(sv.c), "Too many authentication"));
	assert_int_equal(sv.auth_ok, 0);
	free_pair(&cl, &sv);
}

/* The server's banner reaches the client before the first answer, once
 * however many requests follow. */
static void
test_server_banner(void **state)
{
	struct side cl, sv;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	sv.allow_user = true;
	sv.banner = "Authorized use only.\r\n";
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.banners, 0);
	assert_int_equal(ssh_auth_pubkey(cl.c, "alice", otherkey), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.banners, 1);
	assert_string_equal(cl.banner_text, "Authorized use only.\r\n");
	assert_int_equal(ssh_auth_pubkey(cl.c, "alice", userkey), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ok, 1);
	assert_int_equal(cl.banners, 1);
	free_pair(&cl, &sv);
}

/* A deferred host key verdict holds the exchange (and the server's
 * NEWKEYS) until it is given; yes goes on to authentication. */
static void
test_hostkey_deferred_accept(void **state)
{
	struct side cl, sv;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	sv.allow_user = true;
	cl.defer_hostkey = true;
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(ssh_hostkey_verdict(cl.c, true), -1);	/* not yet */
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.hostkey_seen, 1);
	assert_int_equal(cl.kex_done, 0);
	assert_int_equal(pump(&cl, &sv), 0);		/* still held */
	assert_int_equal(cl.kex_done, 0);
	assert_int_equal(ssh_hostkey_verdict(cl.c, true), 0);
	assert_int_equal(ssh_hostkey_verdict(cl.c, true), -1);	/* once */
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.kex_done, 1);
	assert_int_equal(cl.auth_ready, 1);
	assert_int_equal(ssh_auth_pubkey(cl.c, "alice", userkey), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ok, 1);
	assert_int_equal(cl.hostkey_seen, 1);
	free_pair(&cl, &sv);
}

/* No ends the connection with ssh's words; input piling up while the
 * verdict is awaited is bounded. */
static void
test_hostkey_deferred_refuse(void **state)
{
	static uint8_t junk[70 * 1024];
	struct side cl, sv;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		memset(&cl, 0, sizeof(cl));
		memset(&sv, 0, sizeof(sv));
		cl.defer_hostkey = true;
		mk(&cl, SSH_ROLE_CLIENT, NULL);
		mk(&sv, SSH_ROLE_SERVER, NULL);
		assert_int_equal(pump(&cl, &sv), 0);
		assert_int_equal(cl.hostkey_seen, 1);
		if (i == 0) {
			assert_int_equal(ssh_hostkey_verdict(cl.c, false), -1);
			assert_string_equal(ssh_error(cl.c),
			    "Host key verification failed.");
		} else {
			assert_int_equal(ssh_feed(cl.c, junk, sizeof(junk)),
			    -1);
			assert_non_null(strstr(ssh_error(cl.c),
			    "host key is being verified"));
		}
		assert_int_equal(cl.kex_done, 0);
		free_pair(&cl, &sv);
	}
}

/* A deferred publickey verdict: nothing moves until ssh_auth_answer;
 * yes logs in, no fails the attempt; a connection freed while a request
 * waits frees it (ASan). */
static void
test_auth_deferred(void **state)
{
	static uint8_t junk[70 * 1024];
	struct side cl, sv;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		memset(&cl, 0, sizeof(cl));
		memset(&sv, 0, sizeof(sv));
		sv.allow_user = true;
		sv.defer_auth = true;
		mk(&cl, SSH_ROLE_CLIENT, NULL);
		mk(&sv, SSH_ROLE_SERVER, NULL);
		assert_int_equal(pump(&cl, &sv), 0);
		assert_int_equal(ssh_auth_answer(sv.c, true), -1); /* none */
		assert_int_equal(ssh_auth_pubkey(cl.c, "alice", userkey), 0);
		assert_int_equal(pump(&cl, &sv), 0);
		assert_int_equal(sv.auth_deferred, 1);
		assert_true(ssh_auth_waiting(sv.c));
		assert_int_equal(cl.auth_ok, 0);
		if (i == 0) {
			assert_int_equal(ssh_auth_answer(sv.c, true), 0);
			assert_int_equal(ssh_auth_answer(sv.c, true), -1);
			assert_int_equal(pump(&cl, &sv), 0);
			assert_int_equal(cl.auth_ok, 1);
			assert_int_equal(sv.auth_ok, 1);
			assert_string_equal(ssh_auth_user(sv.c), "alice");
		} else if (i == 1) {
			assert_int_equal(ssh_auth_answer(sv.c, false), 0);
			assert_int_equal(pump(&cl, &sv), 0);
			assert_int_equal(cl.auth_ok, 0);
			assert_int_equal(sv.auth_ok, 0);
			assert_false(ssh_authenticated(sv.c));
		} else if (i == 2) {
			assert_int_equal(ssh_feed(sv.c, junk, sizeof(junk)),
			    -1);
			assert_non_null(strstr(ssh_error(sv.c),
			    "publickey request is being decided"));
		}
		free_pair(&cl, &sv);
	}
}

static void
test_global_requests_in_order(void **state)
{
	struct side cl, sv;

	(void)state;
	connect_pair(&cl, &sv, NULL);
	assert_int_equal(ssh_global_request(cl.c, "yes", true, NULL, 0,
	    (void *)1), 0);
	assert_int_equal(ssh_global_request(cl.c, "no", true, NULL, 0,
	    (void *)2), 0);
	assert_int_equal(ssh_global_request(cl.c, "quiet", false, NULL, 0,
	    NULL), 0);
	assert_int_equal(ssh_global_request(cl.c, "yes", true, NULL, 0,
	    (void *)3), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.nreplies, 3);
	assert_int_equal(cl.replies[0], 1);
	assert_int_equal(cl.replies[1], -1);
	assert_int_equal(cl.replies[2], 3);
	free_pair(&cl, &sv);
}

/* A deferred global request holds what follows it: the replies stay in
 * the order of the requests, and the answer carries its data. */
static void
test_global_request_deferred(void **state)
{
	static const uint8_t port[4] = { 0, 0, 0x1f, 0x90 };
	struct side cl, sv;

	(void)state;
	connect_pair(&cl, &sv, NULL);
	assert_int_equal(ssh_global_answer(sv.c, true, NULL, 0), -1);
	assert_int_equal(ssh_global_request(cl.c, "defer", true, NULL, 0,
	    (void *)1), 0);
	assert_int_equal(ssh_global_request(cl.c, "yes", true, NULL, 0,
	    (void *)2), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_true(ssh_global_waiting(sv.c));
	assert_int_equal(sv.global_requests, 1);	/* "yes" is held */
	assert_int_equal(cl.nreplies, 0);
	assert_int_equal(ssh_global_answer(sv.c, true, port, sizeof(port)), 0);
	assert_false(ssh_global_waiting(sv.c));
	assert_int_equal(ssh_global_answer(sv.c, true, NULL, 0), -1);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(sv.global_requests, 2);
	assert_int_equal(cl.nreplies, 2);
	assert_int_equal(cl.replies[0], 1);
	assert_int_equal(cl.replies[1], 2);
	/* a refusal, and a request without reply is never deferred */
	assert_int_equal(ssh_global_request(cl.c, "defer", true, NULL, 0,
	    (void *)3), 0);
	assert_int_equal(ssh_global_request(cl.c, "defer", false, NULL, 0,
	    NULL), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(ssh_global_answer(sv.c, false, NULL, 0), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_false(ssh_global_waiting(sv.c));
	assert_int_equal(sv.global_requests, 4);
	assert_int_equal(cl.nreplies, 3);
	assert_int_equal(cl.replies[2], -1);
	free_pair(&cl, &sv);
}

/* The server refuses connection-protocol messages before auth. */
static void
test_server_pre_auth_channel_open(void **state)
{
	struct side cl, sv;
	struct ssh_conn *c;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ready, 1);
	c = cl.c;
	/* The client API refuses; so force the state by authenticating the
	 * client side only against a server that says no. */
	sv.allow_user = false;
	assert_int_equal(ssh_auth_pubkey(c, "alice", userkey), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(sv.auth_ok, 0);
	assert_int_equal(ssh_chan_open(c, "direct-tcpip", NULL, 0, NULL), -1);
	free_pair(&cl, &sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_deferred),
		cmocka_unit_test(test_chacha),
		cmocka_unit_test(test_chacha_rekey),
		cmocka_unit_test(test_gcm),
		cmocka_unit_test(test_ctr),
		cmocka_unit_test(test_wrong_key_refused),
		cmocka_unit_test(test_server_banner),
		cmocka_unit_test(test_hostkey_deferred_accept),
		cmocka_unit_test(test_hostkey_deferred_refuse),
		cmocka_unit_test(test_global_requests_in_order),
		cmocka_unit_test(test_global_request_deferred),
		cmocka_unit_test(test_server_pre_auth_channel_open),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
