// One translation unit for nvcc, so every kernel lands in a single fatbin that
// the shim loads once with cuLibraryLoadData.
#include "convert.cu"
#include "scan.cu"
