// Realistic vendor payloads for `postload send`. The templates are the test fixtures
// (test/fixtures/<vendor>/<name>.json, which are not in the built package); a unit test
// (test/unit/cli/payloads.test.ts) fails when a template and its fixture differ. Each
// build gets fresh ids and times, so every send is a new event, not a duplicate.

export type Json = Record<string, unknown>;

/** test/fixtures/fivetran/sync_start.json */
export const fivetranSyncStart: Json = {
  "event": "sync_start",
  "created": "2026-05-22T00:00:01.120Z",
  "connector_type": "google_cloud_postgresql",
  "connector_id": "assimilate_seem",
  "connector_name": "ftar_pg",
  "sync_id": "b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e",
  "destination_group_id": "inappropriate_implode",
  "data": {}
};

/** test/fixtures/fivetran/sync_end-successful.json */
export const fivetranSyncEndSuccessful: Json = {
  "event": "sync_end",
  "created": "2026-05-22T00:06:08.638Z",
  "connector_type": "google_cloud_postgresql",
  "connector_id": "assimilate_seem",
  "connector_name": "ftar_pg",
  "sync_id": "b4703f73-8d8e-4b5f-9f3e-0f3a1b2c3d4e",
  "destination_group_id": "inappropriate_implode",
  "data": {
    "status": "SUCCESSFUL"
  }
};

/** test/fixtures/fivetran/sync_end-failure.json */
export const fivetranSyncEndFailure: Json = {
  "event": "sync_end",
  "created": "2026-05-22T01:10:00.000Z",
  "connector_type": "salesforce",
  "connector_id": "warm_glow",
  "connector_name": "salesforce_prod",
  "sync_id": "0d3c9a2e-1b5f-4a77-9c1e-7d2b6f3e8a10",
  "destination_group_id": "inappropriate_implode",
  "data": {
    "status": "FAILURE",
    "reason": "Invalid credentials for Salesforce"
  }
};

/** test/fixtures/fivetran/test_event.json */
export const fivetranTestEvent: Json = {
  "event": "test_event",
  "created": "2026-05-22T00:00:00.000Z",
  "connector_type": "_connector_type",
  "connector_id": "_connector_1",
  "group_id": "_destination_1"
};

/** test/fixtures/airbyte/sync-succeeded.json */
export const airbyteSyncSucceeded: Json = {
  "text": "Your connection pg_to_bq from Postgres to BigQuery succeeded\nThis was for null\n\nYou can access its logs here: https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/connections/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n\nJob ID: 9012",
  "blocks": [
    {
      "type": "section",
      "text": {
        "type": "mrkdwn",
        "text": "Sync completed: <https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/connections/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d|pg_to_bq>"
      }
    },
    {
      "type": "section",
      "fields": [
        {
          "type": "mrkdwn",
          "text": "*Source:*"
        },
        {
          "type": "mrkdwn",
          "text": "<https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/source/1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a|Postgres>"
        },
        {
          "type": "mrkdwn",
          "text": "*Destination:*"
        },
        {
          "type": "mrkdwn",
          "text": "<https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/destination/2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b|BigQuery>"
        },
        {
          "type": "mrkdwn",
          "text": "*Duration:*"
        },
        {
          "type": "mrkdwn",
          "text": "4 min 5 sec"
        }
      ]
    },
    {
      "type": "section",
      "text": {
        "type": "mrkdwn",
        "text": "*Sync Summary:*\n250000 record(s) extracted / 250000 record(s) loaded\n100 MB extracted / 100 MB loaded\n"
      }
    }
  ],
  "data": {
    "workspace": {
      "id": "6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e",
      "name": "Analytics",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e"
    },
    "connection": {
      "id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
      "name": "pg_to_bq",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/connections/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    },
    "source": {
      "id": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
      "name": "Postgres",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/source/1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a"
    },
    "destination": {
      "id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
      "name": "BigQuery",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/destination/2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
    },
    "jobId": 9012,
    "startedAt": "2026-05-22T10:00:00Z",
    "finishedAt": "2026-05-22T10:04:05Z",
    "bytesEmitted": 104857600,
    "bytesCommitted": 104857600,
    "recordsEmitted": 250000,
    "recordsCommitted": 250000,
    "recordsFilteredOut": 0,
    "bytesFilteredOut": 0,
    "errorMessage": null,
    "errorType": null,
    "errorOrigin": null,
    "success": true,
    "durationInSeconds": 245,
    "durationFormatted": "4 min 5 sec",
    "bytesEmittedFormatted": "100 MB",
    "bytesCommittedFormatted": "100 MB"
  }
};

/** test/fixtures/airbyte/sync-failed.json */
export const airbyteSyncFailed: Json = {
  "text": "Your connection pg_to_bq from Postgres to BigQuery just failed...\nThis happened with Something went wrong in the connector. See the logs for more details.\n\nYou can access its logs here: https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/connections/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n\nJob ID: 9013",
  "blocks": [
    {
      "type": "section",
      "text": {
        "type": "mrkdwn",
        "text": "Sync failure occurred: <https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/connections/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d|pg_to_bq>"
      }
    },
    {
      "type": "section",
      "fields": [
        {
          "type": "mrkdwn",
          "text": "*Source:*"
        },
        {
          "type": "mrkdwn",
          "text": "<https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/source/1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a|Postgres>"
        },
        {
          "type": "mrkdwn",
          "text": "*Destination:*"
        },
        {
          "type": "mrkdwn",
          "text": "<https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/destination/2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b|BigQuery>"
        },
        {
          "type": "mrkdwn",
          "text": "*Duration:*"
        },
        {
          "type": "mrkdwn",
          "text": "42 sec"
        }
      ]
    },
    {
      "type": "section",
      "text": {
        "type": "mrkdwn",
        "text": "*Failure reason:*\n\n```\n[config_error] Something went wrong in the connector. See the logs for more details.\n```\n"
      }
    },
    {
      "type": "section",
      "text": {
        "type": "mrkdwn",
        "text": "*Sync Summary:*\n0 record(s) extracted / 0 record(s) loaded\n0 B extracted / 0 B loaded\n"
      }
    }
  ],
  "data": {
    "workspace": {
      "id": "6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e",
      "name": "Analytics",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e"
    },
    "connection": {
      "id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
      "name": "pg_to_bq",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/connections/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    },
    "source": {
      "id": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
      "name": "Postgres",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/source/1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a"
    },
    "destination": {
      "id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
      "name": "BigQuery",
      "url": "https://cloud.airbyte.com/workspaces/6f1c7a59-8a3e-4c8a-9e4f-3b0e1a2c3d4e/destination/2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
    },
    "jobId": 9013,
    "startedAt": "2026-05-22T11:00:00Z",
    "finishedAt": "2026-05-22T11:00:42Z",
    "bytesEmitted": 0,
    "bytesCommitted": 0,
    "recordsEmitted": 0,
    "recordsCommitted": 0,
    "recordsFilteredOut": 0,
    "bytesFilteredOut": 0,
    "errorMessage": "Something went wrong in the connector. See the logs for more details.",
    "errorType": "config_error",
    "errorOrigin": "source",
    "success": false,
    "durationInSeconds": 42,
    "durationFormatted": "42 sec",
    "bytesEmittedFormatted": "0 B",
    "bytesCommittedFormatted": "0 B"
  }
};

/**
 * A dbt Cloud job.run.completed webhook as dbt Cloud documents it (docs.getdbt.com,
 * "Webhooks for your jobs"; copied in the project's wire-formats notes): ids in `data` are
 * strings, `timestamp` has nanoseconds. Its fixture arrives with the /dbt-cloud route.
 */
export const dbtCloudRunCompleted: Json = {
  accountId: 1,
  webhookId: 'wsu_2abcDEF',
  eventId: 'wev_2ghiJKL',
  timestamp: '2026-11-20T10:42:13.123456789Z',
  eventType: 'job.run.completed',
  webhookName: 'postload',
  data: {
    jobId: '101',
    jobName: 'Nightly build',
    runId: '70000123',
    environmentId: '7',
    environmentName: 'Production',
    dbtVersion: '1.9.0',
    projectName: 'Analytics',
    projectId: '3',
    runStatus: 'Success',
    runStatusCode: 10,
    runStatusMessage: 'None',
    runReason: 'Kicked off from the postload CLI',
    runStartedAt: '2026-11-20T10:40:01Z',
    runFinishedAt: '2026-11-20T10:42:10Z',
  },
};
