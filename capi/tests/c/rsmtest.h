/*
 * rsmtest.h - helpers shared by the C tests of librsm.so.2 (not a test itself).
 *
 *  - EXPECT_RC(call, code): the call returns exactly `code`; failures are
 *    reported with file, line, the call and both codes by name.
 *  - CHECK(cond): a condition holds.
 *  - A peer process: peer_start() forks and execs the test program itself
 *    with `--serve <rfd> <wfd>`; the child runs rsmtest_serve(), which reads
 *    one command per line and answers one line "<rc> [data]".  Commands act
 *    on up to 16 export slots and 16 import slots:
 *
 *      create K PAGES FLAGS      map PAGES pages, fill byte i with
 *                                pattern(K, i), rsm_memseg_export_create
 *      publish K ID [NODE PERM]  publish (hex ID, 0: automatic; octal PERM);
 *                                answers the id (hex)
 *      republish K [NODE PERM]   republish (no NODE: empty list)
 *      unpublish K | destroy K   the export calls
 *      rebind K                  map fresh pages filled with pattern(K+100, i),
 *                                rsm_memseg_export_rebind to them
 *      read K OFF LEN            hex of the exporter's own memory (its pointer)
 *      readold K OFF LEN         hex of the memory before the last rebind
 *      write K OFF HEX           store into the exporter's own memory
 *      epost K FLAGS | ewait K MS   signal post / wait on the export handle
 *      epollfd K | erelease K    get / release a poll descriptor reference
 *      connect K NODE ID PERM    rsm_memseg_import_connect into import slot K
 *                                (hex ID, octal PERM)
 *      barrier K                 init a barrier for import slot K
 *      put K OFF HEX | get K OFF LEN   implicit-mode put / get
 *      ipost K FLAGS | iwait K MS   signal post / wait on the import handle
 *      lock K OFF MS | trylock K OFF | unlock K OFF | fadd K OFF ADD
 *      disconnect K              destroy the barrier, disconnect
 *      pid                       the server's process id
 *      exit                      destroy / disconnect everything, exit 0
 *      leave                     exit(0) at once, leaving every segment,
 *                                connection and poll reference to librsm's
 *                                exit handler
 *
 *    peer_cmd() sends a command and returns the answer's rc (the rest of the
 *    answer line is left in the caller's buffer).  Every wait for an answer
 *    is bounded: after 20 s the test fails and exits; the harness kills the
 *    whole process group anyway.
 */

#ifndef RSMTEST_H
#define RSMTEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <rsmapi.h>
#include <rsmapi_ext.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- results ----------------------------------------------------------- */

static unsigned rsmtest_checks;
static unsigned rsmtest_failures;

static inline const char *rc_name(int rc)
{
    switch (rc) {
#define N(x) case x: return #x;
    N(RSM_SUCCESS) N(RSMERR_BAD_LIBRARY_VERSION) N(RSMERR_BAD_TOPOLOGY_PTR)
    N(RSMERR_BAD_CTLR_HNDL) N(RSMERR_CTLR_NOT_PRESENT) N(RSMERR_BAD_SEG_HNDL)
    N(RSMERR_SEG_ALREADY_PUBLISHED) N(RSMERR_SEG_NOT_PUBLISHED)
    N(RSMERR_SEG_NOT_PUBLISHED_TO_NODE) N(RSMERR_SEG_ALREADY_MAPPED)
    N(RSMERR_SEG_STILL_MAPPED) N(RSMERR_SEG_NOT_MAPPED) N(RSMERR_NOT_CREATOR)
    N(RSMERR_BAD_BARRIER_PTR) N(RSMERR_BAD_SGIO) N(RSMERR_BAD_LOCALMEM_HNDL)
    N(RSMERR_BAD_ADDR) N(RSMERR_BAD_MEM_ALIGNMENT) N(RSMERR_BAD_OFFSET)
    N(RSMERR_MISALIGNED_OFFSET) N(RSMERR_BAD_LENGTH) N(RSMERR_BAD_ACL)
    N(RSMERR_BAD_SEGID) N(RSMERR_RESERVED_SEGID) N(RSMERR_SEGID_IN_USE)
    N(RSMERR_BAD_MODE) N(RSMERR_BAD_PERMS) N(RSMERR_PERM_DENIED)
    N(RSMERR_LOCKS_NOT_SUPPORTED) N(RSMERR_LOCKS_NOT_ENABLED)
    N(RSMERR_REBIND_NOT_ALLOWED) N(RSMERR_INSUFFICIENT_RESOURCES)
    N(RSMERR_INSUFFICIENT_MEM) N(RSMERR_MAP_FAILED) N(RSMERR_POLLFD_IN_USE)
    N(RSMERR_BARRIER_UNINITIALIZED) N(RSMERR_BARRIER_OPEN_FAILED)
    N(RSMERR_BARRIER_NOT_OPENED) N(RSMERR_BARRIER_FAILURE)
    N(RSMERR_REMOTE_NODE_UNREACHABLE) N(RSMERR_CONN_ABORTED)
    N(RSMERR_INTERRUPTED) N(RSMERR_TIMEOUT) N(RSMERR_BAD_APPID)
    N(RSMERR_BAD_CONF) N(RSMERR_SEG_NOT_CONNECTED) N(RSMERR_INTERNAL_ERROR)
    N(RSMERR_BAD_DRIVER_VERSION) N(RSMERR_BAD_ARGS_ERRORS)
#undef N
    default: return "(unknown code)";
    }
}

static inline int expect_rc(const char *file, int line, const char *what,
                            int got, int want)
{
    rsmtest_checks++;
    if (got != want) {
        rsmtest_failures++;
        printf("FAIL %s:%d: %s returned %d %s, expected %d %s\n", file, line,
               what, got, rc_name(got), want, rc_name(want));
        fflush(stdout);
    }
    return got == want;
}

static inline int check_cond(const char *file, int line, const char *what,
                             int ok)
{
    rsmtest_checks++;
    if (!ok) {
        rsmtest_failures++;
        printf("FAIL %s:%d: %s\n", file, line, what);
        fflush(stdout);
    }
    return ok;
}

#define EXPECT_RC(call, want) expect_rc(__FILE__, __LINE__, #call, (call), (want))
#define CHECK(cond) check_cond(__FILE__, __LINE__, #cond, (cond) ? 1 : 0)

/* Fatal: print and exit (the harness kills what is left of the group). */
#define DIE(...)                                                               \
    do {                                                                       \
        printf("FATAL %s:%d: ", __FILE__, __LINE__);                           \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        fflush(stdout);                                                        \
        exit(1);                                                               \
    } while (0)

/* Prints the summary line and gives the exit status. */
static inline int test_summary(const char *name)
{
    printf("%s: %u checks, %u failures\n", name, rsmtest_checks,
           rsmtest_failures);
    fflush(stdout);
    return rsmtest_failures == 0 ? 0 : 1;
}

/* ---- small utilities --------------------------------------------------- */

static inline size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* `pages` fresh private anonymous pages (what a Solaris program would export). */
static inline void *pages_alloc(size_t pages)
{
    void *p = mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        DIE("mmap of %zu pages: %s", pages, strerror(errno));
    return p;
}

static inline unsigned char pattern(unsigned k, size_t i)
{
    return (unsigned char)(i * 7u + k * 13u + 1u);
}

static inline void fill_pattern(void *p, size_t len, unsigned k)
{
    unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        b[i] = pattern(k, i);
}

static inline int has_pattern(const void *p, size_t off, size_t len,
                              unsigned k)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[off + i] != pattern(k, off + i))
            return 0;
    return 1;
}

static inline double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline void to_hex(char *out, const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Returns the number of bytes decoded, or -1. */
static inline long from_hex(unsigned char *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (long)(n / 2);
}

/* Waits at most `ms` for `pid`; kills it with SIGKILL after that.  Returns
 * the wait status, or -1 if it had to be killed. */
static inline int wait_child(pid_t pid, int ms)
{
    double end = now_s() + ms / 1000.0;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            DIE("waitpid(%d): %s", (int)pid, strerror(errno));
        if (now_s() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(1000);
    }
}

/* ---- the peer process --------------------------------------------------- */

#define RSMTEST_SLOTS 16
#define RSMTEST_LINE 65536

typedef struct {
    pid_t pid;
    int to;   /* commands */
    int from; /* answers */
    char buf[RSMTEST_LINE];
    size_t have;
} peer_t;

static inline void peer_start(peer_t *p)
{
    int cmd[2], ans[2];
    if (pipe(cmd) != 0 || pipe(ans) != 0)
        DIE("pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        DIE("fork: %s", strerror(errno));
    if (pid == 0) {
        char rfd[16], wfd[16];
        close(cmd[1]);
        close(ans[0]);
        snprintf(rfd, sizeof rfd, "%d", cmd[0]);
        snprintf(wfd, sizeof wfd, "%d", ans[1]);
        execl("/proc/self/exe", "rsmtest-peer", "--serve", rfd, wfd,
              (char *)NULL);
        printf("exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(cmd[0]);
    close(ans[1]);
    p->pid = pid;
    p->to = cmd[1];
    p->from = ans[0];
    p->have = 0;
}

/* Reads one line (without '\n') into `line`; 0 on EOF or timeout. */
static inline int read_line_fd(int fd, char *buf, size_t *have, char *line,
                               size_t cap, int ms)
{
    double end = now_s() + ms / 1000.0;
    for (;;) {
        char *nl = memchr(buf, '\n', *have);
        if (nl != NULL) {
            size_t n = (size_t)(nl - buf);
            if (n >= cap)
                n = cap - 1;
            memcpy(line, buf, n);
            line[n] = '\0';
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, buf + used, *have - used);
            *have -= used;
            return 1;
        }
        int left = (int)((end - now_s()) * 1000);
        if (left <= 0 || *have == RSMTEST_LINE)
            return 0;
        struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
        int r = poll(&pf, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t got = read(fd, buf + *have, RSMTEST_LINE - *have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        *have += (size_t)got;
    }
}

static inline void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            DIE("write to peer: %s", w < 0 ? strerror(errno) : "short");
        s += w;
        n -= (size_t)w;
    }
}

/* Sends a command; returns the rc of the answer and leaves the rest of the
 * answer (after the rc and one space) in `rest` (may be NULL). */
static inline int peer_cmd(peer_t *p, char *rest, size_t cap, const char *fmt,
                           ...)
{
    static char line[RSMTEST_LINE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 1)
        DIE("peer command too long");
    line[n] = '\n';
    write_all(p->to, line, (size_t)n + 1);
    static char answer[RSMTEST_LINE];
    if (!read_line_fd(p->from, p->buf, &p->have, answer, sizeof answer, 20000))
        DIE("no answer from peer %d to `%.*s`", (int)p->pid, n, line);
    char *end = NULL;
    long rc = strtol(answer, &end, 10);
    if (end == answer)
        DIE("bad answer `%s` to `%.*s`", answer, n, line);
    if (rest != NULL && cap > 0) {
        const char *r = *end == ' ' ? end + 1 : end;
        snprintf(rest, cap, "%s", r);
    }
    return (int)rc;
}

/* Asks the peer to exit and waits for it; returns its exit status. */
static inline int peer_stop(peer_t *p)
{
    write_all(p->to, "exit\n", 5);
    int st = wait_child(p->pid, 20000);
    close(p->to);
    close(p->from);
    if (st == -1)
        DIE("peer %d did not exit", (int)p->pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the server ----------------------------------------------------------- */

typedef struct {
    rsm_memseg_export_handle_t seg;
    unsigned char *mem, *old;
    size_t size;
} srv_export;

typedef struct {
    rsm_memseg_import_handle_t seg;
    rsmapi_barrier_t bar;
    int has_bar;
} srv_import;

static inline void srv_reply(int fd, const char *fmt, ...)
{
    char line[RSMTEST_LINE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 1)
        n = snprintf(line, sizeof line, "%d answer too long",
                     RSMERR_INTERNAL_ERROR);
    line[n] = '\n';
    write_all(fd, line, (size_t)n + 1);
}

static inline int rsmtest_serve(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int in = atoi(argv[2]), out = atoi(argv[3]);
    static srv_export ex[RSMTEST_SLOTS];
    static srv_import im[RSMTEST_SLOTS];
    static char line[RSMTEST_LINE], buf[RSMTEST_LINE], hex[RSMTEST_LINE];
    static unsigned char data[RSMTEST_LINE / 2];
    size_t have = 0;
    rsmapi_controller_handle_t ctrl;
    int rc = rsm_get_controller("loopback", &ctrl);
    if (rc != RSM_SUCCESS) {
        printf("peer: rsm_get_controller: %d\n", rc);
        return 1;
    }
    size_t ps = page_size();
    /* Commands come from the test; a day without one means it is gone. */
    while (read_line_fd(in, buf, &have, line, sizeof line, 86400000)) {
        char cmd[32] = "";
        unsigned k = 0;
        unsigned long a = 0, b = 0, c = 0;
        long sa = 0;
        int n = sscanf(line, "%31s %u", cmd, &k);
        if (n >= 2 && k >= RSMTEST_SLOTS) {
            srv_reply(out, "%d slot out of range", RSMERR_INTERNAL_ERROR);
            continue;
        }
        srv_export *e = &ex[k];
        srv_import *m = &im[k];
        if (!strcmp(cmd, "exit")) {
            break;
        } else if (!strcmp(cmd, "leave")) {
            exit(0);
        } else if (!strcmp(cmd, "pid")) {
            srv_reply(out, "0 %d", (int)getpid());
        } else if (!strcmp(cmd, "create") &&
                   sscanf(line, "%*s %*u %lu %lu", &a, &b) == 2) {
            e->size = a * ps;
            e->mem = pages_alloc(a);
            e->old = NULL;
            fill_pattern(e->mem, e->size, k);
            srv_reply(out, "%d", rsm_memseg_export_create(ctrl, &e->seg, e->mem,
                                                          e->size, (uint_t)b));
        } else if (!strcmp(cmd, "publish") &&
                   sscanf(line, "%*s %*u %lx", &a) == 1) {
            rsm_memseg_id_t id = (rsm_memseg_id_t)a;
            rsmapi_access_entry_t acl[1];
            uint_t nacl = 0;
            if (sscanf(line, "%*s %*u %*x %lu %lo", &b, &c) == 2) {
                acl[0].ae_node = (rsm_node_id_t)b;
                acl[0].ae_permission = (rsm_permission_t)c;
                nacl = 1;
            }
            rc = rsm_memseg_export_publish(e->seg, &id, nacl ? acl : NULL, nacl);
            srv_reply(out, "%d %x", rc, (unsigned)id);
        } else if (!strcmp(cmd, "republish")) {
            rsmapi_access_entry_t acl[1];
            uint_t nacl = 0;
            if (sscanf(line, "%*s %*u %lu %lo", &b, &c) == 2) {
                acl[0].ae_node = (rsm_node_id_t)b;
                acl[0].ae_permission = (rsm_permission_t)c;
                nacl = 1;
            }
            srv_reply(out, "%d",
                      rsm_memseg_export_republish(e->seg, nacl ? acl : NULL, nacl));
        } else if (!strcmp(cmd, "unpublish")) {
            srv_reply(out, "%d", rsm_memseg_export_unpublish(e->seg));
        } else if (!strcmp(cmd, "destroy")) {
            rc = rsm_memseg_export_destroy(e->seg);
            if (rc == RSM_SUCCESS)
                e->seg = NULL;
            srv_reply(out, "%d", rc);
        } else if (!strcmp(cmd, "rebind")) {
            unsigned char *fresh = pages_alloc(e->size / ps);
            fill_pattern(fresh, e->size, k + 100);
            rc = rsm_memseg_export_rebind(e->seg, fresh, 0, e->size);
            if (rc == RSM_SUCCESS) {
                e->old = e->mem;
                e->mem = fresh;
            }
            srv_reply(out, "%d", rc);
        } else if ((!strcmp(cmd, "read") || !strcmp(cmd, "readold")) &&
                   sscanf(line, "%*s %*u %lu %lu", &a, &b) == 2) {
            unsigned char *src = !strcmp(cmd, "read") ? e->mem : e->old;
            if (src == NULL || a + b > e->size || b > sizeof data) {
                srv_reply(out, "%d bad read", RSMERR_INTERNAL_ERROR);
                continue;
            }
            to_hex(hex, src + a, b);
            srv_reply(out, "0 %s", hex);
        } else if (!strcmp(cmd, "write") &&
                   sscanf(line, "%*s %*u %lu %65000s", &a, hex) == 2) {
            long len = from_hex(data, sizeof data, hex);
            if (e->mem == NULL || len < 0 || a + (size_t)len > e->size) {
                srv_reply(out, "%d bad write", RSMERR_INTERNAL_ERROR);
                continue;
            }
            memcpy(e->mem + a, data, (size_t)len);
            srv_reply(out, "0");
        } else if (!strcmp(cmd, "epost") && sscanf(line, "%*s %*u %lu", &a) == 1) {
            srv_reply(out, "%d", rsm_intr_signal_post(e->seg, (uint_t)a));
        } else if (!strcmp(cmd, "ewait") && sscanf(line, "%*s %*u %ld", &sa) == 1) {
            srv_reply(out, "%d", rsm_intr_signal_wait(e->seg, (int)sa));
        } else if (!strcmp(cmd, "epollfd")) {
            struct pollfd pf;
            srv_reply(out, "%d", rsm_memseg_get_pollfd(e->seg, &pf));
        } else if (!strcmp(cmd, "erelease")) {
            srv_reply(out, "%d", rsm_memseg_release_pollfd(e->seg));
        } else if (!strcmp(cmd, "connect") &&
                   sscanf(line, "%*s %*u %lu %lx %lo", &a, &b, &c) == 3) {
            srv_reply(out, "%d",
                      rsm_memseg_import_connect(ctrl, (rsm_node_id_t)a,
                                                (rsm_memseg_id_t)b,
                                                (rsm_permission_t)c, &m->seg));
        } else if (!strcmp(cmd, "barrier")) {
            rc = rsm_memseg_import_init_barrier(m->seg, RSM_BAR_DEFAULT, &m->bar);
            m->has_bar = rc == RSM_SUCCESS;
            srv_reply(out, "%d", rc);
        } else if (!strcmp(cmd, "put") &&
                   sscanf(line, "%*s %*u %lu %65000s", &a, hex) == 2) {
            long len = from_hex(data, sizeof data, hex);
            srv_reply(out, "%d",
                      rsm_memseg_import_put(m->seg, (off_t)a, data, (size_t)len));
        } else if (!strcmp(cmd, "get") &&
                   sscanf(line, "%*s %*u %lu %lu", &a, &b) == 2 &&
                   b <= sizeof data) {
            rc = rsm_memseg_import_get(m->seg, (off_t)a, data, b);
            to_hex(hex, data, rc == RSM_SUCCESS ? b : 0);
            srv_reply(out, "%d %s", rc, hex);
        } else if (!strcmp(cmd, "ipost") && sscanf(line, "%*s %*u %lu", &a) == 1) {
            srv_reply(out, "%d", rsm_intr_signal_post(m->seg, (uint_t)a));
        } else if (!strcmp(cmd, "iwait") && sscanf(line, "%*s %*u %ld", &sa) == 1) {
            srv_reply(out, "%d", rsm_intr_signal_wait(m->seg, (int)sa));
        } else if (!strcmp(cmd, "lock") &&
                   sscanf(line, "%*s %*u %lu %ld", &a, &sa) == 2) {
            srv_reply(out, "%d", rsm_memseg_import_lock(m->seg, (off_t)a, (int)sa));
        } else if (!strcmp(cmd, "trylock") && sscanf(line, "%*s %*u %lu", &a) == 1) {
            srv_reply(out, "%d", rsm_memseg_import_trylock(m->seg, (off_t)a));
        } else if (!strcmp(cmd, "unlock") && sscanf(line, "%*s %*u %lu", &a) == 1) {
            srv_reply(out, "%d", rsm_memseg_import_unlock(m->seg, (off_t)a));
        } else if (!strcmp(cmd, "fadd") &&
                   sscanf(line, "%*s %*u %lu %lu", &a, &b) == 2) {
            uint64_t old = 0;
            rc = rsm_memseg_import_atomic_fadd64(m->seg, (off_t)a, b, &old);
            srv_reply(out, "%d %llu", rc, (unsigned long long)old);
        } else if (!strcmp(cmd, "disconnect")) {
            if (m->has_bar)
                rsm_memseg_import_destroy_barrier(&m->bar);
            m->has_bar = 0;
            rc = rsm_memseg_import_disconnect(m->seg);
            if (rc == RSM_SUCCESS)
                m->seg = NULL;
            srv_reply(out, "%d", rc);
        } else {
            srv_reply(out, "%d unknown command: %s", RSMERR_INTERNAL_ERROR, line);
        }
    }
    for (unsigned i = 0; i < RSMTEST_SLOTS; i++) {
        if (im[i].has_bar)
            rsm_memseg_import_destroy_barrier(&im[i].bar);
        if (im[i].seg != NULL)
            rsm_memseg_import_disconnect(im[i].seg);
        if (ex[i].seg != NULL) {
            while (rsm_memseg_release_pollfd(ex[i].seg) == RSM_SUCCESS &&
                   rsm_memseg_export_destroy(ex[i].seg) == RSMERR_POLLFD_IN_USE)
                ;
        }
    }
    rsm_release_controller(ctrl);
    return 0;
}

/* In main(): serve when started as a peer. */
#define RSMTEST_MAIN_PROLOGUE(argc, argv)                                      \
    do {                                                                       \
        if ((argc) > 1 && strcmp((argv)[1], "--serve") == 0)                   \
            return rsmtest_serve((argc), (argv));                              \
    } while (0)

#endif /* RSMTEST_H */
