/* Call sites: where in the program a half-precision call comes from (its
 * Python stack, else its native caller), with its api, shape and types.
 * Each site gets one `site` record when first seen and per-site counts
 * (calls, upcasts, checked, nonfinite) in `counts` records at exit and on a
 * crash, which the report turns into its table per call site. */
#ifndef SAFEHALF_SITES_H
#define SAFEHALF_SITES_H

#include <stdbool.h>

struct sh_call;
struct sh_check_names;

/* Whether a call is worth a site: a 16-bit output or compute type, or a
 * call the policy had something to say about. */
bool sh_site_tracked(const struct sh_call *c);

/* Captures the Python stack (SAFEHALF_PYSTACK), finds or adds the call's
 * site, writes its record if new, counts the call; sets c->site (-1 when
 * the table is full). On the calling thread, after the hook. A call with
 * a site is counted there only: its api's counts in the summary are the
 * runtime's plus its sites' (sh_sites_api_counts). */
void sh_site_enter(struct sh_call *c, const char *api, const struct sh_check_names *names);

/* Every site's library, api, calls and upcasts, to add to the api's. */
struct sh_lib_ops;
void sh_sites_api_counts(void (*add)(const struct sh_lib_ops *lib, int api, unsigned long calls,
                                     unsigned long upcasts, void *ctx),
                         void *ctx);

/* For the check engine (site may be -1). */
void sh_site_checked(int site, bool nonfinite);
/* Records written at this site before (for SAFEHALF_MAX_RECORDS); a full
 * table shares one counter. */
unsigned long sh_site_take_record(int site);
/* The site's id in records (0 for -1), and its Python frames or NULL. */
unsigned sh_site_id(int site);
const char *sh_site_frames(int site);

/* The calling thread's name (pthread_getname_np, read once per thread). */
const char *sh_thread_name(void);

/* `counts` records; async-signal-safe with in_signal (the crash handler
 * writes them). */
void sh_sites_write_counts(bool in_signal);
/* The summary's "sites" object. */
struct sh_json;
void sh_sites_summary(struct sh_json *j);
void sh_sites_after_fork(void);

#endif
