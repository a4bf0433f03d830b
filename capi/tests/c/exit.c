/*
 * exit.c - a process that exits without destroying its export segments or
 * disconnecting its imports: librsm's exit handler does it (as the Solaris
 * kernel did at process exit).  Its importers are cut off and none of its
 * names stay in the namespace.
 *
 * rsm-test: link
 */

#include "rsmtest.h"

#include <dirent.h>

/* Names of the namespace that contain `needle` (exact: equal to it). */
static int names_with(const char *needle, int exact)
{
    const char *ns = getenv("RSM_SHM_NAMESPACE");
    char prefix[128];
    snprintf(prefix, sizeof prefix, "rsm.%s.", ns != NULL ? ns : "default");
    DIR *d = opendir("/dev/shm");
    if (d == NULL)
        DIE("opendir /dev/shm");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
            (exact ? strcmp(e->d_name + strlen(prefix), needle) == 0
                   : strstr(e->d_name + strlen(prefix), needle) != NULL)) {
            printf("  name: %s\n", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    RSMTEST_MAIN_PROLOGUE(argc, argv);
    size_t ps = page_size();
    rsmapi_controller_handle_t ctrl;
    if (rsm_get_controller("loopback", &ctrl) != RSM_SUCCESS)
        DIE("no loopback controller");

    /* Our export, imported by the peer. */
    unsigned char *mem = pages_alloc(1);
    rsm_memseg_export_handle_t ex = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &ex, mem, ps, 0), RSM_SUCCESS);
    rsm_memseg_id_t id = 0x400501;
    EXPECT_RC(rsm_memseg_export_publish(ex, &id, NULL, 0), RSM_SUCCESS);

    peer_t peer;
    peer_start(&peer);
    char rest[64];
    EXPECT_RC(peer_cmd(&peer, rest, sizeof rest, "pid"), RSM_SUCCESS);
    pid_t pid = (pid_t)atoi(rest);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "create 0 2 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "publish 0 400500"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "epollfd 0"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "connect 1 0 400501 600"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "barrier 1"), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "put 1 0 6869"), RSM_SUCCESS);
    CHECK(memcmp(mem, "hi", 2) == 0);

    rsm_memseg_import_handle_t im = NULL;
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400500, RSM_PERM_RDWR, &im),
              RSM_SUCCESS);
    char pidname[32];
    snprintf(pidname, sizeof pidname, "%d.", (int)pid); /* x<pid>.n, i<pid>.n */
    CHECK(names_with("00400500", 1) == 1); /* its data file and ... */
    CHECK(names_with(pidname, 0) == 2);     /* ... its event FIFOs */

    /* A forked child that calls exit() runs the exit handler on its copies
     * only: our export and our connection survive it. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        exit(0);
    int cst = wait_child(child, 10000);
    CHECK(cst != -1 && WIFEXITED(cst) && WEXITSTATUS(cst) == 0);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "put 1 2 2121"), RSM_SUCCESS);
    CHECK(memcmp(mem, "hi!!", 4) == 0);
    rsmapi_barrier_t cbar;
    EXPECT_RC(rsm_memseg_import_init_barrier(im, RSM_BAR_DEFAULT, &cbar), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_put(im, 0, "ok", 2), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_destroy_barrier(&cbar), RSM_SUCCESS);
    CHECK(names_with("00400501", 1) == 1);

    /* The peer exits with everything still open. */
    write_all(peer.to, "leave\n", 6);
    int st = wait_child(peer.pid, 20000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(peer.to);
    close(peer.from);

    /* Its names are gone before we touch anything, and we are cut off. */
    CHECK(names_with("00400500", 1) == 0);
    CHECK(names_with(pidname, 0) == 0);
    rsmapi_barrier_t bar;
    EXPECT_RC(rsm_memseg_import_init_barrier(im, RSM_BAR_DEFAULT, &bar), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_put(im, 0, "x", 1), RSMERR_CONN_ABORTED);
    EXPECT_RC(rsm_memseg_import_destroy_barrier(&bar), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_import_disconnect(im), RSM_SUCCESS);
    rsm_memseg_import_handle_t again = NULL;
    EXPECT_RC(rsm_memseg_import_connect(ctrl, 0, 0x400500, RSM_PERM_RDWR, &again),
              RSMERR_SEG_NOT_PUBLISHED);
    /* Our own segment is intact. */
    CHECK(memcmp(mem, "hi", 2) == 0);
    EXPECT_RC(rsm_intr_signal_post(ex, 0), RSM_SUCCESS);

    /* This process leaves its export to the exit handler too (the harness
     * checks the namespace is empty afterwards). */
    int rc = test_summary("exit");
    fflush(stdout);
    return rc;
}
