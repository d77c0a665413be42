// Debian's Chromium driven by playwright-core, axe-core run inside the page, and the browser files' world: the
// app served on a loopback port, Chromium, signing in on the login page.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { gzipSync } from 'node:zlib'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { TEST_PASSWORD } from './accounts.ts'
import { made, type Person, TestWorld, type World, type WorldOptions } from './world.ts'

const require = createRequire(import.meta.url)
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** playwright-core's own --disable-features list (chromiumSwitches.ts), which ours replaces and so repeats */
const PLAYWRIGHT_DISABLED = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
]

async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--no-first-run',
      '--disable-sync',
      // one renderer process for every page and context (not one per site): Chromium's processes were most of
      // the browser files' CPU on two cores; nothing here needs site isolation
      '--renderer-process-limit=1',
      '--disable-site-isolation-trials',
      // Chromium reads only the last --disable-features, so this one repeats playwright-core's own list
      // (PLAYWRIGHT_DISABLED) and adds ours. RenderDocument (a new frame host for every navigation) cost a third of
      // Chromium's CPU on each page load (measured: 0.14 → 0.09 CPU seconds a navigation)
      `--disable-features=${[...PLAYWRIGHT_DISABLED, 'IsolateOrigins', 'site-per-process', 'Translate', 'RenderDocument'].join(',')}`,
      '--disable-extensions',
      '--mute-audio',
      '--disable-breakpad',
    ],
  })
}

/**
 * One Chromium per test worker, shared by the browser files the worker runs one after another (their modules are
 * loaded once: isolate: false in vitest.config.ts): a launch costs 3.6 CPU seconds here. Each file's world closes
 * the contexts it leaves at its end, so the next file starts with an empty browser; playwright-core stops Chromium
 * when the worker exits.
 */
let shared: Promise<Browser> | null = null

export function sharedBrowser(): Promise<Browser> {
  if (!shared) {
    const launching = launchBrowser()
    shared = launching
    const forget = () => {
      if (shared === launching) shared = null
    }
    launching.then((b) => b.once('disconnected', forget), forget)
  }
  return shared
}

const noScript = new WeakSet<BrowserContext>()

export async function newContext(browser: Browser, opts: { js?: boolean; width?: number; lang?: string } = {}) {
  const context = await browser.newContext({
    javaScriptEnabled: opts.js ?? true,
    viewport: { width: opts.width ?? 1024, height: 800 },
    locale: opts.lang ?? 'it-IT',
  })
  if (opts.js === false) noScript.add(context)
  return context
}

export interface AxeViolation {
  id: string
  impact: string
  help: string
  nodes: { target: string[]; html: string }[]
}

// resultTypes: every violation in full; passes and the rest are left unlisted (axe stops gathering their nodes)
const AXE_OPTIONS = {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  resultTypes: ['violations'],
}

/** axe.run in the page (axe already there), the violations only */
function runAxe(page: Page): Promise<AxeViolation[]> {
  return page.evaluate(async (options) => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected at run time
    const r = await (window as any).axe.run(document, options)
    return r.violations.map((v: AxeViolation) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html })),
    }))
  }, AXE_OPTIONS) as Promise<AxeViolation[]>
}

const preloaded = new WeakSet<BrowserContext>()

/**
 * Loads axe into every document of the context as it is created (a script of the browser's, not the page's: the
 * page's CSP stays on), for a context that checks nearly every page it opens: no injection per check.
 */
export async function preloadAxe(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: AXE_SOURCE })
  preloaded.add(context)
}

/**
 * Closes what a file opened in the shared browser, its axe replay pages with them: the next file meets a browser
 * with nothing open. For files that take sharedBrowser() without a browserWorld (which does this at its end).
 */
export async function releaseBrowser(browser: Browser): Promise<void> {
  if (!browser.isConnected()) return
  replays.delete(browser)
  await Promise.all(browser.contexts().map((c) => c.close().catch(() => {})))
}

/** Runs axe on the current page with the WCAG 2.0/2.1/2.2 A and AA rules; returns the violations. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  for (let attempt = 1; ; attempt++) {
    await page.waitForLoadState('load')
    try {
      // evaluate() is not subject to the page's CSP, so the strict policy stays on during the check
      if (!preloaded.has(page.context())) await page.evaluate(AXE_SOURCE)
      return await runAxe(page)
    } catch (e) {
      // the navigation of the last click committed while axe ran (its new document, maybe not yet parsed, has no
      // root element): check the page it led to once it has loaded
      if (attempt >= 3 || !/Execution context was destroyed|reading 'documentElement'/.test(String(e))) throw e
    }
  }
}

/**
 * One scripted page per browser and origin where the HTML of pages without JavaScript is replayed for axe:
 * axe is loaded there once (half a second saved on every check), then each page's HTML replaces the document
 * (document.open/write keeps the window, so axe stays), at the page's own address and viewport, with its CSS.
 */
const replays = new WeakMap<Browser, Map<string, { page: Promise<Page>; queue: Promise<unknown> }>>()

function replayFor(browser: Browser, origin: string) {
  let byOrigin = replays.get(browser)
  if (!byOrigin) {
    byOrigin = new Map()
    replays.set(browser, byOrigin)
  }
  let replay = byOrigin.get(origin)
  if (!replay) {
    const page = (async () => {
      const context = await browser.newContext()
      const p = await context.newPage()
      const blank = `${origin}/__axe-replay`
      await p.route(blank, (route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          body: '<!doctype html><title>axe</title>',
        }),
      )
      await p.goto(blank)
      return p
    })()
    replay = { page, queue: Promise.resolve() }
    byOrigin.set(origin, replay)
  }
  return replay
}

async function axeReplayed(browser: Browser, url: string, viewport: { width: number; height: number }, html: string) {
  const replay = replayFor(browser, new URL(url).origin)
  const check = replay.queue.then(async () => {
    const page = await replay.page
    await page.setViewportSize(viewport)
    // the page's own address, so that every relative reference resolves as it did there
    await page.evaluate((u) => history.replaceState(null, '', u), url)
    await page.setContent(html, { waitUntil: 'load' })
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected at run time
    if (!(await page.evaluate(() => typeof (window as any).axe === 'object'))) await page.evaluate(AXE_SOURCE)
    return runAxe(page)
  })
  replay.queue = check.catch(() => {})
  return check
}

/**
 * axe on the page as it is. axe needs timers, which a context without JavaScript does not run: there the
 * page's HTML is replayed at the same address in a scripted page of the same browser, with its CSS.
 */
export async function expectAccessible(page: Page) {
  let violations: AxeViolation[]
  if (noScript.has(page.context())) {
    await page.waitForLoadState('load')
    const html = await page.content()
    const browser = page.context().browser() as Browser
    violations = await axeReplayed(browser, page.url(), page.viewportSize() ?? { width: 1024, height: 800 }, html)
  } else {
    violations = await axe(page)
  }
  expect(violations, `${page.url()}\n${JSON.stringify(violations, null, 2)}`).toEqual([])
}

/** WCAG 1.4.10: nothing scrolls sideways at 320 CSS pixels. */
export async function expectReflow(context: BrowserContext, url: string) {
  const page = await context.newPage()
  await page.setViewportSize({ width: 320, height: 640 })
  await page.goto(url)
  const width = await page.evaluate(() => document.documentElement.scrollWidth)
  const culprit =
    width > 320
      ? await page.evaluate(() => {
          // the outermost elements wider than the viewport that are not inside a scrolling region
          const wide = [...document.querySelectorAll('body *')].filter(
            (el) => el.getBoundingClientRect().right > 321 && !el.closest('.table-wrap'),
          )
          return wide.slice(0, 3).map((el) => el.outerHTML.slice(0, 120))
        })
      : []
  expect(width, `${url} scrolls sideways at 320px: ${culprit.join(' | ')}`).toBeLessThanOrEqual(320)
  await page.close()
}

/** HTML + CSS of a page, gzip-compressed, in bytes (the first-round-trip budget is 14 KB). */
export async function pageWeight(url: string, cookie = ''): Promise<{ html: number; css: number; total: number }> {
  const res = await fetch(url, { headers: { cookie } })
  const html = await res.text()
  const cssHrefs = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1] as string)
  let css = 0
  for (const href of cssHrefs) {
    const body = await (await fetch(new URL(href, url))).text()
    css += gzipSync(body).length
  }
  const h = gzipSync(html).length
  return { html: h, css, total: h + css }
}

export interface BrowserWorld<P extends Person = never> extends World<P> {
  readonly browser: Browser
  /** Signs in on the login page (email, password, the main form's button); then waits for that address (waitFor). */
  signIn(page: Page, email: string, opts?: { password?: string; waitFor?: string | RegExp }): Promise<void>
}

class ChromiumWorld<P extends Person> extends TestWorld<P> implements BrowserWorld<P> {
  #browser?: Browser

  get browser(): Browser {
    if (!this.#browser) throw new Error('world: no browser (used before the file’s beforeAll)')
    return this.#browser
  }

  override async open() {
    await super.open()
    this.#browser = await sharedBrowser()
  }

  override async close() {
    if (this.#browser) await releaseBrowser(this.#browser)
    await super.close()
  }

  async signIn(page: Page, email: string, opts: { password?: string; waitFor?: string | RegExp } = {}) {
    await page.goto(`${this.url}/accesso`)
    await page.fill('#email', email)
    await page.fill('#password', opts.password ?? TEST_PASSWORD)
    await page.click('main button[type=submit]')
    if (opts.waitFor)
      await page.waitForURL(typeof opts.waitFor === 'string' ? `${this.url}${opts.waitFor}` : opts.waitFor)
  }
}

/**
 * world() for a browser file: the app served on a loopback port (w.url) and Chromium (w.browser), both closed with
 * the rest after the file's tests.
 */
export function browserWorld<P extends Person = never>(opts: Omit<WorldOptions<P>, 'serve'> = {}): BrowserWorld<P> {
  return made(new ChromiumWorld<P>({ ...opts, serve: true }))
}
