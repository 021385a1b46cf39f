/* OpenSSH key revocation lists (PROTOCOL.krl): one walk over the bytes
 * both checks a KRL and answers whether it revokes a key. */
#include "krl.h"

#include <string.h>

#include <openssl/evp.h>

#include "cert.h"
#include "../ssh/buf.h"
#include "util/err.h"

#define KRL_MAGIC		0x5353484b524c0a00ULL	/* "SSHKRL\n\0" */
#define KRL_FORMAT_VERSION	1

enum {
	SEC_CERTIFICATES = 1,
	SEC_EXPLICIT_KEY = 2,
	SEC_FINGERPRINT_SHA1 = 3,
	SEC_SIGNATURE = 4,
	SEC_FINGERPRINT_SHA256 = 5,
	SEC_EXTENSION = 255,
	CERT_SERIAL_LIST = 0x20,
	CERT_SERIAL_RANGE = 0x21,
	CERT_SERIAL_BITMAP = 0x22,
	CERT_KEY_ID = 0x23,
	CERT_EXTENSION = 0x39,
};

/* One walk: the question (NULL: checking only), the section count so
 * far and where a failure's reason goes. */
struct walk {
	const struct krl_query *q;
	size_t		 sections;
	char		*err;
	size_t		 errlen;
};

bool
krl_is_krl(const uint8_t *p, size_t len)
{
	struct rd r;
	uint64_t magic;

	rd_init(&r, p, len);
	return rd_u64(&r, &magic) == 0 && magic == KRL_MAGIC;
}

int
krl_query_hashes(struct krl_query *q)
{
	unsigned n1 = 0, n256 = 0;

	if (EVP_Digest(q->key_blob, q->key_bloblen, q->sha1, &n1,
	    EVP_sha1(), NULL) != 1 || EVP_Digest(q->key_blob,
	    q->key_bloblen, q->sha256, &n256, EVP_sha256(), NULL) != 1)
		return -1;
	return 0;
}

static int
bad(struct walk *w, const char *why)
{
	seterr(w->err, w->errlen, "KRL: %s", why);
	return -1;
}

/* Counts one more section against KRL_MAX_SECTIONS. */
static int
count(struct walk *w)
{
	if (++w->sections > KRL_MAX_SECTIONS)
		return bad(w, "too many sections");
	return 0;
}

static bool
same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return a != NULL && b != NULL && alen == blen &&
	    memcmp(a, b, alen) == 0;
}

/* An extension: a critical one ferry does not know fails the KRL. */
static int
extension(struct walk *w, const uint8_t *p, size_t len)
{
	const uint8_t *name, *body;
	size_t nlen, blen;
	struct rd r;
	bool crit;

	rd_init(&r, p, len);
	if (rd_string(&r, &name, &nlen) != 0 || rd_bool(&r, &crit) != 0 ||
	    rd_string(&r, &body, &blen) != 0 || rd_left(&r) != 0)
		return bad(w, "malformed extension");
	if (crit)
		return bad(w, "unsupported critical extension");
	return KRL_NOT_REVOKED;
}

/* The bitmap's bit for serial: bit N of the number (least significant
 * first) is serial offset + N. */
static bool
bitmap_has(const uint8_t *mag, size_t n, uint64_t off, uint64_t serial)
{
	uint64_t idx;

	if (serial < off)
		return false;
	idx = serial - off;
	if (idx / 8 >= n)
		return false;
	return (mag[n - 1 - (size_t)(idx / 8)] >> (idx % 8)) & 1;
}

/* One subsection of a certificate section; match: the section's CA is
 * the query's (or any). */
static int
cert_sub(struct walk *w, uint8_t type, const uint8_t *p, size_t len,
    bool match)
{
	const struct krl_query *q = w->q;
	uint64_t a, b;
	const uint8_t *s;
	size_t n;
	struct rd r;

	rd_init(&r, p, len);
	switch (type) {
	case CERT_SERIAL_LIST:
		if (len == 0 || len % 8 != 0)
			return bad(w, "malformed serial list");
		while (rd_left(&r) > 0 && rd_u64(&r, &a) == 0)
			if (match && a == q->serial)
				return KRL_REVOKED;
		return KRL_NOT_REVOKED;
	case CERT_SERIAL_RANGE:
		if (rd_u64(&r, &a) != 0 || rd_u64(&r, &b) != 0 ||
		    rd_left(&r) != 0 || a > b)
			return bad(w, "malformed serial range");
		return match && q->serial >= a && q->serial <= b ?
		    KRL_REVOKED : KRL_NOT_REVOKED;
	case CERT_SERIAL_BITMAP:
		if (rd_u64(&r, &a) != 0 || rd_mpint_pos(&r, &s, &n) != 0 ||
		    rd_left(&r) != 0)
			return bad(w, "malformed serial bitmap");
		if (n > KRL_MAX_BITMAP)
			return bad(w, "serial bitmap too large");
		return match && bitmap_has(s, n, a, q->serial) ?
		    KRL_REVOKED : KRL_NOT_REVOKED;
	case CERT_KEY_ID:
		if (len == 0)
			return bad(w, "empty key ID section");
		while (rd_left(&r) > 0) {
			if (rd_string(&r, &s, &n) != 0)
				return bad(w, "malformed key ID section");
			if (n > CERT_MAX_KEY_ID_LEN)
				return bad(w, "key ID too long");
			if (match && q->key_id != NULL &&
			    same(s, n, (const uint8_t *)q->key_id,
			    strlen(q->key_id)))
				return KRL_REVOKED;
		}
		return KRL_NOT_REVOKED;
	case CERT_EXTENSION:
		return extension(w, p, len);
	default:
		return bad(w, "unknown certificate section type");
	}
}

/* A certificate section: the CA (empty: any), a reserved string, then
 * subsections. */
static int
certificates(struct walk *w, const uint8_t *p, size_t len)
{
	const struct krl_query *q = w->q;
	const uint8_t *ca, *res, *d;
	size_t calen, reslen, dlen;
	struct rd r;
	uint8_t t;
	bool match;
	int rc;

	rd_init(&r, p, len);
	if (rd_string(&r, &ca, &calen) != 0 ||
	    rd_string(&r, &res, &reslen) != 0)
		return bad(w, "malformed certificate section");
	match = q != NULL && q->cert && (calen == 0 ||
	    same(ca, calen, q->ca_blob, q->ca_bloblen));
	while (rd_left(&r) > 0) {
		if (count(w) != 0)
			return -1;
		if (rd_u8(&r, &t) != 0 || rd_string(&r, &d, &dlen) != 0)
			return bad(w, "malformed certificate subsection");
		if ((rc = cert_sub(w, t, d, dlen, match)) != KRL_NOT_REVOKED)
			return rc;
	}
	return KRL_NOT_REVOKED;
}

/* Explicit keys and hashes: a list of strings, at least one; hashes have
 * their digest's size (want, 0 for key blobs). */
static int
blobs(struct walk *w, const uint8_t *p, size_t len, size_t want,
    const uint8_t *mine, size_t minelen)
{
	const uint8_t *s;
	size_t n;
	struct rd r;

	if (len == 0)
		return bad(w, "empty key or hash section");
	rd_init(&r, p, len);
	while (rd_left(&r) > 0) {
		if (rd_string(&r, &s, &n) != 0 || n == 0 ||
		    (want != 0 && n != want))
			return bad(w, "malformed key or hash section");
		if (same(s, n, mine, minelen))
			return KRL_REVOKED;
	}
	return KRL_NOT_REVOKED;
}

static int
section(struct walk *w, uint8_t type, const uint8_t *p, size_t len)
{
	const struct krl_query *q = w->q;

	switch (type) {
	case SEC_CERTIFICATES:
		return certificates(w, p, len);
	case SEC_EXPLICIT_KEY:
		return blobs(w, p, len, 0, q ? q->key_blob : NULL,
		    q ? q->key_bloblen : 0);
	case SEC_FINGERPRINT_SHA1:
		return blobs(w, p, len, 20, q ? q->sha1 : NULL, 20);
	case SEC_FINGERPRINT_SHA256:
		return blobs(w, p, len, 32, q ? q->sha256 : NULL, 32);
	case SEC_EXTENSION:
		return extension(w, p, len);
	default:
		return bad(w, "unknown section type");
	}
}

static int
header(struct walk *w, struct rd *r)
{
	uint64_t magic, version, date, flags;
	const uint8_t *s;
	size_t n;
	uint32_t format;

	if (rd_u64(r, &magic) != 0 || magic != KRL_MAGIC)
		return bad(w, "not a KRL (bad magic)");
	if (rd_u32(r, &format) != 0 || format != KRL_FORMAT_VERSION)
		return bad(w, "unsupported format version");
	if (rd_u64(r, &version) != 0 || rd_u64(r, &date) != 0 ||
	    rd_u64(r, &flags) != 0 || rd_string(r, &s, &n) != 0 ||
	    rd_string(r, &s, &n) != 0)
		return bad(w, "truncated header");
	return 0;
}

int
krl_check(const uint8_t *p, size_t len, const struct krl_query *q,
    char *err, size_t errlen)
{
	struct walk w = { q, 0, err, errlen };
	const uint8_t *d;
	size_t dlen;
	struct rd r;
	uint8_t t;
	int rc;

	if (len > KRL_MAX_SIZE)
		return bad(&w, "larger than 16 MiB");
	rd_init(&r, p, len);
	if (header(&w, &r) != 0)
		return -1;
	while (rd_left(&r) > 0) {
		if (count(&w) != 0)
			return -1;
		if (rd_u8(&r, &t) != 0)
			return bad(&w, "truncated section");
		if (t == SEC_SIGNATURE)
			return bad(&w, "signed KRLs are not supported (OpenSSH "
			    "9.4 and later refuse them too)");
		if (rd_string(&r, &d, &dlen) != 0)
			return bad(&w, "truncated section");
		if ((rc = section(&w, t, d, dlen)) != KRL_NOT_REVOKED)
			return rc;
	}
	return KRL_NOT_REVOKED;
}
