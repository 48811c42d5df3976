/* Metrics registry and Prometheus text rendering. Values are atomics so hot
 * paths holding a child pointer never lock; the per-family mutex only guards
 * the child list (lookup/creation and rendering). */
#include "helix/hx_metrics.h"
#include "helix/hx_error.h"
#include "helix/hx_logger.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double HX_LATENCY_BUCKETS[HX_LATENCY_BUCKETS_N] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

enum { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct mfam;
typedef struct mchild {
    struct mchild *next;
    struct mfam *fam; /* lets histogram children find their bounds */
    char **values;
} mchild_t;

struct hx_counter_child {
    mchild_t base;
    _Atomic uint64_t v;
};

struct hx_gauge_child {
    mchild_t base;
    _Atomic uint64_t bits; /* the double's bit pattern, so add can CAS */
};

struct hx_histogram_child {
    mchild_t base;
    _Atomic uint64_t count;
    _Atomic uint64_t sum_bits;
    _Atomic uint64_t buckets[]; /* per-bucket (not cumulative); last is +Inf */
};

typedef struct mfam {
    struct mfam *next;
    int type;
    char *name, *help;
    size_t nlabels;
    char **labels;
    double *bounds;
    size_t nbounds;
    pthread_mutex_t mu;
    mchild_t *children, **tail;
} mfam_t;

/* Public family types wrap the shared family so the API stays type-checked. */
struct hx_counter { mfam_t f; };
struct hx_gauge { mfam_t f; };
struct hx_histogram { mfam_t f; };

struct hx_metrics {
    pthread_mutex_t mu;
    mfam_t *fams, **tail;
};

static uint64_t d2u(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
static double u2d(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }

static void atomic_add_double(_Atomic uint64_t *p, double delta)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, d2u(u2d(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

hx_metrics_t *hx_metrics_new(void)
{
    hx_metrics_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->tail = &r->fams;
    return r;
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void fam_free(mfam_t *f)
{
    mchild_t *c = f->children;
    while (c) {
        mchild_t *next = c->next;
        free_strv(c->values, f->nlabels);
        free(c);
        c = next;
    }
    free_strv(f->labels, f->nlabels);
    free(f->bounds);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void hx_metrics_free(hx_metrics_t *reg)
{
    if (!reg)
        return;
    mfam_t *f = reg->fams;
    while (f) {
        mfam_t *next = f->next;
        fam_free(f);
        f = next;
    }
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

static hx_metrics_t *g_default;
static pthread_once_t g_default_once = PTHREAD_ONCE_INIT;
static void default_init(void) { g_default = hx_metrics_new(); }

hx_metrics_t *hx_metrics_default(void)
{
    pthread_once(&g_default_once, default_init);
    return g_default;
}

static int valid_name(const char *s, int allow_colon)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (allow_colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Splits "a, b,c" into trimmed names; rejects empty or invalid names. */
static int split_labels(const char *csv, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!csv || !*csv)
        return HX_OK;
    size_t cap = 1;
    for (const char *p = csv; *p; p++)
        cap += *p == ',';
    char **v = calloc(cap, sizeof *v);
    if (!v)
        return HX_ENOMEM;
    size_t k = 0;
    const char *p = csv;
    while (1) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        while (p < e && *p == ' ')
            p++;
        const char *q = e;
        while (q > p && q[-1] == ' ')
            q--;
        v[k] = strndup(p, (size_t)(q - p));
        if (!v[k] || !valid_name(v[k], 0) || strncmp(v[k], "__", 2) == 0 ||
            strcmp(v[k], "le") == 0) {
            free_strv(v, k + 1);
            return HX_EINVAL;
        }
        k++;
        if (!*e)
            break;
        p = e + 1;
    }
    *out = v;
    *n = k;
    return HX_OK;
}

static mchild_t *child_get(mfam_t *f, const char *const *values);

static mfam_t *fam_register(hx_metrics_t *reg, int type, size_t size, const char *name,
                            const char *help, const char *labels_csv, const double *bounds,
                            size_t nbounds)
{
    if (!reg || !valid_name(name, 1))
        return NULL;
    if (type == M_HISTOGRAM) {
        if (!bounds) {
            bounds = HX_LATENCY_BUCKETS;
            nbounds = HX_LATENCY_BUCKETS_N;
        }
        for (size_t i = 1; i < nbounds; i++)
            if (!(bounds[i] > bounds[i - 1]))
                return NULL;
    }
    char **labels;
    size_t nlabels;
    if (split_labels(labels_csv, &labels, &nlabels))
        return NULL;

    pthread_mutex_lock(&reg->mu);
    mfam_t *f;
    for (f = reg->fams; f; f = f->next) {
        if (strcmp(f->name, name) != 0)
            continue;
        int same = f->type == type && f->nlabels == nlabels &&
                   (type != M_HISTOGRAM ||
                    (f->nbounds == nbounds && memcmp(f->bounds, bounds, nbounds * sizeof *bounds) == 0));
        for (size_t i = 0; same && i < nlabels; i++)
            same = strcmp(f->labels[i], labels[i]) == 0;
        pthread_mutex_unlock(&reg->mu);
        free_strv(labels, nlabels);
        if (!same)
            HX_WARN("metrics", "metric '%s' registered again with another type, labels or buckets", name);
        return same ? f : NULL;
    }
    f = calloc(1, size);
    if (!f)
        goto fail;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->labels = labels;
    f->nlabels = nlabels;
    labels = NULL;
    pthread_mutex_init(&f->mu, NULL);
    f->tail = &f->children;
    if (type == M_HISTOGRAM && nbounds) {
        f->bounds = malloc(nbounds * sizeof *bounds);
        if (f->bounds)
            memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    }
    f->nbounds = type == M_HISTOGRAM ? nbounds : 0;
    if (!f->name || !f->help || (f->nbounds && !f->bounds) ||
        (nlabels == 0 && !child_get(f, NULL))) {
        fam_free(f);
        f = NULL;
        goto fail;
    }
    *reg->tail = f;
    reg->tail = &f->next;
    pthread_mutex_unlock(&reg->mu);
    return f;
fail:
    pthread_mutex_unlock(&reg->mu);
    free_strv(labels, nlabels);
    return NULL;
}

hx_counter_t *hx_metrics_counter(hx_metrics_t *reg, const char *name, const char *help,
                                 const char *labels_csv)
{
    return (hx_counter_t *)fam_register(reg, M_COUNTER, sizeof(hx_counter_t), name, help,
                                        labels_csv, NULL, 0);
}

hx_gauge_t *hx_metrics_gauge(hx_metrics_t *reg, const char *name, const char *help,
                             const char *labels_csv)
{
    return (hx_gauge_t *)fam_register(reg, M_GAUGE, sizeof(hx_gauge_t), name, help, labels_csv,
                                      NULL, 0);
}

hx_histogram_t *hx_metrics_histogram(hx_metrics_t *reg, const char *name, const char *help,
                                     const char *labels_csv, const double *bounds,
                                     size_t nbounds)
{
    return (hx_histogram_t *)fam_register(reg, M_HISTOGRAM, sizeof(hx_histogram_t), name, help,
                                          labels_csv, bounds, nbounds);
}

static mchild_t *child_get(mfam_t *f, const char *const *values)
{
    pthread_mutex_lock(&f->mu);
    mchild_t *c;
    /* Linear scan: label sets are small and hot paths cache the child. */
    for (c = f->children; c; c = c->next) {
        size_t i = 0;
        while (i < f->nlabels && strcmp(c->values[i], values[i] ? values[i] : "") == 0)
            i++;
        if (i == f->nlabels)
            goto out;
    }
    size_t size = f->type == M_COUNTER ? sizeof(hx_counter_child_t)
                  : f->type == M_GAUGE ? sizeof(hx_gauge_child_t)
                  : sizeof(hx_histogram_child_t) + (f->nbounds + 1) * sizeof(_Atomic uint64_t);
    c = calloc(1, size);
    if (!c)
        goto out;
    c->fam = f;
    if (f->nlabels) {
        c->values = calloc(f->nlabels, sizeof *c->values);
        int ok = c->values != NULL;
        for (size_t i = 0; ok && i < f->nlabels; i++)
            ok = (c->values[i] = strdup(values[i] ? values[i] : "")) != NULL;
        if (!ok) {
            free_strv(c->values, f->nlabels);
            free(c);
            c = NULL;
            goto out;
        }
    }
    *f->tail = c;
    f->tail = &c->next;
out:
    pthread_mutex_unlock(&f->mu);
    return c;
}

hx_counter_child_t *hx_counter_child(hx_counter_t *fam, const char *const *v)
{
    return fam ? (hx_counter_child_t *)child_get(&fam->f, v) : NULL;
}
hx_gauge_child_t *hx_gauge_child(hx_gauge_t *fam, const char *const *v)
{
    return fam ? (hx_gauge_child_t *)child_get(&fam->f, v) : NULL;
}
hx_histogram_child_t *hx_histogram_child(hx_histogram_t *fam, const char *const *v)
{
    return fam ? (hx_histogram_child_t *)child_get(&fam->f, v) : NULL;
}

void hx_counter_add(hx_counter_child_t *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}
uint64_t hx_counter_value(const hx_counter_child_t *c)
{
    return c ? atomic_load_explicit(&((hx_counter_child_t *)c)->v, memory_order_relaxed) : 0;
}
void hx_gauge_set(hx_gauge_child_t *g, double v)
{
    if (g)
        atomic_store_explicit(&g->bits, d2u(v), memory_order_relaxed);
}
void hx_gauge_add(hx_gauge_child_t *g, double delta)
{
    if (g)
        atomic_add_double(&g->bits, delta);
}
double hx_gauge_value(const hx_gauge_child_t *g)
{
    return g ? u2d(atomic_load_explicit(&((hx_gauge_child_t *)g)->bits, memory_order_relaxed)) : 0;
}

void hx_histogram_observe(hx_histogram_child_t *h, double v)
{
    if (!h)
        return;
    const mfam_t *f = h->base.fam;
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}
uint64_t hx_histogram_count(const hx_histogram_child_t *h)
{
    return h ? atomic_load_explicit(&((hx_histogram_child_t *)h)->count, memory_order_relaxed) : 0;
}
double hx_histogram_sum(const hx_histogram_child_t *h)
{
    return h ? u2d(atomic_load_explicit(&((hx_histogram_child_t *)h)->sum_bits,
                                        memory_order_relaxed))
             : 0;
}

int hx_counter_inc_labels(hx_counter_t *fam, const char *const *v, uint64_t n)
{
    if (!fam)
        return HX_EINVAL;
    hx_counter_child_t *c = hx_counter_child(fam, v);
    if (!c)
        return HX_ENOMEM;
    hx_counter_add(c, n);
    return HX_OK;
}
int hx_gauge_set_labels(hx_gauge_t *fam, const char *const *v, double x)
{
    if (!fam)
        return HX_EINVAL;
    hx_gauge_child_t *g = hx_gauge_child(fam, v);
    if (!g)
        return HX_ENOMEM;
    hx_gauge_set(g, x);
    return HX_OK;
}
int hx_gauge_add_labels(hx_gauge_t *fam, const char *const *v, double x)
{
    if (!fam)
        return HX_EINVAL;
    hx_gauge_child_t *g = hx_gauge_child(fam, v);
    if (!g)
        return HX_ENOMEM;
    hx_gauge_add(g, x);
    return HX_OK;
}
int hx_histogram_observe_labels(hx_histogram_t *fam, const char *const *v, double x)
{
    if (!fam)
        return HX_EINVAL;
    hx_histogram_child_t *h = hx_histogram_child(fam, v);
    if (!h)
        return HX_ENOMEM;
    hx_histogram_observe(h, x);
    return HX_OK;
}

/* ---- rendering ---- */

/* Shortest text that parses back to the same double, as Prometheus clients
 * print (1 -> "1", 0.0005 -> "0.0005"). */
static void fmt_double(char *out, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(out, len, "NaN");
    } else if (isinf(v)) {
        snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, len, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, len, "%.17g", v);
    }
}

static int put_escaped(hx_buf_t *b, const char *s, int quote)
{
    int rc = HX_OK;
    for (; *s && !rc; s++) {
        if (*s == '\\')
            rc = hx_buf_puts(b, "\\\\");
        else if (*s == '\n')
            rc = hx_buf_puts(b, "\\n");
        else if (quote && *s == '"')
            rc = hx_buf_puts(b, "\\\"");
        else
            rc = hx_buf_putc(b, (unsigned char)*s);
    }
    return rc;
}

/* "{a="x",b="y"" plus an optional extra le label; closes the brace. */
static int put_labels(hx_buf_t *b, const mfam_t *f, const mchild_t *c, const char *le)
{
    if (f->nlabels == 0 && !le)
        return HX_OK;
    int rc = hx_buf_putc(b, '{');
    for (size_t i = 0; i < f->nlabels && !rc; i++) {
        rc = hx_buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        if (!rc)
            rc = put_escaped(b, c->values[i], 1);
        if (!rc)
            rc = hx_buf_putc(b, '"');
    }
    if (!rc && le)
        rc = hx_buf_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    if (!rc)
        rc = hx_buf_putc(b, '}');
    return rc;
}

static int render_child(hx_buf_t *b, const mfam_t *f, mchild_t *c)
{
    char num[64], le[64];
    int rc = HX_OK;
    if (f->type == M_COUNTER) {
        rc = hx_buf_puts(b, f->name);
        if (!rc)
            rc = put_labels(b, f, c, NULL);
        if (!rc)
            rc = hx_buf_printf(b, " %llu\n", (unsigned long long)hx_counter_value((hx_counter_child_t *)c));
    } else if (f->type == M_GAUGE) {
        fmt_double(num, sizeof num, hx_gauge_value((hx_gauge_child_t *)c));
        rc = hx_buf_puts(b, f->name);
        if (!rc)
            rc = put_labels(b, f, c, NULL);
        if (!rc)
            rc = hx_buf_printf(b, " %s\n", num);
    } else {
        hx_histogram_child_t *h = (hx_histogram_child_t *)c;
        uint64_t cum = 0;
        for (size_t i = 0; i <= f->nbounds && !rc; i++) {
            cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
            if (i < f->nbounds)
                fmt_double(le, sizeof le, f->bounds[i]);
            else
                snprintf(le, sizeof le, "+Inf");
            rc = hx_buf_printf(b, "%s_bucket", f->name);
            if (!rc)
                rc = put_labels(b, f, c, le);
            if (!rc)
                rc = hx_buf_printf(b, " %llu\n", (unsigned long long)cum);
        }
        fmt_double(num, sizeof num, hx_histogram_sum(h));
        if (!rc)
            rc = hx_buf_printf(b, "%s_sum", f->name);
        if (!rc)
            rc = put_labels(b, f, c, NULL);
        if (!rc)
            rc = hx_buf_printf(b, " %s\n", num);
        /* _count is the +Inf bucket, so the two always agree in one scrape. */
        if (!rc)
            rc = hx_buf_printf(b, "%s_count", f->name);
        if (!rc)
            rc = put_labels(b, f, c, NULL);
        if (!rc)
            rc = hx_buf_printf(b, " %llu\n", (unsigned long long)cum);
    }
    return rc;
}

int hx_metrics_render(hx_metrics_t *reg, hx_buf_t *out)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    if (!reg)
        return HX_EINVAL;
    int rc = HX_OK;
    pthread_mutex_lock(&reg->mu);
    for (mfam_t *f = reg->fams; f && !rc; f = f->next) {
        pthread_mutex_lock(&f->mu);
        if (f->children) {
            rc = hx_buf_printf(out, "# HELP %s ", f->name);
            if (!rc)
                rc = put_escaped(out, f->help, 0);
            if (!rc)
                rc = hx_buf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
            for (mchild_t *c = f->children; c && !rc; c = c->next)
                rc = render_child(out, f, c);
        }
        pthread_mutex_unlock(&f->mu);
    }
    pthread_mutex_unlock(&reg->mu);
    return rc;
}
