/* The transport's packet codec, version exchange and message filter, fed
 * byte by byte as a peer would send them (cleartext, before NEWKEYS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ssh/ssh_int.h"

static int hostkey_events;

static void
on_event(void *ud, struct ssh_event *ev)
{
	(void)ud;
	if (ev->type == SSH_EV_HOSTKEY) {
		hostkey_events++;
		ev->u.hostkey.accept = true;
	}
}

static struct ssh_conn *
client(void)
{
	struct ssh_config cfg;
	struct ssh_conn *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = SSH_ROLE_CLIENT;
	cfg.event = on_event;
	c = ssh_conn_new(&cfg);
	assert_non_null(c);
	return c;
}

/* A cleartext packet: length, padding length, payload, padding. */
static void
packet(struct wb *w, const uint8_t *payload, size_t n, size_t padlen)
{
	size_t i;

	if (padlen == 0) {
		padlen = 8 - ((5 + n) % 8);
		if (padlen < 4)
			padlen += 8;
	}
	wb_u32(w, (uint32_t)(1 + n + padlen));
	wb_u8(w, (uint8_t)padlen);
	wb_put(w, payload, n);
	for (i = 0; i < padlen; i++)
		wb_u8(w, 0);
}

static void
kexinit_payload(struct wb *p, const char *kex, const char *ciphers)
{
	uint8_t cookie[16] = { 0 };

	wb_u8(p, MSG_KEXINIT);
	wb_put(p, cookie, 16);
	wb_cstring(p, kex);
	wb_cstring(p, "ssh-ed25519");
	wb_cstring(p, ciphers);
	wb_cstring(p, ciphers);
	wb_cstring(p, "hmac-sha2-256");
	wb_cstring(p, "hmac-sha2-256");
	wb_cstring(p, "none");
	wb_cstring(p, "none");
	wb_cstring(p, "");
	wb_cstring(p, "");
	wb_bool(p, false);
	wb_u32(p, 0);
}

static const char banner[] = "SSH-2.0-OpenSSH_9.2\r\n";

static int
feed_str(struct ssh_conn *c, const char *s)
{
	return ssh_feed(c, (const uint8_t *)s, strlen(s));
}

static void
expect_error(struct ssh_conn *c, const char *needle)
{
	assert_non_null(ssh_error(c));
	if (strstr(ssh_error(c), needle) == NULL)
		fail_msg("error '%s' lacks '%s'", ssh_error(c), needle);
}

static void
test_version_and_kexinit_sent(void **state)
{
	struct ssh_conn *c = client();
	const uint8_t *p;
	size_t len;
	const char *nl;

	(void)state;
	ssh_out_peek(c, &p, &len);
	assert_true(len > 20);
	assert_memory_equal(p, "SSH-2.0-ferry", 13);
	nl = memchr(p, '\n', len);
	assert_non_null(nl);
	/* the KEXINIT follows at once, cleartext, type 20 */
	p = (const uint8_t *)nl + 1;
	assert_int_equal(p[5], MSG_KEXINIT);
	assert_non_null(memmem(p, len - (size_t)(p - (const uint8_t *)nl),
	    "kex-strict-c-v00@openssh.com", 28));
	assert_non_null(memmem(p, len - (size_t)(p - (const uint8_t *)nl),
	    "ext-info-c", 10));
	ssh_conn_free(c);
}

static void
test_lines_before_banner(void **state)
{
	struct ssh_conn *c = client();

	(void)state;
	assert_int_equal(feed_str(c, "hello there\r\nsecond line\n"), 0);
	assert_int_equal(feed_str(c, banner), 0);
	assert_string_equal(ssh_peer_version(c), "SSH-2.0-OpenSSH_9.2");
	ssh_conn_free(c);
}

static void
test_bad_versions(void **state)
{
	struct ssh_conn *c = client();

	(void)state;
	assert_int_equal(feed_str(c, "SSH-1.5-old\r\n"), -1);
	expect_error(c, "unsupported protocol version");
	ssh_conn_free(c);
	c = client();
	{
		char big[9000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(feed_str(c, big), -1);
		expect_error(c, "too long");
	}
	ssh_conn_free(c);
}

static void
test_bad_lengths(void **state)
{
	static const uint8_t huge[] = { 0x00, 0x10, 0x00, 0x00, 4 };
	static const uint8_t odd[] = { 0x00, 0x00, 0x00, 0x07, 4 };
	struct ssh_conn *c = client();

	(void)state;
	assert_int_equal(feed_str(c, banner), 0);
	assert_int_equal(ssh_feed(c, huge, sizeof(huge)), -1);
	expect_error(c, "bad packet length");
	ssh_conn_free(c);
	c = client();
	assert_int_equal(feed_str(c, banner), 0);
	assert_int_equal(ssh_feed(c, odd, sizeof(odd)), -1);
	expect_error(c, "bad packet length");
	ssh_conn_free(c);
}

static void
test_bad_padding(void **state)
{
	struct ssh_conn *c = client();
	struct wb w;
	uint8_t payload[5] = { MSG_IGNORE, 0, 0, 0, 0 };

	(void)state;
	wb_init(&w);
	/* 4 + 1 + 5 + 6 = 16, but padlen 2 < 4: refused */
	wb_u32(&w, 12);
	wb_u8(&w, 2);
	wb_put(&w, payload, 5);
	wb_put(&w, "\0\0\0\0\0\0", 6);
	assert_int_equal(feed_str(c, banner), 0);
	assert_int_equal(ssh_feed(c, w.p, w.len), -1);
	expect_error(c, "bad padding");
	wb_free(&w);
	ssh_conn_free(c);
}

/* Messages of later protocol layers before authentication: disconnect
 * (the CVE-2018-10933 lesson). */
static void
test_filter_pre_auth(void **state)
{
	static const uint8_t types[] = { MSG_USERAUTH_SUCCESS,
	    MSG_CHANNEL_OPEN, MSG_GLOBAL_REQUEST, MSG_CHANNEL_DATA,
	    MSG_SERVICE_ACCEPT, 200 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types); i++) {
		struct ssh_conn *c = client();
		struct wb w;
		uint8_t payload[16] = { 0 };
		char want[64];

		payload[0] = types[i];
		wb_init(&w);
		packet(&w, payload, sizeof(payload), 0);
		assert_int_equal(feed_str(c, banner), 0);
		assert_int_equal(ssh_feed(c, w.p, w.len), -1);
		snprintf(want, sizeof(want), "unexpected message type %u",
		    types[i]);
		expect_error(c, want);
		assert_false(ssh_authenticated(c));
		wb_free(&w);
		ssh_conn_free(c);
	}
}

static void
test_strict_kex_first_packet(void **state)
{
	struct ssh_conn *c = client();
	struct wb w, p;
	uint8_t ign[8] = { MSG_IGNORE, 0, 0, 0, 0 };

	(void)state;
	wb_init(&w);
	wb_init(&p);
	packet(&w, ign, sizeof(ign), 0);
	kexinit_payload(&p, "curve25519-sha256,kex-strict-s-v00@openssh.com",
	    "aes128-ctr");
	packet(&w, p.p, p.len, 0);
	assert_int_equal(feed_str(c, banner), 0);
	assert_int_equal(ssh_feed(c, w.p, w.len), -1);
	expect_error(c, "strict KEX");
	assert_int_equal(ssh_fail_kind(c), SSH_FAIL_PROTOCOL);
	wb_free(&w);
	wb_free(&p);
	ssh_conn_free(c);
}

static void
test_no_common_cipher(void **state)
{
	struct ssh_conn *c = client();
	struct wb w, p;

	(void)state;
	wb_init(&w);
	wb_init(&p);
	kexinit_payload(&p, "curve25519-sha256", "3des-cbc,blowfish-cbc");
	packet(&w, p.p, p.len, 0);
	assert_int_equal(feed_str(c, banner), 0);
	assert_int_equal(ssh_feed(c, w.p, w.len), -1);
	expect_error(c, "no matching cipher");
	assert_int_equal(ssh_fail_kind(c), SSH_FAIL_NEGOTIATION);
	wb_free(&w);
	wb_free(&p);
	ssh_conn_free(c);
}

static void
test_kexinit_answered_with_ecdh_init(void **state)
{
	struct ssh_conn *c = client();
	struct wb w, p;
	const uint8_t *out;
	size_t len, n;
	struct wb reply;
	uint8_t zero[32] = { 0 };

	(void)state;
	wb_init(&w);
	wb_init(&p);
	wb_init(&reply);
	kexinit_payload(&p, "curve25519-sha256,kex-strict-s-v00@openssh.com",
	    "aes128-ctr");
	packet(&w, p.p, p.len, 0);
	ssh_out_peek(c, &out, &len);
	ssh_out_consume(c, len);
	assert_int_equal(feed_str(c, banner), 0);
	assert_int_equal(ssh_feed(c, w.p, w.len), 0);
	ssh_out_peek(c, &out, &len);
	assert_true(len >= 4 + 1 + 1 + 4 + 32);
	n = get_u32(out);
	assert_int_equal(out[5], MSG_KEX_ECDH_INIT);
	assert_int_equal(get_u32(out + 6), 32);
	assert_int_equal(n + 4, len);
	/* a reply with a garbage host key is a clean failure */
	wb_reset(&p);
	wb_u8(&p, MSG_KEX_ECDH_REPLY);
	wb_cstring(&p, "ssh-ed25519");	/* not a blob */
	wb_string(&p, zero, 32);
	wb_cstring(&p, "sig");
	packet(&reply, p.p, p.len, 0);
	assert_int_equal(ssh_feed(c, reply.p, reply.len), -1);
	expect_error(c, "bad host key");
	assert_int_equal(hostkey_events, 0);
	wb_free(&w);
	wb_free(&p);
	wb_free(&reply);
	ssh_conn_free(c);
}

static void
test_pre_auth_limit(void **state)
{
	struct ssh_conn *c = client();
	struct wb w;
	static uint8_t ign[32 * 1024];
	int i, r = 0;

	(void)state;
	ign[0] = MSG_IGNORE;
	wb_init(&w);
	packet(&w, ign, sizeof(ign), 0);
	assert_int_equal(feed_str(c, banner), 0);
	for (i = 0; i < 64 && r == 0; i++)
		r = ssh_feed(c, w.p, w.len);
	assert_int_equal(r, -1);
	assert_true(i > 16);
	expect_error(c, "too much data before authentication");
	wb_free(&w);
	ssh_conn_free(c);
}

static void
test_peer_disconnect(void **state)
{
	struct ssh_conn *c = client();
	struct wb w, p;

	(void)state;
	wb_init(&w);
	wb_init(&p);
	wb_u8(&p, MSG_DISCONNECT);
	wb_u32(&p, 11);
	wb_cstring(&p, "going away");
	wb_cstring(&p, "");
	packet(&w, p.p, p.len, 0);
	assert_int_equal(feed_str(c, banner), 0);
	assert_int_equal(ssh_feed(c, w.p, w.len), -1);
	assert_int_equal(ssh_fail_kind(c), SSH_FAIL_PEER);
	expect_error(c, "going away");
	wb_free(&w);
	wb_free(&p);
	ssh_conn_free(c);
}

/* An empty input buffer grown by a large read is given back when a
 * smaller one is asked for (an idle connection keeps little); one still
 * holding a partial packet is kept, and the partial bytes with it. */
static void
test_input_buffer_shrinks(void **state)
{
	struct ssh_conn *c = client();
	size_t len = 256 * 1024;
	uint8_t *p;

	(void)state;
	assert_int_equal(feed_str(c, banner), 0);
	assert_non_null(ssh_in_reserve(c, &len));
	assert_true(len >= 256 * 1024);
	assert_int_equal(ssh_in_commit(c, 0), 0);
	len = 4096;
	assert_non_null(ssh_in_reserve(c, &len));
	assert_true(len >= 4096 && len < 16 * 1024);
	/* a partial packet: its first 3 bytes stay through a reserve */
	len = 256 * 1024;
	assert_non_null(p = ssh_in_reserve(c, &len));
	memcpy(p, "\0\0\1", 3);
	assert_int_equal(ssh_in_commit(c, 3), 0);
	len = 4096;
	assert_non_null(p = ssh_in_reserve(c, &len));
	assert_true(len >= 128 * 1024);
	assert_memory_equal(c->in.p + c->in_off, "\0\0\1", 3);
	ssh_conn_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_and_kexinit_sent),
		cmocka_unit_test(test_lines_before_banner),
		cmocka_unit_test(test_bad_versions),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_bad_padding),
		cmocka_unit_test(test_filter_pre_auth),
		cmocka_unit_test(test_strict_kex_first_packet),
		cmocka_unit_test(test_no_common_cipher),
		cmocka_unit_test(test_kexinit_answered_with_ecdh_init),
		cmocka_unit_test(test_pre_auth_limit),
		cmocka_unit_test(test_peer_disconnect),
		cmocka_unit_test(test_input_buffer_shrinks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
