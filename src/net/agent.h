/* An ssh-agent client over a libuv pipe to $SSH_AUTH_SOCK or an
 * IdentityAgent path: lists the agent's keys once connected, then signs
 * with them one request at a time. */
#ifndef FERRY_NET_AGENT_H
#define FERRY_NET_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "keys/agent.h"

struct agent;

/* The agent's usable keys, or ids NULL, n 0 and err saying why (e.g.
 * "cannot connect to agent at PATH: connection refused"). The ids belong
 * to the agent and stay valid until agent_close. */
typedef void	(*agent_ready_cb)(void *ud, const struct agent_id *ids, int n,
		    const char *err);
/* The SSH signature blob (string alg, string sig), valid only during the
 * call, or sig NULL and err saying why. */
typedef void	(*agent_sign_cb)(void *ud, const uint8_t *sig, size_t siglen,
		    const char *err);

/* Connects to path (NULL: $SSH_AUTH_SOCK), asks for the identities and
 * calls cb exactly once, never before agent_open returns. Every error,
 * a failure to connect included, comes through cb; NULL is returned only
 * when out of memory. The caller always ends with agent_close. */
struct agent	*agent_open(uv_loop_t *loop, const char *path,
		    agent_ready_cb cb, void *ud);
/* Asks the agent to sign data with id's key or certificate (the flags
 * follow sigalg, see agent_req_sign; a signature of another algorithm
 * than sigalg's is an error, agent_sig_check). One request at a time: a second one while the first
 * is pending, before cb of agent_open, or after the connection failed is
 * refused. Returns 0 and later calls cb exactly once (unless agent_close
 * comes first), or -1 without calling cb; agent_error says why. May be
 * called from inside either callback. */
int		 agent_sign(struct agent *a, const struct agent_id *id,
		    const char *sigalg, const uint8_t *data, size_t dlen,
		    agent_sign_cb cb, void *ud);
/* Why the connection failed or the last agent_sign was refused; "" if
 * neither happened. */
const char	*agent_error(const struct agent *a);
/* No callback fires after this. Safe inside a callback: the memory is
 * freed once libuv has closed the handles. NULL allowed. */
void		 agent_close(struct agent *a);

#endif
