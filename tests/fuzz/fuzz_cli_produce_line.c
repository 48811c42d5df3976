/* A `helix produce` stdin line: a JSON envelope, a JSON object, or any text.
 * Properties: a line is turned into a valid envelope or refused with a
 * message; lines that are not UTF-8 text (NUL bytes, invalid sequences) are
 * refused saying so; an accepted envelope encodes to a frame that decodes to
 * the same id, type, key and tenant; text lines keep their bytes in
 * data.text. */
#include "cli/commands.h"
#include "helix/hx_buf.h"
#include "helix/hx_envelope.h"
#include "helix/hx_id.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The CLI strips the newline; a line never holds one. */
    const char *nl = memchr(data, '\n', size);
    size_t len = nl ? (size_t)(nl - (const char *)data) : size;
    char *line = malloc(len + 1);
    FZ_ASSERT(line, "out of memory");
    memcpy(line, data, len);
    line[len] = 0;
    const char *key = len && (data[0] & 1) ? "k1" : NULL;
    hx_envelope_t e;
    hx_err_t err = {0};
    int rc = hx_cli_produce_line(line, len, "helix.raw", key, "node-1", 1700000000000LL, &e, &err);
    int text = hx_utf8_valid(line, len) && !memchr(line, 0, len);
    if (rc) {
        FZ_ASSERT(rc < 0 && err.msg[0], "refused without a message");
        if (!text)
            FZ_ASSERT(strstr(err.msg, "UTF-8") || strstr(err.msg, "NUL"), "binary line refused as: %s", err.msg);
    } else {
        FZ_ASSERT(text, "a line that is not UTF-8 text was accepted");
        FZ_ASSERT(!key || !strcmp(e.key, key), "-k was not applied");
        hx_buf_t f = HX_BUF_INIT;
        FZ_ASSERT(hx_envelope_encode(&e, &f, &err) == 0, "an accepted line does not encode: %s", err.msg);
        hx_envelope_t d;
        FZ_ASSERT(hx_envelope_decode(f.data, f.len, &d, &err) == 0, "its frame does not decode: %s", err.msg);
        FZ_ASSERT(!strcmp(d.id, e.id) && !strcmp(d.type, e.type) && !strcmp(d.key, e.key) && !strcmp(d.tenant, e.tenant),
                  "the frame decodes to another envelope");
        json_t *t = json_object_get(e.data, "text");
        if (t && !strcmp(e.type, "helix.raw"))
            FZ_ASSERT(json_string_length(t) == len || json_is_object(e.data), "text changed length");
        hx_envelope_free(&d);
        hx_buf_free(&f);
    }
    hx_envelope_free(&e);
    free(line);
    return 0;
}
