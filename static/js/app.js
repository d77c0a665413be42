// Progressive enhancement only: focus the error summary or swapped content, announce changes.
;(() => {
  const focusFirst = (root) => {
    const el = root.querySelector('[data-focus]') || root.querySelector('.error-summary')
    if (el) el.focus()
  }
  document.addEventListener('DOMContentLoaded', () => focusFirst(document))
  document.addEventListener('htmx:afterSwap', (e) => {
    focusFirst(e.detail.target)
    const msg = e.detail.target.querySelector('[data-announce]')
    const live = document.getElementById('announcer')
    if (msg && live) live.textContent = msg.getAttribute('data-announce')
  })
})()
