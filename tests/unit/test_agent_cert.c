/* Unit tests for certificate identities in the ssh-agent codec
 * (keys/agent.c): OpenSSH user and host certificates made by ssh-keygen
 * (data/certs, see gen.sh there) in an identities answer, cut and
 * corrupted; the sign flags and the signature check for certificate
 * algorithms; and OpenSSH's ssh-agent holding certificates that ssh-add
 * loaded beside their keys, spoken to over a blocking socket: it lists
 * them, and signs with a certificate's blob, with or without the plain
 * key beside it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/agent.h"
#include "keys/cert.h"
#include "keys/key.h"
#include "ssh/buf.h"
#include "agentlab.h"

#define DATA	"data/certs/"
#define KEYS	"data/keys/"

static const uint8_t data[] = "session id and userauth request: the data "
    "a publickey signature covers";

static struct cert *
load(const char *name)
{
	char path[128], err[256];
	struct cert *c;

	snprintf(path, sizeof(path), DATA "%s-cert.pub", name);
	if (cert_load_file(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	return c;
}

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

/* The certificates of the answer below, in its order. */
static const char *const names[] = { "user_ed25519", "host_ed25519",
    "user_rsa", "user_ecdsa", "expired_ed25519" };
#define NNAMES	(sizeof(names) / sizeof(names[0]))

/* A plain ed25519 key, the certificates of names, and a certificate
 * whose body is junk; ferry keeps all but the last. */
static void
build_answer(struct wb *m, struct cert **certs)
{
	struct wb plain, junk;
	uint8_t bytes[40];
	size_t i;

	memset(bytes, 0x5a, sizeof(bytes));
	wb_init(&plain);
	assert_int_equal(key_to_blob(certs[0]->key, &plain), 0);
	wb_init(&junk);
	wb_cstring(&junk, "ssh-ed25519-cert-v01@openssh.com");
	wb_string(&junk, bytes, sizeof(bytes));
	msg_begin(m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(m, (uint32_t)NNAMES + 2);
	wb_string(m, plain.p, plain.len);
	wb_cstring(m, "plain key");
	for (i = 0; i < NNAMES; i++) {
		wb_string(m, certs[i]->blob, certs[i]->bloblen);
		wb_cstring(m, names[i]);
	}
	wb_string(m, junk.p, junk.len);
	wb_cstring(m, "junk certificate");
	msg_end(m);
	wb_free(&plain);
	wb_free(&junk);
}

static void
load_all(struct cert **certs)
{
	size_t i;

	for (i = 0; i < NNAMES; i++)
		certs[i] = load(names[i]);
}

static void
free_all(struct cert **certs)
{
	size_t i;

	for (i = 0; i < NNAMES; i++)
		cert_free(certs[i]);
}

static void
test_parse_cert_ids(void **state)
{
	struct cert *certs[NNAMES];
	struct agent_id *ids;
	struct wb m;
	char err[256];
	size_t i;
	int n;

	(void)state;
	load_all(certs);
	wb_init(&m);
	build_answer(&m, certs);
	assert_int_equal(agent_parse_identities(m.p, m.len, &ids, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, (int)NNAMES + 1);
	assert_null(ids[0].cert);
	assert_string_equal(ids[0].comment, "plain key");
	for (i = 0; i < NNAMES; i++) {
		const struct agent_id *id = &ids[i + 1];

		assert_non_null(id->cert);
		assert_ptr_equal(id->key, id->cert->key);
		assert_true(key_equal(id->key, certs[i]->key));
		assert_false(id->key->has_private);
		assert_string_equal(id->comment, names[i]);
		assert_int_equal(id->bloblen, certs[i]->bloblen);
		assert_memory_equal(id->blob, certs[i]->blob, id->bloblen);
		assert_int_equal(id->cert->bloblen, certs[i]->bloblen);
		assert_string_equal(id->cert->type_name, certs[i]->type_name);
		assert_int_equal(id->cert->serial, certs[i]->serial);
		assert_string_equal(id->cert->key_id, certs[i]->key_id);
	}
	/* The same key, plain and certified. */
	assert_true(key_equal(ids[0].key, ids[1].key));
	assert_int_equal(ids[1].cert->serial, 42);
	assert_string_equal(ids[1].cert->key_id, "ferry-user");
	assert_int_equal(ids[1].cert->type, CERT_USER);
	/* A host certificate is parsed; the client leaves it out. */
	assert_int_equal(ids[2].cert->type, CERT_HOST);
	assert_string_equal(ids[3].cert->type_name,
	    "ssh-rsa-cert-v01@openssh.com");
	assert_int_equal(ids[3].key->type, KEY_RSA);
	assert_string_equal(ids[4].cert->type_name,
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	agent_ids_free(ids, n);
	wb_free(&m);
	free_all(certs);
}

/* Every prefix fails (the length as received, and rewritten to match);
 * a bit flipped in every byte either parses (fewer or altered identities) or fails
 * with a reason: under ASan nothing leaks or reads past the end. */
static void
test_cert_ids_damaged(void **state)
{
	struct cert *certs[NNAMES];
	struct agent_id *ids = NULL;
	struct wb m;
	uint8_t *cut;
	char err[256];
	size_t len, i;
	int n, x;

	(void)state;
	load_all(certs);
	wb_init(&m);
	build_answer(&m, certs);
	for (len = 0; len < m.len; len++) {
		assert_non_null(cut = malloc(len > 0 ? len : 1));
		memcpy(cut, m.p, len);
		assert_int_equal(agent_parse_identities(cut, len, &ids, &n,
		    err, sizeof(err)), -1);
		assert_null(ids);
		if (len >= 4) {
			put_u32(cut, (uint32_t)(len - 4));
			assert_int_equal(agent_parse_identities(cut, len, &ids,
			    &n, err, sizeof(err)), -1);
			assert_true(err[0] != '\0');
		}
		free(cut);
	}
	/* one bit a byte, low and high in turn: lengths, counts, text */
	for (i = 4; i < m.len; i++) {
		x = i % 2 == 0 ? 0x01 : 0x80;
		m.p[i] ^= (uint8_t)x;
		err[0] = '\0';
		if (agent_parse_identities(m.p, m.len, &ids, &n, err,
		    sizeof(err)) == 0) {
			assert_true(n >= 0 && n <= (int)NNAMES + 2);
			agent_ids_free(ids, n);
		} else
			assert_true(err[0] != '\0');
		m.p[i] ^= (uint8_t)x;
	}
	wb_free(&m);
	free_all(certs);
}

/* The flags word that ends a sign request. */
static uint32_t
flags_for(const struct cert *c, const char *sigalg)
{
	struct wb w;
	uint32_t f;
	struct rd r;
	const uint8_t *blob, *d;
	size_t bloblen, dlen;
	uint32_t len;
	uint8_t type;

	wb_init(&w);
	assert_int_equal(agent_req_sign(&w, c->blob, c->bloblen, data,
	    sizeof(data), sigalg), 0);
	rd_init(&r, w.p, w.len);
	assert_int_equal(rd_u32(&r, &len), 0);
	assert_int_equal(rd_u8(&r, &type), 0);
	assert_int_equal(type, SSH_AGENTC_SIGN_REQUEST);
	assert_int_equal(rd_string(&r, &blob, &bloblen), 0);
	assert_int_equal(bloblen, c->bloblen);
	assert_memory_equal(blob, c->blob, bloblen);
	assert_int_equal(rd_string(&r, &d, &dlen), 0);
	assert_int_equal(rd_u32(&r, &f), 0);
	assert_int_equal(rd_left(&r), 0);
	wb_free(&w);
	return f;
}

static void
test_sign_flags_cert(void **state)
{
	struct cert *rsa = load("user_rsa"), *ed = load("user_ed25519");

	(void)state;
	assert_int_equal(flags_for(rsa, "rsa-sha2-256-cert-v01@openssh.com"),
	    SSH_AGENT_RSA_SHA2_256);
	assert_int_equal(flags_for(rsa, "rsa-sha2-512-cert-v01@openssh.com"),
	    SSH_AGENT_RSA_SHA2_512);
	assert_int_equal(flags_for(rsa, "rsa-sha2-256"),
	    SSH_AGENT_RSA_SHA2_256);
	assert_int_equal(flags_for(rsa, "ssh-rsa-cert-v01@openssh.com"), 0);
	assert_int_equal(flags_for(ed, "ssh-ed25519-cert-v01@openssh.com"), 0);
	assert_int_equal(flags_for(ed, NULL), 0);
	cert_free(rsa);
	cert_free(ed);
}

static void
sig_is(const char *sig_name, const char *sigalg, int want,
    const char *msg)
{
	struct wb s;
	char err[256] = "";

	wb_init(&s);
	wb_cstring(&s, sig_name);
	wb_cstring(&s, "raw signature bytes");
	assert_int_equal(agent_sig_check(s.p, s.len, sigalg, err,
	    sizeof(err)), want);
	if (msg != NULL)
		assert_string_equal(err, msg);
	wb_free(&s);
}

static void
test_sig_check(void **state)
{
	char err[256] = "";

	(void)state;
	sig_is("rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com", 0,
	    "");
	sig_is("rsa-sha2-256", "rsa-sha2-256-cert-v01@openssh.com", 0,
	    "");
	sig_is("rsa-sha2-256", "rsa-sha2-256", 0, "");
	sig_is("ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", 0, "");
	sig_is("ssh-rsa", "rsa-sha2-512-cert-v01@openssh.com", -1,
	    "agent signed with ssh-rsa, not the rsa-sha2-512 asked for");
	sig_is("rsa-sha2-256", "rsa-sha2-512", -1,
	    "agent signed with rsa-sha2-256, not the rsa-sha2-512 asked for");
	sig_is("evil\033[2J", "ssh-ed25519", -1,
	    "agent signed with evil\\x1b[2J, not the ssh-ed25519 asked for");
	sig_is("anything", NULL, 0, "");
	assert_int_equal(agent_sig_check((const uint8_t *)"\0\0\0\x09" "ab", 6,
	    "ssh-ed25519", err, sizeof(err)), -1);
	assert_string_equal(err, "malformed signature from agent");
}

/* End to end with OpenSSH's ssh-agent. */

static char tmpdir[64];
static char sock_path[128];
static pid_t agent_pid = -1;

/* Copies src to tmpdir/name (mode 0600). */
static int
copy_file(const char *src, const char *name)
{
	char dst[160], buf[16384];
	FILE *in, *out;
	size_t n;
	int rc = 0;

	snprintf(dst, sizeof(dst), "%s/%s", tmpdir, name);
	if ((in = fopen(src, "rb")) == NULL)
		return -1;
	if ((out = fopen(dst, "wb")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	fclose(in);
	if (fclose(out) != 0 || chmod(dst, 0600) != 0)
		rc = -1;
	return rc;
}

static const char *const files[] = { "id_ed25519", "id_ed25519.pub",
    "id_ed25519-cert.pub", "id_rsa", "id_rsa.pub", "id_rsa-cert.pub" };
#define NFILES	(sizeof(files) / sizeof(files[0]))

static int
setup_agent(void **state)
{
	static const char *const src[NFILES] = { KEYS "id_ed25519",
	    KEYS "id_ed25519.pub", DATA "user_ed25519-cert.pub", KEYS "id_rsa",
	    KEYS "id_rsa.pub", DATA "user_rsa-cert.pub" };
	char k1[160], k2[160];
	char *add[] = { "ssh-add", k1, k2, NULL };
	size_t i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-agentcert-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	for (i = 0; i < NFILES; i++)
		if (copy_file(src[i], files[i]) != 0) {
			fprintf(stderr, "cannot copy %s\n", src[i]);
			return -1;
		}
	snprintf(sock_path, sizeof(sock_path), "%s/agent.sock", tmpdir);
	snprintf(k1, sizeof(k1), "%s/id_ed25519", tmpdir);
	snprintf(k2, sizeof(k2), "%s/id_rsa", tmpdir);
	if ((agent_pid = agentlab_start(sock_path)) < 0)
		return -1;
	if (agentlab_run(add, sock_path) != 0) {
		fprintf(stderr, "ssh-add failed\n");
		agentlab_stop(&agent_pid);
		return -1;
	}
	return 0;
}

static int
teardown_agent(void **state)
{
	char path[160];
	size_t i;

	(void)state;
	agentlab_stop(&agent_pid);
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	unlink(sock_path);
	rmdir(tmpdir);
	return 0;
}

/* One request and its answer over a new blocking connection (5 s at
 * most each way); the answer goes to reply as one whole message. */
static void
ask(const struct wb *req, struct wb *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	uint8_t buf[4096];
	size_t msglen;
	ssize_t n;
	int fd;

	assert_true(strlen(sock_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req->p, req->len), (ssize_t)req->len);
	wb_reset(reply);
	while (agent_frame(reply->p, reply->len, &msglen) == 0) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			fail_msg("agent read: %s", n < 0 ? strerror(errno) :
			    "end of file");
		wb_put(reply, buf, (size_t)n);
	}
	assert_int_equal(agent_frame(reply->p, reply->len, &msglen), 1);
	assert_int_equal(msglen, reply->len);
	close(fd);
}

static int
list(struct agent_id **ids)
{
	struct wb req, reply;
	char err[256];
	int n;

	wb_init(&req);
	wb_init(&reply);
	assert_int_equal(agent_req_identities(&req), 0);
	ask(&req, &reply);
	if (agent_parse_identities(reply.p, reply.len, ids, &n, err,
	    sizeof(err)) != 0)
		fail_msg("identities: %s", err);
	wb_free(&req);
	wb_free(&reply);
	return n;
}

static const struct agent_id *
find(const struct agent_id *ids, int n, enum key_type type, bool cert)
{
	int i;

	for (i = 0; i < n; i++)
		if (ids[i].key->type == type && (ids[i].cert != NULL) == cert)
			return &ids[i];
	return NULL;
}

/* The agent signs with id's blob under sigalg; the signature is
 * checked (agent_sig_check) and verified with the key. */
static void
sign_verify(const struct agent_id *id, const char *sigalg,
    const char *want_sig)
{
	struct wb req, reply;
	const uint8_t *sig;
	size_t siglen;
	char err[256];

	wb_init(&req);
	wb_init(&reply);
	assert_int_equal(agent_req_sign(&req, id->blob, id->bloblen, data,
	    sizeof(data), sigalg), 0);
	ask(&req, &reply);
	if (agent_parse_sign(reply.p, reply.len, &sig, &siglen, err,
	    sizeof(err)) != 0)
		fail_msg("%s: %s", sigalg, err);
	if (agent_sig_check(sig, siglen, sigalg, err, sizeof(err)) != 0)
		fail_msg("%s: %s", sigalg, err);
	assert_int_equal(key_verify(id->key, want_sig, sig, siglen, data,
	    sizeof(data)), 0);
	wb_free(&req);
	wb_free(&reply);
}

static void
test_ssh_agent_certs(void **state)
{
	struct cert *ced = load("user_ed25519"), *crsa = load("user_rsa");
	const struct agent_id *id;
	struct agent_id *ids;
	char pub[160];
	char *del[] = { "ssh-add", "-k", "-d", pub, NULL };
	int n;

	(void)state;
	/* ssh-add put each key and its -cert.pub in the agent. */
	n = list(&ids);
	assert_int_equal(n, 4);
	assert_non_null(id = find(ids, n, KEY_ED25519, true));
	assert_int_equal(id->bloblen, ced->bloblen);
	assert_memory_equal(id->blob, ced->blob, ced->bloblen);
	assert_string_equal(id->cert->key_id, "ferry-user");
	assert_true(key_equal(id->key, find(ids, n, KEY_ED25519,
	    false)->key));
	sign_verify(id, "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519");
	assert_non_null(id = find(ids, n, KEY_RSA, true));
	assert_memory_equal(id->blob, crsa->blob, crsa->bloblen);
	sign_verify(id, "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-256");
	sign_verify(id, "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-512");
	agent_ids_free(ids, n);

	/* Without its plain key the certificate still signs. */
	snprintf(pub, sizeof(pub), "%s/id_rsa.pub", tmpdir);
	assert_int_equal(agentlab_run(del, sock_path), 0);
	n = list(&ids);
	assert_int_equal(n, 3);
	assert_null(find(ids, n, KEY_RSA, false));
	assert_non_null(id = find(ids, n, KEY_RSA, true));
	sign_verify(id, "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-512");
	agent_ids_free(ids, n);
	cert_free(ced);
	cert_free(crsa);
}

int
main(void)
{
	const struct CMUnitTest codec[] = {
		cmocka_unit_test(test_parse_cert_ids),
		cmocka_unit_test(test_cert_ids_damaged),
		cmocka_unit_test(test_sign_flags_cert),
		cmocka_unit_test(test_sig_check),
	};
	const struct CMUnitTest e2e[] = {
		cmocka_unit_test(test_ssh_agent_certs),
	};
	int fails;

	fails = cmocka_run_group_tests_name("agent certificates", codec, NULL,
	    NULL);
	fails += cmocka_run_group_tests_name("ssh-agent certificates", e2e,
	    setup_agent, teardown_agent);
	return fails;
}
