/* Unit tests for the ssh-agent client: the codec (keys/agent.c) on built
 * and hostile messages, the libuv client (net/agent.c) against a scripted
 * fake agent in the same loop, and end to end against OpenSSH's ssh-agent
 * holding keys that ssh-keygen made and ssh-add loaded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "keys/agent.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "net/agent.h"
#include "ssh/buf.h"
#include "agentlab.h"

#define RUN_LIMIT_NS	(20ULL * 1000 * 1000 * 1000)

static const uint8_t data[] = "session id and userauth request: the data "
    "a publickey signature covers";

/* Generated once for the codec tests. */
static struct key *ed, *ec;

/* The end-to-end fixture: ssh-agent's pid, its socket, the key files. */
static char tmpdir[64];
static char agent_sock[128];
static pid_t agent_pid = -1;

static void
msg_begin(struct wb *w, uint8_t type)
{
	wb_reset(w);
	wb_u32(w, 0);
	wb_u8(w, type);
}

static void
msg_end(struct wb *w)
{
	assert_false(w->err);
	put_u32(w->p, (uint32_t)(w->len - 4));
}

static void
blob_of(const struct key *k, struct wb *w)
{
	wb_init(w);
	assert_int_equal(key_to_blob(k, w), 0);
}

/* A well-formed answer: ssh-dss, ed25519, sk-ed25519, an ed25519
 * certificate and ecdsa; ferry keeps the second and the last. */
static void
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

static void
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

static int
setup_keys(void **state)
{
	(void)state;
	if (key_generate(KEY_ED25519, &ed) != 0 ||
	    key_generate(KEY_ECDSA_P256, &ec) != 0)
		return -1;
	return 0;
}

static int
teardown_keys(void **state)
{
	(void)state;
	key_free(ed);
	key_free(ec);
	return 0;
}

static void
test_req_identities(void **state)
{
	static const uint8_t want[] = { 0, 0, 0, 1, 11 };
	struct wb w;

	(void)state;
	wb_init(&w);
	assert_int_equal(agent_req_identities(&w), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.p, want, sizeof(want));
	wb_free(&w);
}

static void
test_req_sign(void **state)
{
	static const uint8_t want[] = {
		0, 0, 0, 23, 13,
		0, 0, 0, 5, 'b', 'l', 'o', 'b', '!',
		0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',
		0, 0, 0, 4,
	};
	static const struct {
		const char	*alg;
		uint8_t		 flags;
	} algs[] = {
		{ "rsa-sha2-512", 4 }, { "rsa-sha2-256", 2 },
		{ "ssh-ed25519", 0 }, { "ecdsa-sha2-nistp256", 0 },
		{ "ssh-rsa", 0 }, { NULL, 0 },
	};
	struct wb w;
	uint8_t *big;
	size_t i;

	(void)state;
	wb_init(&w);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		wb_reset(&w);
		assert_int_equal(agent_req_sign(&w, (const uint8_t *)"blob!",
		    5, (const uint8_t *)"hello", 5, algs[i].alg), 0);
		assert_int_equal(w.len, sizeof(want));
		assert_memory_equal(w.p, want, sizeof(want) - 1);
		assert_int_equal(w.p[sizeof(want) - 1], algs[i].flags);
	}

	/* Appends, and refuses what the agent would not take. */
	wb_reset(&w);
	assert_int_equal(agent_req_identities(&w), 0);
	assert_int_equal(agent_req_sign(&w, (const uint8_t *)"blob!", 5,
	    (const uint8_t *)"hello", 5, "rsa-sha2-512"), 0);
	assert_int_equal(w.len, 5 + sizeof(want));
	assert_memory_equal(w.p + 5, want, sizeof(want));
	big = calloc(1, AGENT_MAX_MSG + 1);
	assert_non_null(big);
	wb_reset(&w);
	assert_int_equal(agent_req_sign(&w, big, 32, big, AGENT_MAX_MSG - 40,
	    NULL), -1);
	assert_int_equal(agent_req_sign(&w, big, 32, big, AGENT_MAX_MSG + 1,
	    NULL), -1);
	assert_int_equal(agent_req_sign(&w, big, 32, big,
	    AGENT_MAX_MSG - 1 - 4 - 32 - 4 - 4, NULL), 0);
	assert_int_equal(w.len, 4 + AGENT_MAX_MSG);
	free(big);
	wb_free(&w);
}

static void
test_frame(void **state)
{
	uint8_t buf[16] = { 0, 0, 0, 3, 12, 0, 0, 99 };
	size_t n = 0;

	(void)state;
	assert_int_equal(agent_frame(buf, 0, &n), 0);
	assert_int_equal(agent_frame(buf, 3, &n), 0);
	assert_int_equal(agent_frame(buf, 4, &n), 0);
	assert_int_equal(agent_frame(buf, 6, &n), 0);
	assert_int_equal(agent_frame(buf, 7, &n), 1);
	assert_int_equal(n, 7);
	assert_int_equal(agent_frame(buf, 16, &n), 1);
	assert_int_equal(n, 7);
	put_u32(buf, 0);
	assert_int_equal(agent_frame(buf, 16, &n), -1);
	put_u32(buf, AGENT_MAX_MSG + 1);
	assert_int_equal(agent_frame(buf, 4, &n), -1);
	put_u32(buf, UINT32_MAX);
	assert_int_equal(agent_frame(buf, 4, &n), -1);
	put_u32(buf, AGENT_MAX_MSG);
	assert_int_equal(agent_frame(buf, 16, &n), 0);
}

static void
test_parse_identities(void **state)
{
	struct agent_id *ids;
	struct wb m, b;
	char err[256];
	int n;

	(void)state;
	wb_init(&m);
	build_identities(&m);
	assert_int_equal(agent_parse_identities(m.p, m.len, &ids, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	blob_of(ed, &b);
	assert_int_equal(ids[0].bloblen, b.len);
	assert_memory_equal(ids[0].blob, b.p, b.len);
	assert_true(key_equal(ids[0].key, ed));
	assert_false(ids[0].key->has_private);
	assert_string_equal(ids[0].comment, "ed25519 comment");
	assert_string_equal(key_type_name(ids[0].key), "ssh-ed25519");
	wb_free(&b);
	assert_true(key_equal(ids[1].key, ec));
	assert_string_equal(ids[1].comment, "");
	agent_ids_free(ids, n);

	/* No keys at all. */
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, 0);
	msg_end(&m);
	assert_int_equal(agent_parse_identities(m.p, m.len, &ids, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_non_null(ids);
	agent_ids_free(ids, n);
	agent_ids_free(NULL, 0);
	wb_free(&m);
}

static void
expect_id_fail(const uint8_t *p, size_t len, const char *want)
{
	static struct agent_id dummy;
	struct agent_id *ids = &dummy;
	char err[256] = "";
	int n = -1;

	assert_int_equal(agent_parse_identities(p, len, &ids, &n, err,
	    sizeof(err)), -1);
	assert_null(ids);
	assert_int_equal(n, 0);
	assert_true(err[0] != '\0');
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
expect_sign_fail(const uint8_t *p, size_t len, const char *want)
{
	const uint8_t *sig = p;
	size_t siglen = 1;
	char err[256] = "";

	assert_int_equal(agent_parse_sign(p, len, &sig, &siglen, err,
	    sizeof(err)), -1);
	assert_null(sig);
	assert_int_equal(siglen, 0);
	assert_true(err[0] != '\0');
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

/* Every prefix fails: as received (the length disagrees) and with the
 * length rewritten to match (the contents are short). */
static void
test_identities_truncated(void **state)
{
	struct wb m;
	uint8_t *cut;
	size_t len;

	(void)state;
	wb_init(&m);
	build_identities(&m);
	for (len = 0; len < m.len; len++) {
		cut = malloc(len > 0 ? len : 1);
		assert_non_null(cut);
		memcpy(cut, m.p, len);
		expect_id_fail(cut, len, NULL);
		if (len >= 4) {
			put_u32(cut, (uint32_t)(len - 4));
			expect_id_fail(cut, len, NULL);
		}
		free(cut);
	}
	wb_free(&m);
}

static void
test_identities_garbage(void **state)
{
	struct agent_id *ids;
	struct wb m;
	uint8_t buf[96];
	uint32_t seed = 12345;
	size_t i, len;
	char err[256];
	int n, iter, x;

	(void)state;
	wb_init(&m);

	/* A count the bytes cannot hold is refused before allocating. */
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, UINT32_MAX);
	wb_u32(&m, 0);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "claims");

	/* Trailing bytes, a wrong type, the failure codes. */
	build_identities(&m);
	wb_u8(&m, 0);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "trailing");
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "unexpected agent message type 14");
	msg_begin(&m, SSH_AGENT_FAILURE);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "agent refused to list keys");
	msg_begin(&m, 30);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "agent refused to list keys");
	/* A length over the limit, even if the bytes were there. */
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, 0);
	msg_end(&m);
	put_u32(m.p, AGENT_MAX_MSG + 1);
	expect_id_fail(m.p, m.len, NULL);

	/* Random bytes behind a plausible header. */
	for (iter = 0; iter < 20000; iter++) {
		seed = seed * 1103515245 + 12345;
		len = 5 + seed % (sizeof(buf) - 5);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (uint8_t)(seed >> 16);
		}
		if (iter % 2 == 0)
			put_u32(buf, (uint32_t)(len - 4));
		if (iter % 4 < 2) {
			buf[4] = SSH_AGENT_IDENTITIES_ANSWER;
			put_u32(buf + 5, (uint32_t)(seed >> 8) % 3);
		}
		if (agent_parse_identities(buf, len, &ids, &n, err,
		    sizeof(err)) == 0)
			agent_ids_free(ids, n);
	}

	/* Every byte of a real answer flipped: skipped keys or errors. */
	build_identities(&m);
	for (i = 0; i < m.len; i++) {
		for (x = 1; x < 256; x <<= 1) {
			m.p[i] ^= (uint8_t)x;
			if (agent_parse_identities(m.p, m.len, &ids, &n, err,
			    sizeof(err)) == 0) {
				assert_true(n >= 0 && n <= 5);
				agent_ids_free(ids, n);
			}
			m.p[i] ^= (uint8_t)x;
		}
	}
	wb_free(&m);
}

static void
test_parse_sign(void **state)
{
	const uint8_t *sig;
	struct wb m, inner;
	uint8_t *cut;
	size_t siglen, len;
	char err[256];

	(void)state;
	wb_init(&m);
	build_sign_response(&m, ed, "ssh-ed25519");
	assert_int_equal(agent_parse_sign(m.p, m.len, &sig, &siglen, err,
	    sizeof(err)), 0);
	assert_ptr_equal(sig, m.p + 9);
	assert_int_equal(siglen, m.len - 9);
	assert_int_equal(key_verify(ed, "ssh-ed25519", sig, siglen, data,
	    sizeof(data)), 0);

	for (len = 0; len < m.len; len++) {
		cut = malloc(len > 0 ? len : 1);
		assert_non_null(cut);
		memcpy(cut, m.p, len);
		expect_sign_fail(cut, len, NULL);
		if (len >= 4) {
			put_u32(cut, (uint32_t)(len - 4));
			expect_sign_fail(cut, len, NULL);
		}
		free(cut);
	}

	wb_u8(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "trailing");

	/* The inner blob must be (string alg, string sig) exactly. */
	wb_init(&inner);
	wb_cstring(&inner, "ssh-ed25519");
	wb_cstring(&inner, "sig");
	wb_u8(&inner, 0);
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_string(&m, inner.p, inner.len);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_string(&m, inner.p, inner.len - 1);
	msg_end(&m);
	assert_int_equal(agent_parse_sign(m.p, m.len, &sig, &siglen, err,
	    sizeof(err)), 0);
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_string(&m, inner.p, 15);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	wb_free(&inner);
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_u32(&m, 8);
	wb_u32(&m, 0);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "unexpected agent message type 12");
	wb_free(&m);
}

static void
test_failure(void **state)
{
	static const uint8_t failure[] = { 0, 0, 0, 1, SSH_AGENT_FAILURE };
	static const uint8_t failure102[] = { 0, 0, 0, 1, 102 };
	static const uint8_t longer[] = { 0, 0, 0, 2, SSH_AGENT_FAILURE, 0 };

	(void)state;
	expect_sign_fail(failure, sizeof(failure), "agent refused to sign");
	expect_sign_fail(failure102, sizeof(failure102),
	    "agent refused to sign");
	expect_id_fail(failure, sizeof(failure), "agent refused to list keys");
	expect_sign_fail(longer, sizeof(longer), "agent refused to sign");
	expect_sign_fail(failure, sizeof(failure) - 1, "truncated");
}

/* The libuv side: a loop with a ticker so that run_until never blocks
 * longer than a tick, and callbacks that record what they got. */

struct ready_res {
	int			 calls;
	bool			 done;
	const struct agent_id	*ids;
	int			 n;
	char			 err[512];
	struct agent		*close_me;	/* agent_close inside the cb */
};

struct sign_res {
	int		 calls;
	bool		 done;
	bool		 failed;
	char		 err[512];
	uint8_t		 sig[4096];
	size_t		 siglen;
	struct agent	*close_me;
	/* Another request from inside the callback. */
	struct agent		*chain;
	const struct agent_id	*chain_id;
	const char		*chain_alg;
	struct sign_res		*chain_res;
	int			 chain_rv;
};

static void
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

static void
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

struct harness {
	uv_loop_t	loop;
	uv_timer_t	tick;
};

static void
h_init(struct harness *h)
{
	assert_int_equal(uv_loop_init(&h->loop), 0);
	uv_timer_init(&h->loop, &h->tick);
	uv_timer_start(&h->tick, tick_cb, 20, 20);
}

static void
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
static void
h_fini(struct harness *h)
{
	uv_close((uv_handle_t *)&h->tick, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&h->loop), 0);
}

static void
expect_open_error(const char *path, const char *want)
{
	struct harness h;
	struct ready_res r;
	struct agent *a;

	memset(&r, 0, sizeof(r));
	h_init(&h);
	a = agent_open(&h.loop, path, on_ready, &r);
	assert_non_null(a);
	assert_int_equal(r.calls, 0);
	run_until(&h, &r.done);
	assert_int_equal(r.calls, 1);
	if (strstr(r.err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r.err, want);
	assert_int_equal(agent_sign(a, NULL, "ssh-ed25519", data,
	    sizeof(data), on_sign, NULL), -1);
	assert_string_equal(agent_error(a), r.err);
	agent_close(a);
	h_fini(&h);
	assert_int_equal(r.calls, 1);
}

static void
test_open_errors(void **state)
{
	char path[96], longpath[200];
	struct sockaddr_un sun;
	int fd;

	(void)state;
	expect_open_error("/nonexistent-ferry-dir/agent.sock",
	    "cannot connect to agent at /nonexistent-ferry-dir/agent.sock: "
	    "no such file or directory");

	/* A socket nobody listens on. */
	snprintf(path, sizeof(path), "%s/deaf.sock", tmpdir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	{
		char want[200];

		snprintf(want, sizeof(want), "cannot connect to agent at %s: "
		    "connection refused", path);
		expect_open_error(path, want);
	}
	unlink(path);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	expect_open_error(longpath, "agent socket path too long");
	expect_open_error("", "empty agent socket path");
	unsetenv("SSH_AUTH_SOCK");
	expect_open_error(NULL, "SSH_AUTH_SOCK is not set");
}

/* Closing before anything happened, and from inside the ready callback:
 * no (further) callback, and the loop ends with nothing left open. */
static void
test_close_early(void **state)
{
	struct harness h;
	struct ready_res r;
	struct agent *a;

	(void)state;
	memset(&r, 0, sizeof(r));
	h_init(&h);
	a = agent_open(&h.loop, "/nonexistent-ferry-dir/agent.sock", on_ready,
	    &r);
	assert_non_null(a);
	agent_close(a);
	agent_close(NULL);
	h_fini(&h);
	assert_int_equal(r.calls, 0);

	memset(&r, 0, sizeof(r));
	h_init(&h);
	a = agent_open(&h.loop, "", on_ready, &r);
	agent_close(a);
	h_fini(&h);
	assert_int_equal(r.calls, 0);

	memset(&r, 0, sizeof(r));
	h_init(&h);
	a = agent_open(&h.loop, "/nonexistent-ferry-dir/agent.sock", on_ready,
	    &r);
	r.close_me = a;
	h_fini(&h);
	assert_int_equal(r.calls, 1);
}

/* A scripted agent: answers request i with replies[i], or hangs up when
 * that reply is empty or missing. Keeps the requests it got. */
#define FAKE_MAX	8

struct fake {
	uv_pipe_t	 server;
	uv_pipe_t	 conn;
	bool		 accepted;
	struct wb	 in;
	struct wb	 replies[FAKE_MAX];
	int		 nreplies;
	struct wb	 reqs[FAKE_MAX];
	int		 nreq;
	uv_write_t	 wreq[FAKE_MAX];
	bool		 hangup_after;	/* hang up once the last reply left */
	char		 path[128];
};

static void
fake_written(uv_write_t *req, int status)
{
	struct fake *f = req->data;

	if (status == 0 && f->hangup_after &&
	    req == &f->wreq[f->nreplies - 1] &&
	    !uv_is_closing((uv_handle_t *)&f->conn))
		uv_close((uv_handle_t *)&f->conn, NULL);
}

static void
fake_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct fake *f = hd->data;
	uint8_t *p;

	(void)suggested;
	p = wb_reserve(&f->in, 65536);
	*buf = uv_buf_init((char *)p, p != NULL ? 65536 : 0);
}

static void
fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct fake *f = s->data;
	uv_buf_t b;
	size_t mlen;
	int i;

	(void)buf;
	if (n < 0) {
		if (!uv_is_closing((uv_handle_t *)s))
			uv_close((uv_handle_t *)s, NULL);
		return;
	}
	f->in.len += (size_t)n;
	while (agent_frame(f->in.p, f->in.len, &mlen) == 1) {
		assert_true(f->nreq < FAKE_MAX);
		i = f->nreq++;
		wb_put(&f->reqs[i], f->in.p, mlen);
		memmove(f->in.p, f->in.p + mlen, f->in.len - mlen);
		f->in.len -= mlen;
		if (i >= f->nreplies || f->replies[i].len == 0) {
			uv_close((uv_handle_t *)s, NULL);
			return;
		}
		b = uv_buf_init((char *)f->replies[i].p,
		    (unsigned)f->replies[i].len);
		f->wreq[i].data = f;
		assert_int_equal(uv_write(&f->wreq[i], s, &b, 1,
		    fake_written), 0);
	}
}

static void
fake_connection(uv_stream_t *server, int status)
{
	struct fake *f = server->data;

	assert_int_equal(status, 0);
	assert_false(f->accepted);
	uv_pipe_init(server->loop, &f->conn, 0);
	f->conn.data = f;
	assert_int_equal(uv_accept(server, (uv_stream_t *)&f->conn), 0);
	f->accepted = true;
	uv_read_start((uv_stream_t *)&f->conn, fake_alloc, fake_read);
}

static void
fake_start(struct harness *h, struct fake *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < FAKE_MAX; i++) {
		wb_init(&f->replies[i]);
		wb_init(&f->reqs[i]);
	}
	snprintf(f->path, sizeof(f->path), "%s/fake.sock", tmpdir);
	unlink(f->path);
	uv_pipe_init(&h->loop, &f->server, 0);
	f->server.data = f;
	assert_int_equal(uv_pipe_bind(&f->server, f->path), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->server, 8,
	    fake_connection), 0);
}

static void
fake_stop(struct fake *f)
{
	uv_close((uv_handle_t *)&f->server, NULL);
	if (f->accepted && !uv_is_closing((uv_handle_t *)&f->conn))
		uv_close((uv_handle_t *)&f->conn, NULL);
}

/* After the loop ended. */
static void
fake_free(struct fake *f)
{
	int i;

	for (i = 0; i < FAKE_MAX; i++) {
		wb_free(&f->replies[i]);
		wb_free(&f->reqs[i]);
	}
	wb_free(&f->in);
	unlink(f->path);
}

/* An answer the fake sends makes agent_open fail with want. */
static void
expect_fake_open_error(const struct wb *reply, bool hangup, const char *want)
{
	struct harness h;
	struct fake f;
	struct ready_res r;
	struct agent *a;

	memset(&r, 0, sizeof(r));
	h_init(&h);
	fake_start(&h, &f);
	if (reply != NULL) {
		wb_put(&f.replies[0], reply->p, reply->len);
		f.nreplies = 1;
	}
	f.hangup_after = hangup;
	a = agent_open(&h.loop, f.path, on_ready, &r);
	run_until(&h, &r.done);
	if (strstr(r.err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r.err, want);
	assert_int_equal(f.nreq, 1);
	assert_int_equal(f.reqs[0].len, 5);
	assert_int_equal(f.reqs[0].p[4], SSH_AGENTC_REQUEST_IDENTITIES);
	assert_int_equal(agent_sign(a, NULL, NULL, data, sizeof(data),
	    on_sign, NULL), -1);
	agent_close(a);
	fake_stop(&f);
	h_fini(&h);
	fake_free(&f);
	assert_int_equal(r.calls, 1);
}

static void
test_fake_bad_answers(void **state)
{
	struct wb m;

	(void)state;
	wb_init(&m);
	expect_fake_open_error(NULL, false, "closed the connection");

	build_identities(&m);
	m.len -= 3;
	msg_end(&m);
	expect_fake_open_error(&m, false, "truncated identities answer");

	msg_begin(&m, SSH_AGENT_FAILURE);
	msg_end(&m);
	expect_fake_open_error(&m, false, "agent refused to list keys");

	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, 0);
	msg_end(&m);
	put_u32(m.p, UINT32_MAX);
	expect_fake_open_error(&m, false, "invalid length 4294967295");

	/* Half a message, then the agent goes away. */
	build_identities(&m);
	m.len -= 10;
	expect_fake_open_error(&m, true, "closed the connection");
	wb_free(&m);
}

/* A conversation: identities, a refusal, a signature checked byte for
 * byte against the request, a hang-up in the middle of a request. */
static void
test_fake_conversation(void **state)
{
	struct harness h;
	struct fake f;
	struct ready_res r;
	struct sign_res s1, s2, s3;
	struct agent *a;
	struct wb want, b;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	memset(&s3, 0, sizeof(s3));
	h_init(&h);
	fake_start(&h, &f);
	build_identities(&f.replies[0]);
	msg_begin(&f.replies[1], SSH_AGENT_FAILURE);
	msg_end(&f.replies[1]);
	build_sign_response(&f.replies[2], ec, "ecdsa-sha2-nistp256");
	f.nreplies = 3;		/* the fourth request: hang up */

	a = agent_open(&h.loop, f.path, on_ready, &r);
	run_until(&h, &r.done);
	assert_string_equal(r.err, "");
	assert_int_equal(r.n, 2);

	/* The refusal leaves the connection usable; the next request is
	 * made from inside the callback. */
	assert_int_equal(agent_sign(a, &r.ids[0], "ssh-ed25519", data,
	    sizeof(data), on_sign, &s1), 0);
	assert_int_equal(agent_sign(a, &r.ids[0], "ssh-ed25519", data,
	    sizeof(data), on_sign, &s2), -1);
	assert_string_equal(agent_error(a),
	    "agent is busy with another sign request");
	s1.chain = a;
	s1.chain_id = &r.ids[1];
	s1.chain_alg = "ecdsa-sha2-nistp256";
	s1.chain_res = &s2;
	run_until(&h, &s2.done);
	assert_true(s1.failed);
	assert_string_equal(s1.err, "agent refused to sign");
	assert_int_equal(s1.chain_rv, 0);
	assert_false(s2.failed);
	assert_int_equal(key_verify(ec, "ecdsa-sha2-nistp256", s2.sig,
	    s2.siglen, data, sizeof(data)), 0);
	assert_int_equal(f.nreq, 3);
	wb_init(&want);
	blob_of(ec, &b);
	assert_int_equal(agent_req_sign(&want, b.p, b.len, data, sizeof(data),
	    "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(f.reqs[2].len, want.len);
	assert_memory_equal(f.reqs[2].p, want.p, want.len);
	wb_free(&b);
	wb_free(&want);

	/* The agent hangs up on the next one. */
	assert_int_equal(agent_sign(a, &r.ids[0], "ssh-ed25519", data,
	    sizeof(data), on_sign, &s3), 0);
	run_until(&h, &s3.done);
	assert_true(s3.failed);
	if (strstr(s3.err, "closed the connection") == NULL)
		fail_msg("unexpected error \"%s\"", s3.err);
	assert_int_equal(agent_sign(a, &r.ids[0], "ssh-ed25519", data,
	    sizeof(data), on_sign, &s3), -1);
	assert_string_equal(agent_error(a), s3.err);
	assert_int_equal(s1.calls + s2.calls + s3.calls, 3);
	agent_close(a);
	fake_stop(&f);
	h_fini(&h);
	fake_free(&f);
}

/* A message nobody asked for breaks the connection without a callback;
 * the next request says why. */
static void
test_fake_unsolicited(void **state)
{
	struct harness h;
	struct fake f;
	struct ready_res r;
	struct agent *a;
	struct wb extra;

	(void)state;
	memset(&r, 0, sizeof(r));
	h_init(&h);
	fake_start(&h, &f);
	build_identities(&f.replies[0]);
	wb_init(&extra);
	msg_begin(&extra, SSH_AGENT_SIGN_RESPONSE);
	wb_u32(&extra, 0);
	msg_end(&extra);
	wb_put(&f.replies[0], extra.p, extra.len);
	wb_free(&extra);
	f.nreplies = 1;

	a = agent_open(&h.loop, f.path, on_ready, &r);
	run_until(&h, &r.done);
	assert_string_equal(r.err, "");
	assert_int_equal(r.n, 2);
	assert_int_equal(agent_sign(a, &r.ids[0], "ssh-ed25519", data,
	    sizeof(data), on_sign, NULL), -1);
	if (strstr(agent_error(a), "unexpected message type 14") == NULL)
		fail_msg("unexpected error \"%s\"", agent_error(a));
	agent_close(a);
	fake_stop(&f);
	h_fini(&h);
	fake_free(&f);
	assert_int_equal(r.calls, 1);
}

/* End to end with OpenSSH's ssh-agent. */

static int
keygen(const char *type, const char *bits, const char *name)
{
	char path[160], comment[64];
	char *argv[] = { "ssh-keygen", "-q", "-N", "", "-C", comment, "-f",
	    path, "-t", (char *)type, "-b", (char *)bits, NULL };

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	snprintf(comment, sizeof(comment), "ferry test %s", name);
	if (bits == NULL)
		argv[10] = NULL;
	return agentlab_run(argv, NULL);
}

static int
setup_agent(void **state)
{
	char k1[160], k2[160];
	char *add[] = { "ssh-add", k1, k2, NULL };

	(void)state;
	snprintf(agent_sock, sizeof(agent_sock), "%s/agent.sock", tmpdir);
	if (keygen("ed25519", NULL, "id_ed25519") != 0 ||
	    keygen("rsa", "2048", "id_rsa") != 0) {
		fprintf(stderr, "ssh-keygen failed\n");
		return -1;
	}
	if ((agent_pid = agentlab_start(agent_sock)) < 0)
		return -1;
	snprintf(k1, sizeof(k1), "%s/id_ed25519", tmpdir);
	snprintf(k2, sizeof(k2), "%s/id_rsa", tmpdir);
	if (agentlab_run(add, agent_sock) != 0) {
		fprintf(stderr, "ssh-add failed\n");
		agentlab_stop(&agent_pid);
		return -1;
	}
	return 0;
}

static int
teardown_agent(void **state)
{
	static const char *files[] = { "id_ed25519", "id_ed25519.pub",
	    "id_rsa", "id_rsa.pub", "agent.sock" };
	char path[160];
	size_t i;

	(void)state;
	agentlab_stop(&agent_pid);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	return 0;
}

/* The key of tmpdir/name.pub and its blob as the file spells it. */
static struct key *
pub_key(const char *name, uint8_t *blob, size_t *bloblen)
{
	char path[160], line[8192], *b64, *end;
	struct key *k;
	char err[256];
	FILE *fp;
	int n;

	snprintf(path, sizeof(path), "%s/%s.pub", tmpdir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	if (keyfile_parse_public(line, strlen(line), &k, err,
	    sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	b64 = strchr(line, ' ');
	assert_non_null(b64);
	b64++;
	end = strchr(b64, ' ');
	assert_non_null(end);
	n = b64_decode(b64, (size_t)(end - b64), blob, 4096);
	assert_true(n > 0);
	*bloblen = (size_t)n;
	return k;
}

static const struct agent_id *
find_id(const struct ready_res *r, const uint8_t *blob, size_t bloblen)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->ids[i].bloblen == bloblen &&
		    memcmp(r->ids[i].blob, blob, bloblen) == 0)
			return &r->ids[i];
	return NULL;
}

static void
sign_and_wait(struct harness *h, struct agent *a, const struct agent_id *id,
    const char *alg, struct sign_res *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(agent_sign(a, id, alg, data, sizeof(data), on_sign,
	    s), 0);
	run_until(h, &s->done);
	assert_int_equal(s->calls, 1);
}

static void
test_ssh_agent(void **state)
{
	struct harness h;
	struct ready_res r;
	struct sign_res s, s2;
	struct agent *a;
	struct key *ked, *krsa, *other;
	const struct agent_id *ided, *idrsa;
	struct agent_id fake_id;
	struct wb ob;
	uint8_t bed[4096], brsa[4096];
	size_t led, lrsa;
	struct rd rd;

	(void)state;
	ked = pub_key("id_ed25519", bed, &led);
	krsa = pub_key("id_rsa", brsa, &lrsa);
	memset(&r, 0, sizeof(r));
	h_init(&h);
	/* NULL: the path comes from SSH_AUTH_SOCK. */
	setenv("SSH_AUTH_SOCK", agent_sock, 1);
	a = agent_open(&h.loop, NULL, on_ready, &r);
	unsetenv("SSH_AUTH_SOCK");
	assert_non_null(a);
	run_until(&h, &r.done);
	assert_string_equal(r.err, "");
	assert_int_equal(r.n, 2);
	assert_non_null(ided = find_id(&r, bed, led));
	assert_non_null(idrsa = find_id(&r, brsa, lrsa));
	assert_true(key_equal(ided->key, ked));
	assert_true(key_equal(idrsa->key, krsa));
	assert_string_equal(ided->comment, "ferry test id_ed25519");
	assert_string_equal(idrsa->comment, "ferry test id_rsa");
	assert_string_equal(key_type_name(idrsa->key), "ssh-rsa");

	/* ed25519; a second request meanwhile is refused. */
	memset(&s, 0, sizeof(s));
	memset(&s2, 0, sizeof(s2));
	assert_int_equal(agent_sign(a, ided, "ssh-ed25519", data,
	    sizeof(data), on_sign, &s), 0);
	assert_int_equal(agent_sign(a, idrsa, "rsa-sha2-512", data,
	    sizeof(data), on_sign, &s2), -1);
	assert_string_equal(agent_error(a),
	    "agent is busy with another sign request");
	run_until(&h, &s.done);
	assert_string_equal(s.err, "");
	assert_int_equal(key_verify(ked, "ssh-ed25519", s.sig, s.siglen,
	    data, sizeof(data)), 0);
	assert_int_equal(key_verify(ided->key, "ssh-ed25519", s.sig, s.siglen,
	    data, sizeof(data) - 1), -1);
	assert_int_equal(s2.calls, 0);

	/* RSA: the flags pick the hash, and the blob names it. */
	sign_and_wait(&h, a, idrsa, "rsa-sha2-512", &s);
	assert_string_equal(s.err, "");
	rd_init(&rd, s.sig, s.siglen);
	assert_int_equal(rd_string_eq(&rd, "rsa-sha2-512"), 0);
	assert_int_equal(key_verify(krsa, "rsa-sha2-512", s.sig, s.siglen,
	    data, sizeof(data)), 0);
	sign_and_wait(&h, a, idrsa, "rsa-sha2-256", &s);
	assert_int_equal(key_verify(krsa, "rsa-sha2-256", s.sig, s.siglen,
	    data, sizeof(data)), 0);
	assert_int_equal(key_verify(krsa, "rsa-sha2-512", s.sig, s.siglen,
	    data, sizeof(data)), -1);

	/* A key the agent does not hold: refused, and the connection
	 * carries on. */
	assert_int_equal(key_generate(KEY_ED25519, &other), 0);
	wb_init(&ob);
	assert_int_equal(key_to_blob(other, &ob), 0);
	memset(&fake_id, 0, sizeof(fake_id));
	fake_id.key = other;
	fake_id.blob = ob.p;
	fake_id.bloblen = ob.len;
	sign_and_wait(&h, a, &fake_id, "ssh-ed25519", &s);
	assert_true(s.failed);
	assert_string_equal(s.err, "agent refused to sign");
	wb_free(&ob);
	key_free(other);

	/* The last one closes the agent from inside its callback. */
	memset(&s, 0, sizeof(s));
	s.close_me = a;
	assert_int_equal(agent_sign(a, ided, "ssh-ed25519", data,
	    sizeof(data), on_sign, &s), 0);
	run_until(&h, &s.done);
	assert_int_equal(key_verify(ked, "ssh-ed25519", s.sig, s.siglen,
	    data, sizeof(data)), 0);
	h_fini(&h);
	assert_int_equal(s.calls, 1);
	assert_int_equal(r.calls, 1);
	key_free(ked);
	key_free(krsa);
}

/* Closing with a request pending: its callback never fires. */
static void
test_ssh_agent_close_pending(void **state)
{
	struct harness h;
	struct ready_res r;
	struct sign_res s;
	struct agent *a;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	h_init(&h);
	a = agent_open(&h.loop, agent_sock, on_ready, &r);
	run_until(&h, &r.done);
	assert_int_equal(r.n, 2);
	assert_int_equal(agent_sign(a, &r.ids[0], NULL, data, sizeof(data),
	    on_sign, &s), 0);
	agent_close(a);
	assert_int_equal(agent_sign(a, &r.ids[0], NULL, data, sizeof(data),
	    on_sign, &s), -1);
	assert_string_equal(agent_error(a), "agent connection is closed");
	h_fini(&h);
	assert_int_equal(s.calls, 0);
}

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-agent-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int
teardown_dir(void **state)
{
	(void)state;
	rmdir(tmpdir);
	return 0;
}

static int
setup_all(void **state)
{
	if (setup_dir(state) != 0 || setup_keys(state) != 0)
		return -1;
	return 0;
}

static int
teardown_all(void **state)
{
	teardown_keys(state);
	return teardown_dir(state);
}

static int
setup_e2e(void **state)
{
	if (setup_dir(state) != 0)
		return -1;
	if (setup_agent(state) != 0) {
		teardown_agent(state);
		teardown_dir(state);
		return -1;
	}
	return 0;
}

static int
teardown_e2e(void **state)
{
	teardown_agent(state);
	return teardown_dir(state);
}

int
main(void)
{
	const struct CMUnitTest codec[] = {
		cmocka_unit_test(test_req_identities),
		cmocka_unit_test(test_req_sign),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_parse_identities),
		cmocka_unit_test(test_identities_truncated),
		cmocka_unit_test(test_identities_garbage),
		cmocka_unit_test(test_parse_sign),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_close_early),
		cmocka_unit_test(test_fake_bad_answers),
		cmocka_unit_test(test_fake_conversation),
		cmocka_unit_test(test_fake_unsolicited),
	};
	const struct CMUnitTest e2e[] = {
		cmocka_unit_test(test_ssh_agent),
		cmocka_unit_test(test_ssh_agent_close_pending),
	};
	int fails;

	fails = cmocka_run_group_tests_name("agent codec and client", codec,
	    setup_all, teardown_all);
	fails += cmocka_run_group_tests_name("agent vs OpenSSH ssh-agent",
	    e2e, setup_e2e, teardown_e2e);
	return fails;
}
