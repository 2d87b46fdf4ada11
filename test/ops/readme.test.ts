/** README.md states the two contract commands and its generated tables match the code. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { README, fill, tables } from '../../scripts/readme-tables.js'

t.test('README tables are in sync with the code (npm run docs:tables)', async (t) => {
  const readme = readFileSync(README, 'utf8')
  for (const [name, body] of Object.entries(tables())) {
    t.ok(readme.includes(`<!-- ${name}:start -->`), `README has the ${name} table`)
    t.equal(fill(readme, name, body), readme, `${name} table is current`)
  }
})

t.test('README gives the start and test commands', async (t) => {
  const readme = readFileSync(README, 'utf8')
  t.match(readme, /```sh\nnpm ci && npm start\n```/)
  t.match(readme, /```sh\nnpm test\n```/)
})
