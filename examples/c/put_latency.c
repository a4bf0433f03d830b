/*
 * put_latency.c - time of one small rsm_memseg_import_put into another
 * process's segment, through librsm.so.2 (a figure, not a benchmark suite:
 * see benches/ for those).
 *
 *   put_latency [iterations [bytes]]        default 1000000, 8
 *
 * A child process exports and publishes one page; this process connects and
 * times `iterations` puts of `bytes` bytes in implicit barrier mode (each put
 * is its own barrier span: connection check, copy, fence) and in explicit
 * mode (copy only), and as many gets.
 */

#include <rsmapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "put_latency: %s failed: error %d\n", what, rc);
    return 1;
}

/* Child: export a page, report its id, wait for the parent's signal. */
static int exporter(int fd)
{
    rsmapi_controller_handle_t c;
    rsm_memseg_export_handle_t seg;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    void *mem = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    rsm_memseg_id_t id = 0;
    int rc;
    if (mem == MAP_FAILED)
        return 1;
    if ((rc = rsm_get_controller("loopback", &c)) != RSM_SUCCESS ||
        (rc = rsm_memseg_export_create(c, &seg, mem, ps, 0)) != RSM_SUCCESS ||
        (rc = rsm_memseg_export_publish(seg, &id, NULL, 0)) != RSM_SUCCESS)
        return fail("export", rc);
    if (write(fd, &id, sizeof id) != sizeof id)
        return 1;
    if ((rc = rsm_intr_signal_wait(seg, 120000)) != RSM_SUCCESS)
        return fail("rsm_intr_signal_wait", rc);
    rsm_memseg_export_destroy(seg);
    rsm_release_controller(c);
    return 0;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    size_t bytes = argc > 2 ? (size_t)atol(argv[2]) : 8;
    if (iters <= 0 || bytes == 0 || bytes > 4096) {
        fprintf(stderr, "usage: put_latency [iterations [bytes <= 4096]]\n");
        return 2;
    }
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0)
        _exit(exporter(p[1]));
    rsm_memseg_id_t id;
    if (read(p[0], &id, sizeof id) != sizeof id) {
        fprintf(stderr, "put_latency: the exporter did not start\n");
        return 1;
    }

    rsmapi_controller_handle_t c;
    rsm_memseg_import_handle_t im;
    rsmapi_barrier_t bar;
    int rc;
    if ((rc = rsm_get_controller("loopback", &c)) != RSM_SUCCESS ||
        (rc = rsm_memseg_import_connect(c, 0, id, RSM_PERM_RDWR, &im)) != RSM_SUCCESS ||
        (rc = rsm_memseg_import_init_barrier(im, RSM_BAR_DEFAULT, &bar)) != RSM_SUCCESS)
        return fail("connect", rc);
    static unsigned char data[4096];
    memset(data, 0x5a, sizeof data);

    /* Warm-up (the first put maps the segment). */
    for (long i = 0; i < 1000; i++)
        if ((rc = rsm_memseg_import_put(im, 0, data, bytes)) != RSM_SUCCESS)
            return fail("rsm_memseg_import_put", rc);

    double t0 = now();
    for (long i = 0; i < iters; i++)
        if ((rc = rsm_memseg_import_put(im, 0, data, bytes)) != RSM_SUCCESS)
            return fail("rsm_memseg_import_put", rc);
    double implicit = (now() - t0) / (double)iters;

    t0 = now();
    for (long i = 0; i < iters; i++)
        if ((rc = rsm_memseg_import_get(im, 0, data, bytes)) != RSM_SUCCESS)
            return fail("rsm_memseg_import_get", rc);
    double get = (now() - t0) / (double)iters;

    rsm_memseg_import_set_mode(im, RSM_BARRIER_MODE_EXPLICIT);
    rsm_memseg_import_open_barrier(&bar);
    t0 = now();
    for (long i = 0; i < iters; i++)
        if ((rc = rsm_memseg_import_put(im, 0, data, bytes)) != RSM_SUCCESS)
            return fail("rsm_memseg_import_put", rc);
    double explicit_ = (now() - t0) / (double)iters;
    if ((rc = rsm_memseg_import_close_barrier(&bar)) != RSM_SUCCESS)
        return fail("rsm_memseg_import_close_barrier", rc);

    printf("put %zu B, implicit barrier mode: %.1f ns per call\n", bytes, implicit);
    printf("get %zu B, implicit barrier mode: %.1f ns per call\n", bytes, get);
    printf("put %zu B, explicit barrier mode: %.1f ns per call\n", bytes, explicit_);

    rsm_intr_signal_post(im, 0);
    rsm_memseg_import_destroy_barrier(&bar);
    rsm_memseg_import_disconnect(im);
    rsm_release_controller(c);
    int st;
    waitpid(child, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
