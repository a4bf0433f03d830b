/* Model of the two barriers rsm can run when ranks share cores (docs/collectives.md §12.2):
 * four processes, ranks r and r+2 pinned to CPU r % 2 (as `rsmrun --bind-to core` places
 * them on two CPUs), shared words one cache line apart, 4 polls then sched_yield.
 *
 *   dissemination: every rank stores its round into its word, waits for all the others'
 *   flat:          ranks 1..3 store their arrival and wait for rank 0's release word; rank 0
 *                  waits for every arrival, then releases (rank 0 leaves first)
 *
 * Two loops, OSU's method (only the call timed, the average over ranks printed):
 *   barrier: barrier after barrier (osu_barrier)
 *   bcast:   rank 0 stores the iteration number, the others wait for it; then a barrier
 *            (osu_bcast of 8 bytes)
 *
 *   cc -O2 -o /tmp/oversub_barrier benches/floor/oversub_barrier.c
 *   /tmp/oversub_barrier [ITERATIONS]
 *
 * Needs at least two CPUs (CPU 0 and 1).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define P 4
#define POLLS 4
#define LINE 8 /* longs per cache line */

struct shared {
    _Atomic long arrive[P * LINE];
    _Atomic long release[LINE];
    _Atomic long data[LINE];
    double per_rank[P * LINE];
};

static struct shared *S;
static int me;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void wait_ge(_Atomic long *w, long v) {
    int n = 0;
    while (atomic_load_explicit(w, memory_order_acquire) < v) {
        if (++n > POLLS)
            sched_yield();
        else
            __builtin_ia32_pause();
    }
}

static void barrier(int flat, long s) {
    if (!flat) {
        atomic_store_explicit(&S->arrive[me * LINE], s, memory_order_release);
        for (int r = 0; r < P; r++)
            if (r != me)
                wait_ge(&S->arrive[r * LINE], s);
    } else if (me == 0) {
        for (int r = 1; r < P; r++)
            wait_ge(&S->arrive[r * LINE], s);
        atomic_store_explicit(&S->release[0], s, memory_order_release);
    } else {
        atomic_store_explicit(&S->arrive[me * LINE], s, memory_order_release);
        wait_ge(&S->release[0], s);
    }
}

/* Runs one loop in four fresh processes; returns the average over ranks of the mean time
 * per call in µs. */
static double run(int flat, int bcast_loop, long iters) {
    memset(S, 0, sizeof *S);
    int pids[P];
    for (int r = 1; r < P; r++) {
        pids[r] = fork();
        if (pids[r] == 0) {
            me = r;
            goto child;
        }
    }
    me = 0;
child:;
    cpu_set_t c;
    CPU_ZERO(&c);
    CPU_SET(me % 2, &c);
    sched_setaffinity(0, sizeof c, &c);
    long s = 1, skip = 1000;
    double total = 0;
    for (long i = 0; i < iters + skip; i++) {
        double t0 = now_us();
        if (!bcast_loop) {
            barrier(flat, s++);
        } else if (me == 0) {
            atomic_store_explicit(&S->data[0], i + 1, memory_order_release);
        } else {
            wait_ge(&S->data[0], i + 1);
        }
        double t1 = now_us();
        if (i >= skip)
            total += t1 - t0;
        if (bcast_loop)
            barrier(flat, s++);
    }
    S->per_rank[me * LINE] = total / iters;
    if (me != 0)
        _exit(0);
    for (int r = 1; r < P; r++)
        waitpid(pids[r], NULL, 0);
    double sum = 0;
    for (int r = 0; r < P; r++)
        sum += S->per_rank[r * LINE];
    /* Back on any CPU for the next run. */
    CPU_ZERO(&c);
    CPU_SET(0, &c);
    CPU_SET(1, &c);
    sched_setaffinity(0, sizeof c, &c);
    return sum / P;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 20000;
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (S == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    printf("# 4 processes on 2 CPUs, %ld iterations, average over ranks (us)\n", iters);
    printf("%-14s %10s %10s\n", "barrier", "osu_barrier", "osu_bcast");
    for (int flat = 0; flat <= 1; flat++) {
        double b = run(flat, 0, iters);
        double c = run(flat, 1, iters);
        printf("%-14s %10.2f %10.2f\n", flat ? "flat" : "dissemination", b, c);
    }
    return 0;
}
