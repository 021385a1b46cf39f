/* known_hosts lookups and additions, following sshd(8) "SSH_KNOWN_HOSTS
 * FILE FORMAT" and OpenSSH's hostfile.c for what counts as a match. */
#include "known_hosts.h"
#include "util/err.h"
#include "util/match.h"
#include "util/readfile.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_MAGIC	"|1|"
#define SHA1_LEN	20
#define KH_NAME_MAX	1100	/* a DNS name, brackets, colon and port */
/* A 16384-bit RSA key's blob is about 2.1 KiB; anything longer is not a
 * key we would accept anyway. */
#define KH_BLOB_MAX	4096
#define KH_FILE_MAX	(64 * 1024 * 1024)

enum kh_marker {
	MARK_NONE,
	MARK_REVOKED,
	MARK_CA,
};

/* One lookup: what we search for and where results go. */
struct kh_ctx {
	const char		*fname;
	const char		*name;	/* kh_hostname form, lowercased */
	const struct key	*key;	/* NULL: only collect types */
	bool			 ca;	/* key is a CA: see kh_check_ca_text */
	struct kh_result	*res;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Splits off the next blank-separated field of [*p, end). */
static bool
next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	*f = s;
	while (s < end && !is_blank(*s))
		s++;
	*flen = (size_t)(s - *f);
	*p = s;
	return *flen > 0;
}

/* 1 if the host field matches name, 0 if not; a matching negated pattern
 * wins over any positive one, as in OpenSSH's match_hostname(). */
static int
hosts_match(const char *pats, size_t plen, const char *name)
{
	const char *p = pats, *end = pats + plen, *comma;
	size_t len;
	bool neg;
	int found = 0;

	if (plen > 0 && pats[0] == '|')
		return kh_match_hashed(pats, plen, name) == 1;
	while (p < end) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		len = (size_t)(comma - p);
		if ((neg = len > 0 && *p == '!')) {
			p++;
			len--;
		}
		if (len > 0 && match_glob(p, len, name)) {
			if (neg)
				return 0;
			found = 1;
		}
		p = comma + 1;
	}
	return found;
}

static int
hmac_sha1(const uint8_t *salt, size_t saltlen, const char *name,
    uint8_t mac[SHA1_LEN])
{
	size_t maclen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, salt, saltlen,
	    (const unsigned char *)name, strlen(name), mac, SHA1_LEN,
	    &maclen) == NULL || maclen != SHA1_LEN)
		return -1;
	return 0;
}

int
kh_match_hashed(const char *pattern, size_t plen, const char *name)
{
	const char *salt64, *hash64, *bar;
	uint8_t salt[SHA1_LEN + 3], hash[SHA1_LEN + 3], mac[SHA1_LEN];
	size_t magic = strlen(HASH_MAGIC);

	if (plen < magic || memcmp(pattern, HASH_MAGIC, magic) != 0)
		return 0;
	salt64 = pattern + magic;
	if ((bar = memchr(salt64, '|', plen - magic)) == NULL)
		return 0;
	hash64 = bar + 1;
	if (b64_decode(salt64, (size_t)(bar - salt64), salt, sizeof(salt)) !=
	    SHA1_LEN ||
	    b64_decode(hash64, (size_t)(pattern + plen - hash64), hash,
	    sizeof(hash)) != SHA1_LEN)
		return 0;
	if (hmac_sha1(salt, SHA1_LEN, name, mac) != 0)
		return 0;
	return CRYPTO_memcmp(mac, hash, SHA1_LEN) == 0;
}

void
kh_hostname(const char *host, int port, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	if (port <= 0 || port == 22)
		snprintf(out, outlen, "%s", host);
	else
		snprintf(out, outlen, "[%s]:%d", host, port);
	/* ssh(1) lowercases the host before any lookup or hashing. */
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

static void
note_line(struct kh_ctx *c, enum kh_status st, int lineno)
{
	c->res->status = st;
	snprintf(c->res->file, sizeof(c->res->file), "%s",
	    c->fname != NULL ? c->fname : "");
	c->res->line = lineno;
}

/* Folds a listed key k (of the host, or of a CA for it) into the result:
 * a match wins over a different key, a revocation over both. A CA line
 * with another key counts as "changed" whatever its type, since any CA
 * key may sign any certificate. */
static void
note_key(struct kh_ctx *c, const struct key *k, int lineno)
{
	struct kh_result *res = c->res;

	if (res->status == KH_REVOKED)
		return;
	if (key_equal(k, c->key)) {
		if (res->status != KH_MATCH)
			note_line(c, KH_MATCH, lineno);
	} else if ((c->ca || k->type == c->key->type) &&
	    res->status == KH_NEW) {
		note_line(c, KH_CHANGED, lineno);
		key_fingerprint(k, res->listed_fp, sizeof(res->listed_fp));
	}
}

/* Parses one line (without its newline) and folds it into the result.
 * Anything it does not understand is skipped. */
static void
check_line(struct kh_ctx *c, const char *line, size_t len, int lineno)
{
	const char *p = line, *end = line + len, *f, *hosts, *type, *b64;
	size_t flen, hlen, tlen, blen;
	enum kh_marker marker = MARK_NONE;
	uint8_t blob[KH_BLOB_MAX];
	struct key *k = NULL;
	struct kh_result *res = c->res;
	int n;

	if (!next_field(&p, end, &f, &flen) || *f == '#')
		return;
	if (*f == '@') {
		if (flen == 8 && memcmp(f, "@revoked", 8) == 0)
			marker = MARK_REVOKED;
		else if (flen == 15 && memcmp(f, "@cert-authority", 15) == 0)
			marker = MARK_CA;
		else
			return;
		if (!next_field(&p, end, &f, &flen))
			return;
	}
	hosts = f;
	hlen = flen;
	if (!next_field(&p, end, &type, &tlen) ||
	    !next_field(&p, end, &b64, &blen))
		return;
	/* Matching the host is cheaper than parsing the key; a revoked key
	 * is refused for every host, whatever the pattern. */
	if (marker != MARK_REVOKED && hosts_match(hosts, hlen, c->name) != 1)
		return;
	if ((n = b64_decode(b64, blen, blob, sizeof(blob))) < 0 ||
	    key_from_blob(blob, (size_t)n, &k, NULL, 0) != 0)
		return;
	if (tlen != strlen(key_type_name(k)) ||
	    memcmp(type, key_type_name(k), tlen) != 0)
		goto out;
	if (marker == MARK_REVOKED) {
		if (c->key != NULL && key_equal(k, c->key) &&
		    res->status != KH_REVOKED)
			note_line(c, KH_REVOKED, lineno);
		goto out;
	}
	if (marker == MARK_CA) {
		res->ca_known = true;
		if (c->ca && c->key != NULL)
			note_key(c, k, lineno);
		goto out;
	}
	res->types_known |= 1u << k->type;
	if (!c->ca && c->key != NULL)
		note_key(c, k, lineno);
out:
	key_free(k);
}

static void
check_text(struct kh_ctx *c, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	int lineno = 0;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (lineno < INT32_MAX)
			lineno++;
		check_line(c, p, (size_t)(nl - p), lineno);
		p = nl + 1;
	}
}

int
kh_check_text(const char *text, size_t len, const char *fname,
    const char *host, int port, const struct key *key,
    struct kh_result *res)
{
	char name[KH_NAME_MAX];
	struct kh_ctx c;

	kh_hostname(host, port, name, sizeof(name));
	c.fname = fname;
	c.name = name;
	c.key = key;
	c.ca = false;
	c.res = res;
	check_text(&c, text, len);
	return 0;
}

int
kh_check_ca_text(const char *text, size_t len, const char *fname,
    const char *host, int port, const struct key *ca, struct kh_result *res)
{
	char name[KH_NAME_MAX];
	struct kh_ctx c;

	kh_hostname(host, port, name, sizeof(name));
	c.fname = fname;
	c.name = name;
	c.key = ca;
	c.ca = true;
	c.res = res;
	check_text(&c, text, len);
	return 0;
}

/* Reads a whole file; *buf is NULL and 0 returned if it does not exist. */
static int
read_file(const char *path, char **buf, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	char *b = NULL;
	size_t cap, n = 0;
	int fd, rc = -1;

	*buf = NULL;
	*len = 0;
	/* the usual way to say "no file" (GlobalKnownHostsFile /dev/null)
	 * is not a regular file, and reads as empty */
	if (strcmp(path, "/dev/null") == 0)
		return 0;
	if ((fd = readfile_open(path, READFILE_ABSENT_OK, &st, err,
	    errlen)) == READFILE_ABSENT)
		return 0;
	if (fd < 0)
		return -1;
	if (st.st_size > KH_FILE_MAX) {
		seterr(err, errlen, "%s: larger than 64 MiB", path);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	if ((b = malloc(cap)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	/* Reads what fits; a file that grows meanwhile is cut at its size. */
	if (readfile_read(fd, path, b, cap, &n, err, errlen) != 0)
		goto out;
	*buf = b;
	*len = n < cap ? n : cap - 1;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

int
kh_check_file(const char *path, const char *host, int port,
    const struct key *key, struct kh_result *res, char *err, size_t errlen)
{
	char *text;
	size_t len;

	if (read_file(path, &text, &len, err, errlen) != 0)
		return -1;
	if (text != NULL)
		kh_check_text(text, len, path, host, port, key, res);
	free(text);
	return 0;
}

int
kh_check_ca_file(const char *path, const char *host, int port,
    const struct key *ca, struct kh_result *res, char *err, size_t errlen)
{
	char *text;
	size_t len;

	if (read_file(path, &text, &len, err, errlen) != 0)
		return -1;
	if (text != NULL)
		kh_check_ca_text(text, len, path, host, port, ca, res);
	free(text);
	return 0;
}

int
kh_known_types(const char *path, const char *host, int port,
    unsigned *types, bool *ca)
{
	struct kh_result res;

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	if (kh_check_file(path, host, port, NULL, &res, NULL, 0) != 0)
		return -1;
	*types |= res.types_known;
	if (ca != NULL && res.ca_known)
		*ca = true;
	return 0;
}

/* One line for kh_other_names_text: the key under a name that is not
 * ours. */
static void
other_line(const char *line, size_t len, int lineno, const char *fname,
    const char *name, const struct key *key, kh_name_fn fn, void *ud)
{
	const char *p = line, *end = line + len, *hosts, *type, *b64;
	size_t hlen, tlen, blen;
	uint8_t blob[KH_BLOB_MAX];
	struct key *k = NULL;
	int n;

	if (!next_field(&p, end, &hosts, &hlen) || *hosts == '#' ||
	    *hosts == '@' || hosts_match(hosts, hlen, name) == 1)
		return;
	if (!next_field(&p, end, &type, &tlen) ||
	    !next_field(&p, end, &b64, &blen))
		return;
	if ((n = b64_decode(b64, blen, blob, sizeof(blob))) < 0 ||
	    key_from_blob(blob, (size_t)n, &k, NULL, 0) != 0)
		return;
	if (tlen == strlen(key_type_name(k)) &&
	    memcmp(type, key_type_name(k), tlen) == 0 && key_equal(k, key))
		fn(ud, fname, lineno, hosts, hlen);
	key_free(k);
}

int
kh_other_names_text(const char *text, size_t len, const char *fname,
    const char *host, int port, const struct key *key, kh_name_fn fn,
    void *ud)
{
	const char *p = text, *end = text + len, *nl;
	char name[KH_NAME_MAX];
	int lineno = 0;

	kh_hostname(host, port, name, sizeof(name));
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (lineno < INT32_MAX)
			lineno++;
		other_line(p, (size_t)(nl - p), lineno, fname, name, key, fn,
		    ud);
		p = nl + 1;
	}
	return 0;
}

int
kh_other_names(const char *path, const char *host, int port,
    const struct key *key, kh_name_fn fn, void *ud, char *err,
    size_t errlen)
{
	char *text;
	size_t len;

	if (read_file(path, &text, &len, err, errlen) != 0)
		return -1;
	if (text != NULL)
		kh_other_names_text(text, len, path, host, port, key, fn, ud);
	free(text);
	return 0;
}

/* Host names go into the file as they are: anything that would make the
 * line mean something else (blanks, newlines, patterns) is refused. */
static bool
name_ok(const char *name)
{
	const char *s;

	if (*name == '\0' || *name == '|' || *name == '@' || *name == '#' ||
	    *name == '!')
		return false;
	for (s = name; *s != '\0'; s++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == ',' ||
		    *s == '*' || *s == '?')
			return false;
	}
	return true;
}

static int
put_b64(struct wb *w, const uint8_t *p, size_t len)
{
	char buf[KH_BLOB_MAX / 3 * 4 + 8];
	int n;

	if ((n = b64_encode(p, len, buf, sizeof(buf))) < 0)
		return -1;
	return wb_put(w, buf, (size_t)n);
}

/* Creates the parent directory 0700 if it is missing (like ~/.ssh). */
static int
make_parent(const char *path, char *err, size_t errlen)
{
	char *dir, *slash;
	struct stat st;
	int rc = 0;

	if ((dir = strdup(path)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) == -1 && errno == ENOENT &&
		    mkdir(dir, 0700) == -1 && errno != EEXIST) {
			seterr(err, errlen, "mkdir %s: %s", dir,
			    strerror(errno));
			rc = -1;
		}
	}
	free(dir);
	return rc;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line's host field: the names joined by commas, or one name hashed
 * with a random salt. */
static int
put_names(struct wb *line, const char *const *names, int n, int hash,
    char *err, size_t errlen)
{
	uint8_t salt[SHA1_LEN], mac[SHA1_LEN];
	int i;

	for (i = 0; i < n; i++) {
		if (!name_ok(names[i]) || strlen(names[i]) + 1 >= KH_NAME_MAX) {
			seterr(err, errlen, "refusing to record a host name "
			    "with blanks, commas, control characters or "
			    "wildcards");
			return -1;
		}
		if (i > 0)
			wb_u8(line, ',');
		if (!hash) {
			wb_put(line, names[i], strlen(names[i]));
			continue;
		}
		if (RAND_bytes(salt, sizeof(salt)) != 1 ||
		    hmac_sha1(salt, sizeof(salt), names[i], mac) != 0) {
			seterr(err, errlen, "cannot hash host name");
			return -1;
		}
		wb_put(line, HASH_MAGIC, strlen(HASH_MAGIC));
		put_b64(line, salt, sizeof(salt));
		wb_u8(line, '|');
		put_b64(line, mac, sizeof(mac));
	}
	return 0;
}

/* Appends text to path (see kh_add). */
static int
append(const char *path, const struct wb *text, char *err, size_t errlen)
{
	struct stat st;
	char last;
	int fd, rc = -1;

	if (make_parent(path, err, errlen) != 0)
		return -1;
	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Do not glue our line onto an unterminated last line. */
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
	    write_all(fd, (const uint8_t *)"\n", 1) != 0)
		seterr(err, errlen, "%s: %s", path, strerror(errno));
	else if (write_all(fd, text->p, text->len) != 0)
		seterr(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	if (close(fd) == -1 && rc == 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

int
kh_add_names(const char *path, const char *const *names, int n,
    const struct key *key, int hash, char *err, size_t errlen)
{
	struct wb text, blob;
	int i, rc = -1;

	wb_init(&text);
	wb_init(&blob);
	if (key_to_blob(key, &blob) != 0) {
		seterr(err, errlen, "cannot encode host key");
		goto out;
	}
	/* a hashed name stands alone on its line */
	for (i = 0; i < n; i += hash ? 1 : n) {
		if (put_names(&text, names + i, hash ? 1 : n, hash, err,
		    errlen) != 0)
			goto out;
		wb_u8(&text, ' ');
		wb_put(&text, key_type_name(key), strlen(key_type_name(key)));
		wb_u8(&text, ' ');
		put_b64(&text, blob.p, blob.len);
		wb_u8(&text, '\n');
	}
	if (text.err) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	rc = append(path, &text, err, errlen);
out:
	wb_free(&text);
	wb_free(&blob);
	return rc;
}

int
kh_add(const char *path, const char *host, int port, const struct key *key,
    int hash, char *err, size_t errlen)
{
	char name[KH_NAME_MAX];
	const char *names[1] = { name };

	kh_hostname(host, port, name, sizeof(name));
	return kh_add_names(path, names, 1, key, hash, err, errlen);
}
