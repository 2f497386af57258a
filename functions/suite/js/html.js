// Dynamic HTML rendering: n table rows through a tiny {{key}} template engine.
const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ESC[c]);
}

function render(template, values) {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key) => escapeHtml(String(values[key] === undefined ? "" : values[key])));
}

function main(params) {
  const M = 2147483647;
  const n = Number(params.n === undefined ? 200 : params.n);
  let s = (Number(params.seed === undefined ? 7 : params.seed) % (M - 1)) + 1;
  const row = "<tr><td>{{i}}</td><td>{{value}}</td><td>{{label}}</td></tr>";
  const body = [];
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % M;
    body.push(render(row, { i, value: s % 100000, label: "<item " + i + ">" }));
  }
  let page = render("<html><head><title>{{title}}</title></head><body><h1>Hello {{user}}</h1>", {
    title: "graalvisor", user: params.username === undefined ? "ada" : params.username,
  });
  page += "<table>" + body.join("") + "</table></body></html>";
  return { rows: n, size: page.length };
}
