/* Private: events to lake rows (rows.c). */
#ifndef HX_LAKE_ROWS_H
#define HX_LAKE_ROWS_H

#include "helix/hx_envelope.h"
#include "helix/hx_lake.h"

#define LAKE_ROW_SCRATCH 32
#define LAKE_ROW_COLS_MAX 32

/* Strings a row made (JSON texts); free after the row is written.
 * data / data_len, when the caller sets them, are the envelope's data as
 * the frame holds it (compact JSON, hx_envelope_decode_raw): data_json is
 * then that text, not a re-serialization of e->data. */
typedef struct lake_row_scratch {
    char *p[LAKE_ROW_SCRATCH];
    size_t n;
    const char *data;
    size_t data_len;
} lake_row_scratch_t;

/* The dataset an event of this type on this topic is archived to, or NULL. */
const hx_lake_dataset_t *lake_dataset_for(const char *topic, const char *type);
/* Fills vals (ds->ncols) from e; strings borrow from e and sc. */
int lake_row_from_envelope(const hx_lake_dataset_t *ds, const hx_envelope_t *e, hx_pq_value_t *vals,
                           lake_row_scratch_t *sc);
/* The row of lake_row_from_envelope read straight from the data's JSON
 * text (e->data is not used; its strings borrow from text, so text must
 * outlive the row): no tree is built. HX_EINVAL when the text is not
 * plain JSON this reader takes (malformed, nested past HX_JR_DEPTH_MAX, a
 * member the row reads given twice or holding an integer out of range): the caller
 * then parses it with jansson, whose verdict stands. */
int lake_row_from_text(const hx_lake_dataset_t *ds, const hx_envelope_t *e, const char *text, size_t len,
                       hx_pq_value_t *vals, lake_row_scratch_t *sc);

/* Where each column of a dataset comes from, worked out once (the
 * archiver keeps one per dataset) instead of by name for every row. */
typedef struct lake_row_plan {
    unsigned char kind[LAKE_ROW_COLS_MAX];   /* LAKE_COL_* (rows.c) */
    const char *member[LAKE_ROW_COLS_MAX];   /* the data member a data column reads */
} lake_row_plan_t;
void lake_row_plan(const hx_lake_dataset_t *ds, lake_row_plan_t *p);
/* lake_row_from_text with the dataset's plan. */
int lake_row_from_text_planned(const hx_lake_dataset_t *ds, const lake_row_plan_t *plan, const hx_envelope_t *e,
                               const char *text, size_t len, hx_pq_value_t *vals, lake_row_scratch_t *sc);
void lake_row_scratch_free(lake_row_scratch_t *sc);

#endif
