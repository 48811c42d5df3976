/* Bearer-token check and tenant validation. */
#include "server/server_int.h"

#include <string.h>
#include <strings.h>

/* Compares in time that depends only on the lengths, so response timing does
 * not reveal how many leading bytes of a guess were right. */
static int ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = (unsigned char)(alen != blen);
    size_t n = alen > blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= x ^ y;
    }
    return diff == 0;
}

int hx_auth_check(const hx_server_t *srv, const char *authorization)
{
    if (!srv->token[0])
        return HX_OK;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return HX_EAUTH;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    return ct_equal(t, strlen(t), srv->token, strlen(srv->token)) ? HX_OK : HX_EAUTH;
}

int hx_tenant_valid(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++) {
        char c = t[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
        if (n >= 64)
            return 0;
    }
    return n >= 1 && n <= 64;
}
