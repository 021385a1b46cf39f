/* The systemd readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram to $NOTIFY_SOCKET. A no-op when the variable is unset. */
#ifndef FERRY_UTIL_SDNOTIFY_H
#define FERRY_UTIL_SDNOTIFY_H

/* Sends state ("READY=1", "STATUS=...", "STOPPING=1", several joined by
 * newlines). Returns 0, 1 if there is no NOTIFY_SOCKET, -1 on error. */
int	sd_notify_send(const char *state);

#endif
