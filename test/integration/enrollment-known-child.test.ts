// Enrollment never links a stranger to a child (issue 23, decision 0044): an application naming a child the
// body already has is shown to the office as known, with the people it is linked to; accepting it needs an
// explicit choice; accepted without linking, the applicant sees nothing of the child anywhere (documents,
// canteen wallet, attendance, pre-loading, the pupils offered by applications, the tax certificate); linked on
// purpose, the link and its reason are on the application and in the activity log; only those who may link
// payers to pupils may do it.
import { beforeAll, describe, expect, it } from 'vitest'
import { issueDocuments } from '../../src/features/debts/issue.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, randomCf, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { addPupil, enroll, setupCurrentYear } from '../helpers/canteen.ts'
import type { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ canteen: true })
let db: Db
let app: App
let x: Tenant
let y: Tenant
let formId = 0
const accounts: Record<string, TestAccount> = {}
const clients: Record<string, Client> = {}
// the family's children; the stranger types the first one's codice fiscale with another given name
const sofia = { id: 0, cf: '' }
const luca = { id: 0, cf: '' }
const anna = { id: 0, cf: '' }
let documentId = 0
const today = todayRome()

function dateParts(name: string, iso: string): Record<string, string> {
  const [y1, m, d] = iso.split('-')
  return { [`${name}-day`]: d as string, [`${name}-month`]: m as string, [`${name}-year`]: y1 as string }
}

const client = (who: string) => clients[who] as Client

/** A page's HTML with the apostrophes the templates escape written back, for reading Italian text. */
async function page(res: Response | Promise<Response>): Promise<string> {
  return (await (await res).text()).replaceAll('&#39;', "'")
}
const account = (who: string) => accounts[who] as TestAccount

/** The stranger applies to the canteen for a child with the given codice fiscale and sends it; its id. */
async function strangerApplies(givenName: string, familyName: string, cf: string): Promise<number> {
  const path = `/t/${x.slug}/istanze/nuova/domanda/${formId}`
  const stranger = client('stranger')
  await stranger.get(path)
  const res = await stranger.post(path, {
    pupil: 'nuovo',
    childGivenName: givenName,
    childFamilyName: familyName,
    childCf: cf,
  })
  expect(res.status, await res.clone().text()).toBe(303)
  const id = Number((res.headers.get('location') as string).split('/')[4])
  await stranger.get(`/t/${x.slug}/istanze/${id}/riepilogo`)
  expect((await stranger.post(`/t/${x.slug}/istanze/${id}/invia`, {})).status).toBe(303)
  return id
}

const linksOf = (pupilId: number) =>
  withTenant(
    db.sql,
    x,
    (tx) => tx<{ codice_fiscale: string; relation: string; holder: boolean }[]>`
      select p.codice_fiscale, pp.relation, pp.holder from pupil_payers pp join payers p on p.id = pp.payer_id
      where pp.pupil_id = ${pupilId} order by pp.holder desc, p.id`,
  )

const applicationRow = (id: number) =>
  withTenant(db.sql, x, async (tx) => {
    const [row] = await tx<
      { status: string; pupil_id: number | null; child_link: string | null; child_link_reason: string | null }[]
    >`select status, pupil_id, child_link, child_link_reason from applications where id = ${id}`
    return row
  })

beforeAll(async () => {
  ;({ db, app, tenant: x } = w)
  y = await w.newTenant()
  const s = await setupCurrentYear(db, x)
  accounts.parent = await w.account({ givenName: 'Maria', familyName: 'Bianchi' })
  accounts.stranger = await w.account({ givenName: 'Ettore', familyName: 'Estraneo' })
  for (const role of ['operatore', 'lettore', 'admin'] as const) accounts[role] = await w.account({ role })
  accounts.operatoreAltroEnte = await w.account({ role: 'operatore', of: y })
  accounts.operatorePiattaforma = await w.account({ operator: true })
  // the Bianchi family: three children in the canteen, the mother holds their notices
  for (const [child, given] of [
    [sofia, 'Sofia'],
    [luca, 'Luca'],
    [anna, 'Anna'],
  ] as const) {
    const added = await addPupil(db, x, { payerCf: account('parent').codiceFiscale, given, family: 'Bianchi' })
    child.id = added.pupilId
    await enroll(db, x, child.id, { classId: s.classId, tariffId: s.residente, start: s.start })
  }
  await withTenant(db.sql, x, async (tx) => {
    for (const child of [sofia, luca, anna]) {
      const [row] = await tx<{ codice_fiscale: string }[]>`select codice_fiscale from pupils where id = ${child.id}`
      child.cf = (row as { codice_fiscale: string }).codice_fiscale
    }
    const [payer] = await tx<{ id: number }[]>`
      select id from payers where codice_fiscale = ${account('parent').codiceFiscale}`
    const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
    const issued = await issueDocuments(tx, x, [
      {
        year: Number(today.slice(0, 4)),
        issueDate: today,
        serviceId: (svc as { id: number }).id,
        payerId: (payer as { id: number }).id,
        pupilId: sofia.id,
        description: 'Retta mensa di Sofia, primo trimestre',
        installments: [{ amountCents: 12_000, dueDate: addDays(today, 20) }],
      },
    ])
    documentId = issued.documentIds[0] as number
    const [f] = await tx<{ id: number }[]>`
      insert into application_forms (service_id, title, fields)
      values (${(svc as { id: number }).id}, 'Iscrizione alla mensa', '{}') returning id`
    formId = (f as { id: number }).id
  })
  for (const [who, a] of Object.entries(accounts)) clients[who] = await w.client(a)
})

describe('an application naming a child the body already has', () => {
  let appId = 0

  it('is shown to the office as known, with the people it is linked to, never as new', async () => {
    appId = await strangerApplies('Sofi', 'Bianchi', sofia.cf)
    // the applicant is told nothing about whether the body knows that codice fiscale
    const own = await page(client('stranger').get(`/t/${x.slug}/istanze/${appId}`))
    expect(own).toContain(`Sofi Bianchi (${sofia.cf})`)
    expect(own).not.toContain('Sofia')
    expect(own).not.toContain("nuovo per l'ente")
    for (const who of ['operatore', 'lettore']) {
      const html = await page(client(who).get(`/t/${x.slug}/ufficio/istanze/${appId}`))
      expect(html, who).toContain("Già conosciuto dall'ente:")
      expect(html, who).toContain(`/ufficio/anagrafiche/alunni/${sofia.id}"`)
      expect(html, who).toContain('Sofia Bianchi')
      expect(html, who).toContain('Persone collegate a Sofia Bianchi')
      expect(html, who).toContain('Maria Bianchi')
      expect(html, who).toContain(account('parent').codiceFiscale)
      expect(html, who).toContain('intestatario degli avvisi')
      expect(html, who).toContain('Il richiedente non è collegato a questo alunno')
      expect(html, who).not.toMatch(/nuovo per l'ente/i)
      await expectValidHtml(html)
    }
    // the operatore is offered the choice; the lettore reads and has no form
    const op = await (await client('operatore').get(`/t/${x.slug}/ufficio/istanze/${appId}`)).text()
    expect(op).toContain('name="link" type="radio" value="non_collegare"')
    expect(op).toContain('name="link" type="radio" value="collega"')
    expect(op).toContain('id="linkReason"')
    const reader = await (await client('lettore').get(`/t/${x.slug}/ufficio/istanze/${appId}`)).text()
    expect(reader).not.toContain('name="link"')
  })

  it('is not accepted without an explicit choice, nor linked without a reason; nothing is saved', async () => {
    const op = client('operatore')
    await op.get(`/t/${x.slug}/ufficio/istanze/${appId}`)
    const noChoice = await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/decisione`, {
      outcome: 'accolta',
      ...dateParts('startDate', today),
    })
    expect(noChoice.status).toBe(422)
    const html = await page(noChoice)
    expect(html).toContain('href="#link"')
    expect(html).toContain("Scegli se collegare il richiedente all'alunno")
    await expectValidHtml(html)
    const noReason = await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/decisione`, {
      outcome: 'accolta',
      link: 'collega',
      linkReason: '   ',
      ...dateParts('startDate', today),
    })
    expect(noReason.status).toBe(422)
    const again = await noReason.text()
    expect(again).toContain('href="#linkReason"')
    expect(again).toMatch(/value="collega" checked/)
    expect((await applicationRow(appId))?.status).toBe('inviata')
    expect(await linksOf(sofia.id)).toEqual([
      { codice_fiscale: account('parent').codiceFiscale, relation: 'genitore', holder: true },
    ])
  })

  it('accepted without linking, enrolls the child and leaves the applicant a stranger to her', async () => {
    const op = client('operatore')
    await op.get(`/t/${x.slug}/ufficio/istanze/${appId}`)
    const ok = await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/decisione`, {
      outcome: 'accolta',
      link: 'non_collegare',
      message: 'Iscrizione già presente: ci contatti allo sportello.',
      ...dateParts('startDate', today),
    })
    expect(ok.status).toBe(303)
    expect(await applicationRow(appId)).toEqual({
      status: 'accolta',
      pupil_id: sofia.id,
      child_link: 'non_collegato',
      child_link_reason: null,
    })
    expect(await linksOf(sofia.id)).toEqual([
      { codice_fiscale: account('parent').codiceFiscale, relation: 'genitore', holder: true },
    ])
    const strangerCf = account('stranger').codiceFiscale
    const traces = await withTenant(
      db.sql,
      x,
      async (tx) =>
        (await tx`select 1 from payers where codice_fiscale = ${strangerCf}`).length +
        (await db.sql`select 1 from platform.payer_index where codice_fiscale = ${strangerCf}`).length,
    )
    expect(traces).toBe(0)
    const decided = await page(op.get(`/t/${x.slug}/ufficio/istanze/${appId}`))
    expect(decided).toContain("Accolta senza collegare il richiedente all'alunno")

    const stranger = client('stranger')
    // documents and notices
    const position = await (await stranger.get(`/t/${x.slug}/posizione-debitoria`)).text()
    expect(position).not.toContain('Sofia')
    expect(position).not.toContain('Retta mensa')
    expect((await stranger.get(`/t/${x.slug}/documenti/${documentId}`)).status).toBe(404)
    // the canteen wallet and its entry from the personal area
    const wallet = await stranger.get(`/t/${x.slug}/mensa`)
    expect(await wallet.text()).not.toContain('Sofia')
    expect(await (await stranger.get('/mensa')).text()).not.toContain('Sofia')
    // attendance: neither read nor marked
    const month = today.slice(0, 7)
    const day = addDays(today, 2)
    expect((await stranger.get(`/t/${x.slug}/mensa/presenze/${sofia.id}/${month}`)).status).toBe(404)
    expect((await stranger.get(`/t/${x.slug}/mensa/presenze/${sofia.id}/giorno/${day}`)).status).toBe(404)
    await stranger.get(`/t/${x.slug}/istanze`)
    const mark = await stranger.post(`/t/${x.slug}/mensa/presenze/${sofia.id}/giorno/${day}`, { stato: 'assente' })
    expect(mark.status).toBe(404)
    expect((await stranger.post(`/t/${x.slug}/mensa/presenze/${sofia.id}/periodo`, { stato: 'assente' })).status).toBe(
      404,
    )
    const marked = await withTenant(
      db.sql,
      x,
      (tx) => tx`select 1 from audit_log where entity = 'pupil' and entity_id = ${String(sofia.id)}
                 and action like 'canteen.%'`,
    )
    expect(marked).toHaveLength(0)
    // pre-loading meals: not a choice, and refused when posted
    const topup = await stranger.get(`/t/${x.slug}/mensa/ricarica`)
    expect(await topup.text()).not.toContain('Sofia')
    const loaded = await stranger.post(`/t/${x.slug}/mensa/ricarica`, { alunno: String(sofia.id), pasti: '10' })
    expect(loaded.status).not.toBe(303)
    expect(await loaded.text()).not.toContain('Sofia')
    const check = await stranger.get(`/t/${x.slug}/mensa/ricarica/controlla?alunno=${sofia.id}&pasti=10`)
    expect(await check.text()).not.toContain('Sofia')
    await stranger.get(`/t/${x.slug}/istanze`)
    const paid = await stranger.post(`/t/${x.slug}/mensa/ricarica/paga`, {
      alunno: String(sofia.id),
      pasti: '10',
      chiave: 'A'.repeat(43),
    })
    expect(paid.status).toBe(303)
    expect(paid.headers.get('location')).toMatch(new RegExp(`^/t/${x.slug}/mensa/ricarica`))
    const topups = await withTenant(db.sql, x, (tx) => tx`select 1 from canteen_topups where pupil_id = ${sofia.id}`)
    expect(topups).toHaveLength(0)
    // the pupils offered by applications and communications
    const diet = await (await stranger.get(`/t/${x.slug}/istanze/nuova/dieta`)).text()
    expect(diet).not.toContain('Sofia')
    const chosen = await stranger.post(`/t/${x.slug}/istanze/nuova/dieta`, {
      pupil: String(sofia.id),
      dietDescription: 'Senza glutine',
    })
    expect(chosen.status).toBe(422)
    // the tax certificate
    const tax = await stranger.get('/certificazione')
    expect(await tax.text()).not.toContain('Sofia')
    // their own application shows the child as they typed it
    const own = await page(stranger.get(`/t/${x.slug}/istanze/${appId}`))
    expect(own).toContain('Accolta')
    expect(own).toContain(`Sofi Bianchi (${sofia.cf})`)
    expect(own).not.toContain('Sofia')
    // the same pages show her to her family: what the stranger does not see is there to be seen
    const parent = client('parent')
    expect(await (await parent.get(`/t/${x.slug}/posizione-debitoria`)).text()).toContain('Retta mensa di Sofia')
    expect((await parent.get(`/t/${x.slug}/documenti/${documentId}`)).status).toBe(200)
    expect(await (await parent.get(`/t/${x.slug}/mensa`)).text()).toContain('Sofia')
    expect((await parent.get(`/t/${x.slug}/mensa/presenze/${sofia.id}/${month}`)).status).toBe(200)
    expect(await (await parent.get(`/t/${x.slug}/mensa/ricarica`)).text()).toContain('Sofia')
    expect(await (await parent.get(`/t/${x.slug}/istanze/nuova/dieta`)).text()).toContain('Sofia')
    expect(await (await parent.get('/certificazione')).text()).toContain('Sofia')
  })
})

describe('a claimed codice fiscale', () => {
  it('opens no application page, so no pupil of the family it names is offered', async () => {
    const claim = await createAccount(db, { codiceFiscale: account('parent').codiceFiscale, proved: false })
    try {
      const c = await signedIn(app, claim)
      for (const path of [`/t/${x.slug}/istanze`, `/t/${x.slug}/istanze/nuova/dieta`]) {
        const res = await c.get(path)
        expect(res.status, path).toBe(403)
        expect(await res.text(), path).not.toContain('Sofia')
      }
    } finally {
      await deleteAccounts(db, [claim])
    }
  })
})

describe('an explicit link', () => {
  const reason = 'Affido condiviso: provvedimento del tribunale visto allo sportello il 3 marzo'

  it('is refused to a lettore, another body’s operatore, a platform operator and the applicant', async () => {
    const id = await strangerApplies('Anna', 'Bianchi', anna.cf)
    const form = { outcome: 'accolta', link: 'collega', linkReason: reason, ...dateParts('startDate', today) }
    for (const who of ['lettore', 'operatoreAltroEnte', 'operatorePiattaforma', 'stranger']) {
      const c = client(who)
      await c.get(who === 'stranger' ? `/t/${x.slug}/istanze/${id}` : `/t/${x.slug}/ufficio/istanze/${id}`)
      const res = await c.post(`/t/${x.slug}/ufficio/istanze/${id}/decisione`, form)
      expect(res.status, who).toBe(403)
    }
    expect((await applicationRow(id))?.status).toBe('inviata')
    expect(await linksOf(anna.id)).toEqual([
      { codice_fiscale: account('parent').codiceFiscale, relation: 'genitore', holder: true },
    ])
    // the lettore still reads who the child is linked to
    const reader = await (await client('lettore').get(`/t/${x.slug}/ufficio/istanze/${id}`)).text()
    expect(reader).toContain('Persone collegate a Anna Bianchi')
  })

  it('with a written reason links the applicant, on the application and in the activity log', async () => {
    const id = await strangerApplies('Luca', 'Bianchi', luca.cf)
    const op = client('operatore')
    await op.get(`/t/${x.slug}/ufficio/istanze/${id}`)
    const ok = await op.post(`/t/${x.slug}/ufficio/istanze/${id}/decisione`, {
      outcome: 'accolta',
      link: 'collega',
      linkReason: `  ${reason}  `,
      ...dateParts('startDate', today),
    })
    expect(ok.status).toBe(303)
    const strangerCf = account('stranger').codiceFiscale
    expect(await linksOf(luca.id)).toEqual([
      { codice_fiscale: account('parent').codiceFiscale, relation: 'genitore', holder: true },
      { codice_fiscale: strangerCf, relation: 'genitore', holder: false },
    ])
    expect(await applicationRow(id)).toEqual({
      status: 'accolta',
      pupil_id: luca.id,
      child_link: 'collegato',
      child_link_reason: reason,
    })
    const entries = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ action: string; entity: string; entity_id: string; reason: string | null; after: unknown }[]>`
        select action, entity, entity_id, reason, after from audit_log
        where action in ('applications.link', 'applications.decide')
          and (entity_id = ${String(luca.id)} or entity_id = ${String(id)})
        order by id`,
    )
    expect(entries).toHaveLength(2)
    expect(entries[0]).toMatchObject({
      action: 'applications.link',
      entity: 'pupil',
      entity_id: String(luca.id),
      reason,
      after: { payerCf: strangerCf, relation: 'genitore', holder: false, application: id },
    })
    expect(entries[1]).toMatchObject({
      action: 'applications.decide',
      entity: 'application',
      entity_id: String(id),
      reason,
      after: { status: 'accolta', childLink: 'collegato' },
    })
    const html = await page(op.get(`/t/${x.slug}/ufficio/istanze/${id}`))
    expect(html).toContain("Richiedente collegato all'alunno dall'ufficio")
    expect(html).toContain(`Motivo: ${reason}`)
    // linked on purpose: now the applicant sees Luca (and still not Sofia)
    const wallet = await (await client('stranger').get(`/t/${x.slug}/mensa`)).text()
    expect(wallet).toContain('Luca Bianchi')
    expect(wallet).not.toContain('Sofia')
  })

  it('a child that became known while the page was open is not taken over: the office chooses again', async () => {
    const cf = randomCf()
    const id = await strangerApplies('Pia', 'Bianchi', cf)
    const op = client('operatore')
    expect(await page(op.get(`/t/${x.slug}/ufficio/istanze/${id}`))).toContain("Nuovo per l'ente:")
    // meanwhile the office registers the Bianchi family's Pia with that codice fiscale
    const pia = await withTenant(db.sql, x, async (tx) => {
      const [row] = await tx<{ id: number }[]>`
        insert into pupils (codice_fiscale, given_name, family_name) values (${cf}, 'Pia', 'Bianchi') returning id`
      const piaId = (row as { id: number }).id
      await tx`insert into pupil_payers (pupil_id, payer_id, holder)
               select ${piaId}, id, true from payers where codice_fiscale = ${account('parent').codiceFiscale}`
      return piaId
    })
    const res = await op.post(`/t/${x.slug}/ufficio/istanze/${id}/decisione`, {
      outcome: 'accolta',
      ...dateParts('startDate', today),
    })
    expect(res.status).toBe(422)
    const html = await page(res)
    expect(html).toContain('href="#link"')
    expect(html).toContain("Già conosciuto dall'ente:")
    expect((await applicationRow(id))?.status).toBe('inviata')
    expect(await linksOf(pia)).toEqual([
      { codice_fiscale: account('parent').codiceFiscale, relation: 'genitore', holder: true },
    ])
  })

  it('a child new to the body is created and linked to the applicant, as before', async () => {
    const cf = randomCf()
    const id = await strangerApplies('Nina', 'Estraneo', cf)
    const op = client('operatore')
    const html = await page(op.get(`/t/${x.slug}/ufficio/istanze/${id}`))
    expect(html).toContain("Nuovo per l'ente:")
    expect(html).not.toContain('name="link"')
    const ok = await op.post(`/t/${x.slug}/ufficio/istanze/${id}/decisione`, {
      outcome: 'accolta',
      ...dateParts('startDate', today),
    })
    expect(ok.status).toBe(303)
    const row = await applicationRow(id)
    expect(row?.child_link).toBe('nuovo')
    expect(await linksOf(row?.pupil_id as number)).toEqual([
      { codice_fiscale: account('stranger').codiceFiscale, relation: 'genitore', holder: true },
    ])
  })
})
