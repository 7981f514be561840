import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTerraform, type TerraformConfig } from '../../support/terraform-checks.js';
import { checkConnectEnv, cliSources } from '../../support/terraform-connect.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../');

// `eval "$(terraform output -raw connect_env)"` is how the deploy guide sets up `postload
// connect`: what it exports must be what the functions were given.
describe('terraform/: the connect_env output (static check)', function () {
  this.timeout(60_000);
  let config: TerraformConfig;
  let sources: string;
  before(async () => {
    const loaded = await loadTerraform(join(ROOT, 'terraform'));
    assert.deepEqual(loaded.problems, []);
    config = loaded.config;
    sources = cliSources(ROOT);
  });

  it('exports exactly what the functions are given, each a variable the CLI reads', () => {
    assert.deepEqual(checkConnectEnv(config, sources), []);
    const exported = String(config.outputs.get('connect_env')!.body.value).match(/export (\w+)=/g)!.map((e) => e.slice(7, -1));
    for (const name of ['POSTLOAD_INGEST_URL', 'FIVETRAN_WEBHOOK_SECRET', 'AIRBYTE_WEBHOOK_TOKEN', 'DBT_CLOUD_WEBHOOK_SECRET', 'GOOGLE_CLOUD_PROJECT']) assert.ok(exported.includes(name), name);
  });

  it('fails on a secret the functions do not read, a name the CLI does not know, and a line eval would split', () => {
    const broken = structuredClone(config);
    const output = broken.outputs.get('connect_env')!;
    output.body.value = String(output.body.value)
      .replace('fivetran_webhook_secret.secret_id', 'airbyte_webhook_token.secret_id')
      .concat('export POSTLOAD_NOTHING=${var.project_id}\nexport BAD=two words\n');
    const problems = checkConnectEnv(broken, sources);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0]!, /FIVETRAN_WEBHOOK_SECRET=.*airbyte_webhook_token.*but the functions are given .*fivetran_webhook_secret/);
    assert.match(problems[1]!, /POSTLOAD_NOTHING, which no function is given/);
    assert.match(problems[2]!, /POSTLOAD_NOTHING, which the CLI never reads/);
    assert.match(problems[3]!, /"export BAD=two words" is not "export NAME=VALUE"/);
  });
});
