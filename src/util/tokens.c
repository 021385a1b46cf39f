/* ssh_config(5) %-tokens and ~ expansion. */
#include "tokens.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

void
tokens_init(struct tokens *t)
{
	memset(t, 0, sizeof(*t));
}

void
tokens_set(struct tokens *t, char key, const char *val)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->key[i] == key) {
			t->val[i] = val;
			return;
		}
	if (t->n < TOKENS_MAX) {
		t->key[t->n] = key;
		t->val[t->n++] = val;
	}
}

static int
append(char *out, size_t outlen, size_t *len, const char *s, size_t n,
    char *err, size_t errlen)
{
	if (n >= outlen - *len) {
		snprintf(err, errlen, "expanded string is too long");
		return -1;
	}
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int
tokens_expand(const char *in, const struct tokens *t, char *out,
    size_t outlen, char *err, size_t errlen)
{
	size_t len = 0, run;
	const char *val;
	int i;

	if (outlen == 0) {
		snprintf(err, errlen, "no room for the expanded string");
		return -1;
	}
	out[0] = '\0';
	while (*in != '\0') {
		run = strcspn(in, "%");
		if (append(out, outlen, &len, in, run, err, errlen) != 0)
			return -1;
		in += run;
		if (*in == '\0')
			break;
		if (in[1] == '\0') {
			snprintf(err, errlen, "invalid format: '%%' at the end");
			return -1;
		}
		if (in[1] == '%') {
			val = "%";
		} else {
			for (i = 0, val = NULL; i < t->n; i++)
				if (t->key[i] == in[1])
					break;
			if (i == t->n || (val = t->val[i]) == NULL) {
				snprintf(err, errlen, "unknown key %%%c",
				    in[1]);
				return -1;
			}
		}
		if (append(out, outlen, &len, val, strlen(val), err,
		    errlen) != 0)
			return -1;
		in += 2;
	}
	return (int)len;
}

int
tokens_tilde(const char *in, const char *home, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char user[256], pwbuf[4096];
	struct passwd pw, *res = NULL;
	const char *rest;
	size_t n, len = 0;

	if (outlen == 0) {
		snprintf(err, errlen, "no room for the expanded path");
		return -1;
	}
	out[0] = '\0';
	if (in[0] != '~')
		return append(out, outlen, &len, in, strlen(in), err,
		    errlen) == 0 ? (int)len : -1;
	rest = strchr(in, '/');
	n = rest != NULL ? (size_t)(rest - in - 1) : strlen(in + 1);
	if (rest == NULL)
		rest = "";
	if (n > 0) {
		if (n >= sizeof(user)) {
			snprintf(err, errlen, "user name too long in '%s'",
			    in);
			return -1;
		}
		memcpy(user, in + 1, n);
		user[n] = '\0';
		if (getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res) != 0 ||
		    res == NULL) {
			snprintf(err, errlen, "no such user '%s' in '%s'",
			    user, in);
			return -1;
		}
		home = pw.pw_dir;
	}
	/* "~/x" with home "/" is "/x", not "//x" (as ssh) */
	n = strlen(home);
	if (n == 1 && home[0] == '/' && rest[0] == '/')
		n = 0;
	if (append(out, outlen, &len, home, n, err, errlen) != 0 ||
	    append(out, outlen, &len, rest, strlen(rest), err, errlen) != 0)
		return -1;
	return (int)len;
}

int
tokens_conn_hash(const char *l, const char *h, const char *p,
    const char *r, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, l, strlen(l)) == 1 &&
	    EVP_DigestUpdate(ctx, h, strlen(h)) == 1 &&
	    EVP_DigestUpdate(ctx, p, strlen(p)) == 1 &&
	    EVP_DigestUpdate(ctx, r, strlen(r)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}
