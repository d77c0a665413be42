// The canteen in Chromium: a family marks an absence and a light meal (JavaScript on and off), pre-loads
// 10 meals through the sandbox provider and sees the balance change; the office's canteen pages; axe on every
// page and error state, reflow at 320 px.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext, pageWeight } from '../helpers/browser.ts'
import { addPupil, type CanteenSetup, enroll, setupCurrentYear } from '../helpers/canteen.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ canteen: true, roles: { admin: { givenName: 'Ufficio', familyName: 'Scuola' } } })
let db: Db
let t: Tenant
let s: CanteenSetup & { start: string }
let server: World['server']
let browser: Browser
let admin: TestAccount
const today = todayRome()

beforeAll(async () => {
  ;({ db, tenant: t, server, browser } = w)
  s = await setupCurrentYear(db, t)
  admin = w.accounts.admin
})

async function family() {
  const me = await w.account({ givenName: 'Alberto', familyName: 'Molteni' })
  const { pupilId } = await addPupil(db, t, { payerCf: me.codiceFiscale, given: 'Emma', family: 'Molteni' })
  await enroll(db, t, pupilId, { classId: s.classId, tariffId: s.residente, start: s.start })
  return { me, pupilId }
}

const login = (page: Page, email: string) => w.signIn(page, email, { waitFor: '/area-personale' })

async function marks(pupilId: number) {
  return withTenant(
    db.sql,
    t,
    (tx) => tx<{ day: string; status: string }[]>`
      select day::text, status from canteen_attendance where pupil_id = ${pupilId} order by day`,
  )
}

/** From the personal area to the day's page, then the choice saved; back on the calendar with a message. */
async function markDay(page: Page, js: boolean, pupilId: number, day: string, choice: RegExp, done: string) {
  await page.goto(`${server.url}/t/${t.slug}/mensa/presenze/${pupilId}/${day.slice(0, 7)}`)
  await page.locator(`a[href$="/giorno/${day}"]`).click()
  await page.waitForURL(new RegExp(`/giorno/${day}$`))
  await expectAccessible(page)
  await page.getByRole('radio', { name: choice }).check()
  await page.getByRole('button', { name: 'Salva' }).click()
  await expect(page.locator('main .notice--success').textContent()).resolves.toContain(done)
  if (js) {
    // htmx swapped <main>: focus on the message, the live region announced it
    await page.waitForFunction((text) => document.getElementById('announcer')?.textContent?.includes(text), done)
    expect(await page.evaluate(() => document.activeElement?.classList.contains('notice--success'))).toBe(true)
  }
  await expectAccessible(page)
}

async function absenceAndLightMeal(js: boolean) {
  const { me, pupilId } = await family()
  const context = await newContext(browser, { js })
  const page = await context.newPage()
  await login(page, me.email)
  // the personal area leads to the canteen of the only tenant
  await page.getByRole('link', { name: /Mensa scolastica: portafoglio, presenze e ricarica/ }).click()
  await page.waitForURL(`${server.url}/t/${t.slug}/mensa`)
  await expectAccessible(page)
  await page.getByRole('link', { name: /Calendario presenze/ }).click()
  await expectAccessible(page)
  await expectReflow(context, page.url())
  const caption = await page.locator('table caption').textContent()
  expect(caption).toContain('Calendario presenze di Emma Molteni')

  const d1 = addDays(today, 2)
  const d2 = addDays(today, 3)
  await markDay(page, js, pupilId, d1, /^Assente/, 'Assenza segnata per')
  await markDay(page, js, pupilId, d2, /^Pasto in bianco/, 'Pasto in bianco segnato per')
  expect(await marks(pupilId)).toEqual([
    { day: d1, status: 'assente' },
    { day: d2, status: 'bianco' },
  ])
  // the calendar says it in words
  await page.goto(`${server.url}/t/${t.slug}/mensa/presenze/${pupilId}/${d1.slice(0, 7)}`)
  expect(await page.locator(`a[href$="/giorno/${d1}"]`).textContent()).toContain('Assente')
  // cancel the future absence
  await markDay(page, js, pupilId, d1, /^Presente/, 'il pasto è previsto')
  // a past day: its state, and why it cannot change any more
  if (!js) {
    await page.goto(`${server.url}/t/${t.slug}/mensa/presenze/${pupilId}/giorno/${addDays(today, -1)}`)
    expect(await page.locator('main').textContent()).toContain('non si può più modificare')
    await expectAccessible(page)
  }
  expect(await marks(pupilId)).toEqual([{ day: d2, status: 'bianco' }])

  // a period with mistakes: the error summary, then fixed
  await page.goto(`${server.url}/t/${t.slug}/mensa/presenze/${pupilId}/periodo`)
  await expectAccessible(page)
  await page.fill('#dal-day', '31')
  await page.fill('#dal-month', '2')
  await page.fill('#dal-year', '2027')
  await page.getByRole('button', { name: 'Salva il periodo' }).click()
  await expect(page.locator('.error-summary').textContent()).resolves.toContain(
    'Il primo giorno deve essere una data vera',
  )
  expect(await page.inputValue('#dal-day')).toBe('31')
  await expectAccessible(page)
  const from = addDays(today, 7)
  const to = addDays(today, 9)
  for (const [name, iso] of [
    ['dal', from],
    ['al', to],
  ] as const) {
    const [y, m, d] = iso.split('-')
    await page.fill(`#${name}-day`, String(Number(d)))
    await page.fill(`#${name}-month`, String(Number(m)))
    await page.fill(`#${name}-year`, y as string)
  }
  await page.getByRole('radio', { name: /^Assente/ }).check()
  await page.getByRole('button', { name: 'Salva il periodo' }).click()
  await expect(page.locator('main .notice--success').textContent()).resolves.toContain('Assenza segnata per 3 giorni')
  await expectAccessible(page)
  expect((await marks(pupilId)).length).toBe(4)
  await context.close()
  return { me, pupilId }
}

describe('the canteen for families in Chromium', () => {
  it('marks an absence and a light meal with JavaScript off', async () => {
    await absenceAndLightMeal(false)
  })

  it('marks an absence and a light meal with JavaScript on, then pre-loads 10 meals and sees the balance', async () => {
    const { me } = await absenceAndLightMeal(true)
    const context = await newContext(browser)
    const page = await context.newPage()
    await login(page, me.email)
    await page.goto(`${server.url}/t/${t.slug}/mensa`)
    expect(await page.locator('main').textContent()).toContain('Pasti residui0 al prezzo attuale di 5,80')
    await page.getByRole('link', { name: 'Ricarica il portafoglio (pre-carica pasti)' }).click()
    await expectAccessible(page)
    // a wrong number first: the error summary, focused
    await page.fill('#pasti', '0')
    await page.getByRole('button', { name: 'Continua' }).click()
    await expect(page.locator('.error-summary').textContent()).resolves.toContain('tra 1 e 200')
    await expectAccessible(page)
    await page.fill('#pasti', '10')
    await page.getByRole('button', { name: 'Continua' }).click()
    await page.waitForURL(/\/ricarica\/controlla/)
    await expectAccessible(page)
    const check = await page.locator('main').textContent()
    expect(check).toContain('RESIDENTE, 5,80\u00a0€ a pasto')
    expect(check).toContain('58,00\u00a0€')
    await page.getByRole('button', { name: /Procedi al pagamento di 58,00/ }).click()
    await page.waitForURL(/\/sandbox-psp\/paga\//)
    await page.fill('#cardholder-name', 'Alberto Molteni')
    await page.fill('#card-number', '4242 4242 4242 4242')
    await page.fill('#expiry-month', '12')
    await page.fill('#expiry-year', String(new Date().getFullYear() + 2))
    await page.fill('#cvv', '123')
    await page.click('main form button[type=submit]')
    await page.waitForURL(/\/pagamenti\/\d+$/)
    for (let i = 0; i < 40 && !(await page.locator('h1').textContent())?.includes('riuscito'); i++) {
      await page.waitForTimeout(250)
    }
    await expect(page.locator('h1').textContent()).resolves.toBe('Pagamento riuscito')
    // the wallet: credited with the pre-load (the notification may still be on its way: reload until it is)
    let wallet = ''
    for (let i = 0; i < 40 && !wallet.includes('10 al prezzo attuale'); i++) {
      await page.goto(`${server.url}/t/${t.slug}/mensa`)
      wallet = (await page.locator('main').textContent()) ?? ''
      if (!wallet.includes('10 al prezzo attuale')) await page.waitForTimeout(250)
    }
    expect(wallet).toContain('Pasti residui10 al prezzo attuale di 5,80')
    expect(wallet).toContain('Ricariche pagate online58,00\u00a0€')
    await expectAccessible(page)
    await expectReflow(context, page.url())
    // the citizen's canteen pages fit the first round trip (HTML + CSS, gzip)
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
    const pupilPath = new URL(
      (await page.getByRole('link', { name: /Calendario presenze/ }).getAttribute('href')) as string,
      server.url,
    )
    for (const path of [`/t/${t.slug}/mensa`, `/t/${t.slug}/mensa/ricarica`, pupilPath.pathname]) {
      const w = await pageWeight(server.url + path, cookie)
      expect(w.total, path).toBeLessThan(14 * 1024)
    }
    await context.close()
  })
})

describe('the canteen office in Chromium', () => {
  it('every canteen office page and its error states pass axe', async () => {
    const { pupilId } = await family()
    // JavaScript on: axe runs in the page itself (the families' JS-off pages are replayed, which costs more)
    const context = await newContext(browser)
    const page = await context.newPage()
    await login(page, admin.email)
    const o = `${server.url}/t/${t.slug}/ufficio/mensa`
    const month = today.slice(0, 7)
    for (const path of [
      '',
      '/cucina',
      `/alunni/${pupilId}`,
      `/alunni/${pupilId}/presenze/${month}`,
      `/alunni/${pupilId}/giorno/${today}`,
      '/iscrizioni/nuova',
      '/scuole',
      `/scuole/${s.schoolId}`,
      `/classi/${s.classId}`,
      '/calendario',
      `/calendario/${s.yearId}`,
      '/tariffe',
      `/tariffe/${s.residente}`,
    ]) {
      const res = await page.goto(o + path)
      expect(res?.status(), path).toBe(200)
      await expectAccessible(page)
    }
    await expectReflow(context, o)
    // error states
    await page.goto(`${o}/scuole`)
    await page.getByRole('button', { name: 'Aggiungi la scuola' }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.goto(`${o}/tariffe`)
    await page.getByRole('button', { name: 'Aggiungi la tariffa' }).click()
    await expectAccessible(page)
    await page.goto(`${o}/calendario`)
    await page.getByRole('button', { name: "Aggiungi l'anno" }).click()
    await expectAccessible(page)
    await page.goto(`${o}/iscrizioni/nuova`)
    await page.getByRole('button', { name: 'Iscrivi' }).click()
    await expectAccessible(page)
    await page.goto(`${o}/alunni/${pupilId}`)
    await page.getByText('Aggiungi una rettifica o il saldo iniziale').click()
    await page.getByRole('button', { name: 'Registra il movimento' }).click()
    await expectAccessible(page)
    // the office records an absence for today, past the families' cut-off
    await page.goto(`${o}/alunni/${pupilId}/giorno/${today}`)
    await page.getByRole('radio', { name: 'Assente' }).check()
    await page.fill('#motivo', 'Avvisato per telefono')
    await page.getByRole('button', { name: 'Salva' }).click()
    await expect(page.locator('main .notice--success').textContent()).resolves.toContain('Presenza registrata')
    await expectAccessible(page)
    expect(await marks(pupilId)).toEqual([{ day: today, status: 'assente' }])
    // the family pages of someone without canteen pupils: they say so
    await page.goto(`${server.url}/mensa`)
    expect(await page.locator('main').textContent()).toContain('Non risultano figli iscritti')
    await expectAccessible(page)
    await page.goto(`${server.url}/t/${t.slug}/mensa/ricarica`)
    expect(await page.locator('main').textContent()).toContain('Contatta l')
    await expectAccessible(page)
    await context.close()
  })
})
