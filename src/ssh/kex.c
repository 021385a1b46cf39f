/* Key exchange: KEXINIT negotiation, curve25519-sha256 (RFC 8731), strict
 * KEX (OpenSSH PROTOCOL "kex-strict"), key derivation (RFC 4253 §7.2) and
 * the switch to new keys at NEWKEYS. */
#include "ssh_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "alglist.h"
#include "../keys/cert.h"
#include "../keys/key.h"

#define KEX_CLIENT_EXTRA ",ext-info-c,kex-strict-c-v00@openssh.com"
#define KEX_SERVER_EXTRA ",kex-strict-s-v00@openssh.com"
#define X25519_LEN	32
#define HASH_LEN	32

enum { C2S, S2C };

struct kex {
	bool		 sent_kexinit;
	bool		 got_kexinit;
	bool		 sent_newkeys;
	bool		 got_newkeys;
	bool		 skip_guess;	/* peer's guessed packet to drop */
	struct wb	 ours;		/* KEXINIT payloads, type byte first */
	struct wb	 theirs;
	char		 kex_alg[64];
	char		 hk_alg[64];
	char		 enc[2][48];
	char		 mac[2][48];
	char		 comp[2][24];
	EVP_PKEY	*eph;
	struct ssh_pcipher *new_tx;
	struct ssh_pcipher *new_rx;
};

void
kex_free(struct kex *k)
{
	if (k == NULL)
		return;
	wb_free(&k->ours);
	wb_free(&k->theirs);
	EVP_PKEY_free(k->eph);
	ssh_pcipher_free(k->new_tx);
	ssh_pcipher_free(k->new_rx);
	free(k);
}

bool
kex_tx_open(const struct kex *k)
{
	return !k->sent_kexinit || k->sent_newkeys;
}

bool
kex_rx_closed(const struct kex *k)
{
	return k->got_kexinit && !k->got_newkeys;
}

int
kex_start(struct ssh_conn *c)
{
	struct kex *k = c->kex;
	struct wb *o = &c->out;
	bool client = c->cfg.role == SSH_ROLE_CLIENT;
	char kexalgs[256];
	const char *ciphers = c->cfg.ciphers ? c->cfg.ciphers :
	    ssh_cipher_default;
	const char *macs = c->cfg.macs ? c->cfg.macs : ssh_mac_default;
	const char *comp = c->cfg.compression ? c->cfg.compression :
	    SSH_COMP_NONE;
	uint8_t *cookie;

	char hkalgs[512];

	if (k != NULL && k->sent_kexinit)
		return 0;
	if (!client && hostkey_server_algs(c, hkalgs, sizeof(hkalgs)) != 0)
		return conn_fail(c, 0, "no host key configured");
	if (k == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return conn_fail(c, 0, "out of memory");
		c->kex = k;
	}
	snprintf(kexalgs, sizeof(kexalgs), "%s%s", c->cfg.kex_algs ?
	    c->cfg.kex_algs : ssh_kex_default,
	    c->first_kex_done ? "" : client ? KEX_CLIENT_EXTRA :
	    KEX_SERVER_EXTRA);
	if (pkt_begin(c, MSG_KEXINIT) != 0 ||
	    (cookie = wb_reserve(o, 16)) == NULL ||
	    RAND_bytes(cookie, 16) != 1)
		return conn_fail(c, 0, "cannot build KEXINIT");
	o->len += 16;
	wb_cstring(o, kexalgs);
	wb_cstring(o, !client ? hkalgs : c->cfg.hostkey_algs ?
	    c->cfg.hostkey_algs : ssh_hostkey_default);
	wb_cstring(o, ciphers);
	wb_cstring(o, ciphers);
	wb_cstring(o, macs);
	wb_cstring(o, macs);
	wb_cstring(o, comp);
	wb_cstring(o, comp);
	wb_cstring(o, "");
	wb_cstring(o, "");
	wb_bool(o, false);
	wb_u32(o, 0);
	wb_reset(&k->ours);
	if (o->err || wb_put(&k->ours, o->p + c->pkt_start + 5,
	    o->len - c->pkt_start - 5) != 0 || pkt_end(c) != 0)
		return conn_fail(c, 0, "cannot build KEXINIT");
	k->sent_kexinit = true;
	return 0;
}

/* Our X25519 key for this exchange, in k->eph; pub gets its public
 * value. */
static int
eph_keygen(struct kex *k, uint8_t pub[X25519_LEN])
{
	EVP_PKEY_CTX *pctx;
	size_t publen = X25519_LEN;
	int ret = -1;

	if ((pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL)) != NULL &&
	    EVP_PKEY_keygen_init(pctx) > 0 &&
	    EVP_PKEY_keygen(pctx, &k->eph) > 0 &&
	    EVP_PKEY_get_raw_public_key(k->eph, pub, &publen) == 1 &&
	    publen == X25519_LEN)
		ret = 0;
	EVP_PKEY_CTX_free(pctx);
	return ret;
}

/* The first entry of a name-list, to check the peer's guess. */
static bool
first_is(const uint8_t *list, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && memcmp(list, name, n) == 0 &&
	    (len == n || list[n] == ',');
}

static int
kexinit_input(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	struct kex *k;
	struct rd r, ro;
	const uint8_t *l[10], *ol[10], *cl, *sl;
	size_t ll[10], oll[10], cll, sll;
	bool client = c->cfg.role == SSH_ROLE_CLIENT, follows;
	uint32_t reserved;
	int i, dir;

	if (kex_start(c) != 0)
		return -1;
	k = c->kex;
	if (k->got_kexinit)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "second KEXINIT");
	k->got_kexinit = true;
	if (wb_u8(&k->theirs, MSG_KEXINIT) != 0 ||
	    wb_put(&k->theirs, p, len) != 0)
		return conn_fail(c, 0, "out of memory");
	rd_init(&r, p, len);
	rd_bytes(&r, NULL, 16);
	for (i = 0; i < 10; i++)
		rd_string(&r, &l[i], &ll[i]);
	rd_bool(&r, &follows);
	rd_u32(&r, &reserved);
	if (r.err)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "malformed KEXINIT");
	rd_init(&ro, k->ours.p + 17, k->ours.len - 17);
	for (i = 0; i < 10; i++)
		rd_string(&ro, &ol[i], &oll[i]);

	if (!c->first_kex_done) {
		c->kex_strict = algs_has(l[0], ll[0], client ?
		    "kex-strict-s-v00@openssh.com" :
		    "kex-strict-c-v00@openssh.com");
		if (!client)
			c->ext_info_c = algs_has(l[0], ll[0], "ext-info-c");
		/* Strict KEX: KEXINIT must be the peer's first packet. */
		if (c->kex_strict && c->rx.packets != 1)
			return conn_fail(c, DISC_PROTOCOL_ERROR,
			    "strict KEX violation: KEXINIT was not the "
			    "first packet");
	}
	/* Index i of the lists: 0 kex, 1 hostkey, 2/3 enc, 4/5 mac, 6/7
	 * compression. */
#define CHOOSE(idx, out, what) do {					\
	cl = client ? ol[idx] : l[idx]; cll = client ? oll[idx] : ll[idx];	\
	sl = client ? l[idx] : ol[idx]; sll = client ? ll[idx] : oll[idx];	\
	if (algs_choose(cl, cll, sl, sll, out, sizeof(out)) != 0) {	\
		c->fail = SSH_FAIL_NEGOTIATION;				\
		return conn_fail(c, DISC_KEY_EXCHANGE_FAILED,		\
		    "no matching %s found. Their offer: %.*s", what,	\
		    (int)(ll[idx] > 900 ? 900 : ll[idx]),		\
		    (const char *)l[idx]);				\
	}								\
} while (0)
	CHOOSE(0, k->kex_alg, "key exchange method");
	CHOOSE(1, k->hk_alg, "host key type");
	for (dir = C2S; dir <= S2C; dir++) {
		const struct ssh_cipher_alg *ca;

		CHOOSE(2 + dir, k->enc[dir], "cipher");
		ca = ssh_cipher_alg_find(k->enc[dir], strlen(k->enc[dir]));
		if (ca != NULL && ca->tag_len > 0)
			k->mac[dir][0] = '\0';	/* AEAD: no MAC */
		else
			CHOOSE(4 + dir, k->mac[dir], "MAC");
		CHOOSE(6 + dir, k->comp[dir], "compression method");
	}
#undef CHOOSE
	if (follows && (!first_is(l[0], ll[0], k->kex_alg) ||
	    !first_is(l[1], ll[1], k->hk_alg)))
		k->skip_guess = true;

	if (client) {
		uint8_t pub[X25519_LEN];

		if (eph_keygen(k, pub) != 0)
			return conn_fail(c, 0, "X25519 key generation failed");
		if (pkt_begin(c, MSG_KEX_ECDH_INIT) != 0)
			return conn_fail(c, 0, "out of memory");
		wb_string(&c->out, pub, sizeof(pub));
		if (pkt_end(c) != 0)
			return conn_fail(c, 0, "out of memory");
	}
	return 0;
}

/* K as an mpint from the X25519 output (RFC 8731 §3.1). */
int
kex_shared_secret(void *eph, const uint8_t *peer, size_t peerlen,
    struct wb *kmp)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t sec[X25519_LEN];
	size_t seclen = sizeof(sec);
	int ret = -1;

	if (peerlen != X25519_LEN)
		goto out;
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, peerlen);
	if (pk == NULL || (ctx = EVP_PKEY_CTX_new(eph, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, pk) <= 0 ||
	    EVP_PKEY_derive(ctx, sec, &seclen) <= 0 || seclen != X25519_LEN)
		goto out;
	if (wb_mpint(kmp, sec, seclen) == 0)
		ret = 0;
out:
	OPENSSL_cleanse(sec, sizeof(sec));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ret;
}

/* H = SHA-256 over the transcript (RFC 8731 §3.1, RFC 5656 §4). V_C/V_S
 * and I_C/I_S are the client's and server's; here "ours" is the client's
 * when we are the client. */
int
kex_exchange_hash(const char *v_c, const char *v_s, const struct wb *i_c,
    const struct wb *i_s, const uint8_t *ks, size_t kslen, const uint8_t *qc,
    const uint8_t *qs, size_t qslen, const struct wb *kmp, uint8_t *h)
{
	struct wb hb;
	int ret = -1;

	wb_init(&hb);
	wb_string(&hb, v_c, strlen(v_c));
	wb_string(&hb, v_s, strlen(v_s));
	wb_string(&hb, i_c->p, i_c->len);
	wb_string(&hb, i_s->p, i_s->len);
	wb_string(&hb, ks, kslen);
	wb_string(&hb, qc, X25519_LEN);
	wb_string(&hb, qs, qslen);
	wb_put(&hb, kmp->p, kmp->len);
	if (!hb.err && EVP_Digest(hb.p, hb.len, h, NULL, EVP_sha256(),
	    NULL) == 1)
		ret = 0;
	wb_free(&hb);
	return ret;
}

/* RFC 4253 §7.2(K || H || letter || session_id), extended with
 * HASH(K || H || K1 || ...) until need bytes. */
int
kex_derive(const uint8_t *sid, size_t sidlen, const struct wb *kmp,
    const uint8_t *h, char letter, uint8_t *out, size_t need)
{
	uint8_t buf[HASH_LEN * 4];
	size_t have = 0;
	EVP_MD_CTX *md;
	int ret = -1;

	if (need > sizeof(buf) || (md = EVP_MD_CTX_new()) == NULL)
		return -1;
	while (have < need) {
		if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(md, kmp->p, kmp->len) != 1 ||
		    EVP_DigestUpdate(md, h, HASH_LEN) != 1)
			goto out;
		if (have == 0) {
			if (EVP_DigestUpdate(md, &letter, 1) != 1 ||
			    EVP_DigestUpdate(md, sid, sidlen) != 1)
				goto out;
		} else if (EVP_DigestUpdate(md, buf, have) != 1)
			goto out;
		if (EVP_DigestFinal_ex(md, buf + have, NULL) != 1)
			goto out;
		have += HASH_LEN;
	}
	memcpy(out, buf, need);
	ret = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_MD_CTX_free(md);
	return ret;
}

/* Builds one direction's packet protection from the derived keys: IV,
 * key and MAC key are letters A, C, E client to server, B, D, F back. */
static struct ssh_pcipher *
newkeys_dir(const struct ssh_conn *c, const struct wb *kmp, const uint8_t *h,
    int dir, bool encrypt)
{
	const char *enc = c->kex->enc[dir], *mac = c->kex->mac[dir];
	char iv_l = (char)('A' + dir), key_l = (char)('C' + dir),
	    mac_l = (char)('E' + dir);
	const struct ssh_cipher_alg *ca = ssh_cipher_alg_find(enc, strlen(enc));
	const struct ssh_mac_alg *ma = NULL;
	uint8_t iv[64], key[64], mkey[64];
	struct ssh_pcipher *pc = NULL;

	if (ca == NULL)
		return NULL;
	if (ca->tag_len == 0 &&
	    (ma = ssh_mac_alg_find(mac, strlen(mac))) == NULL)
		return NULL;
	if (kex_derive(c->session_id, c->session_id_len, kmp, h, iv_l, iv,
	    ca->iv_len) == 0 &&
	    kex_derive(c->session_id, c->session_id_len, kmp, h, key_l, key,
	    ca->key_len) == 0 &&
	    (ma == NULL || kex_derive(c->session_id, c->session_id_len, kmp, h,
	    mac_l, mkey, ma->key_len) == 0))
		pc = ssh_pcipher_new(ca, key, iv, ma, mkey, encrypt);
	OPENSSL_cleanse(iv, sizeof(iv));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mkey, sizeof(mkey));
	return pc;
}

/* Both directions' packet protection, made ready for NEWKEYS. */
static int
newkeys_make(struct ssh_conn *c, const struct wb *kmp, const uint8_t *h)
{
	struct kex *k = c->kex;
	int tx = c->cfg.role == SSH_ROLE_CLIENT ? C2S : S2C;

	k->new_tx = newkeys_dir(c, kmp, h, tx, true);
	k->new_rx = newkeys_dir(c, kmp, h, tx == C2S ? S2C : C2S, false);
	if (k->new_tx == NULL || k->new_rx == NULL)
		return conn_fail(c, 0, "cannot set up ciphers %s/%s",
		    k->enc[C2S], k->enc[S2C]);
	return 0;
}

/* Puts one direction on the cipher made for it (*pc, taken) at NEWKEYS,
 * and on a fresh compression stream; kdir says which of the negotiated
 * algorithms it uses. Strict KEX restarts its sequence number. */
static int
dir_newkeys(struct ssh_conn *c, struct dir *d, struct ssh_pcipher **pc,
    int kdir)
{
	const char *mac = c->kex->mac[kdir];

	ssh_pcipher_free(d->pc);
	d->pc = *pc;
	*pc = NULL;
	snprintf(d->cipher, sizeof(d->cipher), "%s", c->kex->enc[kdir]);
	snprintf(d->mac, sizeof(d->mac), "%s", mac[0] ? mac : "<implicit>");
	if (c->kex_strict)
		d->seq = 0;
	d->bytes = d->packets = 0;
	return comp_newkeys(c, d, c->kex->comp[kdir], d == &c->tx);
}

static int
send_newkeys(struct ssh_conn *c)
{
	struct kex *k = c->kex;
	int dir = c->cfg.role == SSH_ROLE_CLIENT ? C2S : S2C;

	if (pkt_begin(c, MSG_NEWKEYS) != 0 || pkt_end(c) != 0)
		return conn_fail(c, 0, "out of memory");
	if (dir_newkeys(c, &c->tx, &k->new_tx, dir) != 0)
		return -1;
	k->sent_newkeys = true;
	return transport_flush_deferred(c) == 0 ? 0 :
	    conn_fail(c, 0, "out of memory");
}

static int
ecdh_reply_input(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	struct kex *k = c->kex;
	struct rd r;
	const uint8_t *ks, *qs, *sig;
	size_t kslen, qslen, siglen, publen = X25519_LEN;
	uint8_t qc[X25519_LEN], h[HASH_LEN];
	struct wb kmp;
	struct key *owned = NULL;
	struct cert *cert = NULL;
	const struct key *hk = NULL;
	const char *sig_alg = NULL;
	struct ssh_event ev;
	int ret = -1;

	wb_init(&kmp);
	rd_init(&r, p, len);
	if (c->cfg.role != SSH_ROLE_CLIENT || k->eph == NULL ||
	    k->new_rx != NULL || rd_string(&r, &ks, &kslen) != 0 ||
	    rd_string(&r, &qs, &qslen) != 0 ||
	    rd_string(&r, &sig, &siglen) != 0 || rd_left(&r) != 0) {
		conn_fail(c, DISC_PROTOCOL_ERROR, "malformed KEX reply");
		goto out;
	}
	if (hostkey_client_parse(c, k->hk_alg, ks, kslen, &owned, &cert, &hk,
	    &sig_alg) != 0)
		goto out;
	if (kex_shared_secret(k->eph, qs, qslen, &kmp) != 0) {
		conn_fail(c, DISC_KEY_EXCHANGE_FAILED,
		    "bad server X25519 public value");
		goto out;
	}
	EVP_PKEY_get_raw_public_key(k->eph, qc, &publen);
	if (kmp.err || kex_exchange_hash(c->v_ours, c->v_peer, &k->ours,
	    &k->theirs, ks, kslen, qc, qs, qslen, &kmp, h) != 0) {
		conn_fail(c, 0, "exchange hash failed");
		goto out;
	}
	if (key_verify(hk, sig_alg, sig, siglen, h, sizeof(h)) != 0) {
		conn_fail(c, DISC_KEY_EXCHANGE_FAILED, "host key signature "
		    "does not verify (%s)", k->hk_alg);
		goto out;
	}
	if (!c->first_kex_done) {
		memcpy(c->session_id, h, sizeof(h));
		c->session_id_len = sizeof(h);
		if (wb_put(&c->hostkey_blob, ks, kslen) != 0) {
			conn_fail(c, 0, "out of memory");
			goto out;
		}
	} else if (kslen != c->hostkey_blob.len ||
	    CRYPTO_memcmp(ks, c->hostkey_blob.p, kslen) != 0) {
		conn_fail(c, DISC_KEY_EXCHANGE_FAILED,
		    "host key changed during rekey");
		goto out;
	}
	/* The keys are derived before the host key is judged, so that a
	 * deferred verdict needs nothing of this exchange but them. */
	if (newkeys_make(c, &kmp, h) != 0)
		goto out;
	if (!c->first_kex_done) {
		memset(&ev, 0, sizeof(ev));
		ev.type = SSH_EV_HOSTKEY;
		ev.u.hostkey.key = hk;
		ev.u.hostkey.alg = k->hk_alg;
		ev.u.hostkey.cert = cert;
		conn_emit(c, &ev);
		if (ev.u.hostkey.defer) {
			c->hostkey_wait = true;
			ret = 0;
			goto out;
		}
		if (!ev.u.hostkey.accept) {
			conn_fail(c, DISC_HOST_KEY_NOT_VERIFIABLE,
			    "Host key verification failed.");
			goto out;
		}
	}
	ret = send_newkeys(c);
out:
	OPENSSL_cleanse(h, sizeof(h));
	key_free(owned);
	cert_free(cert);
	wb_free(&kmp);
	return ret;
}

int
kex_hostkey_verdict(struct ssh_conn *c, bool accept)
{
	if (!accept)
		return conn_fail(c, DISC_HOST_KEY_NOT_VERIFIABLE,
		    "Host key verification failed.");
	return send_newkeys(c);
}

/* EXT_INFO right after the server's first NEWKEYS (RFC 8308 §2.4).
 * server-sig-algs names signature algorithms: the certificate names of
 * pubkey_algs are left out, as sshd does. */
static int
send_ext_info(struct ssh_conn *c)
{
	char *sig;
	int r;

	sig = alglist_plain(c->cfg.pubkey_algs != NULL ? c->cfg.pubkey_algs :
	    ssh_pubkey_default);
	if (sig == NULL)
		return conn_fail(c, DISC_BY_APPLICATION, "out of memory");
	if ((r = pkt_begin(c, MSG_EXT_INFO)) == 0) {
		wb_u32(&c->out, 1);
		wb_cstring(&c->out, "server-sig-algs");
		wb_cstring(&c->out, sig);
		r = pkt_end(c);
	}
	free(sig);
	return r;
}

static int
ecdh_init_input(struct ssh_conn *c, const uint8_t *p, size_t len)
{
	struct kex *k = c->kex;
	const struct key *hk = NULL;
	const char *sig_alg = NULL;
	struct rd r;
	const uint8_t *qc;
	size_t qclen;
	uint8_t qs[X25519_LEN], h[HASH_LEN];
	struct wb kmp, ks, sig;
	int ret = -1;

	wb_init(&kmp);
	wb_init(&ks);
	wb_init(&sig);
	rd_init(&r, p, len);
	if (k->eph != NULL || rd_string(&r, &qc, &qclen) != 0 ||
	    rd_left(&r) != 0) {
		conn_fail(c, DISC_PROTOCOL_ERROR, "malformed KEX init");
		goto out;
	}
	if (hostkey_server_pick(c, k->hk_alg, &hk, &sig_alg, &ks) != 0) {
		conn_fail(c, DISC_KEY_EXCHANGE_FAILED, "no host key for %s",
		    k->hk_alg);
		goto out;
	}
	if (eph_keygen(k, qs) != 0) {
		conn_fail(c, 0, "X25519 key generation failed");
		goto out;
	}
	if (kex_shared_secret(k->eph, qc, qclen, &kmp) != 0) {
		conn_fail(c, DISC_KEY_EXCHANGE_FAILED,
		    "bad client X25519 public value");
		goto out;
	}
	if (kex_exchange_hash(c->v_peer, c->v_ours, &k->theirs, &k->ours,
	    ks.p, ks.len, qc, qs, sizeof(qs), &kmp, h) != 0 ||
	    key_sign(hk, sig_alg, h, sizeof(h), &sig) != 0) {
		conn_fail(c, 0, "cannot sign the exchange hash");
		goto out;
	}
	if (!c->first_kex_done) {
		memcpy(c->session_id, h, sizeof(h));
		c->session_id_len = sizeof(h);
	}
	if (pkt_begin(c, MSG_KEX_ECDH_REPLY) != 0)
		goto out;
	wb_string(&c->out, ks.p, ks.len);
	wb_string(&c->out, qs, sizeof(qs));
	wb_string(&c->out, sig.p, sig.len);
	if (pkt_end(c) != 0)
		goto out;
	if (newkeys_make(c, &kmp, h) != 0 || send_newkeys(c) != 0)
		goto out;
	ret = 0;
	if (!c->first_kex_done && c->ext_info_c)
		ret = send_ext_info(c);
out:
	OPENSSL_cleanse(h, sizeof(h));
	wb_free(&kmp);
	wb_free(&ks);
	wb_free(&sig);
	return ret;
}

static int
newkeys_input(struct ssh_conn *c)
{
	struct kex *k = c->kex;
	struct ssh_event ev;
	int dir = c->cfg.role == SSH_ROLE_CLIENT ? S2C : C2S;
	bool first = !c->first_kex_done;

	if (k->new_rx == NULL || !k->sent_newkeys)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "unexpected NEWKEYS");
	if (dir_newkeys(c, &c->rx, &k->new_rx, dir) != 0)
		return -1;
	k->got_newkeys = true;
	kex_free(k);
	c->kex = NULL;
	c->first_kex_done = true;
	if (first && c->cfg.role == SSH_ROLE_CLIENT) {
		if (pkt_begin(c, MSG_SERVICE_REQUEST) != 0)
			return -1;
		wb_cstring(&c->out, "ssh-userauth");
		if (pkt_end(c) != 0)
			return conn_fail(c, 0, "out of memory");
	}
	if (first)
		c->state = ST_SERVICE;
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_KEX_DONE;
	conn_emit(c, &ev);
	return 0;
}

int
kex_input(struct ssh_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	if (type == MSG_KEXINIT)
		return kexinit_input(c, p, len);
	if (c->kex == NULL || !c->kex->got_kexinit)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "KEX message %u outside a key exchange", type);
	if (c->kex->skip_guess) {
		c->kex->skip_guess = false;
		return 0;
	}
	switch (type) {
	case MSG_KEX_ECDH_INIT:
		if (c->cfg.role != SSH_ROLE_SERVER)
			break;
		return ecdh_init_input(c, p, len);
	case MSG_KEX_ECDH_REPLY:
		if (c->cfg.role != SSH_ROLE_CLIENT)
			break;
		return ecdh_reply_input(c, p, len);
	case MSG_NEWKEYS:
		return newkeys_input(c);
	default:
		break;
	}
	return conn_fail(c, DISC_PROTOCOL_ERROR, "unexpected KEX message %u",
	    type);
}

int
ssh_rekey(struct ssh_conn *c)
{
	if (c->state != ST_OPEN || c->kex != NULL)
		return 0;
	return kex_start(c);
}
