/* ktr's exec helper: the child of `ktr record -- CMD`, waiting to become CMD.
 *
 * ktr/_trampoline.py's child execs this (from a memfd, long before it is traced)
 * so that the command's own execve, the first call of the trace, tears down this
 * program's few pages instead of a Python interpreter's megabytes. It speaks the
 * Python child's protocol (ktr/_trampoline.py), exactly:
 *
 *   argv: [comm, INSTRUCTIONS_FD, ERROR_FD]  (both fds close-on-exec again at once)
 *   writes "R" on ERROR_FD: waiting for instructions
 *   reads the message: 8-byte LE body length, then items (4-byte LE length,
 *     bytes, NUL): flags, seccomp program, path count, paths, argument count,
 *     arguments, then KEY=VALUE items if flags & ENVIRONMENT
 *   reads one release byte (end of file: exit 127), then: SIGPIPE and SIGXFSZ to
 *     their defaults, fd 2 onto fd 1 if asked, the seccomp filter, execve of each
 *     path in turn (on past ENOENT/ENOTDIR, past anything if flags & NOT_FOUND);
 *     if none runs, the errno (4 bytes LE) on ERROR_FD and exit 127 (ENOENT, or
 *     flags & NOT_FOUND) or 126, as bash.
 *
 * No C library: raw x86_64 system calls. Built by tools/make_exec_helper.py into
 * ktr/_exec_helper.py.
 */

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_mmap 9
#define SYS_rt_sigaction 13
#define SYS_dup2 33
#define SYS_execve 59
#define SYS_fcntl 72
#define SYS_prctl 157
#define SYS_exit_group 231

#define F_SETFD 2
#define FD_CLOEXEC 1
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define PR_SET_NAME 15
#define PR_SET_SECCOMP 22
#define PR_SET_NO_NEW_PRIVS 38
#define SECCOMP_MODE_FILTER 2
#define SIGPIPE 13
#define SIGXFSZ 25
#define ENOENT 2
#define ENOTDIR 20
#define EINTR 4

#define STDOUT_FROM_STDERR 1
#define NO_NEW_PRIVS 2
#define ENVIRONMENT 4
#define NOT_FOUND 8 /* a PATH search that found no file */

typedef unsigned long u64;

static long sc6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define sc3(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static void quit(int status)
{
    for (;;)
        sc3(SYS_exit_group, status, 0, 0);
}

static long number(const char *text)
{
    long value = 0;
    if (!*text)
        quit(127);
    for (; *text; text++) {
        if (*text < '0' || *text > '9')
            quit(127);
        value = value * 10 + (*text - '0');
    }
    return value;
}

/* Exactly size bytes; end of file or an error ends the program (status 127). */
static void read_all(int fd, char *buffer, u64 size)
{
    while (size) {
        long got = sc3(SYS_read, fd, buffer, size);
        if (got == -EINTR)
            continue;
        if (got <= 0)
            quit(127);
        buffer += got;
        size -= got;
    }
}

static unsigned int le32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return u[0] | u[1] << 8 | u[2] << 16 | (unsigned int)u[3] << 24;
}

struct item {
    char *data;
    unsigned int size;
};

struct sock_fprog {
    unsigned short len;
    void *filter;
};

struct kernel_sigaction {
    u64 handler, flags, restorer, mask;
};

void entry(long *stack)
{
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;
    if (argc != 3)
        quit(127);
    int instructions = number(argv[1]);
    int errors = number(argv[2]);
    sc3(SYS_prctl, PR_SET_NAME, argv[0], 0);
    sc3(SYS_fcntl, instructions, F_SETFD, FD_CLOEXEC);
    sc3(SYS_fcntl, errors, F_SETFD, FD_CLOEXEC);
    if (sc3(SYS_write, errors, "R", 1) != 1)
        quit(127);

    char header[8];
    read_all(instructions, header, 8);
    u64 size = le32(header) | (u64)le32(header + 4) << 32;
    u64 most_items = size / 5 + 1;
    u64 length = size + (most_items + 4) * (sizeof(char *) + sizeof(struct item));
    char *body = (char *)sc6(SYS_mmap, 0, length, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((u64)body > (u64)-4096)
        quit(127);
    read_all(instructions, body, size);
    struct item *items = (struct item *)(body + ((size + 7) & ~7UL));
    char **pointers = (char **)(items + most_items);
    u64 count = 0, offset = 0;
    while (offset < size) {
        if (size - offset < 5)
            quit(127);
        unsigned int item_size = le32(body + offset);
        if (item_size > size - offset - 5 || body[offset + 4 + item_size])
            quit(127);
        items[count].data = body + offset + 4;
        items[count].size = item_size;
        count++;
        offset += 5 + item_size;
    }
    if (count < 4 || items[0].size != 1)
        quit(127);
    int flags = items[0].data[0];
    u64 paths = number(items[2].data);
    if (paths == 0 || paths > count - 4)
        quit(127);
    u64 arguments_at = 3 + paths;
    u64 arguments = number(items[arguments_at].data);
    if (arguments > count - arguments_at - 1)
        quit(127);
    char **argument = pointers;
    for (u64 i = 0; i < arguments; i++)
        *pointers++ = items[arguments_at + 1 + i].data;
    *pointers++ = 0;
    if (flags & ENVIRONMENT) {
        envp = pointers;
        for (u64 i = arguments_at + 1 + arguments; i < count; i++)
            *pointers++ = items[i].data;
        *pointers++ = 0;
    }

    char release;
    read_all(instructions, &release, 1);
    sc3(SYS_close, instructions, 0, 0);
    struct kernel_sigaction default_action = {0, 0, 0, 0};
    sc6(SYS_rt_sigaction, SIGPIPE, (long)&default_action, 0, 8, 0, 0);
    sc6(SYS_rt_sigaction, SIGXFSZ, (long)&default_action, 0, 8, 0, 0);
    if (flags & STDOUT_FROM_STDERR)
        sc3(SYS_dup2, 2, 1, 0);
    if (items[1].size) {
        struct sock_fprog program = {(unsigned short)(items[1].size / 8), items[1].data};
        if ((flags & NO_NEW_PRIVS) && sc6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0) != 0)
            quit(127);
        if (sc6(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (long)&program, 0, 0, 0) != 0)
            quit(127);
    }
    long error = ENOENT;
    for (u64 i = 0; i < paths; i++) {
        error = -sc3(SYS_execve, items[3 + i].data, argument, envp);
        if (error != ENOENT && error != ENOTDIR && !(flags & NOT_FOUND))
            break;
    }
    unsigned char reply[4] = {(unsigned char)error, (unsigned char)(error >> 8),
                              (unsigned char)(error >> 16), (unsigned char)(error >> 24)};
    sc3(SYS_write, errors, reply, 4);
    /* bash: 127 for ENOENT or a search that found no file; ./file/'s ENOTDIR is 126 */
    quit(error == ENOENT || (flags & NOT_FOUND) ? 127 : 126);
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "    xor %rbp, %rbp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call entry\n"
        "    hlt\n");
