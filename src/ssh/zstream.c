/* Transport compression: zlib streams for one direction each, and the
 * store that keeps decompressed payloads until the next input batch. */
#include "zstream.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* OpenSSH's level: the peer's inflate does not care, only our CPU. */
#define DEFLATE_LEVEL	6
/* Store chunks: room for two of the largest packets. */
#define ZCHUNK_SIZE	(512 * 1024)
/* zlib's allocations carry their size in front, so that they are wiped
 * when freed: a stream's window holds recent plaintext. */
#define ZHDR		_Alignof(max_align_t)

struct ssh_zstream {
	z_stream	 s;
	bool		 deflate;
	bool		 broken;	/* a call failed: refuse more */
};

struct zchunk {
	struct zchunk	*next;
	size_t		 cap;
	size_t		 len;
	uint8_t		 data[];
};

static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
	size_t n;
	uint8_t *p;

	(void)opaque;
	if (size != 0 && items > (SIZE_MAX - ZHDR) / size)
		return Z_NULL;
	n = (size_t)items * size;
	if ((p = malloc(ZHDR + n)) == NULL)
		return Z_NULL;
	memcpy(p, &n, sizeof(n));
	return p + ZHDR;
}

static void
z_free(voidpf opaque, voidpf ptr)
{
	uint8_t *p = (uint8_t *)ptr - ZHDR;
	size_t n;

	(void)opaque;
	memcpy(&n, p, sizeof(n));
	OPENSSL_cleanse(ptr, n);
	free(p);
}

struct ssh_zstream *
ssh_zstream_new(bool deflate)
{
	struct ssh_zstream *z;
	int r;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	z->deflate = deflate;
	z->s.zalloc = z_alloc;
	z->s.zfree = z_free;
	r = deflate ? deflateInit(&z->s, DEFLATE_LEVEL) : inflateInit(&z->s);
	if (r != Z_OK) {
		free(z);
		return NULL;
	}
	return z;
}

void
ssh_zstream_free(struct ssh_zstream *z)
{
	if (z == NULL)
		return;
	if (z->deflate)
		deflateEnd(&z->s);
	else
		inflateEnd(&z->s);
	free(z);
}

void
ssh_zstream_totals(const struct ssh_zstream *z, uint64_t *in, uint64_t *out)
{
	*in = z->s.total_in;
	*out = z->s.total_out;
}

/* Partial flush, as OpenSSH: the payload's last bits reach the peer in
 * this packet, and the stream goes on. */
int
ssh_zstream_deflate(struct ssh_zstream *z, const uint8_t *in, size_t n,
    struct wb *out)
{
	size_t room = n + n / 8 + 64;	/* more than deflate ever adds */
	uint8_t *p;
	int r;

	if (!z->deflate || z->broken || n > UINT_MAX / 2)
		return -1;
	z->s.next_in = (Bytef *)(uintptr_t)in;
	z->s.avail_in = (uInt)n;
	do {
		if ((p = wb_reserve(out, room)) == NULL)
			goto fail;
		z->s.next_out = p;
		z->s.avail_out = (uInt)room;
		r = deflate(&z->s, Z_PARTIAL_FLUSH);
		/* No progress is possible only when all was written. */
		if (r != Z_OK && !(r == Z_BUF_ERROR && z->s.avail_in == 0))
			goto fail;
		out->len += room - z->s.avail_out;
		room = 4096;
	} while (z->s.avail_out == 0);
	if (z->s.avail_in != 0)
		goto fail;
	return 0;
fail:
	z->broken = true;
	return -1;
}

/* After the output filled max exactly: whether the stream holds even one
 * byte more for this payload. */
static int
inflate_probe(struct ssh_zstream *z)
{
	uint8_t probe;
	int r;

	z->s.next_out = &probe;
	z->s.avail_out = 1;
	r = inflate(&z->s, Z_SYNC_FLUSH);
	if (z->s.avail_out == 0)
		return SSH_Z_TOO_BIG;
	if ((r == Z_OK || r == Z_BUF_ERROR) && z->s.avail_in == 0)
		return 0;
	return SSH_Z_CORRUPT;
}

int
ssh_zstream_inflate(struct ssh_zstream *z, const uint8_t *in, size_t n,
    uint8_t *out, size_t max, size_t *outlen)
{
	int r, ret;

	*outlen = 0;
	if (z->deflate || z->broken || n > UINT_MAX / 2 || max > UINT_MAX / 2)
		return SSH_Z_CORRUPT;
	z->s.next_in = (Bytef *)(uintptr_t)in;
	z->s.avail_in = (uInt)n;
	z->s.next_out = out;
	z->s.avail_out = (uInt)max;
	/* Each round makes progress or ends: inflate stops only when the
	 * input or the output ran out, or at an error. */
	for (;;) {
		r = inflate(&z->s, Z_SYNC_FLUSH);
		*outlen = max - z->s.avail_out;
		if (r == Z_MEM_ERROR)
			ret = SSH_Z_NOMEM;
		else if (r != Z_OK && r != Z_BUF_ERROR)
			ret = SSH_Z_CORRUPT;	/* also a premature end */
		else if (z->s.avail_out == 0)
			ret = inflate_probe(z);
		else if (z->s.avail_in == 0)
			ret = 0;
		else if (r == Z_BUF_ERROR)
			ret = SSH_Z_CORRUPT;
		else
			continue;
		break;
	}
	if (ret != 0)
		z->broken = true;
	return ret;
}

void
ssh_zstore_init(struct ssh_zstore *s)
{
	s->head = s->tail = NULL;
}

static void
chunk_free(struct zchunk *k)
{
	OPENSSL_cleanse(k->data, k->cap);
	free(k);
}

void
ssh_zstore_free(struct ssh_zstore *s)
{
	struct zchunk *k, *next;

	for (k = s->head; k != NULL; k = next) {
		next = k->next;
		chunk_free(k);
	}
	s->head = s->tail = NULL;
}

uint8_t *
ssh_zstore_room(struct ssh_zstore *s, size_t n)
{
	struct zchunk *k = s->tail;
	size_t cap = n > ZCHUNK_SIZE ? n : ZCHUNK_SIZE;

	if (k != NULL && k->cap - k->len >= n)
		return k->data + k->len;
	if (n > SIZE_MAX - sizeof(*k) ||
	    (k = malloc(sizeof(*k) + cap)) == NULL)
		return NULL;
	k->next = NULL;
	k->cap = cap;
	k->len = 0;
	if (s->tail != NULL)
		s->tail->next = k;
	else
		s->head = k;
	s->tail = k;
	return k->data;
}

void
ssh_zstore_keep(struct ssh_zstore *s, size_t n)
{
	if (s->tail == NULL || n > s->tail->cap - s->tail->len)
		abort();	/* more than ssh_zstore_room gave: engine bug */
	s->tail->len += n;
}

void
ssh_zstore_unkeep(struct ssh_zstore *s, size_t n)
{
	if (s->tail == NULL || n > s->tail->len)
		abort();
	s->tail->len -= n;
}

void
ssh_zstore_reset(struct ssh_zstore *s)
{
	struct zchunk *k, *next;

	if (s->head == NULL)
		return;
	for (k = s->head->next; k != NULL; k = next) {
		next = k->next;
		chunk_free(k);
	}
	s->head->next = NULL;
	s->head->len = 0;
	s->tail = s->head;
}
