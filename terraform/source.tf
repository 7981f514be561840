# The deployed source: the package as it is in git, without tests, Terraform, build output
# or node_modules. Cloud Functions installs the dependencies (devDependencies included) and
# runs `npm run gcp-build` (json2ts + tsc into dist/) on Cloud Build, so the archive carries
# what that build needs: package.json, package-lock.json, tsconfig.json, functions/, schemas/.
data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.build/postload-source.zip"

  # Paths relative to source_dir; a directory listed here is skipped whole.
  excludes = [
    ".build",
    ".ci",
    ".env",
    ".git",
    ".gitignore",
    ".mocharc.json",
    "dist",
    "dist-test",
    "functions/generated",
    "node_modules",
    "terraform",
    "test",
    "tsconfig.test.json",
  ]
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
