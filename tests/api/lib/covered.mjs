// tests/api/lib/covered.mjs: the routes the REST tests exercise (METHOD PATTERN, parameter names
// free).  routes.test.mjs fails when `tgxd routes` prints a route that is not here: a new route
// needs its tests (and a line here) in the same change.
export const COVERED = `
GET /metrics
GET /api/health
POST /api/code/validate
POST /api/claim-fund
GET /api/fees
GET /api/users/:address
POST /api/users/email
GET /api/users/safe-addresses/:user_address
POST /api/jobs
GET /api/jobs/by-apikey
GET /api/jobs/time
PUT /api/jobs/update/:id
PUT /api/jobs/:id/status/:status
PUT /api/jobs/:id/lastexecuted
GET /api/jobs/user/:user_address
GET /api/jobs/user/:user_address/chain/:created_chain_id
PUT /api/jobs/delete/:id
GET /api/jobs/user/:user_address/:job_id
GET /api/jobs/:job_id/task-fees
GET /api/jobs/safe-address/:safe_address
POST /api/tasks
GET /api/tasks/:id
PUT /api/tasks/execution/:id
GET /api/tasks/job/:job_id
GET /api/tasks/recent
GET /api/tasks/user/:user_address
GET /api/tasks/by-apikey/:api_key
GET /api/tasks/safe-address/:safe_address
POST /api/keepers
POST /api/keepers/form
GET /api/keepers/performers
GET /api/keepers/:id
POST /api/keepers/:id/increment-tasks
GET /api/keepers/:id/task-count
POST /api/keepers/:id/add-points
GET /api/keepers/:id/points
POST /api/keepers/update-chat-id
GET /api/keepers/com-info/:id
GET /api/leaderboard/keepers
GET /api/leaderboard/users
GET /api/leaderboard/users/search
GET /api/leaderboard/keepers/search
POST /api/admin/api-keys
PUT /api/admin/api-keys/:key
DELETE /api/admin/api-keys/:key
GET /api/admin/api-keys/:owner
GET /api/ws/tasks
GET /api/ws/stats
GET /api/ws/health
POST /api/admin/keepers/:address/whitelist
POST /api/keeper/checkin
GET /api/keeper/tasks
POST /api/keeper/tasks/:id/ack
POST /api/keeper/tasks/:id/result
POST /api/keeper/tasks/:id/fail
GET /api/keeper/attestations
POST /api/keeper/attestations/:task_id
POST /health
`.trim().split('\n').map((l) => {
  const [method, pattern] = l.trim().split(/\s+/);
  return { method, pattern };
});

// what the SDK calls (triggerx-sdk.md section 2): these must be in the route table
export const SDK_ROUTES = [
  ['GET', '/api/fees'], ['POST', '/api/jobs'], ['GET', '/api/jobs/by-apikey'], ['GET', '/api/jobs/user/:a'],
  ['GET', '/api/jobs/user/:a/:b'], ['GET', '/api/tasks/job/:a'], ['GET', '/api/users/:a'], ['PUT', '/api/jobs/delete/:a'],
];

/** METHOD + pattern with parameter names dropped (":x" and "{x}" alike). */
export function routeKey(method, pattern) {
  return `${method} ${pattern.replace(/[:{][A-Za-z0-9_]+\}?/g, ':')}`;
}
