// Tenant documents in Chromium with JavaScript off: publish (error state, then a PDF), edit, delete after a
// confirmation; citizens see them on the tenant page and the documents page. axe on every page.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: ['operatore'] })
let tenant: Tenant
let server: World['server']
let browser: Browser
let operator: TestAccount

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n')

beforeAll(() => {
  ;({ tenant, server, browser } = w)
  operator = w.accounts.operatore
})

const login = (page: Page) => w.signIn(page, operator.email)

describe('tenant documents in Chromium', () => {
  it('the office publishes, edits and deletes a PDF; citizens download it', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/documenti-ente`)
    await expectAccessible(page)
    // a file that is not a PDF
    await page.fill('#title', 'Menù invernale')
    await page.selectOption('#category', 'menu')
    await page.setInputFiles('#file', {
      name: 'menu.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('not a pdf'),
    })
    await page.getByRole('button', { name: 'Pubblica il documento' }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.inputValue('#title')).toBe('Menù invernale')
    await expectAccessible(page)
    await page.setInputFiles('#file', { name: 'Menù invernale.pdf', mimeType: 'application/pdf', buffer: PDF })
    await page.getByRole('button', { name: 'Pubblica il documento' }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('Documento pubblicato')
    await expectAccessible(page)
    await page.getByRole('link', { name: /Modifica o sostituisci/ }).click()
    await expectAccessible(page)
    await page.fill('#title', 'Menù invernale 2026')
    await page.getByRole('button', { name: 'Salva le modifiche' }).click()
    await expect(page.locator('main table').textContent()).resolves.toContain('Menù invernale 2026')

    // citizens, signed in or not
    const visitor = await (await newContext(browser, { js: false })).newPage()
    await visitor.goto(`${server.url}/t/${tenant.slug}`)
    await expectAccessible(visitor)
    await visitor.getByRole('link', { name: 'Tutti i documenti' }).click()
    await expectAccessible(visitor)
    const href = await visitor.getByRole('link', { name: 'Menù invernale 2026' }).getAttribute('href')
    expect(href).toMatch(/\/documenti-ente\/\d+\/Menu-invernale\.pdf$/)
    const res = await fetch(`${server.url}${href}`)
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="Menu-invernale.pdf"')
    await expectReflow(visitor.context(), `${server.url}/t/${tenant.slug}/documenti-ente`)
    await visitor.context().close()

    await page.getByRole('link', { name: /^Elimina/ }).click()
    await expectAccessible(page)
    await page.getByRole('button', { name: 'Elimina il documento' }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('Documento eliminato')
    await expectReflow(context, `${server.url}/t/${tenant.slug}/ufficio/documenti-ente`)
    await context.close()
  })
})
