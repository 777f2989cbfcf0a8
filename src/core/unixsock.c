/*
 * unixsock.c - see unixsock.h.
 */
#include "core/unixsock.h"
#include "core/log.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int td_unix_socket_unused(const char *path, const char *setting)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof a.sun_path) {
        td_error("%s: %s is longer than a unix socket's path may be (%zu)", setting, path,
                 sizeof a.sun_path - 1);
        return -1;
    }
    memcpy(a.sun_path, path, len + 1);
    int probe = socket(AF_UNIX, SOCK_STREAM, 0);
    int taken = probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
    if (probe >= 0)
        close(probe);
    if (taken) {
        td_error("%s: %s is in use by another process", setting, path);
        return -1;
    }
    return 0;
}

int td_unix_socket_prepare(const char *path, const char *setting)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* left by a crashed run */
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &st) != 0) {
        td_error("%s: cannot use directory %s: %s", setting, dir, strerror(errno));
        return -1;
    }
    if (st.st_mode & S_IWOTH) {
        td_error("%s: directory %s is writable by every user, who could replace the socket; use "
                 "a directory only this program's user may write (e.g. 0755)",
                 setting, dir);
        return -1;
    }
    return 0;
}

int td_unix_socket_group(const char *group, const char *setting, gid_t *gid)
{
    *gid = (gid_t)-1;
    if (!group[0])
        return 0;
    struct group *g = getgrnam(group);
    if (!g) {
        td_error("%s: no group '%s' here (name nginx's worker group, or set it empty to keep the "
                 "program's own)",
                 setting, group);
        return -1;
    }
    *gid = g->gr_gid;
    return 0;
}

int td_unix_socket_finish(const char *path, gid_t gid, const char *group, const char *setting)
{
    if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) {
        td_error("%s: cannot give %s to group %s: %s (run as root or a member of it)", setting,
                 path, group, strerror(errno));
        return -1;
    }
    if (chmod(path, 0660) != 0) {
        td_error("chmod 0660 %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
