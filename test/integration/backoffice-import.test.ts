// Bulk issue from CSV: a good file of 5,000 lines created in one go; files with each kind of bad line, a bad
// encoding, a wrong separator and duplicates create nothing and the report names each line.
import { beforeAll, describe, expect, it } from 'vitest'
import { cf } from '../../src/cli/demo-seed.ts'
import { parseImport, templateCsv } from '../../src/features/backoffice/imports/parse.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf, signedIn, type TestAccount } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { countStatements } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ roles: ['admin', 'lettore'] })
/** The most statements the upload, or the confirmation, of a file may send, whatever its number of lines */
const STATEMENTS_PER_STEP = 50
let db: Db
let app: App
let tenant: Tenant
let lettore: TestAccount
let office: Client
const base = () => `/t/${tenant.slug}/ufficio/documenti/importa`
const HEADER =
  'cf_intestatario;nome_intestatario;cognome_intestatario;email_intestatario;cf_alunno;nome_alunno;cognome_alunno;servizio;anno;descrizione;importo;rate;scadenze;importi_rate'

/** A distinct valid codice fiscale for each n (letters from the number, check character computed). */
function cfFor(n: number, kind: 'P' | 'A'): string {
  const L = 'BCDFGHJKLMNPQRSTVZ'
  let x = n
  let s = ''
  for (let i = 0; i < 5; i++) {
    s += L[x % 18]
    x = Math.floor(x / 18)
  }
  return cf(`${kind === 'P' ? 'P' : 'A'}${s}80A01H501`)
}

async function upload(client: Client, body: Uint8Array | string, name = 'dovuti.csv', type = 'text/csv') {
  await client.get(base())
  const form = new FormData()
  form.set('_csrf', client.csrf())
  form.set('file', new File([typeof body === 'string' ? body : new Uint8Array(body)], name, { type }))
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  const res = await app.request(base(), { method: 'POST', headers: { cookie }, body: form })
  return res
}

async function counts() {
  const [r] = await withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ documents: number; payers: number; pupils: number; installments: number }[]>`
    select (select count(*) from documents)::int as documents, (select count(*) from payers)::int as payers,
      (select count(*) from pupils)::int as pupils, (select count(*) from installments)::int as installments`,
  )
  return r
}

/** The report's rows as "line|field|problem". */
function report(html: string): string[] {
  const table = /<table>\s*<caption id="report-caption">[\s\S]*?<\/table>/.exec(html)?.[0] ?? ''
  return [
    ...table.matchAll(/<tr><th scope="row">(\d+)<\/th><td class="code">([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g),
  ].map((m) => `${m[1]}|${m[2]}|${m[3]}`)
}

beforeAll(async () => {
  ;({ db, app, tenant } = w)
  lettore = w.accounts.lettore
  office = await w.client('admin')
})

describe('CSV template and parsing', () => {
  it('offers a template that itself parses cleanly', async () => {
    const res = await office.get(`${base()}/modello.csv`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/csv')
    const bytes = new Uint8Array(await res.arrayBuffer())
    // a BOM first, so spreadsheets open it as UTF-8
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(new TextDecoder().decode(bytes)).toBe(templateCsv().slice(1))
    const parsed = parseImport(templateCsv().slice(1))
    expect(parsed.problems).toEqual([])
    expect(parsed.lines).toHaveLength(2)
    expect(parsed.lines[1]?.installments.map((i) => i.amountCents)).toEqual([7550, 7500])
  })

  it('accepts a comma-separated file with a BOM and Italian amounts in quotes', () => {
    const text = `${HEADER.replaceAll(';', ',')}\r\n${cfFor(1, 'P')},Anna,Neri,,,,,mensa,2026,Mensa,"1.234,56",2,30/09/2026|31/10/2026,\r\n`
    const parsed = parseImport(text)
    expect(parsed.problems).toEqual([])
    expect(parsed.lines[0]?.installments.map((i) => i.amountCents)).toEqual([61728, 61728])
  })
})

describe('CSV import', () => {
  it('creates 5,000 documents from one file in one transaction, with a handful of statements', async () => {
    const lines = [HEADER]
    for (let i = 0; i < 5000; i++) {
      const payer = cfFor(i, 'P')
      const pupil = cfFor(i, 'A')
      const svc = i % 2 ? 'mensa' : 'trasporto'
      lines.push(
        `${payer};Nome;Cognome${i % 7 ? '' : " D'Amico"};;${pupil};Alunno;Cognome;${svc};2026;Servizio a.s. 2026/2027;${i % 3 ? '192,00' : '100.01'};3;30/09/2026|31/10/2026|30/11/2026;`,
      )
    }
    const uploaded = await countStatements(db.sql, () => upload(office, `\uFEFF${lines.join('\n')}\n`))
    const res = uploaded.result
    expect(res.status).toBe(303)
    const checkPath = res.headers.get('location') as string
    const check = await office.get(checkPath)
    const html = await check.text()
    expect(html).toContain('5000 documenti, 15000 rate')
    expect(await counts()).toEqual({ documents: 0, payers: 0, pupils: 0, installments: 0 })
    const confirmed = await countStatements(db.sql, () => office.post(checkPath, {}))
    expect(confirmed.result.status).toBe(303)
    // a handful of statements each, not one per line (how long it takes, npm run bench measures)
    console.log(`5,000-line import: ${uploaded.statements.length} + ${confirmed.statements.length} statements`)
    expect(uploaded.statements.length).toBeLessThanOrEqual(STATEMENTS_PER_STEP)
    expect(confirmed.statements.length).toBeLessThanOrEqual(STATEMENTS_PER_STEP)
    expect(await counts()).toEqual({ documents: 5000, payers: 5000, pupils: 5000, installments: 15000 })
    const [sums] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ holders: number; indexed: number; split: number }[]>`
      select (select count(*) from pupil_payers where holder)::int as holders,
        (select count(*) from platform.payer_index where tenant_id = ${tenant.id})::int as indexed,
        (select count(*) from installments where amount_cents = 3335)::int as split`,
    )
    expect(sums).toEqual({ holders: 5000, indexed: 5000, split: Math.ceil(5000 / 3) })
    const page = await (await office.get(checkPath)).text()
    expect(page).toContain('Documenti emessi')
    // confirming twice creates nothing more
    await office.post(checkPath, {})
    expect((await counts())?.documents).toBe(5000)
    // the same file again: every line is a duplicate of an issued document, nothing created
    const again = await upload(office, `\uFEFF${lines.slice(0, 4).join('\n')}\n`)
    expect(again.status).toBe(422)
    const rows = report(await again.text())
    expect(rows.map((r) => r.split('|')[0])).toEqual(['2', '3', '4'])
    expect(rows[0]).toContain('Documento già emesso')
    expect((await counts())?.documents).toBe(5000)
    const [entry] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ after: { documents: number } }[]>`select after from audit_log where action = 'import.create'`,
    )
    expect(entry?.after.documents).toBe(5000)
  }, 120_000)

  it('reports each kind of bad line and creates nothing', async () => {
    const before = await counts()
    const good = (n: number) => `${cfFor(90000 + n, 'P')};Nome;Cognome;;;;;mensa;2027;Bad test ${n};10,00;1;30/09/2027;`
    const bad = [
      HEADER,
      good(1), // 2 ok
      `RSSMRA80A01H501X;Nome;Cognome;;;;;mensa;2027;Riga;10,00;1;30/09/2027;`, // 3 payer cf
      `${cfFor(90003, 'P')};;Cognome;;;;;mensa;2027;Riga;10,00;1;30/09/2027;`, // 4 name missing
      `${cfFor(90004, 'P')};Nome;Cognome;;ZZZ;Al;Unno;mensa;2027;Riga;10,00;1;30/09/2027;`, // 5 pupil cf
      `${cfFor(90005, 'P')};Nome;Cognome;;;;;palestra;2027;Riga;10,00;1;30/09/2027;`, // 6 unknown service
      `${cfFor(90006, 'P')};Nome;Cognome;;;;;mensa;2027;Riga;dieci;1;30/09/2027;`, // 7 amount
      `${cfFor(90007, 'P')};Nome;Cognome;;;;;mensa;2027;Riga;10,00;1;31/02/2027;`, // 8 date
      `${cfFor(90008, 'P')};Nome;Cognome;;;;;mensa;2027;Riga;10,00;2;30/09/2027;`, // 9 due count
      `${cfFor(90009, 'P')};Nome;Cognome;;;;;mensa;2027;Riga;10,00;13;30/09/2027;`, // 10 installments count
      `${cfFor(90010, 'P')};Nome;Cognome;;;;;mensa;2027;Riga;10,00;1`, // 11 columns
      good(1), // 12 duplicate of line 2
      `${cfFor(90012, 'P')};Nome;Cognome;;;;;mensa;2027;Riga;10,00;2;30/09/2027|31/10/2027;4,00|5,00`, // 13 sum
      `${cfFor(90013, 'P')};Nome;Cognome;;;;;mensa;20x7;Riga;10,00;1;30/09/2027;`, // 14 year
    ]
    const res = await upload(office, `${bad.join('\r\n')}\r\n`)
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('href="#file"')
    await expectValidHtml(html)
    const rows = report(html)
    const byLine = (n: number) => rows.filter((r) => r.startsWith(`${n}|`)).join(' / ')
    expect(byLine(2)).toBe('')
    expect(byLine(3)).toContain('cf_intestatario|Codice fiscale non valido')
    expect(byLine(4)).toContain('nome_intestatario|Valore mancante')
    expect(byLine(5)).toContain('cf_alunno|Codice fiscale non valido')
    expect(byLine(6)).toContain('servizio|Servizio «palestra» sconosciuto')
    expect(byLine(7)).toContain('importo|Importo non valido')
    expect(byLine(8)).toContain('scadenze|Data non valida (31/02/2027)')
    expect(byLine(9)).toContain('scadenze|Ci sono 1 scadenze per 2 rate')
    expect(byLine(10)).toContain('rate|Numero di rate non valido')
    expect(byLine(11)).toContain('La riga ha 12 colonne invece di 14')
    expect(byLine(12)).toContain('uguale a quello della riga 2')
    expect(byLine(13)).toContain('importi_rate|La somma degli importi')
    expect(byLine(14)).toContain('anno|Anno non valido')
    expect(await counts()).toEqual(before)
  })

  it('refuses a file that is not UTF-8 and names the lines with the bad bytes', async () => {
    const before = await counts()
    const enc = new TextEncoder()
    const latin1 = (s: string) => Uint8Array.from([...s].map((ch) => ch.charCodeAt(0)))
    const parts = [
      enc.encode(`${HEADER}\n`),
      enc.encode(`${cfFor(91001, 'P')};Nome;Rossi;;;;;mensa;2027;Mensa;10,00;1;30/09/2027;\n`),
      latin1(`${cfFor(91002, 'P')};Nicolò;Rossi;;;;;mensa;2027;Mensa;10,00;1;30/09/2027;\n`),
      enc.encode(`${cfFor(91003, 'P')};Nome;Rossi;;;;;mensa;2027;Mensa;10,00;1;30/09/2027;\n`),
      latin1(`${cfFor(91004, 'P')};Nome;Rossi;;;;;mensa;2027;Attività;10,00;1;30/09/2027;\n`),
    ]
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let o = 0
    for (const p of parts) {
      bytes.set(p, o)
      o += p.length
    }
    const res = await upload(office, bytes)
    expect(res.status).toBe(422)
    const rows = report(await res.text())
    expect(rows.map((r) => r.split('|')[0])).toEqual(['3', '5'])
    expect(rows[0]).toContain('non sono UTF-8')
    expect(await counts()).toEqual(before)
  })

  it('refuses a file with another separator, a wrong header, the wrong type or no file', async () => {
    const before = await counts()
    let res = await upload(office, `${HEADER.replaceAll(';', '\t')}\n${cfFor(1, 'P')}\tNome\n`)
    expect(res.status).toBe(422)
    expect(report(await res.text())).toEqual([
      '1|—|Separatore non riconosciuto: le colonne devono essere separate da ; oppure da ,',
    ])
    res = await upload(office, `${HEADER.replace('importo;', 'totale;')}\n`)
    expect(res.status).toBe(422)
    const rows = report(await res.text())
    expect(rows).toContain('1|totale|Colonna sconosciuta: controlla il nome nel modello')
    expect(rows).toContain('1|importo|Manca questa colonna obbligatoria')
    res = await upload(office, 'not a spreadsheet', 'dovuti.pdf', 'application/pdf')
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('deve essere un CSV')
    res = await upload(office, '', 'vuoto.csv')
    expect(res.status).toBe(422)
    res = await upload(office, new Uint8Array(5 * 1024 * 1024 + 10).fill(65))
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('supera 5 MB')
    expect(await counts()).toEqual(before)
  })

  it('links new pupils to their payers, the first payer of each pupil holding the notices', async () => {
    const pupil = randomCf()
    const [mum, dad] = [randomCf(), randomCf()]
    const text = [
      HEADER,
      `${mum};Anna;Verdi;anna@example.it;${pupil};Luca;Verdi;mensa;2028;Mensa 2028;50,00;1;30/09/2028;`,
      `${dad};Marco;Verdi;;${pupil};Luca;Verdi;trasporto;2028;Trasporto 2028;30,00;1;30/09/2028;`,
    ].join('\n')
    const res = await upload(office, text)
    expect(res.status).toBe(303)
    const path = res.headers.get('location') as string
    await office.get(path)
    expect((await office.post(path, {})).status).toBe(303)
    const links = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ cf: string; holder: boolean }[]>`
      select p.codice_fiscale as cf, pp.holder from pupil_payers pp join payers p on p.id = pp.payer_id
      join pupils pu on pu.id = pp.pupil_id where pu.codice_fiscale = ${pupil} order by pp.holder desc`,
    )
    expect(links).toEqual([
      { cf: mum, holder: true },
      { cf: dad, holder: false },
    ])
    const idx = await db.sql<{ codice_fiscale: string }[]>`
      select codice_fiscale from platform.payer_index where tenant_id = ${tenant.id} and codice_fiscale = any(${[mum, dad]})`
    expect(idx).toHaveLength(2)
  })

  it('is refused to a lettore', async () => {
    const reader = await signedIn(app, lettore)
    expect((await reader.get(base())).status).toBe(403)
  })
})
