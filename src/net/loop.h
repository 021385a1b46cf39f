/* One event loop's share of the connection layer: the connections that
 * owe a flush. The engine wakes its connection whenever it queues bytes
 * (ssh_config.wake); the connection puts itself on this list, and the
 * list is flushed after the loop polled and again before it sleeps. No
 * caller ever asks for a flush.
 *
 * Ownership: the caller owns the struct net_loop (usually on main's
 * stack or in a worker) and keeps it alive while any connection on it
 * exists. Items on the list belong to their connections, which take
 * themselves off before they are freed. */
#ifndef FERRY_NET_LOOP_H
#define FERRY_NET_LOOP_H

#include <stdbool.h>
#include <uv.h>

/* Embedded in whatever owes a flush. */
struct net_wake {
	struct net_wake	*prev;
	struct net_wake	*next;
	bool		 queued;
	void		(*flush)(struct net_wake *w);
};

struct net_loop {
	uv_loop_t	*uv;
	uv_check_t	 check;		/* after poll: a batch's replies */
	uv_prepare_t	 prepare;	/* before sleeping: timers' output */
	struct net_wake	*head;		/* items owing a flush */
};

/* Starts the two loop handles; they do not keep the loop alive. */
void	net_loop_init(struct net_loop *nl, uv_loop_t *uv);
/* Closes the handles (the loop must run once more to finish). */
void	net_loop_close(struct net_loop *nl);
/* w owes a flush: queued once until flushed. */
void	net_wake_queue(struct net_loop *nl, struct net_wake *w);
/* Takes w off the list (before its owner is freed). */
void	net_wake_cancel(struct net_loop *nl, struct net_wake *w);
/* Flushes everything queued now (what the handles do). */
void	net_loop_flush(struct net_loop *nl);

#endif
