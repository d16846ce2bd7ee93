/* What each cuBLAS handle's program believes its math mode is: the shim
 * hands cuBLAS more flags than the program set, and cublasGetMathMode must
 * still answer with the program's own value. */
#ifndef SAFEHALF_HANDLES_H
#define SAFEHALF_HANDLES_H

#include <stdbool.h>

/* Records the program's mode for a handle; false when the table is full. */
bool sh_handle_set_mode(const void *handle, int mode);
/* The program's mode, or false when the handle is unknown. */
bool sh_handle_get_mode(const void *handle, int *mode);
/* Forgets the handle's mode: cuBLAS holds the program's own. */
void sh_handle_forget(const void *handle);

#endif
