/*
 * abort.c - the exporter process is killed with SIGKILL while this importer
 * works: the importer gets RSMERR_CONN_ABORTED within a few seconds, never a
 * hang or a crash, and cleans up (the harness checks that no name of the dead
 * exporter is left in /dev/shm).
 *
 *  1. busy: implicit-mode put/get in a loop while the peer is killed;
 *  2. blocked: rsm_intr_signal_wait(-1) and rsm_intr_signal_wait_pollfd(-1)
 *     while the peer is killed.
 *
 * rsm-test: link timeout=60
 */

#include "rsmtest.h"

static rsmapi_controller_handle_t ctrl;

/* Forks a child that kills `victim` after `ms` and reports (through the
 * returned pipe) the CLOCK_MONOTONIC time of the kill. */
static int kill_later(pid_t victim, int ms, pid_t *killer)
{
    int p[2];
    if (pipe(p) != 0)
        DIE("pipe");
    fflush(stdout);
    *killer = fork();
    if (*killer == 0) {
        usleep((useconds_t)ms * 1000);
        double t = now_s();
        kill(victim, SIGKILL);
        if (write(p[1], &t, sizeof t) != sizeof t)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    return p[0];
}

static double read_kill_time(int fd)
{
    double t = 0;
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 10000) != 1 || read(fd, &t, sizeof t) != sizeof t)
        DIE("no kill time");
    close(fd);
    return t;
}

static pid_t peer_pid(peer_t *p)
{
    char rest[64];
    if (peer_cmd(p, rest, sizeof rest, "pid") != 0)
        DIE("pid");
    return (pid_t)atoi(rest);
}

static void reap_killed(peer_t *p)
{
    int st = wait_child(p->pid, 10000);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(p->to);
    close(p->from);
}

static void busy_importer(void)
{
    size_t ps = page_size();
    peer_t peer;
    peer_start(&peer);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "create 0 4 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 0 400300"), RSM_SUCCESS);
    pid_t victim = peer_pid(&peer);

    rsm_memseg_import_handle_t im = NULL, ex_im = NULL, mapped = NULL;
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400300, RSM_PERM_RDWR, &im),
              RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400300, RSM_PERM_RDWR, &ex_im),
              RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400300, RSM_PERM_READ, &mapped),
              RSM_SUCCESS);
    rsmapi_barrier_t bar, ebar;
    EXPECT_RC(rsm_memseg_import_init_barrier(im, RSM_BAR_DEFAULT, &bar), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_init_barrier(ex_im, RSM_BAR_DEFAULT, &ebar),
              RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_set_mode(ex_im, RSM_BARRIER_MODE_EXPLICIT),
              RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_open_barrier(&ebar), RSM_SUCCESS);
    /* The first transfer maps the handle implicitly (SPEC §4.5 step 6), while the exporter
       is alive; after its death an explicit-mode put is not checked (it lands in the stale
       mapping) and the close reports the loss. */
    EXPECT_RC(rsm_memseg_import_put(ex_im, 0, "live", 4), RSM_SUCCESS);
    void *addr = NULL;
    EXPECT_RC(rsm_memseg_import_map(mapped, &addr, RSM_MAP_NONE, RSM_PERM_READ, 0,
                                    4 * ps),
              RSM_SUCCESS);

    pid_t killer;
    int kfd = kill_later(victim, 300, &killer);
    uint64_t word = 0;
    unsigned char buf[512];
    long rounds = 0;
    int rc = RSM_SUCCESS;
    double start = now_s(), end = 0;
    while (rc == RSM_SUCCESS && now_s() - start < 20.0) {
        word++;
        rc = rsm_memseg_import_put64(im, (off_t)(8 * (rounds % 64)), &word, 1);
        if (rc == RSM_SUCCESS)
            rc = rsm_memseg_import_get(im, 1024, buf, sizeof buf);
        rounds++;
    }
    end = now_s();
    double killed = read_kill_time(kfd);
    CHECK(wait_child(killer, 10000) == 0);
    EXPECT_RC(rc, RSMERR_CONN_ABORTED);
    printf("busy importer: %ld rounds; RSMERR_CONN_ABORTED %.0f ms after SIGKILL\n",
           rounds, (end - killed) * 1000);
    CHECK(end >= killed && end - killed < 5.0);

    /* Sticky; every path reports it; nothing blocks. */
    uint64_t v = 1;
    EXPECT_RC(rsm_memseg_import_put64(im, 0, &v, 1), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_import_get64(im, 0, &v, 1), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_import_put(ex_im, 0, "late", 4), RSM_SUCCESS); /* explicit */
    EXPECT_RC(rsm_memseg_import_close_barrier(&ebar), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_intr_signal_post(im, 0), RSMERR_CONN_ABORTED);
    double t0 = now_s();
    EXPECT_RC(rsm_intr_signal_wait(im, -1), RSMERR_CONN_ABORTED);
    CHECK(now_s() - t0 < 5.0);
    rsm_iovec_t io = {RSM_VA_TYPE, {.vaddr = (caddr_t)buf}, 0, 0, 16};
    rsm_scat_gath_t sg = {0, 1, 0, 0, im, &io};
    EXPECT_RC(rsm_memseg_import_getv(&sg), RSMERR_CONN_ABORTED);
    CHECK(sg.io_residual_count == 1);
    /* The stale mapping still reads without faulting. */
    volatile unsigned char *m = addr;
    if (m != NULL)
        CHECK(m[4 * ps - 1] == pattern(0, 4 * ps - 1));

    EXPECT_RC(rsm_memseg_import_destroy_barrier(&bar), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_destroy_barrier(&ebar), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(im), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(ex_im), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_unmap(mapped), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(mapped), RSM_SUCCESS);
    /* The segment is gone with its exporter. */
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400300, RSM_PERM_RDWR, &im),
              RSMERR_SEG_NOT_PUBLISHED);
    reap_killed(&peer);
}

static void blocked_importer(int use_pollfd)
{
    peer_t peer;
    peer_start(&peer);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "create 0 1 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 0 400301"), RSM_SUCCESS);
    pid_t victim = peer_pid(&peer);
    rsm_memseg_import_handle_t im = NULL;
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400301, RSM_PERM_RDWR, &im),
              RSM_SUCCESS);
    struct pollfd pf;
    if (use_pollfd)
        EXPECT_RC(rsm_memseg_get_pollfd(im, &pf), RSM_SUCCESS);

    pid_t killer;
    int kfd = kill_later(victim, 300, &killer);
    int n = -1;
    int rc = use_pollfd ? rsm_intr_signal_wait_pollfd(&pf, 1, -1, &n)
                        : rsm_intr_signal_wait(im, -1);
    double end = now_s();
    double killed = read_kill_time(kfd);
    CHECK(wait_child(killer, 10000) == 0);
    if (use_pollfd) {
        EXPECT_RC(rc, RSM_SUCCESS);
        CHECK(n == 1 && (pf.revents & POLLHUP));
        EXPECT_RC(rsm_memseg_release_pollfd(im), RSM_SUCCESS);
    } else {
        EXPECT_RC(rc, RSMERR_CONN_ABORTED);
    }
    printf("blocked importer (%s): woken %.0f ms after SIGKILL\n",
           use_pollfd ? "wait_pollfd" : "signal_wait", (end - killed) * 1000);
    CHECK(end >= killed && end - killed < 5.0);
    EXPECT_RC(rsm_intr_signal_wait(im, -1), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_import_disconnect(im), RSM_SUCCESS);
    reap_killed(&peer);
}

int main(int argc, char **argv)
{
    RSMTEST_MAIN_PROLOGUE(argc, argv);
    if (rsm_get_controller("loopback", &ctrl) != RSM_SUCCESS)
        DIE("no loopback controller");
    busy_importer();
    blocked_importer(0);
    blocked_importer(1);
    EXPECT_RC(rsm_release_controller(ctrl), RSM_SUCCESS);
    return test_summary("abort");
}
