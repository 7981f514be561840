import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clip, escapeHtml, href, html, raw, visible } from '../../../functions/status/html.js';

// The one guarantee the status page's templates rest on: whatever a vendor wrote becomes
// text, never markup, and stays readable (controls written out, nothing rearranged).

const decode = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('<script>alert(1)</script>', '<img src=x onerror="alert(1)">', '"><svg onload=alert(1)>', "' onmouseover='x", '\u001b[31m', '\u202eevil', '\ud800', '&lt;'),
);

describe('status/html', () => {
  it('an interpolated text never adds markup: no < > " \' survive, and the entities decode to the visible text', () => {
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 4 }).map((parts) => parts.join('')), (text) => {
        const rendered = html`<td title="${text}">${text}</td>`.value;
        const inner = rendered.slice('<td title="'.length, rendered.indexOf('">'));
        assert.doesNotMatch(inner, /[<>"']/);
        assert.equal(decode(inner), visible(text));
        assert.equal(rendered, `<td title="${inner}">${inner}</td>`);
      }),
      { numRuns: 500 },
    );
  });

  it('visible: controls and direction overrides written out, lone surrogates replaced, ordinary text untouched', () => {
    assert.equal(visible('a\u001b[31mb\u202ec\td\ne'), 'a\\u001b[31mb\\u202ec\td\ne');
    assert.equal(visible('x\ud800y'), 'x\ufffdy');
    assert.equal(visible('Müller — 数据 ✓'), 'Müller — 数据 ✓');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const shown = visible(text);
        assert.ok(shown.isWellFormed());
        assert.doesNotMatch(shown, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
      }),
      { numRuns: 500 },
    );
  });

  it('Html is inserted as it is, arrays are joined, nothing is printed for null, undefined and booleans', () => {
    assert.equal(html`<p>${raw('<b>x</b>')}${[html`<i>1</i>`, '<2>']}${null}${undefined}${false}${3}</p>`.value, '<p><b>x</b><i>1</i>&lt;2&gt;3</p>');
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('clip cuts by code point with an ellipsis; href encodes every value and leaves out empty ones', () => {
    assert.equal(clip('😀😀😀', 2), '😀…');
    assert.equal(clip('abc', 3), 'abc');
    assert.equal(href('/events', { q: 'a&b=<c>', source: '', cursor: undefined }), '/events?q=a%26b%3D%3Cc%3E');
  });
});
