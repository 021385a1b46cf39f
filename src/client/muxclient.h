/* ferry -O check|forward|cancel|exit|stop: a multiplexing client of
 * OpenSSH's protocol (fwd/muxproto.h), against a running ferry or an
 * OpenSSH ControlMaster at the ControlPath. Blocking, for the command
 * line only, never inside a loop. */
#ifndef FERRY_CLIENT_MUXCLIENT_H
#define FERRY_CLIENT_MUXCLIENT_H

#include "client/options.h"

/* Runs o->mux_command against o->control_path, saying what ssh says.
 * Returns the exit status (0, or 255 as ssh). */
int	mux_command(const struct options *o);

#endif
