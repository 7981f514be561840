import assert from 'node:assert/strict';
import { loadIngestConfig } from '../../../functions/ingest/config.js';
import { clientAddress, SourceRanges } from '../../../functions/ingest/source-ranges.js';

const RANGES = '35.234.176.0/20, 2600:1900:4000::/44, 203.0.113.7';

describe('source ranges', () => {
  describe('matching an address', () => {
    const ranges = SourceRanges.parse('FIVETRAN_SOURCE_RANGES', RANGES);
    const cases: Array<[string, string | undefined, boolean]> = [
      ['IPv4 inside', '35.234.180.9', true],
      ['IPv4 first of range', '35.234.176.0', true],
      ['IPv4 last of range', '35.234.191.255', true],
      ['IPv4 just outside', '35.234.192.0', false],
      ['bare address listed (one host)', '203.0.113.7', true],
      ['its neighbour', '203.0.113.8', false],
      ['IPv6 inside', '2600:1900:4001::1', true],
      ['IPv6 outside', '2600:1900:5000::1', false],
      ['IPv4-mapped IPv6 of an address inside', '::ffff:35.234.180.9', true],
      ['IPv4-mapped IPv6 of an address outside', '::ffff:10.0.0.1', false],
      ['non-decimal IPv4 form', '0x23.0xea.0xb4.9', false],
      ['garbage', 'not-an-address', false],
      ['empty', '', false],
      ['unknown', undefined, false],
    ];
    for (const [name, address, expected] of cases) it(`${name}: ${String(address)} → ${expected}`, () => assert.equal(ranges.includes(address), expected));

    it('a range written as IPv4-mapped IPv6 matches the IPv4 clients it stands for', () => {
      const mapped = SourceRanges.parse('S', '::ffff:192.0.2.0/120');
      assert.equal(mapped.includes('192.0.2.200'), true);
      assert.equal(mapped.includes('192.0.3.1'), false);
    });
  });

  describe('the client address, as Cloud Run delivers it', () => {
    const cases: Array<{ name: string; header: string | undefined; socket?: string; hops: number; expected: string | undefined }> = [
      { name: 'direct: the entry Google appended (the last)', header: '35.234.180.9', hops: 0, expected: '35.234.180.9' },
      { name: 'spoofed entry prepended by the client is ignored', header: '35.234.180.9, 198.51.100.4', hops: 0, expected: '198.51.100.4' },
      { name: 'behind a load balancer: one trusted hop', header: '1.1.1.1, 35.234.180.9, 34.120.0.1', hops: 1, expected: '35.234.180.9' },
      { name: 'two trusted hops', header: 'spoof, 35.234.180.9, 10.0.0.2, 34.120.0.1', hops: 2, expected: '35.234.180.9' },
      { name: 'fewer entries than hops: unknown', header: '35.234.180.9', hops: 1, expected: undefined },
      { name: 'missing header: the socket peer (a local run)', header: undefined, socket: '::ffff:127.0.0.1', hops: 0, expected: '::ffff:127.0.0.1' },
      { name: 'missing header with trusted hops: unknown', header: undefined, socket: '127.0.0.1', hops: 1, expected: undefined },
      { name: 'spaces around entries', header: ' 1.2.3.4 ,  5.6.7.8 ', hops: 0, expected: '5.6.7.8' },
    ];
    for (const c of cases) it(c.name, () => assert.equal(clientAddress(c.header, c.socket, c.hops), c.expected));
  });

  describe('settings', () => {
    it('unset: no restriction for any source', () => {
      assert.deepEqual(loadIngestConfig({}).sourceRanges, {});
      assert.equal(loadIngestConfig({}).trustedProxyHops, 0);
    });

    it('each source reads its own setting', () => {
      const config = loadIngestConfig({ AIRBYTE_SOURCE_RANGES: '34.106.109.131/32', DBT_CLOUD_SOURCE_RANGES: '52.45.144.63', TRUSTED_PROXY_HOPS: '1' });
      assert.deepEqual(Object.keys(config.sourceRanges).sort(), ['airbyte', 'dbt-cloud']);
      assert.equal(config.sourceRanges.airbyte?.includes('34.106.109.131'), true);
      assert.equal(config.trustedProxyHops, 1);
    });

    for (const [value, why] of [
      ['35.234.176.0/33', 'prefix too long'],
      ['35.234.176/20', 'three-part IPv4'],
      ['2600:1900::/129', 'IPv6 prefix too long'],
      ['10.0.0.0/8/1', 'two slashes'],
      ['example.com', 'a host name'],
      [' , ', 'no range at all'],
    ]) {
      it(`malformed (${why}) stops the instance at start-up, naming the setting`, () => {
        assert.throws(() => loadIngestConfig({ FIVETRAN_SOURCE_RANGES: value }), /FIVETRAN_SOURCE_RANGES/);
      });
    }
  });
});
