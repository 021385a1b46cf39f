/* Packet protection for one direction of an SSH connection: the cipher and,
 * for the non-AEAD ciphers, the MAC (RFC 4253 §6, OpenSSH's -etm and GCM
 * names, PROTOCOL.chacha20poly1305). All primitives come from OpenSSL.
 *
 * A packet as the transport builds it, of n bytes (n includes the 4-byte
 * length field):   [u32 length][u8 padlen][payload][padding]
 * followed on the wire by tag_len bytes of tag/MAC. Every operation works in
 * place and allocates nothing per packet. */
#ifndef FERRY_SSH_CIPHER_H
#define FERRY_SSH_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ssh_cipher_alg {
	const char	*name;
	size_t		 key_len;
	size_t		 iv_len;	/* IV bytes to derive (0 for chacha) */
	size_t		 block_size;	/* padding alignment */
	size_t		 tag_len;	/* AEAD tag length, 0 if a MAC is used */
};

struct ssh_mac_alg {
	const char	*name;
	size_t		 key_len;
	size_t		 out_len;
	bool		 etm;		/* encrypt-then-mac: length in clear */
};

/* Lookups by name (exact match of n bytes); NULL if unknown. */
const struct ssh_cipher_alg *ssh_cipher_alg_find(const char *name, size_t n);
const struct ssh_mac_alg *ssh_mac_alg_find(const char *name, size_t n);

/* Comma-separated default preference lists, OpenSSH's order. */
extern const char ssh_cipher_default[];
extern const char ssh_mac_default[];
/* Every supported name, for validating a user's list. */
extern const char ssh_cipher_all[];
extern const char ssh_mac_all[];

struct ssh_pcipher;

/* Creates the protection for one direction. mac is NULL for AEAD ciphers
 * (tag_len > 0). Keys are copied; the caller may wipe its copies.
 * Returns NULL on failure. */
struct ssh_pcipher *ssh_pcipher_new(const struct ssh_cipher_alg *c,
    const uint8_t *key, const uint8_t *iv, const struct ssh_mac_alg *mac,
    const uint8_t *mac_key, bool encrypt);
/* Wipes the keys and frees. NULL is allowed. */
void	ssh_pcipher_free(struct ssh_pcipher *pc);

/* Padding alignment in bytes. */
size_t	ssh_pcipher_block(const struct ssh_pcipher *pc);
/* Bytes of tag or MAC that follow the packet on the wire. */
size_t	ssh_pcipher_tag_len(const struct ssh_pcipher *pc);
/* 4 if the length field is excluded from the padding alignment (AEAD
 * ciphers and -etm MACs), 0 otherwise. */
size_t	ssh_pcipher_aad_len(const struct ssh_pcipher *pc);
/* How many leading bytes ssh_pcipher_peek_len needs: 4 when the length is
 * in clear or separately encrypted, else the cipher block size. */
size_t	ssh_pcipher_len_block(const struct ssh_pcipher *pc);

/* seal and open must be called exactly once per packet, in order: GCM's
 * nonce is an internal invocation counter, not seq. */
/* Encrypts the n-byte packet at pkt in place and writes the tag/MAC to
 * pkt + n. seq is the packet sequence number. Returns 0 or -1. */
int	ssh_pcipher_seal(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt,
	    size_t n);
/* Reads the packet length from the first len_block bytes at pkt. It may
 * decrypt those bytes in place (CTR without -etm); it never changes bytes
 * that the tag covers in encrypted form. Returns 0 or -1. */
int	ssh_pcipher_peek_len(struct ssh_pcipher *pc, uint32_t seq,
	    uint8_t *pkt, uint32_t *len);
/* Verifies the tag/MAC at pkt + n (constant time) and decrypts the n-byte
 * packet in place, after ssh_pcipher_peek_len was called on the same packet.
 * On return pkt holds the plaintext [length][padlen][payload][padding].
 * Returns 0, or -1 if the MAC/tag does not verify. */
int	ssh_pcipher_open(struct ssh_pcipher *pc, uint32_t seq, uint8_t *pkt,
	    size_t n);

#endif
