/* Metrics registry (counters, gauges, histograms with labels) rendered in the
 * Prometheus text exposition format 0.0.4, and an HDR-style latency recorder.
 *
 * Every function takes its registry explicitly; hx_metrics_default() is the
 * one process-wide registry (one of the two allowed globals) that /metrics
 * serves when a component has no registry of its own to hand.
 *
 * Families are created once (hx_metrics_counter() etc. return the existing
 * family when the name is registered again with the same type and labels) and
 * live as long as the registry. Children (one per label-value tuple) are
 * created on first use and live as long as the family, so a child pointer can
 * be cached and used on hot paths with no lookup and no lock: values are
 * atomics. Family/child lookup takes a per-family mutex.
 *
 * Ownership: the registry owns every family and child; callers hold borrowed
 * pointers valid until hx_metrics_free(). Names, help and label values are
 * copied. All functions are thread-safe. */
#ifndef HX_METRICS_H
#define HX_METRICS_H

#include "helix/hx_buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hx_metrics hx_metrics_t;
typedef struct hx_counter hx_counter_t;               /* family */
typedef struct hx_counter_child hx_counter_child_t;   /* one label-value tuple */
typedef struct hx_gauge hx_gauge_t;
typedef struct hx_gauge_child hx_gauge_child_t;
typedef struct hx_histogram hx_histogram_t;
typedef struct hx_histogram_child hx_histogram_child_t;

/* Default latency buckets in seconds: 0.0005 ... 10 (14 bounds). */
extern const double HX_LATENCY_BUCKETS[];
#define HX_LATENCY_BUCKETS_N 14

/* NULL on allocation failure. */
hx_metrics_t *hx_metrics_new(void);
void hx_metrics_free(hx_metrics_t *reg);
/* The process registry, created on first call, never freed. */
hx_metrics_t *hx_metrics_default(void);

/* Registers (or returns the existing) family. labels_csv names the labels,
 * comma-separated ("method,route,code"); NULL or "" for none. Returns NULL if
 * the name or a label name is not a valid Prometheus name, if the name is
 * already registered with another type, labels or buckets, or on ENOMEM.
 * Families without labels have their single child created right away, so they
 * render as 0 before the first update. */
hx_counter_t *hx_metrics_counter(hx_metrics_t *reg, const char *name, const char *help,
                                 const char *labels_csv);
hx_gauge_t *hx_metrics_gauge(hx_metrics_t *reg, const char *name, const char *help,
                             const char *labels_csv);
/* bounds: strictly increasing upper bounds (+Inf is implicit); NULL = the
 * default latency buckets. The bounds are copied. */
hx_histogram_t *hx_metrics_histogram(hx_metrics_t *reg, const char *name, const char *help,
                                     const char *labels_csv, const double *bounds,
                                     size_t nbounds);

/* Child for label_values, which must hold exactly as many strings as the
 * family has labels (NULL allowed when it has none). Created on first call.
 * NULL only on ENOMEM or a NULL family. */
hx_counter_child_t *hx_counter_child(hx_counter_t *fam, const char *const *label_values);
hx_gauge_child_t *hx_gauge_child(hx_gauge_t *fam, const char *const *label_values);
hx_histogram_child_t *hx_histogram_child(hx_histogram_t *fam, const char *const *label_values);

/* Hot-path updates; a NULL child is ignored so a failed registration never
 * crashes the caller. */
void hx_counter_add(hx_counter_child_t *c, uint64_t n);
uint64_t hx_counter_value(const hx_counter_child_t *c);
void hx_gauge_set(hx_gauge_child_t *g, double v);
void hx_gauge_add(hx_gauge_child_t *g, double delta);
double hx_gauge_value(const hx_gauge_child_t *g);
void hx_histogram_observe(hx_histogram_child_t *h, double v);
uint64_t hx_histogram_count(const hx_histogram_child_t *h);
double hx_histogram_sum(const hx_histogram_child_t *h);

/* Convenience: lookup + update in one call, e.g.
 *   hx_counter_inc_labels(fam, (const char *[]){"GET", "/health", "200"}, 1);
 * Returns 0, or HX_ENOMEM / HX_EINVAL (NULL family). */
int hx_counter_inc_labels(hx_counter_t *fam, const char *const *label_values, uint64_t n);
int hx_gauge_set_labels(hx_gauge_t *fam, const char *const *label_values, double v);
int hx_gauge_add_labels(hx_gauge_t *fam, const char *const *label_values, double delta);
int hx_histogram_observe_labels(hx_histogram_t *fam, const char *const *label_values, double v);

/* Appends the whole registry in Prometheus text format 0.0.4 to out (families
 * in registration order, children in creation order; families with no
 * children are skipped). Returns 0 or HX_ENOMEM. */
int hx_metrics_render(hx_metrics_t *reg, hx_buf_t *out);

/* ---- latency recorder ----
 * Log-linear buckets (128 sub-buckets per power of two): values from 1 ns to
 * 2^42 ns (~73 min) are kept with <= 0.4% relative error around the reported
 * bucket midpoint; larger values are clamped to the top bucket. Recording is
 * lock-free (atomics); percentile/merge/reset read or write bucket by bucket,
 * so concurrent records may or may not be included. */
typedef struct hx_latency hx_latency_t;

hx_latency_t *hx_latency_new(void);              /* NULL on ENOMEM */
void hx_latency_free(hx_latency_t *l);
void hx_latency_record(hx_latency_t *l, uint64_t ns);
/* p in [0, 100]; 0 when empty. The result is clamped into [min, max]. */
uint64_t hx_latency_percentile(const hx_latency_t *l, double p);
uint64_t hx_latency_count(const hx_latency_t *l);
uint64_t hx_latency_min(const hx_latency_t *l);  /* 0 when empty */
uint64_t hx_latency_max(const hx_latency_t *l);
double hx_latency_mean(const hx_latency_t *l);   /* ns; 0 when empty */
/* Adds every sample of src into dst (src is unchanged). */
void hx_latency_merge(hx_latency_t *dst, const hx_latency_t *src);
void hx_latency_reset(hx_latency_t *l);

#endif
