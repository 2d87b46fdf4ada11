/**
 * The Origin allow-list as pure logic: the forms an Origin is matched in, anchoring warnings
 * (and why they matter: an unanchored pattern lets example.com.evil.net through), invalid
 * patterns named, case folding, and an empty list refusing everyone.
 */
import t from 'tap'
import { anchoringWarning, compileDomains, DomainPatternError, originForms, patternProblems } from '../../src/lib/origin-policy.js'

t.test('origin forms: host, host:port (default port by scheme), full origin', async (t) => {
  t.same(originForms('http://example.com'), ['example.com', 'example.com:80', 'http://example.com', 'http://example.com:80'])
  t.same(originForms('HTTPS://API.Example.COM'), ['api.example.com', 'api.example.com:443', 'https://api.example.com', 'https://api.example.com:443'])
  t.same(originForms('ws://www.webinate.net:123'), ['www.webinate.net', 'www.webinate.net:123', 'ws://www.webinate.net:123'])
  t.same(originForms('wss://x.test'), ['x.test', 'x.test:443', 'wss://x.test', 'wss://x.test:443'])
  t.same(originForms('trusted-host'), ['trusted-host'], "the seed client's bare origin")
  t.same(originForms('Trusted-Host:8080'), ['trusted-host', 'trusted-host:8080'])
  t.same(originForms('chrome-extension://abcdef'), ['abcdef', 'chrome-extension://abcdef'], 'no default port for unknown schemes')
  for (const bad of [undefined, '', ' ', 'null', 'http://a@evil.net', 'http://evil.net/x', 'http://evil.net?x', 'http://evil.net#x', 'evil.net/x', 'a b', 'http://']) {
    t.equal(originForms(bad), null, `${JSON.stringify(bad)} matches nothing`)
  }
})

t.test('anchored patterns are not fooled; unanchored ones are warned about because they are', async (t) => {
  const anchored = compileDomains(['^example\\.com$'])
  t.same(anchored.warnings, [])
  t.ok(anchored.allows('http://example.com'))
  t.notOk(anchored.allows('http://example.com.evil.net'), 'example.com.evil.net does not pass ^example\\.com$')
  t.notOk(anchored.allows('http://evil-example.com'))

  const loose = compileDomains(['example.com'])
  t.equal(loose.warnings.length, 1)
  t.match(loose.warnings[0], /"example\.com" is not anchored/)
  t.ok(loose.allows('http://example.com.evil.net'), 'which is exactly why the unanchored pattern is warned about')
  t.ok(loose.allows('http://examplexcom.evil.net'), 'the unescaped dot matches anything too')

  t.match(anchoringWarning('^example\\.org'), /has no \$ anchor/)
  t.match(anchoringWarning('example\\.org$'), /has no \^ anchor/)
  t.match(anchoringWarning('^price\\$'), /has no \$ anchor/, 'an escaped dollar is not an anchor')
  t.equal(anchoringWarning('^a$'), null)
})

t.test('the seed list', async (t) => {
  const d = compileDomains(['localhost', '^ws://www.webinate.net:123$', '^webinate\\.net:80$', '^example\\.com$', '^.+\\.example\\.com$', '^example\\.org', '^.+\\.example\\.org'])
  t.equal(d.warnings.length, 3, 'localhost, ^example\\.org and ^.+\\.example\\.org')
  const allowed = ['http://localhost', 'http://localhost:3000', 'ws://www.webinate.net:123', 'http://webinate.net', 'ws://webinate.net', 'webinate.net:80', 'https://example.com', 'https://a.b.example.com', 'http://example.org:8080']
  for (const o of allowed) t.ok(d.allows(o), `${o} allowed`)
  const refused = ['https://webinate.net', 'ws://www.webinate.net:124', 'http://webinate.net:81', 'http://example.com.evil.net', 'http://evil.com', 'http://notexample.com', 'null', undefined]
  for (const o of refused) t.notOk(d.allows(o), `${String(o)} refused`)
})

t.test('case: hosts are compared case-insensitively, without opening a bypass', async (t) => {
  const d = compileDomains(['^example\\.com$', '^HTTPS://Panel\\.Example\\.com$'])
  t.ok(d.allows('http://EXAMPLE.com'))
  t.ok(d.allows('https://panel.example.com'), 'an upper-case pattern still matches')
  t.notOk(d.allows('http://EXAMPLE.COM.EVIL.NET'))
  t.notOk(d.allows('http://panel.example.com'), 'the scheme still counts in a full-origin pattern')
})

t.test('invalid patterns are named; an empty list refuses everyone', async (t) => {
  t.same(patternProblems(['^ok$']), [])
  const problems = patternProblems(['^ok$', '(unclosed', '[z-a]'])
  t.equal(problems.length, 2)
  t.match(problems[0], /"\(unclosed"/)
  t.match(problems[1], /"\[z-a\]"/)
  t.throws(() => compileDomains(['(unclosed']), DomainPatternError)
  t.throws(() => compileDomains(['(unclosed']), /APPROVED_SOCKET_DOMAINS: invalid regular expression "\(unclosed"/)
  const empty = compileDomains([])
  for (const o of ['http://localhost', 'trusted-host', undefined]) t.notOk(empty.allows(o))
})
