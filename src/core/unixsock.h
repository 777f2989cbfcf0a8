/*
 * unixsock.h - a unix socket that only its owner and nginx's workers may
 * open: in a directory no other user may write (or they could put their
 * own socket in its place), born mode 0660 (no moment at which others may
 * connect), and given nginx's worker group.  The API's FastCGI socket and
 * the stream's WebSocket socket both.  Each step logs its own failure,
 * naming the setting behind it.
 */
#ifndef TD_CORE_UNIXSOCK_H
#define TD_CORE_UNIXSOCK_H

#include <sys/types.h>

/* 0 when no process answers on path (absent, or a crashed run's socket)
 * and it fits a unix socket's address; -1 (logged) when another process
 * listens there, whose socket is not ours to take over. */
int td_unix_socket_unused(const char *path, const char *setting);

/* Before the bind: remove a socket a crashed run left at path; 0 when
 * path's directory exists and is not writable by every user. */
int td_unix_socket_prepare(const char *path, const char *setting);

/* The gid of group ((gid_t)-1 when group is empty: keep the process'
 * own); -1 when there is no such group. */
int td_unix_socket_group(const char *group, const char *setting, gid_t *gid);

/* The umask under which a socket is born 0660: set it around the bind,
 * then put the old one back. */
#define TD_UNIX_SOCKET_UMASK 0117

/* After the bind: give path to gid (unless (gid_t)-1) and mode 0660.  0,
 * or -1 (logged) after which the caller closes and unlinks it. */
int td_unix_socket_finish(const char *path, gid_t gid, const char *group, const char *setting);

#endif
