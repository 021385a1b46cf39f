/* The compression step of the binary packet protocol (RFC 4253 §6.2,
 * OpenSSH's zlib@openssh.com): which stream each direction runs, when it
 * starts (after authentication), its end at each NEWKEYS, and the
 * per-packet calls. The zlib work itself is zstream.c's. */
#include "ssh_int.h"

#include <stdio.h>
#include <string.h>

const char *
ssh_comp_name(const struct ssh_conn *c, bool outgoing)
{
	return outgoing ? c->tx.comp : c->rx.comp;
}

void
ssh_comp_stats(const struct ssh_conn *c, bool outgoing, uint64_t *raw,
    uint64_t *wire)
{
	const struct dir *d = outgoing ? &c->tx : &c->rx;
	uint64_t in = 0, out = 0;

	if (d->z != NULL)
		ssh_zstream_totals(d->z, &in, &out);
	/* a deflate stream takes raw bytes in, an inflate stream wire */
	*raw = d->z_raw + (outgoing ? in : out);
	*wire = d->z_wire + (outgoing ? out : in);
}

/* Starts d's stream if its method is on by now. */
static int
comp_start(struct ssh_conn *c, struct dir *d, bool out)
{
	if (d->z != NULL || !c->comp_authed ||
	    strcmp(d->comp, SSH_COMP_ZLIB_DELAYED) != 0)
		return 0;
	if ((d->z = ssh_zstream_new(out)) == NULL)
		return conn_fail(c, 0, "out of memory for compression");
	return 0;
}

int
comp_newkeys(struct ssh_conn *c, struct dir *d, const char *comp,
    bool out)
{
	uint64_t in = 0, outb = 0;

	if (d->z != NULL) {
		ssh_zstream_totals(d->z, &in, &outb);
		d->z_raw += out ? in : outb;
		d->z_wire += out ? outb : in;
		ssh_zstream_free(d->z);
		d->z = NULL;
	}
	snprintf(d->comp, sizeof(d->comp), "%s", comp);
	return comp_start(c, d, out);
}

int
comp_authed(struct ssh_conn *c)
{
	c->comp_authed = true;
	if (comp_start(c, &c->tx, true) != 0 ||
	    comp_start(c, &c->rx, false) != 0)
		return -1;
	return 0;
}

/* Replaces the payload of the packet being sealed with its compressed
 * form. On failure the packet is dropped and no DISCONNECT follows: it
 * would need the stream that just failed. */
int
comp_seal(struct ssh_conn *c)
{
	size_t start = c->pkt_start + 5;

	wb_reset(&c->zbuf);
	if (ssh_zstream_deflate(c->tx.z, c->out.p + start, c->out.len - start,
	    &c->zbuf) != 0 || c->zbuf.err) {
		c->out.len = c->pkt_start;
		return conn_fail(c, 0, "compression failed");
	}
	c->out.len = start;
	if (wb_put(&c->out, c->zbuf.p, c->zbuf.len) != 0) {
		c->out.len = c->pkt_start;
		return conn_fail(c, 0, "out of memory");
	}
	return 0;
}

/* Decompresses the payload *p, *n into the batch's store, bounded by the
 * largest packet we accept. */
int
comp_open(struct ssh_conn *c, const uint8_t **p, size_t *n)
{
	uint8_t *out = ssh_zstore_room(&c->zstore, SSH_MAX_PACKET);
	size_t len;

	if (out == NULL)
		return conn_fail(c, 0, "out of memory");
	switch (ssh_zstream_inflate(c->rx.z, *p, *n, out, SSH_MAX_PACKET,
	    &len)) {
	case 0:
		break;
	case SSH_Z_TOO_BIG:
		return conn_fail(c, DISC_PROTOCOL_ERROR, "compressed packet "
		    "inflates beyond %u bytes", SSH_MAX_PACKET);
	case SSH_Z_NOMEM:
		return conn_fail(c, 0, "out of memory for decompression");
	default:
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "corrupted compressed data");
	}
	if (len == 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "empty payload after decompression");
	ssh_zstore_keep(&c->zstore, len);
	*p = out;
	*n = len;
	return 0;
}
