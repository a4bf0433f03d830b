/*
 * layout.c - the public headers against SPEC.md §1-4.
 *
 * Checks, each at compile time (_Static_assert) and again at run time:
 *  - sizeof, alignment and offsetof of every public structure (LP64 table of
 *    SPEC.md §2.4), the type of every field, and the size and identity of
 *    every typedef;
 *  - the value of every constant: return codes, limits, permissions, flags,
 *    enumerators, segment-id ranges and the rsm extension constants;
 *  - the type of each of the 42 functions (and of the 6 extension functions)
 *    against the signature SPEC.md §4 spells, with
 *    __builtin_types_compatible_p.
 *
 * With RSM_TEST_LINK defined (the harness links librsm.so.2 and defines it
 * for files whose rsm-test line says `link`), every function is also assigned
 * to a pointer of its declared type and resolved at run time with dlvsym() in
 * its symbol-version node, SUNWprivate_1.1 or RSMEXT_1.0.
 *
 * rsm-test: link timeout=30
 */

#ifdef RSM_TEST_LINK
#define _GNU_SOURCE
#include <dlfcn.h>
#endif

#include <rsmapi.h>
#include <rsmapi_ext.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static unsigned checks;
static unsigned failures;

static void check(const char *what, unsigned long long actual,
                  unsigned long long expected)
{
    checks++;
    if (actual != expected) {
        failures++;
        printf("MISMATCH %s: %llu, expected %llu\n", what, actual, expected);
    }
}

/* Both a compile-time and a run-time check of `actual == expected`. */
#define EXPECT(actual, expected)                                              \
    do {                                                                      \
        _Static_assert((actual) == (expected), #actual " == " #expected);     \
        check(#actual, (unsigned long long)(actual),                          \
              (unsigned long long)(expected));                                \
    } while (0)

#define SAME_TYPE(a, b) __builtin_types_compatible_p(a, b)

/* sizeof, alignment, and the offset of each field in declaration order. */
#define EXPECT_SIZE(type, size, align)                                        \
    do {                                                                      \
        EXPECT(sizeof(type), size);                                           \
        EXPECT(_Alignof(type), align);                                        \
    } while (0)
#define EXPECT_OFFSET(type, field, off) EXPECT(offsetof(type, field), off)
#define EXPECT_FIELD_TYPE(type, field, ftype)                                 \
    EXPECT(SAME_TYPE(__typeof__(((type *)0)->field), ftype), 1)

static void typedefs(void)
{
    /* Solaris base types. */
    EXPECT(SAME_TYPE(uchar_t, unsigned char), 1);
    EXPECT(SAME_TYPE(uint_t, unsigned int), 1);
    EXPECT(SAME_TYPE(ulong_t, unsigned long), 1);
    EXPECT(SAME_TYPE(offset_t, long long), 1);
    EXPECT(SAME_TYPE(caddr_t, char *), 1);
    EXPECT(sizeof(off_t), 8);
    EXPECT(SAME_TYPE(off_t, long), 1);
    EXPECT(sizeof(nfds_t), 8);
    EXPECT(sizeof(struct pollfd), 8);

    /* SPEC §2.1 */
    EXPECT(SAME_TYPE(rsm_addr_t, uint64_t), 1);
    EXPECT(SAME_TYPE(rsm_node_id_t, uint32_t), 1);
    EXPECT(SAME_TYPE(rsm_memseg_id_t, uint32_t), 1);
    EXPECT(SAME_TYPE(rsm_permission_t, uint32_t), 1);

    /* SPEC §2.2: pointers to incomplete structs. */
    EXPECT(SAME_TYPE(rsm_memseg_import_handle_t,
                     struct __rsm_memseg_import_handle *), 1);
    EXPECT(SAME_TYPE(rsm_memseg_export_handle_t,
                     struct __rsm_memseg_export_handle *), 1);
    EXPECT(SAME_TYPE(rsm_localmemory_handle_t,
                     struct __rsm_localmemory_handle *), 1);
    EXPECT(SAME_TYPE(rsmapi_controller_handle_t,
                     struct __rsmapi_controller_handle *), 1);
    EXPECT(sizeof(rsm_memseg_import_handle_t), 8);
    EXPECT(sizeof(rsm_memseg_export_handle_t), 8);
    EXPECT(sizeof(rsm_localmemory_handle_t), 8);
    EXPECT(sizeof(rsmapi_controller_handle_t), 8);

    /* SPEC §2.3: enums are int-sized. */
    EXPECT(sizeof(rsm_attribute_t), 4);
    EXPECT(sizeof(rsm_access_size_t), 4);
    EXPECT(sizeof(rsm_barrier_type_t), 4);
    EXPECT(sizeof(rsm_barrier_mode_t), 4);
}

static void structures(void)
{
    /* SPEC §2.4 */
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_direct_access_sizes, 0);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_atomic_sizes, 4);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_page_size, 8);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_max_export_segment_size, 16);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_tot_export_segment_size, 24);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_max_export_segments, 32);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_max_import_map_size, 40);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_tot_import_map_size, 48);
    EXPECT_OFFSET(rsmapi_controller_attr_t, attr_max_import_segments, 56);
    EXPECT_SIZE(rsmapi_controller_attr_t, 64, 8);

    EXPECT_OFFSET(rsmapi_access_entry_t, ae_node, 0);
    EXPECT_OFFSET(rsmapi_access_entry_t, ae_permission, 4);
    EXPECT_SIZE(rsmapi_access_entry_t, 8, 4);

    EXPECT_OFFSET(rsmapi_barrier_t, seg, 0);
    EXPECT_OFFSET(rsmapi_barrier_t, gnum, 8);
    EXPECT_OFFSET(rsmapi_barrier_t, privdata, 16);
    EXPECT_SIZE(rsmapi_barrier_t, 24, 8);

    EXPECT_OFFSET(rsm_iovec_t, io_type, 0);
    EXPECT_OFFSET(rsm_iovec_t, local, 8);
    EXPECT_OFFSET(rsm_iovec_t, local.handle, 8);
    EXPECT_OFFSET(rsm_iovec_t, local.vaddr, 8);
    EXPECT_OFFSET(rsm_iovec_t, local_offset, 16);
    EXPECT_OFFSET(rsm_iovec_t, remote_offset, 24);
    EXPECT_OFFSET(rsm_iovec_t, transfer_length, 32);
    EXPECT_SIZE(rsm_iovec_t, 40, 8);

    EXPECT_OFFSET(rsm_scat_gath_t, local_nodeid, 0);
    EXPECT_OFFSET(rsm_scat_gath_t, io_request_count, 8);
    EXPECT_OFFSET(rsm_scat_gath_t, io_residual_count, 16);
    EXPECT_OFFSET(rsm_scat_gath_t, flags, 24);
    EXPECT_OFFSET(rsm_scat_gath_t, remote_handle, 32);
    EXPECT_OFFSET(rsm_scat_gath_t, iovec, 40);
    EXPECT_SIZE(rsm_scat_gath_t, 48, 8);

    EXPECT_SIZE(rsm_barrier_component_t, 8, 8);
    EXPECT_OFFSET(rsm_barrier_component_t, u64, 0);
    EXPECT_OFFSET(rsm_barrier_component_t, vp, 0);
    EXPECT(sizeof(((rsm_barrier_component_t *)0)->uc), 8);
    EXPECT(sizeof(((rsm_barrier_component_t *)0)->i16), 8);
    EXPECT_SIZE(rsm_barrier_t, 32, 8);
    EXPECT_OFFSET(rsm_barrier_t, comp, 0);

    EXPECT_OFFSET(rsm_topology_hdr_t, local_nodeid, 0);
    EXPECT_OFFSET(rsm_topology_hdr_t, local_cntlr_count, 4);
    EXPECT_SIZE(rsm_topology_hdr_t, 8, 4);
    EXPECT(SAME_TYPE(rsm_topology_hdr_t, struct rsm_topology_hdr), 1);

    EXPECT_OFFSET(rsm_connections_hdr_t, cntlr_name, 0);
    EXPECT_OFFSET(rsm_connections_hdr_t, local_hwaddr, 256);
    EXPECT_OFFSET(rsm_connections_hdr_t, remote_cntlr_count, 264);
    EXPECT_SIZE(rsm_connections_hdr_t, 272, 8);
    EXPECT(SAME_TYPE(rsm_connections_hdr_t, struct rsm_connections_hdr), 1);

    EXPECT_OFFSET(rsm_remote_cntlr_t, remote_nodeid, 0);
    EXPECT_OFFSET(rsm_remote_cntlr_t, remote_cntlrname, 4);
    EXPECT_OFFSET(rsm_remote_cntlr_t, remote_hwaddr, 264);
    EXPECT_OFFSET(rsm_remote_cntlr_t, connection_state, 272);
    EXPECT_SIZE(rsm_remote_cntlr_t, 280, 8);
    EXPECT(SAME_TYPE(rsm_remote_cntlr_t, struct rsm_remote_cntlr), 1);

    EXPECT_OFFSET(rsm_connections_t, hdr, 0);
    EXPECT_OFFSET(rsm_connections_t, remote_cntlr, 272);
    EXPECT_SIZE(rsm_connections_t, 552, 8);
    EXPECT(SAME_TYPE(rsm_connections_t, struct rsm_connection), 1);

    EXPECT_OFFSET(rsm_topology_t, topology_hdr, 0);
    EXPECT_OFFSET(rsm_topology_t, connections, 8);
    EXPECT_SIZE(rsm_topology_t, 16, 8);
    EXPECT(SAME_TYPE(rsm_topology_t, struct rsm_topology), 1);
}

static void field_types(void)
{
    /* The declared type of every field (SPEC §2.4). */
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_direct_access_sizes, uint_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_atomic_sizes, uint_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_page_size, size_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_max_export_segment_size, size_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_tot_export_segment_size, size_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_max_export_segments, ulong_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_max_import_map_size, size_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_tot_import_map_size, size_t);
    EXPECT_FIELD_TYPE(rsmapi_controller_attr_t, attr_max_import_segments, ulong_t);

    EXPECT_FIELD_TYPE(rsmapi_access_entry_t, ae_node, rsm_node_id_t);
    EXPECT_FIELD_TYPE(rsmapi_access_entry_t, ae_permission, rsm_permission_t);

    EXPECT_FIELD_TYPE(rsmapi_barrier_t, seg, void *);
    EXPECT_FIELD_TYPE(rsmapi_barrier_t, gnum, uint16_t);
    EXPECT_FIELD_TYPE(rsmapi_barrier_t, privdata, void *);

    EXPECT_FIELD_TYPE(rsm_iovec_t, io_type, int);
    EXPECT_FIELD_TYPE(rsm_iovec_t, local.handle, rsm_localmemory_handle_t);
    EXPECT_FIELD_TYPE(rsm_iovec_t, local.vaddr, caddr_t);
    EXPECT_FIELD_TYPE(rsm_iovec_t, local_offset, size_t);
    EXPECT_FIELD_TYPE(rsm_iovec_t, remote_offset, size_t);
    EXPECT_FIELD_TYPE(rsm_iovec_t, transfer_length, size_t);

    EXPECT_FIELD_TYPE(rsm_scat_gath_t, local_nodeid, rsm_node_id_t);
    EXPECT_FIELD_TYPE(rsm_scat_gath_t, io_request_count, ulong_t);
    EXPECT_FIELD_TYPE(rsm_scat_gath_t, io_residual_count, ulong_t);
    EXPECT_FIELD_TYPE(rsm_scat_gath_t, flags, uint_t);
    EXPECT_FIELD_TYPE(rsm_scat_gath_t, remote_handle, rsm_memseg_import_handle_t);
    EXPECT_FIELD_TYPE(rsm_scat_gath_t, iovec, rsm_iovec_t *);

    EXPECT_FIELD_TYPE(rsm_barrier_component_t, u64, uint64_t);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, i64, int64_t);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, u32, uint32_t[2]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, i32, int32_t[2]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, u16, uint16_t[4]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, i16, int16_t[4]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, u8, uint8_t[8]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, i8, int8_t[8]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, uc, uchar_t[8]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, c, char[8]);
    EXPECT_FIELD_TYPE(rsm_barrier_component_t, vp, void *);
    EXPECT_FIELD_TYPE(rsm_barrier_t, comp, rsm_barrier_component_t[4]);

    EXPECT_FIELD_TYPE(rsm_topology_hdr_t, local_nodeid, rsm_node_id_t);
    EXPECT_FIELD_TYPE(rsm_topology_hdr_t, local_cntlr_count, uint_t);
    EXPECT_FIELD_TYPE(rsm_connections_hdr_t, cntlr_name, char[MAXNAMELEN]);
    EXPECT_FIELD_TYPE(rsm_connections_hdr_t, local_hwaddr, rsm_addr_t);
    EXPECT_FIELD_TYPE(rsm_connections_hdr_t, remote_cntlr_count, int);
    EXPECT_FIELD_TYPE(rsm_remote_cntlr_t, remote_nodeid, rsm_node_id_t);
    EXPECT_FIELD_TYPE(rsm_remote_cntlr_t, remote_cntlrname, char[MAXNAMELEN]);
    EXPECT_FIELD_TYPE(rsm_remote_cntlr_t, remote_hwaddr, rsm_addr_t);
    EXPECT_FIELD_TYPE(rsm_remote_cntlr_t, connection_state, uint_t);
    EXPECT_FIELD_TYPE(rsm_connections_t, hdr, rsm_connections_hdr_t);
    EXPECT_FIELD_TYPE(rsm_connections_t, remote_cntlr, rsm_remote_cntlr_t[1]);
    EXPECT_FIELD_TYPE(rsm_topology_t, topology_hdr, rsm_topology_hdr_t);
    EXPECT_FIELD_TYPE(rsm_topology_t, connections, rsm_connections_t *[1]);
}

static void return_codes(void)
{
    /* SPEC §3.1 */
    EXPECT(RSM_SUCCESS, 0);
    EXPECT(RSMERR_BAD_LIBRARY_VERSION, 1);
    EXPECT(RSMERR_BAD_TOPOLOGY_PTR, 2);
    EXPECT(RSMERR_BAD_CTLR_HNDL, 3);
    EXPECT(RSMERR_CTLR_NOT_PRESENT, 4);
    EXPECT(RSMERR_BAD_SEG_HNDL, 5);
    EXPECT(RSMERR_SEG_ALREADY_PUBLISHED, 6);
    EXPECT(RSMERR_SEG_NOT_PUBLISHED, 7);
    EXPECT(RSMERR_SEG_NOT_PUBLISHED_TO_NODE, 8);
    EXPECT(RSMERR_SEG_ALREADY_MAPPED, 9);
    EXPECT(RSMERR_SEG_STILL_MAPPED, 10);
    EXPECT(RSMERR_SEG_NOT_MAPPED, 11);
    EXPECT(RSMERR_NOT_CREATOR, 12);
    EXPECT(RSMERR_BAD_BARRIER_PTR, 13);
    EXPECT(RSMERR_BAD_SGIO, 14);
    EXPECT(RSMERR_BAD_LOCALMEM_HNDL, 15);
    EXPECT(RSMERR_BAD_ADDR, 16);
    EXPECT(RSMERR_BAD_MEM_ALIGNMENT, 17);
    EXPECT(RSMERR_BAD_OFFSET, 18);
    EXPECT(RSMERR_MISALIGNED_OFFSET, 19);
    EXPECT(RSMERR_BAD_LENGTH, 20);
    EXPECT(RSMERR_BAD_ACL, 21);
    EXPECT(RSMERR_BAD_SEGID, 22);
    EXPECT(RSMERR_RESERVED_SEGID, 23);
    EXPECT(RSMERR_SEGID_IN_USE, 24);
    EXPECT(RSMERR_BAD_MODE, 25);
    EXPECT(RSMERR_BAD_PERMS, 26);
    EXPECT(RSMERR_PERM_DENIED, 27);
    EXPECT(RSMERR_LOCKS_NOT_SUPPORTED, 28);
    EXPECT(RSMERR_LOCKS_NOT_ENABLED, 29);
    EXPECT(RSMERR_REBIND_NOT_ALLOWED, 30);
    EXPECT(RSMERR_INSUFFICIENT_RESOURCES, 31);
    EXPECT(RSMERR_INSUFFICIENT_MEM, 32);
    EXPECT(RSMERR_MAP_FAILED, 33);
    EXPECT(RSMERR_POLLFD_IN_USE, 34);
    EXPECT(RSMERR_BARRIER_UNINITIALIZED, 35);
    EXPECT(RSMERR_BARRIER_OPEN_FAILED, 36);
    EXPECT(RSMERR_BARRIER_NOT_OPENED, 37);
    EXPECT(RSMERR_BARRIER_FAILURE, 38);
    EXPECT(RSMERR_REMOTE_NODE_UNREACHABLE, 39);
    EXPECT(RSMERR_CONN_ABORTED, 40);
    EXPECT(RSMERR_INTERRUPTED, 41);
    EXPECT(RSMERR_TIMEOUT, 42);
    EXPECT(RSMERR_BAD_APPID, 43);
    EXPECT(RSMERR_BAD_CONF, 44);
    EXPECT(RSMERR_SEG_NOT_CONNECTED, 45);
    EXPECT(RSMERR_INTERNAL_ERROR, 100);
    EXPECT(RSMERR_BAD_DRIVER_VERSION, 101);
    EXPECT(RSMERR_UNSUPPORTED_VERSION, 102);
    EXPECT(RSMERR_DRIVER_NAME_IN_USE, 103);
    EXPECT(RSMERR_DRIVER_NOT_REGISTERED, 104);
    EXPECT(RSMERR_DRIVER_THREAD_RUNNING, 105);
    EXPECT(RSMERR_NEED_THREAD_INIT, 106);
    EXPECT(RSMERR_THREAD_NOT_INITED, 107);
    EXPECT(RSMERR_CTLRS_REGISTERED, 108);
    EXPECT(RSMERR_CTLR_NOT_REGISTERED, 109);
    EXPECT(RSMERR_CTLR_ALREADY_REGISTERED, 110);
    EXPECT(RSMERR_CTLR_IN_USE, 111);
    EXPECT(RSMERR_NAME_TOO_LONG, 112);
    EXPECT(RSMERR_SEG_PUBLISHED, 113);
    EXPECT(RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR, 114);
    EXPECT(RSMERR_SEG_IN_USE, 115);
    EXPECT(RSMERR_BAD_SENDQ_HNDL, 116);
    EXPECT(RSMERR_BAD_ARGS_ERRORS, 117);
    EXPECT(RSMERR_BAD_MSTYPE, 118);
    EXPECT(RSMERR_NO_BACKING_MEM, 119);
    EXPECT(RSMERR_NOT_MEM, 120);
    EXPECT(RSMERR_MEM_ALREADY_BOUND, 121);
    EXPECT(RSMERR_MEM_NOT_BOUND, 122);
    EXPECT(RSMERR_HANDLER_NOT_REGISTERED, 123);
    EXPECT(RSMERR_NO_HANDLER, 124);
    EXPECT(RSMERR_UNBIND_REBIND_NOT_ALLOWED, 125);
    EXPECT(RSMERR_CALLBACKS_NOT_SUPPORTED, 126);
    EXPECT(RSMERR_UNSUPPORTED_OPERATION, 127);
    EXPECT(RSMERR_RSM_ADDR_UNREACHABLE, 128);
    EXPECT(RSMERR_UNKNOWN_RSM_ADDR, 129);
    EXPECT(RSMERR_BAD_BARRIER_HNDL, 130);
    EXPECT(RSMERR_COMM_ERR_MAYBE_DELIVERED, 131);
    EXPECT(RSMERR_COMM_ERR_NOT_DELIVERED, 132);
    EXPECT(RSMERR_QUEUE_FENCE_UP, 133);
    EXPECT(RSMERR_QUEUE_FULL, 134);
}

static void other_constants(void)
{
    /* SPEC §3.2 */
    EXPECT(RSM_VERSION, 5);
    EXPECT(RSM_MAX_SGIOREQS, 16);
    EXPECT(RSM_CONNECTION_ACTIVE, 3);
    EXPECT(MAXNAMELEN, 256);

    /* SPEC §3.3; RSM_PERM_RDWR must be usable inside expressions. */
    EXPECT(RSM_PERM_NONE, 0);
    EXPECT(RSM_PERM_READ, 256);
    EXPECT(RSM_PERM_WRITE, 128);
    EXPECT(RSM_PERM_RDWR, 384);
    EXPECT(RSM_PERM_RDWR * 2, 768);

    /* SPEC §3.4 */
    EXPECT(RSM_ALLOW_REBIND, 0x01);
    EXPECT(RSM_CREATE_SEG_DONTWAIT, 0x02);
    EXPECT(RSM_IMPLICIT_SIGPOST, 0x01);
    EXPECT(RSM_SIGPOST_NO_ACCUMULATE, 0x02);
    EXPECT(RSM_HANDLE_TYPE, 0x01);
    EXPECT(RSM_VA_TYPE, 0x02);

    /* SPEC §2.3 / §3.5 */
    EXPECT(RSM_MAP_NONE, 0);
    EXPECT(RSM_MAP_FIXED, 1);
    EXPECT(RSM_MAP_RESERVED, 2);
    EXPECT(RSM_DAS8, 1);
    EXPECT(RSM_DAS16, 2);
    EXPECT(RSM_DAS32, 4);
    EXPECT(RSM_DAS64, 8);
    EXPECT(RSM_BARRIER_SEGMENT, 0x01);
    EXPECT(RSM_BARRIER_NODE, 0x02);
    EXPECT(RSM_BARRIER_SEGMENT_THREAD, 0x11);
    EXPECT(RSM_BARRIER_NODE_THREAD, 0x12);
    EXPECT(RSM_BARRIER_MODE_EXPLICIT, 0);
    EXPECT(RSM_BARRIER_MODE_IMPLICIT, 1);
    EXPECT(RSM_BAR_DEFAULT, RSM_BARRIER_SEGMENT);

    /* SPEC §3.6 */
    EXPECT(RSM_DRIVER_PRIVATE_ID_BASE, 0);
    EXPECT(RSM_DRIVER_PRIVATE_ID_END, 0x0FFFFF);
    EXPECT(RSM_CLUSTER_TRANSPORT_ID_BASE, 0x100000);
    EXPECT(RSM_CLUSTER_TRANSPORT_ID_END, 0x1FFFFF);
    EXPECT(RSM_RSMLIB_ID_BASE, 0x200000);
    EXPECT(RSM_RSMLIB_ID_END, 0x2FFFFF);
    EXPECT(RSM_DLPI_ID_BASE, 0x300000);
    EXPECT(RSM_DLPI_ID_END, 0x3FFFFF);
    EXPECT(RSM_HPC_ID_BASE, 0x400000);
    EXPECT(RSM_HPC_ID_END, 0x4FFFFF);
    EXPECT(RSM_OPS_ID_BASE, 0x500000);
    EXPECT(RSM_OPS_ID_END, 0x5FFFFF);
    EXPECT(RSM_USER_APP_ID_BASE, 0x80000000u);
    EXPECT(RSM_USER_APP_ID_END, 0xFFFFFFFFu);

    /* rsmapi_ext.h */
    EXPECT(RSM_EXT_VERSION, 1);
    EXPECT(RSM_LOCK_OPS, 0x100);
    EXPECT(RSM_LOCK_OPS & (RSM_ALLOW_REBIND | RSM_CREATE_SEG_DONTWAIT), 0);
}

/* The declared type of `fn` is exactly `int (params)` / `void (params)`. */
#define EXPECT_PROTO(fn, type) EXPECT(SAME_TYPE(__typeof__(fn), type), 1)

static void prototypes(void)
{
    /* SPEC §4.1 */
    EXPECT_PROTO(rsm_get_controller, int(char *, rsmapi_controller_handle_t *));
    EXPECT_PROTO(rsm_get_controller_attr,
                 int(rsmapi_controller_handle_t, rsmapi_controller_attr_t *));
    EXPECT_PROTO(rsm_release_controller, int(rsmapi_controller_handle_t));
    /* SPEC §4.2 */
    EXPECT_PROTO(rsm_get_interconnect_topology, int(rsm_topology_t **));
    EXPECT_PROTO(rsm_free_interconnect_topology, void(rsm_topology_t *));
    /* SPEC §4.3 */
    EXPECT_PROTO(rsm_memseg_export_create,
                 int(rsmapi_controller_handle_t, rsm_memseg_export_handle_t *,
                     void *, size_t, uint_t));
    EXPECT_PROTO(rsm_memseg_export_destroy, int(rsm_memseg_export_handle_t));
    EXPECT_PROTO(rsm_memseg_export_rebind,
                 int(rsm_memseg_export_handle_t, void *, offset_t, size_t));
    EXPECT_PROTO(rsm_memseg_export_publish,
                 int(rsm_memseg_export_handle_t, rsm_memseg_id_t *,
                     rsmapi_access_entry_t *, uint_t));
    EXPECT_PROTO(rsm_memseg_export_unpublish, int(rsm_memseg_export_handle_t));
    EXPECT_PROTO(rsm_memseg_export_republish,
                 int(rsm_memseg_export_handle_t, rsmapi_access_entry_t *, uint_t));
    /* SPEC §4.4 */
    EXPECT_PROTO(rsm_memseg_import_connect,
                 int(rsmapi_controller_handle_t, rsm_node_id_t, rsm_memseg_id_t,
                     rsm_permission_t, rsm_memseg_import_handle_t *));
    EXPECT_PROTO(rsm_memseg_import_disconnect, int(rsm_memseg_import_handle_t));
    EXPECT_PROTO(rsm_memseg_import_map,
                 int(rsm_memseg_import_handle_t, void **, rsm_attribute_t,
                     rsm_permission_t, off_t, size_t));
    EXPECT_PROTO(rsm_memseg_import_unmap, int(rsm_memseg_import_handle_t));
    /* SPEC §4.5 */
    EXPECT_PROTO(rsm_memseg_import_get8,
                 int(rsm_memseg_import_handle_t, off_t, uint8_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_get16,
                 int(rsm_memseg_import_handle_t, off_t, uint16_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_get32,
                 int(rsm_memseg_import_handle_t, off_t, uint32_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_get64,
                 int(rsm_memseg_import_handle_t, off_t, uint64_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_get,
                 int(rsm_memseg_import_handle_t, off_t, void *, size_t));
    EXPECT_PROTO(rsm_memseg_import_put8,
                 int(rsm_memseg_import_handle_t, off_t, uint8_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_put16,
                 int(rsm_memseg_import_handle_t, off_t, uint16_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_put32,
                 int(rsm_memseg_import_handle_t, off_t, uint32_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_put64,
                 int(rsm_memseg_import_handle_t, off_t, uint64_t *, ulong_t));
    EXPECT_PROTO(rsm_memseg_import_put,
                 int(rsm_memseg_import_handle_t, off_t, void *, size_t));
    /* SPEC §4.6 */
    EXPECT_PROTO(rsm_memseg_import_putv, int(rsm_scat_gath_t *));
    EXPECT_PROTO(rsm_memseg_import_getv, int(rsm_scat_gath_t *));
    EXPECT_PROTO(rsm_create_localmemory_handle,
                 int(rsmapi_controller_handle_t, rsm_localmemory_handle_t *,
                     caddr_t, size_t));
    EXPECT_PROTO(rsm_free_localmemory_handle,
                 int(rsmapi_controller_handle_t, rsm_localmemory_handle_t));
    /* SPEC §4.7 */
    EXPECT_PROTO(rsm_memseg_import_init_barrier,
                 int(rsm_memseg_import_handle_t, rsm_barrier_type_t,
                     rsmapi_barrier_t *));
    EXPECT_PROTO(rsm_memseg_import_open_barrier, int(rsmapi_barrier_t *));
    EXPECT_PROTO(rsm_memseg_import_order_barrier, int(rsmapi_barrier_t *));
    EXPECT_PROTO(rsm_memseg_import_close_barrier, int(rsmapi_barrier_t *));
    EXPECT_PROTO(rsm_memseg_import_destroy_barrier, int(rsmapi_barrier_t *));
    EXPECT_PROTO(rsm_memseg_import_set_mode,
                 int(rsm_memseg_import_handle_t, rsm_barrier_mode_t));
    EXPECT_PROTO(rsm_memseg_import_get_mode,
                 int(rsm_memseg_import_handle_t, rsm_barrier_mode_t *));
    /* SPEC §4.8 */
    EXPECT_PROTO(rsm_intr_signal_post, int(void *, uint_t));
    EXPECT_PROTO(rsm_intr_signal_wait, int(void *, int));
    EXPECT_PROTO(rsm_memseg_get_pollfd, int(void *, struct pollfd *));
    EXPECT_PROTO(rsm_memseg_release_pollfd, int(void *));
    EXPECT_PROTO(rsm_intr_signal_wait_pollfd,
                 int(struct pollfd *, nfds_t, int, int *));
    /* SPEC §4.9 */
    EXPECT_PROTO(rsm_get_segmentid_range,
                 int(const char *, rsm_memseg_id_t *, uint32_t *));

    /* rsmapi_ext.h */
    EXPECT_PROTO(rsm_memseg_import_atomic_fadd64,
                 int(rsm_memseg_import_handle_t, off_t, uint64_t, uint64_t *));
    EXPECT_PROTO(rsm_memseg_import_atomic_cas64,
                 int(rsm_memseg_import_handle_t, off_t, uint64_t, uint64_t,
                     uint64_t *));
    EXPECT_PROTO(rsm_memseg_import_atomic_swap64,
                 int(rsm_memseg_import_handle_t, off_t, uint64_t, uint64_t *));
    EXPECT_PROTO(rsm_memseg_import_lock,
                 int(rsm_memseg_import_handle_t, off_t, int));
    EXPECT_PROTO(rsm_memseg_import_trylock, int(rsm_memseg_import_handle_t, off_t));
    EXPECT_PROTO(rsm_memseg_import_unlock, int(rsm_memseg_import_handle_t, off_t));
}

#ifdef RSM_TEST_LINK
/*
 * Each function assigned to a pointer of its declared type (a mismatch is a
 * compile error under -Werror) and looked up in its version node.
 */
struct entry {
    const char *name;
    const char *node;
    void (*address)(void);
};

/* `(type){ fn }` converts implicitly: a signature mismatch does not compile. */
#define SUNW(fn, type) { #fn, "SUNWprivate_1.1", (void (*)(void))(type){ fn } }
#define EXT(fn, type) { #fn, "RSMEXT_1.0", (void (*)(void))(type){ fn } }

static void linked_functions(void)
{
    const struct entry entries[] = {
    SUNW(rsm_get_controller, int (*)(char *, rsmapi_controller_handle_t *)),
    SUNW(rsm_get_controller_attr,
         int (*)(rsmapi_controller_handle_t, rsmapi_controller_attr_t *)),
    SUNW(rsm_release_controller, int (*)(rsmapi_controller_handle_t)),
    SUNW(rsm_get_interconnect_topology, int (*)(rsm_topology_t **)),
    SUNW(rsm_free_interconnect_topology, void (*)(rsm_topology_t *)),
    SUNW(rsm_memseg_export_create,
         int (*)(rsmapi_controller_handle_t, rsm_memseg_export_handle_t *, void *,
                 size_t, uint_t)),
    SUNW(rsm_memseg_export_destroy, int (*)(rsm_memseg_export_handle_t)),
    SUNW(rsm_memseg_export_rebind,
         int (*)(rsm_memseg_export_handle_t, void *, offset_t, size_t)),
    SUNW(rsm_memseg_export_publish,
         int (*)(rsm_memseg_export_handle_t, rsm_memseg_id_t *,
                 rsmapi_access_entry_t *, uint_t)),
    SUNW(rsm_memseg_export_unpublish, int (*)(rsm_memseg_export_handle_t)),
    SUNW(rsm_memseg_export_republish,
         int (*)(rsm_memseg_export_handle_t, rsmapi_access_entry_t *, uint_t)),
    SUNW(rsm_memseg_import_connect,
         int (*)(rsmapi_controller_handle_t, rsm_node_id_t, rsm_memseg_id_t,
                 rsm_permission_t, rsm_memseg_import_handle_t *)),
    SUNW(rsm_memseg_import_disconnect, int (*)(rsm_memseg_import_handle_t)),
    SUNW(rsm_memseg_import_map,
         int (*)(rsm_memseg_import_handle_t, void **, rsm_attribute_t,
                 rsm_permission_t, off_t, size_t)),
    SUNW(rsm_memseg_import_unmap, int (*)(rsm_memseg_import_handle_t)),
    SUNW(rsm_memseg_import_get8,
         int (*)(rsm_memseg_import_handle_t, off_t, uint8_t *, ulong_t)),
    SUNW(rsm_memseg_import_get16,
         int (*)(rsm_memseg_import_handle_t, off_t, uint16_t *, ulong_t)),
    SUNW(rsm_memseg_import_get32,
         int (*)(rsm_memseg_import_handle_t, off_t, uint32_t *, ulong_t)),
    SUNW(rsm_memseg_import_get64,
         int (*)(rsm_memseg_import_handle_t, off_t, uint64_t *, ulong_t)),
    SUNW(rsm_memseg_import_get,
         int (*)(rsm_memseg_import_handle_t, off_t, void *, size_t)),
    SUNW(rsm_memseg_import_put8,
         int (*)(rsm_memseg_import_handle_t, off_t, uint8_t *, ulong_t)),
    SUNW(rsm_memseg_import_put16,
         int (*)(rsm_memseg_import_handle_t, off_t, uint16_t *, ulong_t)),
    SUNW(rsm_memseg_import_put32,
         int (*)(rsm_memseg_import_handle_t, off_t, uint32_t *, ulong_t)),
    SUNW(rsm_memseg_import_put64,
         int (*)(rsm_memseg_import_handle_t, off_t, uint64_t *, ulong_t)),
    SUNW(rsm_memseg_import_put,
         int (*)(rsm_memseg_import_handle_t, off_t, void *, size_t)),
    SUNW(rsm_memseg_import_putv, int (*)(rsm_scat_gath_t *)),
    SUNW(rsm_memseg_import_getv, int (*)(rsm_scat_gath_t *)),
    SUNW(rsm_create_localmemory_handle,
         int (*)(rsmapi_controller_handle_t, rsm_localmemory_handle_t *, caddr_t,
                 size_t)),
    SUNW(rsm_free_localmemory_handle,
         int (*)(rsmapi_controller_handle_t, rsm_localmemory_handle_t)),
    SUNW(rsm_memseg_import_init_barrier,
         int (*)(rsm_memseg_import_handle_t, rsm_barrier_type_t,
                 rsmapi_barrier_t *)),
    SUNW(rsm_memseg_import_open_barrier, int (*)(rsmapi_barrier_t *)),
    SUNW(rsm_memseg_import_order_barrier, int (*)(rsmapi_barrier_t *)),
    SUNW(rsm_memseg_import_close_barrier, int (*)(rsmapi_barrier_t *)),
    SUNW(rsm_memseg_import_destroy_barrier, int (*)(rsmapi_barrier_t *)),
    SUNW(rsm_memseg_import_set_mode,
         int (*)(rsm_memseg_import_handle_t, rsm_barrier_mode_t)),
    SUNW(rsm_memseg_import_get_mode,
         int (*)(rsm_memseg_import_handle_t, rsm_barrier_mode_t *)),
    SUNW(rsm_intr_signal_post, int (*)(void *, uint_t)),
    SUNW(rsm_intr_signal_wait, int (*)(void *, int)),
    SUNW(rsm_memseg_get_pollfd, int (*)(void *, struct pollfd *)),
    SUNW(rsm_memseg_release_pollfd, int (*)(void *)),
    SUNW(rsm_intr_signal_wait_pollfd, int (*)(struct pollfd *, nfds_t, int, int *)),
    SUNW(rsm_get_segmentid_range, int (*)(const char *, rsm_memseg_id_t *, uint32_t *)),
    EXT(rsm_memseg_import_atomic_fadd64,
        int (*)(rsm_memseg_import_handle_t, off_t, uint64_t, uint64_t *)),
    EXT(rsm_memseg_import_atomic_cas64,
        int (*)(rsm_memseg_import_handle_t, off_t, uint64_t, uint64_t, uint64_t *)),
    EXT(rsm_memseg_import_atomic_swap64,
        int (*)(rsm_memseg_import_handle_t, off_t, uint64_t, uint64_t *)),
    EXT(rsm_memseg_import_lock, int (*)(rsm_memseg_import_handle_t, off_t, int)),
    EXT(rsm_memseg_import_trylock, int (*)(rsm_memseg_import_handle_t, off_t)),
    EXT(rsm_memseg_import_unlock, int (*)(rsm_memseg_import_handle_t, off_t)),
    };
    size_t n = sizeof(entries) / sizeof(entries[0]);
    EXPECT(sizeof(entries) / sizeof(entries[0]), 48);
    for (size_t i = 0; i < n; i++) {
        void *found = dlvsym(RTLD_DEFAULT, entries[i].name, entries[i].node);
        char what[160];
        snprintf(what, sizeof what, "dlvsym(%s, %s) == &%s", entries[i].name,
                 entries[i].node, entries[i].name);
        check(what,
              found != NULL && (uintptr_t)found == (uintptr_t)entries[i].address,
              1);
    }
}
#endif /* RSM_TEST_LINK */

int main(void)
{
    typedefs();
    structures();
    field_types();
    return_codes();
    other_constants();
    prototypes();
#ifdef RSM_TEST_LINK
    linked_functions();
#endif
    printf("layout: %u checks, %u mismatches\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
