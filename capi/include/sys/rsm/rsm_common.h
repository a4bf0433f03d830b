/*
 * <sys/rsm/rsm_common.h> - RSMAPI base types, return codes and constants.
 *
 * Part of rsm, Sun's Remote Shared Memory API (RSMAPI) for Linux.  Written for
 * the rsm project from its specification (SPEC.md §2-3); every name, numeric
 * value and structure layout is the one of the Solaris header of the same name,
 * so RSMAPI programs compile unchanged.  Programs normally include <rsmapi.h>,
 * which includes this file.  Build and deviation notes: docs/capi.md.
 */

#ifndef _SYS_RSM_RSM_COMMON_H
#define _SYS_RSM_RSM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__LP64__) && !defined(_LP64)
#error "rsm: librsm.so.2 implements the LP64 RSMAPI ABI only (see docs/capi.md)"
#endif

/*
 * Solaris base types used by RSMAPI declarations.  Solaris provides them in
 * <sys/types.h>; Linux does not, so they are defined here with the Solaris
 * definitions.  glibc already declares caddr_t (as char *) unless a strict
 * standard mode hides it.
 */
#ifndef _RSM_SOLARIS_TYPES
#define _RSM_SOLARIS_TYPES
typedef unsigned char uchar_t;
typedef unsigned int uint_t;
typedef unsigned long ulong_t;
typedef long long offset_t;
#if !(defined(__GLIBC__) && defined(__USE_MISC))
typedef char *caddr_t;
#endif
#endif /* _RSM_SOLARIS_TYPES */

/* Protocol version of the Solaris kernel agent. */
#define RSM_VERSION 5

/*
 * Return values.  Every RSMAPI function returns RSM_SUCCESS (0) or one of the
 * codes below.  1-45 are the RSMAPI codes; 100-134 belong to the kernel driver
 * interface (RSMPI) and share this header.
 */
#define RSM_SUCCESS 0
#define RSMERR_BAD_LIBRARY_VERSION 1       /* controller library version mismatch */
#define RSMERR_BAD_TOPOLOGY_PTR 2          /* topology out-pointer NULL or invalid */
#define RSMERR_BAD_CTLR_HNDL 3             /* invalid controller handle */
#define RSMERR_CTLR_NOT_PRESENT 4          /* no such (usable) controller */
#define RSMERR_BAD_SEG_HNDL 5              /* invalid segment handle or state */
#define RSMERR_SEG_ALREADY_PUBLISHED 6     /* segment is already published */
#define RSMERR_SEG_NOT_PUBLISHED 7         /* segment is not published */
#define RSMERR_SEG_NOT_PUBLISHED_TO_NODE 8 /* importing node not in the ACL */
#define RSMERR_SEG_ALREADY_MAPPED 9        /* import segment already mapped */
#define RSMERR_SEG_STILL_MAPPED 10         /* disconnect while explicitly mapped */
#define RSMERR_SEG_NOT_MAPPED 11           /* unmap of an unmapped segment */
#define RSMERR_NOT_CREATOR 12              /* caller did not create the segment */
#define RSMERR_BAD_BARRIER_PTR 13          /* barrier pointer NULL or invalid */
#define RSMERR_BAD_SGIO 14                 /* bad scatter/gather descriptor */
#define RSMERR_BAD_LOCALMEM_HNDL 15        /* bad local memory handle */
#define RSMERR_BAD_ADDR 16                 /* bad address argument */
#define RSMERR_BAD_MEM_ALIGNMENT 17        /* address/offset/length misaligned */
#define RSMERR_BAD_OFFSET 18               /* offset outside the valid range */
#define RSMERR_MISALIGNED_OFFSET 19        /* misaligned offset */
#define RSMERR_BAD_LENGTH 20               /* zero, too large or out-of-range length */
#define RSMERR_BAD_ACL 21                  /* invalid access-control list */
#define RSMERR_BAD_SEGID 22                /* invalid segment id */
#define RSMERR_RESERVED_SEGID 23           /* segment id in a reserved range */
#define RSMERR_SEGID_IN_USE 24             /* segment id already published */
#define RSMERR_BAD_MODE 25                 /* invalid barrier mode */
#define RSMERR_BAD_PERMS 26                /* invalid permission value */
#define RSMERR_PERM_DENIED 27              /* access denied */
#define RSMERR_LOCKS_NOT_SUPPORTED 28      /* lock operations not supported */
#define RSMERR_LOCKS_NOT_ENABLED 29        /* segment not created for locks */
#define RSMERR_REBIND_NOT_ALLOWED 30       /* segment created without rebind */
#define RSMERR_INSUFFICIENT_RESOURCES 31   /* resource shortage */
#define RSMERR_INSUFFICIENT_MEM 32         /* memory shortage */
#define RSMERR_MAP_FAILED 33               /* mapping failed */
#define RSMERR_POLLFD_IN_USE 34            /* poll descriptor still referenced */
#define RSMERR_BARRIER_UNINITIALIZED 35    /* barrier not initialized */
#define RSMERR_BARRIER_OPEN_FAILED 36      /* barrier open failed */
#define RSMERR_BARRIER_NOT_OPENED 37       /* barrier not opened */
#define RSMERR_BARRIER_FAILURE 38          /* remote access error in the span */
#define RSMERR_REMOTE_NODE_UNREACHABLE 39  /* no path to the remote node */
#define RSMERR_CONN_ABORTED 40             /* connection forcibly aborted */
#define RSMERR_INTERRUPTED 41              /* interrupted by a signal */
#define RSMERR_TIMEOUT 42                  /* timeout expired */
#define RSMERR_BAD_APPID 43                /* appid not in rsm.segmentid */
#define RSMERR_BAD_CONF 44                 /* rsm.segmentid missing or malformed */
#define RSMERR_SEG_NOT_CONNECTED 45        /* segment not connected */

/* Return values of the kernel driver interface (RSMPI). */
#define RSMERR_BAD_DRIVER_VERSION 101
#define RSMERR_UNSUPPORTED_VERSION 102
#define RSMERR_DRIVER_NAME_IN_USE 103
#define RSMERR_DRIVER_NOT_REGISTERED 104
#define RSMERR_DRIVER_THREAD_RUNNING 105
#define RSMERR_NEED_THREAD_INIT 106
#define RSMERR_THREAD_NOT_INITED 107
#define RSMERR_CTLRS_REGISTERED 108
#define RSMERR_CTLR_NOT_REGISTERED 109
#define RSMERR_CTLR_ALREADY_REGISTERED 110
#define RSMERR_CTLR_IN_USE 111
#define RSMERR_NAME_TOO_LONG 112
#define RSMERR_SEG_PUBLISHED 113
#define RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR 114
#define RSMERR_SEG_IN_USE 115
#define RSMERR_BAD_SENDQ_HNDL 116
#define RSMERR_BAD_ARGS_ERRORS 117 /* also: rsm_intr_signal_wait poll errors */
#define RSMERR_BAD_MSTYPE 118
#define RSMERR_NO_BACKING_MEM 119
#define RSMERR_NOT_MEM 120
#define RSMERR_MEM_ALREADY_BOUND 121
#define RSMERR_MEM_NOT_BOUND 122
#define RSMERR_HANDLER_NOT_REGISTERED 123
#define RSMERR_NO_HANDLER 124
#define RSMERR_UNBIND_REBIND_NOT_ALLOWED 125
#define RSMERR_CALLBACKS_NOT_SUPPORTED 126
#define RSMERR_UNSUPPORTED_OPERATION 127
#define RSMERR_RSM_ADDR_UNREACHABLE 128
#define RSMERR_UNKNOWN_RSM_ADDR 129
#define RSMERR_BAD_BARRIER_HNDL 130
#define RSMERR_COMM_ERR_MAYBE_DELIVERED 131
#define RSMERR_COMM_ERR_NOT_DELIVERED 132
#define RSMERR_QUEUE_FENCE_UP 133
#define RSMERR_QUEUE_FULL 134

/* Internal error (defined after the RSMPI block, as in Solaris). */
#define RSMERR_INTERNAL_ERROR 100

/*
 * Segment-id partition.  Applications may publish ids from
 * RSM_HPC_ID_BASE to 0x7FFFFFFF; ids from RSM_USER_APP_ID_BASE up are
 * assigned by the system when rsm_memseg_export_publish is called with
 * *segment_id == 0; everything below RSM_HPC_ID_BASE is reserved.
 */
#define RSM_DRIVER_PRIVATE_ID_BASE 0
#define RSM_DRIVER_PRIVATE_ID_END 0x0FFFFF
#define RSM_CLUSTER_TRANSPORT_ID_BASE 0x100000
#define RSM_CLUSTER_TRANSPORT_ID_END 0x1FFFFF
#define RSM_RSMLIB_ID_BASE 0x200000
#define RSM_RSMLIB_ID_END 0x2FFFFF
#define RSM_DLPI_ID_BASE 0x300000
#define RSM_DLPI_ID_END 0x3FFFFF
#define RSM_HPC_ID_BASE 0x400000
#define RSM_HPC_ID_END 0x4FFFFF
#define RSM_OPS_ID_BASE 0x500000
#define RSM_OPS_ID_END 0x5FFFFF
#define RSM_USER_APP_ID_BASE 0x80000000
#define RSM_USER_APP_ID_END 0xFFFFFFFF

/*
 * Permissions of a connection or mapping (rsm_permission_t).  Access-list
 * entries use three such octal digits: owner, group, other.
 */
#define RSM_PERM_NONE 0
#define RSM_PERM_READ 0400
#define RSM_PERM_WRITE 0200
#define RSM_PERM_RDWR (RSM_PERM_READ | RSM_PERM_WRITE)

/* Largest io_request_count of an rsm_scat_gath_t. */
#define RSM_MAX_SGIOREQS 16

/* Access-size bits of attr_direct_access_sizes and attr_atomic_sizes. */
typedef enum {
    RSM_DAS8 = 1,
    RSM_DAS16 = 2,
    RSM_DAS32 = 4,
    RSM_DAS64 = 8
} rsm_access_size_t;

typedef uint64_t rsm_addr_t;       /* interconnect hardware address */
typedef uint32_t rsm_node_id_t;    /* cluster node id */
typedef uint32_t rsm_memseg_id_t;  /* segment id, unique per exporting node */
typedef uint32_t rsm_permission_t; /* RSM_PERM_* or owner/group/other digits */

/* Segment handles: opaque, created and validated by the library. */
struct __rsm_memseg_import_handle;
typedef struct __rsm_memseg_import_handle *rsm_memseg_import_handle_t;

struct __rsm_memseg_export_handle;
typedef struct __rsm_memseg_export_handle *rsm_memseg_export_handle_t;

/* Barrier scopes (the type argument of rsm_memseg_import_init_barrier). */
typedef enum {
    RSM_BARRIER_SEGMENT = 0x01,
    RSM_BARRIER_NODE = 0x02,
    RSM_BARRIER_SEGMENT_THREAD = 0x11,
    RSM_BARRIER_NODE_THREAD = 0x12
} rsm_barrier_type_t;

/* One 8-byte barrier word of the driver interface (unused by RSMAPI calls). */
typedef union {
    uint64_t u64;
    int64_t i64;
    uint32_t u32[2];
    int32_t i32[2];
    uint16_t u16[4];
    int16_t i16[4];
    uint8_t u8[8];
    int8_t i8[8];
    uchar_t uc[8];
    char c[8];
    void *vp;
} rsm_barrier_component_t;

typedef struct {
    rsm_barrier_component_t comp[4];
} rsm_barrier_t;

/* Barrier modes of an import segment (rsm_memseg_import_set_mode). */
typedef enum {
    RSM_BARRIER_MODE_EXPLICIT = 0, /* caller opens and closes barriers */
    RSM_BARRIER_MODE_IMPLICIT = 1  /* each put/get has its own barrier (default) */
} rsm_barrier_mode_t;

#ifdef __cplusplus
}
#endif

#endif /* _SYS_RSM_RSM_COMMON_H */
