#include "handles.h"

#include "objtab.h"

/* Never deleted from (cublasDestroy is not intercepted): a destroyed
 * handle's entry is replaced when cuBLAS hands the same address out again,
 * since cublasCreate sets the mode anew. */
static struct sh_objtab modes = SH_OBJTAB_INIT;

bool sh_handle_set_mode(const void *handle, int mode)
{
    long long w[SH_OBJTAB_WORDS] = { mode };
    return sh_objtab_put(&modes, handle, w);
}

bool sh_handle_get_mode(const void *handle, int *mode)
{
    long long w[SH_OBJTAB_WORDS];
    if (!sh_objtab_get(&modes, handle, w))
        return false;
    *mode = (int)w[0];
    return true;
}

void sh_handle_forget(const void *handle)
{
    sh_objtab_del(&modes, handle);
}
