/* fuzz seed: the STRUCT data whose layout is ktr's own (fuzz/seeds/README) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);               /* fds */
    int file = open("/etc/hostname", O_RDONLY);           /* fd_path */
    chdir("/tmp");                                        /* cwd */
    char byte = 'x', data[2][4] = {"ab", "cd"};
    struct iovec iov[2] = {{data[0], 2}, {data[1], 2}};
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control, received[2];
    memset(&control, 0, sizeof control);
    struct mmsghdr out[2] = {{.msg_hdr = {.msg_iov = &iov[0], .msg_iovlen = 1,
                                          .msg_control = control.b,
                                          .msg_controllen = sizeof control.b}},
                             {.msg_hdr = {.msg_iov = &iov[1], .msg_iovlen = 1}}};
    struct cmsghdr *c = CMSG_FIRSTHDR(&out[0].msg_hdr);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &file, sizeof file);
    sendmmsg(sv[0], out, 2, 0);                           /* mmsghdr, mmsg_extras */
    struct sockaddr_un names[2];
    struct mmsghdr in[2];
    for (int i = 0; i < 2; i++)
        in[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &names[i],
                                             .msg_namelen = sizeof names[i],
                                             .msg_iov = &iov[i], .msg_iovlen = 1,
                                             .msg_control = received[i].b,
                                             .msg_controllen = sizeof received[i].b}};
    recvmmsg(sv[1], in, 2, 0, NULL);                      /* mmsg_extras, fd_paths */
    close(sv[1]);
    sendmmsg(sv[0], out, 2, 0);                           /* unsent_messages (failed) */
    struct sockaddr_un self;
    socklen_t length = sizeof self;
    getsockname(sv[0], (struct sockaddr *)&self, &length);  /* socklen */
    char entries[4096];
    int directory = open(".", O_RDONLY | O_DIRECTORY);
    syscall(SYS_getdents64, directory, entries, sizeof entries);  /* count */
    int pidfd = -1, parent_tid = 0;
    struct clone_args args = {.flags = CLONE_PIDFD | CLONE_PARENT_SETTID,
                              .pidfd = (unsigned long)&pidfd,
                              .parent_tid = (unsigned long)&parent_tid,
                              .exit_signal = SIGCHLD};
    long child = syscall(SYS_clone3, &args, sizeof args);   /* clone_args, clone3_ids */
    if (child == 0) {
        char *argv[] = {"/bin/true", NULL};
        execve(argv[0], argv, argv + 1);                    /* open_fds */
        _exit(1);
    }
    waitpid((pid_t)child, NULL, 0);
    return byte == 'x' ? 0 : 1;
}
