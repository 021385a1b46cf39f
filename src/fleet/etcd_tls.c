/* The TLS files of the etcd client (fleet/etcd_tls.h): read whole, then
 * parsed by OpenSSL only to check them (libcurl parses them again for
 * each connection). */
#include "fleet/etcd_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/readfile.h"

#define TLS_FILE_MAX	(1024 * 1024)	/* a CA bundle, a chain, a key */

/* path's whole text into *out (NUL-terminated). 0, or -1 with err. */
static int
read_pem(const char *name, const char *path, char **out, size_t *len,
    char *err, size_t errlen)
{
	char why[512], *buf;
	struct stat st;
	int fd, r;

	if ((fd = readfile_open(path, 0, &st, why, sizeof(why))) < 0) {
		seterr(err, errlen, "%s: %s", name, why);
		return -1;
	}
	if ((buf = malloc(TLS_FILE_MAX + 1)) == NULL) {
		close(fd);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	r = readfile_read(fd, path, buf, TLS_FILE_MAX + 1, len, why,
	    sizeof(why));
	close(fd);
	if (r == 0 && *len > TLS_FILE_MAX)
		snprintf(why, sizeof(why), "%s: larger than %d bytes", path,
		    TLS_FILE_MAX);
	if (r != 0 || *len > TLS_FILE_MAX) {
		explicit_bzero(buf, TLS_FILE_MAX + 1);
		free(buf);
		seterr(err, errlen, "%s: %s", name, why);
		return -1;
	}
	buf[*len] = '\0';
	/* shrinking keeps the text where it is or moves a copy: wipe the
	 * big buffer rather than leave a key behind in the heap */
	if ((*out = malloc(*len + 1)) != NULL)
		memcpy(*out, buf, *len + 1);
	explicit_bzero(buf, *len);
	free(buf);
	if (*out == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The number of PEM certificates at the start of text; *first takes the
 * first one (the caller frees it) when first is not NULL. */
static int
count_certs(const char *text, size_t len, X509 **first)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	X509 *x;
	int n = 0;

	if (first != NULL)
		*first = NULL;
	/* a bundle's certificates, bounded by the file's size */
	while (b != NULL && n < (int)(len / 64) + 1 &&
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (n++ == 0 && first != NULL)
			*first = x;
		else
			X509_free(x);
	}
	BIO_free(b);
	ERR_clear_error();
	return n;
}

/* No passphrase: an encrypted key does not load. */
static int
no_pass(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return 0;
}

static EVP_PKEY *
parse_key(const char *text, size_t len)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *k = NULL;

	if (b != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, no_pass, NULL);
	BIO_free(b);
	ERR_clear_error();
	return k;
}

/* The certificate and key parse and go together. */
static int
check_pair(const struct etcd_tls *t, const struct etcd_tls_files *f,
    char *err, size_t errlen)
{
	EVP_PKEY *k;
	X509 *x;
	int r = -1;

	if (count_certs(t->cert, t->certlen, &x) == 0) {
		seterr(err, errlen, "%s %s: no PEM certificate in it",
		    f->cert_name, f->cert);
		return -1;
	}
	if ((k = parse_key(t->key, t->keylen)) == NULL)
		seterr(err, errlen, "%s %s: not an unencrypted PEM private key",
		    f->key_name, f->key);
	else if (X509_check_private_key(x, k) != 1)
		seterr(err, errlen, "%s %s does not go with %s %s (the "
		    "certificate is of another key)", f->key_name, f->key,
		    f->cert_name, f->cert);
	else
		r = 0;
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

static int
load_all(struct etcd_tls *t, const struct etcd_tls_files *f, char *err,
    size_t errlen)
{
	if ((f->cert != NULL) != (f->key != NULL)) {
		seterr(err, errlen, "%s is given without %s", f->cert != NULL ?
		    f->cert_name : f->key_name, f->cert != NULL ? f->key_name :
		    f->cert_name);
		return -1;
	}
	if (f->ca != NULL) {
		if (read_pem(f->ca_name, f->ca, &t->ca, &t->calen, err,
		    errlen) != 0)
			return -1;
		if (count_certs(t->ca, t->calen, NULL) == 0) {
			seterr(err, errlen, "%s %s: no PEM certificate in it",
			    f->ca_name, f->ca);
			return -1;
		}
	}
	if (f->cert == NULL)
		return 0;
	if (read_pem(f->cert_name, f->cert, &t->cert, &t->certlen, err,
	    errlen) != 0 || read_pem(f->key_name, f->key, &t->key,
	    &t->keylen, err, errlen) != 0)
		return -1;
	return check_pair(t, f, err, errlen);
}

int
etcd_tls_load(struct etcd_tls *t, const struct etcd_tls_files *f, char *err,
    size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (load_all(t, f, err, errlen) == 0)
		return 0;
	etcd_tls_free(t);
	return -1;
}

static int
dup_buf(char **to, size_t *tolen, const char *from, size_t len)
{
	*to = NULL;
	*tolen = 0;
	if (from == NULL)
		return 0;
	if ((*to = malloc(len + 1)) == NULL)
		return -1;
	memcpy(*to, from, len);
	(*to)[len] = '\0';
	*tolen = len;
	return 0;
}

int
etcd_tls_copy(struct etcd_tls *to, const struct etcd_tls *from)
{
	memset(to, 0, sizeof(*to));
	if (from == NULL)
		return 0;
	if (dup_buf(&to->ca, &to->calen, from->ca, from->calen) == 0 &&
	    dup_buf(&to->cert, &to->certlen, from->cert, from->certlen) == 0 &&
	    dup_buf(&to->key, &to->keylen, from->key, from->keylen) == 0)
		return 0;
	etcd_tls_free(to);
	return -1;
}

bool
etcd_tls_empty(const struct etcd_tls *t)
{
	return t == NULL || (t->ca == NULL && t->cert == NULL);
}

void
etcd_tls_free(struct etcd_tls *t)
{
	if (t->key != NULL)
		explicit_bzero(t->key, t->keylen);
	free(t->ca);
	free(t->cert);
	free(t->key);
	memset(t, 0, sizeof(*t));
}
