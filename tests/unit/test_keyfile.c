/* Unit tests for keys/keyfile.c against key files ssh-keygen wrote
 * (data/keys, see gen.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "ssh/buf.h"

#define DATA		"data/keys/"
#define MSG_ENC		"key is encrypted with a passphrase; load it into " \
			"ssh-agent"
#define MSG_V1_ENC	"key is encrypted in OpenSSH's format (bcrypt-pbkdf), " \
			"which ferry cannot decrypt: add it to ssh-agent with " \
			"ssh-add, or convert it with ssh-keygen -p -m PEM"
#define MARK_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define MARK_END	"-----END OPENSSH PRIVATE KEY-----"

static const struct {
	const char	*name;
	enum key_type	 type;
	bool		 openssh;	/* openssh-key-v1, else PEM */
} files[] = {
	{ "id_ed25519", KEY_ED25519, true },
	{ "id_ecdsa", KEY_ECDSA_P256, true },
	{ "id_rsa", KEY_RSA, true },
	{ "id_rsa_pem", KEY_RSA, false },
	{ "id_ecdsa_pem", KEY_ECDSA_P256, false },
	{ "id_ecdsa_pkcs8", KEY_ECDSA_P256, false },
	{ "id_ed25519_pkcs8", KEY_ED25519, false },
};

static const char *sigalg_of[] = {
	[KEY_ED25519] = "ssh-ed25519",
	[KEY_ECDSA_P256] = "ecdsa-sha2-nistp256",
	[KEY_RSA] = "rsa-sha2-512",
};

static char tmpdir[64];

static char *
read_text(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	f = fopen(path, "rb");
	assert_non_null(f);
	buf = malloc(1024 * 1024);
	assert_non_null(buf);
	n = fread(buf, 1, 1024 * 1024 - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static char *
data_text(const char *name, const char *suffix, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), DATA "%s%s", name, suffix);
	return read_text(path, len);
}

static struct key *
load_text(const char *name)
{
	struct key *k;
	char *text, err[256];
	size_t len;

	text = data_text(name, "", &len);
	if (keyfile_parse_private(text, len, &k, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	free(text);
	return k;
}

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Decodes the base64 body of an openssh-key-v1 text. */
static uint8_t *
v1_decode(const char *text, size_t *len)
{
	const char *p, *end;
	char *b64;
	uint8_t *bin;
	size_t n = 0;
	int dlen;

	p = strstr(text, MARK_BEGIN);
	assert_non_null(p);
	p += strlen(MARK_BEGIN);
	end = strstr(p, MARK_END);
	assert_non_null(end);
	b64 = malloc((size_t)(end - p) + 1);
	for (; p < end; p++) {
		if (*p != '\n')
			b64[n++] = *p;
	}
	bin = malloc(n);
	dlen = b64_decode(b64, n, bin, n);
	assert_true(dlen > 0);
	free(b64);
	*len = (size_t)dlen;
	return bin;
}

/* Armors a binary blob like ssh-keygen does. */
static char *
v1_armor(const uint8_t *bin, size_t len)
{
	char *b64, *out, *o;
	size_t i, n;

	b64 = malloc(len / 3 * 4 + 8);
	n = (size_t)b64_encode(bin, len, b64, len / 3 * 4 + 8);
	out = malloc(n + n / 70 + 100);
	o = out + sprintf(out, "%s\n", MARK_BEGIN);
	for (i = 0; i < n; i += 70) {
		size_t l = n - i < 70 ? n - i : 70;

		memcpy(o, b64 + i, l);
		o += l;
		*o++ = '\n';
	}
	sprintf(o, "%s\n", MARK_END);
	free(b64);
	return out;
}

/* The parts of a decoded openssh-key-v1 blob. */
struct v1 {
	uint8_t		*bin;
	size_t		 len;
	const uint8_t	*pub, *priv;
	size_t		 publen, privlen;
	size_t		 privoff;	/* of the private section's data */
	/* inside priv: between the check ints and the padding */
	const uint8_t	*body;
	size_t		 bodylen;
};

static void
v1_split(const char *name, struct v1 *v)
{
	char *text;
	size_t len, pad;
	struct rd r;

	text = data_text(name, "", &len);
	v->bin = v1_decode(text, &v->len);
	free(text);
	rd_init(&r, v->bin, v->len);
	rd_bytes(&r, NULL, 15);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	rd_u32(&r, &(uint32_t){ 0 });
	rd_string(&r, &v->pub, &v->publen);
	rd_string(&r, &v->priv, &v->privlen);
	assert_false(r.err);
	assert_int_equal(rd_left(&r), 0);
	v->privoff = (size_t)(v->priv - v->bin);
	pad = v->priv[v->privlen - 1];
	if (pad > 7)
		pad = 0;
	v->body = v->priv + 8;
	v->bodylen = v->privlen - 8 - pad;
}

/* Builds a key file text from parts; padding as OpenSSH writes it. */
static char *
v1_build(const char *cipher, const char *kdf, uint32_t nkeys,
    const uint8_t *pub, size_t publen, uint32_t c1, uint32_t c2,
    const uint8_t *body, size_t bodylen)
{
	struct wb priv, bin;
	uint8_t i;
	char *text;

	wb_init(&priv);
	wb_init(&bin);
	wb_u32(&priv, c1);
	wb_u32(&priv, c2);
	wb_put(&priv, body, bodylen);
	for (i = 1; priv.len % 8 != 0; i++)
		wb_u8(&priv, i);
	wb_put(&bin, "openssh-key-v1", 15);
	wb_cstring(&bin, cipher);
	wb_cstring(&bin, kdf);
	wb_string(&bin, "", 0);
	wb_u32(&bin, nkeys);
	wb_string(&bin, pub, publen);
	wb_string(&bin, priv.p, priv.len);
	text = v1_armor(bin.p, bin.len);
	wb_free(&priv);
	wb_free(&bin);
	return text;
}

static int
parse_str(const char *text, char *err, size_t errlen)
{
	struct key *k = NULL;
	int rc;

	rc = keyfile_parse_private(text, strlen(text), &k, err, errlen);
	if (rc == 0)
		assert_non_null(k);
	else
		assert_null(k);
	key_free(k);
	return rc;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-keyfile-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Every file loads, its public half equals the .pub line, and it signs
 * what the .pub key verifies. */
static void
test_load_files(void **state)
{
	struct key *k, *pub;
	char *line, err[256];
	size_t i, len;
	struct wb sig;
	static const uint8_t data[] = "abc";

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		k = load_text(files[i].name);
		assert_true(k->has_private);
		assert_int_equal(k->type, files[i].type);
		line = data_text(files[i].name, ".pub", &len);
		if (keyfile_parse_public(line, len, &pub, err,
		    sizeof(err)) != 0)
			fail_msg("%s.pub: %s", files[i].name, err);
		assert_false(pub->has_private);
		assert_true(key_equal(k, pub));
		wb_init(&sig);
		assert_int_equal(key_sign(k, sigalg_of[k->type], data,
		    sizeof(data), &sig), 0);
		assert_int_equal(key_verify(pub, sigalg_of[k->type], sig.p,
		    sig.len, data, sizeof(data)), 0);
		wb_free(&sig);
		free(line);
		key_free(pub);
		key_free(k);
	}
}

/* OpenSSH does not store the CRT exponents; they must be derived. */
static void
test_rsa_crt_params(void **state)
{
	struct key *k;
	BIGNUM *d = NULL, *p = NULL, *dp = NULL, *t;
	BN_CTX *ctx;

	(void)state;
	k = load_text("id_rsa");
	assert_int_equal(EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_D,
	    &d), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k->pkey,
	    OSSL_PKEY_PARAM_RSA_FACTOR1, &p), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k->pkey,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1, &dp), 1);
	ctx = BN_CTX_new();
	t = BN_new();
	assert_int_equal(BN_sub_word(p, 1), 1);
	assert_int_equal(BN_mod(t, d, p, ctx), 1);
	assert_int_equal(BN_cmp(t, dp), 0);
	BN_free(t);
	BN_free(d);
	BN_free(p);
	BN_free(dp);
	BN_CTX_free(ctx);
	key_free(k);
}

/* Our output parses back, signs, and carries the comment. */
static void
test_format_roundtrip(void **state)
{
	struct key *k, *back;
	char *text, *line, err[256];
	size_t i;
	int t;
	struct wb sig;
	static const uint8_t data[] = "xyz";

	(void)state;
	for (t = 0; t < 3 + (int)(sizeof(files) / sizeof(files[0])); t++) {
		if (t < 3)
			assert_int_equal(key_generate((enum key_type)t, &k), 0);
		else
			k = load_text(files[t - 3].name);
		assert_int_equal(keyfile_format_private(k, "a comment", &text),
		    0);
		assert_memory_equal(text, MARK_BEGIN "\n",
		    strlen(MARK_BEGIN) + 1);
		for (i = 0; text[i] != '\0'; ) {
			size_t l = strcspn(text + i, "\n");

			assert_true(l <= 70);
			i += l + 1;
		}
		if (keyfile_parse_private(text, strlen(text), &back, err,
		    sizeof(err)) != 0)
			fail_msg("reparse: %s", err);
		assert_true(back->has_private);
		assert_true(key_equal(k, back));
		wb_init(&sig);
		assert_int_equal(key_sign(back, sigalg_of[k->type], data,
		    sizeof(data), &sig), 0);
		assert_int_equal(key_verify(k, sigalg_of[k->type], sig.p,
		    sig.len, data, sizeof(data)), 0);
		wb_free(&sig);
		assert_int_equal(keyfile_format_public(back, "a comment",
		    &line), 0);
		assert_non_null(strstr(line, " a comment"));
		free(line);
		free(text);
		key_free(back);
		key_free(k);
	}
	/* A public key has nothing to write. */
	k = load_text("id_ed25519");
	k->has_private = false;
	assert_int_equal(keyfile_format_private(k, NULL, &text), -1);
	assert_null(text);
	key_free(k);
}

/* Byte for byte what ssh-keygen wrote, apart from the random check int. */
static void
test_format_matches_openssh(void **state)
{
	static const char *names[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	struct v1 orig, ours;
	char *text, *pub, *comment, *nl;
	size_t i;
	struct key *k;

	(void)state;
	for (i = 0; i < 3; i++) {
		v1_split(names[i], &orig);
		pub = data_text(names[i], ".pub", NULL);
		comment = strrchr(pub, ' ') + 1;
		if ((nl = strchr(comment, '\n')) != NULL)
			*nl = '\0';
		k = load_text(names[i]);
		assert_int_equal(keyfile_format_private(k, comment, &text), 0);
		ours.bin = v1_decode(text, &ours.len);
		assert_int_equal(ours.len, orig.len);
		/* the check ints start the private section */
		memcpy(ours.bin + orig.privoff, orig.bin + orig.privoff, 8);
		assert_memory_equal(ours.bin, orig.bin, orig.len);
		free(ours.bin);
		free(orig.bin);
		free(text);
		free(pub);
		key_free(k);
	}
}

/* ssh-keygen -y reads our files (skipped without ssh-keygen). */
static void
test_ssh_keygen_reads_ours(void **state)
{
	char path[128], out[128], cmd[512], *text, *line, *got;
	struct key *k;
	int t;

	(void)state;
	if (system("command -v ssh-keygen >/dev/null 2>&1") != 0)
		skip();
	for (t = 0; t < 3; t++) {
		assert_int_equal(key_generate((enum key_type)t, &k), 0);
		assert_int_equal(keyfile_format_private(k, "ours", &text), 0);
		snprintf(path, sizeof(path), "%s/k%d", tmpdir, t);
		snprintf(out, sizeof(out), "%s/k%d.out", tmpdir, t);
		write_file(path, text, strlen(text), 0600);
		snprintf(cmd, sizeof(cmd), "ssh-keygen -y -f '%s' > '%s' "
		    "2>/dev/null", path, out);
		assert_int_equal(system(cmd), 0);
		got = read_text(out, NULL);
		assert_int_equal(keyfile_format_public(k, NULL, &line), 0);
		assert_memory_equal(got, line, strlen(line));
		assert_true(got[strlen(line)] == ' ' ||
		    got[strlen(line)] == '\n');
		free(got);
		free(line);
		free(text);
		key_free(k);
	}
}

/* Cutting the text anywhere before the end marker is complete fails;
 * nothing crashes (ASan runs check the never-read-past-len part). */
static void
test_text_truncation(void **state)
{
	char *text, *copy, err[256], *endm;
	size_t i, len, cut, need;
	struct key *k;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		text = data_text(files[i].name, "", &len);
		endm = strstr(text, "-----END ");
		assert_non_null(endm);
		need = strchr(endm + 9, '\n') != NULL ?
		    (size_t)(strchr(endm + 9, '\n') - text) : len;
		for (cut = 0; cut <= len; cut++) {
			/* exact-size copy so ASan sees any over-read */
			copy = malloc(cut > 0 ? cut : 1);
			memcpy(copy, text, cut);
			k = NULL;
			rc = keyfile_parse_private(copy, cut, &k, err,
			    sizeof(err));
			if (cut < need) {
				if (rc == 0)
					fail_msg("%s cut at %zu parsed",
					    files[i].name, cut);
				assert_null(k);
			}
			key_free(k);
			free(copy);
		}
		free(text);
	}
}

/* Every cut of the binary blob, re-armored, fails; random damage does not
 * crash. */
static void
test_binary_truncation(void **state)
{
	static const char *names[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	struct v1 v;
	char *text, err[256];
	size_t i, cut, j;
	uint8_t *copy;
	int n;

	(void)state;
	srand(7);
	for (i = 0; i < 3; i++) {
		v1_split(names[i], &v);
		for (cut = 0; cut < v.len; cut++) {
			text = v1_armor(v.bin, cut);
			if (parse_str(text, err, sizeof(err)) == 0)
				fail_msg("%s cut at %zu parsed", names[i], cut);
			free(text);
		}
		copy = malloc(v.len);
		for (n = 0; n < 3000; n++) {
			memcpy(copy, v.bin, v.len);
			for (j = 0; j < 1 + (size_t)(rand() % 3); j++)
				copy[(size_t)rand() % v.len] ^=
				    (uint8_t)(1 + rand() % 255);
			text = v1_armor(copy, v.len);
			parse_str(text, err, sizeof(err));
			free(text);
		}
		free(copy);
		free(v.bin);
	}
}

/* Structural damage that must be refused, each checked to be the only
 * change from a file that parses. */
static void
test_corrupt_files(void **state)
{
	struct v1 v, other;
	char *text, err[256];
	uint8_t *body;
	struct rd r;
	const uint8_t *p;
	size_t len, off;

	(void)state;
	v1_split("id_ed25519", &v);
	v1_split("id_ecdsa", &other);

	text = v1_build("none", "none", 1, v.pub, v.publen, 7, 7, v.body,
	    v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), 0);
	free(text);

	text = v1_build("none", "none", 1, v.pub, v.publen, 7, 8, v.body,
	    v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "check"));
	free(text);

	text = v1_build("none", "none", 2, v.pub, v.publen, 7, 7, v.body,
	    v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), -1);
	free(text);

	text = v1_build("aes256-ctr", "bcrypt", 1, v.pub, v.publen, 7, 7,
	    v.body, v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)),
	    KEYFILE_ENCRYPTED_V1);
	assert_string_equal(err, MSG_V1_ENC);
	free(text);

	text = v1_build("none", "bcrypt", 1, v.pub, v.publen, 7, 7, v.body,
	    v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), -1);
	free(text);

	/* The public key of another file, of another type and of the same. */
	text = v1_build("none", "none", 1, other.pub, other.publen, 7, 7,
	    v.body, v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), -1);
	free(text);
	{
		struct v1 enc;

		v1_split("id_ed25519_enc", &enc);
		text = v1_build("none", "none", 1, enc.pub, enc.publen, 7, 7,
		    v.body, v.bodylen);
		assert_int_equal(parse_str(text, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "does not match"));
		free(text);
		free(enc.bin);
	}

	/* Bad padding: 1,2,3,... replaced by zeros. */
	{
		struct wb priv, bin;

		wb_init(&priv);
		wb_init(&bin);
		wb_u32(&priv, 7);
		wb_u32(&priv, 7);
		wb_put(&priv, v.body, v.bodylen);
		while (priv.len % 8 != 0)
			wb_u8(&priv, 0);
		assert_true(priv.len > 8 + v.bodylen);	/* there is padding */
		wb_put(&bin, "openssh-key-v1", 15);
		wb_cstring(&bin, "none");
		wb_cstring(&bin, "none");
		wb_string(&bin, "", 0);
		wb_u32(&bin, 1);
		wb_string(&bin, v.pub, v.publen);
		wb_string(&bin, priv.p, priv.len);
		text = v1_armor(bin.p, bin.len);
		assert_int_equal(parse_str(text, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "padding"));
		free(text);
		wb_free(&priv);
		wb_free(&bin);
	}

	/* ed25519: a seed that does not give the public key. */
	body = malloc(v.bodylen);
	memcpy(body, v.body, v.bodylen);
	rd_init(&r, body, v.bodylen);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	assert_int_equal(rd_string(&r, &p, &len), 0);
	assert_int_equal(len, 64);
	body[p - body] ^= 1;
	text = v1_build("none", "none", 1, v.pub, v.publen, 7, 7, body,
	    v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), -1);
	free(text);
	free(body);

	/* ecdsa: a private scalar that does not give Q. */
	body = malloc(other.bodylen);
	memcpy(body, other.body, other.bodylen);
	rd_init(&r, body, other.bodylen);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	assert_int_equal(rd_string(&r, &p, &len), 0);
	body[p - body + len - 1] ^= 1;
	text = v1_build("none", "none", 1, other.pub, other.publen, 7, 7, body,
	    other.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), -1);
	free(text);
	free(body);
	free(v.bin);
	free(other.bin);

	/* rsa: d off by two, and p and q swapped (iqmp then is wrong). */
	v1_split("id_rsa", &v);
	body = malloc(v.bodylen);
	memcpy(body, v.body, v.bodylen);
	rd_init(&r, body, v.bodylen);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	assert_int_equal(rd_string(&r, &p, &len), 0);	/* d */
	off = (size_t)(p - body) + len - 1;
	body[off] ^= 2;
	text = v1_build("none", "none", 1, v.pub, v.publen, 7, 7, body,
	    v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), -1);
	free(text);
	body[off] ^= 2;
	text = v1_build("none", "none", 1, v.pub, v.publen, 7, 7, body,
	    v.bodylen);
	assert_int_equal(parse_str(text, err, sizeof(err)), 0);
	free(text);
	{
		const uint8_t *pp, *qp;
		size_t plen, qlen, poff;
		uint8_t *sw = malloc(v.bodylen);

		rd_string(&r, NULL, NULL);			/* iqmp */
		rd_string(&r, &pp, &plen);
		rd_string(&r, &qp, &qlen);
		assert_false(r.err);
		assert_int_equal(plen, qlen);
		poff = (size_t)(pp - body);
		memcpy(sw, body, v.bodylen);
		memcpy(sw + poff, qp, qlen);
		memcpy(sw + poff + plen + 4, pp, plen);
		text = v1_build("none", "none", 1, v.pub, v.publen, 7, 7, sw,
		    v.bodylen);
		assert_int_equal(parse_str(text, err, sizeof(err)), -1);
		free(text);
		free(sw);
	}
	free(body);
	free(v.bin);
}

static void
test_load_private_file(void **state)
{
	char path[128], big[128], *text, err[512];
	struct key *k = NULL;
	size_t len;
	char *huge;

	(void)state;
	snprintf(path, sizeof(path), "%s/id", tmpdir);
	text = data_text("id_ecdsa", "", &len);
	write_file(path, text, len, 0600);
	if (keyfile_load_private(path, &k, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(k->type, KEY_ECDSA_P256);
	key_free(k);

	assert_int_equal(chmod(path, 0644), 0);
	err[0] = '\0';
	assert_int_equal(keyfile_load_private(path, &k, err, sizeof(err)), -1);
	assert_null(k);
	assert_non_null(strstr(err, "bad permissions"));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "0644"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(keyfile_load_private(path, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad permissions"));
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(keyfile_load_private(path, &k, err, sizeof(err)), 0);
	key_free(k);
	free(text);

	/* the encrypted one keeps its return code through the file path */
	text = data_text("id_ed25519_enc", "", &len);
	write_file(path, text, len, 0600);
	assert_int_equal(keyfile_load_private(path, &k, err, sizeof(err)),
	    KEYFILE_ENCRYPTED_V1);
	assert_string_equal(err, MSG_V1_ENC);
	free(text);

	snprintf(big, sizeof(big), "%s/missing", tmpdir);
	assert_int_equal(keyfile_load_private(big, &k, err, sizeof(err)),
	    KEYFILE_MISSING);
	assert_null(k);
	assert_non_null(strstr(err, "missing: No such file"));
	/* a path through a regular file is not "missing": ENOTDIR */
	snprintf(big, sizeof(big), "%s/id/x", tmpdir);
	assert_int_equal(keyfile_load_private(big, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Not a directory"));
	assert_int_equal(keyfile_load_private(tmpdir, &k, err, sizeof(err)),
	    -1);

	/* Over 1 MiB is refused before parsing. */
	snprintf(big, sizeof(big), "%s/big", tmpdir);
	huge = malloc(1024 * 1024 + 2);
	memset(huge, '\n', 1024 * 1024 + 2);
	write_file(big, huge, 1024 * 1024 + 1, 0600);
	assert_int_equal(keyfile_load_private(big, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_rsa_crt_params),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_format_matches_openssh),
		cmocka_unit_test(test_ssh_keygen_reads_ours),
		cmocka_unit_test(test_text_truncation),
		cmocka_unit_test(test_binary_truncation),
		cmocka_unit_test(test_corrupt_files),
		cmocka_unit_test(test_load_private_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
