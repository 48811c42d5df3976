/* UTC calendar arithmetic, DateTime/Date text, and LIKE matching: the scalar
 * semantics the binder folds with and the executors run. */
#include "analytics/sql/scalar.h"

#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
int64_t hx_sql_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void hx_sql_civil(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int valid_ymd(int64_t y, int64_t m, int64_t d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 2105 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 1;
}

int hx_sql_parse_date(const char *s, size_t len, int64_t *out)
{
    int64_t y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d) || !valid_ymd(y, m, d))
        return HX_EINVAL;
    *out = hx_sql_days_from_civil(y, (int)m, (int)d);
    return HX_OK;
}

int hx_sql_parse_datetime(const char *s, size_t len, int64_t *out)
{
    int64_t days, hh = 0, mi = 0, ss = 0;
    if (len < 10 || hx_sql_parse_date(s, 10, &days))
        return HX_EINVAL;
    if (len > 10) {
        if (len < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' || digits(s + 11, 2, &hh) ||
            digits(s + 14, 2, &mi) || digits(s + 17, 2, &ss) || hh > 23 || mi > 59 || ss > 59)
            return HX_EINVAL;
        size_t i = 19;
        if (i < len && s[i] == '.') { /* fractions are dropped: DateTime has seconds */
            i++;
            size_t f = i;
            while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
            if (i == f)
                return HX_EINVAL;
        }
        if (i < len && s[i] == 'Z')
            i++;
        if (i != len)
            return HX_EINVAL;
    }
    *out = days * 86400 + hh * 3600 + mi * 60 + ss;
    return HX_OK;
}

void hx_sql_format_datetime(int64_t t, char *out, size_t len)
{
    int64_t days = hx_sql_floor_div(t, 86400), sec = t - days * 86400, y;
    int m, d;
    hx_sql_civil(days, &y, &m, &d);
    snprintf(out, len, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

void hx_sql_format_date(int64_t days, char *out, size_t len)
{
    int64_t y;
    int m, d;
    hx_sql_civil(days, &y, &m, &d);
    snprintf(out, len, "%04lld-%02d-%02d", (long long)y, m, d);
}

int64_t hx_sql_yyyymm_of_days(int64_t days)
{
    int64_t y;
    int m, d;
    hx_sql_civil(days, &y, &m, &d);
    return y * 100 + m;
}

/* LIKE with % (any run), _ (one byte) and \ escaping the next byte. Greedy
 * with one backtrack point per %, which is linear-ish and never recursive. */
int hx_sql_like(const char *s, size_t n, const char *p, size_t pn)
{
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < n) {
        if (pi < pn && p[pi] == '%') {
            star_p = ++pi;
            star_s = si;
            continue;
        }
        if (pi < pn) {
            char pc = p[pi];
            size_t adv = 1;
            int any = 0;
            if (pc == '\\' && pi + 1 < pn) {
                pc = p[pi + 1];
                adv = 2;
            } else if (pc == '_') {
                any = 1;
            }
            if (any || pc == s[si]) {
                pi += adv;
                si++;
                continue;
            }
        }
        if (star_p != (size_t)-1) {
            pi = star_p;
            si = ++star_s;
            continue;
        }
        return 0;
    }
    while (pi < pn && p[pi] == '%')
        pi++;
    return pi == pn;
}
