/*
 * events.c - interrupt signals and poll descriptors (SPEC.md §4.8, §5.9)
 * between this process and a peer process, in both directions: counting,
 * RSM_SIGPOST_NO_ACCUMULATE, timeouts, interruption by a signal, descriptors
 * with plain poll() and with rsm_intr_signal_wait_pollfd() next to an
 * ordinary pipe, poll references, and waits on a connection that is lost
 * (events posted before the loss first).
 *
 * rsm-test: link timeout=60
 */

#include "rsmtest.h"

static peer_t peer;
static rsmapi_controller_handle_t ctrl;

static void on_alarm(int sig) { (void)sig; }

/* SIGALRM after `ms`, without SA_RESTART, so blocking calls see EINTR. */
static void alarm_in(int ms)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(int argc, char **argv)
{
    RSMTEST_MAIN_PROLOGUE(argc, argv);
    size_t ps = page_size();
    if (rsm_get_controller("loopback", &ctrl) != RSM_SUCCESS)
        DIE("no loopback controller");
    peer_start(&peer);

    /* ---- importer here, exporter in the peer ---- */
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "create 0 1 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 0 400200"), RSM_SUCCESS);
    rsm_memseg_import_handle_t im = NULL;
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400200, RSM_PERM_RDWR, &im),
              RSM_SUCCESS);

    /* Importer -> exporter: events count; each wait consumes one. */
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 0"), RSMERR_TIMEOUT);
    EXPECT_RC(rsm_intr_signal_post(im, 0), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 5000"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 0"), RSMERR_TIMEOUT);
    for (int i = 0; i < 3; i++)
        EXPECT_RC(rsm_intr_signal_post(im, 0), RSM_SUCCESS);
    for (int i = 0; i < 3; i++)
        EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 5000"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 20"), RSMERR_TIMEOUT);
    /* RSM_SIGPOST_NO_ACCUMULATE: dropped while one is pending; unknown flag
     * bits are ignored. */
    for (int i = 0; i < 3; i++)
        EXPECT_RC(rsm_intr_signal_post(im, RSM_SIGPOST_NO_ACCUMULATE), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 5000"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 0"), RSMERR_TIMEOUT);
    EXPECT_RC(rsm_intr_signal_post(im, 0x100), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_post(im, 0x100), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 5000"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ewait 0 5000"), RSM_SUCCESS);

    /* Exporter -> importer. */
    EXPECT_RC(rsm_intr_signal_wait(im, 0), RSMERR_TIMEOUT);
    EXPECT_RC(rsm_intr_signal_wait(im, 30), RSMERR_TIMEOUT);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epost 0 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epost 0 0"), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_wait(im, 5000), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_wait(im, -1), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_wait(im, 0), RSMERR_TIMEOUT);

    /* A blocking wait is interrupted by a signal. */
    alarm_in(100);
    EXPECT_RC(rsm_intr_signal_wait(im, -1), RSMERR_INTERRUPTED);

    /* ---- exporter here, importer in the peer ---- */
    unsigned char *mem = pages_alloc(1);
    rsm_memseg_export_handle_t ex = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &ex, mem, ps, 0), RSM_SUCCESS);
    rsm_memseg_id_t id = 0x400201;
    EXPECT_RC(rsm_memseg_export_publish(ex, &id, NULL, 0), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "connect 0 0 400201 600"), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_wait(ex, 0), RSMERR_TIMEOUT);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ipost 0 0"), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_wait(ex, 5000), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_post(ex, 0), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "iwait 0 5000"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "iwait 0 0"), RSMERR_TIMEOUT);

    /* ---- poll descriptors ---- */
    struct pollfd pf;
    memset(&pf, 0, sizeof pf);
    EXPECT_RC(rsm_memseg_get_pollfd(NULL, &pf), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_get_pollfd(im, NULL), RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_memseg_get_pollfd(NULL, NULL), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_release_pollfd(NULL), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_release_pollfd(im), RSM_SUCCESS); /* none held */
    EXPECT_RC(rsm_memseg_get_pollfd(im, &pf), RSM_SUCCESS);
    CHECK(pf.fd >= 0 && pf.events == POLLRDNORM && pf.revents == 0);

    /* Plain poll(): readable while an event is pending, never consumes. */
    CHECK(poll(&pf, 1, 0) == 0);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epost 0 0"), RSM_SUCCESS);
    CHECK(poll(&pf, 1, 5000) == 1 && (pf.revents & POLLRDNORM));
    CHECK(poll(&pf, 1, 0) == 1 && (pf.revents & POLLRDNORM));
    int n = -1;
    pf.revents = 0;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(&pf, 1, 5000, &n), RSM_SUCCESS);
    CHECK(n == 1 && pf.revents == POLLRDNORM);
    n = -1;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(&pf, 1, 0, &n), RSMERR_TIMEOUT);
    CHECK(n == 0 && pf.revents == 0);
    CHECK(poll(&pf, 1, 0) == 0);

    /* Next to an ordinary descriptor. */
    int p[2];
    if (pipe(p) != 0)
        DIE("pipe");
    struct pollfd fds[2] = {pf, {p[0], POLLIN, 0}};
    if (write(p[1], "x", 1) != 1)
        DIE("write");
    n = -1;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(fds, 2, 5000, &n), RSM_SUCCESS);
    CHECK(n == 1 && fds[0].revents == 0 && fds[1].revents == POLLIN);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epost 0 0"), RSM_SUCCESS);
    CHECK(poll(&pf, 1, 5000) == 1);
    n = -1;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(fds, 2, 5000, &n), RSM_SUCCESS);
    CHECK(n == 2 && fds[0].revents == POLLRDNORM && fds[1].revents == POLLIN);
    char c;
    if (read(p[0], &c, 1) != 1)
        DIE("read");
    EXPECT_RC(rsm_intr_signal_wait_pollfd(fds, 2, 0, NULL), RSMERR_TIMEOUT);
    CHECK(fds[0].revents == 0 && fds[1].revents == 0);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epost 0 0"), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_wait_pollfd(fds, 2, 5000, NULL), RSM_SUCCESS);
    CHECK(fds[0].revents == POLLRDNORM);

    /* Argument errors. */
    EXPECT_RC(rsm_intr_signal_wait_pollfd(NULL, 1, 0, &n), RSMERR_BAD_ADDR);
    n = -1;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(NULL, 0, 0, &n), RSMERR_TIMEOUT);
    CHECK(n == 0);
    EXPECT_RC(rsm_intr_signal_wait_pollfd(fds, (nfds_t)1 << 40, 0, &n),
              RSMERR_BAD_ARGS_ERRORS);
    alarm_in(100);
    EXPECT_RC(rsm_intr_signal_wait_pollfd(fds, 2, -1, &n), RSMERR_INTERRUPTED);

    /* Export-side descriptor. */
    struct pollfd epf;
    EXPECT_RC(rsm_memseg_get_pollfd(ex, &epf), RSM_SUCCESS);
    CHECK(epf.events == POLLRDNORM && epf.fd != pf.fd);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "ipost 0 0"), RSM_SUCCESS);
    CHECK(poll(&epf, 1, 5000) == 1 && (epf.revents & POLLRDNORM));
    struct pollfd both[2] = {pf, epf};
    n = -1;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(both, 2, 5000, &n), RSM_SUCCESS);
    CHECK(n == 1 && both[0].revents == 0 && both[1].revents == POLLRDNORM);

    /* Poll references block disconnect and destroy until released. */
    EXPECT_RC(rsm_memseg_export_destroy(ex), RSMERR_POLLFD_IN_USE);
    EXPECT_RC(rsm_memseg_import_disconnect(im), RSMERR_POLLFD_IN_USE);
    EXPECT_RC(rsm_memseg_release_pollfd(ex), RSM_SUCCESS);

    /* ---- waits on a lost connection return at once ---- */
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "unpublish 0"), RSM_SUCCESS);
    pf.revents = 0;
    n = -1;
    double t0 = now_s();
    EXPECT_RC(rsm_intr_signal_wait_pollfd(&pf, 1, 10000, &n), RSM_SUCCESS);
    CHECK(n == 1 && (pf.revents & POLLHUP));
    EXPECT_RC(rsm_intr_signal_wait(im, -1), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_intr_signal_wait(im, 10000), RSMERR_CONN_ABORTED);
    CHECK(now_s() - t0 < 5.0);
    EXPECT_RC(rsm_intr_signal_post(im, 0), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_release_pollfd(im), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(im), RSM_SUCCESS);

    /* ---- events posted before the loss are still delivered (as on
     * Solaris), one per wait; the loss is reported once none is left ---- */
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 0 400202"), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400202, RSM_PERM_RDWR, &im),
              RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epost 0 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epost 0 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "unpublish 0"), RSM_SUCCESS);
    EXPECT_RC(rsm_intr_signal_wait(im, 5000), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_get_pollfd(im, &pf), RSM_SUCCESS);
    pf.revents = 0;
    n = -1;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(&pf, 1, 5000, &n), RSM_SUCCESS);
    CHECK(n == 1 && pf.revents == POLLRDNORM);
    EXPECT_RC(rsm_intr_signal_wait(im, 5000), RSMERR_CONN_ABORTED);
    /* The descriptor of the lost connection stays ready and says so. */
    CHECK(poll(&pf, 1, 0) == 1);
    pf.revents = 0;
    n = -1;
    EXPECT_RC(rsm_intr_signal_wait_pollfd(&pf, 1, 5000, &n), RSM_SUCCESS);
    CHECK(n == 1 && pf.revents == POLLHUP);
    EXPECT_RC(rsm_intr_signal_wait(im, -1), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_release_pollfd(im), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(im), RSM_SUCCESS);

    EXPECT_RC(peer_cmd(&peer, NULL, 0, "disconnect 0"), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(ex), RSM_SUCCESS);
    CHECK(peer_stop(&peer) == 0);
    EXPECT_RC(rsm_release_controller(ctrl), RSM_SUCCESS);
    close(p[0]);
    close(p[1]);
    munmap(mem, ps);
    return test_summary("events");
}
