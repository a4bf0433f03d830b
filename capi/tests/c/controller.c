/*
 * controller.c - controllers, topology and segment-id ranges (SPEC.md §4.1,
 * §4.2, §4.9): success paths, every error reachable on one node, stale and
 * foreign controller handles.
 *
 * rsm-test: link
 */

#include "rsmtest.h"

static void controllers(void)
{
    rsmapi_controller_handle_t c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    rsmapi_controller_handle_t bad = (rsmapi_controller_handle_t)1;

    /* NULL name is "loopback"; all spellings name one reference-counted handle. */
    EXPECT_RC(rsm_get_controller(NULL, &c1), RSM_SUCCESS);
    CHECK(c1 != NULL);
    EXPECT_RC(rsm_get_controller("loopback", &c2), RSM_SUCCESS);
    EXPECT_RC(rsm_get_controller("LoopBack7", &c3), RSM_SUCCESS);
    EXPECT_RC(rsm_get_controller("shm0", &c4), RSM_SUCCESS);
    CHECK(c1 == c2 && c2 == c3 && c3 == c4);

    /* Unknown, malformed and over-long names. */
    rsmapi_controller_handle_t none = bad;
    EXPECT_RC(rsm_get_controller("sci0", &none), RSMERR_CTLR_NOT_PRESENT);
    CHECK(none == bad);
    EXPECT_RC(rsm_get_controller("", &none), RSMERR_CTLR_NOT_PRESENT);
    EXPECT_RC(rsm_get_controller("tcp0", &none), RSMERR_CTLR_NOT_PRESENT);
    EXPECT_RC(rsm_get_controller("mlx5_0", &none), RSMERR_CTLR_NOT_PRESENT);
    EXPECT_RC(rsm_get_controller("shm1", &none), RSMERR_CTLR_NOT_PRESENT);
    EXPECT_RC(rsm_get_controller("\xff\xfeloopback", &none),
              RSMERR_CTLR_NOT_PRESENT);
    char name[400];
    memset(name, 'a', sizeof name);
    name[sizeof name - 1] = '\0';
    EXPECT_RC(rsm_get_controller(name, &none), RSMERR_CTLR_NOT_PRESENT);
    /* "loopback" and 247 unit digits: 255 bytes, the longest name accepted. */
    memcpy(name, "loopback", 8);
    memset(name + 8, '0', 247);
    name[255] = '\0';
    rsmapi_controller_handle_t longest = NULL;
    EXPECT_RC(rsm_get_controller(name, &longest), RSM_SUCCESS);
    CHECK(longest == c1);
    EXPECT_RC(rsm_release_controller(longest), RSM_SUCCESS);
    name[255] = '0'; /* 256 bytes: too long */
    name[256] = '\0';
    EXPECT_RC(rsm_get_controller(name, &none), RSMERR_CTLR_NOT_PRESENT);
    CHECK(none == bad);
    EXPECT_RC(rsm_get_controller("loopback", NULL), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_get_controller("sci0", NULL), RSMERR_BAD_CTLR_HNDL);

    /* Attributes: the real values of the shared-memory controller. */
    rsmapi_controller_attr_t a;
    memset(&a, 0xA5, sizeof a);
    EXPECT_RC(rsm_get_controller_attr(c1, &a), RSM_SUCCESS);
    CHECK(a.attr_direct_access_sizes ==
          (uint_t)(RSM_DAS8 | RSM_DAS16 | RSM_DAS32 | RSM_DAS64));
    CHECK(a.attr_atomic_sizes == (uint_t)RSM_DAS64);
    CHECK(a.attr_page_size == page_size());
    CHECK(a.attr_max_export_segment_size > 0);
    CHECK(a.attr_tot_export_segment_size >= a.attr_max_export_segment_size);
    CHECK(a.attr_max_export_segments > 0);
    CHECK(a.attr_max_import_segments > 0);
    CHECK(a.attr_max_import_map_size > 0);
    EXPECT_RC(rsm_get_controller_attr(c1, NULL), RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_get_controller_attr(NULL, &a), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_get_controller_attr(NULL, NULL), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_get_controller_attr((rsmapi_controller_handle_t)&a, &a),
              RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_get_controller_attr(bad, &a), RSMERR_BAD_CTLR_HNDL);

    /* Foreign handles: addresses, small integers, other kinds of handles. */
    EXPECT_RC(rsm_release_controller(NULL), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_release_controller((rsmapi_controller_handle_t)&a),
              RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_release_controller(bad), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_release_controller(
                  (rsmapi_controller_handle_t)((uintptr_t)c1 ^ 1)),
              RSMERR_BAD_CTLR_HNDL);

    /* An export handle is not a controller handle. */
    void *buf = pages_alloc(1);
    rsm_memseg_export_handle_t seg = NULL;
    EXPECT_RC(rsm_memseg_export_create(c1, &seg, buf, page_size(), 0),
              RSM_SUCCESS);
    EXPECT_RC(rsm_get_controller_attr((rsmapi_controller_handle_t)seg, &a),
              RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_release_controller((rsmapi_controller_handle_t)seg),
              RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_memseg_export_destroy(seg), RSM_SUCCESS);

    /* Four gets, four releases; then the handle is stale everywhere. */
    for (int i = 0; i < 4; i++)
        EXPECT_RC(rsm_release_controller(c1), RSM_SUCCESS);
    EXPECT_RC(rsm_release_controller(c1), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_get_controller_attr(c1, &a), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_memseg_export_create(c1, &seg, buf, page_size(), 0),
              RSMERR_BAD_CTLR_HNDL);
    rsm_memseg_import_handle_t im = NULL;
    EXPECT_RC(rsm_memseg_import_connect(c1, 0, 0x400000, RSM_PERM_RDWR, &im),
              RSMERR_BAD_CTLR_HNDL);
    rsm_localmemory_handle_t lm = NULL;
    EXPECT_RC(rsm_create_localmemory_handle(c1, &lm, buf, page_size()),
              RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_free_localmemory_handle(c1, lm), RSMERR_BAD_CTLR_HNDL);

    /* A new get gives a working handle with a different value. */
    rsmapi_controller_handle_t again = NULL;
    EXPECT_RC(rsm_get_controller("loopback", &again), RSM_SUCCESS);
    CHECK(again != NULL && again != c1);
    EXPECT_RC(rsm_get_controller_attr(again, &a), RSM_SUCCESS);
    EXPECT_RC(rsm_get_controller_attr(c1, &a), RSMERR_BAD_CTLR_HNDL);
    EXPECT_RC(rsm_release_controller(again), RSM_SUCCESS);
    EXPECT_RC(rsm_release_controller(again), RSMERR_BAD_CTLR_HNDL);
    munmap(buf, page_size());
}

static void topology(void)
{
    rsm_topology_t *t = (rsm_topology_t *)1;
    EXPECT_RC(rsm_get_interconnect_topology(NULL), RSMERR_BAD_TOPOLOGY_PTR);
    EXPECT_RC(rsm_get_interconnect_topology(&t), RSM_SUCCESS);
    CHECK(t != NULL && t != (rsm_topology_t *)1);
    if (t != NULL && t != (rsm_topology_t *)1) {
        CHECK(t->topology_hdr.local_nodeid == 0);
        /* Only the shared-memory controller: it is not an adapter. */
        CHECK(t->topology_hdr.local_cntlr_count == 0);
        CHECK(t->connections[0] == NULL);
        rsm_free_interconnect_topology(t);
    }
    /* NULL, foreign pointers and a second free are ignored. */
    rsm_free_interconnect_topology(NULL);
    rsm_topology_t local;
    rsm_free_interconnect_topology(&local);
    rsm_free_interconnect_topology(t);

    /* The node id comes from RSM_NODE_ID at each call. */
    setenv("RSM_NODE_ID", "5", 1);
    EXPECT_RC(rsm_get_interconnect_topology(&t), RSM_SUCCESS);
    CHECK(t != NULL && t->topology_hdr.local_nodeid == 5);
    rsm_free_interconnect_topology(t);
    setenv("RSM_NODE_ID", "five", 1);
    t = (rsm_topology_t *)1;
    EXPECT_RC(rsm_get_interconnect_topology(&t), RSMERR_BAD_CONF);
    CHECK(t == NULL);
    setenv("RSM_NODE_ID", "0", 1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        DIE("cannot write %s", path);
}

static void segmentid_range(void)
{
    const char *path = "controller-segmentid.conf";
    write_file(path, "# reserved ranges\n"
                     "  \treserved SUNWfoo 0x600000 1000\n"
                     "RESERVED bar 700000 5\n");
    setenv("RSM_SEGMENTID_FILE", path, 1);
    rsm_memseg_id_t base = 0;
    uint32_t len = 0;
    EXPECT_RC(rsm_get_segmentid_range("SUNWfoo", &base, &len), RSM_SUCCESS);
    CHECK(base == 0x600000 && len == 1000);
    EXPECT_RC(rsm_get_segmentid_range("sunwFOO", &base, &len), RSM_SUCCESS);
    CHECK(base == 0x600000 && len == 1000);
    EXPECT_RC(rsm_get_segmentid_range("bar", &base, &len), RSM_SUCCESS);
    CHECK(base == 0x700000 && len == 5);
    base = 1;
    len = 2;
    EXPECT_RC(rsm_get_segmentid_range("baz", &base, &len), RSMERR_BAD_APPID);
    CHECK(base == 1 && len == 2);
    EXPECT_RC(rsm_get_segmentid_range(NULL, &base, &len), RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_get_segmentid_range("bar", NULL, &len), RSMERR_BAD_ADDR);
    EXPECT_RC(rsm_get_segmentid_range("bar", &base, NULL), RSMERR_BAD_ADDR);

    /* The Guide's "reserve" keyword, a blank line, a short line: BAD_CONF. */
    write_file(path, "reserve SUNWfoo 0x600000 1000\n");
    EXPECT_RC(rsm_get_segmentid_range("SUNWfoo", &base, &len), RSMERR_BAD_CONF);
    write_file(path, "reserved a 0x1 1\n\nreserved SUNWfoo 0x2 2\n");
    EXPECT_RC(rsm_get_segmentid_range("SUNWfoo", &base, &len), RSMERR_BAD_CONF);
    write_file(path, "reserved SUNWfoo 0x600000\n");
    EXPECT_RC(rsm_get_segmentid_range("SUNWfoo", &base, &len), RSMERR_BAD_CONF);
    unlink(path);
    EXPECT_RC(rsm_get_segmentid_range("SUNWfoo", &base, &len), RSMERR_BAD_CONF);
    unsetenv("RSM_SEGMENTID_FILE");
}

int main(void)
{
    controllers();
    topology();
    segmentid_range();
    return test_summary("controller");
}
