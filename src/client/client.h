/* The ferry client's run loop. */
#ifndef FERRY_CLIENT_CLIENT_H
#define FERRY_CLIENT_CLIENT_H

#include "options.h"

/* Connects, authenticates and serves the forwards until the connection
 * ends or a signal arrives. Returns the exit status (255 on failure, as
 * ssh). */
int	client_run(struct options *o);

#endif
