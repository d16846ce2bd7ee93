/* plugin_host: a program that reaches cuBLAS only through a plugin it loads
 * with dlopen(RTLD_LOCAL | RTLD_NOW), the way Python loads extension modules.
 * It links no CUDA library itself.
 *
 *   plugin_host [--plugin PATH] [--k K] [--keep-going]
 *
 * PATH defaults to libgemm_plugin.so next to this executable. Prints
 * create_status, status (cublasGemmEx's), c0, cmin, cmax, and cuda_error when
 * a CUDA runtime call failed. Exit 0 on success, 1 when a CUDA/cuBLAS call
 * failed, 3 when the plugin cannot be loaded. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gemm_plugin.h"

int main(int argc, char **argv)
{
    char path[PATH_MAX];
    const char *plugin = NULL;
    int k = 4096, keep_going = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc)
            plugin = argv[++i];
        else if (strcmp(argv[i], "--k") == 0 && i + 1 < argc)
            k = atoi(argv[++i]);
        else if (strcmp(argv[i], "--keep-going") == 0)
            keep_going = 1;
        else {
            fprintf(stderr, "usage: plugin_host [--plugin PATH] [--k K] [--keep-going]\n");
            return 64;
        }
    }
    if (!plugin) {
        ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
        if (len <= 0) {
            perror("plugin_host: readlink /proc/self/exe");
            return 3;
        }
        path[len] = '\0';
        char *slash = strrchr(path, '/');
        const char *name = "libgemm_plugin.so";
        if (!slash || (size_t)(slash - path) + 1 + strlen(name) + 1 > sizeof path)
            return 3;
        strcpy(slash + 1, name);
        plugin = path;
    }
    void *lib = dlopen(plugin, RTLD_LOCAL | RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "plugin_host: dlopen %s: %s\n", plugin, dlerror());
        printf("dlopen=0\n");
        return 3;
    }
    printf("dlopen=1\n");
    gemm_plugin_run_fn run;
    *(void **)&run = dlsym(lib, "gemm_plugin_run");
    if (!run) {
        fprintf(stderr, "plugin_host: dlsym gemm_plugin_run: %s\n", dlerror());
        return 3;
    }
    struct gemm_plugin_result r;
    int rc = run(k, keep_going, &r);
    gemm_plugin_print(rc, &r);
    dlclose(lib);
    return rc == 0 ? 0 : 1;
}
