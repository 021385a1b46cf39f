/* An in-process ferry and ferryd on one libuv loop, for the loop-level
 * tests (test_pump.c): a server net_conn accepted on a 127.0.0.1 listener
 * (kernel-chosen port) and a client net_conn to it, each with a pump_set;
 * -L style listeners on the client (fwd/listener.h) whose channels the
 * server answers with pump_connect to what they name; a target listener
 * whose accepted sockets are the "far" ends; and test sockets (struct
 * lab_sock, labsock.h) that the same loop drives. Nothing blocks and the
 * tests start no thread (libuv's pool only resolves the client's
 * address): a test waits with LAB_WAIT, which runs the loop until its
 * condition holds and fails the test at the lab's deadline.
 *
 * Ownership: the struct lab is made by lab_new, which stores it in the
 * cmocka state, and freed by lab_free (the tests' teardown), which closes
 * every handle the lab or its sockets made, lets the loop finish and fails
 * the test if any handle is left. The lab owns its lab_socks (freed by
 * lab_free); a test only points at them. Include after <cmocka.h>. */
#ifndef FERRY_TESTS_LOOPLAB_H
#define FERRY_TESTS_LOOPLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fwd/listener.h"
#include "fwd/pump.h"
#include "net/conn.h"
#include "net/loop.h"
#include "labsock.h"

#define LAB_MAX_LISTENERS	4

struct lab;

/* One end of the SSH connection: the role above a net_conn. */
struct lab_end {
	struct lab	*lab;
	struct net_conn	*nc;		/* NULL once closed() ran */
	struct pump_set	 pumps;
	struct fwd_stats stats;		/* the client's forwards, or the
					 * server's connects */
	bool		 closed;
	char		 why[256];	/* closed()'s reason */
	enum net_end	 end;		/* and its kind */
	bool		 authed;	/* client: AUTH_SUCCESS */
	int		 empty;		/* pump_set on_empty calls */
	int		 global_requests;	/* server: received */
	int		 global_replies;	/* client: received */
	bool		 reply_success;
	void		*reply_ud;
};

struct lab_opts {
	uint32_t	 srv_window;	/* server channel window; 0: default */
	unsigned	 deadline_ms;	/* 0: 10 s */
};

struct lab {
	uv_loop_t	 loop;
	struct net_loop	 nl;
	uint32_t	 srv_window;
	int		 nhandles;	/* handles_left's count */
	uv_timer_t	 deadline;
	bool		 expired;
	uv_timer_t	 once;		/* lab_after and lab_run_for */
	bool		 once_fired;
	void		(*once_fn)(struct lab *, void *);
	void		*once_arg;
	uv_tcp_t	 ssh_lis;	/* the server's listener */
	uv_tcp_t	 target;	/* where the far sockets are accepted */
	int		 target_port;
	bool		 far_reads;	/* far sockets read from the start */
	struct lab_sock	*far;		/* the last far socket accepted */
	int		 nfar;
	int		 refused_fd;	/* bound, never listening */
	struct lab_end	 cli;
	struct lab_end	 srv;
	struct fwd_listener *lis[LAB_MAX_LISTENERS];
	int		 nlis;
	int		 lis_refused;	/* the listeners' refused() calls */
	char		 lis_why[200];
	struct lab_sock	*socks;
};

extern struct key *lab_hostkey, *lab_userkey;

/* cmocka group setup and teardown: the keys, SIGPIPE ignored. */
int		 lab_group_setup(void **state);
int		 lab_group_teardown(void **state);
/* A lab whose client is connected and authenticated (*state = lab). */
struct lab	*lab_new(void **state, const struct lab_opts *o);
/* cmocka teardown: closes everything and checks no handle is left. */
int		 lab_free(void **state);

/* Runs one loop iteration; fails the test at the deadline (what names
 * the condition waited for). */
void		 lab_step(struct lab *lab, const char *what);
#define LAB_WAIT(lab, cond) do {					\
	while (!(cond))							\
		lab_step((lab), #cond);					\
} while (0)
/* Runs the loop for ms milliseconds. */
void		 lab_run_for(struct lab *lab, unsigned ms);
/* Calls fn from a timer callback after ms milliseconds. */
void		 lab_after(struct lab *lab, unsigned ms,
		    void (*fn)(struct lab *, void *), void *arg);

/* A -L listener on the client for 127.0.0.1 port port (a port refused
 * by nothing listening: lab_refused_port); returns its bound port. */
int		 lab_forward(struct lab *lab, int port, size_t max_conns);
/* A port where connects are refused while the lab lives. */
int		 lab_refused_port(struct lab *lab);

/* Waits for the next far socket (nfar grows) and returns it. */
struct lab_sock	*lab_wait_far(struct lab *lab);
/* The engine of an end (fails the test when it has none). */
struct ssh_conn	*lab_ssh(struct lab_end *e);

#endif
