/* Private: events to lake rows (rows.c). */
#ifndef HX_LAKE_ROWS_H
#define HX_LAKE_ROWS_H

#include "helix/hx_envelope.h"
#include "helix/hx_lake.h"

#define LAKE_ROW_SCRATCH 4

/* Strings a row made (JSON texts); free after the row is written. */
typedef struct lake_row_scratch {
    char *p[LAKE_ROW_SCRATCH];
    size_t n;
} lake_row_scratch_t;

/* The dataset an event of this type on this topic is archived to, or NULL. */
const hx_lake_dataset_t *lake_dataset_for(const char *topic, const char *type);
/* Fills vals (ds->ncols) from e; strings borrow from e and sc. */
int lake_row_from_envelope(const hx_lake_dataset_t *ds, const hx_envelope_t *e, hx_pq_value_t *vals,
                           lake_row_scratch_t *sc);
void lake_row_scratch_free(lake_row_scratch_t *sc);

#endif
