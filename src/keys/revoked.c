/* Revoked key files: an OpenSSH KRL or a list of public keys (ferryd's
 * RevokedKeys, ferry's RevokedHostKeys). */
#include "keys/revoked.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "keys/keyfile.h"
#include "keys/krl.h"
#include "util/err.h"
#include "util/readfile.h"

/* Key types OpenSSH reads and ferry does not: a list line of one is
 * skipped (it cannot match a key ferry takes), not an error. */
static const char *const openssh_only[] = {
	"ssh-dss", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
	"ssh-xmss@openssh.com", "ssh-dss-cert-v01@openssh.com",
	"ecdsa-sha2-nistp384-cert-v01@openssh.com",
	"ecdsa-sha2-nistp521-cert-v01@openssh.com",
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
	"sk-ssh-ed25519-cert-v01@openssh.com", "ssh-xmss-cert-v01@openssh.com",
};

/* readfile's reasons name the file; ours leave that to the caller. */
static void
drop_path(char *why, const char *path)
{
	size_t n = strlen(path);

	if (strncmp(why, path, n) == 0 && strncmp(why + n, ": ", 2) == 0)
		memmove(why, why + n + 2, strlen(why + n + 2) + 1);
}

/* Reads the whole file (at most KRL_MAX_SIZE) into *buf. */
static int
read_all(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = -1;

	if ((fd = readfile_open(path, READFILE_NONBLOCK, &st, err,
	    errlen)) < 0) {
		drop_path(err, path);
		return -1;
	}
	if (st.st_size > KRL_MAX_SIZE) {
		seterr(err, errlen, "larger than 16 MiB");
		goto out;
	}
	if ((*buf = malloc((size_t)st.st_size + 2)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	if (readfile_read(fd, path, *buf, (size_t)st.st_size + 1, len, err,
	    errlen) != 0) {
		drop_path(err, path);
		goto out;
	}
	if (*len > (size_t)st.st_size) {
		seterr(err, errlen, "changed while read");
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The SHA-256 of a key's blob. */
static int
key_hash(const struct key *k, uint8_t out[32])
{
	struct wb w;
	unsigned n = 0;
	int rc = -1;

	wb_init(&w);
	if (key_to_blob(k, &w) == 0 && !w.err &&
	    EVP_Digest(w.p, w.len, out, &n, EVP_sha256(), NULL) == 1)
		rc = 0;
	wb_free(&w);
	return rc;
}

static bool
openssh_only_type(const char *s, size_t n)
{
	size_t i, tlen = 0;

	while (tlen < n && s[tlen] != ' ' && s[tlen] != '\t')
		tlen++;
	for (i = 0; i < sizeof(openssh_only) / sizeof(openssh_only[0]); i++)
		if (strlen(openssh_only[i]) == tlen &&
		    memcmp(openssh_only[i], s, tlen) == 0)
			return true;
	return false;
}

/* The key a list line names (a certificate's: the key it certifies);
 * NULL if it is not a line ferry reads. */
static struct key *
line_key(const char *s, size_t n)
{
	struct cert *c = NULL;
	struct key *k = NULL;
	size_t tlen = 0;

	while (tlen < n && s[tlen] != ' ' && s[tlen] != '\t')
		tlen++;
	if (!cert_is_type_name(s, tlen)) {
		keyfile_parse_public(s, n, &k, NULL, 0);
		return k;
	}
	if (cert_parse_line(s, n, &c, NULL, 0) == 0) {
		k = c->key;
		c->key = NULL;
	}
	cert_free(c);
	return k;
}

/* One list line: its key's hash appended, or counted as skipped. A line
 * that is neither makes the list unusable (OpenSSH: invalid format). */
static int
list_line(struct revoked *r, const char *s, size_t n, size_t lineno)
{
	struct key *k;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 0 || *s == '#')
		return 0;
	if ((k = line_key(s, n)) == NULL) {
		if (openssh_only_type(s, n)) {
			r->nskipped++;
			return 0;
		}
		seterr(r->why, sizeof(r->why), "invalid format (line %zu is "
		    "not a public key)", lineno);
		return -1;
	}
	if (key_hash(k, r->hashes[r->nhashes]) == 0)
		r->nhashes++;
	key_free(k);
	return 0;
}

/* Fills r's hashes from the text; -1 when out of memory, 1 when a line is
 * not a key (r->why says which). */
static int
parse_list(struct revoked *r, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	size_t lines = 1, lineno = 0, i;

	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	if ((r->hashes = calloc(lines, sizeof(*r->hashes))) == NULL)
		return -1;
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (list_line(r, p, (size_t)(nl - p), ++lineno) != 0)
			return 1;
		p = nl + 1;
	}
	qsort(r->hashes, r->nhashes, sizeof(*r->hashes), hash_cmp);
	return 0;
}

int
revoked_load(const char *path, struct revoked **out)
{
	struct revoked *r;
	char *buf = NULL;
	size_t len = 0;
	int bad, rc = -1;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->path = strdup(path)) == NULL)
		goto out;
	r->kind = REVOKED_BAD;
	if (read_all(path, &buf, &len, r->why, sizeof(r->why)) != 0)
		goto done;
	if (krl_is_krl((const uint8_t *)buf, len)) {
		if (krl_check((const uint8_t *)buf, len, NULL, r->why,
		    sizeof(r->why)) != KRL_NOT_REVOKED)
			goto done;
		r->kind = REVOKED_KRL;
		r->krl = (uint8_t *)buf;
		r->krllen = len;
		buf = NULL;
	} else {
		if ((bad = parse_list(r, buf, len)) < 0)
			goto out;
		if (bad == 0)
			r->kind = REVOKED_LIST;
	}
done:	/* a file that cannot be used is a REVOKED_BAD one */
	rc = 0;
out:
	free(buf);
	if (rc != 0) {
		revoked_free(r);
		r = NULL;
	}
	*out = r;
	return rc;
}

void
revoked_free(struct revoked *r)
{
	if (r == NULL)
		return;
	free(r->path);
	free(r->krl);
	free(r->hashes);
	free(r);
}

/* Whether the plain key k is revoked. */
static enum revoked_verdict
plain(const struct revoked *r, const struct key *k, const struct cert *c,
    char *why, size_t whylen)
{
	struct krl_query q;
	struct wb kb, cb;
	uint8_t h[32];
	int rc;

	if (r->kind == REVOKED_LIST) {
		if (key_hash(k, h) != 0) {
			seterr(why, whylen, "cannot hash the key");
			return REVOKED_UNUSABLE;
		}
		return bsearch(h, r->hashes, r->nhashes, sizeof(*r->hashes),
		    hash_cmp) != NULL ? REVOKED_YES : REVOKED_NO;
	}
	memset(&q, 0, sizeof(q));
	wb_init(&kb);
	wb_init(&cb);
	key_to_blob(k, &kb);
	if (c != NULL) {
		key_to_blob(c->ca, &cb);
		q.cert = true;
		q.serial = c->serial;
		q.key_id = c->key_id;
		q.ca_blob = cb.p;
		q.ca_bloblen = cb.len;
	}
	q.key_blob = kb.p;
	q.key_bloblen = kb.len;
	if (kb.err || cb.err || krl_query_hashes(&q) != 0) {
		seterr(why, whylen, "out of memory");
		rc = -1;
	} else
		rc = krl_check(r->krl, r->krllen, &q, why, whylen);
	wb_free(&kb);
	wb_free(&cb);
	return rc == KRL_REVOKED ? REVOKED_YES : rc == KRL_NOT_REVOKED ?
	    REVOKED_NO : REVOKED_UNUSABLE;
}

enum revoked_verdict
revoked_check(const struct revoked *r, const struct key *key,
    const struct cert *cert, char *why, size_t whylen)
{
	enum revoked_verdict v;

	if (r->kind == REVOKED_BAD) {
		seterr(why, whylen, "%s", r->why);
		return REVOKED_UNUSABLE;
	}
	/* the key (and, in a KRL, the certificate under its CA) */
	if ((v = plain(r, key, cert, why, whylen)) != REVOKED_NO ||
	    cert == NULL)
		return v;
	/* a certificate whose CA is revoked is (sshd's rule) */
	return plain(r, cert->ca, NULL, why, whylen);
}

enum revoked_verdict
revoked_file_check(const char *path, const struct key *key,
    const struct cert *cert, char *why, size_t whylen)
{
	struct revoked *r;
	enum revoked_verdict v;

	if (revoked_load(path, &r) != 0) {
		seterr(why, whylen, "out of memory");
		return REVOKED_UNUSABLE;
	}
	v = revoked_check(r, key, cert, why, whylen);
	revoked_free(r);
	return v;
}
