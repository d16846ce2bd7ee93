/* dlsym_app: reaches cuBLAS the way JAX/XLA and TensorFlow do: it opens
 * libcublas.so.13 itself (dlopen RTLD_LOCAL) and looks every entry point up
 * with dlsym on that handle. It links the CUDA runtime, not cuBLAS.
 *
 *   dlsym_app [--k K] [--keep-going] [--probe SONAME SYMBOL]... [--cudnn-create]
 *
 * For each --probe it opens SONAME the same way, looks SYMBOL up and prints
 * found_SYMBOL=0|1 and in_safehalf_SYMBOL=0|1 (1 when the address dlsym gave
 * lies in a libsafehalf* object). --cudnn-create also calls the cudnnCreate
 * (and cudnnDestroy) it looks up in libcudnn.so.9: cudnn_create_status.
 * Then the GEMM of onesgemm.h (CUBLAS_COMPUTE_16F, all ones, m = n = 4,
 * k default 4096) through the functions looked up: prints gemm_in_safehalf,
 * then what plugin_host prints (create_status, status, c0, cmin, cmax,
 * cuda_error when a CUDA runtime call failed). With --keep-going a failed
 * set-up still issues the GEMM (NULL handle and pointers), so its status is
 * observable without a GPU. Exit 0 on success, 1 when a CUDA/cuBLAS call
 * failed, 3 when the library or a symbol cannot be found. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onesgemm.h"

static int in_safehalf(void *p)
{
    Dl_info info;
    if (!p || !dladdr(p, &info) || !info.dli_fname)
        return 0;
    const char *slash = strrchr(info.dli_fname, '/');
    const char *base = slash ? slash + 1 : info.dli_fname;
    return strncmp(base, "libsafehalf", 11) == 0;
}

static void *lookup(const char *soname, const char *symbol)
{
    void *lib = dlopen(soname, RTLD_LOCAL | RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "dlsym_app: dlopen %s: %s\n", soname, dlerror());
        return NULL;
    }
    return dlsym(lib, symbol);
}

static int usage(void)
{
    fprintf(stderr, "usage: dlsym_app [--k K] [--keep-going] [--probe SONAME SYMBOL]... "
                    "[--cudnn-create]\n");
    return 64;
}

int main(int argc, char **argv)
{
    int k = 4096, keep_going = 0, missing = 0, cudnn = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--k") == 0 && i + 1 < argc) {
            k = atoi(argv[++i]);
            if (k < 1)
                return usage();
        } else if (strcmp(argv[i], "--keep-going") == 0) {
            keep_going = 1;
        } else if (strcmp(argv[i], "--cudnn-create") == 0) {
            cudnn = 1;
        } else if (strcmp(argv[i], "--probe") == 0 && i + 2 < argc) {
            const char *soname = argv[++i], *symbol = argv[++i];
            void *p = lookup(soname, symbol);
            printf("found_%s=%d\n", symbol, p != NULL);
            printf("in_safehalf_%s=%d\n", symbol, in_safehalf(p));
            missing |= p == NULL;
        } else {
            return usage();
        }
    }

    if (cudnn) {
        /* cuDNN's handle is one pointer, its status an int: no cudnn.h needed */
        int (*dnn_create)(void **), (*dnn_destroy)(void *);
        *(void **)&dnn_create = lookup("libcudnn.so.9", "cudnnCreate");
        *(void **)&dnn_destroy = lookup("libcudnn.so.9", "cudnnDestroy");
        if (!dnn_create || !dnn_destroy)
            return 3;
        void *dh = NULL;
        int st = dnn_create(&dh);
        printf("cudnn_create_status=%d\n", st);
        if (st == 0)
            dnn_destroy(dh);
    }

    struct ones_gemm_fns f;
    *(void **)&f.create = lookup("libcublas.so.13", "cublasCreate_v2");
    *(void **)&f.destroy = lookup("libcublas.so.13", "cublasDestroy_v2");
    *(void **)&f.gemm_ex = lookup("libcublas.so.13", "cublasGemmEx");
    if (!f.create || !f.destroy || !f.gemm_ex) {
        fprintf(stderr, "dlsym_app: cuBLAS entry points not found\n");
        return 3;
    }
    printf("gemm_in_safehalf=%d\n", in_safehalf(*(void **)&f.gemm_ex));
    struct gemm_plugin_result r;
    int rc = ones_gemm_run(&f, k, keep_going, &r);
    gemm_plugin_print(rc, &r);
    return missing ? 3 : rc == 0 ? 0 : 1;
}
