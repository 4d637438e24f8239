#include "ak_pg.h"
int ak_pg_cdc_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err)
{
    (void)c; (void)position; *out = NULL;
    return ak_errf(err, AK_E_NOTBUILT, "input `%s`: cdc", in->name);
}
