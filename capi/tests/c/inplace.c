/*
 * inplace.c - rsm_memseg_export_create exports the caller's pages in place
 * (docs/capi.md, "Exporting the caller's memory").  This process is the
 * exporter and looks at its own memory through its own pointers; a separate
 * importer process (the peer) connects, reads and writes.
 *
 *  - create keeps the contents; the pointer keeps working and now reaches
 *    importers, both ways;
 *  - unpublish cuts importers off; the exporter's pages keep their contents;
 *  - rebind makes the new range the segment (importers see its contents); the
 *    old range keeps its last contents as private memory nobody else sees;
 *  - destroy cuts importers off; the range keeps the last contents, private;
 *  - after fork, the child shares the exported pages (they are a shared
 *    mapping), unlike Solaris' private copy-on-write pages.
 *
 * rsm-test: link
 */

#include "rsmtest.h"

static peer_t peer;
static char rest[RSMTEST_LINE];

/* The peer's import slot `k` reads `len` bytes at `off`; compares with `want`. */
static int peer_sees(unsigned k, size_t off, const void *want, size_t len)
{
    int rc = peer_cmd(&peer, rest, sizeof rest, "get %u %zu %zu", k, off, len);
    char hex[2 * 4096 + 1];
    to_hex(hex, want, len);
    if (rc != RSM_SUCCESS || strcmp(rest, hex) != 0) {
        printf("  peer get %zu@%zu: rc %d %s data %s, want %s\n", len, off, rc,
               rc_name(rc), rest, hex);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    RSMTEST_MAIN_PROLOGUE(argc, argv);
    size_t ps = page_size();
    rsmapi_controller_handle_t ctrl;
    if (rsm_get_controller("loopback", &ctrl) != RSM_SUCCESS)
        DIE("no loopback controller");
    peer_start(&peer);

    /* ---- create: contents kept, pointer reaches importers both ways ---- */
    unsigned char *buf = pages_alloc(2);
    fill_pattern(buf, 2 * ps, 1);
    rsm_memseg_export_handle_t seg = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg, buf, 2 * ps, RSM_ALLOW_REBIND),
              RSM_SUCCESS);
    CHECK(has_pattern(buf, 0, 2 * ps, 1));
    memcpy(buf, "ABCD", 4);
    rsm_memseg_id_t id = 0x400010;
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, NULL, 0), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "connect 0 0 %x 600", id), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "barrier 0"), RSM_SUCCESS);
    CHECK(peer_sees(0, 0, "ABCD", 4));
    unsigned char expect[64];
    for (size_t i = 0; i < 32; i++)
        expect[i] = pattern(1, ps + 100 + i);
    CHECK(peer_sees(0, ps + 100, expect, 32));
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "put 0 100 deadbeef"), RSM_SUCCESS);
    CHECK(memcmp(buf + 100, "\xde\xad\xbe\xef", 4) == 0);
    buf[2 * ps - 1] = 0x77;
    CHECK(peer_sees(0, 2 * ps - 1, "\x77", 1));

    /* ---- unpublish: importers cut off, contents stay ---- */
    EXPECT_RC(rsm_memseg_export_unpublish(seg), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "put 0 0 00"), RSMERR_CONN_ABORTED);
    EXPECT_RC(peer_cmd(&peer, rest, sizeof rest, "get 0 0 4"),
              RSMERR_CONN_ABORTED);
    CHECK(memcmp(buf, "ABCD", 4) == 0);
    CHECK(memcmp(buf + 100, "\xde\xad\xbe\xef", 4) == 0);
    CHECK(buf[2 * ps - 1] == 0x77);
    memcpy(buf, "EFGH", 4); /* still our writable memory */
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "disconnect 0"), RSM_SUCCESS);

    /* Published again: the same pages are the segment. */
    EXPECT_RC(rsm_memseg_export_publish(seg, &id, NULL, 0), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "connect 1 0 %x 600", id), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "barrier 1"), RSM_SUCCESS);
    CHECK(peer_sees(1, 0, "EFGH", 4));
    CHECK(peer_sees(1, 100, "\xde\xad\xbe\xef", 4));

    /* ---- rebind: the new range is the segment, the old one is private ---- */
    unsigned char *fresh = pages_alloc(2);
    fill_pattern(fresh, 2 * ps, 2);
    EXPECT_RC(rsm_memseg_export_rebind(seg, fresh, 0, 2 * ps), RSM_SUCCESS);
    CHECK(has_pattern(fresh, 0, 2 * ps, 2));
    for (size_t i = 0; i < 16; i++)
        expect[i] = pattern(2, i);
    CHECK(peer_sees(1, 0, expect, 16)); /* the connection followed the rebind */
    CHECK(memcmp(buf, "EFGH", 4) == 0); /* old range: last contents */
    memcpy(buf, "ZZZZ", 4);             /* ... and nobody else sees it */
    CHECK(peer_sees(1, 0, expect, 4));
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "put 1 8 0102"), RSM_SUCCESS);
    CHECK(fresh[8] == 1 && fresh[9] == 2);
    CHECK(memcmp(buf, "ZZZZ", 4) == 0 && buf[8] == pattern(1, 8));
    fresh[20] = 0x42;
    CHECK(peer_sees(1, 20, "\x42", 1));

    /* A rebind that fails half-way (second page of the new range unmapped)
     * leaves the segment as it was. */
    unsigned char *partial = pages_alloc(2);
    fill_pattern(partial, 2 * ps, 3);
    munmap(partial + ps, ps);
    EXPECT_RC(rsm_memseg_export_rebind(seg, partial, 0, 2 * ps), RSMERR_BAD_ADDR);
    CHECK(fresh[8] == 1 && fresh[9] == 2 && fresh[20] == 0x42);
    CHECK(has_pattern(fresh, 100, 1000, 2));
    for (size_t i = 0; i < 16; i++)
        expect[i] = pattern(2, 100 + i);
    CHECK(peer_sees(1, 100, expect, 16));
    CHECK(peer_sees(1, 20, "\x42", 1));
    fresh[21] = 0x43; /* fresh is still the segment */
    CHECK(peer_sees(1, 21, "\x43", 1));
    munmap(partial, ps);

    /* ---- destroy: importers cut off, last contents stay, private ---- */
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "put 1 0 00"), RSMERR_CONN_ABORTED);
    CHECK(fresh[8] == 1 && fresh[9] == 2 && fresh[20] == 0x42);
    CHECK(has_pattern(fresh, 100, 1000, 2));
    fresh[0] = 0x99;
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "disconnect 1"), RSM_SUCCESS);

    /* ---- after fork the child shares the exported pages ---- */
    rsm_memseg_export_handle_t seg3 = NULL;
    EXPECT_RC(rsm_memseg_export_create(ctrl, &seg3, buf, 2 * ps, 0), RSM_SUCCESS);
    id = 0x400011;
    EXPECT_RC(rsm_memseg_export_publish(seg3, &id, NULL, 0), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "connect 2 0 %x 600", id), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "barrier 2"), RSM_SUCCESS);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        memcpy(buf + 200, "child", 5);
        _exit(0);
    }
    int st = wait_child(child, 10000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(memcmp(buf + 200, "child", 5) == 0);
    CHECK(peer_sees(2, 200, "child", 5));
    EXPECT_RC(rsm_memseg_export_destroy(seg3), RSM_SUCCESS);
    EXPECT_RC(peer_cmd(&peer, NULL, 0, "disconnect 2"), RSM_SUCCESS);

    CHECK(peer_stop(&peer) == 0);
    EXPECT_RC(rsm_release_controller(ctrl), RSM_SUCCESS);
    munmap(buf, 2 * ps);
    munmap(fresh, 2 * ps);
    return test_summary("inplace");
}
