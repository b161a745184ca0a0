/*
 * A power cut, simulated: preloaded into a process (LD_PRELOAD), every fsync(2) and
 * fdatasync(2) of a regular file first copies the file's whole content to
 * "<file>.synced". After the process is killed, the test replaces each file with its
 * ".synced" copy (or empties it when it was never synced): the disk as of each file's last
 * sync, which is what survives losing power. Anything written but not synced is gone.
 *
 * Files whose path contains AUTHLITE_POWERCUT_DIR (an environment variable) only; the
 * sync itself still happens. With AUTHLITE_POWERCUT_SWALLOW set, no sync is kept: nothing
 * written reaches the disk (what synchronous=OFF amounts to), the test's control.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void keep(int fd) {
    const char *dir = getenv("AUTHLITE_POWERCUT_DIR");
    char link[64], path[PATH_MAX], copy[PATH_MAX + 16], tmp[PATH_MAX + 24];
    struct stat st;
    if (dir == NULL || getenv("AUTHLITE_POWERCUT_SWALLOW") != NULL) return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = '\0';
    if (strstr(path, dir) == NULL || strstr(path, ".synced") != NULL) return;
    snprintf(copy, sizeof copy, "%s.synced", path);
    snprintf(tmp, sizeof tmp, "%s.synced-tmp", path);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) return;
    char buf[65536];
    off_t at = 0;
    ssize_t got;
    while ((got = pread(fd, buf, sizeof buf, at)) > 0) {
        if (write(out, buf, (size_t)got) != got) break;
        at += got;
    }
    close(out);
    rename(tmp, copy);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    keep(fd);
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    keep(fd);
    return real(fd);
}
