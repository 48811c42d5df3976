/* JSON body checks (hx_json.h). */
#include "helix/hx_json.h"

#include <stdio.h>
#include <string.h>

int hx_json_check_known(const json_t *obj, const char *const *known, hx_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        int ok = 0;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(k, known[i]) == 0;
        if (ok)
            continue;
        char list[400];
        size_t used = 0;
        list[0] = 0;
        for (int i = 0; known[i] && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", known[i]);
        return hx_err_set(err, HX_EINVAL, "unknown field '%s' (known: %s)", k, list);
    }
    return HX_OK;
}

int hx_json_opt_int(const json_t *obj, const char *name, int64_t min, int64_t *out, hx_err_t *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return HX_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return hx_err_set(err, HX_EINVAL, "field '%s' must be an integer >= %lld", name, (long long)min);
    *out = json_integer_value(v);
    return HX_OK;
}
