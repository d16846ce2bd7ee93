/* Private to the cuDNN interposer (cudnn.c: legacy API, wrappers, records;
 * cudnn_graph.c: the backend graph API): the real functions, the call
 * record, and the tensor layout the checks share. */
#ifndef SAFEHALF_CUDNN_SHIM_H
#define SAFEHALF_CUDNN_SHIM_H

#include <cudnn.h>
#include <stdbool.h>
#include <stdint.h>

#include "decide.h"
#include "detect.h"
#include "interpose.h"
#include "runtime.h"

#include "cudnn_table.h"

SH_CUDNN_INTERCEPT(SH_REAL_TYPEDEF)
SH_CUDNN_USE(SH_REAL_TYPEDEF)

enum { SH_CUDNN_INTERCEPT(SH_SLOT_ENUM) SH_CUDNN_USE(SH_SLOT_ENUM) SH_CUDNN_NSYMS };

extern struct sh_lib sh_cudnn;
extern const char *const sh_cudnn_syms[];

/* Largest tensor rank cuDNN accepts (CUDNN_DIM_MAX). */
#define SH_DNN_DIMS 8
/* Outputs one call can check (a graph's real, non-virtual outputs beyond
 * these are not): the call record is zeroed on every intercepted call, so
 * it is kept small. */
#define SH_DNN_OUTS 4
/* Inputs one call can name: a graph's tensors that no operation of it
 * produces (an output is computed from at most SH_CHECK_MAX_INPUTS). */
#define SH_DNN_INPUTS 8

/* A tensor as cuDNN describes it: element (i0, i1, ...) lies sum(ik *
 * stride[k]) elements from the base. type is a cudnnDataType_t. */
struct sh_dnn_tensor {
    int type, nd;
    long long dim[SH_DNN_DIMS], stride[SH_DNN_DIMS];
};

/* One output to check after the call, with the shape fields of its
 * operation (the GEMM or reduction it amounts to; struct sh_call). */
struct sh_dnn_out {
    struct sh_dnn_tensor t;
    const void *ptr;
    /* A graph output's name (cuDNN's: y, dx, o, dq ...), in its findings
     * when the call checks more than one output. */
    const char *name;
    long long m, n, k, batch;
    int atype, btype, ctype, compute, compute_used; /* CUDA data types */
    /* A graph's output lists the call's inputs it is computed from
     * (indices; -1: one not followed, unknown); a legacy call's one output
     * has all of the call's. */
    bool own_inputs;
    int nin;
    signed char in[SH_CHECK_MAX_INPUTS];
};

/* One intercepted cuDNN call: its record, and what to scan after it. */
struct cudnn_call {
    struct sh_call c;
    cudnnHandle_t h;
    int nout;
    struct sh_dnn_out out[SH_DNN_OUTS];
    /* The call's inputs (SAFEHALF_CHECK_INPUTS); one without a pointer is
     * not scanned (inputs_finite unknown). in_uid: a graph tensor's UID. */
    int nin;
    const char *in_name[SH_DNN_INPUTS];
    struct sh_dnn_tensor in[SH_DNN_INPUTS];
    const void *in_ptr[SH_DNN_INPUTS];
    long long in_uid[SH_DNN_INPUTS];
    int attr;  /* cudnnBackendSetAttribute/GetAttribute: the attribute name */
    bool desc; /* a descriptor call with a compute type (in call records) */
    bool native_graph; /* put into a CUDA graph by cuDNN: described, not checked */
};

/* A cuDNN data type as the CUDA data type the generic code reasons in. */
int sh_dnn_cuda_type(int cudnn_type);

/* The program's own compute type of a descriptor whose compute type the
 * shim rewrote (any of the legacy and backend descriptors): true when held. */
bool sh_dnn_own_get(const void *desc, int *own);
/* Remembers the program's compute type before a rewrite; false when the
 * table is full (then the descriptor must be left as the program made it). */
bool sh_dnn_own_put(const void *desc, int own);
void sh_dnn_own_del(const void *desc);

/* A descriptor call's compute type: the program's, the policy's decision,
 * and the value to hand cuDNN (rewrites only what can be remembered). */
int sh_dnn_decide_desc(struct cudnn_call *cc, const void *desc, int compute);
/* After the real descriptor call: keeps the table in step with the
 * descriptor (a failed call changed nothing). */
void sh_dnn_desc_done(const void *desc, int own, int used, bool had_old, int old,
                      cudnnStatus_t status);
/* For a compute call: the program's and the used compute type of a
 * descriptor whose current (used) value is `used`, and the action. */
void sh_dnn_call_compute(struct sh_call *c, const void *desc, int used);
/* The same from what is known: held = the shim rewrote the descriptor
 * from the program's `own` to `used`. */
void sh_dnn_set_compute(struct sh_call *c, bool held, int own, int used);
/* Describes the call (the generic shape fields) as one of its outputs. */
void sh_dnn_describe(struct sh_call *c, const struct sh_dnn_out *o);

long long sh_dnn_elems(const struct sh_dnn_tensor *t);
/* Product of the spatial dims (2 and up of [N, C, spatial...]). */
long long sh_dnn_spatial(const struct sh_dnn_tensor *t);

/* Graph API hooks (cudnn_graph.c). */
bool sh_dnn_graph_set(struct cudnn_call *cc, cudnnBackendDescriptor_t d,
                      cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                      int64_t count, const void *elems);
bool sh_dnn_graph_get(struct cudnn_call *cc, cudnnBackendDescriptor_t d,
                      cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                      int64_t requested, int64_t *count, void *elems);
void sh_dnn_graph_destroy(cudnnBackendDescriptor_t d);
void sh_dnn_graph_after_fork(void);
bool sh_dnn_graph_execute(struct cudnn_call *cc, cudnnHandle_t h,
                          cudnnBackendDescriptor_t plan, cudnnBackendDescriptor_t pack);

#endif
