/* OpenSSH certificates: parsing the v01 blob, the CA signature, the
 * type/validity/principal checks, and -cert.pub lines and files. */
#include "cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ssh/buf.h"
#include "../util/err.h"
#include "../util/readfile.h"

/* The certificate types: the plain key type and how many string fields
 * (mpints included) its public key has in the certificate. */
struct cert_kind {
	const char	*name;
	const char	*plain;
	int		 nfields;
	enum key_type	 type;
	const char	*auth_alg;	/* what a client offers it as */
};

static const struct cert_kind kinds[] = {
	{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", 1, KEY_ED25519,
	    "ssh-ed25519-cert-v01@openssh.com" },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256",
	    2, KEY_ECDSA_P256, "ecdsa-sha2-nistp256-cert-v01@openssh.com" },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-rsa", 2, KEY_RSA,
	    "rsa-sha2-512-cert-v01@openssh.com" },
};

#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))
#define NONCE_MAX	256
#define LINE_MAX_BYTES	(CERT_MAX_BLOB * 4 / 3 + 4096)

static const struct cert_kind *
kind_of(const uint8_t *name, size_t len)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strlen(kinds[i].name) == len &&
		    memcmp(kinds[i].name, name, len) == 0)
			return &kinds[i];
	return NULL;
}

bool
cert_is_type_name(const char *name, size_t len)
{
	return kind_of((const uint8_t *)name, len) != NULL;
}

void
cert_free(struct cert *c)
{
	int i;

	if (c == NULL)
		return;
	key_free(c->key);
	key_free(c->ca);
	for (i = 0; i < c->nprincipals; i++)
		free(c->principals[i]);
	free(c->principals);
	free(c->key_id);
	free(c->blob);
	free(c);
}

/* A string that must hold no NUL byte, copied; NULL when it is too long,
 * holds a NUL or memory runs out. */
static char *
dup_text(const uint8_t *p, size_t len, size_t max)
{
	char *s;

	if (len > max || memchr(p, '\0', len) != NULL ||
	    (s = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* The certified key: its fields, prefixed with the plain type name, are
 * exactly the plain key's blob. */
static int
parse_key(struct rd *r, const struct cert_kind *kind, struct cert *c,
    char *err, size_t errlen)
{
	const uint8_t *start = r->p + r->off, *f;
	size_t flen, n;
	struct wb w;
	int i, rc;

	for (i = 0; i < kind->nfields; i++)
		rd_string(r, &f, &flen);
	if (r->err) {
		seterr(err, errlen, "truncated certified key");
		return -1;
	}
	n = (size_t)(r->p + r->off - start);
	wb_init(&w);
	wb_cstring(&w, kind->plain);
	wb_put(&w, start, n);
	if (w.err) {
		wb_free(&w);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	rc = key_from_blob(w.p, w.len, &c->key, err, errlen);
	wb_free(&w);
	if (rc == 0 && c->key->type != kind->type) {
		seterr(err, errlen, "certified key is not %s", kind->plain);
		return -1;
	}
	return rc;
}

/* The principals: a string holding a sequence of strings. */
static int
parse_principals(const uint8_t *p, size_t len, struct cert *c, char *err,
    size_t errlen)
{
	struct rd r;
	const uint8_t *s;
	size_t slen;

	rd_init(&r, p, len);
	while (rd_left(&r) > 0) {
		if (rd_string(&r, &s, &slen) != 0) {
			seterr(err, errlen, "truncated principal");
			return -1;
		}
		if (c->nprincipals >= CERT_MAX_PRINCIPALS) {
			seterr(err, errlen, "more than %d principals",
			    CERT_MAX_PRINCIPALS);
			return -1;
		}
		if (c->principals == NULL && (c->principals = calloc(
		    CERT_MAX_PRINCIPALS, sizeof(*c->principals))) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		if ((c->principals[c->nprincipals] = dup_text(s, slen,
		    CERT_MAX_PRINCIPAL_LEN)) == NULL) {
			seterr(err, errlen, "principal too long or with a "
			    "NUL byte");
			return -1;
		}
		c->nprincipals++;
	}
	return 0;
}

static int
name_cmp(const struct cert_opt *a, const struct cert_opt *b)
{
	size_t n = a->namelen < b->namelen ? a->namelen : b->namelen;
	int d = memcmp(a->name, b->name, n);

	if (d != 0)
		return d;
	return a->namelen < b->namelen ? -1 : a->namelen > b->namelen;
}

/* Critical options or extensions: (string name, string data) pairs with
 * distinct names in increasing order, as PROTOCOL.certkeys requires. */
static int
parse_opts(const uint8_t *p, size_t len, struct cert_opt *opts, int *n,
    const char *what, char *err, size_t errlen)
{
	struct rd r;
	struct cert_opt *o;

	rd_init(&r, p, len);
	while (rd_left(&r) > 0) {
		if (*n >= CERT_MAX_OPTS) {
			seterr(err, errlen, "more than %d %s", CERT_MAX_OPTS,
			    what);
			return -1;
		}
		o = &opts[*n];
		if (rd_string(&r, &o->name, &o->namelen) != 0 ||
		    rd_string(&r, &o->data, &o->datalen) != 0) {
			seterr(err, errlen, "truncated %s", what);
			return -1;
		}
		if (o->namelen == 0 || memchr(o->name, '\0', o->namelen)) {
			seterr(err, errlen, "bad name in %s", what);
			return -1;
		}
		if (*n > 0 && name_cmp(&opts[*n - 1], o) >= 0) {
			seterr(err, errlen, "%s out of order or repeated",
			    what);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* From the serial to the reserved field. */
static int
parse_middle(struct rd *r, struct cert *c, char *err, size_t errlen)
{
	const uint8_t *id, *pr, *crit, *ext, *res;
	size_t idlen, prlen, critlen, extlen, reslen;
	uint32_t type;

	rd_u64(r, &c->serial);
	rd_u32(r, &type);
	rd_string(r, &id, &idlen);
	rd_string(r, &pr, &prlen);
	rd_u64(r, &c->valid_after);
	rd_u64(r, &c->valid_before);
	rd_string(r, &crit, &critlen);
	rd_string(r, &ext, &extlen);
	if (rd_string(r, &res, &reslen) != 0) {
		seterr(err, errlen, "truncated certificate");
		return -1;
	}
	if (type != CERT_USER && type != CERT_HOST) {
		seterr(err, errlen, "unknown certificate type %u",
		    (unsigned)type);
		return -1;
	}
	c->type = (enum cert_type)type;
	if ((c->key_id = dup_text(id, idlen, CERT_MAX_KEY_ID_LEN)) == NULL) {
		seterr(err, errlen, "key id too long or with a NUL byte");
		return -1;
	}
	if (c->valid_after > c->valid_before) {
		seterr(err, errlen, "validity ends before it starts");
		return -1;
	}
	/* reserved: ignored, as the format says */
	return parse_principals(pr, prlen, c, err, errlen) != 0 ||
	    parse_opts(crit, critlen, c->crit, &c->ncrit, "critical options",
	    err, errlen) != 0 ||
	    parse_opts(ext, extlen, c->ext, &c->next, "extensions", err,
	    errlen) != 0 ? -1 : 0;
}

/* The signature key and the signature, which must end the blob. */
static int
parse_signature(struct rd *r, struct cert *c, char *err, size_t errlen)
{
	const uint8_t *ca;
	size_t calen;
	struct rd s;

	if (rd_string(r, &ca, &calen) != 0) {
		seterr(err, errlen, "truncated signature key");
		return -1;
	}
	c->signed_len = r->off;
	if (rd_string(r, &c->sig, &c->siglen) != 0) {
		seterr(err, errlen, "truncated signature");
		return -1;
	}
	if (rd_left(r) != 0) {
		seterr(err, errlen, "trailing bytes after the signature");
		return -1;
	}
	if (key_from_blob(ca, calen, &c->ca, err, errlen) != 0)
		return -1;
	rd_init(&s, c->sig, c->siglen);
	if (rd_cstring(&s, c->sig_alg, sizeof(c->sig_alg)) != 0) {
		seterr(err, errlen, "malformed signature");
		return -1;
	}
	return 0;
}

int
cert_parse(const uint8_t *blob, size_t len, struct cert **out, char *err,
    size_t errlen)
{
	struct cert *c;
	const struct cert_kind *kind;
	const uint8_t *name, *nonce;
	size_t nlen, noncelen;
	struct rd r;

	*out = NULL;
	if (len > CERT_MAX_BLOB) {
		seterr(err, errlen, "certificate larger than %d bytes",
		    CERT_MAX_BLOB);
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->blob = malloc(len ? len : 1)) == NULL) {
		free(c);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	memcpy(c->blob, blob, len);
	c->bloblen = len;
	rd_init(&r, c->blob, len);
	if (rd_string(&r, &name, &nlen) != 0 ||
	    (kind = kind_of(name, nlen)) == NULL) {
		seterr(err, errlen, "not a supported certificate type");
		goto fail;
	}
	c->type_name = kind->name;
	if (rd_string(&r, &nonce, &noncelen) != 0 || noncelen > NONCE_MAX) {
		seterr(err, errlen, "bad certificate nonce");
		goto fail;
	}
	if (parse_key(&r, kind, c, err, errlen) != 0 ||
	    parse_middle(&r, c, err, errlen) != 0 ||
	    parse_signature(&r, c, err, errlen) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	cert_free(c);
	return -1;
}

int
cert_verify(const struct cert *c, char *err, size_t errlen)
{
	if (!key_alg_ok(c->ca, c->sig_alg)) {
		seterr(err, errlen, "CA signature algorithm %s not supported "
		    "for a %s CA key", c->sig_alg, key_type_name(c->ca));
		return -1;
	}
	if (key_verify(c->ca, c->sig_alg, c->sig, c->siglen, c->blob,
	    c->signed_len) != 0) {
		seterr(err, errlen, "bad CA signature on certificate");
		return -1;
	}
	return 0;
}

int
cert_check(const struct cert *c, enum cert_type want, const char *principal,
    bool empty_any, uint64_t now, char *err, size_t errlen)
{
	int i;

	if (c->type != want) {
		seterr(err, errlen, "certificate is a %s certificate, not a "
		    "%s one", c->type == CERT_USER ? "user" : "host",
		    want == CERT_USER ? "user" : "host");
		return -1;
	}
	if (now < c->valid_after) {
		seterr(err, errlen, "certificate is not yet valid");
		return -1;
	}
	if (now >= c->valid_before) {
		seterr(err, errlen, "certificate has expired");
		return -1;
	}
	if (principal == NULL || (c->nprincipals == 0 && empty_any))
		return 0;
	for (i = 0; i < c->nprincipals; i++)
		if (strcmp(c->principals[i], principal) == 0)
			return 0;
	seterr(err, errlen, c->nprincipals == 0 ? "certificate lists no "
	    "principals" : "certificate does not list the principal asked "
	    "for");
	return -1;
}

const struct cert_opt *
cert_opt(const struct cert_opt *opts, int n, const char *name)
{
	size_t len = strlen(name);
	int i;

	for (i = 0; i < n; i++)
		if (opts[i].namelen == len &&
		    memcmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

const char *
cert_auth_alg(const struct cert *c, bool rsa256)
{
	if (c->key->type == KEY_RSA && rsa256)
		return "rsa-sha2-256-cert-v01@openssh.com";
	return kind_of((const uint8_t *)c->type_name,
	    strlen(c->type_name))->auth_alg;
}

const char *
cert_sig_alg(const char *cert_alg, enum key_type *type)
{
	static const struct {
		const char	*cert_alg;
		const char	*sig_alg;
		enum key_type	 type;
	} map[] = {
		{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519",
		    KEY_ED25519 },
		{ "ecdsa-sha2-nistp256-cert-v01@openssh.com",
		    "ecdsa-sha2-nistp256", KEY_ECDSA_P256 },
		{ "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-512", KEY_RSA },
		{ "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-256", KEY_RSA },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].cert_alg, cert_alg) == 0) {
			*type = map[i].type;
			return map[i].sig_alg;
		}
	return NULL;
}

/* The next space-separated word of line; its length (0 at the end). */
static size_t
next_word(const char *line, size_t len, size_t *off, const char **w)
{
	size_t start;

	while (*off < len && (line[*off] == ' ' || line[*off] == '\t'))
		(*off)++;
	start = *off;
	while (*off < len && line[*off] != ' ' && line[*off] != '\t')
		(*off)++;
	*w = line + start;
	return *off - start;
}

int
cert_parse_line(const char *line, size_t len, struct cert **out, char *err,
    size_t errlen)
{
	const char *type, *b64;
	size_t off = 0, tlen, blen;
	uint8_t *blob;
	struct cert *c;
	int n;

	*out = NULL;
	tlen = next_word(line, len, &off, &type);
	blen = next_word(line, len, &off, &b64);
	if (tlen == 0 || blen == 0) {
		seterr(err, errlen, "not a certificate line");
		return -1;
	}
	if (!cert_is_type_name(type, tlen)) {
		seterr(err, errlen, "not a supported certificate type");
		return -1;
	}
	if (blen > CERT_MAX_BLOB / 3 * 4 + 4) {
		seterr(err, errlen, "certificate larger than %d bytes",
		    CERT_MAX_BLOB);
		return -1;
	}
	if ((blob = malloc(blen / 4 * 3 + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if ((n = b64_decode(b64, blen, blob, blen / 4 * 3 + 1)) < 0) {
		free(blob);
		seterr(err, errlen, "bad base64 in certificate");
		return -1;
	}
	if (cert_parse(blob, (size_t)n, &c, err, errlen) != 0) {
		free(blob);
		return -1;
	}
	free(blob);
	if (strlen(c->type_name) != tlen ||
	    memcmp(c->type_name, type, tlen) != 0) {
		seterr(err, errlen, "certificate type %s does not match the "
		    "line", c->type_name);
		cert_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* The length of the first line of buf. */
static size_t
first_line(const char *buf, size_t len)
{
	size_t n = 0;

	while (n < len && buf[n] != '\n' && buf[n] != '\r')
		n++;
	return n;
}

int
cert_load_file(const char *path, struct cert **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len;
	int fd, rc = -1;

	*out = NULL;
	fd = readfile_open(path, READFILE_ABSENT_OK | READFILE_NONBLOCK, &st,
	    err, errlen);
	if (fd < 0)
		return fd;
	if ((buf = malloc(LINE_MAX_BYTES)) == NULL) {
		seterr(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	if (readfile_read(fd, path, buf, LINE_MAX_BYTES, &len, err,
	    errlen) == 0) {
		rc = cert_parse_line(buf, first_line(buf, len), out, err,
		    errlen);
	}
	close(fd);
	free(buf);
	return rc;
}
