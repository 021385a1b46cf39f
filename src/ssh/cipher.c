/* Packet protection: chacha20-poly1305@openssh.com, AES-GCM (RFC 5647) and
 * AES-CTR (RFC 4344) with HMAC-SHA2 (RFC 6668), all from OpenSSL 3 EVP. */
#include "cipher.h"
#include "buf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CHACHA_TAG	16
#define GCM_IV		12
#define GCM_TAG		16
#define MAC_MAX		64

/* Per-mode operations; each cipher table entry points at one set. seal
 * and open are only given packets pkt_len_ok allows. */
struct pcipher_ops {
	int	(*init)(struct ssh_pcipher *, const uint8_t *, const uint8_t *,
		    const uint8_t *);
	int	(*seal)(struct ssh_pcipher *, uint32_t, uint8_t *, size_t);
	int	(*peek_len)(struct ssh_pcipher *, uint32_t, uint8_t *,
		    uint32_t *);
	int	(*open)(struct ssh_pcipher *, uint32_t, uint8_t *, size_t);
};

struct cipher_impl {
	struct ssh_cipher_alg		 alg;
	const char			*evp_name;
	const struct pcipher_ops	*ops;
};

struct mac_impl {
	struct ssh_mac_alg	 alg;
	const char		*digest;
};

/* One direction's state. Every OpenSSL object in it is owned here: created
 * once by ssh_pcipher_new, reused for every packet, released by
 * ssh_pcipher_free. */
struct ssh_pcipher {
	const struct cipher_impl	*c;
	const struct mac_impl		*mac;	/* NULL for AEAD ciphers */
	bool				 encrypt;
	EVP_CIPHER			*evp;
	EVP_CIPHER_CTX			*ctx;	/* CTR/GCM stream; chacha K_2 */
	EVP_CIPHER_CTX			*hctx;	/* chacha K_1, the length */
	EVP_MAC				*macalg;
	EVP_MAC_CTX			*mctx;	/* keyed HMAC, or Poly1305 */
	uint8_t				 iv[GCM_IV]; /* GCM fixed || counter */
	bool				 peeked; /* CTR: first block decrypted */
};

/* Runs the cipher over len bytes in place; EVP counts in int. */
static int
xcrypt(EVP_CIPHER_CTX *ctx, uint8_t *p, size_t len)
{
	int outl;

	if (len == 0)
		return 0;
	if (len > INT_MAX || !EVP_CipherUpdate(ctx, p, &outl, p, (int)len) ||
	    (size_t)outl != len)
		return -1;
	return 0;
}

/* Packets are bounded by the transport far below INT_MAX; this keeps the
 * int conversions above honest and n - 4 from wrapping in every seal and
 * open, which ssh_pcipher_seal and ssh_pcipher_open check it for. */
static bool
pkt_len_ok(size_t n)
{
	return n >= 4 && n <= INT_MAX;
}

/* Restarts a chacha stream at block 0 for seq. OpenSSL's IV is a 32-bit LE
 * block counter then a 96-bit nonce; OpenSSH's is a 64-bit counter then seq
 * as a uint64 BE, so the 16 bytes are 0(4) || 0(4) || 0(4) || seq(4, BE). */
static int
chacha_set_nonce(EVP_CIPHER_CTX *ctx, uint32_t seq)
{
	uint8_t iv[16] = { 0 };

	put_u32(iv + 12, seq);
	return EVP_CipherInit_ex2(ctx, NULL, NULL, iv, -1, NULL) ? 0 : -1;
}

static int
chacha_init(struct ssh_pcipher *pc, const uint8_t *key, const uint8_t *iv,
    const uint8_t *mac_key)
{
	(void)iv;
	(void)mac_key;
	if ((pc->hctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	/* A stream cipher: encrypting and decrypting are the same XOR. */
	if (!EVP_CipherInit_ex2(pc->ctx, pc->evp, key, NULL, 1, NULL) ||
	    !EVP_CipherInit_ex2(pc->hctx, pc->evp, key + 32, NULL, 1, NULL))
		return -1;
	if ((pc->macalg = EVP_MAC_fetch(NULL, "POLY1305", NULL)) == NULL ||
	    (pc->mctx = EVP_MAC_CTX_new(pc->macalg)) == NULL)
		return -1;
	return 0;
}

/* Block 0 of K_2's stream for seq is the Poly1305 key; the context is left
 * at block 1, where the packet body is encrypted. */
static int
chacha_poly_key(struct ssh_pcipher *pc, uint32_t seq, uint8_t block[64])
{
	static const uint8_t zero[64];
	int outl;

	if (chacha_set_nonce(pc->ctx, seq) != 0 ||
	    !EVP_CipherUpdate(pc->ctx, block, &outl, zero, sizeof(zero)) ||
	    outl != (int)sizeof(zero))
		return -1;
	return 0;
}

static int
chacha_tag(struct ssh_pcipher *pc, const uint8_t *key, const uint8_t *pkt,
    size_t n, uint8_t *tag)
{
	size_t outl;

	if (!EVP_MAC_init(pc->mctx, key, 32, NULL) ||
	    !EVP_MAC_update(pc->mctx, pkt, n) ||
	    !EVP_MAC_final(pc->mctx, tag, &outl, CHACHA_TAG) ||
	    outl != CHACHA_TAG)
		return -1;
	return 0;
}

static int
chacha_seal(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt, size_t n)
{
	uint8_t poly[64];
	int r = -1;

	if (chacha_set_nonce(pc->hctx, seq) != 0 ||
	    xcrypt(pc->hctx, pkt, 4) != 0 ||
	    chacha_poly_key(pc, seq, poly) != 0 ||
	    xcrypt(pc->ctx, pkt + 4, n - 4) != 0 ||
	    chacha_tag(pc, poly, pkt, n, pkt + n) != 0)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(poly, sizeof(poly));
	return r;
}

static int
chacha_peek_len(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt,
    uint32_t *len)
{
	uint8_t b[4];

	/* The tag covers the encrypted length: decrypt a copy, not pkt. */
	memcpy(b, pkt, sizeof(b));
	if (chacha_set_nonce(pc->hctx, seq) != 0 ||
	    xcrypt(pc->hctx, b, sizeof(b)) != 0)
		return -1;
	*len = get_u32(b);
	return 0;
}

static int
chacha_open(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt, size_t n)
{
	uint8_t poly[64], tag[CHACHA_TAG];
	int r = -1;

	if (chacha_poly_key(pc, seq, poly) != 0 ||
	    chacha_tag(pc, poly, pkt, n, tag) != 0 ||
	    CRYPTO_memcmp(tag, pkt + n, CHACHA_TAG) != 0)
		goto out;
	if (chacha_set_nonce(pc->hctx, seq) != 0 ||
	    xcrypt(pc->hctx, pkt, 4) != 0 ||
	    xcrypt(pc->ctx, pkt + 4, n - 4) != 0)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(poly, sizeof(poly));
	return r;
}

static int
gcm_init(struct ssh_pcipher *pc, const uint8_t *key, const uint8_t *iv,
    const uint8_t *mac_key)
{
	(void)mac_key;
	memcpy(pc->iv, iv, GCM_IV);
	if (!EVP_CipherInit_ex2(pc->ctx, pc->evp, key, NULL, pc->encrypt,
	    NULL))
		return -1;
	return 0;
}

/* Sets this packet's nonce, steps the RFC 5647 invocation counter (the low
 * 64 bits, big-endian) for the next one, and feeds the length as AAD. */
static int
gcm_begin(struct ssh_pcipher *pc, const uint8_t *pkt)
{
	int i, outl;

	if (!EVP_CipherInit_ex2(pc->ctx, NULL, NULL, pc->iv, -1, NULL))
		return -1;
	for (i = GCM_IV - 1; i >= 4; i--) {
		if (++pc->iv[i] != 0)
			break;
	}
	if (!EVP_CipherUpdate(pc->ctx, NULL, &outl, pkt, 4))
		return -1;
	return 0;
}

static int
gcm_peek_len(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt,
    uint32_t *len)
{
	(void)pc;
	(void)seq;
	*len = get_u32(pkt);
	return 0;
}

/* Seal and open are one pass over the body; they differ only in the tag,
 * given to OpenSSL before decrypting and taken from it after encrypting.
 * GCM decrypts and authenticates together: on failure pkt holds
 * unauthenticated bytes, which the caller must drop with the connection. */
static int
gcm_crypt(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt, size_t n)
{
	uint8_t fin[16];
	int outl;

	(void)seq;
	if (gcm_begin(pc, pkt) != 0)
		return -1;
	if (!pc->encrypt && !EVP_CIPHER_CTX_ctrl(pc->ctx,
	    EVP_CTRL_AEAD_SET_TAG, GCM_TAG, pkt + n))
		return -1;
	if (xcrypt(pc->ctx, pkt + 4, n - 4) != 0 ||
	    EVP_CipherFinal_ex(pc->ctx, fin, &outl) <= 0)
		return -1;
	if (pc->encrypt && !EVP_CIPHER_CTX_ctrl(pc->ctx,
	    EVP_CTRL_AEAD_GET_TAG, GCM_TAG, pkt + n))
		return -1;
	return 0;
}

static int
ctr_init(struct ssh_pcipher *pc, const uint8_t *key, const uint8_t *iv,
    const uint8_t *mac_key)
{
	OSSL_PARAM params[2];

	/* CTR's keystream runs on across packets (RFC 4344), so the IV is
	 * set once here and never again. */
	if (!EVP_CipherInit_ex2(pc->ctx, pc->evp, key, iv, pc->encrypt, NULL))
		return -1;
	if ((pc->macalg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (pc->mctx = EVP_MAC_CTX_new(pc->macalg)) == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)pc->mac->digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(pc->mctx, mac_key, pc->mac->alg.key_len, params))
		return -1;
	return 0;
}

/* HMAC(key, uint32 seq || pkt). A NULL key makes EVP_MAC_init restart
 * from the key set in ctr_init, which avoids re-deriving the pads. */
static int
ctr_hmac(struct ssh_pcipher *pc, uint32_t seq, const uint8_t *pkt, size_t n,
    uint8_t *out)
{
	uint8_t s[4];
	size_t outl;

	put_u32(s, seq);
	if (!EVP_MAC_init(pc->mctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(pc->mctx, s, sizeof(s)) ||
	    !EVP_MAC_update(pc->mctx, pkt, n) ||
	    !EVP_MAC_final(pc->mctx, out, &outl, pc->mac->alg.out_len) ||
	    outl != pc->mac->alg.out_len)
		return -1;
	return 0;
}

static int
ctr_seal(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt, size_t n)
{
	if (pc->mac->alg.etm) {
		if (xcrypt(pc->ctx, pkt + 4, n - 4) != 0 ||
		    ctr_hmac(pc, seq, pkt, n, pkt + n) != 0)
			return -1;
	} else {
		if (ctr_hmac(pc, seq, pkt, n, pkt + n) != 0 ||
		    xcrypt(pc->ctx, pkt, n) != 0)
			return -1;
	}
	return 0;
}

/* Without -etm the length is in the first encrypted block: decrypt that
 * block in place, once, and let ctr_open continue the stream after it. */
static int
ctr_peek_len(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt,
    uint32_t *len)
{
	(void)seq;
	if (!pc->mac->alg.etm && !pc->peeked) {
		if (xcrypt(pc->ctx, pkt, pc->c->alg.block_size) != 0)
			return -1;
		pc->peeked = true;
	}
	*len = get_u32(pkt);
	return 0;
}

static int
ctr_open(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt, size_t n)
{
	uint8_t mac[MAC_MAX];
	size_t done;

	if (pc->mac->alg.etm) {
		/* Authenticate the ciphertext before decrypting any of it. */
		if (ctr_hmac(pc, seq, pkt, n, mac) != 0 ||
		    CRYPTO_memcmp(mac, pkt + n, pc->mac->alg.out_len) != 0)
			return -1;
		return xcrypt(pc->ctx, pkt + 4, n - 4);
	}
	done = pc->peeked ? pc->c->alg.block_size : 0;
	pc->peeked = false;
	if (n < done || xcrypt(pc->ctx, pkt + done, n - done) != 0 ||
	    ctr_hmac(pc, seq, pkt, n, mac) != 0 ||
	    CRYPTO_memcmp(mac, pkt + n, pc->mac->alg.out_len) != 0)
		return -1;
	return 0;
}

static const struct pcipher_ops chacha_ops = {
	chacha_init, chacha_seal, chacha_peek_len, chacha_open
};
static const struct pcipher_ops gcm_ops = {
	gcm_init, gcm_crypt, gcm_peek_len, gcm_crypt
};
static const struct pcipher_ops ctr_ops = {
	ctr_init, ctr_seal, ctr_peek_len, ctr_open
};

static const struct cipher_impl ciphers[] = {
	{ { "chacha20-poly1305@openssh.com", 64, 0, 8, CHACHA_TAG },
	    "ChaCha20", &chacha_ops },
	{ { "aes128-gcm@openssh.com", 16, GCM_IV, 16, GCM_TAG },
	    "AES-128-GCM", &gcm_ops },
	{ { "aes256-gcm@openssh.com", 32, GCM_IV, 16, GCM_TAG },
	    "AES-256-GCM", &gcm_ops },
	{ { "aes128-ctr", 16, 16, 16, 0 }, "AES-128-CTR", &ctr_ops },
	{ { "aes256-ctr", 32, 16, 16, 0 }, "AES-256-CTR", &ctr_ops },
};

static const struct mac_impl macs[] = {
	{ { "hmac-sha2-256-etm@openssh.com", 32, 32, true }, "SHA256" },
	{ { "hmac-sha2-512-etm@openssh.com", 64, 64, true }, "SHA512" },
	{ { "hmac-sha2-256", 32, 32, false }, "SHA256" },
	{ { "hmac-sha2-512", 64, 64, false }, "SHA512" },
};

/* chacha first as in OpenSSH; the GCM AEADs then go ahead of CTR+HMAC,
 * which OpenSSH 9 lists the other way round. */
/* OpenSSH's default order, less the ciphers ferry does not offer. */
const char ssh_cipher_default[] =
    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com";
const char ssh_cipher_all[] =
    "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,"
    "aes256-gcm@openssh.com,aes128-ctr,aes256-ctr";
const char ssh_mac_default[] =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512";
const char ssh_mac_all[] =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512";

static bool
name_eq(const char *known, const char *name, size_t n)
{
	return strlen(known) == n && memcmp(known, name, n) == 0;
}

static const struct cipher_impl *
cipher_impl_find(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		if (name_eq(ciphers[i].alg.name, name, n))
			return &ciphers[i];
	}
	return NULL;
}

static const struct mac_impl *
mac_impl_find(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(macs) / sizeof(macs[0]); i++) {
		if (name_eq(macs[i].alg.name, name, n))
			return &macs[i];
	}
	return NULL;
}

const struct ssh_cipher_alg *
ssh_cipher_alg_find(const char *name, size_t n)
{
	const struct cipher_impl *ci;

	if (name == NULL || (ci = cipher_impl_find(name, n)) == NULL)
		return NULL;
	return &ci->alg;
}

const struct ssh_mac_alg *
ssh_mac_alg_find(const char *name, size_t n)
{
	const struct mac_impl *mi;

	if (name == NULL || (mi = mac_impl_find(name, n)) == NULL)
		return NULL;
	return &mi->alg;
}

struct ssh_pcipher *
ssh_pcipher_new(const struct ssh_cipher_alg *c, const uint8_t *key,
    const uint8_t *iv, const struct ssh_mac_alg *mac, const uint8_t *mac_key,
    bool encrypt)
{
	struct ssh_pcipher *pc = NULL;
	const struct cipher_impl *ci;
	const struct mac_impl *mi = NULL;

	if (c == NULL || c->name == NULL || key == NULL ||
	    (ci = cipher_impl_find(c->name, strlen(c->name))) == NULL)
		return NULL;
	if (ci->alg.iv_len > 0 && iv == NULL)
		return NULL;
	/* An AEAD cipher authenticates by itself; as in OpenSSH, a MAC
	 * negotiated alongside it is ignored. */
	if (ci->alg.tag_len == 0) {
		if (mac == NULL || mac->name == NULL || mac_key == NULL ||
		    (mi = mac_impl_find(mac->name, strlen(mac->name))) == NULL)
			return NULL;
	}
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return NULL;
	pc->c = ci;
	pc->mac = mi;
	pc->encrypt = encrypt;
	if ((pc->evp = EVP_CIPHER_fetch(NULL, ci->evp_name, NULL)) == NULL ||
	    (pc->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    ci->ops->init(pc, key, iv, mac_key) != 0)
		goto fail;
	return pc;
fail:
	ssh_pcipher_free(pc);
	return NULL;
}

void
ssh_pcipher_free(struct ssh_pcipher *pc)
{
	static const uint8_t zero[32];

	if (pc == NULL)
		return;
	/* The cipher and HMAC providers wipe their state when freed; the
	 * Poly1305 one does not, so overwrite the last one-time key. */
	if (pc->mctx != NULL && pc->mac == NULL)
		(void)EVP_MAC_init(pc->mctx, zero, sizeof(zero), NULL);
	EVP_MAC_CTX_free(pc->mctx);
	EVP_MAC_free(pc->macalg);
	EVP_CIPHER_CTX_free(pc->hctx);
	EVP_CIPHER_CTX_free(pc->ctx);
	EVP_CIPHER_free(pc->evp);
	OPENSSL_cleanse(pc, sizeof(*pc));
	free(pc);
}

size_t
ssh_pcipher_block(const struct ssh_pcipher *pc)
{
	return pc->c->alg.block_size;
}

size_t
ssh_pcipher_tag_len(const struct ssh_pcipher *pc)
{
	return pc->mac != NULL ? pc->mac->alg.out_len : pc->c->alg.tag_len;
}

size_t
ssh_pcipher_aad_len(const struct ssh_pcipher *pc)
{
	return pc->mac == NULL || pc->mac->alg.etm ? 4 : 0;
}

size_t
ssh_pcipher_len_block(const struct ssh_pcipher *pc)
{
	return pc->mac == NULL || pc->mac->alg.etm ? 4 :
	    pc->c->alg.block_size;
}

int
ssh_pcipher_seal(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt, size_t n)
{
	if (!pkt_len_ok(n))
		return -1;
	return pc->c->ops->seal(pc, seq, pkt, n);
}

int
ssh_pcipher_peek_len(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt,
    uint32_t *len)
{
	return pc->c->ops->peek_len(pc, seq, pkt, len);
}

int
ssh_pcipher_open(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt, size_t n)
{
	if (!pkt_len_ok(n))
		return -1;
	return pc->c->ops->open(pc, seq, pkt, n);
}
