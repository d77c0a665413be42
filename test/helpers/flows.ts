// Reporting flows and bank statements written for tests: a pagoPA FdR (FlussoRiversamento) and a camt.053
// statement, with the lines given (amounts in cents, or as written when a test wants a bad one).

export const euros = (cents: number) => `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`

export interface FdrLine {
  iuv: string
  iur: string
  /** cents, or the amount exactly as it should be written */
  amount: number | string
  esito?: string
  date?: string
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function fdrXml(opts: {
  flowId: string
  at: string
  receiver: string
  lines: FdrLine[]
  declaredCount?: number | string
  declaredTotal?: string
}): string {
  const rows = opts.lines
    .map(
      (
        l,
        i,
      ) => `<datiSingoliPagamenti><identificativoUnivocoVersamento>${xmlText(l.iuv)}</identificativoUnivocoVersamento>
<identificativoUnivocoRiscossione>${xmlText(l.iur)}</identificativoUnivocoRiscossione><indiceDatiSingoloPagamento>${(i % 5) + 1}</indiceDatiSingoloPagamento>
<singoloImportoPagato>${typeof l.amount === 'number' ? euros(l.amount) : xmlText(l.amount)}</singoloImportoPagato><codiceEsitoSingoloPagamento>${l.esito ?? '0'}</codiceEsitoSingoloPagamento>
<dataEsitoSingoloPagamento>${l.date ?? '2031-03-14'}</dataEsitoSingoloPagamento></datiSingoliPagamenti>`,
    )
    .join('\n')
  const total = opts.lines.reduce((s, l) => s + (typeof l.amount === 'number' ? l.amount : 0), 0)
  return `<?xml version="1.0" encoding="UTF-8"?>
<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">
<versioneOggetto>1.0</versioneOggetto><identificativoFlusso>${xmlText(opts.flowId)}</identificativoFlusso><dataOraFlusso>${opts.at}</dataOraFlusso>
<identificativoUnivocoRegolamento>SCT-${xmlText(opts.flowId.slice(-12))}</identificativoUnivocoRegolamento><dataRegolamento>2031-03-15</dataRegolamento>
<istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>UNCRITMM</codiceIdentificativoUnivoco></identificativoUnivocoMittente><denominazioneMittente>Banca di Prova S.p.A.</denominazioneMittente></istitutoMittente>
<istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>${opts.receiver}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente></istitutoRicevente>
<numeroTotalePagamenti>${opts.declaredCount ?? opts.lines.length}</numeroTotalePagamenti><importoTotalePagamenti>${opts.declaredTotal ?? euros(total)}</importoTotalePagamenti>
${rows}
</FlussoRiversamento>`
}

export interface CamtEntry {
  /** cents, or the amount exactly as written */
  amount: number | string
  reference: string
  remittance: string
  credit?: boolean
  status?: string
}

export interface CamtStatement {
  id: string
  createdAt: string
  iban: string
  entries: CamtEntry[]
  /** NbOfNtries as written (absent: no summary) */
  declaredCount?: string
}

export function camtXml(statements: CamtStatement[]): string {
  const stmt = (s: CamtStatement) => {
    const entries = s.entries
      .map((e) => {
        const amt = typeof e.amount === 'number' ? euros(e.amount) : xmlText(e.amount)
        return `<Ntry><Amt Ccy="EUR">${amt}</Amt><CdtDbtInd>${e.credit === false ? 'DBIT' : 'CRDT'}</CdtDbtInd><Sts>${e.status ?? 'BOOK'}</Sts>
<BookgDt><Dt>2031-03-15</Dt></BookgDt><ValDt><Dt>2031-03-14</Dt></ValDt><AcctSvcrRef>${xmlText(e.reference)}</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><AcctSvcrRef>${xmlText(e.reference)}</AcctSvcrRef></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">${amt}</Amt></TxAmt></AmtDtls>
<RltdPties><Dbtr><Nm>ROSSI MARIO</Nm></Dbtr></RltdPties><RmtInf><Ustrd>${xmlText(e.remittance)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`
      })
      .join('\n')
    const summary =
      s.declaredCount === undefined
        ? ''
        : `<TxsSummry><TtlCdtNtries><NbOfNtries>${xmlText(s.declaredCount)}</NbOfNtries></TtlCdtNtries></TxsSummry>`
    return `<Stmt><Id>${xmlText(s.id)}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>${s.createdAt}</CreDtTm>
<Acct><Id><IBAN>${s.iban}</IBAN></Id><Svcr><FinInstnId><BIC>BPPIITRRXXX</BIC></FinInstnId></Svcr></Acct>${summary}
${entries}</Stmt>`
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>TES1</MsgId><CreDtTm>2031-03-16T06:12:40+01:00</CreDtTm></GrpHdr>
${statements.map(stmt).join('\n')}
</BkToCstmrStmt></Document>`
}
