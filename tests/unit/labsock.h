/* The loop-level tests' own sockets (looplab.h): the application at the
 * near end of a tunnel, or the server the far end connects to. A socket
 * reads whenever reading is on, hashing what arrives (SHA-256), and sends
 * a generated stream of a given length, hashing what it queued, so that
 * both ends of a tunnel can be compared.
 *
 * Ownership: a lab_sock is made by lab_sock_new on its lab's loop and put
 * on the lab's list; lab_sock_close closes its handle and lab_sock_free,
 * called by lab_free once the close callback ran, frees it. */
#ifndef FERRY_TESTS_LABSOCK_H
#define FERRY_TESTS_LABSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define LAB_DIGEST_LEN		32	/* SHA-256 */

struct lab;

struct lab_sock {
	struct lab	*lab;
	struct lab_sock	*next;
	uv_tcp_t	 tcp;
	uv_connect_t	 creq;
	uv_shutdown_t	 sreq;
	int		 conn_status;	/* connect: 1 pending, 0 ok, < 0 */
	bool		 closing;
	bool		 is_closed;	/* the close callback ran */
	/* receiving */
	bool		 reading;
	uint64_t	 rcvd;
	bool		 eof;
	int		 rd_err;	/* the error a read ended with, or 0 */
	int		 end_state;	/* the TCP state then (TCP_INFO) */
	int		 end_err;	/* and its pending error (SO_ERROR) */
	void		*rx;		/* EVP_MD_CTX */
	/* sending */
	uint64_t	 tx_total;	/* bytes to send in all */
	uint64_t	 tx_queued;	/* handed to uv_write */
	uint64_t	 tx_done;	/* written (callbacks with status 0) */
	int		 wr_err;
	uint64_t	 rng;
	void		*tx;		/* EVP_MD_CTX */
	bool		 shut_after;	/* shutdown once everything is sent */
	bool		 shut_asked;
	bool		 shut_done;
	int		 shut_status;
	char		 rbuf[64 * 1024];
};

/* A socket on lab's loop and list, not yet connected or accepted. */
struct lab_sock	*lab_sock_new(struct lab *lab);
void		 lab_sock_free(struct lab_sock *s);
/* Connects a socket to 127.0.0.1 port; it reads once connected. */
struct lab_sock	*lab_connect(struct lab *lab, int port);
/* Sends n pseudo-random bytes (seed picks them), then shuts the write
 * side if shut. */
void		 lab_sock_send(struct lab_sock *s, uint64_t n, uint64_t seed,
		    bool shut);
void		 lab_sock_shutdown(struct lab_sock *s);
void		 lab_sock_read(struct lab_sock *s, bool on);
void		 lab_sock_close(struct lab_sock *s);
/* Whether reading ended in a reset. libuv may report a reset as EOF (a
 * hang-up seen after a short read), so the socket decides when reading
 * ended: an error still pending says reset; without one (a write took
 * it), a socket that had not shut is closed only by a reset (a clean FIN
 * leaves it in CLOSE_WAIT). */
bool		 lab_sock_reset(const struct lab_sock *s);
/* Whether everything s queued is everything r received, by count and by
 * SHA-256 (r's digest so far against s's). */
bool		 lab_same_stream(struct lab_sock *s, struct lab_sock *r);

#endif
