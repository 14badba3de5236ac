/*
 * rstate.h - the runner's side of durable queue state: messages whose
 * state could not be written are paused (not delivered) until it can be,
 * and a site's freeze is read from its marker first (queue/freeze.h),
 * never from a failure to read bucket.tdb.
 */
#ifndef SM_RSTATE_H
#define SM_RSTATE_H

#include <stdint.h>
#include <time.h>

#include "queue/qstate.h"

struct rstate;

/* rstate_new / rstate_free - the pause list of one runner. */
struct rstate *rstate_new(void);
void	rstate_free(struct rstate *);
/* rstate_paused - 1 if qid must not be delivered now. */
int	rstate_paused(const struct rstate *, const char *qid, time_t now);
/* rstate_pause - pause qid until the given time (0: until the runner
 * restarts); logs one line when it was not paused already. */
void	rstate_pause(struct rstate *, const char *qid, time_t until,
	    const char *why);
/* rstate_resume - qid's state was written: deliver it normally. */
void	rstate_resume(struct rstate *, const char *qid);
/* rstate_site_frozen - 1 if site is frozen: by its freeze marker, or by
 * the bucket flags when bucket_ok (an auto-freeze then also gets a
 * marker).  An unreadable bucket is never "frozen". */
int	rstate_site_frozen(const char *spool_dir, const char *site,
	    int bucket_ok, uint32_t bucket_flags);
/* rstate_recover - qstate_recover for a record the runner is about to
 * deliver, storing the result when something changed. */
int	rstate_recover(const char *spool_dir, struct qstate *,
	    struct qrec *);

/* rstate_tmp_grace - seconds before a tmp/ file without a live writer is
 * removed: RSTATE_TMP_GRACE, or SITEMAIL_TMP_GRACE from the environment
 * (a test knob; only sitemaild, never a set-id program, reads it). */
#define RSTATE_TMP_GRACE	30
long	rstate_tmp_grace(void);

#endif
