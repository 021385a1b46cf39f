/* Transport compression (RFC 4253 §6.2; OpenSSH's "zlib@openssh.com",
 * which starts only once authentication succeeded): one zlib stream per
 * direction, each packet's payload compressed before the MAC and
 * encryption and ended with a partial flush, decompressed after
 * decryption. A stream lives from one NEWKEYS to the next: a key exchange
 * starts both directions afresh, as OpenSSH and Dropbear do.
 *
 * Memory: zlib's own state, about 256 KiB for a deflate stream at level 6
 * and 40 KiB for an inflate stream, plus the input store below. None of
 * it exists before compression starts, which for zlib@openssh.com is
 * after authentication. */
#ifndef FERRY_SSH_ZSTREAM_H
#define FERRY_SSH_ZSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The names the engine knows (RFC 4253's plain "zlib", compression from
 * the first NEWKEYS on, is not among them: it would expose zlib to
 * unauthenticated peers, and OpenSSH 9.9 dropped it as well). */
#define SSH_COMP_NONE		"none"
#define SSH_COMP_ZLIB_DELAYED	"zlib@openssh.com"

struct ssh_zstream;

/* A stream that compresses (deflate true) or decompresses. NULL when
 * zlib cannot allocate it. */
struct ssh_zstream *ssh_zstream_new(bool deflate);
/* Wipes and frees; NULL is allowed. */
void	ssh_zstream_free(struct ssh_zstream *z);

/* Compresses one payload in[0..n) and appends it, flushed to a byte
 * boundary, to out. Returns 0, or -1 (zlib failed or out of memory). */
int	ssh_zstream_deflate(struct ssh_zstream *z, const uint8_t *in, size_t n,
	    struct wb *out);

/* Results of ssh_zstream_inflate besides 0. */
#define SSH_Z_CORRUPT	(-1)	/* not a continuation of the stream */
#define SSH_Z_TOO_BIG	(-2)	/* would inflate beyond max */
#define SSH_Z_NOMEM	(-3)	/* zlib could not allocate its window */

/* Decompresses one payload in[0..n) into out[0..max): *outlen receives
 * its length. The payload must be wholly consumed and its output fit in
 * max bytes, else SSH_Z_TOO_BIG (zlib stops there: a small packet cannot
 * make us inflate more than max), SSH_Z_CORRUPT or SSH_Z_NOMEM. After a
 * failure the stream is unusable. */
int	ssh_zstream_inflate(struct ssh_zstream *z, const uint8_t *in, size_t n,
	    uint8_t *out, size_t max, size_t *outlen);

/* Bytes that went in and came out since the stream was made. */
void	ssh_zstream_totals(const struct ssh_zstream *z, uint64_t *in,
	    uint64_t *out);

/* Where decompressed payloads are put: channel data handed to the caller
 * must stay valid until the engine is fed again (ssh.h), so a payload is
 * never moved or overwritten before ssh_zstore_reset. Chunks are never
 * reallocated; the first one is kept for reuse. What it holds beyond one
 * packet is channel data the peer's windows allowed. */
struct ssh_zstore {
	struct zchunk	*head;		/* the chunk being filled is last */
	struct zchunk	*tail;
};

void	 ssh_zstore_init(struct ssh_zstore *s);
/* Wipes and frees every chunk. */
void	 ssh_zstore_free(struct ssh_zstore *s);
/* Room for at least n contiguous bytes, or NULL when out of memory. */
uint8_t	*ssh_zstore_room(struct ssh_zstore *s, size_t n);
/* Counts n bytes written at the last ssh_zstore_room as kept. */
void	 ssh_zstore_keep(struct ssh_zstore *s, size_t n);
/* Gives back the last n bytes kept (a payload nobody refers to). */
void	 ssh_zstore_unkeep(struct ssh_zstore *s, size_t n);
/* A new input batch: every earlier payload may be overwritten. Frees
 * all chunks but the first. */
void	 ssh_zstore_reset(struct ssh_zstore *s);

#endif
