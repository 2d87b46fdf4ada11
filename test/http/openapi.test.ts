/**
 * OpenAPI: `/docs/json` is a valid OpenAPI 3 document generated from the route schemas, every
 * HTTP route registered in the app has request and response schemas (the response schema is
 * what filters output), and `/docs` serves the UI.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RouteOptions } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/config.js'
import { ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, freshDatabase } from '../helper.js'

interface Operation {
  summary?: string
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: { default?: unknown } }>
  requestBody?: unknown
  tags?: string[]
}

t.test('OpenAPI document and route schemas', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-openapi-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = loadConfig({
    env: {
      DATABASE_URL: await freshDatabase(t), DATA_DIR: dataDir, PORT: '0',
      ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_API_KEY, SOCKET_TOKEN_SECRET: 'x'.repeat(40),
    },
    dotenv: false,
  })
  const routes: RouteOptions[] = []
  const app = await buildApp(config, { logger: false, onRoute: (r) => void routes.push(r) })
  t.teardown(() => app.close())
  await app.ready()

  t.test('/docs/json is OpenAPI 3 and every operation documents its responses', async (t) => {
    const res = await app.inject({ url: '/docs/json' })
    t.equal(res.statusCode, 200)
    const doc = res.json<{ openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>>; components?: unknown }>()
    t.match(doc.openapi, /^3\.\d+\.\d+$/, 'openapi version 3.x')
    t.ok(doc.info.title && doc.info.version, 'info.title and info.version')
    const paths = Object.keys(doc.paths)
    for (const p of ['/api/application/users', '/api/application/users/{user}', '/api/application/api-keys', '/api/client/account',
      '/api/client/account/api-keys', '/api/client/account/api-keys/{identifier}', '/api/auth/login', '/api/auth/logout', '/health', '/ready']) {
      t.ok(paths.includes(p), `documents ${p}`)
    }
    const uiRoutes = (p: string) => ['/docs', '/docs/', '/docs/json', '/docs/yaml'].includes(p) || p.startsWith('/docs/static')
    t.notOk(paths.some(uiRoutes), 'the Swagger UI routes themselves are hidden')
    const methods = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options'])
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!methods.has(method)) continue
        const codes = Object.keys(op.responses ?? {})
        t.ok(op.summary && op.summary.length > 5, `${method.toUpperCase()} ${path} has a summary`)
        for (const [code, response] of Object.entries(op.responses ?? {})) {
          t.ok(response.description && response.description !== 'Default Response', `${method.toUpperCase()} ${path} describes its ${code} response`)
        }
        t.ok(codes.length > 0, `${method.toUpperCase()} ${path} has responses`)
        t.ok(codes.some((c) => /^2/.test(c)), `${method.toUpperCase()} ${path} documents a success response`)
        if (path.startsWith('/api/')) {
          t.ok(codes.includes('4XX') || codes.some((c) => /^4/.test(c)), `${method.toUpperCase()} ${path} documents its errors`)
        }
        for (const p of op.parameters ?? []) {
          if (p.schema?.default !== undefined) t.notOk(p.required, `${method.toUpperCase()} ${path}: ${p.name} has a default, so it is not required`)
        }
        for (const param of path.match(/\{[^}]+\}/g) ?? []) {
          const name = param.slice(1, -1)
          t.ok(op.parameters?.some((p) => p.in === 'path' && p.name === name), `${method.toUpperCase()} ${path} documents path parameter ${name}`)
        }
      }
    }
    const list = doc.paths['/api/application/users']!.get!
    for (const q of ['page', 'per_page', 'filter[email]', 'sort']) {
      t.ok(list.parameters?.some((p) => p.in === 'query' && p.name === q), `users list documents ?${q}`)
    }
    t.ok(doc.paths['/api/application/users']!.post!.requestBody, 'create user documents its body')
  })

  t.test('every HTTP route has request and response schemas', async (t) => {
    const checked = routes.filter((r) => {
      const url = r.url
      if (r.method === 'HEAD' || (Array.isArray(r.method) && r.method.length === 1 && r.method[0] === 'HEAD')) return false
      if ((r as { websocket?: boolean }).websocket) return false
      if (url.startsWith('/docs')) return false // @fastify/swagger-ui's own pages and static files
      if (r.schema?.hide) return false
      return true
    })
    t.ok(checked.length >= 12, `${checked.length} routes checked`)
    for (const r of checked) {
      const method = Array.isArray(r.method) ? r.method.join(',') : r.method
      const name = `${method} ${r.url}`
      const check = (ok: unknown, what: string) => t.ok(ok, `${name}: ${what}`)
      const response = r.schema?.response as Record<string, unknown> | undefined
      check(response && Object.keys(response).some((c) => /^2/.test(c)), 'response schema for success')
      if (r.url.includes(':')) check(r.schema?.params, 'params schema')
      // Writes validate a body, except bodiless actions on a resource (POST …/:id/suspend),
      // whose request is the validated path, and logout, which takes nothing.
      if (/POST|PUT|PATCH/.test(method) && r.url !== '/api/auth/logout') check(r.schema?.body || r.schema?.params, 'body (or, for an action, params) schema')
    }
  })

  t.test('/docs serves the UI', async (t) => {
    const res = await app.inject({ url: '/docs' })
    const page = res.statusCode === 302 ? await app.inject({ url: res.headers.location as string }) : res
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /text\/html/)
    t.match(page.body, /swagger/i)
    const yaml = await app.inject({ url: '/docs/yaml' })
    t.equal(yaml.statusCode, 200)
    t.match(yaml.body, /^openapi: /m)
  })
})
