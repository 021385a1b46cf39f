/* ferry status: every host and forward as a readable table, as JSON, or
 * as Prometheus text metrics. */
#ifndef FERRY_CLIENT_STATUS_H
#define FERRY_CLIENT_STATUS_H

#include "client/client.h"
#include "ssh/buf.h"

void	status_text(struct client *const *v, int n, struct wb *out);
void	status_json(struct client *const *v, int n, struct wb *out);
void	status_metrics(struct client *const *v, int n, struct wb *out);

#endif
