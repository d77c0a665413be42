// The office's own money in Chromium: a refund opened and executed, formal reminders sent, the exports page with a
// wrong period — each by keyboard alone with JavaScript off, axe on every page and error state, reflow at 320 px; the
// canteen credit forms; a lettore's pages without forms; the family's document with its refund.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { settleInstallments } from '../../src/features/payments/settle.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import { addPupil } from '../helpers/canteen.ts'
import { nuCheck, nuLines } from '../helpers/nu.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: ['admin', 'lettore', 'cittadino'] })
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let payer = 0
let paidDocument = 0
const [y, m, d] = todayRome().split('-') as [string, string, string]
/** the HTML of the pages below as served (JavaScript off), for the W3C Nu checker */
const served = new Map<string, string>()
const keep = async (name: string, page: Page) => served.set(name, await page.content())

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  payer = await givePayer(db, tenant, w.accounts.cittadino.codiceFiscale, ['Lucia', 'Verdi'])
  const paid = await issue(db, tenant, payer, [4000], { description: 'Mensa, primo trimestre' })
  paidDocument = paid.documentId
  await withTenant(db.sql, tenant, (tx) =>
    settleInstallments(tx, [
      {
        installmentId: (paid.installments[0] as { id: number }).id,
        paymentId: null,
        source: 'manuale',
        receiptNumber: 'Q-1',
        amountCents: 4000,
        paidAt: new Date(),
        channel: 'sportello',
      },
    ]),
  )
  // overdue, for the reminders
  await issue(db, tenant, payer, [2500], { firstDue: -20, description: 'Trasporto, settembre' })
})

const office = (p = '') => `${server.url}/t/${tenant.slug}/ufficio${p}`

async function press(page: Page, name: string) {
  await page.getByRole('button', { name }).focus()
  await page.keyboard.press('Enter')
  await page.waitForLoadState('load')
}

async function type(page: Page, fields: [string, string][]) {
  for (const [id, value] of fields) {
    await page.locator(id).focus()
    await page.keyboard.type(value)
  }
}

describe("the office's own money in Chromium", () => {
  it('opens and executes a refund by keyboard alone, JavaScript off; the family sees it', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office(`/documenti/${paidDocument}`))
    await page.getByRole('link', { name: 'Rimborsa un pagamento' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/rimborso$/)
    await expectAccessible(page)
    // too much and no IBAN: the errors, the input kept
    await page.locator('#amount').fill('')
    await type(page, [['#amount', '50']])
    await press(page, 'Apri il rimborso')
    const summary = await page.locator('.error-summary').textContent()
    expect(summary).toContain('Inserisci il motivo del rimborso')
    expect(summary).toContain("Inserisci l'IBAN")
    await expectAccessible(page)
    await keep('refund form with errors', page)
    await page.locator('#amount').fill('')
    await type(page, [
      ['#amount', '15'],
      ['#reason', 'Tre settimane di assenza'],
      ['#iban', 'IT42 L123 4512 3451 2345 6789 012'],
    ])
    await press(page, 'Apri il rimborso')
    await page.waitForURL(/\/rimborsi\/\d+\?fatto=aperto/)
    expect(await page.locator('.panel h2').textContent()).toBe('Rimborso aperto')
    await expectAccessible(page)
    await keep('open refund', page)
    // executed: a date in the future first
    await type(page, [
      ['#bankReference', 'TRN 0306912345678901'],
      ['#executed-day', d],
      ['#executed-month', m],
      ['#executed-year', String(Number(y) + 1)],
    ])
    await press(page, 'Segna come eseguito')
    expect(await page.locator('.error-summary').textContent()).toContain('non può essere nel futuro')
    await expectAccessible(page)
    await page.locator('#executed-year').fill(y)
    await press(page, 'Segna come eseguito')
    await page.waitForURL(/fatto=esegui/)
    expect(await page.locator('main').textContent()).toContain('Eseguito il')
    await expectAccessible(page)
    await keep('executed refund', page)
    await expectReflow(context, page.url())
    await page.goto(office('/rimborsi?stato=tutti'))
    await expectAccessible(page)
    await context.close()

    const family = await newContext(browser)
    const mine = await family.newPage()
    await w.signIn(mine, w.accounts.cittadino.email)
    await mine.goto(`${server.url}/t/${tenant.slug}/documenti/${paidDocument}`)
    expect(await mine.locator('main').textContent()).toContain('Rimborsati 15,00')
    await expectAccessible(mine)
    await family.close()
  })

  it('sends a formal reminder by keyboard alone, JavaScript off: no family chosen, then the batch', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office('/solleciti'))
    await expectAccessible(page)
    await page.locator(`#famiglia-${payer}`).focus()
    await page.keyboard.press('Space')
    await press(page, 'Invia il sollecito alle famiglie scelte')
    expect(await page.locator('.error-summary').textContent()).toContain('Scegli almeno una famiglia')
    await expectAccessible(page)
    await keep('reminders with errors', page)
    await page.locator(`#famiglia-${payer}`).focus()
    await page.keyboard.press('Space')
    await press(page, 'Invia il sollecito alle famiglie scelte')
    await page.waitForURL(/\/solleciti\/lotti\/\d+\?fatto=1/)
    expect(await page.locator('main').textContent()).toContain('1 per email')
    await expectAccessible(page)
    await keep('reminders batch', page)
    await expectReflow(context, page.url())
    await context.close()
  })

  it('the exports page: a wrong period named by keyboard, JavaScript off', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office('/esportazioni'))
    await expectAccessible(page)
    await page.locator('#dal-day').fill('')
    await type(page, [['#dal-day', '31']])
    await page.locator('#dal-month').fill('')
    await type(page, [['#dal-month', '2']])
    await press(page, 'Scegli il periodo')
    expect(await page.locator('.error-summary').textContent()).toContain(
      "L'inizio del periodo deve essere una data vera",
    )
    await expectAccessible(page)
    await keep('exports with errors', page)
    await expectReflow(context, office('/esportazioni'))
    await context.close()
  })

  it('the canteen credit forms on a pupil page pass axe, open and with their errors', async () => {
    const { pupilId, payerId } = await addPupil(db, tenant, { given: 'Emma', family: 'Bruni' })
    await withTenant(
      db.sql,
      tenant,
      (
        tx,
      ) => tx`insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, entry_key, note, actor_name)
                 values (${pupilId}, ${payerId}, 'rettifica', ${todayRome()}, 2000, ${`c:${pupilId}`}, 'Credito', 'Ufficio')`,
    )
    const context = await newContext(browser)
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office(`/mensa/alunni/${pupilId}`))
    await page.getByText('Rimborsa il credito alla famiglia').click()
    await expectAccessible(page)
    await page.getByRole('button', { name: 'Apri il rimborso del credito' }).click()
    await page.waitForLoadState('load')
    expect(await page.locator('.error-summary').textContent()).toContain('Inserisci il motivo del rimborso')
    await expectAccessible(page)
    await context.close()
  })

  it("a lettore reads the register, the reminders and the exports without the office's forms", async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await w.signIn(page, w.accounts.lettore.email)
    for (const p of ['/rimborsi?stato=tutti', '/solleciti', '/esportazioni']) {
      await page.goto(office(p))
      expect(await page.locator('main form[method=post]').count(), p).toBe(0)
      await expectAccessible(page)
    }
    await context.close()
  })

  it('the pages above pass the W3C Nu checker', async () => {
    expect(served.size).toBe(6)
    expect(nuLines(await nuCheck(served))).toEqual([])
  })
})
