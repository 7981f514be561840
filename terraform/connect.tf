# What `postload connect` (and `postload send`) need to know about this deployment, as shell
# exports: eval "$(terraform output -raw connect_env)". Names and references only, never a
# secret's value. Each secret reference is the one the ingest function reads (functions.tf),
# so connect adds its versions where the function looks (checked statically by npm test).

output "connect_env" {
  description = "Shell exports for postload connect and postload send: eval \"$(terraform output -raw connect_env)\". Secret references only, no values."
  value       = <<-EOT
    export GOOGLE_CLOUD_PROJECT=${var.project_id}
    export POSTLOAD_INGEST_URL=${google_cloudfunctions2_function.ingest.service_config[0].uri}
    export FIVETRAN_WEBHOOK_SECRET=sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.fivetran_webhook_secret.secret_id}
    export AIRBYTE_WEBHOOK_TOKEN=sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.airbyte_webhook_token.secret_id}
    export DBT_CLOUD_WEBHOOK_SECRET=sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.dbt_cloud_webhook_secret.secret_id}
    export DBT_CLOUD_ACCOUNT_ID=${var.dbt_cloud_account_id}
    export DBT_CLOUD_BASE_URL=${var.dbt_cloud_base_url}
  EOT
}
