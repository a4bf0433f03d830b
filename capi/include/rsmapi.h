/*
 * <rsmapi.h> - Remote Shared Memory API (RSMAPI).
 *
 * Part of rsm, Sun's Remote Shared Memory API for Linux.  Written for the rsm
 * project from its specification (SPEC.md §2-4): the types, constants and the
 * 42 functions of the Solaris interface, with the same names, values, layouts
 * and signatures, so RSMAPI programs build unchanged with
 *
 *     cc prog.c -lrsm
 *
 * against librsm.so.2 (symbol version SUNWprivate_1.1).  Every function
 * returns RSM_SUCCESS (0) or an RSMERR_* code (<sys/rsm/rsm_common.h>),
 * except rsm_free_interconnect_topology.  Invalid, stale or NULL handles and
 * NULL out-pointers are reported with an error code, never undefined
 * behaviour.  The rsm lock-segment extension is declared separately in
 * <rsmapi_ext.h>.  Differences from Solaris: docs/capi.md ("Deviations").
 */

#ifndef _RSMAPI_H
#define _RSMAPI_H

#include <poll.h>
#include <sys/param.h>
#include <sys/rsm/rsm_common.h>
#include <sys/rsm/rsmapi_common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Solaris <sys/param.h> defines MAXNAMELEN; glibc does not. */
#ifndef MAXNAMELEN
#define MAXNAMELEN 256
#endif
#if MAXNAMELEN != 256
#error "rsm: the RSMAPI topology structures need MAXNAMELEN == 256"
#endif

/* Mapping attributes of rsm_memseg_import_map. */
typedef enum {
    RSM_MAP_NONE = 0x0,    /* the system chooses the address (*address is a hint) */
    RSM_MAP_FIXED = 0x1,   /* map exactly at *address (page aligned) */
    RSM_MAP_RESERVED = 0x2 /* declared by Solaris, without a defined meaning */
} rsm_attribute_t;

/*
 * The barrier type the manual pages tell programs to pass to
 * rsm_memseg_import_init_barrier.  Solaris documented but never defined it;
 * rsm defines it as an alias of RSM_BARRIER_SEGMENT.
 */
#define RSM_BAR_DEFAULT RSM_BARRIER_SEGMENT

/*
 * Interconnect topology, returned by rsm_get_interconnect_topology as one
 * allocation (free it with rsm_free_interconnect_topology):
 *
 *   rsm_topology_t
 *     topology_hdr                    local node id, local controller count
 *     connections[local_cntlr_count]  -> rsm_connections_t, one per controller
 *   rsm_connections_t
 *     hdr                             controller name, address, remote count
 *     remote_cntlr[remote_cntlr_count]
 *
 * A connection may be used only if its connection_state is
 * RSM_CONNECTION_ACTIVE.  Match remote_cntlrname against the name of the
 * controller an exporter used.
 */
#define RSM_CONNECTION_ACTIVE 3

typedef struct rsm_topology_hdr {
    rsm_node_id_t local_nodeid;
    uint_t local_cntlr_count;
} rsm_topology_hdr_t;

typedef struct rsm_connections_hdr {
    char cntlr_name[MAXNAMELEN]; /* "<controller type><unit>", e.g. "loopback" */
    rsm_addr_t local_hwaddr;
    int remote_cntlr_count;
} rsm_connections_hdr_t;

typedef struct rsm_remote_cntlr {
    rsm_node_id_t remote_nodeid;
    char remote_cntlrname[MAXNAMELEN];
    rsm_addr_t remote_hwaddr;
    uint_t connection_state; /* usable only if RSM_CONNECTION_ACTIVE */
} rsm_remote_cntlr_t;

typedef struct rsm_connection {
    rsm_connections_hdr_t hdr;
    rsm_remote_cntlr_t remote_cntlr[1]; /* really hdr.remote_cntlr_count */
} rsm_connections_t;

typedef struct rsm_topology {
    rsm_topology_hdr_t topology_hdr;
    rsm_connections_t *connections[1]; /* really topology_hdr.local_cntlr_count */
} rsm_topology_t;

/* ---- Controllers ------------------------------------------------------- */

/* Get a (reference-counted) handle for controller `name` ("loopback" if NULL). */
int rsm_get_controller(char *name, rsmapi_controller_handle_t *controller);

/* Copy the controller's attributes into *attr. */
int rsm_get_controller_attr(rsmapi_controller_handle_t chdl,
    rsmapi_controller_attr_t *attr);

/* Drop one reference taken by rsm_get_controller. */
int rsm_release_controller(rsmapi_controller_handle_t controller);

/* ---- Export side ------------------------------------------------------- */

/*
 * Export the caller's page-aligned range [vaddr, vaddr + size) in place.
 * flags: RSM_ALLOW_REBIND, RSM_CREATE_SEG_DONTWAIT (and RSM_LOCK_OPS from
 * <rsmapi_ext.h>).
 */
int rsm_memseg_export_create(rsmapi_controller_handle_t controller,
    rsm_memseg_export_handle_t *memseg, void *vaddr, size_t size,
    uint_t flags);

/* Unpublish (disconnecting every importer) and release the segment. */
int rsm_memseg_export_destroy(rsm_memseg_export_handle_t memseg);

/* Replace the backing memory by [vaddr, vaddr + size); `off` is unused. */
int rsm_memseg_export_rebind(rsm_memseg_export_handle_t memseg, void *vaddr,
    offset_t off, size_t size);

/*
 * Make the segment importable under *segment_id (0: the system chooses and
 * stores the id) by the nodes of access_list (NULL/0: every node).
 */
int rsm_memseg_export_publish(rsm_memseg_export_handle_t memseg,
    rsm_memseg_id_t *segment_id, rsmapi_access_entry_t access_list[],
    uint_t access_list_length);

/* Withdraw the segment; existing connections are forcibly disconnected. */
int rsm_memseg_export_unpublish(rsm_memseg_export_handle_t memseg);

/* Replace the access list; existing connections are unaffected. */
int rsm_memseg_export_republish(rsm_memseg_export_handle_t memseg,
    rsmapi_access_entry_t access_list[], uint_t access_list_length);

/* ---- Import side: connection and mapping ------------------------------- */

/* Connect to segment `segment_id` of node `node_id` with permission `perm`. */
int rsm_memseg_import_connect(rsmapi_controller_handle_t controller,
    rsm_node_id_t node_id, rsm_memseg_id_t segment_id, rsm_permission_t perm,
    rsm_memseg_import_handle_t *im_memseg);

/* Break the connection and release the handle. */
int rsm_memseg_import_disconnect(rsm_memseg_import_handle_t im_memseg);

/* ---- Import side: reads ------------------------------------------------ */

/*
 * Copy rep_cnt items (or `length` bytes) from segment offset `offset`.
 * `offset` and datap must be multiples of the item size.
 */
int rsm_memseg_import_get8(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint8_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_get16(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint16_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_get32(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint32_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_get64(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint64_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_get(rsm_memseg_import_handle_t im_memseg, off_t offset,
    void *dst_addr, size_t length);

/* Scatter segment data into the local areas of sg_io->iovec. */
int rsm_memseg_import_getv(rsm_scat_gath_t *sg_io);

/* ---- Import side: writes ----------------------------------------------- */

/*
 * Copy rep_cnt items (or `length` bytes) to segment offset `offset`.
 * `offset` and datap must be multiples of the item size.
 */
int rsm_memseg_import_put8(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint8_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_put16(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint16_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_put32(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint32_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_put64(rsm_memseg_import_handle_t im_memseg, off_t offset,
    uint64_t *datap, ulong_t rep_cnt);
int rsm_memseg_import_put(rsm_memseg_import_handle_t im_memseg, off_t offset,
    void *src_addr, size_t length);

/* Gather the local areas of sg_io->iovec into the segment. */
int rsm_memseg_import_putv(rsm_scat_gath_t *sg_io);

/* ---- Import side: mapping ---------------------------------------------- */

/*
 * Map [offset, offset + length) of the segment; the address is returned in
 * *address.  `offset` must be page aligned; one mapping per handle.
 */
int rsm_memseg_import_map(rsm_memseg_import_handle_t im_memseg,
    void **address, rsm_attribute_t attr, rsm_permission_t perm,
    off_t offset, size_t length);

/* Remove the mapping. */
int rsm_memseg_import_unmap(rsm_memseg_import_handle_t im_memseg);

/* ---- Import side: barriers and barrier mode ---------------------------- */

/* Initialize *barrier for im_memseg (type: RSM_BAR_DEFAULT). */
int rsm_memseg_import_init_barrier(rsm_memseg_import_handle_t im_memseg,
    rsm_barrier_type_t type, rsmapi_barrier_t *barrier);

/* Start an error-detection span. */
int rsm_memseg_import_open_barrier(rsmapi_barrier_t *barrier);

/* End the span: success means every access since the open completed. */
int rsm_memseg_import_close_barrier(rsmapi_barrier_t *barrier);

/* Order the writes before this call before the writes after it. */
int rsm_memseg_import_order_barrier(rsmapi_barrier_t *barrier);

/* Release the barrier and detach it from its segment. */
int rsm_memseg_import_destroy_barrier(rsmapi_barrier_t *barrier);

/* Store the segment's barrier mode in *mode. */
int rsm_memseg_import_get_mode(rsm_memseg_import_handle_t im_memseg,
    rsm_barrier_mode_t *mode);

/* Select RSM_BARRIER_MODE_IMPLICIT (default) or RSM_BARRIER_MODE_EXPLICIT. */
int rsm_memseg_import_set_mode(rsm_memseg_import_handle_t im_memseg,
    rsm_barrier_mode_t mode);

/* ---- Events (interrupt signals) and poll descriptors ------------------- */

/*
 * Signal an event: on an import handle to the exporter, on an export handle
 * to every importer.  flags: 0 or RSM_SIGPOST_NO_ACCUMULATE.
 */
int rsm_intr_signal_post(void *im_memseg, uint_t flags);

/*
 * Wait for (and consume) one event on an import or export handle; timeout in
 * milliseconds, -1 = no limit, 0 = poll once.
 */
int rsm_intr_signal_wait(void *im_memseg, int timeout);

/* Fill *fd with the segment's event descriptor and take a reference. */
int rsm_memseg_get_pollfd(void *memseg, struct pollfd *fd);

/* Drop one reference taken by rsm_memseg_get_pollfd. */
int rsm_memseg_release_pollfd(void *memseg);

/* ---- Topology ---------------------------------------------------------- */

/* Allocate a topology snapshot and store it in *topology_data. */
int rsm_get_interconnect_topology(rsm_topology_t **topology_data);

/* Free a snapshot from rsm_get_interconnect_topology (NULL is ignored). */
void rsm_free_interconnect_topology(rsm_topology_t *topology_data);

/* ---- Local memory handles for putv/getv -------------------------------- */

/* Create a handle for the page-aligned local range [local_vaddr, +length). */
int rsm_create_localmemory_handle(rsmapi_controller_handle_t handle,
    rsm_localmemory_handle_t *l_handle, caddr_t local_vaddr, size_t length);

/* Release a handle from rsm_create_localmemory_handle. */
int rsm_free_localmemory_handle(rsmapi_controller_handle_t handle,
    rsm_localmemory_handle_t l_handle);

/* ---- Administration ---------------------------------------------------- */

/*
 * Look up the segment-id range reserved for `appid` in the rsm.segmentid
 * file: ids baseid <= id < baseid + length.
 */
int rsm_get_segmentid_range(const char *appid, rsm_memseg_id_t *baseid,
    uint32_t *length);

/* ---- Waiting on several descriptors ------------------------------------ */

/*
 * poll(2) over RSMAPI descriptors (from rsm_memseg_get_pollfd) and ordinary
 * ones; one event is consumed per ready RSMAPI descriptor.  *numfdsp (may be
 * NULL) receives the number of descriptors with events.
 */
int rsm_intr_signal_wait_pollfd(struct pollfd fds[], nfds_t nfds, int timeout,
    int *numfdsp);

#ifdef __cplusplus
}
#endif

#endif /* _RSMAPI_H */
