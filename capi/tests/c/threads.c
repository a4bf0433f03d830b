/*
 * threads.c - the library is MT-safe (SPEC.md §7): threads of one process
 * connect, transfer, signal and disconnect concurrently against a peer's
 * segment while another thread creates and destroys export segments and a
 * third keeps using handles that other threads make stale.  Every call must
 * return exactly the code its situation calls for.
 *
 * rsm-test: link timeout=60
 */

#include "rsmtest.h"

#include <pthread.h>

enum { WORKERS = 4, ROUNDS = 150 };

static rsmapi_controller_handle_t ctrl;
static size_t ps;
static int stop;
static rsm_memseg_import_handle_t stale_handles[WORKERS];

static void *worker(void *arg)
{
    long me = (long)arg;
    long bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        rsm_memseg_import_handle_t im = NULL;
        rsmapi_barrier_t bar;
        bad += rsm_memseg_import_connect(ctrl, 0, 0x400600, RSM_PERM_RDWR, &im) != 0;
        bad += rsm_memseg_import_init_barrier(im, RSM_BAR_DEFAULT, &bar) != 0;
        uint64_t v = ((uint64_t)me << 32) | (uint64_t)r, back = 0;
        off_t off = (off_t)(me * 64);
        for (int i = 0; i < 20; i++) {
            bad += rsm_memseg_import_put64(im, off, &v, 1) != 0;
            bad += rsm_memseg_import_get64(im, off, &back, 1) != 0;
            bad += back != v;
        }
        bad += rsm_memseg_import_destroy_barrier(&bar) != 0;
        bad += rsm_memseg_import_disconnect(im) != 0;
        __atomic_store_n(&stale_handles[me], im, __ATOMIC_RELEASE);
    }
    return (void *)bad;
}

static void *exporter_churn(void *arg)
{
    (void)arg;
    long bad = 0;
    unsigned char *mem = pages_alloc(1);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        rsm_memseg_export_handle_t seg = NULL;
        rsm_memseg_id_t id = 0;
        bad += rsm_memseg_export_create(ctrl, &seg, mem, ps, 0) != 0;
        bad += rsm_memseg_export_publish(seg, &id, NULL, 0) != 0;
        bad += rsm_intr_signal_post(seg, 0) != 0;
        bad += rsm_memseg_export_destroy(seg) != 0;
        bad += rsm_memseg_export_destroy(seg) != RSMERR_BAD_SEG_HNDL;
    }
    munmap(mem, ps);
    return (void *)bad;
}

static void *stale_user(void *arg)
{
    (void)arg;
    long bad = 0;
    uint64_t v = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        for (int i = 0; i < WORKERS; i++) {
            rsm_memseg_import_handle_t h =
                __atomic_load_n(&stale_handles[i], __ATOMIC_ACQUIRE);
            if (h == NULL)
                continue;
            /* Once disconnected, a handle stays stale forever. */
            bad += rsm_memseg_import_put64(h, 0, &v, 1) != RSMERR_BAD_SEG_HNDL;
            bad += rsm_intr_signal_post(h, 0) != RSMERR_BAD_SEG_HNDL;
        }
    }
    return (void *)bad;
}

int main(int argc, char **argv)
{
    RSMTEST_MAIN_PROLOGUE(argc, argv);
    ps = page_size();
    if (rsm_get_controller("loopback", &ctrl) != RSM_SUCCESS)
        DIE("no loopback controller");
    peer_t peer;
    peer_start(&peer);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "create 0 1 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 0 400600"), RSM_SUCCESS);

    pthread_t w[WORKERS], churn, user;
    for (long i = 0; i < WORKERS; i++)
        CHECK(pthread_create(&w[i], NULL, worker, (void *)i) == 0);
    CHECK(pthread_create(&churn, NULL, exporter_churn, NULL) == 0);
    CHECK(pthread_create(&user, NULL, stale_user, NULL) == 0);
    long total = 0;
    for (int i = 0; i < WORKERS; i++) {
        void *r;
        pthread_join(w[i], &r);
        total += (long)r;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    void *r1, *r2;
    pthread_join(churn, &r1);
    pthread_join(user, &r2);
    printf("threads: worker errors %ld, exporter errors %ld, stale-handle errors %ld\n",
           total, (long)r1, (long)r2);
    CHECK(total == 0 && (long)r1 == 0 && (long)r2 == 0);

    /* Each worker's last value is in the exporter's memory. */
    for (int i = 0; i < WORKERS; i++) {
        uint64_t want = ((uint64_t)i << 32) | (ROUNDS - 1), got;
        char rest[64];
        unsigned char b[8];
        EXPECT_RC(peer_cmd(&peer, rest, sizeof rest, "read 0 %d 8", i * 64), 0);
        CHECK(from_hex(b, 8, rest) == 8);
        memcpy(&got, b, 8);
        CHECK(got == want);
    }
    CHECK(peer_stop(&peer) == 0);
    EXPECT_RC(rsm_release_controller(ctrl), RSM_SUCCESS);
    return test_summary("threads");
}
