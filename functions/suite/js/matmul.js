// Dense n x n matrix multiply of small generated integers held as floats.
function main(params) {
  const M = 2147483647;
  const n = Number(params.n === undefined ? 64 : params.n);
  let s = (Number(params.seed === undefined ? 7 : params.seed) % (M - 1)) + 1;
  const a = [], b = [];
  for (let i = 0; i < n; i++) {
    const ra = new Float64Array(n), rb = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s = (s * 48271) % M;
      ra[j] = s % 10;
      rb[j] = Math.floor(s / 16) % 10;
    }
    a.push(ra);
    b.push(rb);
  }
  let total = 0, trace = 0;
  for (let i = 0; i < n; i++) {
    const ai = a[i];
    const row = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const aik = ai[k], bk = b[k];
      for (let j = 0; j < n; j++) row[j] += aik * bk[j];
    }
    trace += row[i];
    for (let j = 0; j < n; j++) total += row[j];
  }
  return { n, trace, sum: total };
}
