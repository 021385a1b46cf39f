/* ferryd's event loops (EventLoops). Loop 0 is the main thread's: it
 * owns the listeners, the signals and the control socket, and serves
 * sessions as well; loops 1..n-1 run on threads of their own and serve
 * sessions only. A connection lives its whole life on the loop it was
 * handed to, with everything it holds (its pumps, its remote forwards'
 * listeners, its timers, its commands): the data path never crosses
 * loops. One loop reaches another only through srv_loop_call, a function
 * the other loop's thread runs.
 *
 * Ownership: the caller owns struct srv_loops and keeps it alive until
 * srv_loops_join returned; each loop's uv_loop_t and net_loop live in it.
 * A call's argument belongs to the function once queued (the function
 * frees it); calls still queued when a loop ends run there before it
 * ends, so none is lost. */
#ifndef FERRY_SERVER_LOOPS_H
#define FERRY_SERVER_LOOPS_H

#include <stdbool.h>
#include <uv.h>

#include "net/loop.h"
#include "server/config.h"

#define SRV_LOOPS_MAX	MAX_EVENT_LOOPS

struct srv_loop;
typedef void (*srv_loop_fn)(struct srv_loop *l, void *arg);

struct srv_call {
	struct srv_call	*next;
	srv_loop_fn	 fn;
	void		*arg;
};

struct srv_loop {
	int		 index;
	uv_loop_t	*uv;		/* loop 0: the main loop; else own */
	uv_loop_t	 own;
	struct net_loop	 nl;
	uv_thread_t	 thread;
	bool		 started;	/* a thread runs it (index > 0) */
	uv_async_t	 wake;		/* calls queued */
	/* a stream with no socket, made at start: libuv opens a loop's
	 * EMFILE reserve descriptor with its first stream, so every loop
	 * holds it from the start and the count of descriptors is settled
	 * before any session */
	uv_tcp_t	 first;
	uv_mutex_t	 lock;		/* guards the queue and closed */
	struct srv_call	*head;
	struct srv_call	*tail;
	bool		 closed;	/* the wake handle is gone */
	/* sessions handed to it and not yet freed (guarded by the session
	 * list's lock): the least loaded loop gets the next one */
	int		 sessions;
};

struct srv_loops {
	int		 n;
	struct srv_loop	 l[SRV_LOOPS_MAX];
};

/* Sets up n loops (1 <= n <= SRV_LOOPS_MAX), loop 0 on main, and starts
 * the threads of the others. 0, or -1 with err. */
int	srv_loops_start(struct srv_loops *ls, uv_loop_t *main, int n,
	    char *err, size_t errlen);
/* Runs fn(l, arg) on l's thread, soon; from any thread. Returns -1 (and
 * fn does not run) once l is closing. */
int	srv_loop_call(struct srv_loop *l, srv_loop_fn fn, void *arg);
/* Runs fn on every loop (each gets arg; fn must not free it). */
void	srv_loops_call_all(struct srv_loops *ls, srv_loop_fn fn, void *arg);
/* Ends each loop once its last handle closed: every loop's wake handle
 * and flush handles close on its own thread. From loop 0's thread. */
void	srv_loops_close(struct srv_loops *ls);
/* After loop 0 ended: waits for the other threads and closes their
 * loops. */
void	srv_loops_join(struct srv_loops *ls);

/* The loop the calling thread runs (NULL: none of them). */
struct srv_loop *srv_loop_current(void);

#endif
