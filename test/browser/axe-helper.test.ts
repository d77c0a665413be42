// The accessibility check itself: with JavaScript off the page's HTML is replayed for axe in a page that keeps axe
// loaded (test/helpers/browser.ts); it must still find what axe finds in the page itself, with the page's CSS, at
// the page's address, one replay after another.
import { createServer, type Server } from 'node:http'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { axe, expectAccessible, newContext, releaseBrowser, sharedBrowser } from '../helpers/browser.ts'

const PAGES: Record<string, string> = {
  '/ok':
    '<!doctype html><html lang="it"><head><title>Bene</title><link rel="stylesheet" href="/s.css"></head><body><main><h1>Bene</h1><p>Testo leggibile</p></main></body></html>',
  '/grigio':
    '<!doctype html><html lang="it"><head><title>Grigio</title><link rel="stylesheet" href="/s.css"></head><body><main><h1>Grigio</h1><p class="pale">Testo chiaro</p></main></body></html>',
  '/sub/immagine':
    '<!doctype html><html><head><title>Immagine</title></head><body><main><h1>Immagine</h1><img src="foto.png"></main></body></html>',
}
let server: Server
let base: string
let browser: Browser

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/s.css') {
      res.writeHead(200, { 'content-type': 'text/css' }).end('body{color:#222;background:#fff} .pale{color:#ccc}')
      return
    }
    const html = PAGES[req.url ?? '']
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(html ?? 'no')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  browser = await sharedBrowser()
})

afterAll(async () => {
  if (browser) await releaseBrowser(browser)
  server?.close()
})

describe('expectAccessible', () => {
  it('finds with JavaScript off what axe finds in the page itself, replay after replay', async () => {
    const off = await (await newContext(browser, { js: false })).newPage()
    const on = await (await newContext(browser)).newPage()
    for (const [path, expected] of [
      ['/ok', []],
      ['/grigio', ['color-contrast']],
      ['/ok', []],
      ['/sub/immagine', ['html-has-lang', 'image-alt']],
      ['/ok', []],
    ] as const) {
      await on.goto(base + path)
      expect((await axe(on)).map((v) => v.id).sort(), `${path} in the page`).toEqual(expected)
      await off.goto(base + path)
      const check = expectAccessible(off)
      if (expected.length === 0) await check
      else for (const id of expected) await expect(check, `${path} replayed`).rejects.toThrow(id)
    }
  })
})
