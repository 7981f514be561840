# Run targets beside dbt Cloud (issue 28): Cloud Run jobs, Airflow DAGs (Cloud Composer),
# HTTP calls. What may be run is read from the routing file itself, so the grants below
# always name exactly the jobs the processor may start: never a project-wide role.
#
# - Cloud Run: roles/run.jobsExecutorWithOverrides (run.jobs.run, run.jobs.runWithOverrides,
#   run.executions.cancel) and roles/run.viewer (read the job and its executions) on each
#   job the routing file names, for the processor (which runs them) and the sweep (which
#   follows executions to their end and starts deferred ones). Both roles can be granted on
#   a single job (cloud.google.com/iam/docs/roles-permissions/run: "lowest-level resources
#   where you can grant this role: Cloud Run job").
# - Composer: roles/composer.user on the project (Composer has no per-environment IAM) when
#   an Airflow DAG of the routing file signs in with the runtime's Google token; Airflow's
#   own role (Op by default for API users) decides what it may do inside the environment.
# - Secrets the routing file names for these targets (HTTP signing secrets and header
#   tokens, Airflow credentials) live in Secret Manager: run_target_secrets creates their
#   containers and lets both identities read them.

locals {
  routing_config_parsed = jsondecode(local.routing_config_json)
  # Every place that holds actions: the routes, the default route, and the joins.
  routing_action_lists = concat(try(local.routing_config_parsed.routes, []), [try(local.routing_config_parsed.defaultRoute, {})])

  cloud_run_jobs = distinct(concat(
    flatten([for actions in local.routing_action_lists : [for job in try(actions.cloudRunJobs, []) : job.job]]),
    [for join in try(local.routing_config_parsed.joins, []) : join.cloudRunJob.job if can(join.cloudRunJob.job)],
  ))
  # "projects/P/locations/R/jobs/J" → { project, location, name }, keyed by the full name.
  cloud_run_job_parts = {
    for job in local.cloud_run_jobs : job => {
      project  = regex("^projects/([^/]+)/locations/([^/]+)/jobs/([^/]+)$", job)[0]
      location = regex("^projects/([^/]+)/locations/([^/]+)/jobs/([^/]+)$", job)[1]
      name     = regex("^projects/([^/]+)/locations/([^/]+)/jobs/([^/]+)$", job)[2]
    }
  }
  cloud_run_grants = {
    for pair in flatten([
      for job in local.cloud_run_jobs : [
        for role in ["roles/run.jobsExecutorWithOverrides", "roles/run.viewer"] : [
          for who in ["processor", "sweep"] : { key = "${who} ${role} ${job}", job = job, role = role, who = who }
        ]
      ]
    ]) : pair.key => pair
  }

  airflow_dags = concat(
    flatten([for actions in local.routing_action_lists : try(actions.airflowDags, [])]),
    [for join in try(local.routing_config_parsed.joins, []) : join.airflowDag if can(join.airflowDag.dagId)],
  )
  # Composer is reached with the runtime's Google token ("google", the default auth).
  # The two identities that use run targets: the processor starts runs, the sweep follows them.
  run_target_members = {
    processor = "serviceAccount:${google_service_account.processor.email}"
    sweep     = "serviceAccount:${google_service_account.sweep.email}"
  }
  composer_used = length([for dag in local.airflow_dags : dag if try(dag.auth, "google") == "google" && !startswith(dag.api, "http://")]) > 0
}

resource "google_cloud_run_v2_job_iam_member" "run_target" {
  for_each = local.cloud_run_grants

  project  = local.cloud_run_job_parts[each.value.job].project
  location = local.cloud_run_job_parts[each.value.job].location
  name     = local.cloud_run_job_parts[each.value.job].name
  role     = each.value.role
  member   = local.run_target_members[each.value.who]
}

resource "google_project_iam_member" "composer_user" {
  for_each = local.composer_used ? toset(["processor", "sweep"]) : toset([])

  project = var.project_id
  role    = "roles/composer.user"
  member  = local.run_target_members[each.key]
}

resource "google_secret_manager_secret" "run_target" {
  for_each = toset(var.run_target_secrets)

  secret_id = each.value

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "run_target_accessor" {
  for_each = {
    for pair in flatten([for id in var.run_target_secrets : [for who in ["processor", "sweep"] : { key = "${who} ${id}", id = id, who = who }]]) : pair.key => pair
  }

  secret_id = google_secret_manager_secret.run_target[each.value.id].id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.run_target_members[each.value.who]
}

resource "google_secret_manager_secret_iam_member" "run_target_lister" {
  for_each = {
    for pair in flatten([for id in var.run_target_secrets : [for who in ["processor", "sweep"] : { key = "${who} ${id}", id = id, who = who }]]) : pair.key => pair
  }

  secret_id = google_secret_manager_secret.run_target[each.value.id].id
  role      = "roles/secretmanager.viewer"
  member    = local.run_target_members[each.value.who]
}

# Runs the sweep follows to their end: one document per run, deleted after the audit retention.
resource "google_firestore_field" "followed_runs_expire_at" {
  database   = local.firestore_database
  collection = var.followed_runs_collection
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.database, google_project_service.apis]
}
