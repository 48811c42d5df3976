/* Data payload schemas of DESIGN.md, checked before events are accepted. */
#include "helix/hx_envelope.h"
#include "helix/hx_topics.h"

#include <stdio.h>
#include <string.h>

typedef enum { T_STR, T_INT, T_NUM, T_BOOL, T_ARR } ftype_t;

typedef struct {
    const char *name;
    ftype_t type;
    int required;
    const char *choices; /* strings: allowed values, "|"-separated */
} field_t;

static int in_choices(const char *v, const char *choices)
{
    size_t n = strlen(v);
    for (const char *c = choices; c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, v, n) == 0)
            return 1;
        c = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int check_fields(const char *prefix, const json_t *obj, const field_t *f, hx_err_t *err)
{
    if (!json_is_object(obj))
        return hx_err_set(err, HX_EINVAL, "%s must be an object", prefix);
    for (; f->name; f++) {
        json_t *v = json_object_get(obj, f->name);
        if (!v || json_is_null(v)) {
            if (f->required)
                return hx_err_set(err, HX_EINVAL, "%s.%s is required", prefix, f->name);
            continue;
        }
        int ok = 1;
        switch (f->type) {
        case T_STR: ok = json_is_string(v); break;
        case T_INT: ok = json_is_integer(v) && json_integer_value(v) >= 0; break;
        case T_NUM: ok = json_is_number(v); break;
        case T_BOOL: ok = json_is_boolean(v); break;
        case T_ARR: ok = json_is_array(v); break;
        }
        static const char *names[] = {"a string", "a non-negative integer", "a number", "true or false", "an array"};
        if (!ok)
            return hx_err_set(err, HX_EINVAL, "%s.%s must be %s", prefix, f->name, names[f->type]);
        if (f->choices && !in_choices(json_string_value(v), f->choices))
            return hx_err_set(err, HX_EINVAL, "%s.%s must be one of %s", prefix, f->name, f->choices);
    }
    return HX_OK;
}

static const field_t message_fields[] = {
    {"message_id", T_STR, 1, NULL}, {"role", T_STR, 1, "user|assistant|system|tool"},
    {"content", T_STR, 1, NULL},    {"model", T_STR, 0, NULL},
    {"provider", T_STR, 0, NULL},   {"tokens", T_INT, 0, NULL},
    {"created_at", T_INT, 0, NULL}, {"user_id", T_STR, 0, NULL},
    {"session_id", T_STR, 0, NULL}, {NULL, 0, 0, NULL},
};

static const field_t provider_fields[] = {
    {"provider", T_STR, 1, NULL},          {"model", T_STR, 1, NULL},
    {"request_id", T_STR, 0, NULL},        {"debate_id", T_STR, 0, NULL},
    {"round", T_INT, 0, NULL},             {"response_time_ms", T_NUM, 1, NULL},
    {"prompt_tokens", T_INT, 0, NULL},     {"completion_tokens", T_INT, 0, NULL},
    {"tokens_used", T_INT, 0, NULL},       {"confidence", T_NUM, 0, NULL},
    {"success", T_BOOL, 1, NULL},          {"error_type", T_STR, 0, NULL},
    {NULL, 0, 0, NULL},
};

static const field_t debate_fields[] = {
    {"debate_id", T_STR, 1, NULL},       {"conversation_id", T_STR, 0, NULL},
    {"topic", T_STR, 0, NULL},           {"rounds", T_INT, 1, NULL},
    {"winner_provider", T_STR, 0, NULL}, {"winner_model", T_STR, 0, NULL},
    {"confidence", T_NUM, 0, NULL},      {"duration_ms", T_NUM, 0, NULL},
    {"participants", T_ARR, 1, NULL},    {"outcome", T_STR, 1, "successful|abandoned|error"},
    {NULL, 0, 0, NULL},
};

static const field_t participant_fields[] = {
    {"provider", T_STR, 1, NULL}, {"model", T_STR, 1, NULL},          {"position", T_STR, 0, NULL},
    {"response_time_ms", T_NUM, 0, NULL}, {"tokens_used", T_INT, 0, NULL}, {"confidence", T_NUM, 0, NULL},
    {"won", T_BOOL, 0, NULL},     {NULL, 0, 0, NULL},
};

int hx_event_has_schema(const char *type)
{
    return type && (!strcmp(type, HX_EV_CONVERSATION_MESSAGE_ADDED) || !strcmp(type, HX_EV_CONVERSATION_MESSAGE_UPDATED) ||
                    !strcmp(type, HX_EV_PROVIDER_METRICS) || !strcmp(type, HX_EV_DEBATE_COMPLETED));
}

int hx_event_validate_data(const char *type, const json_t *data, hx_err_t *err)
{
    if (!type)
        return hx_err_set(err, HX_EINVAL, "field 'type' is required");
    if (strcmp(type, HX_EV_CONVERSATION_MESSAGE_ADDED) == 0 || strcmp(type, HX_EV_CONVERSATION_MESSAGE_UPDATED) == 0)
        return check_fields("data", data, message_fields, err);
    if (strcmp(type, HX_EV_PROVIDER_METRICS) == 0)
        return check_fields("data", data, provider_fields, err);
    if (strcmp(type, HX_EV_DEBATE_COMPLETED) == 0) {
        int rc = check_fields("data", data, debate_fields, err);
        if (rc)
            return rc;
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(data, "participants"), i, p)
        {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "data.participants[%zu]", i);
            if ((rc = check_fields(prefix, p, participant_fields, err)))
                return rc;
        }
        return HX_OK;
    }
    if (!json_is_object(data))
        return hx_err_set(err, HX_EINVAL, "data must be an object");
    return HX_OK;
}
