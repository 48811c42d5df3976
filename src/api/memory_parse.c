/* Memory write bodies (POST /v1/memory, PATCH /v1/memory/{id}) ->
 * hx_memory_write_t (hx_api_requests.h). Shapes only; the engine checks
 * lengths, ranges and what a create needs. */
#include "api/body_text.h"
#include "helix/hx_api_requests.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} fields[] = {
    {"id", HX_MW_ID},           {"user_id", HX_MW_USER_ID},       {"agent_id", HX_MW_AGENT_ID},
    {"session_id", HX_MW_SESSION_ID}, {"content", HX_MW_CONTENT}, {"summary", HX_MW_SUMMARY},
    {"type", HX_MW_TYPE},       {"category", HX_MW_CATEGORY},     {"tags", HX_MW_TAGS},
    {"metadata", HX_MW_METADATA}, {"entities", HX_MW_ENTITIES},   {"importance", HX_MW_IMPORTANCE},
    {"expires_at", HX_MW_EXPIRES_AT},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* A string field, or null where null means "none". */
static int str_or_null(const json_t *v, const char *name, int nullable, const char **dst, hx_err_t *err)
{
    if (json_is_null(v) && nullable) {
        *dst = NULL;
        return HX_OK;
    }
    if (!json_is_string(v))
        return hx_err_set(err, HX_EINVAL, "field '%s' must be a string%s", name, nullable ? " or null" : "");
    *dst = json_string_value(v);
    return HX_OK;
}

static int parse_field(const char *k, unsigned bit, const json_t *v, hx_memory_write_t *w, hx_err_t *err)
{
    switch (bit) {
    case HX_MW_ID: return str_or_null(v, k, 1, &w->id, err);
    case HX_MW_USER_ID: return str_or_null(v, k, 1, &w->user_id, err);
    case HX_MW_AGENT_ID: return str_or_null(v, k, 1, &w->agent_id, err);
    case HX_MW_SESSION_ID: return str_or_null(v, k, 1, &w->session_id, err);
    case HX_MW_SUMMARY: return str_or_null(v, k, 1, &w->summary, err);
    case HX_MW_CATEGORY: return str_or_null(v, k, 1, &w->category, err);
    case HX_MW_CONTENT:
        if (!json_is_string(v) || !json_string_length(v))
            return hx_err_set(err, HX_EINVAL, "field 'content' must be a non-empty string");
        w->content = json_string_value(v);
        return HX_OK;
    case HX_MW_TYPE:
        if (!json_is_string(v))
            return hx_err_set(err, HX_EINVAL, "field 'type' must be episodic, semantic, procedural or working");
        w->type = json_string_value(v);
        return HX_OK;
    case HX_MW_IMPORTANCE:
        if (!json_is_number(v))
            return hx_err_set(err, HX_EINVAL, "field 'importance' must be a number between 0 and 1");
        w->importance = json_number_value(v);
        return HX_OK;
    case HX_MW_EXPIRES_AT:
        if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) <= 0))
            return hx_err_set(err, HX_EINVAL, "field 'expires_at' must be null or ms since the epoch (integer)");
        w->expires_at = json_is_null(v) ? 0 : json_integer_value(v);
        return HX_OK;
    case HX_MW_ENTITIES:
        if (!json_is_array(v))
            return hx_err_set(err, HX_EINVAL, "field 'entities' must be an array");
        w->entities = v;
        return HX_OK;
    case HX_MW_METADATA:
        if (!json_is_object(v))
            return hx_err_set(err, HX_EINVAL, "field 'metadata' must be an object");
        w->metadata = v;
        return HX_OK;
    case HX_MW_TAGS: {
        if (!json_is_array(v))
            return hx_err_set(err, HX_EINVAL, "field 'tags' must be an array of strings");
        size_t n = json_array_size(v);
        const char **tags = calloc(n ? n : 1, sizeof *tags);
        if (!tags)
            return hx_err_set(err, HX_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            if (!(tags[i] = json_string_value(json_array_get(v, i)))) {
                free(tags);
                return hx_err_set(err, HX_EINVAL, "every tag must be a non-empty string of at most 128 bytes");
            }
        w->tags = tags;
        w->n_tags = n;
        return HX_OK;
    }
    }
    return HX_OK;
}

int hx_api_memory_write_parse(const json_t *body, hx_memory_write_t *w, hx_err_t *err)
{
    memset(w, 0, sizeof *w);
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object with the memory's fields");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        size_t f = 0;
        while (f < N_FIELDS && strcmp(fields[f].name, k))
            f++;
        if (f == N_FIELDS) {
            hx_api_memory_write_free(w);
            return hx_err_set(err, HX_EINVAL,
                              "unknown field '%s' (known: id, user_id, agent_id, session_id, content, summary, "
                              "type, category, tags, metadata, entities, importance, expires_at)",
                              k);
        }
        int rc = parse_field(k, fields[f].bit, v, w, err);
        if (rc) {
            hx_api_memory_write_free(w);
            return rc;
        }
        w->set |= fields[f].bit;
    }
    return HX_OK;
}

void hx_api_memory_write_free(hx_memory_write_t *w)
{
    free((void *)w->tags);
    w->tags = NULL;
    w->n_tags = 0;
}

#define TEXT_TAGS_MAX 64 /* the engine's limit; a longer list takes the tree path and its error */

int hx_api_memory_write_parse_text(const char *text, size_t len, hx_memory_write_t *w, char **arena)
{
    /* the fields whose values are strings, numbers or a tag list (metadata
     * and entities are kept as JSON values: those bodies take the tree path) */
    static const char *const names[] = {"id",      "user_id",  "agent_id", "session_id", "content", "summary",
                                        "type",    "category", "tags",     "importance", "expires_at", NULL};
    static const unsigned bits[] = {HX_MW_ID,      HX_MW_USER_ID,  HX_MW_AGENT_ID, HX_MW_SESSION_ID,
                                    HX_MW_CONTENT, HX_MW_SUMMARY,  HX_MW_TYPE,     HX_MW_CATEGORY,
                                    HX_MW_TAGS,    HX_MW_IMPORTANCE, HX_MW_EXPIRES_AT};
    memset(w, 0, sizeof *w);
    *arena = NULL;
    hx_body_rd_t b;
    if (hx_body_rd_init(&b, text, len, TEXT_TAGS_MAX * sizeof(char *)))
        return HX_EAGAIN;
    const char **tags = (const char **)(void *)b.arena;
    int rc = hx_jr_eat(&b.r, '{') ? HX_OK : HX_EAGAIN;
    if (!rc && !hx_jr_eat(&b.r, '}')) {
        do {
            int f = hx_body_key(&b, names);
            if (f < 0 || (w->set & bits[f])) {
                rc = HX_EAGAIN; /* unknown or repeated: the tree path says which */
                break;
            }
            switch (bits[f]) {
            case HX_MW_ID: rc = hx_body_str(&b, 1, &w->id); break;
            case HX_MW_USER_ID: rc = hx_body_str(&b, 1, &w->user_id); break;
            case HX_MW_AGENT_ID: rc = hx_body_str(&b, 1, &w->agent_id); break;
            case HX_MW_SESSION_ID: rc = hx_body_str(&b, 1, &w->session_id); break;
            case HX_MW_SUMMARY: rc = hx_body_str(&b, 1, &w->summary); break;
            case HX_MW_CATEGORY: rc = hx_body_str(&b, 1, &w->category); break;
            case HX_MW_CONTENT:
                rc = hx_body_str(&b, 0, &w->content);
                rc = rc ? rc : !*w->content ? HX_EAGAIN : HX_OK;
                break;
            case HX_MW_TYPE: rc = hx_body_str(&b, 0, &w->type); break;
            case HX_MW_IMPORTANCE: rc = hx_body_num(&b, &w->importance); break;
            case HX_MW_EXPIRES_AT:
                if (hx_body_null(&b))
                    w->expires_at = 0;
                else
                    rc = hx_body_int(&b, &w->expires_at) ? HX_EAGAIN : w->expires_at <= 0 ? HX_EAGAIN : HX_OK;
                break;
            case HX_MW_TAGS:
                if (!hx_jr_eat(&b.r, '[')) {
                    rc = HX_EAGAIN;
                    break;
                }
                if (hx_jr_eat(&b.r, ']'))
                    break;
                do
                    rc = w->n_tags == TEXT_TAGS_MAX ? HX_EAGAIN : hx_body_str(&b, 0, &tags[w->n_tags++]);
                while (!rc && hx_jr_eat(&b.r, ','));
                if (!rc && !hx_jr_eat(&b.r, ']'))
                    rc = HX_EAGAIN;
                break;
            }
            w->set |= bits[f];
        } while (!rc && hx_jr_eat(&b.r, ','));
        if (!rc && !hx_jr_eat(&b.r, '}'))
            rc = HX_EAGAIN;
    }
    if (!rc)
        rc = hx_body_end(&b);
    if (rc) {
        hx_body_rd_done(&b, 0);
        memset(w, 0, sizeof *w);
        return HX_EAGAIN;
    }
    if (w->set & HX_MW_TAGS)
        w->tags = tags;
    *arena = b.arena;
    hx_body_rd_done(&b, 1);
    return HX_OK;
}

/* Parse, then create answering as a tree (out) or as text. */
static int create(hx_memory_t *m, const char *tenant, const json_t *body, json_t **out, hx_buf_t *text,
                  hx_err_t *err)
{
    if (out)
        *out = NULL;
    hx_memory_write_t w;
    int rc = hx_api_memory_write_parse(body, &w, err);
    if (rc)
        return rc;
    rc = text ? hx_memory_create_text(m, tenant, &w, text, err) : hx_memory_create(m, tenant, &w, out, err);
    hx_api_memory_write_free(&w);
    return rc;
}

int hx_api_memory_create_json(hx_memory_t *m, const char *tenant, const json_t *body, json_t **out, hx_err_t *err)
{
    return create(m, tenant, body, out, NULL, err);
}

int hx_api_memory_create_text(hx_memory_t *m, const char *tenant, const json_t *body, hx_buf_t *out, hx_err_t *err)
{
    return create(m, tenant, body, NULL, out, err);
}

int hx_api_memory_update_json(hx_memory_t *m, const char *tenant, const char *id, const json_t *patch, json_t **out,
                              hx_err_t *err)
{
    if (out)
        *out = NULL;
    hx_memory_write_t w;
    int rc = hx_api_memory_write_parse(patch, &w, err);
    if (rc)
        return rc;
    rc = hx_memory_update(m, tenant, id, &w, out, err);
    hx_api_memory_write_free(&w);
    return rc;
}
