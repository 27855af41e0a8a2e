/* global document */
// The one element builder of the console's pages: h('div', { class: 'x' }, child, 'text', …).
export function h(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === 'style') n.style.cssText = v;
    else if (k === 'class') n.className = v;
    else n.setAttribute(k, v);
  }
  for (const c of children)
    if (c !== null && c !== undefined) n.append(typeof c === 'object' ? c : String(c));
  return n;
}
