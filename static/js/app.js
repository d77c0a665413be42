// Progressive enhancement only: focus the error summary or the new message, announce changes once.
;(() => {
  const focusFirst = () => {
    const el = document.querySelector('main [data-focus]') || document.querySelector('.error-summary')
    if (el) el.focus()
  }
  document.addEventListener('DOMContentLoaded', focusFirst)
  // browsers that cannot show a closed disclosure's content (::details-content) open the menu on wide screens
  const menu = document.querySelector('[data-menu]')
  const css = window.CSS
  const shown = css && css.supports && css.supports('selector(::details-content)')
  if (menu && !shown && window.matchMedia && matchMedia('(min-width: 48rem)').matches) menu.open = true
  // tables shown as label: value rows on phones (class "stack") say that they are tables all the same: the roles are
  // added here, not in the markup, where the HTML standard forbids them (older browsers drop a table's semantics
  // once its display changes; today's keep them; decision 0094)
  const roles = [
    ['table', 'table'],
    ['thead, tbody, tfoot', 'rowgroup'],
    ['tr', 'row'],
    ['thead th', 'columnheader'],
    ['tbody th', 'rowheader'],
    ['td', 'cell'],
  ]
  const tableRoles = () => {
    for (const t of document.querySelectorAll('table.stack')) {
      for (const [sel, role] of roles) {
        if (t.matches(sel)) t.setAttribute('role', role)
        for (const el of t.querySelectorAll(sel)) if (el.closest('table') === t) el.setAttribute('role', role)
      }
    }
  }
  document.addEventListener('DOMContentLoaded', tableRoles)
  document.addEventListener('htmx:afterSettle', tableRoles)
  // swaps replace <main> only, so the live region outside it persists and is announced
  document.addEventListener('htmx:afterSettle', () => {
    focusFirst()
    const msg = document.querySelector('main [data-announce]')
    const live = document.getElementById('announcer')
    if (msg && live) live.textContent = msg.getAttribute('data-announce')
  })
})()
