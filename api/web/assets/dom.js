// Small DOM helpers. Text always goes in through textContent, never as HTML, so nothing an image
// name or an API message contains can run as markup.

// h builds an element: h('p', {class: 'x', onclick: fn}, 'text', child…).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// announce tells screen-reader users what just happened (the page's aria-live region).
export function announce(text) {
  const s = document.getElementById('status');
  s.textContent = '';
  // A fresh text node in a later task makes repeated identical messages announced again.
  setTimeout(() => { s.textContent = text; }, 50);
}

// errorBox is a visible, announced message area for failures.
export function errorBox() {
  const el = h('p', {class: 'error', role: 'alert', hidden: true});
  return {
    el,
    show(text) { el.textContent = text; el.hidden = false; },
    clear() { el.textContent = ''; el.hidden = true; },
  };
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('ko-KR', {dateStyle: 'medium', timeStyle: 'short'});
}
