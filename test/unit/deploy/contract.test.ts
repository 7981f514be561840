import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadIngestConfig } from '../../../functions/ingest/config.js';
import { readProcessorConfig } from '../../../functions/processor/config.js';
import { readSweepConfig } from '../../../functions/sweep/config.js';
import { pino } from 'pino';
import { DEPLOYMENT_NAMES } from '../../../functions/shared/deployment-names.js';
import {
  checkAlertVariableDescriptions,
  checkDeploymentNames,
  checkIngestUnderTerraform,
  checkRegionValidation,
  checkRoutingUnderTerraform,
  checkSettingsDocs,
  checkValidationsAgainstCode,
  documentedRoutingExamples,
  shippedRoutingFiles,
  withScratchDir,
  type RoutingSource,
} from '../../support/deployment-contract.js';
import { readDocs } from '../../support/markdown-docs.js';
import { DELIBERATELY_UNSET, loadTerraform, readCodeFacts, type CodeFacts, type TerraformConfig } from '../../support/terraform-checks.js';

// The deployment contract: what terraform/ gives the functions, read from the HCL and
// evaluated (test/support/terraform-eval.ts), against what the processor's and the ingest
// function's own loaders, the `postload` command and the docs expect. Nothing here restates
// a name, a setting or a bound: each side is read from its source, so a setting, a variable
// or a routing example someone adds later is checked without touching this file.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE_ROUTING = join(ROOT, 'schemas/examples/routing.example.json');
// The probes of the variables start the processor with a routing file that uses dbt jobs and Slack.
const PROBE_ROUTING = join(ROOT, 'functions/local/routing.local.json');

describe('deployment contract (terraform/ against the code, the CLI and the docs)', function () {
  this.timeout(120_000);

  let config: TerraformConfig;
  let code: CodeFacts;
  let ingest: string;
  let processor: string;
  let sweep: string;

  before(async () => {
    const loaded = await loadTerraform(join(ROOT, 'terraform'));
    assert.deepEqual(loaded.problems, []);
    config = loaded.config;
    code = readCodeFacts(ROOT);
    ingest = code.functions.find((f) => f.folder === 'ingest')!.entryPoint;
    processor = code.functions.find((f) => f.folder === 'processor')!.entryPoint;
    sweep = code.functions.find((f) => f.folder === 'sweep')!.entryPoint;
  });

  describe('every routing file loads in the processor under the environment Terraform gives it', () => {
    const shipped = shippedRoutingFiles(ROOT);

    it('finds the routing files the repository ships (the examples and the local one)', () => {
      const where = shipped.map((s) => s.where);
      for (const expected of ['schemas/examples/routing.example.json', 'schemas/examples/routing.worked-example.json', 'functions/local/routing.local.json']) {
        assert.ok(where.includes(expected), `${expected} is found (found: ${where.join(', ')})`);
      }
    });

    for (const source of shipped) {
      it(`${source.where}: the processor starts and reads every secret it names, with Slack and without (slack_enabled = false)`, async () => {
        assert.deepEqual(await checkRoutingUnderTerraform(config, code, source, processor), []);
        assert.deepEqual(await checkRoutingUnderTerraform(config, code, source, processor, { slack_enabled: false }), []);
      });
    }

    it('every complete routing file shown in the docs, likewise', async () => {
      const docs = readDocs(ROOT);
      const problems = await withScratchDir(async (dir) => {
        const examples: RoutingSource[] = documentedRoutingExamples(docs, dir);
        assert.ok(examples.length >= 1, 'the docs show at least one complete routing file');
        return (await Promise.all(examples.map((example) => checkRoutingUnderTerraform(config, code, example, processor)))).flat();
      });
      assert.deepEqual(problems, []);
    });

    it('the ingest function starts with its environment and reads every secret it is given', async () => {
      assert.deepEqual(await checkIngestUnderTerraform(config, code, ingest, PROBE_ROUTING), []);
    });
  });

  describe('names', () => {
    it('the names the CLI and the local stack default to are the ones Terraform gives, and the outputs print those resources', () => {
      assert.deepEqual(checkDeploymentNames(config, DEPLOYMENT_NAMES), []);
    });
  });

  describe('variables', () => {
    it('var.region accepts every current Cloud Run region and refuses what is no region', () => {
      assert.deepEqual(checkRegionValidation(config), []);
    });

    it('no value a validation accepts stops a function at start-up (each probed through the function\'s own loader)', () => {
      const loaders = {
        [ingest]: (env: Record<string, string>) => loadIngestConfig(env),
        [processor]: (env: Record<string, string>) => readProcessorConfig(env),
        [sweep]: (env: Record<string, string>) => readSweepConfig(env),
      };
      assert.deepEqual(checkValidationsAgainstCode(config, code, ROOT, PROBE_ROUTING, loaders), []);
    });

    it('an alert switch describes the alert it switches', () => {
      assert.deepEqual(checkAlertVariableDescriptions(config), []);
    });
  });

  describe('settings (docs/settings.md)', () => {
    it('lists every setting under the function that reads it, with Terraform\'s source and the values the code takes', () => {
      const markdown = readFileSync(join(ROOT, 'docs/settings.md'), 'utf8');
      // LOG_LEVEL goes to pino: the levels it takes are pino's (and silent), asked of pino itself.
      const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent', 'verbose', 'warning', 'critical'].filter((level) => {
        try {
          pino({ level });
          return true;
        } catch {
          return false;
        }
      });
      assert.deepEqual(checkSettingsDocs(config, code, markdown, { LOG_LEVEL: levels }, PROBE_ROUTING, DELIBERATELY_UNSET), []);
    });
  });
});
