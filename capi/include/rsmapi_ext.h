/*
 * <rsmapi_ext.h> - rsm extension to RSMAPI: lock segments.
 *
 * THIS IS NOT PART OF THE SOLARIS INTERFACE.  Solaris documented an export
 * flag RSM_LOCK_OPS ("the segment can be used for lock operations") and the
 * codes RSMERR_LOCKS_NOT_SUPPORTED / RSMERR_LOCKS_NOT_ENABLED, but never
 * defined the flag nor shipped any lock function.  rsm provides them here, in
 * a separate header so that <rsmapi.h> stays faithful: a program that includes
 * only <rsmapi.h> sees exactly the Solaris interface.
 *
 * The functions below are exported by librsm.so.2 in the symbol-version node
 * RSMEXT_1.0 (the 42 Solaris functions are in SUNWprivate_1.1).
 *
 * Rules common to all six functions:
 *
 *  - im_memseg is a connected import handle (NULL, stale or foreign handle:
 *    RSMERR_BAD_SEG_HNDL).
 *  - offset is the byte offset of a 64-bit word of the segment.  It must be a
 *    multiple of 8 (RSMERR_BAD_MEM_ALIGNMENT) and the word must lie inside
 *    the segment, 0 <= offset && offset + 8 <= segment size
 *    (RSMERR_BAD_OFFSET).
 *  - The exporter must have created the segment with RSM_LOCK_OPS in the
 *    flags of rsm_memseg_export_create (otherwise RSMERR_LOCKS_NOT_ENABLED).
 *    A controller without remote atomics returns RSMERR_LOCKS_NOT_SUPPORTED.
 *  - The connection needs RSM_PERM_RDWR (otherwise RSMERR_PERM_DENIED).
 *  - The operations are atomic with respect to one another from every
 *    importer, need no barrier and ignore the barrier mode.  Once the
 *    exporter has unpublished or destroyed the segment, or has died, they
 *    return RSMERR_CONN_ABORTED.
 *  - When several rules are broken, the first of this order is reported:
 *    RSMERR_BAD_SEG_HNDL, RSMERR_LOCKS_NOT_SUPPORTED,
 *    RSMERR_LOCKS_NOT_ENABLED, RSMERR_BAD_MEM_ALIGNMENT, RSMERR_PERM_DENIED,
 *    RSMERR_BAD_OFFSET (a negative offset too), RSMERR_CONN_ABORTED.
 */

#ifndef _RSMAPI_EXT_H
#define _RSMAPI_EXT_H

#include <rsmapi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this extension interface. */
#define RSM_EXT_VERSION 1

/*
 * rsm_memseg_export_create flag: importers may use the atomic and lock
 * operations below on this segment.
 */
#define RSM_LOCK_OPS 0x100

/* ---- 64-bit atomics ----------------------------------------------------- */

/*
 * Atomically add `add` (modulo 2^64) to the word at `offset`.  The value the
 * word had before is stored in *old unless old is NULL.
 */
int rsm_memseg_import_atomic_fadd64(rsm_memseg_import_handle_t im_memseg,
    off_t offset, uint64_t add, uint64_t *old);

/*
 * Atomically replace the word at `offset` by `desired` if it equals
 * `expected`.  The value the word had before is stored in *old unless old is
 * NULL; the swap happened exactly when that value equals `expected`.
 * Returns RSM_SUCCESS whether or not the values matched.
 */
int rsm_memseg_import_atomic_cas64(rsm_memseg_import_handle_t im_memseg,
    off_t offset, uint64_t expected, uint64_t desired, uint64_t *old);

/*
 * Atomically store `value` in the word at `offset`.  The value the word had
 * before is stored in *old unless old is NULL.
 */
int rsm_memseg_import_atomic_swap64(rsm_memseg_import_handle_t im_memseg,
    off_t offset, uint64_t value, uint64_t *old);

/* ---- Locks ------------------------------------------------------------- */

/*
 * A lock is a 64-bit word of the segment: 0 means free, any other value is
 * the token of the holder.  The exporter initializes lock words to 0 and
 * nobody writes them except through these functions.  A lock belongs to the
 * thread that took it, through the import handle it used: other threads of
 * the same process wait for it like other processes do.  Locks are not
 * recursive.  A lock whose holder process has died is released
 * automatically by the next caller that waits for it.
 */

/*
 * Acquire the lock at `offset`.  timeout_ms has the meaning of the timeout of
 * rsm_intr_signal_wait: -1 waits without limit, 0 tries once, a positive
 * value gives up after that many milliseconds.  Returns RSMERR_TIMEOUT if the
 * lock could not be acquired in time, and RSMERR_PERM_DENIED at once if the
 * calling thread already holds it through this handle (it would never be
 * granted).
 */
int rsm_memseg_import_lock(rsm_memseg_import_handle_t im_memseg, off_t offset,
    int timeout_ms);

/*
 * Acquire the lock at `offset` if it is free; RSMERR_TIMEOUT if it is held,
 * also by the calling thread.
 */
int rsm_memseg_import_trylock(rsm_memseg_import_handle_t im_memseg,
    off_t offset);

/*
 * Release the lock at `offset`.  RSMERR_PERM_DENIED if the calling thread
 * does not hold it through this handle.
 */
int rsm_memseg_import_unlock(rsm_memseg_import_handle_t im_memseg,
    off_t offset);

#ifdef __cplusplus
}
#endif

#endif /* _RSMAPI_EXT_H */
