/* Key files: a private key file of either format (openssh-key-v1 in
 * keyfile_v1.c, PEM in keyfile_pem.c) read from disk, and public key
 * lines "type base64 [comment]" both ways. */
#include "keyfile.h"
#include "keyfile_int.h"
#include "util/err.h"
#include "util/readfile.h"

#include <openssl/crypto.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEYFILE_MAX	(1024 * 1024)

int
keyfile_parse_private(const char *text, size_t len, struct key **out,
    char *err, size_t errlen)
{
	return keyfile_parse_private_pass(text, len, NULL, out, err, errlen);
}

int
keyfile_parse_private_pass(const char *text, size_t len, const char *pass,
    struct key **out, char *err, size_t errlen)
{
	size_t off = 0;

	*out = NULL;
	while (off < len && keyfile_is_space(text[off]))
		off++;
	if (len - off >= strlen(KEYFILE_V1_BEGIN) &&
	    memcmp(text + off, KEYFILE_V1_BEGIN, strlen(KEYFILE_V1_BEGIN)) == 0)
		return keyfile_v1_parse(text + off, len - off, out, err,
		    errlen);
	if (memmem(text, len, "-----BEGIN ", 11) != NULL)
		return keyfile_pem_parse(text, len, pass, out, err, errlen);
	seterr(err, errlen, "not a private key file");
	return -1;
}

int
keyfile_load_private(const char *path, struct key **out, char *err,
    size_t errlen)
{
	return keyfile_load_private_pass(path, NULL, out, err, errlen);
}

int
keyfile_load_private_pass(const char *path, const char *pass,
    struct key **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd, rc = -1;

	*out = NULL;
	fd = readfile_open(path, READFILE_PRIVATE | READFILE_ABSENT_OK, &st,
	    err, errlen);
	if (fd == READFILE_ABSENT) {
		seterr(err, errlen, "%s: %s", path, strerror(ENOENT));
		return KEYFILE_MISSING;
	}
	if (fd < 0)
		return -1;
	if (st.st_size > KEYFILE_MAX) {
		seterr(err, errlen, "%s: too large for a key file", path);
		goto out;
	}
	/* One byte more than its size shows a file that grew meanwhile. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	if (readfile_read(fd, path, buf, cap, &len, err, errlen) != 0)
		goto out;
	if (len == cap) {
		seterr(err, errlen, "%s: changed while being read", path);
		goto out;
	}
	rc = keyfile_parse_private_pass(buf, len, pass, out, err, errlen);
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return rc;
}

/* The next space-separated word of line[*off..len): its start in *w, its
 * length returned (0 at the end); *off moves past it. */
static size_t
next_word(const char *line, size_t len, size_t *off, const char **w)
{
	while (*off < len && keyfile_is_space(line[*off]))
		(*off)++;
	*w = line + *off;
	while (*off < len && !keyfile_is_space(line[*off]))
		(*off)++;
	return (size_t)(line + *off - *w);
}

int
keyfile_parse_public(const char *line, size_t len, struct key **out,
    char *err, size_t errlen)
{
	const char *type, *b64;
	size_t off = 0, tlen, blen;
	uint8_t *blob = NULL;
	struct key *k = NULL;
	int n, rc = -1;

	*out = NULL;
	tlen = next_word(line, len, &off, &type);
	blen = next_word(line, len, &off, &b64);
	if (tlen == 0 || blen == 0) {
		seterr(err, errlen, "not a public key line");
		return -1;
	}
	if ((blob = malloc(blen / 4 * 3 + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if ((n = b64_decode(b64, blen, blob, blen / 4 * 3 + 1)) < 0) {
		seterr(err, errlen, "bad base64 in public key");
		goto out;
	}
	if (key_from_blob(blob, (size_t)n, &k, err, errlen) != 0)
		goto out;
	if (tlen != strlen(key_type_name(k)) ||
	    memcmp(type, key_type_name(k), tlen) != 0) {
		seterr(err, errlen, "key type %s does not match the line",
		    key_type_name(k));
		key_free(k);
		goto out;
	}
	*out = k;
	rc = 0;
out:
	free(blob);
	return rc;
}

int
keyfile_format_public(const struct key *k, const char *comment, char **line)
{
	struct wb blob;
	char *b64 = NULL, *s = NULL;
	size_t cap;
	int rc = -1;

	*line = NULL;
	wb_init(&blob);
	if (key_to_blob(k, &blob) != 0)
		goto out;
	cap = (blob.len + 2) / 3 * 4 + 1;
	if ((b64 = malloc(cap)) == NULL || b64_encode(blob.p, blob.len, b64,
	    cap) < 0)
		goto out;
	if (comment != NULL && *comment != '\0') {
		if (asprintf(&s, "%s %s %s", key_type_name(k), b64,
		    comment) == -1)
			goto out;
	} else if (asprintf(&s, "%s %s", key_type_name(k), b64) == -1)
		goto out;
	*line = s;
	rc = 0;
out:
	free(b64);
	wb_free(&blob);
	return rc;
}
