/*
 * GET /api/sync/status: the leading worker's jobs and their last runs,
 * the worker itself, and which of the last 31 days each source has been
 * synced for. Read anew for every request, never cached.
 */
#ifndef API_STATUS_H
#define API_STATUS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "routes.h"

/* The days /api/sync/status reports, today included. */
#define API_STATUS_DAYS 31

/*
 * The data object from the statements' rows. jobs: worker, version,
 * leader_since, heartbeat_at, current_job, missing_first, missing_last,
 * missing_days (null when no worker ever led), then job, schedule,
 * sources, first_day, last_day, interval_seconds, next_run, last_status,
 * last_started_at, last_finished_at, last_error, last_success_at (null
 * on the one row of a database without jobs); times in seconds since the
 * epoch. days: date, stats synced_at, calls synced_at, calls
 * records_written, a row per day. NULL when out of memory.
 */
json_t *api_status_data(const PGresult *jobs, const PGresult *days);

void api_handle_sync_status(const struct api_context *ctx, const char *query,
                            struct api_response *resp);

#endif
