/* Unit tests for the ssh-agent client (net/agent.c): against a scripted
 * fake agent in the same loop, and end to end against OpenSSH's ssh-agent
 * holding keys that ssh-keygen made and ssh-add loaded (the codec alone:
 * test_agent.c). */
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

#include "agentkit.h"
#include "agentlab.h"
#include "keys/keyfile.h"

/* The end-to-end fixture: ssh-agent's pid, its socket, the key files. */
static char tmpdir[64];
static char agent_sock[128];
static pid_t agent_pid = -1;

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
	const struct CMUnitTest client[] = {
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

	fails = cmocka_run_group_tests_name("agent client vs a fake agent", client,
	    setup_all, teardown_all);
	fails += cmocka_run_group_tests_name("agent vs OpenSSH ssh-agent",
	    e2e, setup_e2e, teardown_e2e);
	return fails;
}
