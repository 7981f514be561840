# The deployed source: an allow-list of what the deploy build reads, so a stray file in the
# working tree (.env, a credentials JSON, coverage output) is never uploaded. Cloud
# Functions runs `npm ci` and `npm run gcp-build` (json2ts, tsc into dist/, then esbuild into
# dist/bundle/, package.json's main) on Cloud Build;
# at run time the code reads the schemas next to dist/.
#
# The package.json in the archive is the repository's, trimmed to what building needs.
# Google's Node.js buildpack installs devDependencies too when a gcp-build script exists,
# and after the build reinstalls only `dependencies` for the runtime image
# (https://cloud.google.com/docs/buildpacks/nodejs,
# https://cloud.google.com/appengine/docs/standard/nodejs/running-custom-build-step). The
# test tooling (mocha, sinon, fast-check, autocannon, the 300 MB @cdktf/provider-google)
# would be downloaded on every build, so the archive's devDependencies keep only the
# build's own tools. The lockfile stays as it is: `npm ci` installs the tree the trimmed
# package.json asks for, at the locked versions, and skips the lockfile's other entries.
# npm test builds a copy of exactly these files (test/unit/terraform/deploy-build.test.ts).
locals {
  package_root = "${path.module}/.."

  source_patterns          = ["package-lock.json", "tsconfig.json", "functions/**/*.ts", "schemas/*.schema.json"]
  # The local stack and the operator CLI run from a clone, never in a function.
  source_excluded_patterns = ["functions/generated/**", "functions/local/**", "functions/cli/**"]

  source_files = setsubtract(
    toset(flatten([for pattern in local.source_patterns : tolist(fileset(local.package_root, pattern))])),
    toset(flatten([for pattern in local.source_excluded_patterns : tolist(fileset(local.package_root, pattern))])),
  )

  package_manifest       = jsondecode(file("${local.package_root}/package.json"))
  build_scripts          = ["build", "gcp-build", "gen:types"]
  build_dev_dependencies = ["@types/node", "esbuild", "json-schema-to-typescript", "typescript"]

  deploy_package_json = jsonencode(merge(local.package_manifest, {
    scripts         = { for name, command in local.package_manifest.scripts : name => command if contains(local.build_scripts, name) }
    devDependencies = { for name, version in local.package_manifest.devDependencies : name => version if contains(local.build_dev_dependencies, name) }
  }))
}

# Files are zipped in sorted order with zero timestamps, so the same content gives the same md5.
data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/.build/postload-source.zip"

  source {
    filename = "package.json"
    content  = local.deploy_package_json
  }

  dynamic "source" {
    for_each = local.source_files

    content {
      filename = source.value
      content  = file("${local.package_root}/${source.value}")
    }
  }
}

resource "google_storage_bucket" "source" {
  name     = "${var.project_id}-${var.name_prefix}-source"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  depends_on = [google_project_service.apis]
}

# Named by content hash: any change to the code yields a new object, which redeploys both functions.
resource "google_storage_bucket_object" "source" {
  name   = "postload-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
