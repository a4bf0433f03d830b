/*
 * osu_mpi.c - the MPI reference side of rsm-benches.
 *
 * One source for the nine blocking collectives (barrier, bcast, reduce, allreduce, gather,
 * scatter, allgather, alltoall, reduce_scatter) and the five one-sided benchmarks (put/get
 * latency, put/get bandwidth, put bi-directional bandwidth), compiled with each MPI's mpicc.
 * The benchmark is chosen by the program name (osu_allreduce, ...), or, when the program is
 * called osu_mpi, by its first argument (`osu_mpi allreduce -m 1:1024`).
 *
 * Method, options, output layout and validation patterns are those of the Rust module
 * `rsm_benches::osu` (benches/src/osu); the two must stay in step. They follow the OSU
 * Micro-Benchmarks 7.4 method and layout; this file shares no code with OSU.
 *
 * Method (BENCHMARKS.md):
 *  - collectives: per size, warm-up iterations then timed ones; each iteration times only the
 *    collective call (CLOCK_MONOTONIC, the clock Rust's Instant uses), then an untimed
 *    MPI_Barrier; per-rank latency = sum of timed intervals / iterations; rank 0 prints the
 *    average over ranks (and min/max with -f). reduce_scatter calls MPI_Reduce_scatter_block:
 *    the message size is the per-rank send buffer, each rank receives size/np bytes (whole
 *    elements).
 *  - one-sided (np = 2, MPI_Win_allocate): latency/bandwidth take a shared passive lock on the
 *    target once per size and time put (or get) + MPI_Win_flush per iteration (a window of
 *    -W operations per flush for bandwidth) at the origin; the target does nothing. put_bibw
 *    times post/start, a window of puts to the peer, complete/wait on both ranks. Rank 0's
 *    figure is printed.
 *  - -c: see the table in benches/src/osu/validate.rs; the first mismatch of a rank is printed
 *    on stderr, the row says Fail, the run stops and exits with status 1.
 *
 * Test hook: RSM_BENCH_INJECT_ERROR=1 corrupts one received element on rank 0 in the first
 * timed iteration of the first size (only with -c), so tests can prove failures are reported.
 */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OSU_VERSION "7.4"
#define SIZE_WIDTH 10
#define FIELD_WIDTH 18
#define ITER_WIDTH 12
#define NO_SIZE_WIDTH 17
#define PRECISION 2
#define LARGE_MESSAGE_SIZE 8192
#define DEFAULT_WINDOW 64
#define MAX_SIZE_LIMIT ((size_t)1 << 30)
#define MAX_COUNT ((size_t)1000000000)
#define BARRIER_STAGGER_NS 20000

#define MPI_CHECK(call)                                                                  \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != MPI_SUCCESS) {                                                        \
            char msg_[MPI_MAX_ERROR_STRING];                                             \
            int len_ = 0;                                                                \
            MPI_Error_string(rc_, msg_, &len_);                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, msg_); \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                \
        }                                                                                \
    } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Benchmarks                                                                                 */

enum bench {
    B_BARRIER,
    B_BCAST,
    B_REDUCE,
    B_ALLREDUCE,
    B_GATHER,
    B_SCATTER,
    B_ALLGATHER,
    B_ALLTOALL,
    B_REDUCE_SCATTER,
    B_PUT_LATENCY,
    B_GET_LATENCY,
    B_PUT_BW,
    B_GET_BW,
    B_PUT_BIBW,
    B_COUNT
};

enum cls { C_COLL, C_OS_LAT, C_OS_BW };

static const struct {
    const char *name;
    const char *title;
    enum cls cls;
} BENCH[B_COUNT] = {
    {"osu_barrier", "OSU MPI Barrier Latency Test", C_COLL},
    {"osu_bcast", "OSU MPI Broadcast Latency Test", C_COLL},
    {"osu_reduce", "OSU MPI Reduce Latency Test", C_COLL},
    {"osu_allreduce", "OSU MPI Allreduce Latency Test", C_COLL},
    {"osu_gather", "OSU MPI Gather Latency Test", C_COLL},
    {"osu_scatter", "OSU MPI Scatter Latency Test", C_COLL},
    {"osu_allgather", "OSU MPI Allgather Latency Test", C_COLL},
    {"osu_alltoall", "OSU MPI All-to-All Personalized Exchange Latency Test", C_COLL},
    {"osu_reduce_scatter", "OSU MPI Reduce_scatter Latency Test", C_COLL},
    {"osu_put_latency", "OSU MPI_Put Latency Test", C_OS_LAT},
    {"osu_get_latency", "OSU MPI_Get latency Test", C_OS_LAT},
    {"osu_put_bw", "OSU MPI_Put Bandwidth Test", C_OS_BW},
    {"osu_get_bw", "OSU MPI_Get Bandwidth Test", C_OS_BW},
    {"osu_put_bibw", "OSU MPI_Put Bi-directional Bandwidth Test", C_OS_BW},
};

static int is_coll(enum bench b) { return BENCH[b].cls == C_COLL; }
static int has_size(enum bench b) { return b != B_BARRIER; }
static int accepts_window(enum bench b) { return BENCH[b].cls == C_OS_BW; }
static int accepts_full(enum bench b) { return is_coll(b); }
static int accepts_type(enum bench b) { return has_size(b); }
static size_t default_max_size(enum bench b) { return is_coll(b) ? (size_t)1 << 20 : (size_t)1 << 22; }

static void default_loops(enum bench b, size_t *is, size_t *ws, size_t *il, size_t *wl)
{
    switch (BENCH[b].cls) {
    case C_COLL: *is = 1000; *ws = 100; *il = 100; *wl = 10; break;
    case C_OS_LAT: *is = 10000; *ws = 100; *il = 1000; *wl = 10; break;
    case C_OS_BW: *is = 100; *ws = 10; *il = 20; *wl = 2; break;
    }
}

static int bench_from_name(const char *name, enum bench *out)
{
    const char *shortname = strncmp(name, "osu_", 4) == 0 ? name + 4 : name;
    for (int b = 0; b < B_COUNT; b++) {
        if (strcmp(BENCH[b].name + 4, shortname) == 0) {
            *out = (enum bench)b;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Element types and validation patterns (benches/src/osu/validate.rs)                        */

enum dtype { T_CHAR, T_INT, T_FLOAT };
static const char *const DTYPE_NAME[3] = {"MPI_CHAR", "MPI_INT", "MPI_FLOAT"};
static size_t dtype_size(enum dtype t) { return t == T_CHAR ? 1 : 4; }
static MPI_Datatype dtype_mpi(enum dtype t)
{
    return t == T_CHAR ? MPI_CHAR : (t == T_INT ? MPI_INT : MPI_FLOAT);
}

static uint64_t data_value(uint64_t src, uint64_t dst, uint64_t iter, uint64_t idx)
{
    return (src + 1) * 1000003u + (dst + 1) * 10007u + (iter + 1) * 101u + idx;
}

static uint64_t reduce_value(uint64_t rank, uint64_t iter, uint64_t idx)
{
    return ((idx % 100) + 1) * ((iter % 1000) + 1) + rank;
}

/* One element, as the Rust `Elem`. */
struct elem {
    enum dtype t;
    int8_t c;
    int32_t i;
    float f;
};

static struct elem encode(enum dtype t, uint64_t v)
{
    struct elem e = {t, 0, 0, 0.0f};
    switch (t) {
    case T_CHAR: e.c = (int8_t)(uint8_t)((v * 7u) & 0xffu); break;
    case T_INT: e.i = (int32_t)(uint32_t)((v * 10u) & 0xffffffffu); break;
    case T_FLOAT: e.f = (float)(v % ((uint64_t)1 << 20)) * 2.0f; break;
    }
    return e;
}

/* Reduction inputs: the sum over nranks ranks never overflows the type. */
static struct elem encode_reduce(enum dtype t, uint64_t v, int nranks)
{
    struct elem e = encode(t, v);
    if (t == T_CHAR) {
        uint64_t cap = (uint64_t)(127 / (nranks > 0 ? nranks : 1));
        e.c = (int8_t)(v % (cap + 1));
    }
    return e;
}

static struct elem elem_zero(enum dtype t)
{
    struct elem e = {t, 0, 0, 0.0f};
    return e;
}

static struct elem elem_sum(struct elem a, struct elem b)
{
    struct elem r = a;
    switch (a.t) {
    case T_CHAR: r.c = (int8_t)(uint8_t)((uint8_t)a.c + (uint8_t)b.c); break;
    case T_INT: r.i = (int32_t)((uint32_t)a.i + (uint32_t)b.i); break;
    case T_FLOAT: r.f = a.f + b.f; break;
    }
    return r;
}

static struct elem elem_read(enum dtype t, const unsigned char *buf, size_t k)
{
    struct elem e = {t, 0, 0, 0.0f};
    switch (t) {
    case T_CHAR: e.c = (int8_t)buf[k]; break;
    case T_INT: memcpy(&e.i, buf + 4 * k, 4); break;
    case T_FLOAT: memcpy(&e.f, buf + 4 * k, 4); break;
    }
    return e;
}

static void elem_write(struct elem e, unsigned char *buf, size_t k)
{
    switch (e.t) {
    case T_CHAR: buf[k] = (unsigned char)e.c; break;
    case T_INT: memcpy(buf + 4 * k, &e.i, 4); break;
    case T_FLOAT: memcpy(buf + 4 * k, &e.f, 4); break;
    }
}

static int elem_matches(struct elem got, struct elem want)
{
    switch (want.t) {
    case T_CHAR: return got.c == want.c;
    case T_INT: return got.i == want.i;
    case T_FLOAT: {
        float d = got.f - want.f, a = want.f < 0 ? -want.f : want.f;
        if (d < 0) d = -d;
        return d <= 1e-5f * (a > 1.0f ? a : 1.0f);
    }
    }
    return 0;
}

static void elem_format(struct elem e, char *out, size_t n)
{
    switch (e.t) {
    case T_CHAR: snprintf(out, n, "%d", (int)e.c); break;
    case T_INT: snprintf(out, n, "%d", (int)e.i); break;
    case T_FLOAT: snprintf(out, n, "%.3f", (double)e.f); break;
    }
}

struct mismatch {
    size_t index;
    struct elem expected, actual;
};

static void fill_data(unsigned char *buf, size_t nelem, enum dtype t, uint64_t src, uint64_t dst,
                      uint64_t iter)
{
    for (size_t k = 0; k < nelem; k++) elem_write(encode(t, data_value(src, dst, iter, k)), buf, k);
}

static int check_data(const unsigned char *buf, size_t nelem, enum dtype t, uint64_t src,
                      uint64_t dst, uint64_t iter, struct mismatch *m)
{
    for (size_t k = 0; k < nelem; k++) {
        struct elem want = encode(t, data_value(src, dst, iter, k));
        struct elem got = elem_read(t, buf, k);
        if (!elem_matches(got, want)) {
            m->index = k;
            m->expected = want;
            m->actual = got;
            return 0;
        }
    }
    return 1;
}

static void fill_reduce(unsigned char *buf, size_t nelem, enum dtype t, uint64_t rank, int nranks,
                        uint64_t iter, uint64_t first)
{
    for (size_t k = 0; k < nelem; k++)
        elem_write(encode_reduce(t, reduce_value(rank, iter, first + k), nranks), buf, k);
}

static int check_reduce(const unsigned char *buf, size_t nelem, enum dtype t, int nranks,
                        uint64_t iter, uint64_t first, struct mismatch *m)
{
    for (size_t k = 0; k < nelem; k++) {
        struct elem want = elem_zero(t);
        for (int r = 0; r < nranks; r++)
            want = elem_sum(want, encode_reduce(t, reduce_value((uint64_t)r, iter, first + k), nranks));
        struct elem got = elem_read(t, buf, k);
        if (!elem_matches(got, want)) {
            m->index = k;
            m->expected = want;
            m->actual = got;
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Options (benches/src/osu/options.rs)                                                       */

struct options {
    enum bench b;
    size_t min_size, max_size;
    size_t iters, iters_large, warm, warm_large;
    int full, validate;
    enum dtype types[3];
    int ntypes;
    size_t window;
};

enum opt_id { O_M, O_I, O_X, O_W, O_F, O_C, O_T, O_H };

static const struct {
    enum opt_id id;
    char s;
    const char *l;
    int takes;
} OPTS[] = {
    {O_M, 'm', "message-size", 1}, {O_I, 'i', "iterations", 1}, {O_X, 'x', "warmup", 1},
    {O_W, 'W', "window-size", 1},  {O_F, 'f', "full", 0},       {O_C, 'c', "validation", 0},
    {O_T, 'T', "type", 1},         {O_H, 'h', "help", 0},
};
#define NOPTS ((int)(sizeof OPTS / sizeof OPTS[0]))

static int accepted(enum bench b, enum opt_id id)
{
    switch (id) {
    case O_M:
    case O_T: return has_size(b);
    case O_W: return accepts_window(b);
    case O_F: return accepts_full(b);
    default: return 1;
    }
}

struct usage_error {
    const char *message;
    char *option; /* as written, malloc'd */
    char *value;  /* malloc'd or NULL */
};

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *dup_s(const char *s) { return dup_n(s, strlen(s)); }

static int set_error(struct usage_error *e, const char *message, char *option, const char *value)
{
    e->message = message;
    e->option = option;
    e->value = value ? dup_s(value) : NULL;
    return -1;
}

/* Decimal digits only, at most max. */
static int parse_count(const char *s, size_t max, size_t *out)
{
    if (!*s) return 0;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        size_t d = (size_t)(*p - '0');
        if (v > (max - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int apply_message_size(struct options *o, const char *arg)
{
    const char *colon = strchr(arg, ':');
    char *min_s = NULL, *max_s = NULL;
    int ok = 0;
    size_t lo = o->min_size, hi = o->max_size, v;
    if (!colon) {
        max_s = dup_s(arg);
    } else {
        if (strchr(colon + 1, ':')) return 0;
        if (colon != arg) min_s = dup_n(arg, (size_t)(colon - arg));
        if (colon[1]) max_s = dup_s(colon + 1);
    }
    if (!min_s && !max_s) goto out;
    if (min_s) {
        if (!parse_count(min_s, MAX_SIZE_LIMIT, &v) || v < 1) goto out;
        lo = v;
    }
    if (max_s) {
        if (!parse_count(max_s, MAX_SIZE_LIMIT, &v) || v < 1) goto out;
        hi = v;
    }
    if (lo > hi) goto out;
    o->min_size = lo;
    o->max_size = hi;
    ok = 1;
out:
    free(min_s);
    free(max_s);
    return ok;
}

static int lower_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return 0;
    }
    return *a == *b;
}

static int lower_prefix(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        char x = *s;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (x != *prefix) return 0;
    }
    return 1;
}

static int parse_dtype(const char *s, enum dtype *t)
{
    const char *p = lower_prefix(s, "mpi_") ? s + 4 : s;
    if (lower_eq(p, "char")) *t = T_CHAR;
    else if (lower_eq(p, "int")) *t = T_INT;
    else if (lower_eq(p, "float")) *t = T_FLOAT;
    else return 0;
    return 1;
}

/* Returns 1 for help, 0 otherwise, -1 on error. option is consumed (stored in e or freed). */
static int apply(struct options *o, enum opt_id id, char *option, const char *value,
                 struct usage_error *e)
{
    size_t n;
    const char *v = value ? value : "";
    switch (id) {
    case O_H: free(option); return 1;
    case O_F: o->full = 1; break;
    case O_C: o->validate = 1; break;
    case O_M:
        if (!apply_message_size(o, v)) return set_error(e, "Invalid Message Size", option, value);
        break;
    case O_I:
        if (!parse_count(v, MAX_COUNT, &n) || n < 1)
            return set_error(e, "Invalid Number of Iterations", option, value);
        o->iters = o->iters_large = n;
        break;
    case O_X:
        if (!parse_count(v, MAX_COUNT, &n))
            return set_error(e, "Invalid Number of Warmup Iterations", option, value);
        o->warm = o->warm_large = n;
        break;
    case O_W:
        if (!parse_count(v, MAX_COUNT, &n) || n < 1)
            return set_error(e, "Invalid Window Size", option, value);
        o->window = n;
        break;
    case O_T: {
        enum dtype add[3];
        int nadd = 0;
        if (lower_eq(v, "all")) {
            add[0] = T_CHAR;
            add[1] = T_INT;
            add[2] = T_FLOAT;
            nadd = 3;
        } else if (parse_dtype(v, &add[0])) {
            nadd = 1;
        } else {
            return set_error(e, "Invalid Datatype", option, value);
        }
        if (!is_coll(o->b)) {
            for (int k = 0; k < nadd; k++)
                if (add[k] != T_CHAR)
                    return set_error(e, "Benchmark Supports Only MPI_CHAR", option, value);
        }
        for (int k = 0; k < nadd; k++) {
            int seen = 0;
            for (int j = 0; j < o->ntypes; j++) seen |= o->types[j] == add[k];
            if (!seen) o->types[o->ntypes++] = add[k];
        }
        break;
    }
    }
    free(option);
    return 0;
}

static void options_default(struct options *o, enum bench b)
{
    memset(o, 0, sizeof *o);
    o->b = b;
    o->min_size = 1;
    o->max_size = default_max_size(b);
    default_loops(b, &o->iters, &o->warm, &o->iters_large, &o->warm_large);
    o->types[0] = T_CHAR;
    o->ntypes = 1;
    o->window = DEFAULT_WINDOW;
}

/* 0: run, 1: help, -1: usage error in *e. */
static int parse_args(enum bench b, int argc, char **argv, struct options *o,
                      struct usage_error *e)
{
    int help = 0, types_given = 0, i = 0;
    options_default(o, b);
    while (i < argc) {
        const char *arg = argv[i++];
        if (strcmp(arg, "--") == 0) {
            if (i < argc) return set_error(e, "Unexpected Argument", dup_s(argv[i]), NULL);
            break;
        }
        if (strncmp(arg, "--", 2) == 0) {
            const char *name = arg + 2, *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            char *written = dup_n(arg, nlen + 2);
            int k;
            for (k = 0; k < NOPTS; k++)
                if (strlen(OPTS[k].l) == nlen && strncmp(OPTS[k].l, name, nlen) == 0 &&
                    accepted(b, OPTS[k].id))
                    break;
            if (k == NOPTS) return set_error(e, "Invalid Option", written, NULL);
            const char *value = NULL;
            if (OPTS[k].takes) {
                if (eq) value = eq + 1;
                else if (i < argc) value = argv[i++];
                else return set_error(e, "Option Missing Required Argument", written, NULL);
            } else if (eq) {
                return set_error(e, "Option Takes No Argument", written, eq + 1);
            }
            if (OPTS[k].id == O_T && !types_given) {
                o->ntypes = 0;
                types_given = 1;
            }
            int r = apply(o, OPTS[k].id, written, value, e);
            if (r < 0) return r;
            help |= r;
            continue;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            return set_error(e, "Unexpected Argument", dup_s(arg), NULL);
        for (const char *c = arg + 1; *c;) {
            char ch = *c++;
            char tmp[3] = {'-', ch, '\0'};
            char *written = dup_s(tmp);
            int k;
            for (k = 0; k < NOPTS; k++)
                if (OPTS[k].s == ch && accepted(b, OPTS[k].id)) break;
            if (k == NOPTS) return set_error(e, "Invalid Option", written, NULL);
            const char *value = NULL;
            if (OPTS[k].takes) {
                if (*c) {
                    value = c;
                    c += strlen(c);
                } else if (i < argc) {
                    value = argv[i++];
                } else {
                    return set_error(e, "Option Missing Required Argument", written, NULL);
                }
            }
            if (OPTS[k].id == O_T && !types_given) {
                o->ntypes = 0;
                types_given = 1;
            }
            int r = apply(o, OPTS[k].id, written, value, e);
            if (r < 0) return r;
            help |= r;
        }
    }
    return help ? 1 : 0;
}

static void print_usage_error(const struct usage_error *e)
{
    if (e->value) fprintf(stderr, "%s [%s %s]\n\n", e->message, e->option, e->value);
    else fprintf(stderr, "%s [%s]\n\n", e->message, e->option);
    fflush(stderr);
}

static void opt_line(const char *opt, const char *text)
{
    printf("  %-26s  %s\n", opt, text);
}

static void print_help(enum bench b)
{
    const char *cont = "                              "; /* 30 spaces */
    size_t is, ws, il, wl;
    default_loops(b, &is, &ws, &il, &wl);
    printf("Usage: %s [options]\nOptions:\n", BENCH[b].name);
    if (has_size(b)) {
        opt_line("-m, --message-size [MIN:]MAX",
                 "set the minimum and/or the maximum message size to MIN and/or MAX");
        printf("%sbytes respectively (default 1:%zu). Examples:\n", cont, default_max_size(b));
        printf("%s-m 128      // min = default, max = 128\n", cont);
        printf("%s-m 2:128    // min = 2, max = 128\n", cont);
        printf("%s-m 2:       // min = 2, max = default\n", cont);
        printf("  %-26s  set iterations per message size to ITER (default %zu for small\n",
               "-i, --iterations ITER", is);
        printf("%smessages, %zu for large messages)\n", cont, il);
        printf("  %-26s  set number of warmup iterations to skip before timing (default %zu\n",
               "-x, --warmup ITER", ws);
        printf("%sfor small messages, %zu for large messages)\n", cont, wl);
    } else {
        printf("  %-26s  set number of iterations to ITER (default %zu)\n", "-i, --iterations ITER",
               is);
        printf("  %-26s  set number of warmup iterations to skip before timing (default %zu)\n",
               "-x, --warmup ITER", ws);
    }
    if (accepts_window(b))
        printf("  %-26s  set number of messages to send before synchronization (default %d)\n",
               "-W, --window-size SIZE", DEFAULT_WINDOW);
    if (accepts_full(b)) {
        opt_line("-f, --full", "print full format listing (MIN/MAX latency and ITERATIONS");
        printf("%sdisplayed in addition to AVERAGE latency)\n", cont);
    }
    opt_line("-c, --validation", "validate every result; a failure prints Fail and exits with status 1");
    if (accepts_type(b)) {
        if (is_coll(b))
            opt_line("-T, --type TYPE",
                     "element type: mpi_char, mpi_int, mpi_float or all (default mpi_char)");
        else
            opt_line("-T, --type TYPE", "element type: mpi_char only (default mpi_char)");
    }
    opt_line("-h, --help", "print this help");
    fflush(stdout);
}

static size_t iters_for(const struct options *o, size_t size)
{
    return size > LARGE_MESSAGE_SIZE ? o->iters_large : o->iters;
}

static size_t warm_for(const struct options *o, size_t size)
{
    return size > LARGE_MESSAGE_SIZE ? o->warm_large : o->warm;
}

/* ------------------------------------------------------------------------------------------ */
/* Output (benches/src/osu/format.rs)                                                         */

static void print_title(enum bench b, const char *library)
{
    printf("%s# %s v%s\n", is_coll(b) ? "\n" : "", BENCH[b].title, OSU_VERSION);
    printf("# Library: %s\n", library);
    fflush(stdout);
}

static void print_column_header(const struct options *o)
{
    switch (BENCH[o->b].cls) {
    case C_COLL:
        if (has_size(o->b)) printf("%-*s%*s", SIZE_WIDTH, "# Size", FIELD_WIDTH, "Avg Latency(us)");
        else printf("# Avg Latency(us)");
        if (o->full)
            printf("%*s%*s%*s", FIELD_WIDTH, "Min Latency(us)", FIELD_WIDTH, "Max Latency(us)",
                   ITER_WIDTH, "Iterations");
        break;
    case C_OS_LAT: printf("%-*s%*s", SIZE_WIDTH, "# Size", FIELD_WIDTH, "Latency (us)"); break;
    case C_OS_BW: printf("%-*s%*s", SIZE_WIDTH, "# Size", FIELD_WIDTH, "Bandwidth (MB/s)"); break;
    }
    if (o->validate) printf("%*s", FIELD_WIDTH, "Validation");
    printf("\n");
    fflush(stdout);
}

static void print_row(const struct options *o, size_t size, double value, double min, double max,
                      size_t iterations, int validation /* -1: none, 1 pass, 0 fail */)
{
    if (has_size(o->b)) printf("%-*zu%*.*f", SIZE_WIDTH, size, FIELD_WIDTH, PRECISION, value);
    else printf("%*.*f", NO_SIZE_WIDTH, PRECISION, value);
    if (o->full && accepts_full(o->b))
        printf("%*.*f%*.*f%*zu", FIELD_WIDTH, PRECISION, min, FIELD_WIDTH, PRECISION, max,
               ITER_WIDTH, iterations);
    if (validation >= 0) printf("%*s", FIELD_WIDTH, validation ? "Pass" : "Fail");
    printf("\n");
    fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void spin_ns(int64_t ns)
{
    int64_t end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

static void *alloc_buffer(size_t len, int rank)
{
    void *p = NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t n = len ? (len + page - 1) / page * page : page;
    if (posix_memalign(&p, page, n) != 0) {
        fprintf(stderr, "[rank %d] could not allocate %zu bytes\n", rank, n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(p, 0, n);
    return p;
}

static int inject_error(void)
{
    const char *v = getenv("RSM_BENCH_INJECT_ERROR");
    return v && *v && strcmp(v, "0") != 0;
}

static void library_name(char *out, size_t n)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    if (strncmp(v, "Open MPI v", 10) == 0) {
        snprintf(out, n, "Open MPI %.*s", (int)strcspn(v + 10, ","), v + 10);
    } else if (strncmp(v, "MPICH Version:", 14) == 0) {
        const char *p = v + 14, *dev = strstr(v, "MPICH Device:");
        while (*p == ' ' || *p == '\t') p++;
        if (dev) {
            dev += 13;
            while (*dev == ' ' || *dev == '\t') dev++;
            snprintf(out, n, "MPICH %.*s (%.*s)", (int)strcspn(p, " \t\n"), p,
                     (int)strcspn(dev, " \t\n"), dev);
        } else {
            snprintf(out, n, "MPICH %.*s", (int)strcspn(p, " \t\n"), p);
        }
    } else {
        snprintf(out, n, "%.*s", (int)strcspn(v, "\n"), v);
    }
}

static void report_mismatch(int rank, enum bench b, size_t size, enum dtype t, size_t iter,
                            long block, const struct mismatch *m)
{
    char want[32], got[32];
    elem_format(m->expected, want, sizeof want);
    elem_format(m->actual, got, sizeof got);
    if (block >= 0)
        fprintf(stderr,
                "[rank %d] %s: validation failed at size %zu (%s), iteration %zu: block %ld, "
                "element %zu: expected %s, got %s\n",
                rank, BENCH[b].name, size, DTYPE_NAME[t], iter, block, m->index, want, got);
    else
        fprintf(stderr,
                "[rank %d] %s: validation failed at size %zu (%s), iteration %zu: element %zu: "
                "expected %s, got %s\n",
                rank, BENCH[b].name, size, DTYPE_NAME[t], iter, m->index, want, got);
    fflush(stderr);
}

/* ------------------------------------------------------------------------------------------ */
/* Collectives                                                                                */

struct coll {
    size_t count, send, recv; /* elements per call argument; buffer bytes */
};

static int coll_buffers(enum bench b, size_t size, enum dtype t, int np, struct coll *c)
{
    size_t ts = dtype_size(t), n = size / ts, P = (size_t)np;
    switch (b) {
    case B_BARRIER: c->count = 0; c->send = 0; c->recv = 0; return 1;
    case B_BCAST: c->count = n; c->send = 0; c->recv = n * ts; break;
    case B_REDUCE:
    case B_ALLREDUCE: c->count = n; c->send = n * ts; c->recv = n * ts; break;
    case B_GATHER:
    case B_ALLGATHER: c->count = n; c->send = n * ts; c->recv = n * ts * P; break;
    case B_SCATTER: c->count = n; c->send = n * ts * P; c->recv = n * ts; break;
    case B_ALLTOALL: c->count = n; c->send = n * ts * P; c->recv = n * ts * P; break;
    case B_REDUCE_SCATTER: c->count = n / P; c->send = c->count * P * ts; c->recv = c->count * ts; break;
    default: return 0;
    }
    return c->count > 0;
}

static void coll_prepare(enum bench b, enum dtype t, const struct coll *c, int rank, int np,
                         uint64_t iter, unsigned char *send, unsigned char *recv)
{
    size_t block = c->count * dtype_size(t);
    memset(recv, 0, c->recv);
    switch (b) {
    case B_BCAST:
        if (rank == 0) fill_data(recv, c->count, t, 0, 0, iter);
        break;
    case B_REDUCE:
    case B_ALLREDUCE:
    case B_REDUCE_SCATTER: fill_reduce(send, c->send / dtype_size(t), t, (uint64_t)rank, np, iter, 0); break;
    case B_GATHER:
    case B_ALLGATHER: fill_data(send, c->count, t, (uint64_t)rank, 0, iter); break;
    case B_SCATTER:
        if (rank == 0)
            for (int d = 0; d < np; d++) fill_data(send + (size_t)d * block, c->count, t, 0, (uint64_t)d, iter);
        break;
    case B_ALLTOALL:
        for (int d = 0; d < np; d++)
            fill_data(send + (size_t)d * block, c->count, t, (uint64_t)rank, (uint64_t)d, iter);
        break;
    default: break;
    }
}

/* 1 if fine; 0 with *m and *block set. */
static int coll_check(enum bench b, enum dtype t, const struct coll *c, int rank, int np,
                      uint64_t iter, const unsigned char *recv, struct mismatch *m, long *block)
{
    size_t bl = c->count * dtype_size(t);
    *block = -1;
    switch (b) {
    case B_BCAST: return check_data(recv, c->count, t, 0, 0, iter, m);
    case B_REDUCE:
        if (rank != 0) return 1;
        /* fall through */
    case B_ALLREDUCE: return check_reduce(recv, c->count, t, np, iter, 0, m);
    case B_REDUCE_SCATTER:
        return check_reduce(recv, c->count, t, np, iter, (uint64_t)rank * c->count, m);
    case B_GATHER:
        if (rank != 0) return 1;
        /* fall through */
    case B_ALLGATHER:
    case B_ALLTOALL:
        for (int s = 0; s < np; s++) {
            uint64_t dst = b == B_ALLTOALL ? (uint64_t)rank : 0;
            if (!check_data(recv + (size_t)s * bl, c->count, t, (uint64_t)s, dst, iter, m)) {
                *block = s;
                return 0;
            }
        }
        return 1;
    case B_SCATTER: return check_data(recv, c->count, t, 0, (uint64_t)rank, iter, m);
    default: return 1;
    }
}

static void coll_call(enum bench b, enum dtype t, const struct coll *c, unsigned char *send,
                      unsigned char *recv)
{
    MPI_Datatype dt = dtype_mpi(t);
    int n = (int)c->count;
    switch (b) {
    case B_BARRIER: MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); break;
    case B_BCAST: MPI_CHECK(MPI_Bcast(recv, n, dt, 0, MPI_COMM_WORLD)); break;
    case B_REDUCE: MPI_CHECK(MPI_Reduce(send, recv, n, dt, MPI_SUM, 0, MPI_COMM_WORLD)); break;
    case B_ALLREDUCE: MPI_CHECK(MPI_Allreduce(send, recv, n, dt, MPI_SUM, MPI_COMM_WORLD)); break;
    case B_GATHER: MPI_CHECK(MPI_Gather(send, n, dt, recv, n, dt, 0, MPI_COMM_WORLD)); break;
    case B_SCATTER: MPI_CHECK(MPI_Scatter(send, n, dt, recv, n, dt, 0, MPI_COMM_WORLD)); break;
    case B_ALLGATHER: MPI_CHECK(MPI_Allgather(send, n, dt, recv, n, dt, MPI_COMM_WORLD)); break;
    case B_ALLTOALL: MPI_CHECK(MPI_Alltoall(send, n, dt, recv, n, dt, MPI_COMM_WORLD)); break;
    case B_REDUCE_SCATTER:
        MPI_CHECK(MPI_Reduce_scatter_block(send, recv, n, dt, MPI_SUM, MPI_COMM_WORLD));
        break;
    default: break;
    }
}

/* Are all ranks on this host? (barrier validation compares clocks) */
static int all_on_one_host(int rank, int np)
{
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0, same = 1;
    MPI_CHECK(MPI_Get_processor_name(name, &len));
    char *all = rank == 0 ? alloc_buffer((size_t)np * MPI_MAX_PROCESSOR_NAME, rank) : NULL;
    MPI_CHECK(MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME,
                         MPI_CHAR, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        for (int r = 1; r < np; r++)
            same &= strncmp(all, all + (size_t)r * MPI_MAX_PROCESSOR_NAME, MPI_MAX_PROCESSOR_NAME) == 0;
        free(all);
    }
    MPI_CHECK(MPI_Bcast(&same, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return same;
}

/* Returns 0 on success, 1 on validation failure (*fail_size set). */
static int run_collective(const struct options *o, int rank, int np, const char *library,
                          size_t *fail_size)
{
    enum bench b = o->b;
    size_t cap = has_size(b) ? o->max_size * (size_t)np : 1;
    unsigned char *send = alloc_buffer(cap, rank), *recv = alloc_buffer(cap, rank);
    memset(send, 1, cap);
    int inject = o->validate && inject_error(), failed = 0;

    if (b == B_BARRIER && o->validate && !all_on_one_host(rank, np)) {
        if (rank == 0)
            fprintf(stderr, "osu_barrier: -c compares clocks and needs all ranks on one host\n");
        free(send);
        free(recv);
        *fail_size = 0;
        return 1;
    }
    if (rank == 0) print_title(b, library);

    for (int ti = 0; ti < o->ntypes && !failed; ti++) {
        enum dtype t = o->types[ti];
        if (rank == 0) {
            if (has_size(b)) printf("# Datatype: %s.\n", DTYPE_NAME[t]);
            print_column_header(o);
        }
        for (size_t size = has_size(b) ? o->min_size : 0; size <= (has_size(b) ? o->max_size : 0);
             size = size * 2) {
            struct coll c;
            int ok = coll_buffers(b, size, t, np, &c);
            if (ok) {
                size_t iters = iters_for(o, size), warm = warm_for(o, size), total = iters + warm;
                int64_t timed = 0, *enter = NULL, *leave = NULL;
                int local_errors = 0, errors = 0;
                if (b == B_BARRIER && o->validate) {
                    enter = alloc_buffer(total * sizeof *enter, rank);
                    leave = alloc_buffer(total * sizeof *leave, rank);
                }
                MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
                for (size_t i = 0; i < total; i++) {
                    if (o->validate) {
                        coll_prepare(b, t, &c, rank, np, i, send, recv);
                        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
                        if (b == B_BARRIER && (size_t)rank == i % (size_t)np) spin_ns(BARRIER_STAGGER_NS);
                    }
                    int64_t t0 = now_ns();
                    coll_call(b, t, &c, send, recv);
                    int64_t t1 = now_ns();
                    if (b != B_BARRIER || o->validate) MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
                    if (o->validate) {
                        int corrupt = inject && rank == 0 && i == warm;
                        if (b == B_BARRIER) {
                            enter[i] = t0;
                            leave[i] = corrupt ? t0 - 1 : t1;
                        } else if (!local_errors) {
                            struct mismatch m;
                            long block;
                            if (corrupt) recv[dtype_size(t) - 1] ^= 0x40;
                            if (!coll_check(b, t, &c, rank, np, i, recv, &m, &block)) {
                                report_mismatch(rank, b, size, t, i, block, &m);
                                local_errors = 1;
                            }
                        }
                    }
                    if (i >= warm) timed += t1 - t0;
                }
                if (b == B_BARRIER && o->validate) {
                    int64_t *all_e = rank == 0 ? alloc_buffer((size_t)np * total * sizeof(int64_t), rank) : NULL;
                    int64_t *all_l = rank == 0 ? alloc_buffer((size_t)np * total * sizeof(int64_t), rank) : NULL;
                    MPI_CHECK(MPI_Gather(enter, (int)total, MPI_INT64_T, all_e, (int)total, MPI_INT64_T, 0,
                                         MPI_COMM_WORLD));
                    MPI_CHECK(MPI_Gather(leave, (int)total, MPI_INT64_T, all_l, (int)total, MPI_INT64_T, 0,
                                         MPI_COMM_WORLD));
                    if (rank == 0) {
                        for (size_t i = 0; i < total && !local_errors; i++) {
                            int late = 0, early = 0;
                            for (int r = 1; r < np; r++) {
                                if (all_e[(size_t)r * total + i] > all_e[(size_t)late * total + i]) late = r;
                                if (all_l[(size_t)r * total + i] < all_l[(size_t)early * total + i]) early = r;
                            }
                            if (all_l[(size_t)early * total + i] < all_e[(size_t)late * total + i]) {
                                fprintf(stderr,
                                        "[rank 0] osu_barrier: validation failed: iteration %zu: rank %d "
                                        "left the barrier before rank %d entered it\n",
                                        i, early, late);
                                local_errors = 1;
                            }
                        }
                        free(all_e);
                        free(all_l);
                    }
                    free(enter);
                    free(leave);
                }
                MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
                double lat = (double)timed / 1e3 / (double)iters, sum = 0, mn = 0, mx = 0;
                MPI_CHECK(MPI_Reduce(&lat, &mn, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD));
                MPI_CHECK(MPI_Reduce(&lat, &mx, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD));
                MPI_CHECK(MPI_Reduce(&lat, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD));
                if (o->validate)
                    MPI_CHECK(MPI_Allreduce(&local_errors, &errors, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
                if (rank == 0)
                    print_row(o, size, sum / np, mn, mx, iters, o->validate ? errors == 0 : -1);
                if (errors) {
                    failed = 1;
                    *fail_size = size;
                    break;
                }
                inject = 0; /* only the first size */
            }
            if (!has_size(b)) break;
            if (size > o->max_size / 2) break;
        }
    }
    free(send);
    free(recv);
    return failed;
}

/* ------------------------------------------------------------------------------------------ */
/* One-sided                                                                                  */

static int run_one_sided(const struct options *o, int rank, const char *library, size_t *fail_size)
{
    enum bench b = o->b;
    int peer = 1 - rank, failed = 0;
    int is_put = b == B_PUT_LATENCY || b == B_PUT_BW || b == B_PUT_BIBW;
    int inject = o->validate && inject_error();
    size_t W = accepts_window(b) ? o->window : 1;
    MPI_Group world_group, peer_group;
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &world_group));
    MPI_CHECK(MPI_Group_incl(world_group, 1, &peer, &peer_group));

    if (rank == 0) {
        print_title(b, library);
        printf("# Window creation: MPI_Win_allocate\n");
        printf("# Synchronization: %s\n",
               b == B_PUT_BIBW ? "MPI_Win_post/start/complete/wait" : "MPI_Win_flush");
        printf("# Datatype: MPI_CHAR.\n");
        print_column_header(o);
    }
    for (size_t size = o->min_size; size <= o->max_size; size *= 2) {
        if (W > MAX_SIZE_LIMIT / size) {
            if (rank == 0) fprintf(stderr, "%s: size %zu x window %zu is too large\n", BENCH[b].name, size, W);
            failed = 1;
            *fail_size = size;
            break;
        }
        size_t region = size * W, iters = iters_for(o, size), warm = warm_for(o, size);
        size_t total = iters + warm;
        unsigned char *base = NULL, *local = alloc_buffer(region, rank);
        unsigned char *chk = o->validate ? alloc_buffer(region, rank) : NULL;
        MPI_Win win;
        int64_t timed = 0;
        int local_errors = 0, errors = 0;
        struct mismatch m;
        memset(local, 'a', region);
        /* At least a page: MPICH 4.0.2 (ch4, Debian 12) puts data aimed at rank 1 into rank 0's
         * memory when windows from MPI_Win_allocate are smaller than 16 bytes (found by -c).
         * The operations still move exactly `size` bytes. */
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        MPI_CHECK(MPI_Win_allocate((MPI_Aint)(region > page ? region : page), 1, MPI_INFO_NULL,
                                   MPI_COMM_WORLD, &base, &win));
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, win));
        if (!is_put && o->validate && rank == 1) fill_data(base, region, T_CHAR, 1, 0, 0);
        else memset(base, 0, region);
        MPI_CHECK(MPI_Win_unlock(rank, win));
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

        if (b == B_PUT_BIBW) {
            for (size_t i = 0; i < total; i++) {
                if (o->validate) fill_data(local, region, T_CHAR, (uint64_t)rank, (uint64_t)peer, i);
                int64_t t0 = now_ns();
                MPI_CHECK(MPI_Win_post(peer_group, 0, win));
                MPI_CHECK(MPI_Win_start(peer_group, 0, win));
                for (size_t j = 0; j < W; j++)
                    MPI_CHECK(MPI_Put(local + j * size, (int)size, MPI_CHAR, peer, (MPI_Aint)(j * size),
                                      (int)size, MPI_CHAR, win));
                MPI_CHECK(MPI_Win_complete(win));
                MPI_CHECK(MPI_Win_wait(win));
                int64_t t1 = now_ns();
                if (o->validate && !local_errors) {
                    if (inject && rank == 0 && i == warm) base[0] ^= 0x40;
                    if (!check_data(base, region, T_CHAR, (uint64_t)peer, (uint64_t)rank, i, &m)) {
                        report_mismatch(rank, b, size, T_CHAR, i, -1, &m);
                        local_errors = 1;
                    }
                }
                if (i >= warm) timed += t1 - t0;
            }
        } else if (rank == 0) {
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win));
            for (size_t i = 0; i < total; i++) {
                if (o->validate) {
                    if (is_put) fill_data(local, region, T_CHAR, 0, 1, i);
                    else memset(local, 0, region);
                }
                int64_t t0 = now_ns();
                for (size_t j = 0; j < W; j++) {
                    if (is_put)
                        MPI_CHECK(MPI_Put(local + j * size, (int)size, MPI_CHAR, 1, (MPI_Aint)(j * size),
                                          (int)size, MPI_CHAR, win));
                    else
                        MPI_CHECK(MPI_Get(local + j * size, (int)size, MPI_CHAR, 1, (MPI_Aint)(j * size),
                                          (int)size, MPI_CHAR, win));
                }
                MPI_CHECK(MPI_Win_flush(1, win));
                int64_t t1 = now_ns();
                if (o->validate && !local_errors) {
                    int ok;
                    unsigned char *seen = local;
                    if (is_put) {
                        memset(chk, 0, region);
                        MPI_CHECK(MPI_Get(chk, (int)region, MPI_CHAR, 1, 0, (int)region, MPI_CHAR, win));
                        MPI_CHECK(MPI_Win_flush(1, win));
                        seen = chk;
                    }
                    if (inject && i == warm) seen[0] ^= 0x40;
                    ok = is_put ? check_data(seen, region, T_CHAR, 0, 1, i, &m)
                                : check_data(seen, region, T_CHAR, 1, 0, 0, &m);
                    if (!ok) {
                        report_mismatch(rank, b, size, T_CHAR, i, -1, &m);
                        local_errors = 1;
                    }
                }
                if (i >= warm) timed += t1 - t0;
            }
            MPI_CHECK(MPI_Win_unlock(1, win));
        }
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        if (is_put && b != B_PUT_BIBW && o->validate && rank == 1) {
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win));
            if (!check_data(base, region, T_CHAR, 0, 1, total - 1, &m)) {
                report_mismatch(rank, b, size, T_CHAR, total - 1, -1, &m);
                local_errors = 1;
            }
            MPI_CHECK(MPI_Win_unlock(1, win));
        }
        if (o->validate)
            MPI_CHECK(MPI_Allreduce(&local_errors, &errors, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
        if (rank == 0) {
            double value;
            if (BENCH[b].cls == C_OS_LAT) {
                value = (double)timed / 1e3 / (double)iters;
            } else {
                value = (double)region / 1e6 * (double)iters / ((double)timed / 1e9);
                if (b == B_PUT_BIBW) value *= 2;
            }
            print_row(o, size, value, value, value, iters, o->validate ? errors == 0 : -1);
        }
        MPI_CHECK(MPI_Win_free(&win));
        free(local);
        free(chk);
        inject = 0;
        if (errors) {
            failed = 1;
            *fail_size = size;
            break;
        }
        if (size > o->max_size / 2) break;
    }
    MPI_CHECK(MPI_Group_free(&peer_group));
    MPI_CHECK(MPI_Group_free(&world_group));
    return failed;
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int rank = 0, np = 0, status = 0;
    enum bench b;
    struct options o;
    struct usage_error err = {NULL, NULL, NULL};
    char library[256];
    const char *prog = argv[0], *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];

    MPI_CHECK(MPI_Init(&argc, &argv));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &np));

    int first = 1;
    if (strcmp(base, "osu_mpi") == 0) {
        if (argc < 2 || !bench_from_name(argv[1], &b)) {
            if (rank == 0) {
                fprintf(stderr, "usage: osu_mpi BENCHMARK [options]; BENCHMARK is one of:");
                for (int k = 0; k < B_COUNT; k++) fprintf(stderr, " %s", BENCH[k].name + 4);
                fprintf(stderr, "\n");
            }
            MPI_Finalize();
            return 1;
        }
        first = 2;
    } else if (!bench_from_name(base, &b)) {
        if (rank == 0) fprintf(stderr, "%s: unknown benchmark name (expected osu_<benchmark>)\n", base);
        MPI_Finalize();
        return 1;
    }

    int parsed = parse_args(b, argc - first, argv + first, &o, &err);
    if (parsed != 0) {
        if (rank == 0) {
            if (parsed < 0) print_usage_error(&err);
            print_help(b);
        }
        MPI_Finalize();
        return parsed < 0 ? 1 : 0;
    }
    if (is_coll(b) && np < 2) {
        if (rank == 0) fprintf(stderr, "This test requires at least two processes\n");
        MPI_Finalize();
        return 1;
    }
    if (!is_coll(b) && np != 2) {
        if (rank == 0) fprintf(stderr, "This test requires exactly two processes\n");
        MPI_Finalize();
        return 1;
    }

    library_name(library, sizeof library);
    size_t fail_size = 0;
    int failed = is_coll(b) ? run_collective(&o, rank, np, library, &fail_size)
                            : run_one_sided(&o, rank, library, &fail_size);
    /* Every rank knows `failed` (agreed on by an allreduce, or the same size check). Rank 0's
     * last line goes out before any rank can exit: a launcher stops the job at the first
     * non-zero exit and may kill rank 0 before it prints. */
    if (failed) {
        if (rank == 0 && o.validate)
            printf("DATA VALIDATION ERROR: %s exited with status 1 on message size %zu.\n", prog,
                   fail_size);
        status = 1;
    }
    fflush(stdout);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return status;
}
