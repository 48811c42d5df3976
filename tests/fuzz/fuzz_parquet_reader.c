/* Parquet files come from anywhere (other writers, a damaged disk): the
 * reader must reject bad footers, Thrift, page headers, levels, encodings and
 * compressed pages with an error, never crash or overread. Every readable row
 * group is decoded in full and the predicates evaluated over it. */
#include "helix/hx_parquet.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The reader borrows the image: give it an exact-size copy so ASan sees
     * any read past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    hx_pq_reader_t *r;
    hx_err_t err;
    if (hx_pq_reader_open_mem(copy, size, &r, &err) != 0) {
        free(copy);
        return 0;
    }
    size_t nc = hx_pq_reader_ncols(r);
    for (size_t g = 0; g < hx_pq_reader_nrowgroups(r); g++) {
        for (size_t c = 0; c < nc; c++) {
            hx_pq_stats_t st;
            hx_pq_reader_stats(r, g, c, &st);
            hx_pq_pred_t p = {.col = (int)c, .op = (hx_pq_op_t)(c % 6), .i = 5, .d = 0.5, .s = "m", .n = 1};
            (void)hx_pq_rowgroup_pruned(r, g, &p, 1);
        }
        /* Bound the work a claimed row count can cause per input. */
        if (hx_pq_reader_rowgroup_rows(r, g) > 200000)
            continue;
        hx_pq_batch_t b;
        if (hx_pq_read_rowgroup(r, g, NULL, 0, &b, &err) == 0) {
            for (size_t c = 0; c < b.ncols; c++) {
                hx_pq_pred_t p = {.col = b.cols[c], .op = HX_PQ_GE, .i = 0, .d = 0, .s = "", .n = 0};
                for (size_t i = 0; i < b.nrows; i++)
                    (void)hx_pq_pred_match(&p, &b.vecs[c], i);
                if (b.vecs[c].off && b.vecs[c].off[b.nrows] > 0)
                    (void)b.vecs[c].data[b.vecs[c].off[b.nrows] - 1];
            }
        }
        hx_pq_batch_free(&b);
    }
    (void)hx_pq_reader_kv(r, "helix.offsets");
    hx_pq_reader_close(r);
    free(copy);
    return 0;
}
