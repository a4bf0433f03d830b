/*
 * exporter.c - the export side of the RSMAPI program flow (SPEC.md §6, after
 * the Solaris Programming Interfaces Guide example): create and publish a
 * segment on this process's own memory, wait for an importer's signal, print
 * the message it wrote, clean up.
 *
 *   exporter [segment-id [controller]]     default 0x400000, "loopback"
 *
 * Build: cc exporter.c -lrsm   (see README.md)
 */

#include <rsmapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SEG_SIZE 8192 /* the Guide's 8 KiB buffer, rounded up to pages */

static int fail(const char *what, int rc)
{
    fprintf(stderr, "exporter: %s failed: error %d\n", what, rc);
    return 1;
}

int main(int argc, char **argv)
{
    rsm_memseg_id_t segid = argc > 1 ? (rsm_memseg_id_t)strtoul(argv[1], NULL, 0)
                                     : 0x400000;
    char *cname = argc > 2 ? argv[2] : "loopback";
    int rc;

    /* Which node are we? */
    rsm_topology_t *topo;
    if ((rc = rsm_get_interconnect_topology(&topo)) != RSM_SUCCESS)
        return fail("rsm_get_interconnect_topology", rc);
    rsm_node_id_t node = topo->topology_hdr.local_nodeid;
    rsm_free_interconnect_topology(topo);

    rsmapi_controller_handle_t ctrl;
    if ((rc = rsm_get_controller(cname, &ctrl)) != RSM_SUCCESS)
        return fail("rsm_get_controller", rc);
    rsmapi_controller_attr_t attr;
    if ((rc = rsm_get_controller_attr(ctrl, &attr)) != RSM_SUCCESS)
        return fail("rsm_get_controller_attr", rc);

    /* Page-aligned private memory of a page-multiple size: exported in place. */
    size_t size = (SEG_SIZE + attr.attr_page_size - 1) / attr.attr_page_size *
                  attr.attr_page_size;
    char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("exporter: mmap");
        return 1;
    }

    rsm_memseg_export_handle_t seg;
    if ((rc = rsm_memseg_export_create(ctrl, &seg, buf, size, 0)) != RSM_SUCCESS)
        return fail("rsm_memseg_export_create", rc);
    rsmapi_access_entry_t acl[1] = {{node, 0666}};
    if ((rc = rsm_memseg_export_publish(seg, &segid, acl, 1)) != RSM_SUCCESS)
        return fail("rsm_memseg_export_publish", rc);
    printf("exporter: segment %#x (%zu bytes) published on node %u, waiting\n",
           segid, size, node);
    fflush(stdout);

    /* The importer writes a NUL-terminated line at offset 0, then signals. */
    if ((rc = rsm_intr_signal_wait(seg, 60000)) != RSM_SUCCESS)
        return fail("rsm_intr_signal_wait", rc);
    buf[size - 1] = '\0';
    printf("exporter: received: %s\n", buf);
    fflush(stdout);

    if ((rc = rsm_memseg_export_unpublish(seg)) != RSM_SUCCESS)
        return fail("rsm_memseg_export_unpublish", rc);
    if ((rc = rsm_memseg_export_destroy(seg)) != RSM_SUCCESS)
        return fail("rsm_memseg_export_destroy", rc);
    if ((rc = rsm_release_controller(ctrl)) != RSM_SUCCESS)
        return fail("rsm_release_controller", rc);
    munmap(buf, size);
    return 0;
}
