/* dnngraph.h: building cuDNN backend-API graphs as cuDNN's samples do,
 * for the programs and tests that need one: descriptors, tensors,
 * pointwise and matmul operations, graph, heuristics, engine
 * configuration, plan and variant pack.
 *
 * Each includer fails in its own way, so it defines, before including,
 *
 *   DNNG_FAIL(what, status)   what: the failing call's text
 *
 * which may end the program (dnn_app), fail the test (the emulated
 * cuDNN's), or note the failure and return (fork_busy_app). When it
 * returns the builders go on, and cuDNN refuses what depends on the
 * failed call (a NULL descriptor is BAD_PARAM), so a builder's result
 * is only to be used when no failure was noted. */
#ifndef DNNGRAPH_H
#define DNNGRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include <cudnn.h>

#ifndef DNNG_FAIL
#error "define DNNG_FAIL(what, status) before including dnngraph.h"
#endif

#define DNNG_TRY(call)                                                                     \
    do {                                                                                   \
        cudnnStatus_t dnng_st_ = (call);                                                   \
        if (dnng_st_ != CUDNN_STATUS_SUCCESS)                                              \
            DNNG_FAIL(#call, dnng_st_);                                                    \
    } while (0)

static inline cudnnBackendDescriptor_t bdesc(cudnnBackendDescriptorType_t t)
{
    cudnnBackendDescriptor_t d = NULL;
    DNNG_TRY(cudnnBackendCreateDescriptor(t, &d));
    return d;
}

static inline void bset(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                        cudnnBackendAttributeType_t t, int64_t n, const void *v)
{
    DNNG_TRY(cudnnBackendSetAttribute(d, a, t, n, v));
}

static inline void bset_desc(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                             cudnnBackendDescriptor_t v)
{
    bset(d, a, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v);
}

static inline void bfinal(cudnnBackendDescriptor_t d)
{
    DNNG_TRY(cudnnBackendFinalize(d));
}

/* A tensor of nd <= 8 dims, not finalized, for the includer to add what
 * its own tensors have (virtual, by value, ragged offsets); stride NULL:
 * packed row-major. */
static inline cudnnBackendDescriptor_t btensor_new(int64_t uid, cudnnDataType_t t, int nd,
                                                   const int64_t *dim, const int64_t *stride)
{
    int64_t packed[8], s = 1, align = 16;
    for (int i = nd - 1; i >= 0; i--) {
        packed[i] = s;
        s *= dim[i];
    }
    cudnnBackendDescriptor_t d = bdesc(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    bset(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    bset(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &t);
    bset(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, nd, dim);
    bset(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, nd, stride ? stride : packed);
    bset(d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
    return d;
}

/* A 2-d cross-correlation's geometry, on a convolution descriptor whose
 * compute type the includer sets (and finalizes it). */
static inline void bconv_geometry(cudnnBackendDescriptor_t d, const int64_t pre[2],
                                  const int64_t post[2], const int64_t stride[2],
                                  const int64_t dil[2])
{
    int64_t nsp = 2;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    bset(d, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
    bset(d, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &nsp);
    bset(d, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil);
    bset(d, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride);
    bset(d, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pre);
    bset(d, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, post);
}

static inline cudnnBackendDescriptor_t bpw_desc(cudnnPointwiseMode_t mode, cudnnDataType_t prec)
{
    cudnnBackendDescriptor_t d = bdesc(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    bset(d, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
    bset(d, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec);
    DNNG_TRY(cudnnBackendFinalize(d));
    return d;
}

/* A finalized pointwise operation of descriptor pd: y = op(x, b) (b NULL:
 * unary), or with bwd dx (in y) from x and dy (in b). */
static inline cudnnBackendDescriptor_t bpw_op_of(cudnnBackendDescriptor_t pd,
                                                 cudnnBackendDescriptor_t x,
                                                 cudnnBackendDescriptor_t b,
                                                 cudnnBackendDescriptor_t y, bool bwd)
{
    cudnnBackendAttributeName_t in2 = bwd ? CUDNN_ATTR_OPERATION_POINTWISE_DYDESC
                                          : CUDNN_ATTR_OPERATION_POINTWISE_BDESC;
    cudnnBackendAttributeName_t out = bwd ? CUDNN_ATTR_OPERATION_POINTWISE_DXDESC
                                          : CUDNN_ATTR_OPERATION_POINTWISE_YDESC;
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pd);
    bset_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
    if (b)
        bset_desc(op, in2, b);
    bset_desc(op, out, y);
    DNNG_TRY(cudnnBackendFinalize(op));
    return op;
}

/* A finalized matmul operation c = a b of matmul descriptor md. */
static inline cudnnBackendDescriptor_t bmatmul_op(cudnnBackendDescriptor_t a,
                                                  cudnnBackendDescriptor_t b,
                                                  cudnnBackendDescriptor_t c,
                                                  cudnnBackendDescriptor_t md)
{
    cudnnBackendDescriptor_t op = bdesc(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    bset_desc(op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, a);
    bset_desc(op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, b);
    bset_desc(op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, c);
    bset_desc(op, CUDNN_ATTR_OPERATION_MATMUL_DESC, md);
    DNNG_TRY(cudnnBackendFinalize(op));
    return op;
}

/* A graph of ops, not finalized (the emulated cuDNN's tests finalize
 * graphs it must refuse). */
static inline cudnnBackendDescriptor_t bgraph_new(cudnnHandle_t h, int n,
                                                  const cudnnBackendDescriptor_t *ops)
{
    cudnnBackendDescriptor_t graph = bdesc(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    bset(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n, ops);
    bset(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
    return graph;
}

static inline cudnnBackendDescriptor_t bgraph_of(cudnnHandle_t h, int n,
                                                 const cudnnBackendDescriptor_t *ops)
{
    cudnnBackendDescriptor_t graph = bgraph_new(h, n, ops);
    DNNG_TRY(cudnnBackendFinalize(graph));
    return graph;
}

/* Finalized heuristics for the graph, in the given mode. */
static inline cudnnBackendDescriptor_t bheur(cudnnBackendDescriptor_t graph,
                                             cudnnBackendHeurMode_t mode)
{
    cudnnBackendDescriptor_t heur = bdesc(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    bset_desc(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
    bset(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    DNNG_TRY(cudnnBackendFinalize(heur));
    return heur;
}

/* The heuristics' first engine configuration; none is NOT_SUPPORTED. */
static inline cudnnBackendDescriptor_t bfirst_cfg(cudnnBackendDescriptor_t heur)
{
    cudnnBackendDescriptor_t cfg = bdesc(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    int64_t n = 0;
    DNNG_TRY(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &cfg));
    if (n < 1)
        DNNG_TRY(CUDNN_STATUS_NOT_SUPPORTED);
    return cfg;
}

/* The finalized execution plan of an engine configuration. */
static inline cudnnBackendDescriptor_t bplan_of(cudnnHandle_t h, cudnnBackendDescriptor_t cfg)
{
    cudnnBackendDescriptor_t plan = bdesc(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    bset(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
    bset_desc(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfg);
    DNNG_TRY(cudnnBackendFinalize(plan));
    return plan;
}

/* The workspace a plan needs, in bytes (cuDNN's engines on a GPU often need
 * one; the emulated ones never do). */
static inline int64_t bplan_workspace(cudnnBackendDescriptor_t plan)
{
    int64_t bytes = 0, n = 0;
    DNNG_TRY(cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                      CUDNN_TYPE_INT64, 1, &n, &bytes));
    return bytes;
}

/* A finalized variant pack of n tensors and the plan's workspace (ws, or
 * NULL for a plan that needs none). */
static inline cudnnBackendDescriptor_t bpack_ws(int n, const int64_t *uids, void *const *ptrs,
                                                void *ws)
{
    cudnnBackendDescriptor_t pack = bdesc(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, uids);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, n, ptrs);
    bset(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
    DNNG_TRY(cudnnBackendFinalize(pack));
    return pack;
}

/* The same, with no workspace. */
static inline cudnnBackendDescriptor_t bpack(int n, const int64_t *uids, void *const *ptrs)
{
    return bpack_ws(n, uids, ptrs, NULL);
}

#endif
