import type { Browser } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { browserWorld, expectAccessible, expectReflow, newContext, pageWeight } from '../helpers/browser.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld()
let tenant: Tenant
let server: World['server']
let browser: Browser

beforeAll(() => {
  ;({ tenant, server, browser } = w)
})

const pages = () => [
  { name: 'home', path: '/' },
  { name: 'tenant home', path: `/t/${tenant.slug}` },
  { name: 'accessibility statement', path: '/accessibilita' },
  { name: 'not found', path: '/t/nessun-ente', status: 404 },
]

describe('public pages in Chromium', () => {
  // axe needs timers, which a context without JavaScript does not run: axe checks the server's HTML in a
  // JavaScript context (our scripts only move focus), and the JavaScript-off runs check the pages work.
  it('axe finds no WCAG 2.2 A/AA violation, in both languages', async () => {
    for (const lang of ['it', 'en']) {
      const context = await newContext(browser)
      await context.addCookies([{ name: 'lang', value: lang, url: server.url }])
      const page = await context.newPage()
      for (const p of pages()) {
        const res = await page.goto(server.url + p.path)
        expect(res?.status(), p.path).toBe(p.status ?? 200)
        expect(await page.getAttribute('html', 'lang')).toBe(lang)
        await expectAccessible(page)
      }
      await context.close()
    }
  })

  it('every page renders with JavaScript off', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    for (const p of pages()) {
      const res = await page.goto(server.url + p.path)
      expect(res?.status(), p.path).toBe(p.status ?? 200)
      expect(await page.locator('h1').count()).toBe(1)
    }
    await context.close()
  })

  it('reflows at 320 px without horizontal scrolling', async () => {
    const context = await newContext(browser)
    for (const p of pages()) await expectReflow(context, server.url + p.path)
    await context.close()
  })

  it('has one h1, landmarks and a skip link that is the first focusable element', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await page.goto(`${server.url}/t/${tenant.slug}`)
    const snapshot = await page.locator('body').ariaSnapshot()
    expect(snapshot).toContain('banner')
    expect(snapshot).toContain('main')
    expect(snapshot).toContain('contentinfo')
    expect(await page.locator('h1').count()).toBe(1)
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Salta al contenuto principale')
    await page.keyboard.press('Enter')
    expect(page.url()).toMatch(/#main$/)
    await context.close()
  })

  it('switches language by keyboard alone with JavaScript off', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await page.goto(`${server.url}/t/${tenant.slug}`)
    await page.getByRole('link', { name: /English/ }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(`${server.url}/t/${tenant.slug}`)
    expect(await page.getAttribute('html', 'lang')).toBe('en')
    await context.close()
  })

  it('stays under the 14 KB first-round-trip budget (HTML + CSS, compressed)', async () => {
    const weights: Record<string, number> = {}
    for (const p of pages()) {
      const w = await pageWeight(server.url + p.path)
      weights[p.name] = w.total
      expect(w.total, `${p.name}: ${w.total} bytes`).toBeLessThan(14 * 1024)
    }
    console.log('page weight (HTML + CSS, gzip, bytes):', weights)
  })
})
