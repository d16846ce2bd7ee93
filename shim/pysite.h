/* Python call sites: the Python lines that led to a library call, when the
 * calling thread runs CPython code. CPython's C API is found at run time in
 * the process (nothing is linked); in a process without Python nothing
 * happens. A stack is interned: the frames of a stack seen before cost a
 * lookup, and only a new stack is formatted (file, line, function). */
#ifndef SAFEHALF_PYSITE_H
#define SAFEHALF_PYSITE_H

/* The calling thread's innermost `depth` Python frames, as an id (0: none:
 * no Python in the process, a thread without Python frames, depth 0, or the
 * table of stacks is full). Takes the GIL for the lookup when the thread
 * released it around the library call (PyTorch's ops do). */
unsigned sh_pysite_capture(int depth);

/* The frames of an id as a JSON array, innermost first:
 * [{"file":"train.py","line":42,"func":"Model.forward"},...]; NULL for 0.
 * Safe from any thread, and in a signal handler. */
const char *sh_pysite_json(unsigned id);

/* Stacks dropped because the table was full. */
unsigned long sh_pysite_dropped(void);

/* In a forked child: the interned stacks stay valid (same code objects). */
void sh_pysite_after_fork(void);

#endif
