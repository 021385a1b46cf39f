/* libFuzzer target: the ssh-agent replies ferry parses (keys/agent.c), the
 * input being one message as the agent sends it. Its length field is
 * taken as given and also rewritten to match, so that mutations reach
 * the contents. An identities answer that parses has its keys and
 * certificates exercised as the client uses them; a sign response has
 * its signature checked against the algorithms the client asks for. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/agent.h"
#include "keys/cert.h"
#include "keys/key.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
identities(const uint8_t *msg, size_t len)
{
	struct agent_id *ids;
	char err[256], fp[80];
	int n, i;

	if (agent_parse_identities(msg, len, &ids, &n, err, sizeof(err)) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (ids[i].key == NULL || ids[i].comment == NULL ||
		    ids[i].bloblen > len)
			abort();
		if (ids[i].cert != NULL && (ids[i].key != ids[i].cert->key ||
		    ids[i].cert->bloblen != ids[i].bloblen))
			abort();
		(void)key_fingerprint(ids[i].key, fp, sizeof(fp));
		(void)key_bits(ids[i].key);
		if (ids[i].cert != NULL)
			(void)cert_auth_alg(ids[i].cert, true);
	}
	agent_ids_free(ids, n);
}

static void
signature(const uint8_t *msg, size_t len)
{
	static const char *const algs[] = { "ssh-ed25519",
	    "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256", NULL };
	const uint8_t *sig;
	size_t siglen, i;
	char err[256];

	if (agent_parse_sign(msg, len, &sig, &siglen, err, sizeof(err)) != 0)
		return;
	if (sig < msg || sig + siglen > msg + len)
		abort();
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		(void)agent_sig_check(sig, siglen, algs[i], err, sizeof(err));
}

static void
one(const uint8_t *msg, size_t len)
{
	size_t msglen;

	if (agent_frame(msg, len, &msglen) == 1 && msglen > len)
		abort();
	identities(msg, len);
	signature(msg, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	one(data, size);
	if (size < 5 || size - 4 > AGENT_MAX_MSG ||
	    (copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	put_u32(copy, (uint32_t)(size - 4));
	one(copy, size);
	free(copy);
	return 0;
}
