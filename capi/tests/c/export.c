/*
 * export.c - the export side (SPEC.md §4.3, §3.6, §5.2-5.4): create, publish,
 * republish, unpublish, rebind, destroy; every error reachable on one node,
 * in the reference order; stale and foreign export handles; the creator rule
 * in a forked child.
 *
 * rsm-test: link
 */

#include "rsmtest.h"

#include <sys/resource.h>

static rsmapi_controller_handle_t ctrl;

static void create_errors(void)
{
    size_t ps = page_size();
    unsigned char *buf = pages_alloc(4);
    rsm_memseg_export_handle_t seg = (rsm_memseg_export_handle_t)1;

    EXPECT_RC(rsm_memseg_export_create(NULL, &seg, buf, ps, 0),
              RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_memseg_export_create((rsmapi_controller_handle_t)buf, &seg,
                                       buf, ps, 0),
              RSMERR_BAD_CTLR_HNDL);
    CHECK(seg == (rsm_memseg_export_handle_t)1);
    EXPECT_RC(rsm_memseg_export_create(ctrl, NULL, buf, ps, 0),
              RSMERR_BAD_SEG_HNDL);
    /* Controller before memseg, as in the reference. */
    EXPECT_RC(rsm_memseg_export_create(NULL, NULL, NULL, 0, 0),
              RSMERR_BAD_CTLR_HNDL);
    /* *memseg is cleared before the remaining checks. */
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, NULL, ps, 0),
              RSMERR_BAD_ADDR);
    CHECK(seg == NULL);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, 0, 0),
              RSMERR_BAD_LENGTH);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, NULL, 0, 0),
              RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf + 8, ps, 0),
              RSMERR_BAD_MEM_ALIGNMENT);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, ps + 8, 0),
              RSMERR_BAD_MEM_ALIGNMENT);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, ps - 1, 0),
              RSMERR_BAD_MEM_ALIGNMENT);

    /* A range that is not mapped. */
    unsigned char *hole = pages_alloc(2);
    munmap(hole, 2 * ps);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, hole, 2 * ps, 0),
              RSMERR_BAD_ADDR);
    CHECK(seg == NULL);

    /* More than the namespace's file system holds: refused up front. */
    rsmapi_controller_attr_t attr;
    EXPECT_RC(rsm_get_controller_attr(ctrl, &attr), RSM_SUCCESS);
    size_t huge = (attr.attr_tot_export_segment_size / ps + 1) * ps;
    void *big = mmap(NULL, huge, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (big != MAP_FAILED) {
        EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, big, huge, 0),
                  RSMERR_INSUFFICIENT_MEM);
        munmap(big, huge);
    } else {
        printf("note: cannot reserve %zu bytes of address space (%s); "
               "RSMERR_INSUFFICIENT_MEM not tested\n", huge, strerror(errno));
    }

    /* No descriptor left for the segment's file. */
    struct rlimit rl, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    int top = dup(0);
    close(top);
    low.rlim_cur = (rlim_t)top;
    low.rlim_max = rl.rlim_max;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, ps, 0),
              RSMERR_INSUFFICIENT_RESOURCES);
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(seg == NULL);

    /* Success; unknown flag bits are ignored; one range, one segment. */
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, 2 * ps,
                                       RSM_ALLOW_REBIND | RSM_CREATE_SEG_DONTWAIT |
                                           0x80000000u),
              RSM_SUCCESS);
    CHECK(seg != NULL);
    rsm_memseg_export_handle_t other = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &other, buf + ps, 2 * ps, 0),
              RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &other, buf, ps, 0),
              RSMERR_BAD_ADDR);
    CHECK(other == NULL);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &other, buf + 2 * ps, 2 * ps, 0),
              RSM_SUCCESS);
    /* Rebinding onto memory another segment exports is refused too. */
    EXPECT_RC(rsm_memseg_export_rebind(seg, buf + 2 * ps, 0, 2 * ps),
              RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_memseg_export_destroy(other), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);
    /* After destroy the range may be exported again. */
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, 4 * ps, 0), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);
    munmap(buf, 4 * ps);
}

static void publish_rules(void)
{
    size_t ps = page_size();
    unsigned char *buf = pages_alloc(2);
    unsigned char *buf2 = pages_alloc(1);
    rsm_memseg_export_handle_t seg = NULL, seg2 = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, 2 * ps, 0), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg2, buf2, ps, 0), RSM_SUCCESS);

    rsm_memseg_id_t id = 0x400123;
    rsmapi_access_entry_t acl[2] = {{0, 0666}, {0, 0600}};

    /* Check order: segment_id, handle, NULL list with a length. */
    EXPECT_RC(rsm_memseg_export_publish(seg, NULL, acl, 1), RSMERR_BAD_SEGID);
    EXPECT_RC(rsm_memseg_export_publish(NULL, NULL, acl, 1), RSMERR_BAD_SEGID);
    EXPECT_RC(rsm_memseg_export_publish(NULL, &id, acl, 1), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_publish((rsm_memseg_export_handle_t)acl, &id,
                                        acl, 1),
              RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, NULL, 1), RSMERR_BAD_ACL);

    /* Reserved ids (SPEC.md §3.6). */
    static const rsm_memseg_id_t reserved[] = {1, 0x100000, 0x200000, 0x3fffff,
                                               0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        rsm_memseg_id_t r = reserved[i];
        EXPECT_RC(rsm_memseg_export_publish(seg, &r, NULL, 0),
                  RSMERR_RESERVED_SEGID);
        CHECK(r == reserved[i]);
    }

    /* Access lists: at most one entry on loopback, naming the local node, with a
     * permission of at most 0666. */
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, acl, 2), RSMERR_BAD_ACL);
    rsmapi_access_entry_t bad_node = {1, 0666};
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, &bad_node, 1), RSMERR_BAD_ACL);
    rsmapi_access_entry_t far_node = {65, 0666};
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, &far_node, 1), RSMERR_BAD_ACL);
    rsmapi_access_entry_t bad_perm = {0, 0700};
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, &bad_perm, 1), RSMERR_BAD_ACL);
    rsmapi_access_entry_t big_perm = {0, 0667};
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, &big_perm, 1), RSMERR_BAD_ACL);
    /* Over-long lists: a huge length is refused after reading 65 entries. */
    static rsmapi_access_entry_t many[65];
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, many, 65), RSMERR_BAD_ACL);
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, many, 0xffffffffu),
              RSMERR_BAD_ACL);

    /* Success with an application id and a one-entry list. */
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, acl, 1), RSM_SUCCESS);
    CHECK(id == 0x400123);
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, acl, 1),
              RSMERR_SEG_ALREADY_PUBLISHED);
    /* Already published wins over a reserved id. */
    rsm_memseg_id_t r1 = 1;
    EXPECT_RC(rsm_memseg_export_publish(seg, &r1, NULL, 0),
              RSMERR_SEG_ALREADY_PUBLISHED);

    /* The id is taken on this node; an automatic id comes from 0x80000000 up. */
    rsm_memseg_id_t same = 0x400123;
    EXPECT_RC(rsm_memseg_export_publish(seg2, &same, NULL, 0),
              RSMERR_SEGID_IN_USE);
    rsm_memseg_id_t autoid = 0;
    EXPECT_RC(rsm_memseg_export_publish(seg2, &autoid, NULL, 0), RSM_SUCCESS);
    CHECK(autoid >= 0x80000000u);

    /* Republish: list replaced; the same list rules. */
    EXPECT_RC(rsm_memseg_export_republish(seg, acl, 1), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_republish(seg, NULL, 0), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_republish(seg, NULL, 1), RSMERR_BAD_ACL);
    EXPECT_RC(rsm_memseg_export_republish(seg, &bad_perm, 1), RSMERR_BAD_ACL);
    EXPECT_RC(rsm_memseg_export_republish(seg, acl, 2), RSMERR_BAD_ACL);
    EXPECT_RC(rsm_memseg_export_republish(NULL, acl, 1), RSMERR_BAD_SEG_HNDL);

    /* Unpublish; then republish/unpublish are SEG_NOT_PUBLISHED (before the list
     * checks), and the id is free again. */
    EXPECT_RC(rsm_memseg_export_unpublish(seg), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_unpublish(seg), RSMERR_SEG_NOT_PUBLISHED);
    EXPECT_RC(rsm_memseg_export_republish(seg, acl, 1), RSMERR_SEG_NOT_PUBLISHED);
    EXPECT_RC(rsm_memseg_export_republish(seg, NULL, 1), RSMERR_SEG_NOT_PUBLISHED);
    EXPECT_RC(rsm_memseg_export_unpublish(NULL), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_unpublish(seg2), RSM_SUCCESS);
    same = 0x400123;
    EXPECT_RC(rsm_memseg_export_publish(seg2, &same, NULL, 0), RSM_SUCCESS);
    /* Published again, with another id. */
    rsm_memseg_id_t again = 0x5abcde;
    EXPECT_RC(rsm_memseg_export_publish(seg, &again, NULL, 0), RSM_SUCCESS);
    CHECK(again == 0x5abcde);

    /* Destroy unpublishes. */
    EXPECT_RC(rsm_memseg_export_destroy(seg2), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);
    munmap(buf, 2 * ps);
    munmap(buf2, ps);
}

static void rebind_rules(void)
{
    size_t ps = page_size();
    unsigned char *a = pages_alloc(2), *b = pages_alloc(2), *c = pages_alloc(3);
    rsm_memseg_export_handle_t fixed = NULL, seg = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &fixed, a, 2 * ps, 0), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_rebind(fixed, b, 0, 2 * ps),
              RSMERR_REBIND_NOT_ALLOWED);
    EXPECT_RC(rsm_memseg_export_destroy(fixed), RSM_SUCCESS);

    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, a, 2 * ps, RSM_ALLOW_REBIND),
              RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_rebind(NULL, b, 0, 2 * ps), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_rebind(seg, NULL, 0, 2 * ps), RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_memseg_export_rebind(seg, c, 0, 3 * ps), RSMERR_BAD_LENGTH);
    EXPECT_RC(rsm_memseg_export_rebind(seg, b, 0, 2 * ps - 8), RSMERR_BAD_LENGTH);
    EXPECT_RC(rsm_memseg_export_rebind(seg, b + 8, 0, 2 * ps), RSMERR_BAD_ADDR);
    unsigned char *hole = pages_alloc(2);
    munmap(hole, 2 * ps);
    EXPECT_RC(rsm_memseg_export_rebind(seg, hole, 0, 2 * ps), RSMERR_BAD_ADDR);
    /* Same address: no-op; new range (published or not): success. `off` is
     * ignored. */
    EXPECT_RC(rsm_memseg_export_rebind(seg, a, 12345, 2 * ps), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_rebind(seg, b, 0, 2 * ps), RSM_SUCCESS);
    rsm_memseg_id_t id = 0;
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, NULL, 0), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_rebind(seg, a, 0, 2 * ps), RSM_SUCCESS);
    /* b is free again: another segment may export it. */
    rsm_memseg_export_handle_t other = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &other, b, 2 * ps, 0), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_rebind(seg, b, 0, 2 * ps), RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_memseg_export_destroy(other), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);
    munmap(a, 2 * ps);
    munmap(b, 2 * ps);
    munmap(c, 3 * ps);
}

static void stale_and_foreign(void)
{
    size_t ps = page_size();
    unsigned char *buf = pages_alloc(1);
    rsm_memseg_export_handle_t seg = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, ps, RSM_ALLOW_REBIND),
              RSM_SUCCESS);
    rsm_memseg_id_t id = 0;
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, NULL, 0), RSM_SUCCESS);

    /* A poll reference blocks destroy until released. */
    struct pollfd pf;
    EXPECT_RC(rsm_memseg_get_pollfd(seg, &pf), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_get_pollfd(seg, &pf), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSMERR_POLLFD_IN_USE);
    /* ... but not unpublish (as in Solaris). */
    EXPECT_RC(rsm_memseg_export_unpublish(seg), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_release_pollfd(seg), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSMERR_POLLFD_IN_USE);
    EXPECT_RC(rsm_memseg_release_pollfd(seg), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_release_pollfd(seg), RSM_SUCCESS); /* none held: no-op */
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);

    /* Every export function on the destroyed handle. */
    rsm_memseg_id_t nid = 0;
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_publish(seg, &nid, NULL, 0), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_republish(seg, NULL, 0), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_unpublish(seg), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_rebind(seg, buf, 0, ps), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_intr_signal_post(seg, 0), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_intr_signal_wait(seg, 0), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_get_pollfd(seg, &pf), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_release_pollfd(seg), RSMERR_BAD_SEG_HNDL);

    /* The slot is reused by the next segment; the old value stays stale. */
    rsm_memseg_export_handle_t next = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &next, buf, ps, 0), RSM_SUCCESS);
    CHECK(next != seg);
    EXPECT_RC(rsm_memseg_export_unpublish(seg), RSMERR_BAD_SEG_HNDL);
    EXPECT_RC(rsm_memseg_export_unpublish(next), RSMERR_SEG_NOT_PUBLISHED);

    /* Foreign values: NULL, addresses, integers, a controller handle. */
    void *foreign[] = {NULL, buf, &pf, (void *)1, (void *)-1, (void *)ctrl,
                       (void *)((uintptr_t)next ^ ((uintptr_t)1 << 40))};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        rsm_memseg_export_handle_t f = foreign[i];
        EXPECT_RC(rsm_memseg_export_destroy(f), RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_memseg_export_publish(f, &nid, NULL, 0),
                  RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_memseg_export_unpublish(f), RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_memseg_export_republish(f, NULL, 0), RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_memseg_export_rebind(f, buf, 0, ps), RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_intr_signal_post(f, 0), RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_intr_signal_wait(f, 0), RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_memseg_get_pollfd(f, &pf), RSMERR_BAD_SEG_HNDL);
        EXPECT_RC(rsm_memseg_release_pollfd(f), RSMERR_BAD_SEG_HNDL);
    }
    EXPECT_RC(rsm_memseg_export_destroy(next), RSM_SUCCESS);
    munmap(buf, ps);
}

/* After fork the child is not the creator (SPEC.md §5.2): it may not publish,
 * republish, unpublish or rebind. */
static void not_creator(void)
{
    size_t ps = page_size();
    unsigned char *buf = pages_alloc(1), *fresh = pages_alloc(1);
    rsm_memseg_export_handle_t seg = NULL, pub = NULL;
    unsigned char *buf2 = pages_alloc(1);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, ps, RSM_ALLOW_REBIND),
              RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_create(ctrl, &pub, buf2, ps, 0), RSM_SUCCESS);
    rsm_memseg_id_t pid_id = 0x400777;
    EXPECT_RC(rsm_memseg_export_publish(pub, &pid_id, NULL, 0), RSM_SUCCESS);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        rsm_memseg_id_t id = 0x400778;
        int bad = 0;
        bad |= !EXPECT_RC(rsm_memseg_export_publish(seg, &id, NULL, 0),
                          RSMERR_NOT_CREATOR);
        bad |= !EXPECT_RC(rsm_memseg_export_rebind(seg, fresh, 0, ps),
                          RSMERR_NOT_CREATOR);
        bad |= !EXPECT_RC(rsm_memseg_export_unpublish(pub), RSMERR_NOT_CREATOR);
        bad |= !EXPECT_RC(rsm_memseg_export_republish(pub, NULL, 0),
                          RSMERR_NOT_CREATOR);
        fflush(stdout);
        _exit(bad);
    }
    int st = wait_child(child, 10000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The parent is still the creator. */
    EXPECT_RC(rsm_memseg_export_unpublish(pub), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(pub), RSM_SUCCESS);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);
}

int main(void)
{
    if (rsm_get_controller("loopback", &ctrl) != RSM_SUCCESS)
        DIE("no loopback controller");
    create_errors();
    publish_rules();
    rebind_rules();
    stale_and_foreign();
    not_creator();
    EXPECT_RC(rsm_release_controller(ctrl), RSM_SUCCESS);
    return test_summary("export");
}
