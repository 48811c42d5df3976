/* Path-parameter id checks shared by the route groups. */
#include "api/api.h"

#include <stdio.h>

const char *hx_api_path_id(hx_req_t *req, const char *name, const char *what)
{
    const char *v = hx_req_param(req, name);
    char label[96];
    snprintf(label, sizeof label, "path parameter %s", what ? what : name);
    return hx_id_check(v, label, hx_req_err(req)) ? NULL : v;
}
