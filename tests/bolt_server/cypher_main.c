/* hx-cypher-statements: prints every Cypher statement the Neo4j graph
 * backend can send (src/graph/neo4j/cypher.c, every variant) as JSON lines
 * {"name", "params", "cypher"}, for tests/integration/0071_cypher_lint.sh. */
#include "graph/neo4j/cypher.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static void print(void *ctx, const char *name, const char *params, const char *cypher)
{
    (*(int *)ctx)++;
    json_t *j = json_pack("{s:s,s:s,s:s}", "name", name, "params", params, "cypher", cypher);
    char *s = json_dumps(j, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(j);
}

int main(void)
{
    int n = 0;
    if (hx_cy_each(print, &n)) {
        fprintf(stderr, "hx-cypher-statements: a statement could not be built\n");
        return 1;
    }
    fprintf(stderr, "hx-cypher-statements: %d statements\n", n);
    return 0;
}
