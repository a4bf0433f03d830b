/*
 * <sys/rsm/rsmapi_common.h> - RSMAPI handles, structures and flags.
 *
 * Part of rsm, Sun's Remote Shared Memory API (RSMAPI) for Linux.  Written for
 * the rsm project from its specification (SPEC.md §2-3); names, values, field
 * order and layout are those of the Solaris header of the same name.
 * Programs normally include <rsmapi.h>, which includes this file.
 */

#ifndef _SYS_RSM_RSMAPI_COMMON_H
#define _SYS_RSM_RSMAPI_COMMON_H

#include <sys/rsm/rsm_common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Handle of a local memory range created by rsm_create_localmemory_handle,
 * usable in rsm_iovec_t entries of putv/getv.
 */
struct __rsm_localmemory_handle;
typedef struct __rsm_localmemory_handle *rsm_localmemory_handle_t;

/* Handle of an interconnect controller (rsm_get_controller). */
struct __rsmapi_controller_handle;
typedef struct __rsmapi_controller_handle *rsmapi_controller_handle_t;

/* Controller attributes, filled by rsm_get_controller_attr. */
typedef struct {
    uint_t attr_direct_access_sizes;     /* RSM_DAS* bits */
    uint_t attr_atomic_sizes;            /* RSM_DAS* bits */
    size_t attr_page_size;               /* bytes */
    size_t attr_max_export_segment_size; /* bytes */
    size_t attr_tot_export_segment_size; /* bytes */
    ulong_t attr_max_export_segments;
    size_t attr_max_import_map_size;     /* bytes */
    size_t attr_tot_import_map_size;     /* bytes */
    ulong_t attr_max_import_segments;
} rsmapi_controller_attr_t;

/* One access-control-list entry of rsm_memseg_export_publish/republish. */
typedef struct {
    rsm_node_id_t ae_node;          /* node allowed to import */
    rsm_permission_t ae_permission; /* owner/group/other octal digits, <= 0666 */
} rsmapi_access_entry_t;

/*
 * Barrier object: storage belongs to the caller, contents to the library
 * (filled by rsm_memseg_import_init_barrier).
 */
typedef struct {
    void *seg;
    uint16_t gnum;
    void *privdata;
} rsmapi_barrier_t;

/* One element of a scatter/gather list. */
typedef struct {
    int io_type; /* RSM_HANDLE_TYPE or RSM_VA_TYPE */
    union {
        rsm_localmemory_handle_t handle; /* io_type == RSM_HANDLE_TYPE */
        caddr_t vaddr;                   /* io_type == RSM_VA_TYPE */
    } local;
    size_t local_offset;    /* offset into the local handle or vaddr */
    size_t remote_offset;   /* offset into the imported segment */
    size_t transfer_length; /* bytes */
} rsm_iovec_t;

/* Argument of rsm_memseg_import_putv and rsm_memseg_import_getv. */
typedef struct {
    rsm_node_id_t local_nodeid;
    ulong_t io_request_count;  /* entries in iovec: 1..RSM_MAX_SGIOREQS */
    ulong_t io_residual_count; /* out: entries not completed or not started */
    uint_t flags;              /* RSM_IMPLICIT_SIGPOST | RSM_SIGPOST_NO_ACCUMULATE */
    rsm_memseg_import_handle_t remote_handle;
    rsm_iovec_t *iovec;
} rsm_scat_gath_t;

/* Values of rsm_iovec_t.io_type. */
#define RSM_HANDLE_TYPE 0x01
#define RSM_VA_TYPE 0x02

/* rsm_memseg_export_create flag: the segment may be rebound (and unbound). */
#define RSM_ALLOW_REBIND 0x01

/* rsm_memseg_export_create flag: fail instead of waiting for resources. */
#define RSM_CREATE_SEG_DONTWAIT 0x02

/*
 * rsm_scat_gath_t.flags: post a signal to the exporter after a successful
 * putv/getv.  RSM_SIGPOST_NO_ACCUMULATE may be or-ed in.
 */
#define RSM_IMPLICIT_SIGPOST 0x01

/*
 * rsm_intr_signal_post flag: do not accumulate this event if one is already
 * pending.  Its value must stay 0x02: putv/getv pass
 * (flags & RSM_SIGPOST_NO_ACCUMULATE) on as the signal-post flags.
 */
#define RSM_SIGPOST_NO_ACCUMULATE 0x02

#ifdef __cplusplus
}
#endif

#endif /* _SYS_RSM_RSMAPI_COMMON_H */
