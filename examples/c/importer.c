/*
 * importer.c - the import side of the RSMAPI program flow (SPEC.md §6):
 * connect to the exporter's segment, read a line from standard input, write
 * it into the segment, signal the exporter, clean up.
 *
 *   importer [segment-id [node-id [controller]]]   default 0x400000, 0, "loopback"
 *
 * Build: cc importer.c -lrsm   (see README.md)
 */

#include <rsmapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "importer: %s failed: error %d\n", what, rc);
    return 1;
}

int main(int argc, char **argv)
{
    rsm_memseg_id_t segid = argc > 1 ? (rsm_memseg_id_t)strtoul(argv[1], NULL, 0)
                                     : 0x400000;
    rsm_node_id_t node = argc > 2 ? (rsm_node_id_t)strtoul(argv[2], NULL, 0) : 0;
    char *cname = argc > 3 ? argv[3] : "loopback";
    int rc;

    rsmapi_controller_handle_t ctrl;
    if ((rc = rsm_get_controller(cname, &ctrl)) != RSM_SUCCESS)
        return fail("rsm_get_controller", rc);

    /* The exporter may not have published yet: retry for up to 10 s. */
    rsm_memseg_import_handle_t seg;
    for (int tries = 0;; tries++) {
        rc = rsm_memseg_import_connect(ctrl, node, segid, RSM_PERM_RDWR, &seg);
        if (rc != RSMERR_SEG_NOT_PUBLISHED || tries == 100)
            break;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (rc != RSM_SUCCESS)
        return fail("rsm_memseg_import_connect", rc);

    /* Implicit barrier mode (the default) needs a barrier for put/get. */
    rsmapi_barrier_t bar;
    if ((rc = rsm_memseg_import_init_barrier(seg, RSM_BAR_DEFAULT, &bar)) !=
        RSM_SUCCESS)
        return fail("rsm_memseg_import_init_barrier", rc);

    char line[1024];
    if (fgets(line, sizeof line, stdin) == NULL)
        line[0] = '\0';
    line[strcspn(line, "\n")] = '\0';
    if ((rc = rsm_memseg_import_put(seg, 0, line, strlen(line) + 1)) != RSM_SUCCESS)
        return fail("rsm_memseg_import_put", rc);
    if ((rc = rsm_intr_signal_post(seg, 0)) != RSM_SUCCESS)
        return fail("rsm_intr_signal_post", rc);
    printf("importer: wrote %zu bytes to segment %#x on node %u\n",
           strlen(line) + 1, segid, node);

    if ((rc = rsm_memseg_import_destroy_barrier(&bar)) != RSM_SUCCESS)
        return fail("rsm_memseg_import_destroy_barrier", rc);
    if ((rc = rsm_memseg_import_disconnect(seg)) != RSM_SUCCESS)
        return fail("rsm_memseg_import_disconnect", rc);
    if ((rc = rsm_release_controller(ctrl)) != RSM_SUCCESS)
        return fail("rsm_release_controller", rc);
    return 0;
}
