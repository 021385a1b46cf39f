/* ferryd status for the operator: sessions with their forwards and
 * traffic, and the recent refusals, as a table, as JSON (`ferryd status
 * -j`, the status page's /status.json) and as Prometheus text. Every
 * string a peer chose is escaped for where it goes. */
#ifndef FERRY_SERVER_REPORT_H
#define FERRY_SERVER_REPORT_H

#include "server/session.h"
#include "ssh/buf.h"

void	report_text(struct session_list *l, struct wb *out);
void	report_json(struct session_list *l, struct wb *out);
void	report_metrics(struct session_list *l, struct wb *out);

#endif
