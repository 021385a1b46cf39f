/* ssh-agent protocol codec, client side: no sockets here, so the parsers
 * can be fed truncated and hostile input by unit tests and fuzzers. */
#include "agent.h"
#include "cert.h"
#include "util/err.h"
#include "util/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Other failure codes OpenSSH's client also accepts from old agents. */
#define SSH2_AGENT_FAILURE	30
#define SSH_COM_AGENT2_FAILURE	102

int
agent_req_identities(struct wb *w)
{
	wb_u32(w, 1);
	wb_u8(w, SSH_AGENTC_REQUEST_IDENTITIES);
	return w->err ? -1 : 0;
}

/* The signature algorithm of sigalg: a certificate algorithm's
 * signature's, any other name itself. */
static const char *
plain_sig_alg(const char *sigalg)
{
	enum key_type type;
	const char *s = cert_sig_alg(sigalg, &type);

	return s != NULL ? s : sigalg;
}

/* The flag asking an RSA key for a SHA-2 signature (RFC 8332); other key
 * types have only one signature algorithm. */
static uint32_t
sign_flags(const char *sigalg)
{
	if (sigalg == NULL)
		return 0;
	sigalg = plain_sig_alg(sigalg);
	if (strcmp(sigalg, "rsa-sha2-256") == 0)
		return SSH_AGENT_RSA_SHA2_256;
	if (strcmp(sigalg, "rsa-sha2-512") == 0)
		return SSH_AGENT_RSA_SHA2_512;
	return 0;
}

int
agent_req_sign(struct wb *w, const uint8_t *blob, size_t bloblen,
    const uint8_t *data, size_t dlen, const char *sigalg)
{
	size_t body;

	/* Checked one by one first so the sum cannot overflow. */
	if (bloblen > AGENT_MAX_MSG || dlen > AGENT_MAX_MSG)
		return -1;
	body = 1 + 4 + bloblen + 4 + dlen + 4;
	if (body > AGENT_MAX_MSG)
		return -1;
	wb_u32(w, (uint32_t)body);
	wb_u8(w, SSH_AGENTC_SIGN_REQUEST);
	wb_string(w, blob, bloblen);
	wb_string(w, data, dlen);
	wb_u32(w, sign_flags(sigalg));
	return w->err ? -1 : 0;
}

int
agent_frame(const uint8_t *p, size_t len, size_t *msglen)
{
	uint32_t n;

	if (len < 4)
		return 0;
	n = get_u32(p);
	if (n == 0 || n > AGENT_MAX_MSG)
		return -1;
	if (len - 4 < n)
		return 0;
	*msglen = (size_t)n + 4;
	return 1;
}

static int
is_failure(uint8_t type)
{
	return type == SSH_AGENT_FAILURE || type == SSH2_AGENT_FAILURE ||
	    type == SSH_COM_AGENT2_FAILURE;
}

/* Checks the frame's length and type and leaves r at the contents. A
 * failure reply gives the caller's refusal message. */
static int
msg_open(struct rd *r, const uint8_t *msg, size_t len, uint8_t want,
    const char *refused, char *err, size_t errlen)
{
	uint32_t n;
	uint8_t type;

	rd_init(r, msg, len);
	if (rd_u32(r, &n) != 0 || rd_u8(r, &type) != 0) {
		seterr(err, errlen, "truncated agent message (%zu bytes)",
		    len);
		return -1;
	}
	if (n == 0 || n > AGENT_MAX_MSG || n != len - 4) {
		seterr(err, errlen, "agent message length %u does not match "
		    "the %zu bytes received", n, len - 4);
		return -1;
	}
	if (is_failure(type)) {
		seterr(err, errlen, "%s", refused);
		return -1;
	}
	if (type != want) {
		seterr(err, errlen, "unexpected agent message type %u "
		    "(expected %u)", type, want);
		return -1;
	}
	return 0;
}

void
agent_ids_free(struct agent_id *ids, int n)
{
	int i;

	if (ids == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (ids[i].cert != NULL)
			cert_free(ids[i].cert);
		else
			key_free(ids[i].key);
		free(ids[i].blob);
		free(ids[i].comment);
	}
	free(ids);
}

/* The key or certificate of a blob, 0; -1 when ferry cannot use it. */
static int
parse_key_blob(const uint8_t *blob, size_t len, struct agent_id *id)
{
	struct rd r;
	const uint8_t *name;
	size_t nlen;
	char err[128];

	rd_init(&r, blob, len);
	if (rd_string(&r, &name, &nlen) == 0 &&
	    cert_is_type_name((const char *)name, nlen)) {
		if (cert_parse(blob, len, &id->cert, err, sizeof(err)) != 0)
			return -1;
		id->key = id->cert->key;
		return 0;
	}
	return key_from_blob(blob, len, &id->key, err, sizeof(err));
}

int
agent_parse_identities(const uint8_t *msg, size_t len, struct agent_id **ids,
    int *n, char *err, size_t errlen)
{
	struct rd r;
	struct agent_id *v = NULL, *id;
	const uint8_t *blob, *comment;
	size_t bloblen, clen;
	uint32_t nkeys, i;
	int got = 0, rv = -1;

	*ids = NULL;
	*n = 0;
	if (msg_open(&r, msg, len, SSH_AGENT_IDENTITIES_ANSWER,
	    "agent refused to list keys", err, errlen) != 0)
		return -1;
	if (rd_u32(&r, &nkeys) != 0) {
		seterr(err, errlen, "truncated identities answer from agent");
		goto out;
	}
	/* Each entry takes at least 8 bytes: this bounds the allocation. */
	if (nkeys > rd_left(&r) / 8) {
		seterr(err, errlen, "agent claims %u keys in %zu bytes",
		    nkeys, rd_left(&r));
		goto out;
	}
	if ((v = calloc(nkeys > 0 ? nkeys : 1, sizeof(*v))) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		if (rd_string(&r, &blob, &bloblen) != 0 ||
		    rd_string(&r, &comment, &clen) != 0) {
			seterr(err, errlen, "truncated identities answer from "
			    "agent (key %u of %u)", i + 1, nkeys);
			goto out;
		}
		id = &v[got];
		if (parse_key_blob(blob, bloblen, id) != 0)
			continue;
		got++;
		if ((id->blob = malloc(bloblen)) == NULL ||
		    (id->comment = malloc(clen + 1)) == NULL) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
		memcpy(id->blob, blob, bloblen);
		id->bloblen = bloblen;
		memcpy(id->comment, comment, clen);
		id->comment[clen] = '\0';
	}
	if (rd_left(&r) != 0) {
		seterr(err, errlen, "%zu trailing bytes after identities "
		    "answer from agent", rd_left(&r));
		goto out;
	}
	*ids = v;
	*n = got;
	v = NULL;
	rv = 0;
out:
	agent_ids_free(v, got);
	return rv;
}

int
agent_parse_sign(const uint8_t *msg, size_t len, const uint8_t **sig,
    size_t *siglen, char *err, size_t errlen)
{
	struct rd r, sr;
	const uint8_t *s, *alg, *raw;
	size_t slen, alen, rawlen;

	*sig = NULL;
	*siglen = 0;
	if (msg_open(&r, msg, len, SSH_AGENT_SIGN_RESPONSE,
	    "agent refused to sign", err, errlen) != 0)
		return -1;
	if (rd_string(&r, &s, &slen) != 0) {
		seterr(err, errlen, "truncated sign response from agent");
		return -1;
	}
	if (rd_left(&r) != 0) {
		seterr(err, errlen, "%zu trailing bytes after sign response "
		    "from agent", rd_left(&r));
		return -1;
	}
	rd_init(&sr, s, slen);
	if (rd_string(&sr, &alg, &alen) != 0 ||
	    rd_string(&sr, &raw, &rawlen) != 0 || alen == 0 ||
	    rd_left(&sr) != 0) {
		seterr(err, errlen, "malformed signature from agent");
		return -1;
	}
	*sig = s;
	*siglen = slen;
	return 0;
}

int
agent_sig_check(const uint8_t *sig, size_t siglen, const char *sigalg,
    char *err, size_t errlen)
{
	char got[64], safe[sizeof(got) * 4];
	struct rd r;

	if (sigalg == NULL)
		return 0;
	sigalg = plain_sig_alg(sigalg);
	rd_init(&r, sig, siglen);
	if (rd_cstring(&r, got, sizeof(got)) != 0) {
		seterr(err, errlen, "malformed signature from agent");
		return -1;
	}
	if (strcmp(got, sigalg) != 0) {
		text_safe(safe, sizeof(safe), got, false);
		seterr(err, errlen, "agent signed with %s, not the %s asked "
		    "for", safe, sigalg);
		return -1;
	}
	return 0;
}
