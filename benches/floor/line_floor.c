/* The hardware floor under a two-rank barrier: two processes pinned to CPUs 0 and 1 each
 * store a round number into their own cache line of a shared page and spin until the other's
 * line shows the same round. Prints the time per round without clocks in the loop, and the
 * OSU-method figure (clock_gettime around each round, only the round timed), which is what
 * osu_barrier of any library can at best report on this machine.
 *
 *   cc -O2 -o /tmp/line_floor benches/floor/line_floor.c && /tmp/line_floor [ROUNDS]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void round_trip(volatile uint64_t *mine, volatile uint64_t *peer, uint64_t i) {
    __atomic_store_n(mine, i, __ATOMIC_RELEASE);
    while (__atomic_load_n(peer, __ATOMIC_ACQUIRE) < i)
        ;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: line_floor [ROUNDS > 0]\n");
        return 2;
    }
    volatile uint64_t *m =
        mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    int me = child == 0;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(me, &s);
    if (sched_setaffinity(0, sizeof s, &s) != 0)
        perror("sched_setaffinity (continuing unpinned)");
    volatile uint64_t *mine = m + 8 * me, *peer = m + 8 * (1 - me);
    uint64_t r = 0;
    for (long i = 0; i < 1000; i++)
        round_trip(mine, peer, ++r);
    double t0 = now();
    for (long i = 0; i < n; i++)
        round_trip(mine, peer, ++r);
    double bare = (now() - t0) / n;
    double timed = 0;
    for (long i = 0; i < n; i++) {
        double a = now();
        round_trip(mine, peer, ++r);
        timed += now() - a;
    }
    if (me)
        return 0;
    int status = 0;
    waitpid(child, &status, 0);
    printf("one line each way: %.1f ns per round; OSU method (clock around each round): %.1f ns\n",
           bare * 1e9, timed / n * 1e9);
    return 0;
}
