/*
 * locks.c - the lock-segment extension (<rsmapi_ext.h>, RSMEXT_1.0): 64-bit
 * remote atomics and word locks on an RSM_LOCK_OPS segment exported by a peer
 * process, used by this process, the peer and forked children; every error
 * code of the header's rules.
 *
 * rsm-test: link timeout=60
 */

#include "rsmtest.h"

static peer_t peer;
static rsmapi_controller_handle_t ctrl;
static size_t ps;

static uint64_t exporter_word(unsigned k, size_t off)
{
    char rest[64];
    unsigned char b[8];
    if (peer_cmd(&peer, rest, sizeof rest, "read %u %zu 8", k, off) != 0 ||
        from_hex(b, sizeof b, rest) != 8)
        DIE("read word");
    uint64_t v;
    memcpy(&v, b, 8);
    return v;
}

static rsm_memseg_import_handle_t connect_to(rsm_memseg_id_t id,
                                             rsm_permission_t perm)
{
    rsm_memseg_import_handle_t im = NULL;
    if (!EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, id, perm, &im), RSM_SUCCESS))
        DIE("connect %#x", id);
    return im;
}

/* In a forked child: `n` increments of the word at 128 under the lock at 64,
 * through implicit-mode get/put, plus `n` fetch-adds of the word at 8. */
static int hammer(int n)
{
    rsmapi_controller_handle_t c;
    rsm_memseg_import_handle_t im;
    rsmapi_barrier_t bar;
    if (rsm_get_controller("loopback", &c) != RSM_SUCCESS ||
        rsm_memseg_import_connect(c, 0, 0x400400, RSM_PERM_RDWR, &im) != RSM_SUCCESS ||
        rsm_memseg_import_init_barrier(im, RSM_BAR_DEFAULT, &bar) != RSM_SUCCESS)
        return 10;
    for (int i = 0; i < n; i++) {
        uint64_t v;
        if (rsm_memseg_import_lock(im, 64, 10000) != RSM_SUCCESS)
            return 11;
        if (rsm_memseg_import_get64(im, 128, &v, 1) != RSM_SUCCESS)
            return 12;
        v++;
        if (rsm_memseg_import_put64(im, 128, &v, 1) != RSM_SUCCESS)
            return 13;
        if (rsm_memseg_import_unlock(im, 64) != RSM_SUCCESS)
            return 14;
        if (rsm_memseg_import_atomic_fadd64(im, 8, 1, NULL) != RSM_SUCCESS)
            return 15;
    }
    if (rsm_memseg_import_destroy_barrier(&bar) != RSM_SUCCESS ||
        rsm_memseg_import_disconnect(im) != RSM_SUCCESS)
        return 16;
    return 0;
}

int main(int argc, char **argv)
{
    RSMTEST_MAIN_PROLOGUE(argc, argv);
    ps = page_size();
    if (rsm_get_controller("loopback", &ctrl) != RSM_SUCCESS)
        DIE("no loopback controller");
    peer_start(&peer);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "create 0 1 %u", RSM_LOCK_OPS), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 0 400400"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "create 1 1 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 1 400401"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "connect 0 0 400400 600"), RSM_SUCCESS);

    rsm_memseg_import_handle_t im = connect_to(0x400400, RSM_PERM_RDWR);
    rsm_memseg_import_handle_t nolocks = connect_to(0x400401, RSM_PERM_RDWR);
    rsm_memseg_import_handle_t ro = connect_to(0x400400, RSM_PERM_READ);

    /* ---- atomics ---- */
    unsigned char initial[8];
    for (int i = 0; i < 8; i++)
        initial[i] = pattern(0, (size_t)i);
    uint64_t first, old = 0;
    memcpy(&first, initial, 8);
    EXPECT_RC(rsm_memseg_import_atomic_swap64(im, 0, 0, &old), RSM_SUCCESS);
    CHECK(old == first);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(im, 0, 5, &old), RSM_SUCCESS);
    CHECK(old == 0);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(im, 0, 2, NULL), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_atomic_cas64(im, 0, 7, 70, &old), RSM_SUCCESS);
    CHECK(old == 7);
    EXPECT_RC(rsm_memseg_import_atomic_cas64(im, 0, 7, 99, &old), RSM_SUCCESS);
    CHECK(old == 70); /* no swap: the old value differs from `expected` */
    EXPECT_RC(rsm_memseg_import_atomic_cas64(im, 0, 70, 71, NULL), RSM_SUCCESS);
    CHECK(exporter_word(0, 0) == 71);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(im, 0, (uint64_t)-72, &old),
              RSM_SUCCESS);
    CHECK(old == 71 && exporter_word(0, 0) == UINT64_MAX); /* modulo 2^64 */
    EXPECT_RC(rsm_memseg_import_atomic_swap64(im, (off_t)(ps - 8), 42, NULL),
              RSM_SUCCESS);
    CHECK(exporter_word(0, ps - 8) == 42);
    EXPECT_RC(rsm_memseg_import_atomic_swap64(im, 8, 0, NULL), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_atomic_swap64(im, 64, 0, NULL), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_atomic_swap64(im, 128, 0, NULL), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_atomic_swap64(im, 256, 0, NULL), RSM_SUCCESS);

    /* ---- errors, in the header's order ---- */
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(nolocks, 0, 1, &old),
              RSMERR_LOCKS_NOT_ENABLED);
    EXPECT_RC(rsm_memseg_import_atomic_cas64(nolocks, 4, 0, 1, &old),
              RSMERR_LOCKS_NOT_ENABLED);
    EXPECT_RC(rsm_memseg_import_atomic_swap64(nolocks, 0, 1, NULL),
              RSMERR_LOCKS_NOT_ENABLED);
    EXPECT_RC(rsm_memseg_import_lock(nolocks, 0, 0), RSMERR_LOCKS_NOT_ENABLED);
    EXPECT_RC(rsm_memseg_import_trylock(nolocks, 0), RSMERR_LOCKS_NOT_ENABLED);
    EXPECT_RC(rsm_memseg_import_unlock(nolocks, 0), RSMERR_LOCKS_NOT_ENABLED);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(im, 4, 1, &old),
              RSMERR_BAD_MEM_ALIGNMENT);
    EXPECT_RC(rsm_memseg_import_lock(im, 12, 0), RSMERR_BAD_MEM_ALIGNMENT);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(ro, 4, 1, &old),
              RSMERR_BAD_MEM_ALIGNMENT);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(ro, 0, 1, &old), RSMERR_PERM_DENIED);
    EXPECT_RC(rsm_memseg_import_trylock(ro, 64), RSMERR_PERM_DENIED);
    EXPECT_RC(rsm_memseg_import_atomic_swap64(ro, (off_t)ps, 1, NULL),
              RSMERR_PERM_DENIED);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(im, (off_t)ps, 1, &old),
              RSMERR_BAD_OFFSET);
    EXPECT_RC(rsm_memseg_import_atomic_cas64(im, -8, 0, 1, &old), RSMERR_BAD_OFFSET);
    EXPECT_RC(rsm_memseg_import_lock(im, (off_t)(1 << 30), 0), RSMERR_BAD_OFFSET);
    CHECK(exporter_word(0, 0) == UINT64_MAX);

    /* ---- locks between processes ---- */
    EXPECT_RC(rsm_memseg_import_lock(im, 64, 0), RSM_SUCCESS);
    CHECK(exporter_word(0, 64) != 0); /* the holder's token */
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "trylock 0 64"), RSMERR_TIMEOUT);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "lock 0 64 100"), RSMERR_TIMEOUT);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "unlock 0 64"), RSMERR_PERM_DENIED);
    /* Not recursive: trylock finds it held, lock would wait forever. */
    EXPECT_RC(rsm_memseg_import_trylock(im, 64), RSMERR_TIMEOUT);
    EXPECT_RC(rsm_memseg_import_lock(im, 64, 20), RSMERR_PERM_DENIED);
    EXPECT_RC(rsm_memseg_import_lock(im, 64, -1), RSMERR_PERM_DENIED);
    EXPECT_RC(rsm_memseg_import_unlock(im, 64), RSM_SUCCESS);
    CHECK(exporter_word(0, 64) == 0);
    EXPECT_RC(rsm_memseg_import_unlock(im, 64), RSMERR_PERM_DENIED);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "trylock 0 64"), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_trylock(im, 64), RSMERR_TIMEOUT);
    EXPECT_RC(rsm_memseg_import_lock(im, 64, 50), RSMERR_TIMEOUT);
    EXPECT_RC(rsm_memseg_import_unlock(im, 64), RSMERR_PERM_DENIED);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "unlock 0 64"), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_lock(im, 64, -1), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_unlock(im, 64), RSM_SUCCESS);
    /* Words are independent locks. */
    EXPECT_RC(rsm_memseg_import_trylock(im, 72), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "trylock 0 80"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "unlock 0 80"), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_unlock(im, 72), RSM_SUCCESS);

    /* A lock whose holder died is broken by the next waiter. */
    int ready[2];
    if (pipe(ready) != 0)
        DIE("pipe");
    fflush(stdout);
    pid_t holder = fork();
    if (holder == 0) {
        rsm_memseg_import_handle_t h;
        if (rsm_memseg_import_connect(ctrl, 0, 0x400400, RSM_PERM_RDWR, &h) != 0 ||
            rsm_memseg_import_lock(h, 256, 0) != 0)
            _exit(1);
        if (write(ready[1], "L", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c = 0;
    struct pollfd rp = {ready[0], POLLIN, 0};
    CHECK(poll(&rp, 1, 10000) == 1 && read(ready[0], &c, 1) == 1 && c == 'L');
    close(ready[0]);
    EXPECT_RC(rsm_memseg_import_trylock(im, 256), RSMERR_TIMEOUT);
    kill(holder, SIGKILL);
    CHECK(wait_child(holder, 10000) != -1);
    EXPECT_RC(rsm_memseg_import_lock(im, 256, 5000), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_unlock(im, 256), RSM_SUCCESS);

    /* Mutual exclusion and atomicity across processes. */
    enum { N = 300 };
    pid_t kids[2];
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(hammer(N));
    }
    int mine = hammer(N);
    CHECK(mine == 0);
    for (int i = 0; i < 2; i++) {
        int st = wait_child(kids[i], 40000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK(exporter_word(0, 128) == 3 * N);
    CHECK(exporter_word(0, 8) == 3 * N);
    CHECK(exporter_word(0, 64) == 0);

    /* After the exporter unpublishes: RSMERR_CONN_ABORTED. */
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "unpublish 0"), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_atomic_fadd64(im, 0, 1, &old), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_import_lock(im, 64, 1000), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_import_trylock(im, 64), RSMERR_CONN_ABORTED);

    EXPECT_RC(rsm_memseg_import_disconnect(im), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(nolocks), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(ro), RSM_SUCCESS);
    CHECK(peer_stop(&peer) == 0);
    EXPECT_RC(rsm_release_controller(ctrl), RSM_SUCCESS);
    return test_summary("locks");
}
