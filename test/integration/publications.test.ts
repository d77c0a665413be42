// Tenant documents: staff publish PDFs (type by content, at most 10 MB), replace and delete them with an
// audit entry; citizens list them on the tenant's page and download them with a safe file name.
import { beforeAll, describe, expect, it } from 'vitest'
import { detectType, safeFileName } from '../../src/features/publications/files.ts'
import { formatSize } from '../../src/features/publications/queries.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ roles: ['operatore'], other: true })
let db: Db
let app: App
let x: Tenant
let y: Tenant
let staff: Client

const pdf = (body: string) => new TextEncoder().encode(`%PDF-1.7\n${body}\ntrailer <<>>\n%%EOF\n`)

async function upload(
  path: string,
  fields: Record<string, string>,
  file?: { name: string; type: string; bytes: Uint8Array },
): Promise<Response> {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, v)
  if (file) fd.append('file', new File([file.bytes as Uint8Array<ArrayBuffer>], file.name, { type: file.type }))
  fd.append('_csrf', staff.csrf())
  const cookie = [...staff.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  return app.request(path, { method: 'POST', headers: { cookie }, body: fd })
}

const docs = (tenant: Tenant) =>
  withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ id: number; title: string; file_name: string; size_bytes: number }[]>`
      select id, title, file_name, size_bytes from tenant_documents order by id`,
  )

beforeAll(async () => {
  ;({ db, app, tenant: x, other: y } = w)
  staff = await w.client('operatore')
})

const base = () => `/t/${x.slug}/ufficio/documenti-ente`

describe('file checks', () => {
  it('reads the type from the content', () => {
    expect(detectType(pdf('x'))).toBe('application/pdf')
    expect(detectType(new TextEncoder().encode('%PDF-1.7 but cut'))).toBeNull()
    expect(detectType(new TextEncoder().encode('<html>%%EOF'))).toBeNull()
    expect(detectType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0]))).toBe('image/jpeg')
    expect(detectType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png')
    expect(detectType(new Uint8Array())).toBeNull()
  })

  it('makes names safe for a header', () => {
    expect(safeFileName('Menù invernale "2026".PDF', 'application/pdf')).toBe('Menu-invernale-2026.pdf')
    expect(safeFileName('../../etc/passwd', 'application/pdf')).toBe('etc-passwd.pdf')
    expect(safeFileName('\r\n.pdf', 'application/pdf')).toBe('documento.pdf')
    expect(safeFileName('foto', 'image/jpeg', 'allegato')).toBe('foto.jpg')
  })

  it('shows sizes as file managers do', () => {
    expect(formatSize(350_000, 'it')).toBe('350 kB')
    expect(formatSize(1_234_567, 'it')).toBe('1,2 MB')
    expect(formatSize(1_234_567, 'en')).toBe('1.2 MB')
    expect(formatSize(10, 'it')).toBe('1 kB')
  })
})

describe('publishing documents', () => {
  it('refuses a missing title, a wrong type, a fake PDF and a file too big; nothing is saved', async () => {
    await staff.get(base())
    const cases: [
      string,
      Record<string, string>,
      { name: string; type: string; bytes: Uint8Array } | undefined,
      string[],
    ][] = [
      ['nothing', {}, undefined, ['href="#title"', 'href="#category"', 'href="#file"', 'Scegli il file PDF']],
      [
        'image',
        { title: 'Menù', category: 'menu' },
        {
          name: 'menu.png',
          type: 'image/png',
          bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        },
        ['Il file deve essere un PDF valido'],
      ],
      [
        'fake pdf',
        { title: 'Menù', category: 'menu' },
        { name: 'menu.pdf', type: 'application/pdf', bytes: new TextEncoder().encode('MZ\u0090 not a pdf') },
        ['Il file deve essere un PDF valido'],
      ],
      [
        'too big',
        { title: 'Menù', category: 'menu' },
        { name: 'menu.pdf', type: 'application/pdf', bytes: pdf('x'.repeat(10 * 1024 * 1024)) },
        ['al massimo di 10 MB'],
      ],
    ]
    for (const [what, fields, file, expected] of cases) {
      const res = await upload(base(), fields, file)
      expect(res.status, what).toBe(422)
      const html = await res.text()
      for (const e of expected) expect(html, what).toContain(e)
      if (what === 'nothing') await expectValidHtml(html)
      if (fields.title) expect(html, what).toContain(`value="${fields.title}"`)
    }
    expect(await docs(x)).toEqual([])
  })

  it('a declared body far beyond the limit is refused before it is read', async () => {
    const cookie = [...staff.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await app.request(base(), {
      method: 'POST',
      headers: {
        cookie,
        'x-csrf-token': staff.csrf(),
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(50 * 1024 * 1024),
      },
      body: '--x--\r\n',
    })
    expect(res.status).toBe(413)
    expect(await res.text()).toContain('al massimo di 10 MB')
  })

  it('publishes, lists on the tenant page, downloads with a safe name, replaces and deletes, all audited', async () => {
    const res = await upload(
      base(),
      { title: 'Regolamento della mensa 2026/2027', category: 'regolamento' },
      { name: 'Regolamento mensa (definitivo).pdf', type: 'application/octet-stream', bytes: pdf('uno') },
    )
    expect(res.status).toBe(303)
    const [doc] = await docs(x)
    expect(doc?.file_name).toBe('Regolamento-mensa-definitivo.pdf')
    const id = doc?.id as number
    // citizens see it without signing in, on the tenant page and the documents page
    const anon = new Client(app)
    const home = await (await anon.get(`/t/${x.slug}`)).text()
    expect(home).toContain('Regolamento della mensa 2026/2027')
    expect(home).toContain(`/t/${x.slug}/documenti-ente/${id}/Regolamento-mensa-definitivo.pdf`)
    const list = await (await anon.get(`/t/${x.slug}/documenti-ente`)).text()
    expect(list).toContain('Regolamenti')
    const file = await anon.get(`/t/${x.slug}/documenti-ente/${id}/Regolamento-mensa-definitivo.pdf`)
    expect(file.status).toBe(200)
    expect(file.headers.get('content-type')).toBe('application/pdf')
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="Regolamento-mensa-definitivo.pdf"')
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(pdf('uno'))
    // another tenant does not have it
    expect((await anon.get(`/t/${y.slug}/documenti-ente/${id}/Regolamento-mensa-definitivo.pdf`)).status).toBe(404)
    expect((await anon.get(`/t/${x.slug}/documenti-ente/999999/x.pdf`)).status).toBe(404)

    // change the title only, then replace the file
    await staff.get(`${base()}/${id}`)
    expect((await upload(`${base()}/${id}`, { title: 'Regolamento mensa', category: 'regolamento' })).status).toBe(303)
    const bad = await upload(
      `${base()}/${id}`,
      { title: 'Regolamento mensa', category: 'regolamento' },
      {
        name: 'nuovo.pdf',
        type: 'application/pdf',
        bytes: new TextEncoder().encode('not a pdf'),
      },
    )
    expect(bad.status).toBe(422)
    const replaced = await upload(
      `${base()}/${id}`,
      { title: 'Regolamento mensa', category: 'regolamento' },
      { name: 'regolamento-v2.pdf', type: 'application/pdf', bytes: pdf('due') },
    )
    expect(replaced.status).toBe(303)
    // the old link leads to the current file
    const old = await anon.get(`/t/${x.slug}/documenti-ente/${id}/Regolamento-mensa-definitivo.pdf`)
    expect(old.status).toBe(302)
    expect(old.headers.get('location')).toBe(`/t/${x.slug}/documenti-ente/${id}/regolamento-v2.pdf`)
    const current = await anon.get(`/t/${x.slug}/documenti-ente/${id}/regolamento-v2.pdf`)
    expect(new Uint8Array(await current.arrayBuffer())).toEqual(pdf('due'))

    // delete, after a confirmation page
    const confirm = await staff.get(`${base()}/${id}/elimina`)
    expect(await confirm.text()).toContain('Eliminare &quot;Regolamento mensa&quot;?')
    expect((await staff.post(`${base()}/${id}/elimina`, {})).status).toBe(303)
    expect(await docs(x)).toEqual([])
    expect((await staff.post(`${base()}/${id}/elimina`, {})).status).toBe(404)
    expect((await anon.get(`/t/${x.slug}/documenti-ente/${id}/regolamento-v2.pdf`)).status).toBe(404)

    const log = await withTenant(
      db.sql,
      x,
      (tx) => tx<
        { action: string; before: { title: string } | null; after: { title: string; fileName: string } | null }[]
      >`
        select action, before, after from audit_log where entity = 'tenant_document' order by id`,
    )
    expect(log.map((l) => l.action)).toEqual([
      'tenantdocs.upload',
      'tenantdocs.update',
      'tenantdocs.replace',
      'tenantdocs.delete',
    ])
    expect(log[1]?.before?.title).toBe('Regolamento della mensa 2026/2027')
    expect(log[2]?.after?.fileName).toBe('regolamento-v2.pdf')
    expect(log[3]?.before?.title).toBe('Regolamento mensa')
  })
})
