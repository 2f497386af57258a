// Dynamic HTML rendering: a page of generated rows through a tiny template engine.
function render(template, values) {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key) => escapeHtml(String(values[key] ?? "")));
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function main(params) {
  const rows = Number(params.rows || 200);
  const user = params.username || "ada";
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const row = "<tr><td>{{i}}</td><td>{{value}}</td><td>{{label}}</td></tr>";
  const body = [];
  for (let i = 0; i < rows; i++) {
    body.push(render(row, { i, value: random().toFixed(6), label: `<item ${i}>` }));
  }
  const html = render("<html><head><title>{{title}}</title></head><body><h1>Hello {{user}}</h1>", {
    title: "graalvisor", user,
  }) + "<table>" + body.join("") + "</table></body></html>";
  return { size: html.length, rows, head: html.slice(0, 80) };
}
