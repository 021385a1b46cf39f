/* The ssh-agent unit tests' shared pieces (agentkit.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agentkit.h"

#define RUN_LIMIT_NS	(20ULL * 1000 * 1000 * 1000)

struct key *ed, *ec;

void
msg_begin(struct wb *w, uint8_t type)
{
	wb_reset(w);
	wb_u32(w, 0);
	wb_u8(w, type);
}

void
msg_end(struct wb *w)
{
	assert_false(w->err);
	put_u32(w->p, (uint32_t)(w->len - 4));
}

void
blob_of(const struct key *k, struct wb *w)
{
	wb_init(w);
	assert_int_equal(key_to_blob(k, w), 0);
}

/* A well-formed answer: ssh-dss, ed25519, sk-ed25519, an ed25519
 * certificate and ecdsa; ferry keeps the second and the last. */
void
build_identities(struct wb *m)
{
	struct wb b, dss, sk, cert;
	uint8_t junk[32];

	memset(junk, 0x5a, sizeof(junk));
	wb_init(&dss);
	wb_cstring(&dss, "ssh-dss");
	wb_mpint(&dss, junk, 32);
	wb_mpint(&dss, junk, 20);
	wb_mpint(&dss, junk, 32);
	wb_mpint(&dss, junk, 32);
	wb_init(&sk);
	wb_cstring(&sk, "sk-ssh-ed25519@openssh.com");
	wb_string(&sk, junk, 32);
	wb_cstring(&sk, "ssh:");
	wb_init(&cert);
	wb_cstring(&cert, "ssh-ed25519-cert-v01@openssh.com");
	wb_string(&cert, junk, 32);
	wb_string(&cert, junk, 32);

	msg_begin(m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(m, 5);
	wb_string(m, dss.p, dss.len);
	wb_cstring(m, "old dsa key");
	blob_of(ed, &b);
	wb_string(m, b.p, b.len);
	wb_cstring(m, "ed25519 comment");
	wb_free(&b);
	wb_string(m, sk.p, sk.len);
	wb_cstring(m, "security key");
	wb_string(m, cert.p, cert.len);
	wb_cstring(m, "a certificate");
	blob_of(ec, &b);
	wb_string(m, b.p, b.len);
	wb_cstring(m, "");
	wb_free(&b);
	msg_end(m);
	wb_free(&dss);
	wb_free(&sk);
	wb_free(&cert);
}

void
build_sign_response(struct wb *m, const struct key *k, const char *alg)
{
	struct wb sig;

	wb_init(&sig);
	assert_int_equal(key_sign(k, alg, data, sizeof(data), &sig), 0);
	msg_begin(m, SSH_AGENT_SIGN_RESPONSE);
	wb_string(m, sig.p, sig.len);
	msg_end(m);
	wb_free(&sig);
}

int
setup_keys(void **state)
{
	(void)state;
	if (key_generate(KEY_ED25519, &ed) != 0 ||
	    key_generate(KEY_ECDSA_P256, &ec) != 0)
		return -1;
	return 0;
}

int
teardown_keys(void **state)
{
	(void)state;
	key_free(ed);
	key_free(ec);
	return 0;
}

void
on_ready(void *ud, const struct agent_id *ids, int n, const char *err)
{
	struct ready_res *r = ud;

	r->calls++;
	r->done = true;
	r->ids = ids;
	r->n = n;
	if (err != NULL) {
		snprintf(r->err, sizeof(r->err), "%s", err);
		assert_null(ids);
		assert_int_equal(n, 0);
	} else
		assert_non_null(ids);
	if (r->close_me != NULL)
		agent_close(r->close_me);
}

void
on_sign(void *ud, const uint8_t *sig, size_t siglen, const char *err)
{
	struct sign_res *r = ud;

	r->calls++;
	r->done = true;
	if (err != NULL) {
		r->failed = true;
		snprintf(r->err, sizeof(r->err), "%s", err);
		assert_null(sig);
	} else {
		assert_non_null(sig);
		assert_true(siglen <= sizeof(r->sig));
		memcpy(r->sig, sig, siglen);
		r->siglen = siglen;
	}
	if (r->chain != NULL)
		r->chain_rv = agent_sign(r->chain, r->chain_id, r->chain_alg,
		    data, sizeof(data), on_sign, r->chain_res);
	if (r->close_me != NULL)
		agent_close(r->close_me);
}

static void
tick_cb(uv_timer_t *t)
{
	(void)t;
}


void
h_init(struct harness *h)
{
	assert_int_equal(uv_loop_init(&h->loop), 0);
	uv_timer_init(&h->loop, &h->tick);
	uv_timer_start(&h->tick, tick_cb, 20, 20);
}

void
run_until(struct harness *h, const bool *flag)
{
	uint64_t end = uv_hrtime() + RUN_LIMIT_NS;

	while (!*flag) {
		if (uv_hrtime() > end)
			fail_msg("timed out waiting for the agent");
		uv_run(&h->loop, UV_RUN_ONCE);
	}
}

/* Everything else must be closed by now: the loop has to end. */
void
h_fini(struct harness *h)
{
	uv_close((uv_handle_t *)&h->tick, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&h->loop), 0);
}
